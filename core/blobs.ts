/**
 * Content-addressed blobs: SHA-256 named byte strings, stored once, read through the LRU.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import type { Database } from './database.ts';
import { fsError } from './errors.ts';
import { checkStoredBytes } from './quotas.ts';

/** The lowercase hex SHA-256 of `bytes`. */
export function hashBytes(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** True when `hash` looks like a SHA-256 name (64 lowercase hex digits). */
export function isHash(hash: unknown): hash is string {
  return typeof hash === 'string' && /^[0-9a-f]{64}$/.test(hash);
}

/**
 * Stores `bytes` under `hash` unless present. Inside a mutation the transaction protects the blob
 * from gc; bytes staged outside one (streams, sync) pass `refresh` so gc's safety window counts
 * from now even when the blob already existed.
 */
export function putBlob(db: Database, hash: string, bytes: Uint8Array, now: number, refresh = false): void {
  const inserted =
    db.all('INSERT INTO vfs_blobs (hash, size, last_seen) VALUES (?, ?, ?) ON CONFLICT (hash) DO NOTHING RETURNING 1', [
      hash,
      bytes.byteLength,
      now,
    ]).length > 0;
  if (inserted) {
    checkStoredBytes(db);
    db.run('INSERT INTO vfs_blob_bytes (hash, bytes) VALUES (?, ?)', [hash, bytes]);
  } else if (refresh) {
    db.run('UPDATE vfs_blobs SET last_seen = ? WHERE hash = ?', [now, hash]);
  }
  // Not cached here: `bytes` may be a view of the caller's buffer, which the caller may reuse.
}

/** The bytes of a blob, from the cache or storage. A missing blob is EIO (fsck will name it). */
export function loadBlob(db: Database, hash: string, syscall = 'read', path?: string): Uint8Array {
  const cached = db.blobCache.get(hash);
  if (cached) return cached;
  const row = db.all<{ bytes: Uint8Array }>('SELECT bytes FROM vfs_blob_bytes WHERE hash = ?', [hash])[0];
  if (!row) throw fsError('EIO', syscall, path, undefined, `blob ${hash} is missing; run fsck`);
  db.blobCache.set(hash, row.bytes);
  return row.bytes;
}

/** Most bytes one batched blob SELECT may return (the batch also stays under the parameter limit). */
const BATCH_BYTES = 8 * 1024 * 1024;

/**
 * The bytes of several blobs, from the cache or storage, with the misses read in as few
 * statements as the limits allow. A missing blob is EIO, as in {@link loadBlob}.
 */
export function loadBlobs(
  db: Database,
  hashes: readonly string[],
  syscall = 'read',
  path?: string,
): Map<string, Uint8Array> {
  const found = new Map<string, Uint8Array>();
  const missing: string[] = [];
  for (const hash of hashes) {
    const cached = db.blobCache.get(hash);
    if (cached) found.set(hash, cached);
    else if (!missing.includes(hash)) missing.push(hash);
  }
  const perStatement = Math.max(1, Math.min(db.limits.maxBoundParameters, Math.floor(BATCH_BYTES / db.chunkSize)));
  for (let start = 0; start < missing.length; start += perStatement) {
    const batch = missing.slice(start, start + perStatement);
    const rows = db.all<{ hash: string; bytes: Uint8Array }>(
      `SELECT hash, bytes FROM vfs_blob_bytes WHERE hash IN (${batch.map(() => '?').join(', ')})`,
      batch,
    );
    for (const row of rows) {
      found.set(row.hash, row.bytes);
      db.blobCache.set(row.hash, row.bytes);
    }
  }
  for (const hash of missing)
    if (!found.has(hash)) throw fsError('EIO', syscall, path, undefined, `blob ${hash} is missing; run fsck`);
  return found;
}
