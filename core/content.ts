/**
 * File content as fixed-size chunks, each naming a blob. A chunk is exactly as long as the file
 * is over its span (the chunk size, or less for the one holding the end); a missing chunk is a
 * hole and reads as zeros, so extending or cutting a file writes a constant number of rows.
 * Writes re-hash only the chunks they touch.
 *
 * @module
 */
import { Buffer } from 'node:buffer';
import { loadBlob, loadBlobs, storeChunks } from './blobs.ts';
import type { Database } from './database.ts';
import { fsError } from './errors.ts';
import type { Mutation } from './mutate.ts';
import type { NodeRow, NodeType } from './nodes.ts';
import { checkFileSize } from './quotas.ts';

/** One entry of a file's chunk map. */
export interface ChunkRef {
  /** The chunk's position in the file (its offset divided by the chunk size). */
  idx: number;
  /** SHA-256 of the chunk's bytes. */
  hash: string;
  /** Bytes in the chunk: the chunk size, except for the chunk holding the end of the file. */
  size: number;
}

/** The chunk rows of `inode` with indexes from `first` to `last` inclusive, in order. */
export function chunkRange(db: Database, inode: number, first = 0, last = Number.MAX_SAFE_INTEGER): ChunkRef[] {
  return db.all<ChunkRef>(
    'SELECT idx, hash, size FROM vfs_chunks WHERE inode = ? AND idx BETWEEN ? AND ? ORDER BY idx',
    [inode, first, last],
  );
}

// Statements by row count, built once (a backend's statement cache is keyed by the text).
const UPSERT_CHUNKS: string[] = [];

/**
 * Inserts or updates chunk rows, as many per statement as the parameter limit allows. An upsert,
 * not INSERT OR REPLACE: the replace's implicit delete fires no trigger, and snapshots' history
 * (history.ts) needs the update's.
 */
export function upsertChunks(db: Database, inode: number, chunks: readonly ChunkRef[]): void {
  const perStatement = Math.floor(db.limits.maxBoundParameters / 4);
  for (let start = 0; start < chunks.length; start += perStatement) {
    const batch = chunks.slice(start, start + perStatement);
    const params: (number | string)[] = [];
    for (const chunk of batch) params.push(inode, chunk.idx, chunk.hash, chunk.size);
    UPSERT_CHUNKS[batch.length] ??=
      `INSERT INTO vfs_chunks (inode, idx, hash, size) VALUES ${batch.map(() => '(?, ?, ?, ?)').join(', ')}
       ON CONFLICT (inode, idx) DO UPDATE SET hash = excluded.hash, size = excluded.size`;
    db.run(UPSERT_CHUNKS[batch.length], params);
  }
}

/** Reads `length` bytes from `offset` of a file (fewer at end of file). */
export function readRange(db: Database, node: NodeRow, offset: number, length: number, path?: string): Uint8Array {
  if (length <= 0) return new Uint8Array(0);
  // Ask for the chunks up to the size the caller saw (a whole small file is then one chunk, one
  // statement); when the file has grown since, ask again for the whole range.
  const seen = chunkSpan(db, offset, Math.min(length, Math.max(1, node.size - offset)));
  let { size, chunks, brought } = sizedChunks(db, node.inode, ...seen, bytesWorthBringing(length));
  if (Math.min(size, offset + length) > (seen[1] + 1) * db.chunkSize)
    ({ size, chunks, brought } = sizedChunks(db, node.inode, ...chunkSpan(db, offset, length)));
  const end = Math.min(size, offset + length);
  if (end <= offset) return new Uint8Array(0);
  // A range within one chunk is a view of the bytes brought along (ours alone), or one copy out
  // of the cached chunk.
  const chunkSize = db.chunkSize;
  const first = chunks[0];
  if (first && first.idx * chunkSize <= offset && (first.idx + 1) * chunkSize >= end) {
    const from = offset - first.idx * chunkSize;
    const bytes = brought ?? loadBlob(db, first.hash, 'read', path);
    if (from + (end - offset) <= bytes.byteLength) {
      return brought ? brought.subarray(from, from + (end - offset)) : bytes.slice(from, from + (end - offset));
    }
  }
  // Every byte of `out` is written below (holes and the tail as zeros), so it is not zero-filled
  // first; a plain Uint8Array over its own memory, not a view of Buffer's shared pool. A read of
  // more than a sixteenth of the blob cache does not go through it: it would only push out what
  // smaller reads and partial writes keep there, and hold its memory from being reused.
  const out = new Uint8Array(Buffer.allocUnsafeSlow(end - offset).buffer, 0, end - offset);
  copyChunks(db, chunks, offset, out, path, brought, (end - offset) * 16 <= db.blobCache.maxSize);
  return out;
}

