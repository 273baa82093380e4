/**
 * The kernel's permission rules for the calling identity ({@link Database.owner}), applied by the
 * engine when {@link Database.checkPermissions} is on (the vfs provider and the node:fs module turn
 * it on; the FUSE mount leaves it off, as its kernel checks under `default_permissions`). Root
 * (uid 0) is never checked here, so its calls cost nothing; anyone else gets the owner's bits of a
 * node it owns, the group's bits of a node of its group, the others' bits otherwise, as Linux
 * gives a caller with one group.
 *
 * @module
 */
import type { Database } from './database.ts';
import { fsError } from './errors.ts';
import type { NodeRow } from './nodes.ts';

/** Read permission (access(2)'s R_OK). */
export const R_OK = 4;
/** Write permission (W_OK). */
export const W_OK = 2;
/** Execute, or search for a directory (X_OK). */
export const X_OK = 1;

const S_ISVTX = 0o1000;

/** What a check reads of a node. */
export type Permissions = Pick<NodeRow, 'mode' | 'uid' | 'gid'>;

/** True when `db`'s caller is checked: checks are on and the caller is not root. */
export const checksCaller = (db: Database): boolean => db.checkPermissions && db.owner.uid !== 0;

/** True when a non-root caller of `db` may do `want` (R_OK | W_OK | X_OK) to `node`. */
export function ownerMay(db: Database, node: Permissions, want: number): boolean {
  const { uid, gid } = db.owner;
  const mode = Number(node.mode);
  const bits = uid === Number(node.uid) ? mode >> 6 : gid === Number(node.gid) ? mode >> 3 : mode;
  return (bits & 7 & want) === want;
}

/** EACCES unless the (checked) caller may do `want` to `node`. */
export function requireAccess(
  db: Database,
  node: Permissions,
  want: number,
  syscall: string,
  path: string,
  dest?: string,
): void {
  if (checksCaller(db) && !ownerMay(db, node, want)) throw fsError('EACCES', syscall, path, dest);
}

/**
 * The rule for adding or removing a name in `parent`: write and search permission on it (EACCES),
 * and in a sticky directory (mode 0o1000) only the owner of `entry` or of the directory may remove
 * or replace `entry` (EPERM), as Linux's `may_delete`.
 */
export function requireEntryChange(
  db: Database,
  parent: Permissions,
  entry: Permissions | undefined,
  syscall: string,
  path: string,
  dest?: string,
): void {
  if (!checksCaller(db)) return;
  if (!ownerMay(db, parent, W_OK | X_OK)) throw fsError('EACCES', syscall, path, dest);
  const uid = db.owner.uid;
  if (entry && Number(parent.mode) & S_ISVTX && uid !== Number(entry.uid) && uid !== Number(parent.uid)) {
    throw fsError('EPERM', syscall, path, dest);
  }
}

/**
 * Linux's `protected_hardlinks` (on by default): a caller may hard-link a node it owns, or a
 * regular file it may read and write that is neither set-user-ID nor executable set-group-ID; else EPERM.
 */
export function requireLinkable(
  db: Database,
  node: Permissions & Pick<NodeRow, 'type'>,
  path: string,
  dest: string,
): void {
  if (!checksCaller(db) || db.owner.uid === Number(node.uid)) return;
  const mode = Number(node.mode);
  const setId = mode & 0o4000 || (mode & 0o2010) === 0o2010;
  if (node.type !== 'file' || setId || !ownerMay(db, node, R_OK | W_OK)) throw fsError('EPERM', 'link', path, dest);
}

/** EPERM unless the (checked) caller owns `node`: chmod, utimes with explicit times, chgrp. */
export function requireOwner(db: Database, node: Permissions, syscall: string, path?: string): void {
  if (checksCaller(db) && db.owner.uid !== Number(node.uid)) throw fsError('EPERM', syscall, path);
}
