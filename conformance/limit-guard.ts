/**
 * A backend wrapper that fails any statement breaking the strictest platform limits, so every
 * conformance case proves the engine stays under them on every backend, not only on the one
 * that enforces them.
 *
 * @module
 */
import { type SqlValue, STRICTEST_LIMITS, type StorageBackend } from '../core/backend.ts';
import { LAST_CHANGE_SQL } from '../core/database.ts';

const encoder = new TextEncoder();

/** Counts of what the guard has seen, for cases that assert on batching. */
export interface GuardStats {
  /** Statements run. */
  statements: number;
  /** The most bound parameters one statement had. */
  maxParameters: number;
  /** The largest bound value, in bytes. */
  maxValueBytes: number;
  /** The longest statement text, in bytes. */
  maxStatementBytes: number;
  /**
   * Of {@link GuardStats.statements}, those reading back what the statement before changed
   * (`LAST_CHANGE_SQL`, `SELECT changes() …`): the engine asks only a backend whose `run` does not say it, so a case
   * comparing the engine's statements across backends leaves them out.
   */
  changeQueries: number;
}

function check(sql: string, params: readonly SqlValue[] | undefined, stats: GuardStats): void {
  stats.statements++;
  if (sql === LAST_CHANGE_SQL) stats.changeQueries++;
  const count = params?.length ?? 0;
  const sqlBytes = encoder.encode(sql).length;
  stats.maxParameters = Math.max(stats.maxParameters, count);
  stats.maxStatementBytes = Math.max(stats.maxStatementBytes, sqlBytes);
  if (count > STRICTEST_LIMITS.maxBoundParameters) {
    throw new Error(
      `limit guard: ${count} bound parameters (max ${STRICTEST_LIMITS.maxBoundParameters}) in: ${sql.slice(0, 80)}`,
    );
  }
  if (sqlBytes > STRICTEST_LIMITS.maxStatementBytes) throw new Error(`limit guard: statement of ${sqlBytes} bytes`);
  for (const value of params ?? []) {
    const size =
      value instanceof Uint8Array ? value.byteLength : typeof value === 'string' ? encoder.encode(value).length : 0;
    stats.maxValueBytes = Math.max(stats.maxValueBytes, size);
    if (size > STRICTEST_LIMITS.maxValueBytes) throw new Error(`limit guard: a value of ${size} bytes`);
  }
}

/** Wraps `backend` so that every statement is checked against {@link STRICTEST_LIMITS}. */
export function guardLimits(backend: StorageBackend): StorageBackend & {
  /** What the backend was asked so far. */
  readonly stats: GuardStats;
} {
  const stats: GuardStats = {
    statements: 0,
    maxParameters: 0,
    maxValueBytes: 0,
    maxStatementBytes: 0,
    changeQueries: 0,
  };
  return {
    name: backend.name,
    limits: backend.limits,
    stats,
    all: (sql, params) => {
      check(sql, params, stats);
      return backend.all(sql, params);
    },
    run: (sql, params) => {
      check(sql, params, stats);
      // What the backend says it changed goes on: the engine's use of it is what is tested.
      return backend.run(sql, params);
    },
    transaction: (fn) => backend.transaction(fn),
    // Passed through only where the backend has it: its absence is what callers test for.
    ...(backend.openTransaction ? { openTransaction: backend.openTransaction.bind(backend) } : {}),
    close: () => backend.close(),
  };
}
