/**
 * stat, lstat, exists, chmod, chown, utimes.
 *
 * @module
 */

import { checksCaller, requireOwner } from '../access.ts';
import type { Database } from '../database.ts';
import { checkId } from '../database.ts';
import { fsError, isFsError } from '../errors.ts';
import { type Mutation, mutate } from '../mutate.ts';
import {
  checkMode,
  EXACT_ALLOCATION_CHUNKS,
  getNode,
  MAX_WALK_NAMES,
  type NodeRow,
  type NodeType,
  walkToNode,
} from '../nodes.ts';
import { endsWithSlash, splitPath } from '../paths.ts';
import { removedDirs } from '../removed-dirs.ts';
import { pathsOf, resolve } from '../resolve.ts';

/** File type bits of `mode`, as in `stat(2)`. */
export const S_IFMT = 0o170000;
/** Type bits of a regular file. */
export const S_IFREG = 0o100000;
/** Type bits of a directory. */
export const S_IFDIR = 0o040000;
/** Type bits of a symbolic link. */
export const S_IFLNK = 0o120000;
/** Type bits of a FIFO (named pipe). */
export const S_IFIFO = 0o010000;
/** Type bits of a socket. */
export const S_IFSOCK = 0o140000;
/** Type bits of a character device. */
export const S_IFCHR = 0o020000;
/** Type bits of a block device. */
export const S_IFBLK = 0o060000;
/** The set-user-ID bit. */
export const S_ISUID = 0o4000;
/** The set-group-ID bit. */
export const S_ISGID = 0o2000;

/** The `stat(2)` type bits of each node type. */
export const TYPE_BITS: Readonly<Record<NodeType, number>> = {
  file: S_IFREG,
  dir: S_IFDIR,
  symlink: S_IFLNK,
  fifo: S_IFIFO,
  socket: S_IFSOCK,
  chardev: S_IFCHR,
  blockdev: S_IFBLK,
};

/** The node type of `stat(2)` type bits (`mode & S_IFMT`), or undefined for bits that name none. */
export function typeOfMode(mode: number): NodeType | undefined {
  const bits = mode & S_IFMT;
  return (Object.keys(TYPE_BITS) as NodeType[]).find((type) => TYPE_BITS[type] === bits);
}

/** The block size reported in stats, and the unit of `blocks` (512-byte sectors, as Linux). */
export const BLOCK_SIZE = 4096;

/** What stat and lstat return: plain data, with node-like names. Times are milliseconds. */
export interface StatInfo {
  /** The final name of the path (empty for the root). */
  name: string;
  /** The inode number. */
  ino: number;
  /** `file`, `dir`, `symlink`, or a special file: `fifo`, `socket`, `chardev`, `blockdev`. */
  type: NodeType;
  /** Type and permission bits, as `stat(2)`'s st_mode. */
  mode: number;
  /** Number of hard links (for a directory: 2 plus its subdirectories). */
  nlink: number;
  /** Owner's user id. */
  uid: number;
  /** Owner's group id. */
  gid: number;
  /** Device number of a character or block device (Linux's `makedev` encoding); 0 for anything else. */
  rdev: number;
  /** Size in bytes (a symlink: the length of its target). */
  size: number;
  /**
   * 512-byte blocks allocated, rounded up to the block size as a local filesystem reports: holes
   * (chunks never written) take none (`usage().allocatedBytes` sums them for the workspace).
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
  /** True for a FIFO (named pipe). */
  isFIFO: boolean;
  /** True for a socket. */
  isSocket: boolean;
  /** True for a character device. */
  isCharacterDevice: boolean;
  /** True for a block device. */
  isBlockDevice: boolean;
}

/**
 * The bytes a file's chunks occupy (holes excluded), from two index lookups: exact for files of up
 * to 4,096 chunks (256 MiB at 64 KiB); for larger ones, the bytes up to the end of the last chunk
 * present (a trailing hole is excluded, holes before it are counted).
 */
export function allocatedBytes(db: Database, node: NodeRow): number {
  const size = Number(node.size);
  if (node.type !== 'file' || size === 0) return 0;
  const chunkSize = db.chunkSize;
  // Read with the node by walkToNode, or now. The top index by ORDER BY … LIMIT 1, not max(): at a
  // snapshot (vfs_chunks a compound CTE) SQLite scans every chunk row for max() beside the count,
  // and seeks the index for this.
  const row =
    node.chunk_count !== undefined && node.chunk_count !== null
      ? { n: node.chunk_count, top: node.top_chunk ?? null }
      : db.all<{ n: number; top: number | null }>(
          `SELECT (SELECT count(*) FROM (SELECT 1 FROM vfs_chunks WHERE inode = ? LIMIT ${EXACT_ALLOCATION_CHUNKS + 1})) AS n,
                  (SELECT idx FROM vfs_chunks WHERE inode = ? ORDER BY idx DESC LIMIT 1) AS top`,
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
    uid: Number(node.uid ?? 0),
    gid: Number(node.gid ?? 0),
    rdev: Number(node.rdev ?? 0),
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
    isFIFO: node.type === 'fifo',
    isSocket: node.type === 'socket',
    isCharacterDevice: node.type === 'chardev',
    isBlockDevice: node.type === 'blockdev',
  };
}

/** Information about the node at `path`, following symlinks. */
export function stat(db: Database, path: string): StatInfo {
  const plain = plainStat(db, path, true);
  if (plain) return plain;
  const { node, name } = resolve(db, path, { follow: true, syscall: 'stat' });
  return toStat(node, name, allocatedBytes(db, node));
}

