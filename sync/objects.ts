/**
 * Content-addressed objects on the wire: which ones a side has, reading them, and storing
 * incoming ones only after their bytes hash to their name.
 *
 * @module
 */
import { hashBytes, isHash, loadBlob, loadBlobs, putBlob } from '../core/blobs.ts';
import type { Database } from '../core/database.ts';
import { FsError, fsError, wrapStorageError } from '../core/errors.ts';
import { MAX_CHUNK_SIZE } from '../core/schema.ts';
import type { EntryChunk } from './changes.ts';

/** One object: a chunk's bytes and their SHA-256 name. */
export interface SyncObject {
  /** Lowercase hex SHA-256 of `bytes`. */
  hash: string;
  /** The chunk's bytes. */
  bytes: Uint8Array;
}

function checkHashes(hashes: readonly string[]): void {
  for (const hash of hashes) {
    if (!isHash(hash))
      throw fsError('EINVAL', 'sync', undefined, undefined, `'${String(hash).slice(0, 80)}' is not a SHA-256 hex name`);
  }
}

/** For each hash, whether this side stores that object. Queried in batches under the parameter limit. */
export function hasObjects(db: Database, hashes: readonly string[]): boolean[] {
  checkHashes(hashes);
  const present = new Set<string>();
  const per = db.limits.maxBoundParameters;
  for (let start = 0; start < hashes.length; start += per) {
    const batch = hashes.slice(start, start + per);
    const rows = db.all<{ hash: string }>(
      `SELECT hash FROM vfs_blobs WHERE hash IN (${batch.map(() => '?').join(', ')})`,
      batch,
    );
    for (const row of rows) present.add(row.hash);
  }
  return hashes.map((hash) => present.has(hash));
}

/** The hashes of `hashes` this side lacks, each once. */
export function missingObjects(db: Database, hashes: readonly string[]): string[] {
  const unique = [...new Set(hashes)];
  const present = hasObjects(db, unique);
  return unique.filter((_, i) => !present[i]);
}

/** One object's bytes; a hash this side does not store is EUNKNOWN_HASH. */
function loadObject(db: Database, hash: string): Uint8Array {
  try {
    return loadBlob(db, hash, 'sync');
  } catch (error) {
    throw new FsError('EUNKNOWN_HASH', 'sync', undefined, undefined, {
      cause: error,
      detail: `object ${hash} is not stored here`,
    });
  }
}

/** Objects read per statement group: at most 4 MiB of chunks, so a caller can stop early on bytes. */
const GROUP_BYTES = 4 * 1024 * 1024;

/**
 * Reads objects by name, a group of at most 4 MiB at a time in as few statements as the limits
 * allow, so a caller bounding the bytes can stop after a group. A hash this side does not store is
 * EUNKNOWN_HASH.
 */
export function* fetchObjects(db: Database, hashes: readonly string[]): Generator<SyncObject> {
  checkHashes(hashes);
  const per = Math.max(1, Math.min(db.limits.maxBoundParameters, Math.floor(GROUP_BYTES / db.chunkSize)));
  for (let start = 0; start < hashes.length; start += per) {
    const group = hashes.slice(start, start + per);
    let found: Map<string, Uint8Array> | undefined;
    try {
      found = loadBlobs(db, group, 'sync');
    } catch {
      // One is missing (or unreadable): read them one by one, so the error names that one.
      found = undefined;
    }
    for (const hash of group) yield { hash, bytes: found?.get(hash) ?? loadObject(db, hash) };
  }
}

/** Checks one incoming object: a valid name, a chunk-sized payload, and bytes that hash to the name. */
export function verifyObject(object: SyncObject): void {
  if (!object || typeof object !== 'object')
    throw fsError('EINVAL', 'sync', undefined, undefined, 'an object must be {hash, bytes}');
  checkHashes([object.hash]);
  if (!(object.bytes instanceof Uint8Array))
    throw fsError('EINVAL', 'sync', undefined, undefined, `object ${object.hash} has no bytes`);
  if (object.bytes.byteLength > MAX_CHUNK_SIZE) {
    throw fsError(
      'EINVAL',
      'sync',
      undefined,
      undefined,
      `object ${object.hash} is ${object.bytes.byteLength} bytes, over the ${MAX_CHUNK_SIZE}-byte chunk limit`,
    );
  }
  const actual = hashBytes(object.bytes);
  if (actual !== object.hash) {
    throw fsError(
      'EINVAL',
      'sync',
      undefined,
      undefined,
      `object ${object.hash} does not match its bytes (they hash to ${actual}); refused`,
    );
  }
}

/** Verifies and stores one object (refreshing its gc clock), outside any file change. */
export function stageBlob(db: Database, hash: string, bytes: Uint8Array): void {
  pushObjects(db, [{ hash, bytes }]);
}

/**
 * Verifies every object, then stores them all in one transaction; one bad object refuses the
 * whole batch with nothing written. Staged objects are protected from gc for its safety window.
 */
export function pushObjects(db: Database, objects: readonly SyncObject[]): number {
  for (const object of objects) verifyObject(object);
  const now = db.now();
  try {
    db.transaction(() => {
      for (const object of objects) putBlob(db, object.hash, object.bytes, now, true);
    });
  } catch (error) {
    throw wrapStorageError(error, 'sync');
  }
  return objects.length;
}

/**
 * A file's chunk list encoded canonically, and the SHA-256 of that encoding (the file's content
 * identity). It stores nothing, so unlike `@cloudflare/dofs`'s `buildManifest(db, chunks)` it takes
 * no database: passing one is EINVAL with a message saying so.
 */
export function buildManifest(chunks: readonly EntryChunk[]): {
  /** SHA-256 of `encoded`, lowercase hex: the content's identity. */
  hash: string;
  /** The canonical JSON encoding of the chunk list. */
  encoded: string;
  /** The file's length in bytes: the sum of the chunks' sizes. */
  size: number;
} {
  if (!Array.isArray(chunks)) {
    throw fsError(
      'EINVAL',
      'buildManifest',
      undefined,
      undefined,
      `buildManifest takes only an array of { hash, size } chunks, buildManifest(chunks), got ${chunks === null ? 'null' : typeof chunks}: ` +
        'dofs keeps no manifest table, so unlike @cloudflare/dofs it takes no database argument',
    );
  }
  const encoded = JSON.stringify({ version: 1, chunks: chunks.map(({ hash, size }) => ({ hash, size })) });
  return {
    hash: hashBytes(new TextEncoder().encode(encoded)),
    encoded,
    size: chunks.reduce((sum, chunk) => sum + chunk.size, 0),
  };
}
