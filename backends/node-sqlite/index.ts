/**
 * A StorageBackend over `node:sqlite` (`DatabaseSync`), in memory or in a file.
 *
 * @module dofs/backends/node-sqlite
 */
import { createRequire } from 'node:module';
import type { StatementSync } from 'node:sqlite';
import type { BackendLimits, SqlValue, StorageBackend } from '../../core/backend.ts';
import { createSpaceReserve, DEFAULT_RESERVE_BYTES } from './reserve.ts';
import { createTransactions } from './transactions.ts';

/**
 * node:sqlite, loaded so that a Node without it (before 22.5; 22.13 drops the flag) gets a sentence
 * saying what to do rather than ERR_UNKNOWN_BUILTIN_MODULE from a static import.
 */
function loadNodeSqlite(): typeof import('node:sqlite') {
  try {
    return createRequire(import.meta.url)('node:sqlite');
  } catch (error) {
    throw new Error(
      `dofs/backends/node-sqlite needs node:sqlite, which Node ${process.versions.node} does not provide: ` +
        'use Node 22.13 or later (Node 24 recommended). The engine itself (dofs) and dofs/backends/do-sql do not need it.',
      { cause: error },
    );
  }
}

const { DatabaseSync } = loadNodeSqlite();

/** Options for {@link createNodeSqliteBackend}. */
export interface NodeSqliteBackendOptions {
  /** A file path, or `:memory:` (the default) for a private in-memory database. */
  path?: string;
  /** `PRAGMA synchronous` for file databases. `NORMAL` (the default) is durable in WAL mode except on power loss. */
  synchronous?: 'OFF' | 'NORMAL' | 'FULL' | 'EXTRA';
  /** How long a writer waits for another process's lock, in milliseconds. Default 5000. */
  busyTimeoutMs?: number;
  /** SQLite page cache size in KiB. Default 65536 (64 MiB). */
  cacheSizeKiB?: number;
  /**
   * Bytes kept free in a `<path>-reserve` file so deletions still work on a full disk (see
   * `reserve.ts`). Default 2 MiB; 0 keeps no reserve. File databases only.
   */
  reserveBytes?: number;
}

/** node:sqlite has no meaningful parameter cap below SQLite's own (32766); the engine still honours 100. */
const NODE_SQLITE_LIMITS: BackendLimits = Object.freeze({
  maxBoundParameters: 32_766,
  maxValueBytes: 1_000_000_000,
  maxStatementBytes: 1_000_000_000,
});

/** The reserve size asked for, checked: a whole number of bytes, 0 or more. */
function reserveSize(bytes: number | undefined): number {
  if (bytes === undefined) return DEFAULT_RESERVE_BYTES;
  if (!Number.isSafeInteger(bytes) || bytes < 0) {
    throw new RangeError(`reserveBytes must be a whole number of bytes, 0 or more (got ${bytes})`);
  }
  return bytes;
}

/** Creates a backend on a node:sqlite database: WAL and a busy timeout for files, statements cached. */
export function createNodeSqliteBackend(options: NodeSqliteBackendOptions = {}): StorageBackend {
  const path = options.path ?? ':memory:';
  const reserveBytes = reserveSize(options.reserveBytes);
  const db = new DatabaseSync(path);
  const inMemory = path === ':memory:' || path === '';
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
  }
  db.exec(`PRAGMA cache_size = ${-Math.trunc(options.cacheSizeKiB ?? 65_536)}`);
  db.exec('PRAGMA foreign_keys = ON');

  const statements = new Map<string, StatementSync>();
  const prepare = (sql: string): StatementSync => {
    let statement = statements.get(sql);
    if (!statement) {
      statement = db.prepare(sql);
      statements.set(sql, statement);
    }
    return statement;
  };
  const reserve = inMemory ? undefined : createSpaceReserve(`${path}-reserve`, reserveBytes);
  const transactions = createTransactions(db, () => reserve?.replenish());
  let closed = false;

  return {
    name: inMemory ? 'node-sqlite:memory' : 'node-sqlite:file',
    limits: NODE_SQLITE_LIMITS,
    all<T extends object>(sql: string, params: readonly SqlValue[] = []): T[] {
      transactions.checkOpen();
      return prepare(sql).all(...(params as SqlValue[])) as T[];
    },
    run(sql: string, params: readonly SqlValue[] = []): void {
      transactions.checkOpen();
      prepare(sql).run(...(params as SqlValue[]));
    },
    transaction: transactions.transaction,
    releaseReserve(): boolean {
      if (!reserve?.release()) return false;
      // Then move the WAL into the database and truncate it: a checkpoint stopped by the full
      // disk leaves committed frames whose pages the database file has no room for yet, and until
      // they are in, SQLite cannot start the WAL over and reuse its space.
      try {
        db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
      } catch {
        // Still no room, or inside a transaction: the retried deletion may fit anyway.
      }
      return true;
    },
    reclaimSpace(reclaim: { maxPages?: number; convert?: boolean } = {}): number {
      transactions.checkOpen();
      if (db.isTransaction) return 0;
      const pragma = (name: string): number => Number(Object.values(db.prepare(`PRAGMA ${name}`).get() ?? {})[0] ?? 0);
      const pageSize = pragma('page_size');
      const before = pragma('page_count');
      if (pragma('auto_vacuum') !== 2) {
        if (!reclaim.convert) return 0;
        // One full rebuild switches the mode (VACUUM copies the database; it needs that much free disk).
        db.exec('PRAGMA auto_vacuum = INCREMENTAL');
        db.exec('VACUUM');
      } else {
        const pages = reclaim.maxPages === undefined ? '' : `(${Math.max(1, Math.trunc(reclaim.maxPages))})`;
        if (pragma('freelist_count') === 0) return 0;
        db.prepare(`PRAGMA incremental_vacuum${pages}`).all();
      }
      const given = Math.max(0, before - pragma('page_count')) * pageSize;
      // The file is cut at a checkpoint: do one now, without waiting for other connections (a
      // checkpoint they keep from finishing cuts it later), so the space comes back at once.
      if (given > 0 && !inMemory) db.prepare('PRAGMA wal_checkpoint(PASSIVE)').all();
      return given;
    },
    close(): void {
      if (closed) return;
      closed = true;
      statements.clear();
      db.close();
    },
  };
}
