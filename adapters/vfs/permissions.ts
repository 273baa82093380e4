/**
 * `access` for the provider and the node:fs module. The caller is the `Database`'s current owner
 * (`db.owner`: the `owner` option, by default the process's uid and gid, 0 and 0 in workerd; or
 * whom `db.withOwner` names for one call), the same identity new nodes are given; the rules are the
 * kernel's (core/access.ts), which the engine itself applies to every call when
 * `db.checkPermissions` is on. Root (uid 0) may read and write anything, and execute what has an
 * execute bit anywhere (or is a directory).
 *
 * @module
 */
import { checksCaller, ownerMay, X_OK } from '../../core/access.ts';
import { type Database, fsError, type StatInfo } from '../../core/index.ts';

export { R_OK, W_OK, X_OK } from '../../core/access.ts';

type Checked = Pick<StatInfo, 'mode' | 'uid' | 'gid' | 'isDirectory'>;

/** True when the caller of `db` may do `want` (R_OK | W_OK | X_OK) to the node `info` describes. */
export function permits(db: Database, info: Checked, want: number): boolean {
  if (want === 0) return true;
  if (db.owner.uid === 0) return (want & X_OK) === 0 || info.isDirectory || (info.mode & 0o111) !== 0;
  return ownerMay(db, info, want);
}

/** Throws EACCES (`syscall`, `path`, `dest`) unless the caller of `db` may do `want` to `info`'s node. */
export function checkPermission(
  db: Database,
  info: Checked,
  want: number,
  syscall: string,
  path: string,
  dest?: string,
): void {
  if (!permits(db, info, want)) throw fsError('EACCES', syscall, path, dest);
}

/** True when calls on `db` check the caller (checks are on, the caller is not root): else skip the lookup. */
export const isChecked = (db: Database): boolean => checksCaller(db);
