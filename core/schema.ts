/**
 * The on-disk schema: versioned `vfs_*` tables, created and migrated in one transaction.
 *
 * @module
 */
import type { Database } from './database.ts';
import { FsError, wrapStorageError } from './errors.ts';
import { moveFirstChunks } from './history.ts';

/** The schema version this code writes. Older workspaces are migrated; newer ones are refused. */
export const SCHEMA_VERSION = 9;
/** The inode of the root directory. */
export const ROOT_INODE = 1;
/** The chunk size of new workspaces when none is given, in bytes (why 64 KiB: docs/performance.md, "Chunk size"). */
export const DEFAULT_CHUNK_SIZE = 64 * 1024;
/** The largest chunk size: Durable Object values are capped at 2 MB, and a chunk must fit one. */
export const MAX_CHUNK_SIZE = 1024 * 1024;
/** The smallest chunk size (tiny chunks are for tests that want many chunk boundaries). */
export const MIN_CHUNK_SIZE = 16;

/**
 * The statements that bring a workspace from version `index` to `index + 1`.
 * Version 1 is the whole current schema; later versions append ALTERs here.
 */
const MIGRATIONS: readonly (readonly string[] | ((db: Database) => void))[] = [
  [
    'CREATE TABLE vfs_meta (k TEXT PRIMARY KEY, v) WITHOUT ROWID',
    `CREATE TABLE vfs_nodes (
      inode INTEGER PRIMARY KEY AUTOINCREMENT,
      type TEXT NOT NULL CHECK (type IN ('file', 'dir', 'symlink')),
      mode INTEGER NOT NULL,
      size INTEGER NOT NULL DEFAULT 0,
      nlink INTEGER NOT NULL,
      atime REAL NOT NULL,
      mtime REAL NOT NULL,
      ctime REAL NOT NULL,
      birthtime REAL NOT NULL,
      rev INTEGER NOT NULL,
      link_target TEXT
    )`,
    'CREATE INDEX vfs_nodes_rev ON vfs_nodes (rev)',
    `CREATE TABLE vfs_dirents (
      parent INTEGER NOT NULL,
      name TEXT NOT NULL,
      child INTEGER NOT NULL,
      PRIMARY KEY (parent, name)
    ) WITHOUT ROWID`,
    'CREATE INDEX vfs_dirents_child ON vfs_dirents (child)',
    `CREATE TABLE vfs_chunks (
      inode INTEGER NOT NULL,
      idx INTEGER NOT NULL,
      hash TEXT NOT NULL,
      size INTEGER NOT NULL,
      PRIMARY KEY (inode, idx)
    ) WITHOUT ROWID`,
    'CREATE INDEX vfs_chunks_hash ON vfs_chunks (hash)',
    // The catalogue and the bytes live apart so refreshing last_seen never rewrites a payload.
    'CREATE TABLE vfs_blobs (hash TEXT PRIMARY KEY, size INTEGER NOT NULL, last_seen REAL NOT NULL) WITHOUT ROWID',
    'CREATE TABLE vfs_blob_bytes (hash TEXT PRIMARY KEY, bytes BLOB NOT NULL)',
    `CREATE TABLE vfs_changes (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      rev INTEGER NOT NULL,
      path TEXT NOT NULL,
      op TEXT NOT NULL DEFAULT 'delete'
    )`,
    'CREATE INDEX vfs_changes_rev ON vfs_changes (rev, path)',
    'CREATE INDEX vfs_changes_path ON vfs_changes (path)',
  ],
  // 2: sync state per peer.
  [
    // Where this side stands with each peer: 'fetch' is a cursor into the peer's stream, 'push' into ours.
    `CREATE TABLE vfs_sync_cursors (
      peer TEXT NOT NULL,
      kind TEXT NOT NULL CHECK (kind IN ('fetch', 'push')),
      rev INTEGER NOT NULL,
      path TEXT,
      PRIMARY KEY (peer, kind)
    ) WITHOUT ROWID`,
    // Paths this side last changed by applying them from a peer, so they are not sent back to it.
    `CREATE TABLE vfs_sync_echo (
      peer TEXT NOT NULL,
      path TEXT NOT NULL,
      rev INTEGER NOT NULL,
      PRIMARY KEY (peer, path)
    ) WITHOUT ROWID`,
  ],
  // 3: counters kept by SQLite itself, so quotas and usage cost one row read.
  [
    "INSERT INTO vfs_meta (k, v) VALUES ('stored_bytes', (SELECT COALESCE(SUM(size), 0) FROM vfs_blobs))",
    "INSERT INTO vfs_meta (k, v) VALUES ('inodes', (SELECT count(*) FROM vfs_nodes))",
    "CREATE TRIGGER vfs_blobs_added AFTER INSERT ON vfs_blobs BEGIN UPDATE vfs_meta SET v = v + NEW.size WHERE k = 'stored_bytes'; END",
    "CREATE TRIGGER vfs_blobs_removed AFTER DELETE ON vfs_blobs BEGIN UPDATE vfs_meta SET v = v - OLD.size WHERE k = 'stored_bytes'; END",
    "CREATE TRIGGER vfs_nodes_added AFTER INSERT ON vfs_nodes BEGIN UPDATE vfs_meta SET v = v + 1 WHERE k = 'inodes'; END",
    "CREATE TRIGGER vfs_nodes_removed AFTER DELETE ON vfs_nodes BEGIN UPDATE vfs_meta SET v = v - 1 WHERE k = 'inodes'; END",
  ],
  // 4: the change stream in one total order, (rev, inode) for nodes then (rev, id) for deletions;
  // cursors hold a position within a revision instead of a path; one deletion row per path.
  [
    'DROP INDEX IF EXISTS vfs_changes_rev',
    'CREATE INDEX vfs_changes_order ON vfs_changes (rev, id)',
    'DELETE FROM vfs_changes WHERE id NOT IN (SELECT MAX(id) FROM vfs_changes GROUP BY path)',
    'ALTER TABLE vfs_sync_cursors ADD COLUMN at INTEGER',
    // A cursor that stopped inside a revision resumes at its start: applying twice changes nothing.
    'UPDATE vfs_sync_cursors SET rev = MAX(rev - 1, 0) WHERE path IS NOT NULL',
    'ALTER TABLE vfs_sync_cursors DROP COLUMN path',
    // Entries another side refused: reported until they sync or are resolved.
    `CREATE TABLE vfs_sync_refused (
      peer TEXT NOT NULL,
      path TEXT NOT NULL,
      direction TEXT NOT NULL CHECK (direction IN ('pull', 'push')),
      code TEXT NOT NULL,
      reason TEXT NOT NULL,
      PRIMARY KEY (peer, path, direction)
    ) WITHOUT ROWID`,
  ],
  // 5: owners and groups, special files (FIFOs, sockets, devices) with their device number.
  migrateToOwners,
  // 6: snapshots and the copy-on-write history that keeps what they see (docs/snapshots.md).
  [
    // last_inode: inodes above it are newer than the snapshot, which needs no history for them.
    `CREATE TABLE vfs_snapshots (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE, rev INTEGER NOT NULL,
      created REAL NOT NULL, last_inode INTEGER NOT NULL)`,
    // A row's state as the snapshot `epoch` saw it, recorded by the first change after that
    // snapshot (live = 0: the row did not exist then). Triggers write these only while a snapshot exists.
    `CREATE TABLE vfs_hist_nodes (
      inode INTEGER NOT NULL, epoch INTEGER NOT NULL, live INTEGER NOT NULL,
      type TEXT, mode INTEGER, size INTEGER, nlink INTEGER, atime REAL, mtime REAL, ctime REAL,
      birthtime REAL, rev INTEGER, link_target TEXT, uid INTEGER, gid INTEGER, rdev INTEGER,
      PRIMARY KEY (inode, epoch)
    ) WITHOUT ROWID`,
    'CREATE INDEX vfs_hist_nodes_epoch ON vfs_hist_nodes (epoch)',
    `CREATE TABLE vfs_hist_dirents (
      parent INTEGER NOT NULL, name TEXT NOT NULL, epoch INTEGER NOT NULL, live INTEGER NOT NULL, child INTEGER,
      PRIMARY KEY (parent, name, epoch)
    ) WITHOUT ROWID`,
    'CREATE INDEX vfs_hist_dirents_epoch ON vfs_hist_dirents (epoch)',
    'CREATE INDEX vfs_hist_dirents_child ON vfs_hist_dirents (child)',
    `CREATE TABLE vfs_hist_chunks (
      inode INTEGER NOT NULL, idx INTEGER NOT NULL, epoch INTEGER NOT NULL, live INTEGER NOT NULL, hash TEXT, size INTEGER,
      PRIMARY KEY (inode, idx, epoch)
    ) WITHOUT ROWID`,
    'CREATE INDEX vfs_hist_chunks_epoch ON vfs_hist_chunks (epoch)',
    'CREATE INDEX vfs_hist_chunks_hash ON vfs_hist_chunks (hash)',
  ],
  // 7: a directory rename is one change row, op 'move' from `path` to `target` (docs/sync-protocol.md,
  // "Moves"): `inode` is the directory moved, `peer` the peer it was replayed from (null: made here),
  // `bases` how far this side had applied each peer's stream when it moved (JSON, peer -> cursor).
  // And rm -r under a snapshot moves the tree into the attic, a directory no entry names, rather
  // than copying its rows into history (core/attic.ts): older code would take the attic for orphans.
  [
    'ALTER TABLE vfs_changes ADD COLUMN target TEXT',
    'ALTER TABLE vfs_changes ADD COLUMN inode INTEGER',
    'ALTER TABLE vfs_changes ADD COLUMN peer TEXT',
    'ALTER TABLE vfs_changes ADD COLUMN bases TEXT',
    "CREATE INDEX vfs_changes_moves ON vfs_changes (rev) WHERE op = 'move'",
    "CREATE INDEX vfs_changes_move_targets ON vfs_changes (target) WHERE op = 'move'",
    // An echo mark per path and revision: a node moved away keeps its mark under its old name.
    `CREATE TABLE vfs_sync_echo_v7 (
      peer TEXT NOT NULL,
      path TEXT NOT NULL,
      rev INTEGER NOT NULL,
      PRIMARY KEY (peer, path, rev)
    ) WITHOUT ROWID`,
    'INSERT INTO vfs_sync_echo_v7 (peer, path, rev) SELECT peer, path, rev FROM vfs_sync_echo',
    'DROP TABLE vfs_sync_echo',
    'ALTER TABLE vfs_sync_echo_v7 RENAME TO vfs_sync_echo',
  ],
  // 8: a file's first chunk is kept in its node's history row, keyed by epoch first with no other
  // index, so overwriting a small file under a snapshot writes one history row in one b-tree; later
  // chunks' copies are indexed by epoch then hash, not by hash alone (docs/snapshots.md).
  moveFirstChunks,
  // 9: a blob's bytes are keyed by an integer its catalogue row holds, so a new blob adds one key
  // to one tree ordered by hash (the catalogue) instead of two (docs/performance.md, "Growth").
  keyBytesById,
];

