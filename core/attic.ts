/**
 * The attic: where `rm -r` puts a directory tree that a snapshot still sees, instead of deleting
 * its rows (which would copy every one of them into history first, three per file). The tree's
 * top entry moves under the attic, a directory no entry names, so the tree is gone from the live
 * workspace while its rows stay as they were: a snapshot reads them as current rows (it reaches
 * them through the old entry, which the move recorded in history), and a restore brings the tree
 * back by putting that one entry back. The move is one entry changed, whatever the tree's size.
 *
 * A snapshot taken since the tree's top was made may see it, in the tree or in the attic (and a
 * restore to one that saw it in the attic puts its attic entry back, which needs its rows); once
 * no snapshot is that recent, nothing can see the tree: it is deleted then, without history.
 * Attic trees still count against `maxInodes` (their rows stay, as their blobs count against
 * `maxStoredBytes`); `usage()` counts them as held by snapshots, not as the tree's. See
 * docs/snapshots.md.
 *
 * @module
 */
import type { Database } from './database.ts';
import { pinnedInodes } from './handles.ts';
import type { Mutation } from './mutate.ts';
import { touchDir } from './nodes.ts';
import { readMeta, writeMeta } from './schema.ts';
import { SUBTREE } from './subtree.ts';

const ATTIC = 'attic';

/**
 * Every inode of the attic and the trees in it, as the CTE `attic_sub(inode)` (empty without an
 * attic): live queries that look at whole tables leave these out.
 */
export const ATTIC_SUBTREE = `attic_sub(inode) AS (
  SELECT CAST(v AS INTEGER) FROM vfs_meta WHERE k = '${ATTIC}'
  UNION ALL
  SELECT d.child FROM vfs_dirents d JOIN attic_sub ON d.parent = attic_sub.inode
)`;

/** The attic's inode number once one was made (kept while snapshots remain, so it never changes under them). */
const atticNumber = (db: Database): number | undefined => {
  const inode = readMeta(db, ATTIC);
  return inode === undefined || inode === null ? undefined : Number(inode);
};

const exists = (db: Database, inode: number): boolean =>
  db.all('SELECT 1 FROM vfs_nodes WHERE inode = ?', [inode]).length > 0;

/** The attic's inode, when it exists. */
export function atticInode(db: Database): number | undefined {
  const inode = atticNumber(db);
  // A restore to a snapshot older than the attic deletes it (with every tree it held then).
  return inode !== undefined && exists(db, inode) ? inode : undefined;
}

function ensureAttic(db: Database, m: Mutation): number {
  const known = atticNumber(db);
  if (known !== undefined && exists(db, known)) return known;
  // The same number as before, if a restore took it away: snapshots know the attic by it.
  const [{ inode }] = db.all<{ inode: number }>(
    `INSERT INTO vfs_nodes (inode, type, mode, size, nlink, atime, mtime, ctime, birthtime, rev, link_target, uid, gid, rdev)
     VALUES (?, 'dir', ${0o700}, 0, 2, ?, ?, ?, ?, ?, NULL, 0, 0, 0) RETURNING inode`,
    [known ?? null, m.now, m.now, m.now, m.now, m.rev],
  );
  writeMeta(db, ATTIC, Number(inode));
  return Number(inode);
}

/**
 * True when removing directory `inode` should move it to the attic: a snapshot sees it, and no
 * open handle needs the tree's files and directories to lose their names as a delete would.
 */
export function shouldDetach(db: Database, inode: number): boolean {
  const last = readMeta(db, 'snap_inode');
  return last !== undefined && last !== null && inode <= Number(last) && pinnedInodes(db).length === 0;
}

/**
 * Removes the directory tree at entry `name` of `parent` (its top `top`) by moving that entry
 * into the attic. A file in the tree that also has a name outside it only loses the names inside
 * (as a delete would), so the attic holds whole files only.
 */
