/**
 * Snapshots: take, list, delete, read at, restore. A snapshot is one row; what it sees is kept by
 * the copy-on-write history (history.ts), so taking one costs the same at any workspace size.
 *
 * @module
 */
import { purgeAttic, settleAttic } from '../attic.ts';
import type { Database } from '../database.ts';
import { fsError } from '../errors.ts';
import { dropNameless, keepNameless, openFiles } from '../handles.ts';
import { foldEpoch, historyOf, recordInto, stopRecording, VERSIONED } from '../history.ts';
import { type Mutation, mutate } from '../mutate.ts';
import { getNode } from '../nodes.ts';
import { isSameOrBelow } from '../paths.ts';
import { checkInodes } from '../quotas.ts';
import { pathsOf } from '../resolve.ts';
import { readMeta } from '../schema.ts';
import { SnapshotDatabase, type SnapshotInfo } from '../snapshot-view.ts';
import { restampSubtree, tombstoneSubtree } from '../subtree.ts';

export type { SnapshotInfo } from '../snapshot-view.ts';

const MAX_NAME_BYTES = 255;

/** Refuses a name that is not 1 to 255 bytes without `/` or NUL, or is `.` or `..` (it names a directory on the mount). */
function checkName(name: unknown, syscall: string): string {
  const ok =
    typeof name === 'string' &&
    name.length > 0 &&
    new TextEncoder().encode(name).length <= MAX_NAME_BYTES &&
    !/[/\0]/.test(name) &&
    name !== '.' &&
    name !== '..';
  if (!ok) {
    throw fsError(
      'EINVAL',
      syscall,
      undefined,
      undefined,
      `a snapshot name must be 1 to ${MAX_NAME_BYTES} bytes without '/' or NUL, and not '.' or '..'; got ${JSON.stringify(name)}`,
    );
  }
  return name;
}

const SNAPSHOT_COLUMNS = 'id, name, rev, created, last_inode AS lastInode';
const toInfo = (row: SnapshotInfo): SnapshotInfo => ({
  name: row.name,
  id: Number(row.id),
  rev: Number(row.rev),
  created: Number(row.created),
  lastInode: Number(row.lastInode),
});

/** The snapshot called `name`, or ENOENT naming it. */
export function findSnapshot(db: Database, name: string, syscall = 'snapshot'): SnapshotInfo {
  checkName(name, syscall);
  const row = db.all<SnapshotInfo>(`SELECT ${SNAPSHOT_COLUMNS} FROM vfs_snapshots WHERE name = ?`, [name])[0];
  if (!row) throw fsError('ENOENT', syscall, undefined, undefined, `no snapshot named ${JSON.stringify(name)}`);
  return toInfo(row);
}

/** Takes a snapshot inside a running mutation; `prefix` names it when no name is given. */
function take(db: Database, m: Mutation, name: string | undefined, prefix: string): SnapshotInfo {
  if (name !== undefined && db.all('SELECT 1 FROM vfs_snapshots WHERE name = ?', [name]).length > 0) {
    throw fsError('EEXIST', 'snapshot', undefined, undefined, `a snapshot named ${JSON.stringify(name)} exists`);
  }
  const rev = Number(readMeta(db, 'rev')) - 1;
  // A default name needs the id, which only the insert gives: the NUL keeps it apart from any real name.
  // Inode numbers are never handed out twice (AUTOINCREMENT): every inode above this one is newer.
  const row = db.all<SnapshotInfo>(
    `INSERT INTO vfs_snapshots (name, rev, created, last_inode)
     SELECT ?, ?, ?, MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'vfs_nodes'), 0), (SELECT MAX(inode) FROM vfs_nodes))
     RETURNING ${SNAPSHOT_COLUMNS}`,
    [name ?? `\0${prefix}`, rev, m.now],
  )[0];
  const info = toInfo(row);
  if (name === undefined) {
    info.name = `${prefix}${info.id}`;
    db.run('UPDATE vfs_snapshots SET name = ? WHERE id = ?', [info.name, info.id]);
  }
  recordInto(db, info.id, info.lastInode);
  return info;
}

/**
 * Records the whole workspace as it is now under `name` (default `snapshot-<id>`), in constant
 * time: one row, no copying. EEXIST when the name is taken; EINVAL for a name that is not 1 to
 * 255 bytes without `/` or NUL.
 */
