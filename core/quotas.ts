/**
 * Per-workspace limits set at open: stored bytes, inodes, file size, path depth. Growth goes
 * through two places (a new blob, a new inode), which check here before their transaction
 * commits, so a refused operation writes nothing.
 *
 * @module
 */
import type { Database } from './database.ts';
import { fsError } from './errors.ts';
import { readMeta } from './schema.ts';

/** Limits of one open workspace. Unset means unlimited, except the backend's own ceiling on stored bytes. */
export interface Quotas {
  /** Bytes of stored blobs (after dedup). Exceeding it is ENOSPC. */
  maxStoredBytes?: number;
  /** Inodes, the root included. Exceeding it is ENOSPC. */
  maxInodes?: number;
  /** Size of one file. Exceeding it is EFBIG. */
  maxFileSize?: number;
  /** Names in a path (`/a/b/c` is 3). Exceeding it is ENOSPC. */
  maxPathDepth?: number;
}

/**
 * Stored bytes may use this share of a backend's declared database ceiling (a Durable Object's
 * 10 GB): the rest is headroom for metadata, indexes and the change log.
 */
export const STORAGE_HEADROOM = 0.9;

/** The quotas in force: the caller's, with the backend's ceiling as the default for stored bytes. */
export function effectiveQuotas(quotas: Quotas, maxDatabaseBytes: number | undefined): Readonly<Quotas> {
  for (const [name, value] of Object.entries(quotas)) {
    if (value !== undefined && (!Number.isSafeInteger(value) || value < 0)) {
      throw fsError(
        'EINVAL',
        'open',
        undefined,
        undefined,
        `quota ${name} must be a non-negative integer, got ${value}`,
      );
    }
  }
  const ceiling = maxDatabaseBytes === undefined ? undefined : Math.floor(maxDatabaseBytes * STORAGE_HEADROOM);
  const maxStoredBytes =
    ceiling === undefined ? quotas.maxStoredBytes : Math.min(quotas.maxStoredBytes ?? ceiling, ceiling);
  return Object.freeze({ ...quotas, maxStoredBytes });
}

const counter = (db: Database, key: 'stored_bytes' | 'inodes'): number => Number(readMeta(db, key) ?? 0);

/** After a new blob: refuses the operation when stored bytes now exceed the quota. */
export function checkStoredBytes(db: Database, path?: string): void {
  const max = db.quotas.maxStoredBytes;
  if (max !== undefined && counter(db, 'stored_bytes') > max) {
    throw fsError('ENOSPC', 'write', path, undefined, `the workspace may store at most ${max} bytes`);
  }
}

/**
 * Before fallocate: ENOSPC when storing `bytes` more would pass the stored-bytes quota. Nothing is
 * held: the check says the room is there now, as a reservation that later writes may still spend.
 */
export function checkReservation(db: Database, bytes: number, path?: string): void {
  const max = db.quotas.maxStoredBytes;
  if (max !== undefined && counter(db, 'stored_bytes') + bytes > max) {
    throw fsError('ENOSPC', 'fallocate', path, undefined, `the workspace may store at most ${max} bytes`);
  }
}

/** After a new inode: refuses the operation when inodes now exceed the quota. */
export function checkInodes(db: Database, path?: string): void {
  const max = db.quotas.maxInodes;
  if (max !== undefined && counter(db, 'inodes') > max) {
    throw fsError('ENOSPC', 'open', path, undefined, `the workspace may hold at most ${max} inodes`);
  }
}

/**
 * The largest file, whatever the quotas: 16 TiB (2^44 bytes), ext4's limit with 4 KiB blocks.
 * Holes cost nothing, so without a limit a single truncate could claim any size.
 */
export const MAX_FILE_SIZE = 2 ** 44;

/** Before a file grows to `size`: EFBIG over the quota or {@link MAX_FILE_SIZE}. */
export function checkFileSize(db: Database, size: number, path?: string, syscall = 'write'): void {
  const max = Math.min(db.quotas.maxFileSize ?? MAX_FILE_SIZE, MAX_FILE_SIZE);
  if (size > max) throw fsError('EFBIG', syscall, path, undefined, `files are limited to ${max} bytes`);
}

/** Before directory `moved` (and its subtree) becomes an entry of `dir`: ENOSPC when its deepest path would pass the quota. */
export function checkMoveDepth(db: Database, dir: number, moved: number, path?: string): void {
  if (db.quotas.maxPathDepth === undefined) return;
  const height = Number(
    db.all<{ height: number }>(
      `WITH RECURSIVE down(inode, height) AS (
         SELECT ?, 1 UNION ALL SELECT d.child, down.height + 1 FROM vfs_dirents d JOIN down ON d.parent = down.inode
       ) SELECT MAX(height) AS height FROM down`,
      [moved],
    )[0].height,
  );
  checkDepth(db, dir, height, path);
}

/** Before a node is created `height` levels below directory `dir` (1 for a direct entry): ENOSPC past the quota. */
export function checkDepth(db: Database, dir: number, height = 1, path?: string): void {
  const max = db.quotas.maxPathDepth;
  if (max === undefined) return;
  const depth = Number(
    db.all<{ depth: number }>(
      `WITH RECURSIVE up(inode, depth) AS (
         SELECT ?, 0 UNION ALL SELECT d.parent, up.depth + 1 FROM vfs_dirents d JOIN up ON d.child = up.inode
       ) SELECT MAX(depth) AS depth FROM up`,
      [dir],
    )[0].depth,
  );
  if (depth + height > max) throw fsError('ENOSPC', 'open', path, undefined, `paths are limited to ${max} names`);
}
