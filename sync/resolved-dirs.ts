/**
 * The directories one apply has resolved, by path, so that an entry deep in a tree is found from
 * its parent instead of from the root: applying a chain of directories costs work linear in its
 * depth, not quadratic (docs/performance.md, "Sync at scale").
 *
 * @module
 */
import { checksCaller } from '../core/access.ts';
import type { Database } from '../core/database.ts';
import { lookupPath, MAX_WALK_NAMES, type NodeRow } from '../core/nodes.ts';
import { parentPath } from '../core/paths.ts';
import type { Location } from '../core/resolve.ts';
import { ROOT_INODE } from '../core/schema.ts';
import { locationAt } from './changes.ts';

/**
 * Paths of at most this many names are resolved from the root in one statement ({@link locationAt}
 * walks up to 32 by joins), which costs less than the memo's walk from the grandparent.
 */
const SHALLOW = 8;

function isShallow(path: string): boolean {
  let names = 0;
  for (let at = path.indexOf('/'); at !== -1; at = path.indexOf('/', at + 1)) if (++names > SHALLOW) return false;
  return true;
}

/** A directory resolved at a path with no symlink on the way, and those below it resolved so far. */
interface Resolved {
  inode: number;
  below: Map<string, Resolved>;
  /** Forgotten: its path may name something else now. */
  gone?: true;
}

/**
 * A memo of directory inodes by real path, valid while nothing it holds is removed or renamed: the
 * apply that owns it calls {@link ResolvedDirectories.forget} before each removal or rename it
 * makes (directories it creates are found when first needed). Only inodes are kept, never rows, so
 * the times and revisions an apply stamps on directories cannot go stale here.
 */
export class ResolvedDirectories {
  private readonly root: Resolved = { inode: ROOT_INODE, below: new Map() };
  // The same directories by path, so that an entry finds its grandparent without a walk of the
  // names above it (a chain 2,000 deep would walk 2,000 names per entry).
  private readonly byPath = new Map<string, Resolved>([['/', this.root]]);
  // Paths found to be directories since the memo last dropped anything: each entry of a batch asks
  // whether its parent is there, and most share it with the entry before.
  private readonly directories = new Set<string>();
  private readonly db: Database;
  // A caller whose search permission is checked, or a snapshot, resolves as path resolution does.
  private readonly plain: boolean;
  constructor(db: Database) {
    this.db = db;
    this.plain = !checksCaller(db) && !db.snapshot;
  }

  /**
   * Where `path` (normalised, absolute) leads without following a final symlink, as
   * {@link locationAt} says: the memo gives the deepest resolved directory above it, and one
   * statement walks from there (the parent's own row included). A symlink or a file on the way, or
   * a name missing before the last, is left to {@link locationAt}.
   */
  locationAt(path: string): Location | undefined {
    if (!this.plain || isShallow(path)) return locationAt(this.db, path);
    // The walk starts at most at the grandparent, so that it returns the parent's row; found by
    // path, it spares splitting the whole path into names.
    const parent = parentPath(path);
    const above = parentPath(parent);
    const start = parent === '/' ? undefined : this.byPath.get(above);
    if (start && !start.gone) {
      const end = above === '/' ? 0 : above.length;
      return this.walk(path, start, end, [parent.slice(end + 1), path.slice(parent.length + 1)]);
    }
    const names = path.split('/').slice(1);
    if (names.length < 2) return locationAt(this.db, path);
    let at = this.root;
    let end = 0;
    let from = 0;
    for (; from < names.length - 2; from++) {
      const next = at.below.get(names[from]);
      if (!next || next.gone) break;
      at = next;
      end += 1 + names[from].length;
    }
    return this.walk(path, at, end, names.slice(from));
  }

  /**
   * {@link ResolvedDirectories.locationAt} of `path` from directory `at`, whose path ends at `end`
   * in it, down the `names` that remain (at least two: the parent's and the last).
   */
  private walk(path: string, at: Resolved, end: number, names: readonly string[]): Location | undefined {
    if (names.includes('')) return locationAt(this.db, path);
    let parent: NodeRow | undefined;
    let node: NodeRow | undefined;
    for (let from = 0; from < names.length; ) {
      const step = names.slice(from, from + MAX_WALK_NAMES);
      const rows = lookupPath(this.db, at.inode, step);
      for (let i = 0; i < rows.length; i++) {
        const depth = from + i + 1;
        end += 1 + names[depth - 1].length;
        if (depth === names.length) node = rows[i];
        else if (rows[i].type !== 'dir') return locationAt(this.db, path);
        else {
          if (depth === names.length - 1) parent = rows[i];
          at = this.remember(at, path.slice(0, end), names[depth - 1], rows[i].inode);
        }
      }
      if (rows.length < step.length) {
        // The walk stopped at a missing name: only the last may be missing.
        if (from + rows.length !== names.length - 1) return locationAt(this.db, path);
        break;
      }
      from += step.length;
    }
    if (!parent) return locationAt(this.db, path);
    return { parent, name: names[names.length - 1], node, realPath: path, trailingSlash: false };
  }

  /** The node at `path` ({@link ResolvedDirectories.locationAt}), or undefined. */
  nodeAt(path: string): NodeRow | undefined {
    return this.locationAt(path)?.node;
  }

  /** Whether something is at `path` ({@link ResolvedDirectories.nodeAt}); a directory found is remembered. */
  exists(path: string): boolean {
    if (this.directories.has(path)) return true;
    const location = this.locationAt(path);
    if (location?.node?.type === 'dir' && location.realPath === path) this.directories.add(path);
    return location?.node !== undefined;
  }

  /**
   * Drops what the memo holds at `path` and below, before the apply removes or renames what is
   * there; a path through a symlink names another real path, so then the whole memo goes.
   */
  forget(path: string): void {
    this.directories.clear();
    const location = this.locationAt(path);
    if (location && location.realPath !== path) {
      this.clear();
      return;
    }
    this.drop(path);
  }

  /** Drops what the memo holds at `path` (a real path) and below. */
  private drop(path: string): void {
    const parent = this.byPath.get(parentPath(path));
    const name = path.slice(path.lastIndexOf('/') + 1);
    const top = parent?.below.get(name);
    if (!parent || !top) return;
    parent.below.delete(name);
    const stack = [top];
    for (let dir = stack.pop(); dir; dir = stack.pop()) {
      dir.gone = true;
      stack.push(...dir.below.values());
    }
  }

  /** Drops the whole memo: after a rollback, a directory it holds may be gone or another. */
  clear(): void {
    this.directories.clear();
    for (const dir of this.byPath.values()) if (dir !== this.root) dir.gone = true;
    this.root.below.clear();
    this.byPath.clear();
    this.byPath.set('/', this.root);
  }

  /** Notes directory `inode` at `path`, named `name` in directory `parent`. */
  private remember(parent: Resolved, path: string, name: string, inode: number): Resolved {
    const known = parent.below.get(name);
    if (known?.inode === inode) return known;
    if (known) this.drop(path);
    const resolved: Resolved = { inode, below: new Map() };
    parent.below.set(name, resolved);
    this.byPath.set(path, resolved);
    return resolved;
  }
}