export function snapshot(db: Database, name?: string): SnapshotInfo {
  if (name !== undefined) checkName(name, 'snapshot');
  return mutate(db, 'snapshot', undefined, (m) => take(db, m, name, 'snapshot-'));
}

/** Every retained snapshot, oldest first. */
export function listSnapshots(db: Database): SnapshotInfo[] {
  return db.all<SnapshotInfo>(`SELECT ${SNAPSHOT_COLUMNS} FROM vfs_snapshots ORDER BY id`).map(toInfo);
}

/**
 * Deletes a snapshot. What only it kept (old rows, and through them chunks) is let go: the next
 * gc frees blobs nothing else holds. ENOENT when there is no such snapshot.
 */
export function deleteSnapshot(db: Database, name: string): void {
  checkName(name, 'snapshot');
  mutate(db, 'snapshot', undefined, () => {
    const gone = findSnapshot(db, name);
    const before = db.all<{ id: number; lastInode: number }>(
      'SELECT id, last_inode AS lastInode FROM vfs_snapshots WHERE id < ? ORDER BY id DESC LIMIT 1',
      [gone.id],
    )[0];
    const previous = before ? Number(before.id) : undefined;
    const newest = db.all<{ id: number }>('SELECT MAX(id) AS id FROM vfs_snapshots')[0].id;
    foldEpoch(db, gone.id, previous);
    db.run('DELETE FROM vfs_snapshots WHERE id = ?', [gone.id]);
    if (Number(newest) === gone.id) {
      if (before) recordInto(db, Number(before.id), Number(before.lastInode));
      else stopRecording(db);
    }
    // Trees removed under the snapshot that no snapshot left sees go now.
    purgeAttic(db);
  });
}

/**
 * A read-only handle on the workspace as snapshot `name` saw it: pass it to any read primitive
 * (readFile, readdir, stat, lstat, readlink, find, grep, …); mutations are EROFS. Once the
 * snapshot is deleted the handle finds nothing (ENOENT). ENOENT when there is no such snapshot.
 */
export function snapshotView(db: Database, name: string): Database {
  return new SnapshotDatabase(db, findSnapshot(db, name));
}

/** What {@link restore} did. */
export interface RestoreResult {
  /** The snapshot restored. */
  restored: SnapshotInfo;
  /** The snapshot taken just before: restoring it undoes the restore. */
  before: SnapshotInfo;
}

interface EntryChange {
  parent: number;
  name: string;
  /** The child now, or null. */
  now: number | null;
  /** The child at the snapshot, or null. */
  was: number | null;
}

/** One path per entry, parents first, leaving out entries below one already listed (a subtree covers them). */
function outermost(db: Database, entries: readonly EntryChange[], child: 'now' | 'was'): [string, number][] {
  const found: [string, number][] = [];
  for (const entry of entries) {
    const inode = entry[child];
    if (inode === null) continue;
    for (const dir of pathsOf(db, Number(entry.parent)))
      found.push([dir === '/' ? `/${entry.name}` : `${dir}/${entry.name}`, Number(inode)]);
  }
  found.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const kept: [string, number][] = [];
  for (const item of found) if (!kept.some(([top]) => isSameOrBelow(item[0], top))) kept.push(item);
  return kept;
}

/**
 * Returns the workspace to snapshot `name` in one transaction, as a new revision: every row
 * changed since goes back to its state then, removed paths are recorded for sync, watchers hear
 * of every path that changed. Costs what changed since the snapshot, not the workspace size. A
 * snapshot is taken first (`before-restore-<id>`), so a restore can be undone. ENOENT when there
 * is no such snapshot; EROFS on a read-only workspace.
 */