/** Information about the node at `path`; a symlink is described itself, not followed. */
export function lstat(db: Database, path: string): StatInfo {
  const plain = plainStat(db, path, false);
  if (plain) return plain;
  const { node, name } = resolve(db, path, { follow: false, syscall: 'lstat' });
  return toStat(node, name, allocatedBytes(db, node));
}

/**
 * stat or lstat of a plain path (no symlink on the way, no trailing slash or final '.') in one
 * statement, the node's block count included; undefined when anything needs the full resolution,
 * which then decides, errors included: a snapshot, permission checks, a link on the way (or at the
 * end, for stat), a missing name.
 */
function plainStat(db: Database, path: string, follow: boolean): StatInfo | undefined {
  if (db.snapshot || checksCaller(db) || endsWithSlash(path)) return undefined;
  const names = splitPath(path, follow ? 'stat' : 'lstat');
  if (names.length === 0 || names.length > MAX_WALK_NAMES) return undefined;
  const node = walkToNode(db, names);
  if (!node || (follow && node.type === 'symlink')) return undefined;
  return toStat(node, names[names.length - 1], allocatedBytes(db, node));
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
    requireOwner(db, node, 'chmod', path);
    // Linux drops set-group-ID when a checked caller is not in the file's group.
    const bits = checksCaller(db) && node.type !== 'dir' && db.owner.gid !== Number(node.gid) ? mode & ~S_ISGID : mode;
    db.run('UPDATE vfs_nodes SET mode = ?, ctime = ?, rev = ? WHERE inode = ?', [bits, m.now, m.rev, node.inode]);
    m.note('change', realPath);
  });
}

/**
 * Sets the owner and group of the node at `path`, following symlinks, as `chown(2)`: -1 (or
 * undefined) leaves one unchanged. Bumps ctime even when nothing changes, as Linux does. On
 * anything but a directory it clears the set-user-ID bit, and the set-group-ID bit when the
 * group may execute, as Linux does for a chown. Under {@link Database.checkPermissions} a caller
 * other than root may not give a node away (EPERM) and may change the group of a node it owns only
 * to its own group; the FUSE mount leaves that to the kernel.
 */
export function chown(db: Database, path: string, uid: number | undefined, gid: number | undefined): void {
  setOwner(db, path, uid, gid, true);
}

/** {@link chown} of the node at `path` itself: a symlink's own owner, not its target's. */
export function lchown(db: Database, path: string, uid: number | undefined, gid: number | undefined): void {
  setOwner(db, path, uid, gid, false);
}

/** {@link chown} of an open inode (fchown), even one whose every name is gone. */
export function chownAt(db: Database, inode: number, uid: number | undefined, gid: number | undefined): void {
  const ids = checkIds(uid, gid, 'fchown', undefined);
  const removed = removedDirs(db).get(inode);
  if (removed) {
    // A directory removed while open: only its open handles see it, so it changes in memory (as fchmod).
    requireChown(db, removed, ids, 'fchown', undefined);
    Object.assign(removed, { uid: ids[0] ?? removed.uid, gid: ids[1] ?? removed.gid, ctime: db.now() });
    return;
  }
  mutate(db, 'fchown', undefined, (m) => {
    const node = getNode(db, inode);
    if (!node) throw fsError('ENOENT', 'fchown', undefined, undefined, `inode ${inode} was removed`);
    requireChown(db, node, ids, 'fchown', undefined);
    applyOwner(db, m, node, ids);
    for (const path of pathsOf(db, inode)) m.note('change', path);
  });
}

/** -1 (2^32 - 1 as an unsigned id) and undefined mean "unchanged". */
function checkIds(
  uid: unknown,
  gid: unknown,
  syscall: string,
  path: string | undefined,
): [number | null, number | null] {
  const one = (id: unknown, name: string): number | null =>
    id === undefined || id === -1 || id === 0xffffffff ? null : checkId(id, name, syscall, path);
  return [one(uid, 'uid'), one(gid, 'gid')];
}

function setOwner(db: Database, path: string, uid: unknown, gid: unknown, follow: boolean): void {
  const syscall = follow ? 'chown' : 'lchown';
  const ids = checkIds(uid, gid, syscall, path);
  mutate(db, syscall, path, (m) => {
    const { node, realPath } = resolve(db, path, { follow, syscall });
    requireChown(db, node, ids, syscall, path);
    applyOwner(db, m, node, ids);
    m.note('change', realPath);
  });
}

/** Linux's chown_ok and chgrp_ok for one caller with one group: root may do anything. */
function requireChown(
  db: Database,
  node: NodeRow,
  [uid, gid]: [number | null, number | null],
  syscall: string,
  path: string | undefined,
): void {
  if (!checksCaller(db)) return;
  const caller = db.owner;
  const owns = caller.uid === Number(node.uid);
  const uidOk = uid === null || (owns && uid === Number(node.uid));
  const gidOk = gid === null || (owns && (gid === Number(node.gid) || gid === caller.gid));
  if (!uidOk || !gidOk) throw fsError('EPERM', syscall, path);
}

function applyOwner(db: Database, m: Mutation, node: NodeRow, [uid, gid]: [number | null, number | null]): void {
  let mode = Number(node.mode);
  if (node.type !== 'dir') {
    mode &= ~S_ISUID;
    if (mode & 0o010) mode &= ~S_ISGID;
  }
  db.run('UPDATE vfs_nodes SET uid = ?, gid = ?, mode = ?, ctime = ?, rev = ? WHERE inode = ?', [
    uid ?? Number(node.uid),
    gid ?? Number(node.gid),
    mode,
    m.now,
    m.rev,
    node.inode,
  ]);
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
    // Explicit times are the owner's to set (utimes with null, "now", is not offered here).
    requireOwner(db, node, 'utime', path);
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
