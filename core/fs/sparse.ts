/**
 * Holes seen and made from outside: lseek's SEEK_DATA and SEEK_HOLE over a file's chunk list, and
 * fallocate (reserve, extend, punch a hole, zero a range). A hole is a chunk with no row, so data
 * and holes have the chunk size as their granularity, as a local filesystem has its block size.
 *
 * @module
 */
import { writeContent } from '../content.ts';
import { checkOffset } from '../data.ts';
import type { Database } from '../database.ts';
import { fsError } from '../errors.ts';
import { liveNode, noteEverywhere } from '../handles.ts';
import { type Mutation, mutate } from '../mutate.ts';
import { isSpecial, type NodeRow, specialContent } from '../nodes.ts';
import { splitPath } from '../paths.ts';
import { checkFileSize, checkReservation } from '../quotas.ts';
import { resolve } from '../resolve.ts';

/** fallocate's mode bit: do not change the file size, even when the range passes the end. */
export const FALLOC_FL_KEEP_SIZE = 0x01;
/** fallocate's mode bit: deallocate the range (it reads as zeros); only with {@link FALLOC_FL_KEEP_SIZE}. */
export const FALLOC_FL_PUNCH_HOLE = 0x02;
/** fallocate's mode bit: make the range read as zeros (here: a hole), extending the file unless {@link FALLOC_FL_KEEP_SIZE}. */
export const FALLOC_FL_ZERO_RANGE = 0x10;

/** Every bit Linux defines (KEEP_SIZE, PUNCH_HOLE, NO_HIDE_STALE, COLLAPSE_RANGE, ZERO_RANGE, INSERT_RANGE, UNSHARE_RANGE). */
const LINUX_MODE_BITS = 0x7f;
const SUPPORTED = FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE;

/** Where lseek looks from, as `lseek(2)`'s `whence`. */
type Whence = 'SEEK_DATA' | 'SEEK_HOLE';

// One statement each, so the size and the chunk list come from one consistent read.
const FIRST_DATA = `SELECT size, (SELECT idx FROM vfs_chunks WHERE inode = n.inode AND idx >= ? ORDER BY idx LIMIT 1) AS data
  FROM vfs_nodes n WHERE inode = ?`;
// The first stored chunk at or after the start whose successor is missing ends the run of data.
const FIRST_HOLE = `SELECT size, EXISTS (SELECT 1 FROM vfs_chunks WHERE inode = n.inode AND idx = ?) AS here,
  (SELECT c.idx FROM vfs_chunks c WHERE c.inode = n.inode AND c.idx >= ?
     AND NOT EXISTS (SELECT 1 FROM vfs_chunks d WHERE d.inode = c.inode AND d.idx = c.idx + 1)
   ORDER BY c.idx LIMIT 1) AS run_end
  FROM vfs_nodes n WHERE inode = ?`;

function seekIn(db: Database, node: NodeRow, offset: number, whence: Whence, path?: string): number {
  if (node.type === 'dir') throw fsError('EISDIR', 'lseek', path);
  if (isSpecial(node.type)) throw specialContent('lseek', path);
  const chunkSize = db.chunkSize;
  const start = Math.floor(offset / chunkSize);
  const beyond = () => fsError('ENXIO', 'lseek', path, undefined, `${whence} from ${offset}: no more data or holes`);
  if (whence === 'SEEK_DATA') {
    const row = db.all<{ size: number; data: number | null }>(FIRST_DATA, [start, node.inode])[0];
    if (!row) throw fsError('ENOENT', 'lseek', path);
    // Past the end, or only a trailing hole left: Linux answers ENXIO.
    if (offset >= Number(row.size) || row.data === null) throw beyond();
    return Math.max(offset, Number(row.data) * chunkSize);
  }
  const row = db.all<{ size: number; here: number; run_end: number | null }>(FIRST_HOLE, [start, start, node.inode])[0];
  if (!row) throw fsError('ENOENT', 'lseek', path);
  const size = Number(row.size);
  if (offset >= size) throw beyond();
  if (!Number(row.here)) return offset;
  // The end of the file counts as a hole (an implicit one), so SEEK_HOLE always finds one.
  return Math.min(size, (Number(row.run_end) + 1) * chunkSize);
}

/**
 * lseek(2) with SEEK_DATA: the first offset at or after `offset` that holds data (a stored chunk).
 * A stored chunk is data even where its bytes are zeros; data and holes start on chunk boundaries
 * (or at `offset` itself). Follows symlinks. `ENXIO` when `offset` is at or past the end, or only
 * a hole follows; `EISDIR` for a directory, `ENXIO` for a special file. One statement; the cost is
 * one index lookup.
 */
