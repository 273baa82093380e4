/**
 * A user's module that imports every subpath of the package (test/package.test.ts checks that
 * none is missing), for tsconfig.json beside it.
 *
 * @module
 */
import type * as root from 'dofs-sqlite';
import type * as fuse from 'dofs-sqlite/adapters/fuse';
import type * as nodeFs from 'dofs-sqlite/adapters/node-fs';
import type * as vfs from 'dofs-sqlite/adapters/vfs';
import type * as doSql from 'dofs-sqlite/backends/do-sql';
import type * as nodeSqlite from 'dofs-sqlite/backends/node-sqlite';
import type * as conformance from 'dofs-sqlite/conformance';
import type * as sync from 'dofs-sqlite/sync';
import type * as testing from 'dofs-sqlite/testing';

export type EveryExport = [
  typeof root,
  typeof fuse,
  typeof nodeFs,
  typeof vfs,
  typeof doSql,
  typeof nodeSqlite,
  typeof conformance,
  typeof sync,
  typeof testing,
];