/** The node types version 5 allows (see `NodeType`). */
const NODE_TYPES = "'file', 'dir', 'symlink', 'fifo', 'socket', 'chardev', 'blockdev'";
const NODE_TRIGGERS = [
  "CREATE TRIGGER vfs_nodes_added AFTER INSERT ON vfs_nodes BEGIN UPDATE vfs_meta SET v = v + 1 WHERE k = 'inodes'; END",
  "CREATE TRIGGER vfs_nodes_removed AFTER DELETE ON vfs_nodes BEGIN UPDATE vfs_meta SET v = v - 1 WHERE k = 'inodes'; END",
];

/**
 * Version 5 rebuilds `vfs_nodes`: SQLite cannot widen a CHECK constraint in place. Every node is
 * given to the owner of the `Database` doing the migration (until now everything belonged to
 * whoever opened the workspace), and the AUTOINCREMENT high-water mark is carried over, so inode
 * numbers of deleted nodes are never handed out again.
 */
function migrateToOwners(db: Database): void {
  const columns = 'inode, type, mode, size, nlink, atime, mtime, ctime, birthtime, rev, link_target';
  const sequence = db.all<{ seq: number }>("SELECT seq FROM sqlite_sequence WHERE name = 'vfs_nodes'")[0]?.seq;
  db.run('ALTER TABLE vfs_nodes RENAME TO vfs_nodes_v4');
  db.run(`CREATE TABLE vfs_nodes (
      inode INTEGER PRIMARY KEY AUTOINCREMENT,
      type TEXT NOT NULL CHECK (type IN (${NODE_TYPES})),
      mode INTEGER NOT NULL,
      size INTEGER NOT NULL DEFAULT 0,
      nlink INTEGER NOT NULL,
      atime REAL NOT NULL,
      mtime REAL NOT NULL,
      ctime REAL NOT NULL,
      birthtime REAL NOT NULL,
      rev INTEGER NOT NULL,
      link_target TEXT,
      uid INTEGER NOT NULL DEFAULT 0,
      gid INTEGER NOT NULL DEFAULT 0,
      rdev INTEGER NOT NULL DEFAULT 0
    )`);
  const { uid, gid } = db.owner;
  db.run(`INSERT INTO vfs_nodes (${columns}, uid, gid) SELECT ${columns}, ?, ? FROM vfs_nodes_v4`, [uid, gid]);
  if (sequence !== undefined) {
    db.run("UPDATE sqlite_sequence SET seq = MAX(seq, ?) WHERE name = 'vfs_nodes'", [Number(sequence)]);
  }
  // The old table takes its index and triggers with it; version 3's counters stay right because
  // the triggers come back only after the copy.
  db.run('DROP TABLE vfs_nodes_v4');
  db.run('CREATE INDEX vfs_nodes_rev ON vfs_nodes (rev)');
  for (const trigger of NODE_TRIGGERS) db.run(trigger);
}

