/**
 * Path resolution: from an absolute path to the inode it names, following symlinks.
 *
 * @module
 */
import { checksCaller, ownerMay, X_OK } from './access.ts';
import type { Database } from './database.ts';
import { fsError } from './errors.ts';
import { getNode, lookupPath, MAX_WALK_NAMES, type NodeRow, walkToEntry } from './nodes.ts';
import { endsWithDot, endsWithSlash, joinPath, splitPath } from './paths.ts';
import { ROOT_INODE } from './schema.ts';

/** Symlinks followed in one resolution before ELOOP (Linux's limit). */
export const MAX_SYMLINK_FOLLOWS = 40;

/** Where a path lands: its parent directory, its final name, and the node there if any. */
export interface Location {
  /** The directory holding the final name; the root for the root itself. */
  parent: NodeRow;
  /** The final name (empty for the root). */
  name: string;
  /** The node found, or undefined when the final name does not exist (its parent does). */
  node: NodeRow | undefined;
  /** The resolved path, with every followed symlink replaced by its target. */
  realPath: string;
  /** The path ended in a slash: it can only name a directory. */
  trailingSlash: boolean;
}

/** Options for {@link locate}. */
export interface LocateOptions {
  /** Follow a symlink in the final position (stat, open) or not (lstat, unlink, rename). */
  follow: boolean;
  /** The syscall named in errors. */
  syscall: string;
  /** The path named in errors, when it differs from the one being resolved. */
  display?: string;
  /** The path ended in a slash; needed when `path` is given as a list of names (a string says it itself). */
  trailingSlash?: boolean;
  /** The path ended in a `.` name ({@link endsWithDot}); needed when `path` is given as a list of names. */
  dotted?: boolean;
  /**
   * What a trailing slash does. `'follow'` (the default; lookups such as stat, open, readlink): a
   * final symlink is followed and the result must be a directory, else ENOTDIR. `'entry'` (unlink,
   * rmdir, rename, creators): the final entry itself is found, not followed, and the caller applies
   * its own rule, reading {@link Location.trailingSlash}.
   */
  slash?: 'follow' | 'entry';
}

function rootNode(db: Database): NodeRow {
  const root = getNode(db, ROOT_INODE);
  if (!root && db.snapshot) {
    throw fsError('ENOENT', 'open', '/', undefined, `snapshot ${JSON.stringify(db.snapshot.name)} was deleted`);
  }
  if (!root) throw fsError('EIO', 'open', '/', undefined, 'the workspace has no root; run fsck');
  return root;
}

/**
 * Resolves `path` to its parent directory and final node. Intermediate symlinks are always
 * followed; a missing or non-directory intermediate is ENOENT or ENOTDIR; a missing final name
 * is not an error (its `node` is undefined), so callers can create it.
 */