export function seekData(db: Database, path: string, offset: number): number {
  checkOffset(offset, 'offset', 'lseek', path);
  return seekIn(db, resolve(db, path, { follow: true, syscall: 'lseek' }).node, offset, 'SEEK_DATA', path);
}

/**
 * lseek(2) with SEEK_HOLE: the first offset at or after `offset` inside a hole, the end of the
 * file counting as one (so a file without holes answers its size). `ENXIO` when `offset` is at or
 * past the end. One statement, linear in the run of stored chunks from `offset`.
 */
export function seekHole(db: Database, path: string, offset: number): number {
  checkOffset(offset, 'offset', 'lseek', path);
  return seekIn(db, resolve(db, path, { follow: true, syscall: 'lseek' }).node, offset, 'SEEK_HOLE', path);
}

/** {@link seekData} on an open inode (the mount's file handles), even one whose names are gone. */
export function seekDataAt(db: Database, inode: number, offset: number): number {
  checkOffset(offset, 'offset', 'lseek', '');
  return seekIn(db, liveNode(db, inode, 'lseek'), offset, 'SEEK_DATA');
}

/** {@link seekHole} on an open inode (the mount's file handles), even one whose names are gone. */
export function seekHoleAt(db: Database, inode: number, offset: number): number {
  checkOffset(offset, 'offset', 'lseek', '');
  return seekIn(db, liveNode(db, inode, 'lseek'), offset, 'SEEK_HOLE');
}

/** Validates fallocate's arguments in Linux's order (`vfs_fallocate`), before anything is read. */
function checkAllocation(offset: number, length: number, mode: number, path?: string): void {
  checkOffset(offset, 'offset', 'fallocate', path ?? '');
  if (typeof length !== 'number' || !Number.isSafeInteger(length) || length <= 0)
    throw fsError('EINVAL', 'fallocate', path, undefined, `length must be a positive integer, got ${String(length)}`);
  // An int in C: bits past 31 would vanish in JavaScript's 32-bit bitwise operators.
  if (typeof mode !== 'number' || !Number.isInteger(mode) || mode < 0 || mode > 0x7fffffff)
    throw fsError(
      'EINVAL',
      'fallocate',
      path,
      undefined,
      `mode must be an integer from 0 to 2^31 - 1, got ${String(mode)}`,
    );
  if (mode & ~LINUX_MODE_BITS) throw fsError('ENOTSUP', 'fallocate', path, undefined, `unknown mode bits ${mode}`);
  if (mode & FALLOC_FL_PUNCH_HOLE && mode & FALLOC_FL_ZERO_RANGE)
    throw fsError('EINVAL', 'fallocate', path, undefined, 'PUNCH_HOLE and ZERO_RANGE exclude each other');
  if (mode & FALLOC_FL_PUNCH_HOLE && !(mode & FALLOC_FL_KEEP_SIZE))
    throw fsError('ENOTSUP', 'fallocate', path, undefined, 'PUNCH_HOLE needs KEEP_SIZE');
  if (mode & ~SUPPORTED)
    throw fsError(
      'ENOTSUP',
      'fallocate',
      path,
      undefined,
      'COLLAPSE_RANGE, INSERT_RANGE and UNSHARE_RANGE are not supported',
    );
}

/** Bytes of `node` in [from, to) that are stored (not holes), by one statement. */
function storedIn(db: Database, node: NodeRow, from: number, to: number): number {
  if (to <= from) return 0;
  const chunkSize = db.chunkSize;
  return Number(
    db.all<{ bytes: number }>(
      `SELECT COALESCE(SUM(MIN(?, idx * ? + size) - MAX(?, idx * ?)), 0) AS bytes
       FROM vfs_chunks WHERE inode = ? AND idx BETWEEN ? AND ?`,
      [to, chunkSize, from, chunkSize, node.inode, Math.floor(from / chunkSize), Math.floor((to - 1) / chunkSize)],
    )[0].bytes,
  );
}

