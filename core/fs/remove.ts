/**
 * unlink and rm.
 *
 * @module
 */

import { checksCaller, R_OK, requireAccess, requireEntryChange, W_OK, X_OK } from '../access.ts';
import { detachSubtree, shouldDetach } from '../attic.ts';
import type { Database } from '../database.ts';
import { fsError, isFsError } from '../errors.ts';
import { mutate } from '../mutate.ts';
import { touchDir, unlinkEntry } from '../nodes.ts';
import { endsWithDot, endsWithSlash, splitPath } from '../paths.ts';
import { locate, resolve } from '../resolve.ts';
import { deleteSubtree, subtreeDirectories, tombstoneSubtree } from '../subtree.ts';

/**
 * Removes a name (a file or symlink; a trailing symlink is removed, not followed). Directories are
 * EISDIR; a path ending in a slash is ENOTDIR for anything else (a symlink to a directory included).
 */
export function unlink(db: Database, path: string): void {
  splitPath(path, 'unlink');
  mutate(db, 'unlink', path, (m) => {
    const location = resolve(db, path, { follow: false, syscall: 'unlink', slash: 'entry' });
    const { parent, name, node, realPath } = location;
    requireEntryChange(db, parent, node, 'unlink', path);
    if (node.type === 'dir') throw fsError('EISDIR', 'unlink', path);
    if (location.trailingSlash) throw fsError('ENOTDIR', 'unlink', path);
    unlinkEntry(db, m, parent.inode, name, node);
    m.tombstone(realPath);
    m.note('rename', realPath);
  });
}

/** Options for {@link rm}. */
export interface RmOptions {
  /** Remove directories and everything below them. */
  recursive?: boolean;
  /** A missing path is not an error. */
  force?: boolean;
}

/**
 * Removes a file, symlink or (with `recursive`) a whole directory tree in one transaction and a
 * fixed number of statements, leaving one tombstone per removed path. `rm('/')` is EPERM. A path
 * ending in a slash must name a directory: anything else is ENOTDIR (even with `force`), and a
 * symlink to a directory is refused and removes nothing (EISDIR; ENOTDIR with `recursive`).
 */
export function rm(db: Database, path: string, options: RmOptions | null = {}): void {
  options ??= {};
  const names = splitPath(path, 'rm');
  if (names.length === 0) throw fsError('EPERM', 'rm', path, undefined, 'refusing to remove the root');
  mutate(db, 'rm', path, (m) => {
    const trailingSlash = endsWithSlash(path);
    let location: ReturnType<typeof locate>;
    try {
      location = locate(db, names, {
        follow: false,
        syscall: 'rm',
        display: path,
        trailingSlash,
        dotted: endsWithDot(path),
        slash: 'entry',
      });
    } catch (error) {
      // With force, a path that cannot exist (missing or non-directory parent) is simply absent.
      if (options.force && (isFsError(error, 'ENOENT') || isFsError(error, 'ENOTDIR'))) return;
      // Node's rm looks the path up with lstat first: a directory it may not search fails there.
      if (isFsError(error, 'EACCES')) throw fsError('EACCES', 'lstat', path);
      throw error;
    }
    const { parent, name, node, realPath } = location;
    if (!node) {
      if (options.force) return;
      throw fsError('ENOENT', 'rm', path);
    }
    if (trailingSlash && node.type !== 'dir') {
      // What the slash names: a symlink's target (a dangling one is missing), which must be a directory.
      let target: ReturnType<typeof locate>['node'];
      try {
        target = locate(db, path, { follow: true, syscall: 'rm' }).node;
      } catch (error) {
        if (options.force && isFsError(error, 'ENOENT')) return;
        throw error;
      }
      if (!target) {
        if (options.force) return;
        throw fsError('ENOENT', 'rm', path);
      }
      // A symlink to a directory: the link cannot be removed as a directory, and its target is not what was named.
      throw fsError(options.recursive ? 'ENOTDIR' : 'EISDIR', 'rm', path);
    }
    requireEntryChange(db, parent, node, 'rm', path);
    if (node.type !== 'dir') {
      unlinkEntry(db, m, parent.inode, name, node);
      m.tombstone(realPath);
    } else {
      if (!options.recursive) throw fsError('EISDIR', 'rm', path, undefined, 'pass recursive to remove a directory');
      // 'd/.' is the directory itself, not an entry: its rmdir would be EINVAL, so nothing is removed.
      if (endsWithDot(path)) throw fsError('EINVAL', 'rm', path);
      // Emptying each directory below takes reading, searching and writing it, as rm -r's own calls
      // would; one already empty is only read (nothing in it is looked up or removed).
      if (checksCaller(db)) {
        for (const dir of subtreeDirectories(db, node.inode))
          requireAccess(db, dir, dir.empty ? R_OK : R_OK | W_OK | X_OK, 'rm', path);
      }
      tombstoneSubtree(db, m, node.inode, realPath);
      // A tree a snapshot sees moves aside whole rather than being copied into history row by row.
      if (shouldDetach(db, node.inode)) {
        detachSubtree(db, m, parent.inode, name, node.inode);
      } else {
        db.run('DELETE FROM vfs_dirents WHERE parent = ? AND name = ?', [parent.inode, name]);
        touchDir(db, m, parent.inode, -1);
        deleteSubtree(db, m, node.inode);
      }
    }
    m.note('rename', realPath);
  });
}
