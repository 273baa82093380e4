/**
 * Creating a node or a hard link by its directory's inode and a name: what a FUSE low-level
 * mount's create, mkdir, symlink and link ask. The kernel has resolved the paths already, so none
 * is walked (a path-level call walks each again inside its mutation); the row comes back, so the
 * reply needs no second read.
 *
 * @module
 */

import { checksCaller, requireAccess, requireEntryChange, requireLinkable, W_OK } from '../access.ts';
import type { Database } from '../database.ts';
import { fsError } from '../errors.ts';
import { mutate } from '../mutate.ts';
import { createNode, getNode, getWithPath, lookup, type NodeRow, type NodeType, touchDir } from '../nodes.ts';
import { childPath, MAX_NAME_BYTES, MAX_PATH_BYTES } from '../paths.ts';

/** What {@link createAt} makes. */
export interface CreateAtOptions {
  /** The node's type. */
  type: NodeType;
  /** The 12 permission bits (a new directory also inherits its parent's set-group-ID bit). */
  mode: number;
  /** A symlink's target, stored verbatim. */
  target?: string;
  /** A device's number (Linux's `makedev` encoding); 0 for anything else. */
  rdev?: number;
  /**
   * For a regular file: a taken name is EEXIST (`O_EXCL`). Without it an existing file is
   * returned as it is (open's `O_CREAT` alone); other types always answer EEXIST.
   */
  exclusive?: boolean;
}

/** What {@link createAt} did. */
export interface CreatedAt {
  /** The node's row: the new one, or the existing file a non-exclusive create found. */
  node: NodeRow;
  /** False when an existing file was found instead. */
  created: boolean;
  /** The node's path (for watchers and the caller's messages). */
  path: string;
}

const SYSCALL: Record<NodeType, string> = {
  file: 'open',
  dir: 'mkdir',
  symlink: 'symlink',
  fifo: 'mknod',
  socket: 'mknod',
  chardev: 'mknod',
  blockdev: 'mknod',
};

const encoder = new TextEncoder();

/**
 * Creates `name` in directory inode `parent`, owned by `db.owner` (inside a set-group-ID
 * directory, its group), in one mutation, as the path-level creators do at the end of their walk:
 * `open` with `O_CREAT`, `mkdir`, `symlink` and `mknod`. Errors: ENOENT when `parent` is gone;
 * ENOTDIR when it is not a directory; EEXIST for `.`, `..` or a taken name (a non-exclusive file
 * create returns an existing file instead, and answers EISDIR for a directory); ENAMETOOLONG for a
 * name over 255 bytes; EINVAL for an empty name or one holding `/` or NUL; permissions as the
 * path-level calls when `db.checkPermissions` is on. No umask is applied.
 */
export function createAt(db: Database, parent: number, name: string, options: CreateAtOptions): CreatedAt {
  const syscall = SYSCALL[options.type];
  checkName(name, syscall);
  const target = options.target ?? null;
  if (options.type === 'symlink') {
    if (target === null || target === '') throw fsError('ENOENT', syscall, name, undefined, 'empty target');
    if (target.includes('\0')) throw fsError('EINVAL', syscall, name, undefined, 'NUL byte in target');
    if (encoder.encode(target).length >= MAX_PATH_BYTES) throw fsError('ENAMETOOLONG', syscall, name);
  }
  const { dir, path } = directory(db, parent, name, syscall);
  return mutate(db, syscall, path, (m) => {
    const existing = lookup(db, parent, name);
    if (existing) {
      if (options.type !== 'file' || options.exclusive) throw fsError('EEXIST', syscall, path);
      // open(O_CREAT) of a name taken meanwhile (by another process or sync): what open finds there.
      if (existing.type === 'dir') throw fsError('EISDIR', syscall, path);
      if (existing.type !== 'file') throw fsError('EEXIST', syscall, path);
      requireAccess(db, existing, W_OK, syscall, path);
      return { node: existing, created: false, path };
    }
    requireEntryChange(db, dir, undefined, syscall, path);
    const device = options.type === 'chardev' || options.type === 'blockdev';
    // Devices take CAP_MKNOD, which only root has here.
    if (device && checksCaller(db)) throw fsError('EPERM', syscall, path);
    // The directory's row was read just before this mutation began, with nothing run in between.
    const node = createNode(db, m, dir, name, options.type, options.mode, target, 0, device ? (options.rdev ?? 0) : 0);
    m.note('rename', path);
    return { node, created: true, path };
  });
}

/**
 * Gives node `inode` one more name, `name` in directory inode `parent` (link(2)), in one
 * mutation, and returns its row as it is now (nlink and ctime moved). Errors: ENOENT when `inode`
 * has no name left (removed while open) or `parent` is gone, ENOTDIR when `parent` is not a
 * directory, EEXIST for a taken name or `.`/`..`, EPERM for a directory; names as
 * {@link createAt}; permissions as the path-level `link` when `db.checkPermissions` is on
 * (`protected_hardlinks` included).
 */
export function linkAt(db: Database, inode: number, parent: number, name: string): NodeRow {
  checkName(name, 'link');
  const source = getNode(db, inode);
  if (!source || Number(source.nlink) <= 0) throw fsError('ENOENT', 'link', name);
  const { dir, path } = directory(db, parent, name, 'link');
  return mutate(db, 'link', path, (m) => {
    // Linux's order: the new name must be free, and only then is a directory refused.
    if (lookup(db, parent, name)) throw fsError('EEXIST', 'link', path);
    requireEntryChange(db, dir, undefined, 'link', path);
    if (source.type === 'dir') throw fsError('EPERM', 'link', path, undefined, 'directories cannot be hard-linked');
    requireLinkable(db, source, path, path);
    db.run('INSERT INTO vfs_dirents (parent, name, child) VALUES (?, ?, ?)', [parent, name, inode]);
    db.run('UPDATE vfs_nodes SET nlink = nlink + 1, ctime = ?, rev = ? WHERE inode = ?', [m.now, m.rev, inode]);
    touchDir(db, m, parent);
    m.note('rename', path);
    return { ...source, nlink: Number(source.nlink) + 1, ctime: m.now, rev: m.rev };
  });
}

/** Refuses a name no entry may have (EINVAL, ENAMETOOLONG; EEXIST for `.` and `..`). */
export function checkName(name: string, syscall: string): void {
  if (typeof name !== 'string' || name === '' || name.includes('/') || name.includes('\0'))
    throw fsError('EINVAL', syscall, String(name), undefined, 'a name must be non-empty, without / or NUL');
  if (encoder.encode(name).length > MAX_NAME_BYTES)
    throw fsError('ENAMETOOLONG', syscall, name, undefined, `names are limited to ${MAX_NAME_BYTES} bytes`);
  if (name === '.' || name === '..') throw fsError('EEXIST', syscall, name);
}

/** Directory inode `parent` and the path `name` gets in it; ENOENT when it is gone, ENOTDIR when it is not one. */
function directory(db: Database, parent: number, name: string, syscall: string): { dir: NodeRow; path: string } {
  const { node: dir, path: dirPath } = getWithPath(db, parent);
  if (!dir || dirPath === undefined) throw fsError('ENOENT', syscall, name);
  const path = childPath(dirPath, name);
  if (dir.type !== 'dir') throw fsError('ENOTDIR', syscall, path);
  return { dir, path };
}
