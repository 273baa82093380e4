/**
 * Whole-subtree statements (rm -r, rename). Each is one SQL statement over a recursive CTE,
 * so removing or moving a tree costs a fixed number of statements whatever its size.
 *
 * @module
 */
import type { Database } from './database.ts';
import { type Mutation, NO_MOVE_SINCE } from './mutate.ts';

/**
 * Every inode reachable from the top (the top included), once per entry that reaches it, with its
 * path, as the CTE `sub(inode, path)`; binds the top and its path. Only directories have entries,
 * so walking dirents alone stays inside the tree.
 */
export const SUBTREE = `WITH RECURSIVE sub(inode, path) AS (
  SELECT ?, ?
  UNION ALL
  SELECT d.child, sub.path || '/' || d.name FROM vfs_dirents d JOIN sub ON d.parent = sub.inode
)`;

/** Records a tombstone for the top path and every path below it. */
export function tombstoneSubtree(db: Database, m: Mutation, top: number, topPath: string): void {
  // One row per path: earlier deletions of these paths are superseded (unless a move came between).
  db.run(`${SUBTREE} DELETE FROM vfs_changes WHERE op = 'delete' AND path IN (SELECT path FROM sub) ${NO_MOVE_SINCE}`, [
    top,
    topPath,
  ]);
  db.run(`${SUBTREE} INSERT INTO vfs_changes (rev, path, op) SELECT ?, path, 'delete' FROM sub`, [top, topPath, m.rev]);
}

/** Stamps every node of the subtree with this mutation's revision (its paths changed). */
export function restampSubtree(db: Database, m: Mutation, top: number): void {
  db.run(`${SUBTREE} UPDATE vfs_nodes SET rev = ? WHERE inode IN (SELECT inode FROM sub)`, [top, '', m.rev]);
}

/**
 * Deletes a subtree whose top entry has already been unlinked from its parent: every entry below
 * it, every directory, and every file left without links. Files hard-linked from outside the tree
 * survive with fewer links.
 */
export function deleteSubtree(db: Database, m: Mutation, top: number): void {
  const args = [top, ''];
  // Count each node's entries in the tree once, then join: a correlated count per node would read
  // the whole subtree once per file (quadratic).
  db.run(
    `${SUBTREE}, gone(inode, n) AS (SELECT inode, count(*) FROM sub GROUP BY inode)
     UPDATE vfs_nodes SET nlink = nlink - gone.n, ctime = ?, rev = ?
     FROM gone WHERE gone.inode = vfs_nodes.inode AND vfs_nodes.type != 'dir'`,
    [...args, m.now, m.rev],
  );
  db.run(
    `${SUBTREE} DELETE FROM vfs_chunks WHERE inode IN
       (SELECT inode FROM vfs_nodes WHERE inode IN (SELECT inode FROM sub) AND type = 'file' AND nlink <= 0)`,
    args,
  );
  db.run(
    `${SUBTREE} DELETE FROM vfs_nodes WHERE inode IN (SELECT inode FROM sub) AND (type = 'dir' OR nlink <= 0)`,
    args,
  );
  db.run(`${SUBTREE} DELETE FROM vfs_dirents WHERE parent IN (SELECT inode FROM sub)`, args);
}

/** The directories of a subtree (the top included) with their permissions: what `rm -r` must be allowed to empty. */
export function subtreeDirectories(
  db: Database,
  top: number,
): Array<{ inode: number; mode: number; uid: number; gid: number; empty: number }> {
  return db.all(
    `${SUBTREE} SELECT n.inode, n.mode, n.uid, n.gid, NOT EXISTS (SELECT 1 FROM vfs_dirents e WHERE e.parent = n.inode) AS empty
     FROM vfs_nodes n WHERE n.inode IN (SELECT inode FROM sub) AND n.type = 'dir'`,
    [top, ''],
  );
}
