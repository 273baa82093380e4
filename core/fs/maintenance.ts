/**
 * gc and usage.
 *
 * @module
 */

import { checkOffset } from '../data.ts';
import type { Database } from '../database.ts';
import { wrapStorageError } from '../errors.ts';
import { withSpaceReserve } from '../reserve.ts';

/** Options for {@link gc}. */
export interface GcOptions {
  /** Only blobs unreferenced and not staged for this long are freed, so in-flight writes keep theirs. Default one hour. */
  safetyWindowMs?: number;
}

/** What {@link gc} freed. */
export interface GcResult {
  /** Blobs deleted. */
  blobs: number;
  /** Bytes freed. */
  bytes: number;
}

/** Frees blobs that no chunk references and that were last stored or staged before the safety window. */
export function gc(db: Database, options: GcOptions | null = {}): GcResult {
  options ??= {};
  const window =
    options.safetyWindowMs === undefined ? 3_600_000 : checkOffset(options.safetyWindowMs, 'safetyWindowMs', 'gc', '/');
  const cutoff = db.now() - window;
  return withSpaceReserve(db, 'gc', () => collect(db, cutoff));
}

/** One gc pass in one transaction: deletes the garbage older than `cutoff`. */
function collect(db: Database, cutoff: number): GcResult {
  try {
    return db.transaction(() => {
      const garbage = db.all<{ hash: string; size: number }>(
        `SELECT hash, size FROM vfs_blobs b WHERE last_seen <= ? AND NOT EXISTS (SELECT 1 FROM vfs_chunks c WHERE c.hash = b.hash)`,
        [cutoff],
      );
      const per = db.limits.maxBoundParameters;
      for (let start = 0; start < garbage.length; start += per) {
        const hashes = garbage.slice(start, start + per).map((row) => row.hash);
        const marks = hashes.map(() => '?').join(', ');
        db.run(`DELETE FROM vfs_blob_bytes WHERE hash IN (${marks})`, hashes);
        db.run(`DELETE FROM vfs_blobs WHERE hash IN (${marks})`, hashes);
      }
      for (const row of garbage) db.blobCache.delete(row.hash);
      return { blobs: garbage.length, bytes: garbage.reduce((sum, row) => sum + Number(row.size), 0) };
    });
  } catch (error) {
    throw wrapStorageError(error, 'gc');
  }
}

/** Space and inode figures for a workspace. */
export interface Usage {
  /** Bytes of file content as users see it (each inode once, so hard links count once), holes included. */
  logicalBytes: number;
  /** Bytes of file content actually held in chunks (each inode once): the logical bytes minus holes, before dedup. */
  allocatedBytes: number;
  /** Bytes of distinct blobs that files reference. */
  storedBytes: number;
  /** Bytes of blobs no file references any more, waiting for gc. */
  garbageBytes: number;
  /** logicalBytes / storedBytes (1 when nothing is stored). */
  dedupRatio: number;
  /** Every inode, the root included. */
  inodes: number;
  /** Regular files. */
  files: number;
  /** Directories, the root included. */
  directories: number;
  /** Symbolic links. */
  symlinks: number;
  /** Distinct blobs stored (referenced or not). */
  blobs: number;
  /** The workspace's chunk size. */
  chunkSize: number;
}

/** Measures logical and stored bytes, dedup and inode counts. */
export function usage(db: Database): Usage {
  const nodes = db.all<{ type: string; n: number; bytes: number }>(
    'SELECT type, count(*) AS n, COALESCE(SUM(size), 0) AS bytes FROM vfs_nodes GROUP BY type',
  );
  const count = (type: string) => Number(nodes.find((row) => row.type === type)?.n ?? 0);
  const logicalBytes = Number(nodes.find((row) => row.type === 'file')?.bytes ?? 0);
  const blobs = db.all<{ n: number; total: number; referenced: number }>(
    `SELECT count(*) AS n, COALESCE(SUM(size), 0) AS total,
       COALESCE(SUM(CASE WHEN EXISTS (SELECT 1 FROM vfs_chunks c WHERE c.hash = b.hash) THEN size ELSE 0 END), 0) AS referenced
     FROM vfs_blobs b`,
  )[0];
  const storedBytes = Number(blobs.referenced);
  const allocatedBytes = Number(
    db.all<{ bytes: number }>('SELECT COALESCE(SUM(size), 0) AS bytes FROM vfs_chunks')[0]?.bytes ?? 0,
  );
  return {
    logicalBytes,
    allocatedBytes,
    storedBytes,
    garbageBytes: Number(blobs.total) - storedBytes,
    dedupRatio: storedBytes === 0 ? 1 : logicalBytes / storedBytes,
    inodes: count('file') + count('dir') + count('symlink'),
    files: count('file'),
    directories: count('dir'),
    symlinks: count('symlink'),
    blobs: Number(blobs.n),
    chunkSize: db.chunkSize,
  };
}
