/**
 * The current paths of the nodes a page of the change stream holds, built with work linear in the
 * tree's depth: the directories above the page are read once, as (inode, parent, name) rows, and
 * their paths joined here, each directory's once. A recursive statement that concatenated names
 * level by level did work quadratic in the depth for every node of the page (a chain 2,000
 * directories deep took minutes to page).
 *
 * @module
 */
import type { Database } from '../core/database.ts';
import { ROOT_INODE } from '../core/schema.ts';

// Every directory above the seeds, once each (UNION drops the ones already reached), with its own
// entry. CROSS JOIN makes SQLite seek each directory's entry by the child index.
const ANCESTORS = `WITH RECURSIVE up(inode) AS (
    SELECT value FROM json_each(?)
    UNION
    SELECT d.parent FROM up CROSS JOIN vfs_dirents d ON d.child = up.inode
  )
  SELECT d.child, d.parent, d.name FROM up CROSS JOIN vfs_dirents d ON d.child = up.inode`;

/** Paths of directories, read as they are needed and kept (the workspace does not change meanwhile). */
export interface DirectoryPaths {
  /** Reads the directories above `inodes` not known yet, in one statement. */
  load(inodes: Iterable<number>): void;
  /**
   * The path of the name `name` in directory `parent` (loaded first), or null when `parent` does
   * not lead up to the root (a node whose directory was removed while it stayed open).
   */
  pathOf(parent: number, name: string): string | null;
  /** The inode of the directory at `path` when its path was built here, else undefined (look it up). */
  inodeAt(path: string): number | undefined;
}

/** Directory paths of `db`, for the length of one read of the stream (nothing may write meanwhile). */
export function directoryPaths(db: Database): DirectoryPaths {
  // A directory's path ('' for the root) or null when it does not lead up to the root.
  const paths = new Map<number, string | null>([[ROOT_INODE, '']]);
  // The entries read but not yet joined into paths: a directory's parent and name.
  const entries = new Map<number, { parent: number; name: string }>();
  // The paths built, back to their directories: the nodes a page's entries must send ahead of them.
  const inodes = new Map<string, number>();
  const resolve = (inode: number): string | null => {
    const known = paths.get(inode);
    if (known !== undefined) return known;
    // Up to the first directory whose path is known (or the chain's end), then down joining names.
    const chain: number[] = [];
    let at = inode;
    let top: string | null = null;
    for (;;) {
      const found = paths.get(at);
      if (found !== undefined) {
        top = found;
        break;
      }
      const entry = entries.get(at);
      if (!entry) break;
      chain.push(at);
      at = entry.parent;
    }
    for (let i = chain.length - 1; i >= 0; i--) {
      const dir = chain[i];
      top = top === null ? null : `${top}/${(entries.get(dir) as { name: string }).name}`;
      paths.set(dir, top);
      if (top !== null) inodes.set(top, dir);
    }
    // A directory with no entry of its own that is not the root leads nowhere.
    if (chain.length === 0) paths.set(inode, null);
    return paths.get(inode) ?? null;
  };
  return {
    load(inodes) {
      const wanted = [...new Set(inodes)].filter((inode) => !paths.has(inode) && !entries.has(inode));
      if (wanted.length === 0) return;
      for (const row of db.all<{ child: number; parent: number; name: string }>(ANCESTORS, [JSON.stringify(wanted)]))
        entries.set(Number(row.child), { parent: Number(row.parent), name: row.name });
    },
    pathOf(parent, name) {
      const dir = resolve(parent);
      return dir === null ? null : `${dir}/${name}`;
    },
    inodeAt: (path) => inodes.get(path),
  };
}
