/**
 * symlink, readlink, link, realpath.
 *
 * @module
 */

import { requireEntryChange, requireLinkable } from '../access.ts';
import type { Database } from '../database.ts';
import { fsError, withPaths } from '../errors.ts';
import { mutate } from '../mutate.ts';
import { createNode, DEFAULT_MODE, touchDir } from '../nodes.ts';
import { MAX_PATH_BYTES, splitPath } from '../paths.ts';
import { locate, resolve } from '../resolve.ts';

/**
 * Creates a symlink at `path` whose target is stored verbatim (relative targets resolve from the
 * link's directory; it may dangle). A taken name is EEXIST; a free one ending in a slash, ENOENT.
 */
export function symlink(db: Database, target: string, path: string): void {
  withPaths('symlink', target, path, () => symlinkUnchecked(db, target, path));
}

function symlinkUnchecked(db: Database, target: string, path: string): void {
  splitPath(path, 'symlink');
  if (typeof target !== 'string' || target.length === 0)
    throw fsError('ENOENT', 'symlink', String(target), path, 'empty target');
  if (target.includes('\0'))
    throw fsError('EINVAL', 'symlink', target.replaceAll('\0', '\\0'), path, 'NUL byte in target');
  if (new TextEncoder().encode(target).length >= MAX_PATH_BYTES)
    throw fsError('ENAMETOOLONG', 'symlink', target.slice(0, 64), path);
  mutate(db, 'symlink', path, (m) => {
    const location = locate(db, path, { follow: false, syscall: 'symlink', slash: 'entry' });
    if (location.node) throw fsError('EEXIST', 'symlink', target, path);
    // A free name ending in a slash asks for a directory, which symlink does not make.
    if (location.trailingSlash) throw fsError('ENOENT', 'symlink', target, path);
    requireEntryChange(db, location.parent, undefined, 'symlink', target, path);
    createNode(db, m, location.parent, location.name, 'symlink', DEFAULT_MODE.symlink, target);
    m.note('rename', location.realPath);
  });
}

/** The target of the symlink at `path`, verbatim. EINVAL if it is not a symlink. */
export function readlink(db: Database, path: string): string {
  const { node } = resolve(db, path, { follow: false, syscall: 'readlink' });
  if (node.type !== 'symlink') throw fsError('EINVAL', 'readlink', path, undefined, 'not a symbolic link');
  return node.link_target ?? '';
}

/**
 * Creates a hard link `path` to the node at `existing` (not following a trailing symlink, unless
 * `existing` ends in a slash). Directories are EPERM; a free `path` ending in a slash is ENOENT.
 */
export function link(db: Database, existing: string, path: string): void {
  withPaths('link', existing, path, () => linkUnchecked(db, existing, path));
}

function linkUnchecked(db: Database, existing: string, path: string): void {
  splitPath(existing, 'link');
  splitPath(path, 'link');
  mutate(db, 'link', path, (m) => {
    // Linux's order: the source must exist, the new name must be free, and only then is a directory refused.
    const { node } = resolve(db, existing, { follow: false, syscall: 'link', display: existing });
    const location = locate(db, path, { follow: false, syscall: 'link', display: path, slash: 'entry' });
    if (location.node) throw fsError('EEXIST', 'link', existing, path);
    if (location.trailingSlash) throw fsError('ENOENT', 'link', existing, path);
    requireEntryChange(db, location.parent, undefined, 'link', existing, path);
    if (node.type === 'dir') throw fsError('EPERM', 'link', existing, path, 'directories cannot be hard-linked');
    requireLinkable(db, node, existing, path);
    db.run('INSERT INTO vfs_dirents (parent, name, child) VALUES (?, ?, ?)', [
      location.parent.inode,
      location.name,
      node.inode,
    ]);
    db.run('UPDATE vfs_nodes SET nlink = nlink + 1, ctime = ?, rev = ? WHERE inode = ?', [m.now, m.rev, node.inode]);
    touchDir(db, m, location.parent.inode);
    m.note('rename', location.realPath);
  });
}

/** The canonical absolute path of `path`, with every symlink resolved. */
export function realpath(db: Database, path: string): string {
  return resolve(db, path, { follow: true, syscall: 'realpath' }).realPath;
}
