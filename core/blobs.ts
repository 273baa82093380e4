/**
 * Content-addressed blobs: SHA-256 named byte strings, stored once, read through the LRU.
 *
 * @module
 */
import { hash as digest } from 'node:crypto';
import type { SqlValue } from './backend.ts';
import type { Database } from './database.ts';
import { fsError } from './errors.ts';
import { checkStoredBytes } from './quotas.ts';

/** The lowercase hex SHA-256 of `bytes`. */
export function hashBytes(bytes: Uint8Array): string {
  // One-shot: no Hash object per chunk (a quarter of the hashing time of a 1 KiB file).
  return digest('sha256', bytes, 'hex');
}

/** True when `hash` looks like a SHA-256 name (64 lowercase hex digits). */
export function isHash(hash: unknown): hash is string {
  return typeof hash === 'string' && /^[0-9a-f]{64}$/.test(hash);
}

/**
 * A new catalogue row takes the id after the last bytes row's; the bytes are then stored under the
 * id their catalogue row holds (a rowid seek, and one tree ordered by hash per blob, not two).
 */
const PUT_CATALOGUE = `INSERT INTO vfs_blobs (hash, size, last_seen, id)
  VALUES (?, ?, ?, (SELECT COALESCE(MAX(rowid), 0) + 1 FROM vfs_blob_bytes)) ON CONFLICT (hash) DO NOTHING`;
const PUT_BYTES = 'INSERT INTO vfs_blob_bytes (rowid, bytes) VALUES ((SELECT id FROM vfs_blobs WHERE hash = ?), ?)';

/**
 * Stores `bytes` under `hash` unless present. Inside a mutation the transaction protects the blob
 * from gc, and it is stored with `last_seen` 0 ("never staged"): once no chunk names it, gc frees it
 * at once. Bytes staged outside one (streams, write sessions, sync) pass `refresh`, so gc's safety
 * window counts from `now` even when the blob already existed; linking them (see {@link markLinked})
 * gives up that protection.
 */
export function putBlob(db: Database, hash: string, bytes: Uint8Array, now: number, refresh = false): void {
  db.run(PUT_CATALOGUE, [hash, bytes.byteLength, refresh ? now : 0]);
  if (db.lastChange().changes > 0) {
    checkStoredBytes(db);
    db.run(PUT_BYTES, [hash, bytes]);
  } else if (refresh) {
    db.run('UPDATE vfs_blobs SET last_seen = ? WHERE hash = ?', [now, hash]);
  }
  // Not cached here: `bytes` may be a view of the caller's buffer, which the caller may reuse.
}

// ---- Chunks written again: found by their bytes instead of hashed again ----

/**
 * Chunks from this size on are checked against the bytes of a chunk stored before that looks the
 * same (one statement: SQLite compares the bytes) before they are hashed: SHA-256 costs about
 * 0.9 µs per KiB here, the comparison a fifth of that. Below it, hashing is cheaper than a statement.
 */
const RECHECK_MIN_BYTES = 16 * 1024;
/** Recent chunks remembered per database: about 200 bytes each, 256 MiB of 64 KiB chunks. */
const RECHECK_ENTRIES = 4096;
/** Bytes sampled for a chunk's key, evenly spread from its first byte to its last. */
const SAMPLES = 48;

const recentByDb = new WeakMap<Database, Map<string, string>>();

/** A cheap key of `bytes`: the length and a sample of them. Equal bytes give equal keys; equal keys prove nothing. */
function sampleKey(bytes: Uint8Array): string {
  const last = bytes.byteLength - 1;
  const codes = new Array<number>(SAMPLES);
  for (let i = 0; i < SAMPLES; i++) codes[i] = bytes[Math.floor((i * last) / (SAMPLES - 1))];
  return `${bytes.byteLength}:${String.fromCharCode(...codes)}`;
}

const SAME_BYTES = `SELECT 1 FROM vfs_blobs c JOIN vfs_blob_bytes b ON b.rowid = c.id WHERE c.hash = ? AND b.bytes = ?`;

/** The name of a chunk stored recently with the same bytes as `bytes` (compared by SQLite), if any. */
function storedBefore(db: Database, recent: Map<string, string>, key: string, bytes: Uint8Array): string | undefined {
  const candidate = recent.get(key);
  return candidate !== undefined && db.all(SAME_BYTES, [candidate, bytes]).length > 0 ? candidate : undefined;
}

