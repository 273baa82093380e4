/**
 * The StorageBackend contract: a tiny synchronous SQLite driver.
 *
 * The engine owns every SQL statement (one dialect: SQLite). A backend only runs
 * statements, nests transactions, declares its limits and closes. Statement caching,
 * pragmas and type conversion live in the backend. See docs/writing-a-backend.md.
 *
 * @module
 */

/** A value bound to, or read from, a statement. BLOBs are always `Uint8Array`. */
export type SqlValue = null | number | bigint | string | Uint8Array;

/** One result row, keyed by column name. */
export type SqlRow = Record<string, SqlValue>;

/**
 * What a statement run by {@link StorageBackend.run} changed, with the meaning of SQLite's
 * `sqlite3_changes()` and `sqlite3_last_insert_rowid()` (node:sqlite's `run` returns exactly this).
 */
export interface RunResult {
  /** The rows it inserted, updated or deleted, not counting rows its triggers changed. */
  changes: number | bigint;
  /** The rowid of the last row inserted on this connection (triggers' inserts do not count). */
  lastInsertRowid: number | bigint;
}

/** The hard limits of a backend. The engine honours the strictest of these and {@link STRICTEST_LIMITS}. */
export interface BackendLimits {
  /** Most bound parameters in one statement. */
  readonly maxBoundParameters: number;
  /** Largest string or BLOB value, and largest row, in bytes. */
  readonly maxValueBytes: number;
  /** Longest SQL statement text, in bytes. */
  readonly maxStatementBytes: number;
  /** The most bytes the whole database may hold, when the platform caps it (a Durable Object: 10 GB). */
  readonly maxDatabaseBytes?: number;
}

/**
 * The strictest known limits (those of Durable Object SQL). The engine never exceeds them on any
 * backend, so a workspace behaves identically everywhere and can move between backends.
 */
export const STRICTEST_LIMITS: BackendLimits = Object.freeze({
  maxBoundParameters: 100,
  maxValueBytes: 2_000_000,
  maxStatementBytes: 100_000,
});

/**
 * A synchronous SQLite driver. Every method is synchronous: both real platforms
 * (Durable Object SQL and node:sqlite) are, and the engine relies on it for atomicity.
 *
 * Implementations must:
 * - return BLOB columns as `Uint8Array` (not ArrayBuffer, not Buffer subclasses that alias a pool);
 * - make {@link StorageBackend.transaction} nestable, an inner failure rolling back only the inner work;
 * - throw the platform's error unchanged (the engine wraps it with `cause`).
 */
export interface StorageBackend {
  /** A short name for messages and test output, such as `node-sqlite:memory` or `do-sql`. */
  readonly name: string;
  /** The platform's limits. */
  readonly limits: BackendLimits;
  /**
   * Runs one statement with positional `?` parameters and returns every row.
   * The engine counts a statement's effect with `SELECT changes(), last_insert_rowid()` right
   * after it, so both must run on one connection.
   */
  all<T extends object = SqlRow>(sql: string, params?: readonly SqlValue[]): T[];
  /**
   * Runs one statement for its effect only. It may return what the statement changed, as
   * node:sqlite's `StatementSync.run` does ({@link RunResult}): the engine then takes the change
   * count and the new rowid from it instead of asking with `SELECT changes(), last_insert_rowid()`.
   * A backend that cannot say both, with SQLite's meaning, returns nothing.
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: backends written before RunResult return void
  run(sql: string, params?: readonly SqlValue[]): RunResult | void;
  /**
   * Runs `fn` inside a transaction and returns its result. If `fn` throws, everything it did is
   * rolled back and the error is rethrown. Calls nest: a failing inner transaction rolls back only
   * its own work, and the outer one may catch the error and carry on.
   */
  transaction<T>(fn: () => T): T;
  /** Releases the connection. Further calls throw. Closing twice is harmless. */
  close(): void;
  /**
   * Frees emergency space kept for deletions (node-sqlite: the `<db>-reserve` file). The engine
   * calls it when a mutation that frees space (unlink, rm, rmdir, gc, …) fails because the
   * storage is full, and runs that mutation once more when it returns true. Optional: backends
   * with no reserve leave it out.
   */
  releaseReserve?(): boolean;
  /**
   * Gives free pages of the database back to the file system, at most `maxPages` of them (all when
   * absent), and returns the bytes given back. node-sqlite: `PRAGMA incremental_vacuum` on a
   * database in `auto_vacuum = INCREMENTAL` mode (new databases are created so); with `convert`,
   * an older database in `auto_vacuum = NONE` is switched first, which costs one full `VACUUM`
   * (a copy of the database). Called outside transactions by gc. Optional: a platform that
   * manages its own storage (Durable Objects) leaves it out.
   */
  reclaimSpace?(options?: { maxPages?: number; convert?: boolean }): number;
  /**
   * Opens an outermost transaction that stays open after this call returns, until the returned
   * {@link HeldTransaction} commits or rolls it back: group commit, several mutations arriving on
   * separate turns of the event loop (a FUSE daemon's requests) sharing one COMMIT. Meanwhile every
   * {@link StorageBackend.transaction} nests inside it as an inner level. Throws when a transaction
   * is already open. Optional: a platform whose transactions are callbacks only (Durable Objects'
   * `transactionSync`) leaves it out, and its callers commit every mutation by itself.
   */
  openTransaction?(): HeldTransaction;
}

/** A transaction held open across calls (see {@link StorageBackend.openTransaction}). */
export interface HeldTransaction {
  /**
   * Commits everything done since it was opened. Throws when called from inside a
   * {@link StorageBackend.transaction} callback, or when COMMIT fails: then nothing done since the
   * opening remains, and the backend is ready for new transactions.
   */
  commit(): void;
  /** Undoes everything done since it was opened. Never throws for a transaction SQLite already ended. */
  rollback(): void;
}