/** Makes [from, to) of `node` (cut at its end) read as zeros: whole chunks lose their rows, the stored edges are rewritten. */
function punch(db: Database, m: Mutation, node: NodeRow, from: number, to: number): boolean {
  const size = Number(node.size);
  const end = Math.min(to, size);
  if (from >= end) return false;
  const chunkSize = db.chunkSize;
  const firstWhole = Math.ceil(from / chunkSize);
  // The chunk holding the end of the file is whole once the range reaches the end.
  const pastWhole = end === size ? Math.ceil(size / chunkSize) : Math.floor(end / chunkSize);
  if (firstWhole < pastWhole)
    db.run('DELETE FROM vfs_chunks WHERE inode = ? AND idx >= ? AND idx < ?', [node.inode, firstWhole, pastWhole]);
  const edges: [number, number][] = [];
  if (firstWhole >= pastWhole) edges.push([from, end]);
  else {
    if (from < firstWhole * chunkSize) edges.push([from, firstWhole * chunkSize]);
    if (end > pastWhole * chunkSize) edges.push([pastWhole * chunkSize, end]);
  }
  for (const [start, stop] of edges) {
    // A hole stays a hole; only a stored chunk is rewritten with zeros over the range.
    if (storedIn(db, node, start, stop) > 0) writeContent(db, m, node, start, new Uint8Array(stop - start));
  }
  // Stamps mtime, ctime and the revision, as a punch does even over holes.
  writeContent(db, m, node, 0, new Uint8Array(0), node.size);
  return true;
}

function allocateIn(
  db: Database,
  m: Mutation,
  node: NodeRow,
  offset: number,
  length: number,
  mode: number,
  path?: string,
): boolean {
  if (node.type === 'dir') throw fsError('EISDIR', 'fallocate', path);
  if (isSpecial(node.type)) throw specialContent('fallocate', path);
  const end = offset + length;
  checkFileSize(db, end, path, 'fallocate');
  let changed = false;
  if (mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE)) changed = punch(db, m, node, offset, end);
  else checkReservation(db, length - storedIn(db, node, offset, Math.min(end, Number(node.size))), path);
  if (!(mode & FALLOC_FL_KEEP_SIZE) && end > Number(node.size)) {
    writeContent(db, m, node, 0, new Uint8Array(0), end);
    changed = true;
  }
  return changed;
}

/**
 * fallocate(2) on a file (following symlinks), one mutation. `mode` takes Linux's bits:
 *
 * - `0`: allocate [offset, offset + length), extending the file when it passes the end (the new
 *   part is a hole, as `truncate` makes one). The reservation is checked, not held: a
 *   content-addressed store cannot set room aside for bytes it has not seen, so it is `ENOSPC` when
 *   the bytes of the range not yet stored would pass the `maxStoredBytes` quota now, and a later
 *   write may still be refused when the room was spent meanwhile.
 * - {@link FALLOC_FL_KEEP_SIZE}: the same without changing the size.
 * - {@link FALLOC_FL_PUNCH_HOLE} `|` {@link FALLOC_FL_KEEP_SIZE}: the range (inside the file) reads as
 *   zeros; whole chunks become holes, partly covered stored chunks are rewritten.
 * - {@link FALLOC_FL_ZERO_RANGE}: as a punch, then extends the file unless KEEP_SIZE.
 *
 * As Linux: `EINVAL` for a negative offset, a length below 1, PUNCH_HOLE with ZERO_RANGE;
 * `ENOTSUP` for PUNCH_HOLE without KEEP_SIZE and for COLLAPSE_RANGE, INSERT_RANGE, UNSHARE_RANGE
 * and unknown bits; `EFBIG` when offset + length passes the largest file (2^44 or the
 * `maxFileSize` quota), whatever the mode; `EISDIR` for a directory, `ENXIO` for a special file.
 * A change to the size or content stamps mtime and ctime; a plain reservation changes nothing.
 */
export function allocate(db: Database, path: string, offset: number, length: number, mode = 0): void {
  splitPath(path, 'fallocate');
  checkAllocation(offset, length, mode, path);
  mutate(db, 'fallocate', path, (m) => {
    const { node, realPath } = resolve(db, path, { follow: true, syscall: 'fallocate' });
    if (allocateIn(db, m, node, offset, length, mode, path)) m.note('change', realPath);
  });
}

/** {@link allocate} on an open inode (the mount's fallocate), even one whose names are gone. */
export function allocateAt(db: Database, inode: number, offset: number, length: number, mode = 0): void {
  checkAllocation(offset, length, mode);
  mutate(db, 'fallocate', undefined, (m) => {
    const node = liveNode(db, inode, 'fallocate');
    if (allocateIn(db, m, node, offset, length, mode)) noteEverywhere(db, m, inode);
  });
}
