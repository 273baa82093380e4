/**
 * A StorageBackend over Durable Object SQL (`ctx.storage.sql`), SQLite-backed objects only.
 *
 * @module dofs-sqlite/backends/do-sql
 */
import type { BackendLimits, SqlRow, SqlValue, StorageBackend } from '../../core/backend.ts';

/** The part of a Durable Object SQL cursor this backend uses. */
export interface SqlCursorLike {
  /** Reads every remaining row; BLOB columns arrive as `ArrayBuffer`. */
  toArray(): Record<string, unknown>[];
}

/** The part of `ctx.storage.sql` this backend uses. */
export interface SqlStorageLike {
  /** Runs one statement synchronously with positional `?` bindings. */
  exec(query: string, ...bindings: unknown[]): SqlCursorLike;
}

/** The part of `ctx.storage` (a `DurableObjectStorage`) this backend uses. */
export interface DurableObjectStorageLike {
  /** The object's SQLite database. */
  readonly sql: SqlStorageLike;
  /** Runs `fn` in a transaction (nested calls are nested transactions); a throw rolls it back. */
  transactionSync<T>(fn: () => T): T;
}

/** Options for {@link createDoSqlBackend}. */
export interface DoSqlBackendOptions {
  /** The backend's name in messages and test output. Default `do-sql`. */
  name?: string;
}

/** The documented Durable Object SQL limits. Local workerd accepts values up to about 8 MiB; production does not. */
const DO_SQL_LIMITS: BackendLimits = Object.freeze({
  maxBoundParameters: 100,
  maxValueBytes: 2_000_000,
  maxStatementBytes: 100_000,
  maxDatabaseBytes: 10_000_000_000,
});

/** Binds a value as the platform accepts it: it takes Uint8Array views as they are, but refuses bigints. */
function toBinding(value: SqlValue): unknown {
  if (typeof value !== 'bigint') return value;
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new RangeError(`do-sql cannot bind ${value}: outside the safe integer range of a JavaScript number`);
  }
  return Number(value);
}

/** Converts a platform row: ArrayBuffer columns become `Uint8Array`. */
function toRow(row: Record<string, unknown>): SqlRow {
  for (const key in row) {
    const value = row[key];
    if (value instanceof ArrayBuffer) row[key] = new Uint8Array(value);
  }
  return row as SqlRow;
}

/** Creates a backend on a SQLite-backed Durable Object's storage (`ctx.storage`). Use it only inside the object. */
export function createDoSqlBackend(
  storage: DurableObjectStorageLike,
  options: DoSqlBackendOptions = {},
): StorageBackend {
  let closed = false;
  const sql = storage.sql;
  const exec = (query: string, params: readonly SqlValue[]): SqlCursorLike => {
    if (closed) throw new Error('do-sql backend is closed');
    return sql.exec(query, ...params.map(toBinding));
  };

  return {
    name: options.name ?? 'do-sql',
    limits: DO_SQL_LIMITS,
    all<T extends object>(query: string, params: readonly SqlValue[] = []): T[] {
      return exec(query, params).toArray().map(toRow) as T[];
    },
    run(query: string, params: readonly SqlValue[] = []): void {
      // Drain the cursor: an unfinished statement (INSERT ... RETURNING) makes the object's
      // implicit commit fail with SQLITE_BUSY and the whole request with an internal error.
      exec(query, params).toArray();
    },
    transaction<T>(fn: () => T): T {
      // transactionSync nests natively (savepoints underneath); SQL BEGIN/SAVEPOINT are refused.
      if (closed) throw new Error('do-sql backend is closed');
      return storage.transactionSync(fn);
    },
    close(): void {
      closed = true;
    },
  };
}

export { type MeterableStorage, type MeteredCursorLike, meteredStorage, type SqlCosts } from './metered.ts';
