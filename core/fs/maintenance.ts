/**
 * gc and usage.
 *
 * @module
 */

import { ATTIC_SUBTREE } from '../attic.ts';
import { isHeldStaged } from '../blobs.ts';
import { checkOffset } from '../data.ts';
import type { Database } from '../database.ts';
import { wrapStorageError } from '../errors.ts';
import { historyOf, namedInHistory, VERSIONED } from '../history.ts';
import { withSpaceReserve } from '../reserve.ts';

/** True for a blob `b` a file or a snapshot's history references: gc keeps it. */
const REFERENCED = `(EXISTS (SELECT 1 FROM vfs_chunks c WHERE c.hash = b.hash) OR ${namedInHistory('b.hash')})`;

/** The default safety window: blobs staged (by a stream, a write session, sync) this recently and not yet linked are kept. */
export const GC_SAFETY_WINDOW_MS = 3_600_000;

/** Options for {@link gc}. */
export interface GcOptions {
  /**
   * Blobs staged (stored ahead of the mutation that links them: streamed writes, write sessions,
   * sync) less than this long ago are kept, so writes in flight in other processes keep theirs.
   * Blobs stored by a mutation, or linked since they were staged, are freed as soon as nothing
   * names them; blobs staged by a write session of this process are kept while it holds them.
   * Default one hour.
   */
  safetyWindowMs?: number;
  /**
   * Also give the freed pages back to the file system (node-sqlite; see
   * `StorageBackend.reclaimSpace`), switching an older database to incremental vacuum first (one
   * full VACUUM). Default false.
   */
  vacuum?: boolean;
}

/** What {@link gc} freed. */
export interface GcResult {
  /** Blobs deleted. */
  blobs: number;
  /** Bytes freed. */
  bytes: number;
  /** Bytes the database file gave back to the file system (0 without `vacuum`, or on a backend that cannot). */
  reclaimedBytes?: number;
}

function cutoffOf(db: Database, safetyWindowMs: number | undefined): number {
  const window =
    safetyWindowMs === undefined ? GC_SAFETY_WINDOW_MS : checkOffset(safetyWindowMs, 'safetyWindowMs', 'gc', '/');
  return db.now() - window;
}

/** Frees blobs that no chunk references and that are not staged within the safety window (see {@link GcOptions}). */
export function gc(db: Database, options: GcOptions | null = {}): GcResult {
  options ??= {};
  const cutoff = cutoffOf(db, options.safetyWindowMs);
  const result = withSpaceReserve(db, 'gc', () => collect(db, cutoff));
  if (options.vacuum && !db.readOnly) result.reclaimedBytes = reclaim(db, { convert: true });
  return result;
}

function reclaim(db: Database, options: { maxPages?: number; convert?: boolean }): number {
  if (db.inTransaction || !db.backend.reclaimSpace) return 0;
  try {
    return db.backend.reclaimSpace(options);
  } catch {
    // No room for the vacuum (a full disk), or the database is busy: the free pages stay in the
    // file, where SQLite reuses them, and the next attempt may succeed.
    return 0;
  }
}

/** Deletes the blobs `garbage` names (catalogue and bytes), in batches; forgets them in the cache. */
function remove(db: Database, garbage: readonly { hash: string; size: number }[]): GcResult {
  const per = db.limits.maxBoundParameters;
  for (let start = 0; start < garbage.length; start += per) {
    const hashes = garbage.slice(start, start + per).map((row) => row.hash);
    const marks = hashes.map(() => '?').join(', ');
    db.run(`DELETE FROM vfs_blob_bytes WHERE rowid IN (SELECT id FROM vfs_blobs WHERE hash IN (${marks}))`, hashes);
    db.run(`DELETE FROM vfs_blobs WHERE hash IN (${marks})`, hashes);
  }
  for (const row of garbage) db.blobCache.delete(row.hash);
  return { blobs: garbage.length, bytes: garbage.reduce((sum, row) => sum + Number(row.size), 0) };
}

/** Options for {@link gcStep}. */
export interface GcStepOptions {
  /** As {@link GcOptions.safetyWindowMs}. */
  safetyWindowMs?: number;
  /** Catalogue rows examined per step. Default 4096. */
  maxScan?: number;
  /** Blobs freed per step at most. Default 1024 (64 MiB at 64 KiB chunks). */
  maxBlobs?: number;
  /** Free pages given back to the file system per step at most. Default 16384 (64 MiB at 4 KiB pages). */
  maxPages?: number;
}

/** What one {@link gcStep} did. */
export interface GcStepResult extends GcResult {
  /** Catalogue rows examined. */
  scanned: number;
  /** True when the step reached the end of the catalogue (the next starts over from the beginning). */
  wrapped: boolean;
}

/** Where each Database's incremental gc stands in the blob catalogue (by hash). */
const gcCursors = new WeakMap<Database, string>();

