/**
 * The peers a user of `@platformatic/vfs` would pick instead: its SqliteProvider (node:sqlite in
 * memory, its constructor's default: `new SqliteProvider(pathOrMemory)`) and its MemoryProvider,
 * through the same `create(provider)` object and the same adapter as this engine.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create, MemoryProvider, SqliteProvider } from '@platformatic/vfs';
import type { SystemDef } from '../lib/types.ts';
import { vfsFs } from './vfs-adapter.ts';

export const platformaticSqlite: SystemDef = {
  id: 'pvfs:sqlite',
  label: '@platformatic/vfs SqliteProvider (node:sqlite in memory; one row per entry, whole content as one BLOB)',
  role: 'peer',
  open() {
    const provider = new SqliteProvider(':memory:');
    const vfs = create(provider, { moduleHooks: false });
    return vfsFs(vfs, { close: () => provider.close() });
  },
};

/**
 * SqliteProvider on a file, as its constructor opens one: SQLite's defaults (rollback journal,
 * synchronous=FULL, one autocommit per statement), so every statement that writes is an fsync.
 * Only the 1,000-file, large-file and dedup workloads: it is too slow for the others.
 */
export const platformaticSqliteFile: SystemDef = {
  id: 'pvfs:sqlite-file',
  label:
    '@platformatic/vfs SqliteProvider on a file in a tmp dir (its defaults: rollback journal, synchronous=FULL, autocommit)',
  role: 'peer',
  only: ['small-1k', 'large', 'dedup'],
  open() {
    const dir = mkdtempSync(join(tmpdir(), 'dofs-bench-pvfs-'));
    const path = join(dir, 'vfs.db');
    const provider = new SqliteProvider(path);
    const vfs = create(provider, { moduleHooks: false });
    return vfsFs(vfs, {
      storedBytes: () => ({ stored: statSync(path).size, onDisk: statSync(path).size }),
      close: () => {
        provider.close();
        rmSync(dir, { recursive: true, force: true });
      },
    });
  },
};

export const platformaticMemory: SystemDef = {
  id: 'pvfs:mem',
  label: '@platformatic/vfs MemoryProvider (JS objects and Buffers)',
  role: 'peer',
  open() {
    const vfs = create(new MemoryProvider(), { moduleHooks: false });
    return vfsFs(vfs, { close: () => {} });
  },
};
