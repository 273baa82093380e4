/** The systems of the side-by-side comparison and of the chunk-size study. */
import { KiB } from '../lib/data.ts';
import type { SystemDef } from '../lib/types.ts';
import { dofsSystem } from './dofs.ts';
import { memfs, tmpfs } from './node-fs.ts';
import { platformaticMemory, platformaticSqlite, platformaticSqliteFile } from './platformatic.ts';
import { sqliteRaw } from './sqlite-raw.ts';

/**
 * Everything a user could pick, and the limits. The first is the reference for ratios. The full
 * run adds SqliteProvider on a file (fsync per statement: seconds per workload).
 */
export function comparisonSystems(full: boolean): SystemDef[] {
  return [
    dofsSystem('mem'),
    dofsSystem('file'),
    dofsSystem('mem', undefined, true),
    dofsSystem('file', undefined, true),
    platformaticSqlite,
    ...(full ? [platformaticSqliteFile] : []),
    platformaticMemory,
    memfs,
    tmpfs,
    sqliteRaw('mem'),
    sqliteRaw('file'),
  ];
}

export const CHUNK_SIZES = [64 * KiB, 256 * KiB, 512 * KiB, 1024 * KiB];

/** This engine at each candidate chunk size, in memory and in a file. */
export function chunkSystems(storages: ReadonlyArray<'mem' | 'file'> = ['mem', 'file']): SystemDef[] {
  return storages.flatMap((storage) => CHUNK_SIZES.map((size) => dofsSystem(storage, size)));
}
