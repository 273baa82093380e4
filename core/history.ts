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
  /** The table its history is written to. */
  hist: string;
  keys: readonly string[];
  values: readonly string[];
  /** The history table's columns beyond the keys, `epoch` and `live` (what a fold moves). */
  stored: readonly string[];
  /**
   * A row whose `inode` column is above a snapshot's last inode did not exist when it was taken:
   * no history is kept for it, and reads at the snapshot leave it out.
   */
  inode: string;
}

/** The three tables a snapshot sees; blobs need no history (they are named by their content). */
export const VERSIONED: Readonly<Record<'nodes' | 'dirents' | 'chunks', Versioned>> = {
  nodes: {
    table: 'vfs_nodes',
    hist: 'vfs_hist_nodes',
    keys: ['inode'],
    values: NODE_FIELDS.slice(1),
    // A file's first chunk is kept with its node (see FIRST_CHUNK).
    stored: [...NODE_FIELDS.slice(1), 'hash', 'chunk_size'],
    inode: 'inode',
  },
  dirents: {
    table: 'vfs_dirents',
    hist: 'vfs_hist_dirents',
    keys: ['parent', 'name'],
    values: ['child'],
    stored: ['child'],
    inode: 'child',
  },
  chunks: {
    table: 'vfs_chunks',
    hist: 'vfs_hist_chunks',
    keys: ['inode', 'idx'],
    values: ['hash', 'size'],
    stored: ['hash', 'size'],
    inode: 'inode',
  },
};

const list = (names: readonly string[], prefix = ''): string => names.map((name) => prefix + name).join(', ');

/**
 * The history of `v` as rows of its key and value columns with `epoch` and `live`, in `schema`.
 * Chunk 0's history is kept in its node's row (`hash`, `chunk_size`: the chunk as the snapshot saw
 * it, NULL when there was none), so overwriting a small file writes one history row, not two:
 * every node history row holds both states at its epoch, and `vfs_hist_chunks` holds the chunks
 * after the first. (Columns of the same affinity in both halves, so SQLite pushes a lookup's terms
 * into each and seeks by key.)
 */
export function historyOf(v: Versioned, schema = 'main'): string {
  if (v !== VERSIONED.chunks) return `${schema}.${v.hist}`;
  return `(SELECT inode, idx, epoch, live, hash, size FROM ${schema}.vfs_hist_chunks
    UNION ALL SELECT inode, CAST(0 AS INTEGER), epoch, CAST(hash IS NOT NULL AS INTEGER), hash, chunk_size
      FROM ${schema}.vfs_hist_nodes)`;
}

/**
 * SQL true when history names the blob `hash` (an SQL expression) in a row `o` for which
 * `except(idx)` is false (`idx`: the row's chunk index, as SQL). No history table has an index by
 * hash (one costs each first change under a snapshot a write at a random place): later chunks'
 * copies are indexed by epoch then hash (one probe per snapshot), and first chunks' hashes, in node
 * copies, are read as one set, once per statement.
 */
export function namedInHistory(hash: string, except?: (idx: string) => string): string {
  const unless = (idx: string) => (except ? ` AND NOT (${except(idx)})` : '');
  return `(EXISTS (SELECT 1 FROM vfs_snapshots s CROSS JOIN vfs_hist_chunks o
      WHERE o.epoch = s.id AND o.hash = ${hash}${unless('o.idx')})
    OR ${hash} IN (SELECT o.hash FROM vfs_hist_nodes o WHERE o.hash IS NOT NULL${unless('0')}))`;
}

const EPOCH = "(SELECT v FROM vfs_meta WHERE k = 'snap_epoch')";
const LAST_INODE = "(SELECT v FROM vfs_meta WHERE k = 'snap_inode')";

/**
 * Only the first change of a row after a snapshot is kept: the trigger's condition looks for the
 * row's copy in the current epoch. Not by INSERT OR IGNORE (inside a trigger the outer statement's
 * conflict clause wins: an upsert's update would fail on it), and not in the body: an INSERT whose
 * SELECT reads its own table goes through a temporary table, once per row changed.
 */
function unseen(hist: string, keys: readonly string[], row: 'OLD' | 'NEW'): string {
  const match = keys.map((key) => `x.${key} = ${row}.${key}`).join(' AND ');
  return `NOT EXISTS (SELECT 1 FROM ${hist} x WHERE ${match} AND x.epoch = ${EPOCH})`;
}

