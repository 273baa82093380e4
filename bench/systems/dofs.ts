/**
 * This engine, as a user of `@platformatic/vfs` meets it: `create(new SQLiteWorkspaceProvider(ws))`
 * over node:sqlite in memory or in a file (WAL, synchronous=NORMAL: the backend's defaults).
 * Statements are counted by a thin wrapper around the backend (one increment per call).
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create } from '@platformatic/vfs';
import { SQLiteWorkspaceProvider } from '../../adapters/vfs/index.ts';
import { createNodeSqliteBackend } from '../../backends/node-sqlite/index.ts';
import { DEFAULT_CHUNK_SIZE, openWorkspace, type StorageBackend, type Workspace } from '../../core/index.ts';
import type { BenchFs, SystemDef } from '../lib/types.ts';
import { handleFile, vfsFs } from './vfs-adapter.ts';

/** Wraps a backend so every statement is counted. */
export function counting(backend: StorageBackend): { backend: StorageBackend; count: { statements: number } } {
  const count = { statements: 0 };
  return {
    count,
    backend: {
      name: backend.name,
      limits: backend.limits,
      all: (sql, params) => {
        count.statements++;
        return backend.all(sql, params);
      },
      run: (sql, params) => {
        count.statements++;
        return backend.run(sql, params);
      },
      transaction: (fn) => backend.transaction(fn),
      close: () => backend.close(),
    },
  };
}

const fileBytes = (path: string): number => {
  let total = 0;
  for (const suffix of ['', '-wal']) {
    try {
      total += statSync(path + suffix).size;
    } catch {
      // no WAL file
    }
  }
  return total;
};

/** Rows of the snapshot history tables (bench/snapshot overhead, read outside the timing). */
function historyRows(ws: Workspace): number {
  return Number(
    ws.db.all<{ n: number }>(
      `SELECT (SELECT count(*) FROM vfs_hist_nodes) + (SELECT count(*) FROM vfs_hist_dirents)
        + (SELECT count(*) FROM vfs_hist_chunks) AS n`,
    )[0].n,
  );
}

/**
 * This engine on node:sqlite `storage`, with `chunkSize` (default: the engine's default); with
 * `snapshots`, a snapshot is taken before every phase, so each phase pays for keeping the rows it
 * changes (the worst case: every row's first change after a snapshot).
 */
export function dofsSystem(storage: 'mem' | 'file', chunkSize?: number, snapshots = false): SystemDef {
  const suffix = `${chunkSize === undefined ? '' : `@${chunkSize / 1024}K`}${snapshots ? '+snap' : ''}`;
  return {
    id: `dofs:${storage}${suffix}`,
    label: `this engine via SQLiteWorkspaceProvider, node:sqlite ${storage === 'mem' ? 'in memory' : 'file in a tmp dir'}, ${(chunkSize ?? DEFAULT_CHUNK_SIZE) / 1024} KiB chunks${snapshots ? ', a snapshot before every phase' : ''}`,
    role: 'engine',
    open(): BenchFs {
      const dir = storage === 'file' ? mkdtempSync(join(tmpdir(), 'dofs-bench-')) : undefined;
      const path = dir ? join(dir, 'ws.db') : ':memory:';
      const { backend, count } = counting(createNodeSqliteBackend({ path }));
      const ws = openWorkspace(backend, chunkSize === undefined ? {} : { chunkSize });
      const provider = new SQLiteWorkspaceProvider(ws);
      const vfs = create(provider, { moduleHooks: false });
      return vfsFs(vfs, {
        find: (dir, glob) => ws.find(dir, glob),
        grep: (literal, dir) => ws.grep(literal, dir).length,
        openBuffered: (file) => {
          provider.openWriteBufferForCreateSync(file);
          return {
            write: (data, position) => {
              provider.writeRangeSync(file, data, position);
            },
            read: (into, position) => {
              const bytes = provider.readRangeSync(file, position, into.byteLength);
              into.set(bytes);
              return bytes.byteLength;
            },
            close: () => provider.releaseWriteBufferSync(file),
          };
        },
        storedBytes: () => {
          const usage = ws.usage();
          return { stored: usage.storedBytes, garbage: usage.garbageBytes, onDisk: dir ? fileBytes(path) : undefined };
        },
        // Under snapshots, also the history rows kept so far: the extra rows each operation writes.
        counters: () => ({ statements: count.statements, ...(snapshots ? { historyRows: historyRows(ws) } : {}) }),
        beforePhase: snapshots ? () => void ws.snapshot() : undefined,
        close: () => {
          ws.close();
          if (dir) rmSync(dir, { recursive: true, force: true });
        },
      });
    },
  };
}

export { handleFile };
