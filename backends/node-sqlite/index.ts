/**
 * A StorageBackend over `node:sqlite` (`DatabaseSync`), in memory or in a file.
 *
 * @module dofs-sqlite/backends/node-sqlite
 */
import type { StatementSync } from 'node:sqlite';
import type { BackendLimits, RunResult, SqlValue, StorageBackend } from '../../core/backend.ts';
import { openOnFullDisk } from './connection.ts';
import { reclaimSpace } from './reclaim.ts';
import { createSpaceReserve, reserveSize } from './reserve.ts';
import { allRows, returnArrays } from './rows.ts';
import { createTransactions } from './transactions.ts';

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

/** Creates a backend on a node:sqlite database: WAL and a busy timeout for files, statements cached. */
export function createNodeSqliteBackend(options: NodeSqliteBackendOptions = {}): StorageBackend {
  const path = options.path ?? ':memory:';
  const reserveBytes = reserveSize(options.reserveBytes);
  const inMemory = path === ':memory:' || path === '';
  const reserve = inMemory ? undefined : createSpaceReserve(`${path}-reserve`, reserveBytes);
  const db = openOnFullDisk(path, options, reserve);
  const statements = new Map<string, StatementSync>();
  const prepare = (sql: string): StatementSync => {
    let statement = statements.get(sql);
    if (!statement) {
      statement = returnArrays(db.prepare(sql));
      statements.set(sql, statement);
    }
    return statement;
  };
  const transactions = createTransactions(db, () => reserve?.replenish());
  let closed = false;

  return {
    name: inMemory ? 'node-sqlite:memory' : 'node-sqlite:file',
    limits: NODE_SQLITE_LIMITS,
    all<T extends object>(sql: string, params: readonly SqlValue[] = []): T[] {
      transactions.checkOpen();
      return allRows<T>(prepare(sql), params);
    },
    run(sql: string, params: readonly SqlValue[] = []): RunResult {
      transactions.checkOpen();
      // node:sqlite counts the changes anyway: handed on, they spare the engine a SELECT changes().
      return prepare(sql).run(...(params as SqlValue[]));
    },
    transaction: transactions.transaction,
    openTransaction: transactions.open,
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
    reclaimSpace: (reclaim = {}) => {
      transactions.checkOpen();
      return reclaimSpace(db, inMemory, reclaim, () => reserve?.replenish());
    },
    close(): void {
      if (closed) return;
      closed = true;
      statements.clear();
      db.close();
    },
  };
}