/**
 * Reads from `offset` of an open file straight into `target` (as much as fits, fewer at end of
 * file) and returns how many bytes were read. One statement finds the node's type and size and
 * the chunks covered; cached chunks are copied without another. This is the fd read path.
 */
export function readInodeInto(db: Database, inode: number, offset: number, target: Uint8Array, keep = true): number {
  if (target.byteLength === 0) return 0;
  const { type, size, chunks, brought } = sizedChunks(
    db,
    inode,
    ...chunkSpan(db, offset, target.byteLength),
    bytesWorthBringing(target.byteLength),
  );
  if (type === undefined) throw fsError('EIO', 'read', undefined, undefined, `inode ${inode} was removed while open`);
  if (type === 'dir') throw fsError('EISDIR', 'read');
  const end = Math.min(size, offset + target.byteLength);
  if (end <= offset) return 0;
  copyChunks(db, chunks, offset, target.subarray(0, end - offset), undefined, brought, keep);
  return end - offset;
}

/** The largest chunk worth copying along with a read of `length` bytes: twice the read, at least 16 KiB. */
function bytesWorthBringing(length: number): number {
  return Math.max(2 * length, 16 * 1024);
}

/** The first and last chunk indexes a non-empty byte range covers. */
function chunkSpan(db: Database, offset: number, length: number): [first: number, last: number] {
  return [Math.floor(offset / db.chunkSize), Math.floor((offset + length - 1) / db.chunkSize)];
}

/** Chunks whose blobs are read together: bounds what a large read holds beyond its output. */
const COPY_WINDOW = 64;

/**
 * Fills `target` with the file bytes from `offset`, from `chunks` (the first one's bytes
 * `brought` along, when they were); bytes no chunk covers are zero.
 */
function copyChunks(
  db: Database,
  chunks: readonly ChunkRef[],
  offset: number,
  target: Uint8Array,
  path?: string,
  brought?: Uint8Array,
  keep = true,
): void {
  const chunkSize = db.chunkSize;
  const end = offset + target.byteLength;
  let filled = offset;
  for (let start = 0; start < chunks.length; start += COPY_WINDOW) {
    const window = chunks.slice(start, start + COPY_WINDOW);
    const blobs =
      brought && window.length === 1
        ? new Map([[window[0].hash, brought]])
        : loadBlobs(
            db,
            window.map((chunk) => chunk.hash),
            'read',
            path,
            keep,
          );
    for (const chunk of window) {
      const chunkStart = chunk.idx * chunkSize;
      if (chunkStart >= end) break;
      const bytes = blobs.get(chunk.hash) as Uint8Array;
      const from = Math.max(offset, chunkStart);
      const to = Math.min(end, chunkStart + bytes.byteLength);
      if (from > filled) target.fill(0, filled - offset, from - offset);
      if (to > from) target.set(bytes.subarray(from - chunkStart, to - chunkStart), from - offset);
      filled = Math.max(filled, to);
    }
  }
  if (filled < end) target.fill(0, filled - offset);
}

const SIZED_CHUNKS = `SELECT n.type AS type, n.size AS fileSize, c.idx AS idx, c.hash AS hash, c.size AS size
  FROM vfs_nodes n LEFT JOIN vfs_chunks c ON c.inode = n.inode AND c.idx BETWEEN ? AND ?
  WHERE n.inode = ? ORDER BY c.idx`;
const SIZED_CHUNK_WITH_BYTES = `SELECT n.type AS type, n.size AS fileSize, c.idx AS idx, c.hash AS hash, c.size AS size,
    CASE WHEN c.size <= ? THEN b.bytes END AS bytes
  FROM vfs_nodes n LEFT JOIN vfs_chunks c ON c.inode = n.inode AND c.idx BETWEEN ? AND ?
  LEFT JOIN vfs_blobs k ON k.hash = c.hash LEFT JOIN vfs_blob_bytes b ON b.rowid = k.id
  WHERE n.inode = ? ORDER BY c.idx`;

/**
 * A file's type and current size (type undefined when the inode is gone) and its chunks from
 * `first` to `last`, read in one statement: one snapshot, so another process replacing the file
 * in between cannot pair the old size with the new chunks. For a range of one chunk, a chunk of
 * at most `withBytesUpTo` bytes brings its bytes along as `brought` (a small file's read, or an fd
 * read of about a chunk, is then one statement; the bytes are a fresh copy, the caller's to keep);
 * a larger chunk is not copied for a small read, and comes from the cache or its own statement.
 */