export function detachSubtree(db: Database, m: Mutation, parent: number, name: string, top: number): void {
  const attic = ensureAttic(db, m);
  const shared = db.all<{ inode: number; n: number }>(
    `${SUBTREE}, names(inode, n) AS (SELECT inode, count(*) FROM sub GROUP BY inode)
     SELECT names.inode AS inode, names.n AS n FROM names JOIN vfs_nodes v ON v.inode = names.inode
     WHERE v.type != 'dir' AND v.nlink > names.n`,
    [top, ''],
  );
  for (const { inode, n } of shared) {
    db.run(`${SUBTREE} DELETE FROM vfs_dirents WHERE child = ? AND parent IN (SELECT inode FROM sub)`, [
      top,
      '',
      inode,
    ]);
    db.run('UPDATE vfs_nodes SET nlink = nlink - ?, ctime = ?, rev = ? WHERE inode = ?', [n, m.now, m.rev, inode]);
  }
  db.run('UPDATE vfs_dirents SET parent = ?, name = ? WHERE parent = ? AND name = ?', [
    attic,
    String(top),
    parent,
    name,
  ]);
  touchDir(db, m, parent, -1);
  db.run('UPDATE vfs_nodes SET nlink = nlink + 1 WHERE inode = ?', [attic]);
}

/**
 * After a restore: the attic's link count again matches its entries (a purge drops entries of
 * trees no snapshot sees, so the attic's row as a snapshot saw it may count entries purged since).
 */
export function settleAttic(db: Database): void {
  const attic = atticInode(db);
  if (attic === undefined) return;
  db.run(
    'UPDATE vfs_nodes SET nlink = 2 + (SELECT count(*) FROM vfs_dirents WHERE parent = ?) WHERE inode = ? AND nlink != 2 + (SELECT count(*) FROM vfs_dirents WHERE parent = ?)',
    [attic, attic, attic],
  );
}

/**
 * Deletes the attic trees no snapshot can see any more (every snapshot left is older than the
 * tree's top). With no snapshot left, the attic goes too.
 */
export function purgeAttic(db: Database): void {
  const attic = atticInode(db);
  if (attic === undefined) {
    if (readMeta(db, 'snap_inode') === undefined) db.run('DELETE FROM vfs_meta WHERE k = ?', [ATTIC]);
    return;
  }
  const stale = db.all<{ name: string; child: number }>(
    `SELECT a.name AS name, a.child AS child FROM vfs_dirents a WHERE a.parent = ?
       AND NOT EXISTS (SELECT 1 FROM vfs_snapshots s WHERE s.last_inode >= a.child)`,
    [attic],
  );
  const recording = readMeta(db, 'snap_inode');
  if (stale.length === 0 && recording !== undefined) return;
  // No snapshot sees a stale tree's top, but one may see a node moved into the tree from outside
  // (older than the top): the history triggers stay armed, and copy what a snapshot sees (rows of
  // inodes it knew) while passing over the rest, as for any delete.
  for (const { name, child } of stale) {
    const top = Number(child);
    db.run(`${SUBTREE} DELETE FROM vfs_chunks WHERE inode IN (SELECT inode FROM sub)`, [top, '']);
    db.run(`${SUBTREE} DELETE FROM vfs_nodes WHERE inode IN (SELECT inode FROM sub)`, [top, '']);
    db.run(`${SUBTREE} DELETE FROM vfs_dirents WHERE parent IN (SELECT inode FROM sub)`, [top, '']);
    db.run('DELETE FROM vfs_dirents WHERE parent = ? AND name = ?', [attic, name]);
  }
  if (recording === undefined) {
    db.run('DELETE FROM vfs_nodes WHERE inode = ?', [attic]);
    db.run('DELETE FROM vfs_meta WHERE k = ?', [ATTIC]);
    return;
  }
  db.run('UPDATE vfs_nodes SET nlink = nlink - ? WHERE inode = ?', [stale.length, attic]);
}

/**
 * Deletes what a fork copied of the source's attic: directories no entry names (other than the
 * root) and everything below them. A fork copies rows, not the attic's record.
 */
export function dropUnnamedTrees(db: Database): void {
  const tops = db.all<{ inode: number }>(
    "SELECT inode FROM vfs_nodes n WHERE type = 'dir' AND inode != 1 AND NOT EXISTS (SELECT 1 FROM vfs_dirents d WHERE d.child = n.inode)",
  );
  for (const { inode } of tops) {
    db.run(`${SUBTREE} DELETE FROM vfs_chunks WHERE inode IN (SELECT inode FROM sub)`, [inode, '']);
    db.run(`${SUBTREE} DELETE FROM vfs_nodes WHERE inode IN (SELECT inode FROM sub)`, [inode, '']);
    db.run(`${SUBTREE} DELETE FROM vfs_dirents WHERE parent IN (SELECT inode FROM sub)`, [inode, '']);
  }
}