/** A chunk row's copy is in its node's row for chunk 0, in `vfs_hist_chunks` for the others. */
const unseenChunk = (row: 'OLD' | 'NEW'): string =>
  `CASE WHEN ${row}.idx = 0 THEN ${unseen('vfs_hist_nodes', ['inode'], row)}
   ELSE ${unseen('vfs_hist_chunks', ['inode', 'idx'], row)} END`;

const NODE_COLUMNS = `inode, epoch, live, ${list(NODE_FIELDS.slice(1))}, hash, chunk_size`;

/**
 * Records the node row `node` (in `from`, which joins it to `vfs_meta m` for the epoch) with chunk
 * 0 as `hash` and `size`, where `condition` holds.
 */
function recordNode(node: string, from: string, hash: string, size: string, condition: string): string {
  return `INSERT INTO vfs_hist_nodes (${NODE_COLUMNS})
    SELECT ${node}.inode, m.v, 1, ${list(NODE_FIELDS.slice(1), `${node}.`)}, ${hash}, ${size}
    FROM ${from} WHERE m.k = 'snap_epoch' AND ${condition};`;
}

/**
 * Records the node row a node trigger sees as OLD, with chunk 0 as it is now (had chunk 0 changed
 * since the snapshot, its own trigger would have written the node's row already). As one row of
 * VALUES, not INSERT … SELECT: the trigger's condition reads `vfs_hist_nodes`, and SQLite runs an
 * INSERT … SELECT into a table its program has read through a temporary table (a B-tree opened,
 * filled and dropped per row: a sixth of what history costs an overwrite).
 */
const CHUNK_ZERO = (column: string) => `(SELECT ${column} FROM vfs_chunks WHERE inode = OLD.inode AND idx = 0)`;
const oldNode = `INSERT INTO vfs_hist_nodes (${NODE_COLUMNS})
    VALUES (OLD.inode, ${EPOCH}, 1, ${list(NODE_FIELDS.slice(1), 'OLD.')}, ${CHUNK_ZERO('hash')}, ${CHUNK_ZERO('size')});`;

/** Every trigger's name suffix (`vfs_hist_<table>_<kind>`), to drop them all. */
const KINDS = ['insert', 'update', 'rekey', 'delete'] as const;

/**
 * The triggers, one per table and statement kind. Chunks are never written with INSERT OR REPLACE
 * (`upsertChunks` updates in place): its implicit delete would fire no trigger.
 */
