/**
 * Removing a name by its directory's inode: what a FUSE low-level mount's unlink and rmdir ask.
 * The kernel has resolved the path already, so none is walked: one statement finds the entry's
 * node and the directory's path (the tombstone sync needs names the removed path), where the
 * path-level calls read the directory's path and then walk it again (two statements, three when
 * an open file must be looked for).
 *
 * @module
 */

import { checksCaller, requireEntryChange } from '../access.ts';
import type { Database } from '../database.ts';
import { fsError } from '../errors.ts';
import { keepOpenFiles, pinnedInodes } from '../handles.ts';
import { mutate } from '../mutate.ts';
import { getNode, hasEntries, NODE_COLUMNS, type NodeRow, UP_TO_ROOT, unlinkEntry } from '../nodes.ts';
import { childPath } from '../paths.ts';
import { ROOT_INODE } from '../schema.ts';
import { checkName } from './create-at.ts';

// The entry's node and its directory's path (UP_TO_ROOT from the directory). A directory no entry
// leads to from the root (removed while open, or in the attic) has no path: NULL.
const ENTRY_AND_DIRECTORY = `${UP_TO_ROOT}
SELECT ${NODE_COLUMNS}, (SELECT path FROM up WHERE inode = ${ROOT_INODE} LIMIT 1) AS dir_path
FROM vfs_dirents e JOIN vfs_nodes n ON n.inode = e.child WHERE e.parent = ? AND e.name = ?`;

/**
 * Removes the entry `name` of directory inode `parent` (unlink(2) of a file, symlink or special
 * file) in one mutation, leaving the tombstone the path-level `unlink` leaves, and returns the
 * node's row as it was. A file still open (pinned) stays readable through its inode until its
 * last close, as with `unlink`. Errors: ENOENT when the name or the directory is gone; EISDIR for
 * a directory, `.` or `..`; names as {@link createAt} (EINVAL, ENAMETOOLONG); permissions as
 * `unlink` when `db.checkPermissions` is on (write and search on the directory, its sticky bit).
 */
export function unlinkAt(db: Database, parent: number, name: string): NodeRow {
  return removeAt(db, parent, name, 'unlink');
}

/**
 * Removes the empty directory `name` of directory inode `parent` (rmdir(2)) in one mutation, as
 * the path-level `rmdir` does, and returns its row as it was. Errors: ENOENT when the name or the
 * directory is gone; ENOTDIR for anything but a directory; ENOTEMPTY when it has entries (and for
 * `..`); EINVAL for `.`; names and permissions as {@link unlinkAt}.
 */
export function rmdirAt(db: Database, parent: number, name: string): NodeRow {
  return removeAt(db, parent, name, 'rmdir');
}

function removeAt(db: Database, parent: number, name: string, syscall: 'unlink' | 'rmdir'): NodeRow {
  // Linux's answers for the dot names: unlink refuses a directory, rmdir its own `.` as invalid
  // and `..` as not empty.
  if (name === '.' || name === '..') {
    throw fsError(syscall === 'unlink' ? 'EISDIR' : name === '.' ? 'EINVAL' : 'ENOTEMPTY', syscall, name);
  }
  checkName(name, syscall);
  return mutate(db, syscall, undefined, (m) => {
    const found = db.all<NodeRow & { dir_path: string | null }>(ENTRY_AND_DIRECTORY, [parent, parent, name])[0];
    if (!found || found.dir_path === null) {
      // No such entry: a parent that is not a directory says so, as a path through a file would.
      const dir = getNode(db, parent);
      throw fsError(dir && dir.type !== 'dir' ? 'ENOTDIR' : 'ENOENT', syscall, name);
    }
    const { dir_path, ...node } = found;
    const path = childPath(dir_path || '/', name);
    // The directory's row only when a caller is checked (the mount's kernel checks for itself).
    if (checksCaller(db)) requireEntryChange(db, getNode(db, parent) as NodeRow, node, syscall, path);
    if (syscall === 'unlink' && node.type === 'dir') throw fsError('EISDIR', syscall, path);
    if (syscall === 'rmdir') {
      if (node.type !== 'dir') throw fsError('ENOTDIR', syscall, path);
      if (hasEntries(db, Number(node.inode))) throw fsError('ENOTEMPTY', syscall, path);
    }
    const remove = (row: NodeRow): void => {
      unlinkEntry(db, m, parent, name, row);
      m.tombstone(path);
      m.note('rename', path);
    };
    // An open node outlives its last name (see keepOpenFiles: its row is read again once it holds
    // the lent link); only then is the lending paid for.
    const inode = Number(node.inode);
    if (pinnedInodes(db).includes(inode)) keepOpenFiles(db, syscall, path, () => remove(getNode(db, inode) as NodeRow));
    else remove(node);
    return node;
  });
}
