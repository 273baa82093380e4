/**
 * Test helpers for backend authors and for code built on the engine, usable in Node and inside
 * workerd (nothing here imports a Node-only module or vitest).
 *
 * - {@link RecordingStorage} wraps a backend and records every statement the engine runs through
 *   it (or, with no backend, answers every query with no rows): assert what SQL an operation
 *   issues, count statements, or check a schema without a database.
 * - For a real database in unit tests, use `createNodeSqliteBackend()` from
 *   `dofs-sqlite/backends/node-sqlite` with no path: a private in-memory node:sqlite database (what
 *   `@cloudflare/dofs` calls `SQLiteTestStorage`).
 * - To prove a backend behaves like the others, run `runConformanceSuite` from `dofs-sqlite/conformance`.
 *
 * ```ts
 * import { openWorkspace } from 'dofs-sqlite';
 * import { createNodeSqliteBackend } from 'dofs-sqlite/backends/node-sqlite';
 * import { RecordingStorage } from 'dofs-sqlite/testing';
 *
 * const storage = new RecordingStorage(createNodeSqliteBackend());
 * const ws = openWorkspace(storage);
 * storage.clear();
 * ws.writeFile('/a.txt', 'hi');
 * console.log(storage.statements.length, storage.sql[0]);
 * ```
 *
 * @module dofs-sqlite/testing
 */
import type { BackendLimits, HeldTransaction, SqlRow, SqlValue, StorageBackend } from '../core/backend.ts';
import { STRICTEST_LIMITS } from '../core/backend.ts';

/** One statement a {@link RecordingStorage} saw. */
export interface RecordedStatement {
  /** `all` (rows wanted) or `run` (effect only). */
  readonly kind: 'all' | 'run';
  /** The SQL text, as the engine sent it. */
  readonly sql: string;
  /** The bound values (a copy of the array; BLOBs are not copied). */
  readonly params: readonly SqlValue[];
  /** Transaction depth when it ran: 0 outside any transaction, 1 in the outermost, and so on. */
  readonly depth: number;
  /** Rows returned (`all` only). */
  readonly rows?: number;
  /** The error it threw, if it failed. */
  readonly error?: unknown;
}

/**
 * A {@link StorageBackend} that records every statement. Given a backend, it passes everything
 * through to it; given none, it is a stand-in that runs nothing (every `all` returns no rows, every
 * transaction just calls its function), enough to see which statements the engine would issue,
 * as `initializeSchema` does on an empty database.
 */
export class RecordingStorage implements StorageBackend {
  /** Every statement seen since construction or the last {@link RecordingStorage.clear}, in order. */
  readonly statements: RecordedStatement[] = [];
  /** The backend statements are passed to, if any. */
  readonly inner: StorageBackend | undefined;
  #depth = 0;

  /**
   * The inner backend's held transaction, where it has one (its statements are recorded one level
   * deeper until it ends); absent otherwise, as on the inner backend.
   */
  readonly openTransaction?: () => HeldTransaction;

  /** @param inner the backend to pass statements to; without one, nothing runs. */
  constructor(inner?: StorageBackend) {
    this.inner = inner;
    const open = inner?.openTransaction?.bind(inner);
    if (!open) return;
    this.openTransaction = () => {
      const held = open();
      this.#depth++;
      let done = false;
      const end = (how: () => void): void => {
        if (done) return;
        try {
          how();
        } finally {
          done = true;
          this.#depth--;
        }
      };
      return { commit: () => end(() => held.commit()), rollback: () => end(() => held.rollback()) };
    };
  }

  /** `recording(<inner name>)`, or `recording` without a backend. */
  get name(): string {
    return this.inner ? `recording(${this.inner.name})` : 'recording';
  }

  /** The inner backend's limits, or {@link STRICTEST_LIMITS} without one. */
  get limits(): BackendLimits {
    return this.inner?.limits ?? STRICTEST_LIMITS;
  }

  /** The SQL text of every recorded statement, in order. */
  get sql(): string[] {
    return this.statements.map((statement) => statement.sql);
  }

  /** Forgets what was recorded so far. */
  clear(): void {
    this.statements.length = 0;
  }

  all<T extends object = SqlRow>(sql: string, params: readonly SqlValue[] = []): T[] {
    const base = { kind: 'all' as const, sql, params: [...params], depth: this.#depth };
    try {
      const rows = this.inner ? this.inner.all<T>(sql, params) : [];
      this.statements.push({ ...base, rows: rows.length });
      return rows;
    } catch (error) {
      this.statements.push({ ...base, error });
      throw error;
    }
  }

  run(sql: string, params: readonly SqlValue[] = []): void {
    const base = { kind: 'run' as const, sql, params: [...params], depth: this.#depth };
    try {
      this.inner?.run(sql, params);
      this.statements.push(base);
    } catch (error) {
      this.statements.push({ ...base, error });
      throw error;
    }
  }

  transaction<T>(fn: () => T): T {
    this.#depth++;
    try {
      return this.inner ? this.inner.transaction(fn) : fn();
    } finally {
      this.#depth--;
    }
  }

  close(): void {
    this.inner?.close();
  }
}