export function locate(db: Database, path: string | readonly string[], options: LocateOptions): Location {
  const isList = Array.isArray(path);
  const display = options.display ?? (isList ? joinPath(path as readonly string[]) : (path as string));
  // Anything but a list of names goes through splitPath, which refuses what is not a valid path.
  const queue = isList ? [...(path as readonly string[])] : splitPath(path, options.syscall);
  // A trailing slash ('/a/') means the name must be a directory, and symlinks to one are followed.
  const trailingSlash = options.trailingSlash ?? endsWithSlash(path);
  // A final '.' is no entry of its own: the directory before it is looked up, whatever the caller.
  const dotted = options.dotted ?? (!isList && endsWithDot(path));
  const checkSlash = (trailingSlash && options.slash !== 'entry') || dotted;
  const follow = options.follow || checkSlash;
  // The common case in one statement returning two rows: a path of plain names, walked by a caller
  // nobody checks, ending anywhere but on a symlink to follow. Everything else takes the walk below.
  // A checked caller needs search permission on every directory it looks a name up in (root: none).
  const searching = checksCaller(db);
  if (!trailingSlash && !dotted && !db.snapshot && queue.length >= 2 && isPlain(queue) && !searching) {
    const found = walkToEntry(db, queue);
    if (found === 'missing') throw fsError('ENOENT', options.syscall, display);
    if (found && !(found.node?.type === 'symlink' && follow)) {
      const name = queue[queue.length - 1];
      return { parent: found.parent, name, node: found.node, realPath: joinPath(queue), trailingSlash };
    }
  }
  if (queue.length === 0) {
    const root = rootNode(db);
    // '/.' looks '.' up in the root, as any final '.' in its directory (below).
    if (dotted && searching && !ownerMay(db, root, X_OK)) throw fsError('EACCES', options.syscall, display);
    return { parent: root, name: '', node: root, realPath: '/', trailingSlash };
  }
  // The directories walked so far: stack[0] is the root, the last is the current directory. The
  // root's row is read only if it is returned (a lookup needs its inode only): one statement less per path.
  const rootStub = { inode: ROOT_INODE, type: 'dir' } as NodeRow;
  let rootRow: NodeRow | undefined;
  const row = (node: NodeRow): NodeRow => {
    if (node !== rootStub) return node;
    rootRow ??= rootNode(db);
    return rootRow;
  };
  const stack: NodeRow[] = [rootStub];
  const search = (dir: NodeRow): void => {
    if (searching && !ownerMay(db, row(dir), X_OK)) throw fsError('EACCES', options.syscall, display);
  };
  const names: string[] = [];
  let follows = 0;
  let position = 0;
  // The nodes of queue[walkedFrom ..] found by one lookupPath over walkedLength names (a missing
  // name ends it); dropped when a symlink rewrites the queue.
  let walked: NodeRow[] | undefined;
  let walkedFrom = 0;
  let walkedLength = 0;

  while (position < queue.length) {
    const name = queue[position++];
    const dir = stack[stack.length - 1];
    if (name === '') continue;
    // The kernel looks '.' and '..' up like any name: in a directory the caller may search.
    search(dir);
    if (name === '.') continue;
    if (name === '..') {
      // Only symlink targets bring '..' here (user paths are normalised); at the root it stays.
      if (stack.length > 1) {
        stack.pop();
        names.pop();
      }
      continue;
    }
    const last = position === queue.length;
    search(dir);
    // One statement walks the run of plain names ahead; the steps after it use what it found.
    if (walked === undefined || position - 1 >= walkedFrom + walkedLength) {
      walkedFrom = position - 1;
      walkedLength = plainRun(queue, walkedFrom);
      walked = lookupPath(db, dir.inode, queue.slice(walkedFrom, walkedFrom + walkedLength));
    }
    const node: NodeRow | undefined = walked[position - 1 - walkedFrom];
    if (!node) {
      if (last && !dotted)
        return { parent: row(dir), name, node: undefined, realPath: joinPath([...names, name]), trailingSlash };
      throw fsError('ENOENT', options.syscall, display);
    }
    if (node.type === 'symlink' && (!last || follow)) {
      if (++follows > MAX_SYMLINK_FOLLOWS) throw fsError('ELOOP', options.syscall, display);
      const target = node.link_target ?? '';
      if (target === '') throw fsError('ENOENT', options.syscall, display);
      if (target.startsWith('/')) {
        stack.length = 1;
        names.length = 0;
      }
      queue.splice(0, position, ...target.split('/'));
      position = 0;
      walked = undefined;
      continue;
    }
    if (last) {
      if (checkSlash && node.type !== 'dir') throw fsError('ENOTDIR', options.syscall, display);
      // A final '.' is a lookup in the directory itself (stat('d/.') needs search on d; 'd/' does not).
      if (dotted) search(node);
      return { parent: row(dir), name, node, realPath: joinPath([...names, name]), trailingSlash };
    }
    if (node.type !== 'dir') throw fsError('ENOTDIR', options.syscall, display);
    stack.push(node);
    names.push(name);
  }
  // The path ended on '.' or '..' segments from a symlink target: it names a directory we hold.
  const node = row(stack[stack.length - 1]);
  const parent = stack.length > 1 ? row(stack[stack.length - 2]) : node;
  return { parent, name: names[names.length - 1] ?? '', node, realPath: joinPath(names), trailingSlash };
}

/** True when every name is an entry name (no '.', '..' or '') and one statement can walk them all. */
function isPlain(queue: readonly string[]): boolean {
  return plainRun(queue, 0) === queue.length;
}

/** How many names from `start` can be walked in one statement: plain names, no '.', '..' or ''. */
function plainRun(queue: readonly string[], start: number): number {
  let end = start;
  while (end < queue.length && end - start < MAX_WALK_NAMES && !['.', '..', ''].includes(queue[end])) end++;
  return end - start;
}

/** Resolves `path` to an existing node, or throws ENOENT. */
export function resolve(db: Database, path: string, options: LocateOptions): Location & { node: NodeRow } {
  const location = locate(db, path, options);
  if (!location.node) throw fsError('ENOENT', options.syscall, options.display ?? path);
  return location as Location & { node: NodeRow };
}

/**
 * The absolute paths at which an inode is linked (several for hard links), each walking up to the
 * root. An inode cut off from the root (which fsck reports) has none.
 */
export function pathsOf(db: Database, inode: number, visiting: ReadonlySet<number> = new Set()): string[] {
  if (inode === ROOT_INODE) return ['/'];
  if (visiting.has(inode)) return [];
  const entries = db.all<{ parent: number; name: string }>('SELECT parent, name FROM vfs_dirents WHERE child = ?', [
    inode,
  ]);
  const paths: string[] = [];
  const next = new Set(visiting).add(inode);
  for (const entry of entries) {
    for (const parentPath of pathsOf(db, Number(entry.parent), next)) {
      paths.push(parentPath === '/' ? `/${entry.name}` : `${parentPath}/${entry.name}`);
    }
  }
  return paths;
}