function triggers(): string[] {
  // A node whose revision alone changes (sync restamps every node below a moved directory) keeps
  // no history: what a snapshot shows of it is the same, and restore stamps what it brings back.
  const fields = NODE_FIELDS.filter((field) => field !== 'rev');
  const changedBeyondRev = `(${list(fields, 'OLD.')}) IS NOT (${list(fields, 'NEW.')})`;
  // Rows of inodes newer than the newest snapshot need no history (see Versioned.inode).
  const old = (v: Versioned, row: 'OLD' | 'NEW') => `${row}.${v.inode} <= ${LAST_INODE}`;
  const { nodes, dirents, chunks } = VERSIONED;
  // A chunk is only ever a node's (fsck reports one that is not): no node, nothing to keep.
  const withNode = (row: 'OLD' | 'NEW', hash: string, size: string) =>
    recordNode('n', `vfs_meta m JOIN vfs_nodes n ON n.inode = ${row}.inode`, hash, size, `${row}.idx = 0`);
  const laterChunk = (row: 'OLD' | 'NEW', live: boolean) =>
    `INSERT INTO vfs_hist_chunks (inode, idx, epoch, live, hash, size)
     SELECT ${row}.inode, ${row}.idx, ${EPOCH}, ${live ? `1, ${row}.hash, ${row}.size` : '0, NULL, NULL'} WHERE ${row}.idx > 0;`;
  const record = (v: Versioned, row: 'OLD' | 'NEW', live: boolean) =>
    `INSERT INTO ${v.hist} (${list(v.keys)}, epoch, live${live ? `, ${list(v.values)}` : ''})
     VALUES (${list(v.keys, `${row}.`)}, ${EPOCH}, ${live ? 1 : 0}${live ? `, ${list(v.values, `${row}.`)}` : ''});`;
  const trigger = (v: Versioned, kind: (typeof KINDS)[number], event: string, when: string, body: string) =>
    `CREATE TRIGGER IF NOT EXISTS ${v.hist}_${kind} AFTER ${event} ON ${v.table} WHEN ${when} BEGIN ${body} END`;
  const unseenNode = (row: 'OLD' | 'NEW') => unseen(nodes.hist, nodes.keys, row);
  const unseenEntry = (row: 'OLD' | 'NEW') => unseen(dirents.hist, dirents.keys, row);
  const touched = (v: Versioned) => `(${old(v, 'OLD')} OR ${old(v, 'NEW')})`;
  return [
    trigger(nodes, 'insert', 'INSERT', `${old(nodes, 'NEW')} AND ${unseenNode('NEW')}`, record(nodes, 'NEW', false)),
    trigger(
      nodes,
      'update',
      'UPDATE',
      `${old(nodes, 'OLD')} AND ${changedBeyondRev} AND ${unseenNode('OLD')}`,
      oldNode,
    ),
    trigger(nodes, 'delete', 'DELETE', `${old(nodes, 'OLD')} AND ${unseenNode('OLD')}`, oldNode),
    trigger(
      dirents,
      'insert',
      'INSERT',
      `${old(dirents, 'NEW')} AND ${unseenEntry('NEW')}`,
      record(dirents, 'NEW', false),
    ),
    trigger(dirents, 'update', 'UPDATE', `${touched(dirents)} AND ${unseenEntry('OLD')}`, record(dirents, 'OLD', true)),
    // An update that moves an entry to another key (a rename) also makes the new key's old absence
    // history; node and chunk rows never change key.
    trigger(
      dirents,
      'rekey',
      'UPDATE',
      `${touched(dirents)} AND (OLD.parent, OLD.name) IS NOT (NEW.parent, NEW.name) AND ${unseenEntry('NEW')}`,
      record(dirents, 'NEW', false),
    ),
    trigger(
      dirents,
      'delete',
      'DELETE',
      `${old(dirents, 'OLD')} AND ${unseenEntry('OLD')}`,
      record(dirents, 'OLD', true),
    ),
    trigger(
      chunks,
      'insert',
      'INSERT',
      `${old(chunks, 'NEW')} AND ${unseenChunk('NEW')}`,
      `${withNode('NEW', 'NULL', 'NULL')} ${laterChunk('NEW', false)}`,
    ),
    trigger(
      chunks,
      'update',
      'UPDATE',
      `${touched(chunks)} AND ${unseenChunk('OLD')}`,
      `${withNode('OLD', 'OLD.hash', 'OLD.size')} ${laterChunk('OLD', true)}`,
    ),
    trigger(
      chunks,
      'delete',
      'DELETE',
      `${old(chunks, 'OLD')} AND ${unseenChunk('OLD')}`,
      `${withNode('OLD', 'OLD.hash', 'OLD.size')} ${laterChunk('OLD', true)}`,
    ),
  ];
}

/** Drops the triggers (whichever version made them). */
function dropTriggers(db: Database): void {
  for (const v of Object.values(VERSIONED))
    for (const kind of KINDS) db.run(`DROP TRIGGER IF EXISTS ${v.hist}_${kind}`);
}

/** Makes the triggers anew where a snapshot has them armed (a schema migration changed them). */
export function rearm(db: Database): void {
  if (db.all("SELECT 1 FROM vfs_meta WHERE k = 'snap_epoch'").length === 0) return;
  dropTriggers(db);
  for (const sql of triggers()) db.run(sql);
}

/**
 * Schema version 8: chunk 0's history moves into its node's history row (see {@link historyOf}),
 * node copies are keyed by epoch first with no other index (NODE_HISTORY), and later chunks' copies
 * are indexed by epoch then hash, not by hash alone (see {@link namedInHistory}). Each
 * node row gets chunk 0 as its epoch saw it (its own copy from that epoch on, else the current
 * row); each chunk 0 copy without a node row gets one, with the node as that epoch saw it.
 */
