/**
 * Copy-on-write history behind snapshots. A snapshot is one row naming an epoch (its id); while any
 * snapshot exists, triggers copy a node, directory entry or chunk row into `vfs_hist_*` the first
 * time it changes after the newest snapshot, tagged with that snapshot's epoch (`live = 0` when
 * the row did not exist then). The state at snapshot E of a row is then its history copy with the
 * smallest epoch ≥ E, or the current row when it has none. See docs/snapshots.md.
 *
 * @module
 */
import type { Database } from './database.ts';

/** The node columns, in `vfs_nodes` order. */
export const NODE_FIELDS = [
  'inode',
  'type',
  'mode',
  'size',
  'nlink',
  'atime',
  'mtime',
  'ctime',
  'birthtime',
  'rev',
  'link_target',
  'uid',
  'gid',
  'rdev',
] as const;

/** One versioned table: its key and value columns, and the column naming the inode a row is of. */
interface Versioned {
  table: string;
  hist: string;
  keys: readonly string[];
  values: readonly string[];
  /**
   * A row whose `inode` column is above a snapshot's last inode did not exist when it was taken:
   * no history is kept for it, and reads at the snapshot leave it out.
   */
  inode: string;
}

/** The three tables a snapshot sees; blobs need no history (they are named by their content). */
export const VERSIONED: Readonly<Record<'nodes' | 'dirents' | 'chunks', Versioned>> = {
  nodes: { table: 'vfs_nodes', hist: 'vfs_hist_nodes', keys: ['inode'], values: NODE_FIELDS.slice(1), inode: 'inode' },
  dirents: {
    table: 'vfs_dirents',
    hist: 'vfs_hist_dirents',
    keys: ['parent', 'name'],
    values: ['child'],
    inode: 'child',
  },
  chunks: {
    table: 'vfs_chunks',
    hist: 'vfs_hist_chunks',
    keys: ['inode', 'idx'],
    values: ['hash', 'size'],
    inode: 'inode',
  },
};

const list = (names: readonly string[], prefix = ''): string => names.map((name) => prefix + name).join(', ');

/**
 * Only the first change of a row after a snapshot is kept. Not by INSERT OR IGNORE: inside a
 * trigger the outer statement's conflict clause wins, and chunks are written with INSERT OR REPLACE.
 */
function unseen(v: Versioned, row: 'OLD' | 'NEW'): string {
  const keys = v.keys.map((key) => `x.${key} = ${row}.${key}`).join(' AND ');
  return `NOT EXISTS (SELECT 1 FROM ${v.hist} x WHERE ${keys} AND x.epoch = m.v)`;
}

const LAST_INODE = "SELECT v FROM vfs_meta WHERE k = 'snap_inode'";

/** The statement recording the row `OLD` (or `NEW`'s key as absent) in the current epoch, once. */
function record(v: Versioned, row: 'OLD' | 'NEW', live: boolean): string {
  const values = live ? `, ${list(v.values, `${row}.`)}` : '';
  const columns = live ? `, ${list(v.values)}` : '';
  return `INSERT INTO ${v.hist} (${list(v.keys)}, epoch, live${columns})
    SELECT ${list(v.keys, `${row}.`)}, m.v, ${live ? 1 : 0}${values} FROM vfs_meta m
    WHERE m.k = 'snap_epoch' AND ${unseen(v, row)};`;
}

/**
 * The triggers, one per table and statement kind. Chunks are written with INSERT OR REPLACE, whose
 * implicit delete fires no trigger, so their insert trigger runs before and records the row the
 * insert is about to replace (or its absence).
 */
function triggers(): string[] {
  const out: string[] = [];
  // A node whose revision alone changes (sync restamps every node below a moved directory) keeps
  // no history: what a snapshot shows of it is the same, and restore stamps what it brings back.
  const fields = NODE_FIELDS.filter((field) => field !== 'rev');
  const changedBeyondRev = `(${list(fields, 'OLD.')}) IS NOT (${list(fields, 'NEW.')})`;
  // Rows of inodes newer than the newest snapshot need no history (see Versioned.inode).
  const old = (v: Versioned, row: 'OLD' | 'NEW') => `${row}.${v.inode} <= (${LAST_INODE})`;
  for (const [name, v] of Object.entries(VERSIONED)) {
    const insert =
      name === 'chunks'
        ? `BEFORE INSERT ON ${v.table} WHEN ${old(v, 'NEW')} BEGIN
           INSERT INTO ${v.hist} (inode, idx, epoch, live, hash, size)
           SELECT NEW.inode, NEW.idx, m.v, c.inode IS NOT NULL, c.hash, c.size
           FROM vfs_meta m LEFT JOIN ${v.table} c ON c.inode = NEW.inode AND c.idx = NEW.idx
           WHERE m.k = 'snap_epoch' AND ${unseen(v, 'NEW')}; END`
        : `AFTER INSERT ON ${v.table} WHEN ${old(v, 'NEW')} BEGIN ${record(v, 'NEW', false)} END`;
    out.push(`CREATE TRIGGER IF NOT EXISTS ${v.hist}_insert ${insert}`);
    // An update that moves a row to another key (a rename's entry) also makes the new key's old
    // absence history; node and chunk rows never change key, so theirs record the old row alone.
    out.push(
      `CREATE TRIGGER IF NOT EXISTS ${v.hist}_update AFTER UPDATE ON ${v.table}
       WHEN (${old(v, 'OLD')} OR ${old(v, 'NEW')})${name === 'nodes' ? ` AND ${changedBeyondRev}` : ''}
       BEGIN ${record(v, 'OLD', true)} ${name === 'dirents' ? record(v, 'NEW', false) : ''} END`,
    );
    out.push(
      `CREATE TRIGGER IF NOT EXISTS ${v.hist}_delete AFTER DELETE ON ${v.table} WHEN ${old(v, 'OLD')} BEGIN ${record(v, 'OLD', true)} END`,
    );
  }
  return out;
}

