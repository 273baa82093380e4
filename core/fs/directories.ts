/**
 * mkdir, rmdir, readdir.
 *
 * @module
 */

import { R_OK, requireAccess, requireEntryChange } from '../access.ts';
import { checkOffset } from '../data.ts';
import type { Database } from '../database.ts';
import { fsError, isFsError } from '../errors.ts';
import { mutate } from '../mutate.ts';
import {
  checkMode,
  createNode,
  DEFAULT_MODE,
  hasEntries,
  listDir,
  type NodeRow,
  type NodeType,
  unlinkEntry,
} from '../nodes.ts';
import { childPath, endsWithDot, endsWithSlash, joinPath, splitPath } from '../paths.ts';
import { type Location, locate, resolve } from '../resolve.ts';

/** Options for {@link mkdir}. */
export interface MkdirOptions {
  /** Create missing parents too, and succeed if the directory exists. */
  recursive?: boolean;
  /** Permission bits of created directories. Default 0o755. */
  mode?: number;
}

/**
 * Creates a directory. Returns the first directory created when `recursive` (undefined when
 * nothing was created), as node:fs does. `mkdir('/')` is EEXIST even when recursive.
 */
export function mkdir(db: Database, path: string, options: MkdirOptions | null = {}): string | undefined {
  options ??= {};
  const names = splitPath(path, 'mkdir');
  const mode = options.mode === undefined ? DEFAULT_MODE.dir : checkMode(options.mode, 'mkdir', path);
  if (names.length === 0) throw fsError('EEXIST', 'mkdir', path);
  // mkdir -p of a directory that exists (the common case: once per file of an import) changes
  // nothing: one path walk, no transaction. Anything else (missing, not a directory, an error on
  // the way) takes the full walk below, which decides.
  if (options.recursive && isDirectory(db, names, path)) return undefined;
  return mutate(db, 'mkdir', path, (m) => {
    if (!options.recursive) {
      const { parent, node, name, realPath } = locate(db, names, {
        follow: false,
        syscall: 'mkdir',
        display: path,
        dotted: endsWithDot(path),
      });
      if (node) throw fsError('EEXIST', 'mkdir', path);
      requireEntryChange(db, parent, undefined, 'mkdir', path);
      createNode(db, m, parent, name, 'dir', mode);
      m.note('rename', realPath);
      return undefined;
    }
    let first: string | undefined;
    // The directory created last: every level below it is new, so its parent needs no walk.
    let made: { node: NodeRow; realPath: string } | undefined;
    // The levels above the deepest existing one need no look of their own (a walk to it went through
    // them): a walk per level would make mkdir -p quadratic in the depth (2 s at 600 levels).
    const deepest = deepestExisting(db, names, path);
    for (let depth = deepest.from; depth <= names.length; depth++) {
      const prefix = names.slice(0, depth);
      const last = depth === names.length;
      const { parent, node, name, realPath } = made
        ? {
            parent: made.node,
            node: undefined,
            name: names[depth - 1],
            realPath: childPath(made.realPath, names[depth - 1]),
          }
        : last && deepest.whole
          ? deepest.whole // the bisection's first walk was this one
          : locate(db, prefix, { follow: false, syscall: 'mkdir', display: path });
      if (node) {
        // A symlink counts as what it points to; a dangling one is ENOENT (mkdir -p never creates a link's target).
        const target =
          node.type === 'symlink' ? locate(db, prefix, { follow: true, syscall: 'mkdir', display: path }).node : node;
        if (!target) throw fsError('ENOENT', 'mkdir', path);
        // 'file' exists; 'file/' asks for a directory where there is none.
        if (target.type !== 'dir') throw fsError(last && !endsWithSlash(path) ? 'EEXIST' : 'ENOTDIR', 'mkdir', path);
        continue;
      }
      requireEntryChange(db, parent, undefined, 'mkdir', path);
      made = { node: createNode(db, m, parent, name, 'dir', mode), realPath };
      m.note('rename', realPath);
      first ??= joinPath(prefix);
    }
    return first;
  });
}

/** The errors a walk gives because of the path, not the storage. */
const PATH_ANSWERS = ['ENOENT', 'ENOTDIR', 'ELOOP', 'EACCES'] as const;

/**
 * The first level mkdir -p must look at (`from`, 1-based): the deepest existing one, found by
 * bisection in a few walks. A walk that reaches level `d` passed every level above it, so the
 * answer is monotone; a walk the path itself stops (ENOENT, ENOTDIR, ELOOP, EACCES) counts as not
 * reaching, and mkdir's own walk at the next level gives that error. When the walk of the whole
 * path reaches its parent (the common case), it is `whole`, for mkdir to use instead of walking
 * the path again, and `from` is the last level: the walk went through the parent as a directory.
 */