export function sizedChunks(
  db: Database,
  inode: number,
  first: number,
  last: number,
  withBytesUpTo = 0,
): { type: NodeType | undefined; size: number; chunks: ChunkRef[]; brought?: Uint8Array } {
  const one = first === last && withBytesUpTo > 0;
  if (db.snapshot) return db.transaction(() => sizedChunksAtSnapshot(db, inode, first, last, one ? withBytesUpTo : 0));
  const rows = db.all<{
    type: NodeType;
    fileSize: number;
    idx: number | null;
    hash: string | null;
    size: number | null;
    bytes?: Uint8Array | null;
  }>(one ? SIZED_CHUNK_WITH_BYTES : SIZED_CHUNKS, one ? [withBytesUpTo, first, last, inode] : [first, last, inode]);
  const chunks: ChunkRef[] = [];
  for (const row of rows)
    if (row.idx !== null) chunks.push({ idx: Number(row.idx), hash: String(row.hash), size: Number(row.size) });
  // Not brought (too large, or the blob is missing, which loading it then reports as EIO): undefined.
  const brought = rows[0]?.bytes ?? undefined;
  return { type: rows[0]?.type, size: Number(rows[0]?.fileSize ?? 0), chunks, brought };
}

const CHUNKS_AT_SNAPSHOT = `SELECT c.idx AS idx, c.hash AS hash, c.size AS size,
    CASE WHEN c.size <= ? THEN b.bytes END AS bytes
  FROM vfs_chunks c LEFT JOIN vfs_blobs k ON k.hash = c.hash AND c.size <= ? LEFT JOIN vfs_blob_bytes b ON b.rowid = k.id
  WHERE c.inode = ? AND c.idx BETWEEN ? AND ? ORDER BY c.idx`;

/**
 * {@link sizedChunks} at a snapshot, where `vfs_nodes` and `vfs_chunks` are compound CTEs that
 * SQLite cannot join by index (it scans every chunk row, milliseconds per read): the node and its
 * chunks in two index seeks, in one transaction so that both see one state.
 */
function sizedChunksAtSnapshot(
  db: Database,
  inode: number,
  first: number,
  last: number,
  withBytesUpTo: number,
): { type: NodeType | undefined; size: number; chunks: ChunkRef[]; brought?: Uint8Array } {
  const node = db.all<{ type: NodeType; size: number }>('SELECT type, size FROM vfs_nodes WHERE inode = ?', [inode])[0];
  if (!node) return { type: undefined, size: 0, chunks: [] };
  const rows = db.all<{ idx: number; hash: string; size: number; bytes: Uint8Array | null }>(CHUNKS_AT_SNAPSHOT, [
    withBytesUpTo,
    withBytesUpTo,
    inode,
    first,
    last,
  ]);
  const chunks = rows.map((row) => ({ idx: Number(row.idx), hash: String(row.hash), size: Number(row.size) }));
  return { type: node.type, size: Number(node.size), chunks, brought: rows[0]?.bytes ?? undefined };
}

/**
 * Rewrites the chunks of a file so that it is `newSize` long with `data` at `offset`, keeping old
 * bytes elsewhere and zero-filling any gap. Only chunks overlapping the write (or the gap, or a
 * shortened last chunk) are re-hashed. Updates size, mtime, ctime and rev. `oldSize` is the size
 * the stored content has (the node's, unless its row was created with its final size already).
 */
