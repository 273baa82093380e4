/**
 * The reads of one side of a diff, batched and remembered: nodes at paths, the paths of inodes,
 * entries by name and chunk lists, each for many keys in one statement (as many as the parameter
 * limit allows) instead of one statement per key and path level. A diff names every path below
 * what changed, so per-key reads made it cost several statements per path: 60,000 paths took 14 to
 * 19 s of a Durable Object's CPU, where each statement crosses into the storage layer.
 *
 * @module
 */
import type { Database } from '../database.ts';
import { getNode, NODE_COLUMNS, type NodeRow } from '../nodes.ts';
import { childPath } from '../paths.ts';
import { ROOT_INODE } from '../schema.ts';

/** `values` cut into parts of at most `size`. */
function* parts<T>(values: readonly T[], size: number): Generator<T[]> {
  for (let start = 0; start < values.length; start += size) yield values.slice(start, start + size);
}

const marks = (count: number) => Array.from({ length: count }, () => '?').join(', ');

/** The parent path of an absolute path other than `/`. */
const parentOf = (path: string): string => path.slice(0, Math.max(1, path.lastIndexOf('/')));

/** One side of a diff (a snapshot or now), read in batches. */
export class DiffReads {
  readonly #db: Database;
  /** Most keys bound by one statement (one parameter is kept for a parent). */
  readonly #batch: number;
  /** Nodes found (or not) at paths, through directories only. */
  readonly #atPath = new Map<string, NodeRow | undefined>();
  /** Paths of inodes asked for (several for hard links; none when cut off from the root). */
  readonly #paths = new Map<number, string[]>([[ROOT_INODE, ['/']]]);

  constructor(db: Database) {
    this.#db = db;
    this.#batch = Math.max(1, db.limits.maxBoundParameters - 1);
    this.#atPath.set('/', getNode(db, ROOT_INODE));
  }

  /**
   * The node at each of `paths` found through directories only, or undefined: a path that goes
   * through a symlink is not in this side's tree (what a listing shows). Every level of every
   * path is asked once, by parent, as many names per statement as the limit allows.
   */
  nodesAt(paths: Iterable<string>): Map<string, NodeRow | undefined> {
    const byDepth: Set<string>[] = [];
    const want = (path: string): void => {
      if (this.#atPath.has(path)) return;
      const depth = path.split('/').length - 1;
      byDepth[depth] ??= new Set();
      if (byDepth[depth].has(path)) return;
      byDepth[depth].add(path);
      want(parentOf(path));
    };
    const asked = [...paths];
    for (const path of asked) want(path);
    for (const level of byDepth) {
      if (!level) continue;
      const byParent = new Map<number, { name: string; path: string }[]>();
      for (const path of level) {
        const parent = this.#atPath.get(parentOf(path));
        if (parent?.type !== 'dir') {
          this.#atPath.set(path, undefined);
          continue;
        }
        const names = byParent.get(parent.inode) ?? [];
        names.push({ name: path.slice(path.lastIndexOf('/') + 1), path });
        byParent.set(parent.inode, names);
      }
      for (const [parent, names] of byParent) {
        const found = this.entries(
          parent,
          names.map((entry) => entry.name),
        );
        for (const { name, path } of names) this.#atPath.set(path, found.get(name));
      }
    }
    return new Map(asked.map((path) => [path, this.#atPath.get(path)]));
  }

  /** The nodes named `names` in directory `parent` (absent names are absent from the map). */
  entries(parent: number, names: readonly string[]): Map<string, NodeRow> {
    const found = new Map<string, NodeRow>();
    for (const part of parts([...new Set(names)], this.#batch)) {
      const rows = this.#db.all<NodeRow & { entry_name: string }>(
        `SELECT ${NODE_COLUMNS}, d.name AS entry_name FROM vfs_dirents d JOIN vfs_nodes n ON n.inode = d.child
         WHERE d.parent = ? AND d.name IN (${marks(part.length)})`,
        [parent, ...part],
      );
      for (const { entry_name, ...node } of rows) found.set(entry_name, node);
    }
    return found;
  }

  /**
   * The absolute paths at which each of `inodes` is linked (several for hard links, none for an
   * inode cut off from the root), its entries read by inode in batches and each directory above
   * them once.
   */
  pathsOf(inodes: Iterable<number>): Map<number, string[]> {
    const asked = [...new Set(inodes)];
    let level = asked.filter((inode) => !this.#paths.has(inode));
    // Entries of each level's inodes; their parents form the next level, until every one is known.
    const entriesOf = new Map<number, { parent: number; name: string }[]>();
    const seen = new Set<number>(level);
    while (level.length > 0) {
      const next: number[] = [];
      for (const part of parts(level, this.#batch + 1)) {
        const rows = this.#db.all<{ child: number; parent: number; name: string }>(
          `SELECT child, parent, name FROM vfs_dirents WHERE child IN (${marks(part.length)})`,
          part,
        );
        for (const inode of part) entriesOf.set(inode, []);
        for (const row of rows) {
          const parent = Number(row.parent);
          entriesOf.get(Number(row.child))?.push({ parent, name: row.name });
          if (!this.#paths.has(parent) && !seen.has(parent)) {
            seen.add(parent);
            next.push(parent);
          }
        }
      }
      level = next;
    }
    const resolve = (inode: number, visiting: ReadonlySet<number>): string[] => {
      const known = this.#paths.get(inode);
      if (known) return known;
      // A cycle (which fsck reports) leads nowhere, as pathsOf in resolve.ts.
      if (visiting.has(inode)) return [];
      const within = new Set(visiting).add(inode);
      const paths: string[] = [];
      for (const { parent, name } of entriesOf.get(inode) ?? []) {
        for (const parentPath of resolve(parent, within)) paths.push(childPath(parentPath, name));
      }
      if (visiting.size === 0 || paths.length > 0) this.#paths.set(inode, paths);
      return paths;
    };
    return new Map(asked.map((inode) => [inode, resolve(inode, new Set())]));
  }

  /** Each file's chunk list as one comparable string (`idx:hash,...`), read in batches of inodes. */
  chunkLists(inodes: Iterable<number>): Map<number, string> {
    const lists = new Map<number, string[]>();
    for (const part of parts([...new Set(inodes)], this.#batch + 1)) {
      for (const inode of part) lists.set(inode, []);
      const rows = this.#db.all<{ inode: number; idx: number; hash: string }>(
        `SELECT inode, idx, hash FROM vfs_chunks WHERE inode IN (${marks(part.length)}) ORDER BY inode, idx`,
        part,
      );
      for (const row of rows) lists.get(Number(row.inode))?.push(`${row.idx}:${row.hash}`);
    }
    return new Map([...lists].map(([inode, list]) => [inode, list.join(',')]));
  }
}