/**
 * Starts recording history into `epoch`, a snapshot whose last inode is `lastInode` (creating the
 * triggers when no snapshot had them yet).
 */
export function recordInto(db: Database, epoch: number, lastInode: number): void {
  const armed = db.all("SELECT 1 FROM vfs_meta WHERE k = 'snap_epoch'").length > 0;
  db.run(
    "INSERT INTO vfs_meta (k, v) VALUES ('snap_epoch', ?), ('snap_inode', ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v",
    [epoch, lastInode],
  );
  if (!armed) for (const sql of triggers()) db.run(sql);
}

/** Stops recording history: no snapshot is left, so nothing needs the old rows. */
export function stopRecording(db: Database): void {
  db.run("DELETE FROM vfs_meta WHERE k IN ('snap_epoch', 'snap_inode')");
  for (const v of Object.values(VERSIONED)) {
    for (const kind of ['insert', 'update', 'delete']) db.run(`DROP TRIGGER IF EXISTS ${v.hist}_${kind}`);
    db.run(`DELETE FROM ${v.hist}`);
  }
}

/**
 * Folds epoch `from` (a snapshot being deleted) into `into` (the snapshot before it): a row's copy
 * moves unless `into` has its own, which is older. With no snapshot before, the copies go.
 */
export function foldEpoch(db: Database, from: number, into: number | undefined): void {
  for (const v of Object.values(VERSIONED)) {
    if (into !== undefined) {
      const columns = `${list(v.keys)}, live, ${list(v.values)}`;
      db.run(
        `INSERT OR IGNORE INTO ${v.hist} (${columns}, epoch) SELECT ${columns}, ? FROM ${v.hist} WHERE epoch = ?`,
        [into, from],
      );
    }
    db.run(`DELETE FROM ${v.hist} WHERE epoch = ?`, [from]);
  }
}

/**
 * SQL for the rows of `v` as snapshot `epoch` (last inode `lastInode`) saw them: current rows with
 * no history from that epoch on, and the earliest history copy from it on where there is one;
 * never a row of an inode newer than the snapshot. Reads nothing once the snapshot is deleted
 * (its epoch no longer means anything). `schema` names the database holding the tables (`main`,
 * or one attached).
 */
export function rowsAt(v: Versioned, epoch: number, lastInode: number, schema = 'main'): string {
  const keys = v.keys.map((key) => `x.${key} = h.${key}`).join(' AND ');
  const currentKeys = v.keys.map((key) => `h.${key} = c.${key}`).join(' AND ');
  const alive = `EXISTS (SELECT 1 FROM ${schema}.vfs_snapshots WHERE id = ${epoch})`;
  return `SELECT ${list([...v.keys, ...v.values], 'c.')} FROM ${schema}.${v.table} c
      WHERE ${alive} AND c.${v.inode} <= ${lastInode}
        AND NOT EXISTS (SELECT 1 FROM ${schema}.${v.hist} h WHERE ${currentKeys} AND h.epoch >= ${epoch})
    UNION ALL
    SELECT ${list([...v.keys, ...v.values], 'h.')} FROM ${schema}.${v.hist} h
      WHERE ${alive} AND h.epoch >= ${epoch} AND h.live AND h.${v.inode} <= ${lastInode}
        AND h.epoch = (SELECT MIN(x.epoch) FROM ${schema}.${v.hist} x WHERE ${keys} AND x.epoch >= ${epoch})`;
}

/** The CTEs that make `vfs_nodes`, `vfs_dirents` and `vfs_chunks` read as snapshot `epoch` saw them. */
export function shadowTables(epoch: number, lastInode: number): string {
  return Object.values(VERSIONED)
    .map((v) => `${v.table}(${list([...v.keys, ...v.values])}) AS NOT MATERIALIZED (${rowsAt(v, epoch, lastInode)})`)
    .join(', ');
}

/** Keys of `v` changed in epochs from `from` (inclusive) to `to` (exclusive; undefined: no end). */
export function changedKeys<T extends object>(db: Database, v: Versioned, from: number, to?: number): T[] {
  return db.all<T>(`SELECT DISTINCT ${list(v.keys)} FROM ${v.hist} WHERE epoch >= ? AND epoch < ?`, [
    from,
    to ?? Number.MAX_SAFE_INTEGER,
  ]);
}
