/**
 * Opening a node:sqlite connection with the pragmas the engine relies on.
 *
 * @module
 */
import { createRequire } from 'node:module';
import type { DatabaseSync as Connection } from 'node:sqlite';
import type { NodeSqliteBackendOptions } from './index.ts';
import type { SpaceReserve } from './reserve.ts';

/**
 * node:sqlite, loaded so that a Node without it (before 22.5; 22.13 drops the flag) gets a sentence
 * saying what to do rather than ERR_UNKNOWN_BUILTIN_MODULE from a static import.
 */
function loadNodeSqlite(): typeof import('node:sqlite') {
  try {
    return createRequire(import.meta.url)('node:sqlite');
  } catch (error) {
    throw new Error(
      `dofs-sqlite/backends/node-sqlite needs node:sqlite, which Node ${process.versions.node} does not provide: ` +
        'use Node 22.13 or later (Node 24 recommended). The engine itself (dofs-sqlite) and dofs-sqlite/backends/do-sql do not need it.',
      { cause: error },
    );
  }
}

const { DatabaseSync } = loadNodeSqlite();

/**
 * Opens `path` as {@link openConnection}; when that fails on a full disk and `reserve` holds space,
 * the reserve is let go (what it is kept for) and the open tried once more. A WAL a full disk left
 * uncheckpointed needs its index (`-shm`, 32 KiB) written before the first read: `dofs gc`, `fsck`
 * and a new mount all failed to open such a database with "disk I/O error".
 */
export function openOnFullDisk(path: string, options: NodeSqliteBackendOptions, reserve?: SpaceReserve): Connection {
  try {
    return openConnection(path, options);
  } catch (error) {
    // SQLITE_IOERR (the WAL index not sized) or SQLITE_FULL, by their primary codes.
    const code = ((error as { errcode?: number }).errcode ?? 0) & 0xff;
    if ((code !== 10 && code !== 13) || !reserve?.release()) throw error;
    return openConnection(path, options);
  }
}

/** Opens `path` (`:memory:` or '' for memory): WAL, a busy timeout and incremental vacuum for files. */
function openConnection(path: string, options: NodeSqliteBackendOptions): Connection {
  const inMemory = path === ':memory:' || path === '';
  const db = new DatabaseSync(path);
  try {
    configure(db, inMemory, options);
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}

function configure(db: Connection, inMemory: boolean, options: NodeSqliteBackendOptions): void {
  // First of all: every statement below, the very first read included, waits for a lock another
  // process holds (a writer, or the last connection's closing checkpoint) instead of failing at once.
  if (!inMemory) db.exec(`PRAGMA busy_timeout = ${Math.trunc(options.busyTimeoutMs ?? 5000)}`);
  // A new database gives free pages back to the file system on request (gc's incremental vacuum);
  // this must be chosen before the header is written (by the switch to WAL, or the first table).
  // Older databases switch at `dofs gc`, or when a small one is mounted.
  const empty = (db.prepare('SELECT count(*) AS n FROM sqlite_master').get() as { n: number }).n === 0;
  if (empty) db.exec('PRAGMA auto_vacuum = INCREMENTAL');
  if (!inMemory) {
    db.exec('PRAGMA journal_mode = WAL');
    db.exec(`PRAGMA synchronous = ${options.synchronous ?? 'NORMAL'}`);
    // Checkpoint every 256 pages (1 MiB at 4 KiB pages) rather than SQLite's 1000: when the disk
    // fills, committed WAL frames not yet in the database need that much room to be checkpointed
    // before the WAL can start over, and the deletion reserve (2 MiB) has to cover it.
    db.exec('PRAGMA wal_autocheckpoint = 256');
    // After a checkpoint the WAL file is cut back to 8 MiB, so space a large commit took is given back.
    db.exec('PRAGMA journal_size_limit = 8388608');
    // Each mutation inside a held transaction (the mount's group commit, a write session, sync's
    // batches) is a savepoint whose sub-journal, by default, spills to a temporary file past 64 KiB
    // and is written there again at every savepoint: in memory it is truncated at each release
    // instead, 16-18 % less CPU per mutation in such a transaction. Temporary tables and sorts
    // live in memory too; the one full VACUUM (reclaim.ts) switches back to a file for its copy.
    db.exec('PRAGMA temp_store = MEMORY');
  }
  db.exec(`PRAGMA cache_size = ${-Math.trunc(options.cacheSizeKiB ?? 65_536)}`);
  db.exec('PRAGMA foreign_keys = ON');
}
