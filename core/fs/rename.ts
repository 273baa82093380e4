/**
 * rename, with POSIX overwrite rules, atomic, whole subtree in a fixed number of statements and
 * change rows.
 *
 * @module
 */

import { requireAccess, requireEntryChange, W_OK } from '../access.ts';
import type { Database } from '../database.ts';
import { fsError, withPaths } from '../errors.ts';
import { mutate } from '../mutate.ts';
import { hasEntries, touchDir, unlinkEntry } from '../nodes.ts';
import { endsWithDot, endsWithSlash, isSameOrBelow, splitPath } from '../paths.ts';
import { checkMoveDepth } from '../quotas.ts';
import { locate } from '../resolve.ts';
import { restampSubtree, tombstoneSubtree } from '../subtree.ts';

/**
 * Moves `from` to `to`. A file may replace a file or symlink; a directory may replace an empty
 * directory. The moved node keeps its inode. Moving a directory below itself is EINVAL; renaming
 * the root is EBUSY; trailing symlinks are renamed, not followed. A path ending in a slash names a
 * directory: unless the source is one, either path ending so is ENOTDIR.
 */
export function rename(db: Database, from: string, to: string): void {
  withPaths('rename', from, to, () => renameUnchecked(db, from, to));
}

/** How sync records a rename it makes (see {@link recordedRename}). */
export interface RenameRecord {
  /** The peer the move is replayed from: the move is its, not sent back to it. */
  peer?: string;
  /** Record a directory's move as state (a deletion of every old path, the subtree restamped). */
  asState?: boolean;
}

/**
 * {@link rename} as sync makes it: a directory move replayed from a peer, or a local version moved
 * aside, which must travel as state (the peer holds the winning version at the old path).
 */
export function recordedRename(db: Database, from: string, to: string, record: RenameRecord): void {
  withPaths('rename', from, to, () => renameUnchecked(db, from, to, record));
}

function renameUnchecked(db: Database, from: string, to: string, record: RenameRecord = {}): void {
  const fromNames = splitPath(from, 'rename');
  const toNames = splitPath(to, 'rename');
  mutate(db, 'rename', from, (m) => {
    // Linux's order: both parents are looked up, then the root is refused, then the source must exist.
    const source = locate(db, fromNames, {
      follow: false,
      syscall: 'rename',
      display: from,
      trailingSlash: endsWithSlash(from),
      dotted: endsWithDot(from),
      slash: 'entry',
    });
    const target = locate(db, toNames, {
      follow: false,
      syscall: 'rename',
      display: to,
      trailingSlash: endsWithSlash(to),
      dotted: endsWithDot(to),
      slash: 'entry',
    });
    // The root, or a '.' name (the directory itself, not an entry in one), cannot move or be replaced.
    if (fromNames.length === 0 || toNames.length === 0 || endsWithDot(from) || endsWithDot(to))
      throw fsError('EBUSY', 'rename', from, to);
    if (!source.node) throw fsError('ENOENT', 'rename', from, to);
    const moving = source.node;
    requireEntryChange(db, source.parent, moving, 'rename', from, to);
    requireEntryChange(db, target.parent, target.node, 'rename', from, to);
    // A directory moving to another parent has its '..' rewritten: it must be writable itself.
    if (moving.type === 'dir' && target.parent.inode !== source.parent.inode)
      requireAccess(db, moving, W_OK, 'rename', from, to);
    // Unless the source is a directory, a trailing slash on either path is ENOTDIR (symlinks are not followed).
    if (moving.type !== 'dir' && (source.trailingSlash || target.trailingSlash))
      throw fsError('ENOTDIR', 'rename', from, to);
    if (target.node?.inode === moving.inode) return;
    const isDir = moving.type === 'dir';
    if (isDir && isSameOrBelow(target.realPath, source.realPath)) {
      throw fsError('EINVAL', 'rename', from, to, 'cannot move a directory into itself');
    }
    if (target.node?.type === 'dir' && isSameOrBelow(source.realPath, target.realPath)) {
      // The target is an ancestor of the source, so it holds at least the source.
      throw fsError('ENOTEMPTY', 'rename', from, to);
    }
    if (target.node) {
      if (isDir && target.node.type !== 'dir') throw fsError('ENOTDIR', 'rename', from, to);
      if (!isDir && target.node.type === 'dir') throw fsError('EISDIR', 'rename', from, to);
      if (target.node.type === 'dir' && hasEntries(db, target.node.inode))
        throw fsError('ENOTEMPTY', 'rename', from, to);
      unlinkEntry(db, m, target.parent.inode, target.name, target.node);
    }
    if (target.parent.inode !== source.parent.inode) checkMoveDepth(db, target.parent.inode, moving.inode, to);
    // A directory's move is one row, its subtree keeping its revisions (the change stream names each
    // node by its path as of its revision, sync/changes.ts). A file or link moves as a deletion and
    // its state at the new name.
    const asMove = isDir && !record.asState;
    if (asMove) m.move(source.realPath, target.realPath, moving.inode, record.peer);
    else tombstoneSubtree(db, m, moving.inode, source.realPath);
    db.run('UPDATE vfs_dirents SET parent = ?, name = ? WHERE parent = ? AND name = ?', [
      target.parent.inode,
      target.name,
      source.parent.inode,
      source.name,
    ]);
    touchDir(db, m, source.parent.inode, isDir ? -1 : 0);
    touchDir(db, m, target.parent.inode, isDir ? 1 : 0);
    db.run('UPDATE vfs_nodes SET ctime = ? WHERE inode = ?', [m.now, moving.inode]);
    if (!asMove) restampSubtree(db, m, moving.inode);
    m.note('rename', source.realPath);
    m.note('rename', target.realPath);
  });
}
