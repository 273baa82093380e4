/**
 * The permission model of the provider and the node:fs module: the kernel's, for one calling
 * identity. The caller is the `Database`'s current owner (`db.owner`: the `owner` option, by default
 * the process's uid and gid, 0 and 0 in workerd; or whom `db.withOwner` names for one call, as the
 * mount does for each request), the same identity new nodes are given. Root (uid 0) may read and
 * write anything, and execute what has an execute bit anywhere (or is a directory); anyone else
 * gets the owner's bits of a node it owns, the group's bits of a node of its group, the others'
 * bits otherwise. Checked on `access`, and on opening and reading or writing an existing file by
 * path (open, readFile, writeFile, appendFile, truncate, copyFile's source).
 *
 * @module
 */
import { type Database, fsError, type StatInfo } from '../../core/index.ts';

/** access(2)'s mode bits. */
export const R_OK = 4;
/** Write permission. */
export const W_OK = 2;
/** Execute (or search) permission. */
export const X_OK = 1;

/** True when the caller of `db` may do `want` (R_OK | W_OK | X_OK) to the node `info` describes. */
export function permits(
  db: Database,
  info: Pick<StatInfo, 'mode' | 'uid' | 'gid' | 'isDirectory'>,
  want: number,
): boolean {
  if (want === 0) return true;
  const { uid, gid } = db.owner;
  if (uid === 0) return (want & X_OK) === 0 || info.isDirectory || (info.mode & 0o111) !== 0;
  const bits = uid === info.uid ? info.mode >> 6 : gid === info.gid ? info.mode >> 3 : info.mode;
  return (bits & 7 & want) === want;
}

/** Throws EACCES (`syscall`, `path`, `dest`) unless the caller of `db` may do `want` to `info`'s node. */
export function checkPermission(
  db: Database,
  info: Pick<StatInfo, 'mode' | 'uid' | 'gid' | 'isDirectory'>,
  want: number,
  syscall: string,
  path: string,
  dest?: string,
): void {
  if (!permits(db, info, want)) throw fsError('EACCES', syscall, path, dest);
}

/** True when the caller of `db` is root, whom only X_OK can refuse: callers skip the lookup. */
export const isRoot = (db: Database): boolean => db.owner.uid === 0;