export function moveFirstChunks(db: Database): void {
  const fields = NODE_FIELDS.slice(1);
  db.run('ALTER TABLE vfs_hist_nodes ADD COLUMN hash TEXT');
  db.run('ALTER TABLE vfs_hist_nodes ADD COLUMN chunk_size INTEGER');
  db.run('DROP INDEX IF EXISTS vfs_hist_chunks_epoch');
  db.run('DROP INDEX IF EXISTS vfs_hist_chunks_hash');
  db.run('CREATE INDEX vfs_hist_chunks_epoch ON vfs_hist_chunks (epoch, hash)');
  db.run(`UPDATE vfs_hist_nodes AS n SET (hash, chunk_size) = (
      SELECT CASE WHEN n.live AND s.live THEN s.hash END, CASE WHEN n.live AND s.live THEN s.size END FROM (
        SELECT h.live, h.hash, h.size, h.epoch AS at FROM vfs_hist_chunks h WHERE h.inode = n.inode AND h.idx = 0 AND h.epoch >= n.epoch
        UNION ALL SELECT 1, c.hash, c.size, NULL FROM vfs_chunks c WHERE c.inode = n.inode AND c.idx = 0
      ) s ORDER BY s.at IS NULL, s.at LIMIT 1)`);
  const pick = (field: string) => `CASE WHEN k.later IS NOT NULL THEN x.${field} ELSE c.${field} END`;
  db.run(`WITH k AS (
      SELECT h.inode, h.epoch, h.live, h.hash, h.size,
        (SELECT MIN(x.epoch) FROM vfs_hist_nodes x WHERE x.inode = h.inode AND x.epoch > h.epoch) AS later
      FROM vfs_hist_chunks h WHERE h.idx = 0
        AND NOT EXISTS (SELECT 1 FROM vfs_hist_nodes x WHERE x.inode = h.inode AND x.epoch = h.epoch)
    ), s AS (
      SELECT k.inode, k.epoch, CASE WHEN k.later IS NOT NULL THEN x.live ELSE c.inode IS NOT NULL END AS alive,
        k.live AS chunk, k.hash, k.size, ${fields.map((field) => `${pick(field)} AS ${field}`).join(', ')}
      FROM k LEFT JOIN vfs_hist_nodes x ON x.inode = k.inode AND x.epoch = k.later LEFT JOIN vfs_nodes c ON c.inode = k.inode
    )
    INSERT INTO vfs_hist_nodes (${NODE_COLUMNS})
    SELECT inode, epoch, alive, ${list(fields)}, CASE WHEN alive AND chunk THEN hash END, CASE WHEN alive AND chunk THEN size END FROM s`);
  db.run('DELETE FROM vfs_hist_chunks WHERE idx = 0');
  // Node copies keyed by epoch first, with no other index (see NODE_HISTORY).
  dropTriggers(db);
  db.run(NODE_HISTORY.replace('vfs_hist_nodes', 'vfs_hist_nodes_v8'));
  db.run(`INSERT INTO vfs_hist_nodes_v8 (${NODE_COLUMNS}) SELECT ${NODE_COLUMNS} FROM vfs_hist_nodes`);
  db.run('DROP TABLE vfs_hist_nodes');
  db.run('ALTER TABLE vfs_hist_nodes_v8 RENAME TO vfs_hist_nodes');
  rearm(db);
}

/**
 * Schema version 8's node history: keyed by epoch first and with no other index, so the first
 * change of a node under a snapshot writes one row in one b-tree. Ranges of epochs (restore, diff,
 * folding) read it in key order; a node's copy from an epoch on takes one probe per snapshot since;
 * the hashes of first chunks are read as one set (gc, usage).
 */
const NODE_HISTORY = `CREATE TABLE vfs_hist_nodes (
  inode INTEGER NOT NULL, epoch INTEGER NOT NULL, live INTEGER NOT NULL,
  type TEXT, mode INTEGER, size INTEGER, nlink INTEGER, atime REAL, mtime REAL, ctime REAL,
  birthtime REAL, rev INTEGER, link_target TEXT, uid INTEGER, gid INTEGER, rdev INTEGER,
  hash TEXT, chunk_size INTEGER,
  PRIMARY KEY (epoch, inode)
) WITHOUT ROWID`;

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
  dropTriggers(db);
  for (const v of Object.values(VERSIONED)) db.run(`DELETE FROM ${v.hist}`);
}

/**
 * Folds epoch `from` (a snapshot being deleted) into `into` (the snapshot before it): a row's copy
 * moves unless `into` has its own, which is older. With no snapshot before, the copies go.
 */