/** Remembers that the chunk with key `key` is stored as `name`, forgetting the oldest beyond {@link RECHECK_ENTRIES}. */
function remember(recent: Map<string, string>, key: string, name: string): void {
  recent.delete(key);
  recent.set(key, name);
  // The oldest entry goes (a Map iterates in insertion order).
  if (recent.size > RECHECK_ENTRIES) recent.delete(recent.keys().next().value as string);
}

/**
 * Most bytes stored by one pair of statements (8 chunks of 64 KiB): what they bind is copied once
 * more by the driver, and the chunks are hashed just before SQLite copies them.
 */
const STORE_BATCH_BYTES = 512 * 1024;

/**
 * Stores the chunks written by one mutation, as `putBlob(db, hashBytes(bytes), bytes, now)` for
 * each would, and returns their names in order. A chunk of at least 16 KiB that looks like one
 * stored recently (same length, same sampled bytes) is first compared with that blob's stored
 * bytes; when they are equal, that blob's name is the SHA-256 of these bytes too and it exists, so
 * nothing is hashed or written (writing the same content again, as dedup does, costs a comparison
 * per chunk). Otherwise the bytes are hashed and stored: several chunks at once in two statements
 * (the catalogue rows, which say which blobs are new, then the bytes of those), not three each.
 * The key only picks a candidate: a name is never taken without the bytes being equal.
 */
export function storeChunks(db: Database, chunks: readonly Uint8Array[]): string[] {
  const names: string[] = [];
  let recent = recentByDb.get(db);
  let batch: Array<{ name: string; bytes: Uint8Array }> = [];
  let batchBytes = 0;
  for (const bytes of chunks) {
    const key = bytes.byteLength >= RECHECK_MIN_BYTES ? sampleKey(bytes) : undefined;
    if (key !== undefined) {
      if (!recent) {
        recent = new Map<string, string>();
        recentByDb.set(db, recent);
      }
      const known = storedBefore(db, recent, key, bytes);
      if (known !== undefined) {
        names.push(known);
        continue;
      }
    }
    const name = hashBytes(bytes);
    names.push(name);
    if (recent && key !== undefined) remember(recent, key, name);
    if (batch.length > 0 && batchBytes + bytes.byteLength > STORE_BATCH_BYTES) {
      putBlobs(db, batch);
      batch = [];
      batchBytes = 0;
    }
    batch.push({ name, bytes });
    batchBytes += bytes.byteLength;
  }
  if (batch.length > 0) putBlobs(db, batch);
  return names;
}

// Statements by row count, built once (a backend's statement cache is keyed by the text).
const INSERT_CATALOGUE: string[] = [];
const INSERT_BYTES: string[] = [];

/**
 * {@link putBlob} inside a mutation (`last_seen` 0) for several blobs: one statement inserts the
 * catalogue rows and returns those that are new, one more the bytes of those. A single blob
 * takes the plain insert and `changes()`, which cost less than RETURNING's temporary table.
 */
function putBlobs(db: Database, blobs: ReadonlyArray<{ name: string; bytes: Uint8Array }>): void {
  if (blobs.length === 1) {
    putBlob(db, blobs[0].name, blobs[0].bytes, 0);
    return;
  }
  // Two parameters per catalogue row: batches stay under the strictest parameter limit.
  const perStatement = Math.floor(db.limits.maxBoundParameters / 2);
  for (let start = 0; start < blobs.length; start += perStatement) {
    const part = blobs.slice(start, start + perStatement);
    const params: (string | number)[] = [];
    for (const blob of part) params.push(blob.name, blob.bytes.byteLength);
    // Row i takes the id i + 1 past the last stored bytes (as PUT_CATALOGUE does for one blob); a
    // row that already exists leaves its id unused, which is harmless: ids need not be dense.
    INSERT_CATALOGUE[part.length] ??= `INSERT INTO vfs_blobs (hash, size, last_seen, id) VALUES ${part
      .map((_, i) => `(?, ?, 0, (SELECT COALESCE(MAX(rowid), 0) FROM vfs_blob_bytes) + ${i + 1})`)
      .join(', ')}
       ON CONFLICT (hash) DO NOTHING RETURNING hash, id`;
    const added = db.all<{ hash: string; id: number }>(INSERT_CATALOGUE[part.length], params);
    if (added.length === 0) continue;
    checkStoredBytes(db);
    // RETURNING names each new blob once, also when the batch held the same bytes twice.
    const fresh = new Map(added.map((row) => [row.hash, row.id]));
    const rows: SqlValue[] = [];
    for (const blob of part) {
      const id = fresh.get(blob.name);
      if (id === undefined) continue;
      fresh.delete(blob.name);
      rows.push(id, blob.bytes);
    }
    INSERT_BYTES[rows.length / 2] ??=
      `INSERT INTO vfs_blob_bytes (rowid, bytes) VALUES ${Array.from({ length: rows.length / 2 }, () => '(?, ?)').join(', ')}`;
    db.run(INSERT_BYTES[rows.length / 2], rows);
  }
}

