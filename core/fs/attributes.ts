/**
 * stat, lstat, exists, chmod, utimes.
 *
 * @module
 */
import type { Database } from '../database.ts';
import { fsError, isFsError } from '../errors.ts';
import { mutate } from '../mutate.ts';
import { checkMode, type NodeRow, type NodeType } from '../nodes.ts';
import { resolve } from '../resolve.ts';

/** File type bits of `mode`, as in `stat(2)`. */
export const S_IFMT = 0o170000;
/** Type bits of a regular file. */
export const S_IFREG = 0o100000;
/** Type bits of a directory. */
export const S_IFDIR = 0o040000;
/** Type bits of a symbolic link. */
export const S_IFLNK = 0o120000;

const TYPE_BITS: Record<NodeType, number> = { file: S_IFREG, dir: S_IFDIR, symlink: S_IFLNK };

/** The block size reported in stats, and the unit of `blocks` (512-byte sectors, as Linux). */
export const BLOCK_SIZE = 4096;

/** What stat and lstat return: plain data, with node-like names. Times are milliseconds. */
export interface StatInfo {
  /** The final name of the path (empty for the root). */
  name: string;
  /** The inode number. */
  ino: number;
  /** `file`, `dir` or `symlink`. */
  type: NodeType;
  /** Type and permission bits, as `stat(2)`'s st_mode. */
  mode: number;
  /** Number of hard links (for a directory: 2 plus its subdirectories). */
  nlink: number;
  /** Size in bytes (a symlink: the length of its target). */
  size: number;
  /**
   * 512-byte blocks allocated, rounded up to the block size as a local filesystem reports: holes
   * (chunks never written) take none. See {@link allocatedBytes}.
   */
  blocks: number;
  /** Last access time, set at creation and by utimes (reads do not update it). */
  atimeMs: number;
  /** Last content change. */
  mtimeMs: number;
  /** Last content or attribute change. */
  ctimeMs: number;
  /** Creation time. */
  birthtimeMs: number;
  /** The revision that last changed this node. */
  rev: number;
  /** True for a regular file. */
  isFile: boolean;
  /** True for a directory. */
  isDirectory: boolean;
  /** True for a symlink (only lstat reports one). */
  isSymbolicLink: boolean;
}

/** Files of up to this many chunks have their holes counted exactly by stat; larger ones only their trailing hole. */
const EXACT_ALLOCATION_CHUNKS = 4096;

/**
 * The bytes a file's chunks occupy (holes excluded), from two index lookups: exact for files of up
 * to 4,096 chunks (256 MiB at 64 KiB); for larger ones, the bytes up to the end of the last chunk
 * present (a trailing hole is excluded, holes before it are counted).
 */
export function allocatedBytes(db: Database, node: NodeRow): number {
  const size = Number(node.size);
  if (node.type !== 'file' || size === 0) return 0;
  const chunkSize = db.chunkSize;
  const row = db.all<{ n: number; top: number | null }>(
    `SELECT (SELECT count(*) FROM (SELECT 1 FROM vfs_chunks WHERE inode = ? LIMIT ${EXACT_ALLOCATION_CHUNKS + 1})) AS n,
            (SELECT max(idx) FROM vfs_chunks WHERE inode = ?) AS top`,
    [node.inode, node.inode],
  )[0];
  if (!row || row.top === null) return 0;
  const last = Math.ceil(size / chunkSize) - 1;
  const top = Number(row.top);
  const endShort = top === last ? chunkSize - (size - last * chunkSize) : 0;
  if (Number(row.n) <= EXACT_ALLOCATION_CHUNKS) return Number(row.n) * chunkSize - endShort;
  return (top + 1) * chunkSize - endShort;
}

/** Turns an inode row into {@link StatInfo}; `allocated` bytes (default: the size) give `blocks`. */
export function toStat(node: NodeRow, name: string, allocated = Number(node.size)): StatInfo {
  const size = Number(node.size);
  return {
    name,
    ino: Number(node.inode),
    type: node.type,
    mode: TYPE_BITS[node.type] | Number(node.mode),
    nlink: Number(node.nlink),
    size,
    blocks: node.type === 'file' ? Math.ceil(allocated / BLOCK_SIZE) * (BLOCK_SIZE / 512) : 0,
    atimeMs: Number(node.atime),
    mtimeMs: Number(node.mtime),
    ctimeMs: Number(node.ctime),
    birthtimeMs: Number(node.birthtime),
    rev: Number(node.rev),
    isFile: node.type === 'file',
    isDirectory: node.type === 'dir',
    isSymbolicLink: node.type === 'symlink',
  };
}

/** Information about the node at `path`, following symlinks. */
export function stat(db: Database, path: string): StatInfo {
  const { node, name } = resolve(db, path, { follow: true, syscall: 'stat' });
  return toStat(node, name, allocatedBytes(db, node));
}

/** Information about the node at `path`; a symlink is described itself, not followed. */
export function lstat(db: Database, path: string): StatInfo {
  const { node, name } = resolve(db, path, { follow: false, syscall: 'lstat' });
  return toStat(node, name, allocatedBytes(db, node));
}

/** True when `path` names something (following symlinks). Never throws for a bad path. */
export function exists(db: Database, path: string): boolean {
  try {
    stat(db, path);
    return true;
  } catch (error) {
    // Bad or unresolvable paths are simply absent; a storage failure is not an answer.
    if (isFsError(error) && error.code !== 'EIO' && error.code !== 'ENOSPC') return false;
    throw error;
  }
}

/** Sets the 12 permission bits of the node at `path`, following symlinks. Bumps ctime. */
export function chmod(db: Database, path: string, mode: number): void {
  checkMode(mode, 'chmod', path);
  mutate(db, 'chmod', path, (m) => {
    const { node, realPath } = resolve(db, path, { follow: true, syscall: 'chmod' });
    db.run('UPDATE vfs_nodes SET mode = ?, ctime = ?, rev = ? WHERE inode = ?', [mode, m.now, m.rev, node.inode]);
    m.note('change', realPath);
  });
}

/** A time for utimes: a Date, or seconds since the epoch as node:fs takes them. */
export type TimeLike = Date | number;

function toMs(time: TimeLike, path: string): number {
  const ms = time instanceof Date ? time.getTime() : typeof time === 'number' ? time * 1000 : Number.NaN;
  if (!Number.isFinite(ms)) throw fsError('EINVAL', 'utime', path, undefined, 'times must be Dates or finite seconds');
  return ms;
}

/** Sets access and modification times of the node at `path` (following symlinks). Bumps ctime. */
export function utimes(db: Database, path: string, atime: TimeLike, mtime: TimeLike): void {
  setTimes(db, path, atime, mtime, true);
}

/** Sets access and modification times of the node at `path`; a symlink's own times, not its target's. */
export function lutimes(db: Database, path: string, atime: TimeLike, mtime: TimeLike): void {
  setTimes(db, path, atime, mtime, false);
}

function setTimes(db: Database, path: string, atime: TimeLike, mtime: TimeLike, follow: boolean): void {
  const a = toMs(atime, path);
  const mt = toMs(mtime, path);
  mutate(db, 'utime', path, (m) => {
    const { node, realPath } = resolve(db, path, { follow, syscall: 'utime' });
    db.run('UPDATE vfs_nodes SET atime = ?, mtime = ?, ctime = ?, rev = ? WHERE inode = ?', [
      a,
      mt,
      m.now,
      m.rev,
      node.inode,
    ]);
    m.note('change', realPath);
  });
}