export function restore(db: Database, name: string): RestoreResult {
  checkName(name, 'restore');
  return mutate(db, 'restore', undefined, (m) => {
    const target = findSnapshot(db, name, 'restore');
    const before = take(db, m, undefined, 'before-restore-');
    const range = [target.id, before.id];
    const last = target.lastInode;
    // Entries changed since (with history), and entries naming inodes newer than the snapshot.
    const entries = db
      .all<EntryChange>(
        `WITH k AS (SELECT parent, name, MIN(epoch) AS e FROM vfs_hist_dirents WHERE epoch >= ? AND epoch < ? GROUP BY parent, name)
         SELECT k.parent AS parent, k.name AS name, c.child AS now, CASE WHEN h.live AND h.child <= ? THEN h.child END AS was
         FROM k JOIN vfs_hist_dirents h ON h.parent = k.parent AND h.name = k.name AND h.epoch = k.e
         LEFT JOIN vfs_dirents c ON c.parent = k.parent AND c.name = k.name
         UNION ALL
         SELECT c.parent, c.name, c.child, NULL FROM vfs_dirents c WHERE c.child > ?
           AND NOT EXISTS (SELECT 1 FROM vfs_hist_dirents h WHERE h.parent = c.parent AND h.name = c.name AND h.epoch >= ? AND h.epoch < ?)`,
        [...range, last, last, ...range],
      )
      .filter((entry) => entry.now !== entry.was);
    // Paths that go away are recorded while the tree still has them.
    for (const [path, inode] of outermost(db, entries, 'now')) {
      tombstoneSubtree(db, m, inode, path);
      m.note('rename', path);
    }
    // Open files the snapshot did not have (made since, or brought back since by another restore).
    const then = new SnapshotDatabase(db, target);
    const open = openFiles(db, (inode) => inode > last || getNode(then, inode) === undefined);
    const changed = db.all<{ inode: number }>(
      `SELECT inode FROM vfs_hist_nodes WHERE epoch >= ? AND epoch < ? AND inode <= ?
       UNION SELECT inode FROM vfs_hist_chunks WHERE epoch >= ? AND epoch < ? AND inode <= ?`,
      [...range, last, ...range, last],
    );
    for (const v of Object.values(VERSIONED)) {
      const history = historyOf(v);
      const keys = v.keys.join(', ');
      const match = v.keys.map((key) => `h.${key} = k.${key}`).join(' AND ');
      const values = [...v.keys, ...v.values].join(', ');
      // Open files the snapshot did not have keep their node and content (not their names) for
      // their handles: none of their rows is deleted, none is put back (none was live then).
      const kept = JSON.stringify(v === VERSIONED.dirents ? [] : open);
      const notOpen = `${v.inode} NOT IN (SELECT value FROM json_each(?))`;
      db.run(
        `DELETE FROM ${v.table} WHERE (${keys}) IN (SELECT ${keys} FROM ${history} WHERE epoch >= ? AND epoch < ?) AND ${notOpen}`,
        [...range, kept],
      );
      // Rows of inodes newer than the snapshot: none of them existed then.
      db.run(`DELETE FROM ${v.table} WHERE ${v.inode} > ? AND ${notOpen}`, [last, kept]);
      db.run(
        `INSERT INTO ${v.table} (${values})
         SELECT ${v.keys.map((key) => `h.${key}`).join(', ')}, ${v.values.map((value) => `h.${value}`).join(', ')}
         FROM (SELECT ${keys}, MIN(epoch) AS e FROM ${history} WHERE epoch >= ? AND epoch < ? GROUP BY ${keys}) k
         JOIN ${history} h ON ${match} AND h.epoch = k.e WHERE h.live AND h.${v.inode} <= ?`,
        [...range, last],
      );
    }
    // Sync sends nodes by revision: everything restored, and everything whose path came back.
    db.run(
      `UPDATE vfs_nodes SET rev = ? WHERE inode IN (SELECT inode FROM vfs_hist_nodes WHERE epoch >= ? AND epoch < ?
         UNION SELECT inode FROM vfs_hist_chunks WHERE epoch >= ? AND epoch < ?)`,
      [m.rev, ...range, ...range],
    );
    for (const { inode } of changed) for (const path of pathsOf(db, Number(inode))) m.note('change', path);
    for (const [path, inode] of outermost(db, entries, 'was')) {
      restampSubtree(db, m, inode);
      m.note('rename', path);
    }
    keepNameless(db, open);
    // A file open and unlinked when the snapshot was taken comes back with no name: deleted, as
    // closing its last handle deleted it, unless a handle still holds it.
    dropNameless(
      db,
      db.all<{ inode: number }>(
        `SELECT inode FROM vfs_nodes WHERE type = 'file' AND nlink <= 0
           AND inode IN (SELECT inode FROM vfs_hist_nodes WHERE epoch >= ? AND epoch < ?)`,
        range,
      ),
    );
    // Nodes only a snapshot held come back and count again.
    settleAttic(db);
    checkInodes(db);
    return { restored: target, before };
  });
}