function deepestExisting(db: Database, names: readonly string[], path: string): { from: number; whole?: Location } {
  const walk = (depth: number) => {
    try {
      return locate(db, names.slice(0, depth), { follow: false, syscall: 'mkdir', display: path });
    } catch (error) {
      // Storage failures propagate; the path's own answers are for mkdir's walk to give.
      if (PATH_ANSWERS.some((code) => isFsError(error, code))) return undefined;
      throw error;
    }
  };
  // The common case in one walk: the parent exists (mkdir -p one level below a tree, or of one that exists).
  const whole = walk(names.length);
  if (whole) return { from: names.length, whole };
  let low = 0; // reaches: the root always does
  let high = names.length - 2; // short of the parent, which does not reach (or there is none)
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (walk(mid)?.node) low = mid;
    else high = mid - 1;
  }
  return { from: Math.max(1, low) };
}

/** True when `names` resolves to a directory; false when a name on the way is missing or not one. */
function isDirectory(db: Database, names: readonly string[], path: string): boolean {
  try {
    return locate(db, names, { follow: true, syscall: 'mkdir', display: path }).node?.type === 'dir';
  } catch (error) {
    // Storage failures propagate; the path's own answers are for the full walk to give.
    if (isFsError(error, 'ENOENT') || isFsError(error, 'ENOTDIR') || isFsError(error, 'ELOOP')) return false;
    throw error;
  }
}

/** Removes an empty directory. A symlink in the final position is ENOTDIR; the root is EBUSY. */
export function rmdir(db: Database, path: string): void {
  const names = splitPath(path, 'rmdir');
  if (names.length === 0) throw fsError('EBUSY', 'rmdir', path);
  mutate(db, 'rmdir', path, (m) => {
    // A trailing slash changes nothing: the entry itself must be a directory (a symlink is ENOTDIR).
    const { parent, node, name, realPath } = resolve(db, path, { follow: false, syscall: 'rmdir', slash: 'entry' });
    requireEntryChange(db, parent, node, 'rmdir', path);
    if (node.type !== 'dir') throw fsError('ENOTDIR', 'rmdir', path);
    if (endsWithDot(path)) throw fsError('EINVAL', 'rmdir', path);
    if (hasEntries(db, node.inode)) throw fsError('ENOTEMPTY', 'rmdir', path);
    unlinkEntry(db, m, parent.inode, name, node);
    m.tombstone(realPath);
    m.note('rename', realPath);
  });
}

/** One directory entry. */
export interface DirEntry {
  /** The entry's name. */
  name: string;
  /** `file`, `dir`, `symlink` (reported as such, not followed), `fifo`, `socket`, `chardev` or `blockdev`. */
  type: NodeType;
  /** The inode the entry links to. */
  ino: number;
  /** The entry's absolute path. */
  path: string;
}

/** Options for {@link readdir}. */
export interface ReaddirOptions {
  /** At most this many entries. */
  limit?: number;
  /** Skip this many entries first. Pages are stable: entries come in byte order of names. */
  offset?: number;
  /**
   * Only entries whose names come after this one in byte order (it need not exist): the next page
   * of a listing is `{ after: <last name of this page> }`. Unlike `offset`, the entries before it are
   * not read at all, so paging through a directory reads each entry once. `offset` counts from here.
   */
  after?: string;
}

/** Lists a directory (following symlinks to it), in byte order of names, paged. */
export function readdir(db: Database, path: string, options: ReaddirOptions | null = {}): DirEntry[] {
  options ??= {};
  const limit = options.limit === undefined ? -1 : checkOffset(options.limit, 'limit', 'scandir', path);
  const offset = options.offset === undefined ? 0 : checkOffset(options.offset, 'offset', 'scandir', path);
  const after = options.after;
  if (after !== undefined && typeof after !== 'string') {
    throw fsError('EINVAL', 'scandir', path, undefined, `after must be a string (a name), got ${typeof after}`);
  }
  const { node, realPath } = resolve(db, path, { follow: true, syscall: 'scandir' });
  if (node.type !== 'dir') throw fsError('ENOTDIR', 'scandir', path);
  requireAccess(db, node, R_OK, 'scandir', path);
  return listDir(db, node.inode, limit, offset, after).map((entry) => ({
    name: entry.name,
    type: entry.type,
    ino: Number(entry.inode),
    path: childPath(realPath, entry.name),
  }));
}