export function writeContent(
  db: Database,
  m: Mutation,
  node: NodeRow,
  offset: number,
  data: Uint8Array,
  newSize = Math.max(node.size, data.byteLength > 0 ? offset + data.byteLength : node.size),
  oldSize = node.size,
): void {
  if (newSize > oldSize) checkFileSize(db, newSize);
  const chunkSize = db.chunkSize;
  const writeEnd = offset + data.byteLength;
  if (newSize < oldSize) {
    db.run('DELETE FROM vfs_chunks WHERE inode = ? AND idx >= ?', [node.inode, Math.ceil(newSize / chunkSize)]);
  }
  // The chunks to rebuild: those the data covers, plus the old partial last chunk when the file
  // grows past it (it gains bytes) or is cut inside it. Chunks between are holes: no row at all.
  const touched = new Set<number>();
  if (data.byteLength > 0) {
    for (let idx = Math.floor(offset / chunkSize); idx <= Math.floor((writeEnd - 1) / chunkSize); idx++)
      touched.add(idx);
  }
  if (newSize !== oldSize) {
    const boundary = Math.min(oldSize, newSize);
    if (boundary % chunkSize !== 0) touched.add(Math.floor(boundary / chunkSize));
  }
  const indexes = [...touched].sort((a, b) => a - b);
  const old = new Map<number, string>();
  if (indexes.length > 0 && indexes[0] * chunkSize < oldSize) {
    for (const chunk of chunkRange(db, node.inode, indexes[0], indexes[indexes.length - 1]))
      old.set(chunk.idx, chunk.hash);
  }
  const built: Array<{ idx: number; bytes: Uint8Array; owned: boolean }> = [];
  for (const idx of indexes) {
    const chunkStart = idx * chunkSize;
    const length = Math.min(chunkSize, newSize - chunkStart);
    if (length <= 0) continue;
    const previous = old.get(idx);
    const overlapsData = offset < chunkStart + length && writeEnd > chunkStart;
    let bytes: Uint8Array;
    let owned = false;
    if (overlapsData && chunkStart >= offset && chunkStart + length <= writeEnd) {
      bytes = data.subarray(chunkStart - offset, chunkStart + length - offset);
    } else if (!overlapsData && previous === undefined) {
      continue; // a hole stays a hole
    } else {
      // Read-modify-write into a buffer of our own (a plain Uint8Array: Buffer's slice would share
      // it). Not zero-filled by the allocator, whose fresh zeroed pages are each faulted in (costly on
      // VMs); only the bytes nothing covers are zeroed here.
      bytes = new Uint8Array(Buffer.allocUnsafeSlow(length).buffer, 0, length);
      let kept = 0;
      if (previous !== undefined) {
        const oldBytes = loadBlob(db, previous, 'write');
        kept = Math.min(oldBytes.byteLength, length);
        bytes.set(oldBytes.subarray(0, kept));
      }
      if (kept < length) bytes.fill(0, kept);
      if (overlapsData) {
        const from = Math.max(offset, chunkStart);
        const to = Math.min(writeEnd, chunkStart + length);
        bytes.set(data.subarray(from - offset, to - offset), from - chunkStart);
      }
      owned = true;
    }
    built.push({ idx, bytes, owned });
  }
  const names = storeChunks(
    db,
    built.map((chunk) => chunk.bytes),
  );
  const rows: ChunkRef[] = built.map(({ idx, bytes, owned }, i) => {
    // A chunk built here is ours and never changes again: cache it, so the next write to it (an
    // append, an overwrite) and reads after it need no SELECT. Views of the caller's data are not.
    if (owned) db.blobCache.set(names[i], bytes);
    return { idx, hash: names[i], size: bytes.byteLength };
  });
  // A row that holds these values already (a file created in this mutation with its final size)
  // needs no update. The node before its chunks: under a snapshot, the first change records the
  // node's history row, and the node's trigger does it more cheaply than a chunk's (history.ts).
  if (node.size !== newSize || node.mtime !== m.now || node.ctime !== m.now || node.rev !== m.rev) {
    db.run('UPDATE vfs_nodes SET size = ?, mtime = ?, ctime = ?, rev = ? WHERE inode = ?', [
      newSize,
      m.now,
      m.now,
      m.rev,
      node.inode,
    ]);
  }
  upsertChunks(db, node.inode, rows);
  node.size = newSize;
  node.mtime = node.ctime = m.now;
  node.rev = m.rev;
}

/**
 * Writes the content of a file created in this mutation with `createNode(..., data.byteLength)`:
 * no old chunks to look for or delete, and no size update.
 */
export function writeNewContent(db: Database, m: Mutation, node: NodeRow, data: Uint8Array): void {
  writeContent(db, m, node, 0, data, data.byteLength, 0);
}

/** Replaces a file's whole content with `data` (writeFile). */
export function replaceContent(db: Database, m: Mutation, node: NodeRow, data: Uint8Array): void {
  const kept = Math.ceil(data.byteLength / db.chunkSize);
  if (Math.ceil(node.size / db.chunkSize) > kept)
    db.run('DELETE FROM vfs_chunks WHERE inode = ? AND idx >= ?', [node.inode, kept]);
  const emptied = { ...node, size: 0 };
  writeContent(db, m, emptied, 0, data, data.byteLength);
  Object.assign(node, emptied);
}

/** Makes `target` share `source`'s chunks (copyFile): rows are copied, bytes are not. */
export function shareChunks(db: Database, m: Mutation, source: NodeRow, target: NodeRow): void {
  db.run('DELETE FROM vfs_chunks WHERE inode = ?', [target.inode]);
  db.run('INSERT INTO vfs_chunks (inode, idx, hash, size) SELECT ?, idx, hash, size FROM vfs_chunks WHERE inode = ?', [
    target.inode,
    source.inode,
  ]);
  db.run('UPDATE vfs_nodes SET size = ?, mtime = ?, ctime = ?, rev = ? WHERE inode = ?', [
    source.size,
    m.now,
    m.now,
    m.rev,
    target.inode,
  ]);
}
