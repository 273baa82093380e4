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