/**
 * One bounded step of garbage collection, for a background timer (the mount, a Durable Object's
 * alarm, the CLI after a change): examines at most `maxScan` catalogue rows from where the last
 * step stopped, frees at most `maxBlobs` of them in one transaction by the rule of {@link gc}, then
 * gives at most `maxPages` free pages back to the file system. Repeated steps cover the whole
 * catalogue, so every garbage blob is freed within (blobs / maxScan) steps.
 */
export function gcStep(db: Database, options: GcStepOptions | null = {}): GcStepResult {
  options ??= {};
  if (db.readOnly) return { blobs: 0, bytes: 0, scanned: 0, wrapped: true, reclaimedBytes: 0 };
  const cutoff = cutoffOf(db, options.safetyWindowMs);
  const maxScan = Math.max(1, Math.trunc(options.maxScan ?? 4096));
  const maxBlobs = Math.max(1, Math.trunc(options.maxBlobs ?? 1024));
  const after = gcCursors.get(db) ?? '';
  const result = withSpaceReserve(db, 'gc', () => {
    try {
      return db.transaction(() => {
        const rows = db.all<{ hash: string; size: number; last_seen: number; used: number }>(
          `SELECT hash, size, last_seen, ${REFERENCED} AS used
           FROM vfs_blobs b WHERE hash > ? ORDER BY hash LIMIT ?`,
          [after, maxScan],
        );
        const garbage: { hash: string; size: number }[] = [];
        let last = after;
        for (const row of rows) {
          if (garbage.length === maxBlobs) break;
          last = row.hash;
          if (!Number(row.used) && Number(row.last_seen) <= cutoff && !isHeldStaged(db, row.hash)) garbage.push(row);
        }
        const wrapped = rows.length < maxScan && last === (rows.at(-1)?.hash ?? after);
        return { ...remove(db, garbage), scanned: rows.length, wrapped, next: wrapped ? '' : last };
      });
    } catch (error) {
      throw wrapStorageError(error, 'gc');
    }
  });
  gcCursors.set(db, result.next);
  const reclaimedBytes = reclaim(db, { maxPages: options.maxPages ?? 16_384 });
  return { blobs: result.blobs, bytes: result.bytes, scanned: result.scanned, wrapped: result.wrapped, reclaimedBytes };
}

