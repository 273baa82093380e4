/**
 * Conformance targets for the node:sqlite backend: in memory, and in a file in a fresh temporary
 * directory (restarts close and reopen the file).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNodeSqliteBackend } from '../backends/node-sqlite/index.ts';
import type { ConformanceTarget, StorageHandle } from '../conformance/target.ts';
import type { StorageBackend } from '../core/backend.ts';

async function using<T>(backend: StorageBackend, fn: (backend: StorageBackend) => T | Promise<T>): Promise<T> {
  try {
    return await fn(backend);
  } finally {
    backend.close();
  }
}

/** Opens `count` backends with `open(i)`, hands them out as storages, closes them all at the end. */
async function withOpened<T>(
  count: number,
  open: (index: number) => StorageBackend,
  fn: (storages: StorageHandle[]) => Promise<T>,
): Promise<T> {
  const backends = Array.from({ length: count }, (_, i) => open(i));
  try {
    return await fn(backends.map((backend) => ({ use: async (use) => use(backend) })));
  } finally {
    for (const backend of backends) backend.close();
  }
}

/** node:sqlite in memory. A restart keeps the connection (memory dies with it) and hands each phase a fresh engine. */
export const memoryTarget: ConformanceTarget = {
  name: 'node-sqlite:memory',
  withBackend: (fn) => using(createNodeSqliteBackend(), fn),
  withRestarts: (phases) =>
    using(createNodeSqliteBackend(), async (backend) => {
      let result: unknown;
      for (const phase of phases) result = await phase(backend);
      return result;
    }),
  withStorages: (count, fn) => withOpened(count, () => createNodeSqliteBackend(), fn),
};

async function inTempDir<T>(fn: (file: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'dofs-conformance-'));
  try {
    return await fn(join(dir, 'workspace.db'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** node:sqlite in a WAL file. A restart closes the database and opens the file again. */
export const fileTarget: ConformanceTarget = {
  name: 'node-sqlite:file',
  withBackend: (fn) => inTempDir((path) => using(createNodeSqliteBackend({ path }), fn)),
  withRestarts: (phases) =>
    inTempDir(async (path) => {
      let result: unknown;
      for (const phase of phases) result = await using(createNodeSqliteBackend({ path }), phase);
      return result;
    }),
  withStorages: (count, fn) =>
    inTempDir((path) => withOpened(count, (i) => createNodeSqliteBackend({ path: `${path}.${i}` }), fn)),
};