/** The blob tables of version 9 (version 1's until then were keyed by hash, both). */
const BLOB_TABLES = [
  // The catalogue and the bytes live apart so refreshing last_seen never rewrites a payload.
  'CREATE TABLE vfs_blobs (hash TEXT PRIMARY KEY, size INTEGER NOT NULL, last_seen REAL NOT NULL, id INTEGER NOT NULL) WITHOUT ROWID',
  'CREATE TABLE vfs_blob_bytes (id INTEGER PRIMARY KEY, bytes BLOB NOT NULL)',
];
const BLOB_TRIGGERS = [
  "CREATE TRIGGER vfs_blobs_added AFTER INSERT ON vfs_blobs BEGIN UPDATE vfs_meta SET v = v + NEW.size WHERE k = 'stored_bytes'; END",
  "CREATE TRIGGER vfs_blobs_removed AFTER DELETE ON vfs_blobs BEGIN UPDATE vfs_meta SET v = v - OLD.size WHERE k = 'stored_bytes'; END",
];

/**
 * Version 9 gives each catalogue row the rowid of its bytes as its id, and copies no bytes: a
 * workspace with blobs keeps its version 1 bytes table, whose `hash` column and index stay as they
 * were for the bytes stored before and hold NULL for every later row (a rowid table's `TEXT PRIMARY
 * KEY` takes NULLs, each distinct), so new keys go in one place of that index, not in hash order.
 * Every statement addresses bytes by `rowid`, which both layouts have. Copying would need room for
 * every blob twice inside one transaction, which a nearly full disk or a Durable Object near its
 * storage limit does not have. Empty ones (a new workspace) are rebuilt as the version 9 tables.
 * A catalogue row without bytes (a damaged workspace, which fsck reports) gets a negative id, which
 * no bytes row ever has, so bytes stored later can never answer for it.
 */
