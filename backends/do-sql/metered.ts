/**
 * Metering: what the statements run through a Durable Object's storage cost, in the units
 * Cloudflare bills (rows read and rows written, from each cursor), plus how many there were.
 *
 * @module
 */
import type { DurableObjectStorageLike, SqlCursorLike } from './index.ts';

/** Totals a {@link meteredStorage} adds to. */
export interface SqlCosts {
  /** Statements run. */
  statements: number;
  /** Rows read, summed from every cursor. */
  rowsRead: number;
  /** Rows written, summed from every cursor. */
  rowsWritten: number;
}

/** A Durable Object SQL cursor with its row counts (`SqlStorageCursor`). */
export interface MeteredCursorLike extends SqlCursorLike {
  /** Rows read so far; final once the cursor is exhausted. */
  readonly rowsRead: number;
  /** Rows written so far; final once the cursor is exhausted. */
  readonly rowsWritten: number;
}

/** `ctx.storage` as far as metering needs it: cursors that count rows. */
export interface MeterableStorage {
  /** The object's SQLite database. */
  readonly sql: {
    /** Runs one statement with its bindings; the cursor reports the rows read and written. */
    exec(query: string, ...bindings: unknown[]): MeteredCursorLike;
  };
  /** Runs `fn` in a transaction. */
  transactionSync<T>(fn: () => T): T;
}

/**
 * Wraps `ctx.storage` so that every statement run through it adds to `totals`: one statement, and
 * the rows its cursor read and wrote once the backend has consumed it. Pass the result to
 * `createDoSqlBackend` to learn what each operation costs.
 */
export function meteredStorage(storage: MeterableStorage, totals: SqlCosts): DurableObjectStorageLike {
  return {
    sql: {
      exec(query: string, ...bindings: unknown[]) {
        const cursor = storage.sql.exec(query, ...bindings);
        totals.statements++;
        return {
          toArray() {
            const rows = cursor.toArray();
            // Final counts: the cursor is exhausted.
            totals.rowsRead += cursor.rowsRead;
            totals.rowsWritten += cursor.rowsWritten;
            return rows;
          },
        };
      },
    },
    transactionSync: <T>(fn: () => T): T => storage.transactionSync(fn),
  };
}
