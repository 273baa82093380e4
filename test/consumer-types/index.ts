/**
 * A user's module that imports every subpath of the package (test/package.test.ts checks that
 * none is missing), for tsconfig.json beside it.
 *
 * @module
 */
import type * as root from 'dofs';
import type * as fuse from 'dofs/adapters/fuse';
import type * as nodeFs from 'dofs/adapters/node-fs';
import type * as vfs from 'dofs/adapters/vfs';
import type * as doSql from 'dofs/backends/do-sql';
import type * as nodeSqlite from 'dofs/backends/node-sqlite';
import type * as conformance from 'dofs/conformance';
import type * as sync from 'dofs/sync';
import type * as testing from 'dofs/testing';

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