function keyBytesById(db: Database): void {
  // Both empty (a new workspace): nothing to keep. A catalogue with no bytes at all (damaged) keeps
  // its rows, so fsck still names them and the stored-bytes counter still matches.
  if (db.all('SELECT 1 FROM vfs_blob_bytes UNION ALL SELECT 1 FROM vfs_blobs LIMIT 1').length === 0) {
    db.run('DROP TABLE vfs_blobs');
    db.run('DROP TABLE vfs_blob_bytes');
    for (const statement of BLOB_TABLES) db.run(statement);
    for (const trigger of BLOB_TRIGGERS) db.run(trigger);
    return;
  }
  // Rewrites the catalogue (about 100 bytes a blob), not a byte of content.
  db.run('ALTER TABLE vfs_blobs ADD COLUMN id INTEGER NOT NULL DEFAULT 0');
  db.run(`UPDATE vfs_blobs SET id = COALESCE(
    (SELECT y.rowid FROM vfs_blob_bytes y WHERE y.hash = vfs_blobs.hash),
    -(SELECT count(*) FROM vfs_blobs c WHERE c.hash <= vfs_blobs.hash))`);
  db.run(OLD_WRITER_GUARD);
}

/**
 * A process of version 8 code that had the workspace open while another migrated it (a library
 * or a `--shared` mount started before the upgrade) goes on storing blobs as it knows how: a
 * catalogue row without an id, which the column's default makes 0, and bytes under their hash,
 * which version 9 never reads. Its write succeeded and its file was lost to every reader. This
 * refuses such a row, so the old process's mutation fails whole and tells it why; version 9
 * code never gives a row id 0 (ids of stored bytes start at 1, those of missing ones are negative).
 */