/** One gc pass in one transaction: deletes the garbage older than `cutoff`. */
function collect(db: Database, cutoff: number): GcResult {
  try {
    return db.transaction(() => {
      const garbage = db
        .all<{ hash: string; size: number }>(
          `SELECT hash, size FROM vfs_blobs b WHERE last_seen <= ? AND NOT ${REFERENCED}`,
          [cutoff],
        )
        .filter((row) => !isHeldStaged(db, row.hash));
      return remove(db, garbage);
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
  /**
   * Bytes of distinct blobs only snapshots reference (content changed or removed since): pinned,
   * gc keeps them, and they count against `maxStoredBytes`.
   */
  snapshotBytes: number;
  /** Each retained snapshot, oldest first, with the bytes deleting it would let gc free. */
  snapshots: SnapshotUsage[];
  /** Bytes of blobs neither a file nor a snapshot references any more, waiting for gc. */
  garbageBytes: number;
  /**
   * The part of `garbageBytes` that gc keeps for now: staged within the safety window (one hour)
   * and not linked, as an unfinished streamed write, write session or sync leaves them. The rest
   * is freed by the next gc (a running mount's background collector, `dofs gc`, any CLI change).
   */
  stagedGarbageBytes: number;
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
  /** FIFOs, sockets and device nodes. */
  specials: number;
  /** Distinct blobs stored (referenced or not). */
  blobs: number;
  /** The workspace's chunk size. */
  chunkSize: number;
}

/** What one snapshot holds. */
export interface SnapshotUsage {
  /** The snapshot's name. */
  name: string;
  /** Bytes of blobs it alone holds: what gc frees once it is deleted. */
  bytes: number;
}

/**
 * Bytes snapshot `id` holds alone. Deleting it drops its history rows that the snapshot before it
 * has its own copy of (all of them when none is before, see `foldEpoch`), and the attic trees no
 * other snapshot is recent enough to see (see attic.ts); a blob only those name is then garbage.
 */
function heldAlone(db: Database, id: number, previous: number | null): number {
  const row = db.all<{ bytes: number }>(
    `WITH RECURSIVE history AS ${historyOf(VERSIONED.chunks)},
     dropped AS (
       SELECT h.inode, h.idx, h.hash FROM history h WHERE h.epoch = ? AND h.live
         AND (? IS NULL OR EXISTS (SELECT 1 FROM history q WHERE q.inode = h.inode AND q.idx = h.idx AND q.epoch = ?))
     ),
     purged(inode) AS (
       SELECT a.child FROM vfs_dirents a WHERE a.parent = (SELECT v FROM vfs_meta WHERE k = 'attic')
         AND NOT EXISTS (SELECT 1 FROM vfs_snapshots s WHERE s.last_inode >= a.child AND s.id != ?)
       UNION ALL
       SELECT d.child FROM vfs_dirents d JOIN purged ON d.parent = purged.inode
     ),
     gone(hash) AS (SELECT hash FROM dropped UNION SELECT hash FROM vfs_chunks WHERE inode IN (SELECT inode FROM purged))
     SELECT COALESCE(SUM(b.size), 0) AS bytes FROM vfs_blobs b
     WHERE b.hash IN (SELECT hash FROM gone)
       AND NOT EXISTS (SELECT 1 FROM vfs_chunks c WHERE c.hash = b.hash AND c.inode NOT IN (SELECT inode FROM purged))
       AND NOT ${namedInHistory('b.hash', (idx) => `o.epoch = ${Number(id)} AND EXISTS (SELECT 1 FROM dropped d WHERE d.inode = o.inode AND d.idx = ${idx})`)}`,
    [id, previous, previous, id],
  )[0];
  return Number(row?.bytes ?? 0);
}

/** Measures logical and stored bytes, dedup and inode counts. */
export function usage(db: Database): Usage {
  // Trees in the attic (removed while a snapshot saw them) are a snapshot's, not the workspace's.
  const live = `NOT IN (SELECT inode FROM attic_sub)`;
  const nodes = db.all<{ type: string; n: number; bytes: number }>(
    `WITH RECURSIVE ${ATTIC_SUBTREE}
     SELECT type, count(*) AS n, COALESCE(SUM(size), 0) AS bytes FROM vfs_nodes WHERE inode ${live} GROUP BY type`,
  );
  const count = (type: string) => Number(nodes.find((row) => row.type === type)?.n ?? 0);
  const logicalBytes = Number(nodes.find((row) => row.type === 'file')?.bytes ?? 0);
  const blobs = db.all<{ n: number; total: number; referenced: number }>(
    `WITH RECURSIVE ${ATTIC_SUBTREE}
     SELECT count(*) AS n, COALESCE(SUM(size), 0) AS total,
       COALESCE(SUM(CASE WHEN EXISTS (SELECT 1 FROM vfs_chunks c WHERE c.hash = b.hash AND c.inode ${live}) THEN size ELSE 0 END), 0) AS referenced
     FROM vfs_blobs b`,
  )[0];
  const storedBytes = Number(blobs.referenced);
  const snapshotBytes = Number(
    db.all<{ bytes: number }>(
      `WITH RECURSIVE ${ATTIC_SUBTREE}
       SELECT COALESCE(SUM(size), 0) AS bytes FROM vfs_blobs b
       WHERE (${namedInHistory('b.hash')}
           OR EXISTS (SELECT 1 FROM vfs_chunks c WHERE c.hash = b.hash AND c.inode IN (SELECT inode FROM attic_sub)))
         AND NOT EXISTS (SELECT 1 FROM vfs_chunks c WHERE c.hash = b.hash AND c.inode ${live})`,
    )[0]?.bytes ?? 0,
  );
  const ids = db.all<{ id: number; name: string }>('SELECT id, name FROM vfs_snapshots ORDER BY id');
  const snapshots = ids.map(({ id, name }, i) => ({
    name,
    bytes: heldAlone(db, Number(id), i === 0 ? null : Number(ids[i - 1].id)),
  }));
  const stagedGarbageBytes = Number(
    db.all<{ bytes: number }>(
      `SELECT COALESCE(SUM(size), 0) AS bytes FROM vfs_blobs b
       WHERE last_seen > ? AND NOT ${REFERENCED}`,
      [db.now() - GC_SAFETY_WINDOW_MS],
    )[0]?.bytes ?? 0,
  );
  const allocatedBytes = Number(
    db.all<{ bytes: number }>(
      `WITH RECURSIVE ${ATTIC_SUBTREE} SELECT COALESCE(SUM(size), 0) AS bytes FROM vfs_chunks WHERE inode ${live}`,
    )[0]?.bytes ?? 0,
  );
  return {
    logicalBytes,
    allocatedBytes,
    storedBytes,
    snapshotBytes,
    snapshots,
    garbageBytes: Number(blobs.total) - storedBytes - snapshotBytes,
    stagedGarbageBytes,
    dedupRatio: storedBytes === 0 ? 1 : logicalBytes / storedBytes,
    inodes: nodes.reduce((sum, row) => sum + Number(row.n), 0),
    files: count('file'),
    directories: count('dir'),
    symlinks: count('symlink'),
    specials: count('fifo') + count('socket') + count('chardev') + count('blockdev'),
    blobs: Number(blobs.n),
    chunkSize: db.chunkSize,
  };
}