/** The bytes of a blob, from the cache or storage. A missing blob is EIO (fsck will name it). */
export function loadBlob(db: Database, hash: string, syscall = 'read', path?: string): Uint8Array {
  const cached = db.blobCache.get(hash);
  if (cached) return cached;
  const row = db.all<{ bytes: Uint8Array }>(
    'SELECT y.bytes AS bytes FROM vfs_blobs b JOIN vfs_blob_bytes y ON y.rowid = b.id WHERE b.hash = ?',
    [hash],
  )[0];
  if (!row) throw fsError('EIO', syscall, path, undefined, `blob ${hash} is missing; run fsck`);
  db.blobCache.set(hash, row.bytes);
  return row.bytes;
}

/** Most bytes one batched blob SELECT may return (the batch also stays under the parameter limit). */
const BATCH_BYTES = 8 * 1024 * 1024;

/**
 * The bytes of several blobs, from the cache or storage, with the misses read in as few
 * statements as the limits allow, and kept in the cache unless `keep` is false. A missing blob is
 * EIO, as in {@link loadBlob}.
 */
export function loadBlobs(
  db: Database,
  hashes: readonly string[],
  syscall = 'read',
  path?: string,
  keep = true,
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
      `SELECT b.hash AS hash, y.bytes AS bytes FROM vfs_blobs b JOIN vfs_blob_bytes y ON y.rowid = b.id
       WHERE b.hash IN (${batch.map(() => '?').join(', ')})`,
      batch,
    );
    for (const row of rows) {
      found.set(row.hash, row.bytes);
      if (keep) db.blobCache.set(row.hash, row.bytes);
    }
  }
  for (const hash of missing)
    if (!found.has(hash)) throw fsError('EIO', syscall, path, undefined, `blob ${hash} is missing; run fsck`);
  return found;
}

// ---- Staged blobs: protected from gc while a write session of this process holds them ----

const heldByDb = new WeakMap<Database, Map<string, number>>();

function held(db: Database): Map<string, number> {
  let map = heldByDb.get(db);
  if (!map) {
    map = new Map();
    heldByDb.set(db, map);
  }
  return map;
}

/** Marks blobs just staged by a write session of this process: gc leaves them alone, whatever their age, until {@link releaseStaged}. */
export function holdStaged(db: Database, hashes: Iterable<string>): void {
  const map = held(db);
  for (const hash of hashes) map.set(hash, (map.get(hash) ?? 0) + 1);
}

/** Drops holds taken by {@link holdStaged} (the session linked or abandoned those chunks). */
export function releaseStaged(db: Database, hashes: Iterable<string>): void {
  const map = held(db);
  for (const hash of hashes) {
    const count = (map.get(hash) ?? 0) - 1;
    if (count > 0) map.set(hash, count);
    else map.delete(hash);
  }
}

/** True when a write session of this process holds the staged blob `hash`. */
export function isHeldStaged(db: Database, hash: string): boolean {
  return held(db).has(hash);
}

/**
 * Inside the mutation that makes chunks name blobs staged earlier: they need the safety window no
 * more, so their `last_seen` goes back to 0 and gc frees them as soon as nothing names them. Blobs
 * another session of this process still holds keep theirs. (A session of another process that
 * staged the same bytes and has not committed yet is protected only by its own staging time being
 * recent; if gc took the blob meanwhile, its commit fails with EIO and changes nothing.)
 */
export function markLinked(db: Database, hashes: readonly string[]): void {
  const free = [...new Set(hashes)].filter((hash) => !isHeldStaged(db, hash));
  const per = db.limits.maxBoundParameters;
  for (let start = 0; start < free.length; start += per) {
    const batch = free.slice(start, start + per);
    db.run(
      `UPDATE vfs_blobs SET last_seen = 0 WHERE last_seen != 0 AND hash IN (${batch.map(() => '?').join(', ')})`,
      batch,
    );
  }
}