const OLD_WRITER_GUARD = `CREATE TRIGGER vfs_blobs_need_id BEFORE INSERT ON vfs_blobs WHEN NEW.id = 0 BEGIN
  SELECT RAISE(ABORT, 'this workspace was upgraded to schema version 9 by a newer dofs while this process had it open: stop this process and use the newer dofs (nothing of this change was stored)'); END`;

/** Options for {@link initializeSchema}. */
export interface SchemaOptions {
  /** Chunk size of a new workspace, in bytes (16 B to 1 MiB). Ignored for an existing one. */
  chunkSize?: number;
}

/**
 * Creates the schema on an empty database, migrates an older one, or does nothing on a current
 * one, all in one transaction. A workspace written by a newer dofs is refused with EIO.
 * Returns the workspace's chunk size.
 */
export function initializeSchema(db: Database, now: () => number = db.now, options: SchemaOptions | null = {}): number {
  options ??= {};
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  if (!Number.isInteger(chunkSize) || chunkSize < MIN_CHUNK_SIZE || chunkSize > MAX_CHUNK_SIZE) {
    throw new FsError('EINVAL', 'init', undefined, undefined, {
      detail: `chunkSize must be an integer from ${MIN_CHUNK_SIZE} to ${MAX_CHUNK_SIZE} bytes, got ${chunkSize}`,
    });
  }
  try {
    return db.transaction(() => migrate(db, now, chunkSize));
  } catch (error) {
    throw explainFullDisk(db, wrapStorageError(error, 'open', undefined));
  }
}

/**
 * Bytes of free space an upgrade needs per blob: the version 9 step rewrites each catalogue row
 * (a hash, a size, a time and now an id: about 85 bytes in its B-tree page), and the transaction
 * holds every rewritten page in the WAL before the checkpoint copies it back (measured: a
 * 200,001-blob catalogue of 15.6 MiB needed more than 16 MiB free and less than 18; docs/reliability.md).
 */
const UPGRADE_BYTES_PER_BLOB = 128;

/**
 * An ENOSPC from upgrading an existing workspace, with what to do: the rewrite of the catalogue
 * needs room the disk (or the Durable Object's storage) does not have, nothing was changed, and
 * freeing about that much and opening again upgrades it. Any other error unchanged.
 */
function explainFullDisk(db: Database, error: FsError): FsError {
  if (error.code !== 'ENOSPC' || error.detail !== undefined) return error;
  let version: number;
  let blobs: number;
  try {
    version = Number(readMeta(db, 'schema_version') ?? 0);
    blobs = Number(db.all<{ n: number }>('SELECT count(*) AS n FROM vfs_blobs')[0].n);
  } catch {
    return error; // no workspace yet (creating one filled the disk): the plain ENOSPC says it all
  }
  if (version === 0 || version >= SCHEMA_VERSION) return error;
  const mib = Math.max(1, Math.ceil((blobs * UPGRADE_BYTES_PER_BLOB) / (1024 * 1024)));
  return new FsError('ENOSPC', error.syscall, undefined, undefined, {
    cause: error.cause,
    detail:
      `upgrading this workspace from schema version ${version} to ${SCHEMA_VERSION} rewrites its catalogue of ` +
      `${blobs} blobs and needs about ${mib} MiB of free space; nothing was changed: free that much and open it again`,
  });
}