export function foldEpoch(db: Database, from: number, into: number | undefined): void {
  for (const v of Object.values(VERSIONED)) {
    if (into !== undefined) {
      const columns = `${list(v.keys)}, live, ${list(v.stored)}`;
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
  const alive = `EXISTS (SELECT 1 FROM ${schema}.vfs_snapshots WHERE id = ${epoch})`;
  const parts = historyParts(v);
  // A current row counts unless a table that keeps its copies has one from the epoch on.
  const unchanged = parts.map((part) => {
    const match = part.keys.map((key) => `x.${key} = c.${key}`).join(' AND ');
    return `NOT EXISTS (SELECT 1 ${copiesOf(part.table, schema, `${match}${part.when('c')}`, (at) => `${at} >= ${epoch}`)})`;
  });
  // The earliest copy from the epoch on, each history table apart (SQLite seeks by key in a table, not in a union).
  const copies = parts.map(({ table, keys, columns, live, when }) => {
    const match = keys.map((key) => `x.${key} = h.${key}`).join(' AND ');
    const earlier = copiesOf(table, schema, match, (at) => `${at} >= ${epoch} AND ${at} < h.epoch`);
    return `SELECT ${columns} ${copiesOf(table, schema, `h.${v.inode} <= ${lastInode}${when('h')}`, (at) => `${at} >= ${epoch}`, 'h')}
        AND ${alive} AND ${live} AND NOT EXISTS (SELECT 1 ${earlier})`;
  });
  return `SELECT ${list([...v.keys, ...v.values], 'c.')} FROM ${schema}.${v.table} c
      WHERE ${alive} AND c.${v.inode} <= ${lastInode} AND ${unchanged.join(' AND ')}
    UNION ALL ${copies.join(' UNION ALL ')}`;
}

/**
 * `FROM … WHERE …` over the copies in history table `table` (as `alias`) matching `match`, of
 * epochs where `epochs(epoch)` holds. Node copies are keyed by epoch first: they are found by one
 * probe per snapshot.
 */
function copiesOf(table: string, schema: string, match: string, epochs: (at: string) => string, alias = 'x'): string {
  if (table !== VERSIONED.nodes.hist)
    return `FROM ${schema}.${table} ${alias} WHERE ${match} AND ${epochs(`${alias}.epoch`)}`;
  return `FROM ${schema}.vfs_snapshots s_${alias} CROSS JOIN ${schema}.${table} ${alias}
    WHERE ${epochs(`s_${alias}.id`)} AND ${alias}.epoch = s_${alias}.id AND ${match}`;
}

/**
 * The tables holding `v`'s copies: the key they are found by, the columns of `v` they give, when a
 * copy is a row, and which of `v`'s rows they hold (`when(row)`: SQL to append to a condition).
 * Every column has the same affinity in each (a literal has none: CAST), or SQLite pushes no
 * lookup's terms into the union the CTE makes and scans it whole.
 */
function historyParts(
  v: Versioned,
): { table: string; keys: string[]; columns: string; live: string; when: (row: string) => string }[] {
  const all = () => '';
  if (v !== VERSIONED.chunks)
    return [
      { table: v.hist, keys: [...v.keys], columns: list([...v.keys, ...v.values], 'h.'), live: 'h.live', when: all },
    ];
  return [
    {
      table: v.hist,
      keys: ['inode', 'idx'],
      columns: 'h.inode, h.idx, h.hash, h.size',
      live: 'h.live',
      when: (row) => (row === 'c' ? ` AND ${row}.idx > 0` : ''),
    },
    {
      table: VERSIONED.nodes.hist,
      keys: ['inode'],
      columns: 'h.inode, CAST(0 AS INTEGER), h.hash, h.chunk_size',
      live: 'h.hash IS NOT NULL',
      when: (row) => (row === 'c' ? ` AND ${row}.idx = 0` : ''),
    },
  ];
}

/** The CTEs that make `vfs_nodes`, `vfs_dirents` and `vfs_chunks` read as snapshot `epoch` saw them. */
export function shadowTables(epoch: number, lastInode: number): string {
  return Object.values(VERSIONED)
    .map((v) => `${v.table}(${list([...v.keys, ...v.values])}) AS NOT MATERIALIZED (${rowsAt(v, epoch, lastInode)})`)
    .join(', ');
}

/** Keys of `v` changed in epochs from `from` (inclusive) to `to` (exclusive; undefined: no end). */
export function changedKeys<T extends object>(db: Database, v: Versioned, from: number, to?: number): T[] {
  return db.all<T>(`SELECT DISTINCT ${list(v.keys)} FROM ${historyOf(v)} WHERE epoch >= ? AND epoch < ?`, [
    from,
    to ?? Number.MAX_SAFE_INTEGER,
  ]);
}