function migrate(db: Database, now: () => number, chunkSize: number): number {
  {
    const hasMeta = db.all("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'vfs_meta'").length > 0;
    const version = hasMeta ? Number(readMeta(db, 'schema_version') ?? 0) : 0;
    refuseReferenceFormat(db, version);
    if (version > SCHEMA_VERSION) {
      throw new FsError('EIO', 'init', undefined, undefined, {
        detail: `this workspace has schema version ${version}, newer than ${SCHEMA_VERSION} which this dofs understands; upgrade dofs to open it`,
      });
    }
    if (version !== SCHEMA_VERSION && db.readOnly) {
      throw new FsError('EROFS', 'init', undefined, undefined, {
        detail:
          version === 0
            ? 'the workspace does not exist yet; open it writable once to create it'
            : `the workspace needs migrating from schema ${version} to ${SCHEMA_VERSION}, which a read-only open cannot do: open it writable once, or run dofs init on it, and read-only opens work after that`,
      });
    }
    for (let step = version; step < SCHEMA_VERSION; step++) {
      const migration = MIGRATIONS[step];
      if (typeof migration === 'function') migration(db);
      else for (const statement of migration) db.run(statement);
    }
    if (version === 0) {
      const t = now();
      writeMeta(db, 'rev', 2);
      writeMeta(db, 'chunk_size', chunkSize);
      writeMeta(db, 'created', t);
      db.run(
        `INSERT INTO vfs_nodes (inode, type, mode, size, nlink, atime, mtime, ctime, birthtime, rev, uid, gid)
         VALUES (?, 'dir', ${0o755}, 0, 2, ?, ?, ?, ?, 1, ?, ?)`,
        [ROOT_INODE, t, t, t, t, db.owner.uid, db.owner.gid],
      );
    }
    if (version !== SCHEMA_VERSION) writeMeta(db, 'schema_version', SCHEMA_VERSION);
    return Number(readMeta(db, 'chunk_size'));
  }
}

/** Tables only `@cloudflare/dofs` (the reference package) creates: their presence identifies its format. */
const REFERENCE_TABLES = ['vfs_manifests', '_vfs_mounts', '_vfs_watermark', '_vfs_fetch_cursor', '_vfs_push_cursor'];

/**
 * Refuses a database written by `@cloudflare/dofs`: its schema shares table names with this one
 * but not their layout (manifests, no inline times or link counts), so it cannot be migrated in
 * place, and its version numbers are not ours (calling it "newer" would send the user to upgrade).
 */
function refuseReferenceFormat(db: Database, version: number): void {
  const found = db.all<{ name: string }>(
    `SELECT name FROM sqlite_master WHERE type = 'table' AND name IN (${REFERENCE_TABLES.map(() => '?').join(', ')})`,
    REFERENCE_TABLES,
  );
  if (found.length === 0) return;
  throw new FsError('EIO', 'init', undefined, undefined, {
    detail:
      `this database is in the format of @cloudflare/dofs (the reference package; schema version ${version}, ` +
      `table ${found[0].name}), which this dofs cannot open or migrate in place. Copy the files across instead: ` +
      'read them out with @cloudflare/dofs (its SQLiteWorkspaceProvider, or a mount) into a directory, then ' +
      '`dofs import <dir>` into a new workspace',
  });
}

/** Reads one value from `vfs_meta`. */
export function readMeta(db: Database, key: string): unknown {
  return db.all<{ v: unknown }>('SELECT v FROM vfs_meta WHERE k = ?', [key])[0]?.v;
}

/** Writes one value to `vfs_meta`. */
export function writeMeta(db: Database, key: string, value: number | string): void {
  db.run('INSERT INTO vfs_meta (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v', [key, value]);
}
