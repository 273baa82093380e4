/**
 * Nested transactions on one node:sqlite connection that survive failures of COMMIT, RELEASE and
 * ROLLBACK themselves (a full disk, an I/O error), so the connection stays usable afterwards.
 *
 * @module
 */
import type { DatabaseSync } from 'node:sqlite';
import type { HeldTransaction } from '../../core/backend.ts';

/** The transaction half of the backend: run `fn` in a (nested) transaction, and a statement guard. */
export interface Transactions {
  /** Runs `fn` in a transaction (BEGIN IMMEDIATE at depth 0, SAVEPOINT below) and returns its result. */
  transaction<T>(fn: () => T): T;
  /**
   * Throws when a transaction is open at this level but SQLite has already ended it (it rolls a
   * transaction back by itself after some errors, such as SQLITE_FULL): a statement run now would
   * autocommit on its own, outside the atomic mutation it belongs to.
   */
  checkOpen(): void;
  /** Opens an outermost transaction held across calls (the contract's `openTransaction`). */
  open(): HeldTransaction;
}

/** Makes the nested-transaction logic for `db`; `afterCommit` runs after each outermost COMMIT. */
export function createTransactions(db: DatabaseSync, afterCommit: () => void = () => {}): Transactions {
  let depth = 0;
  // The error after which SQLite rolled the whole transaction back, while levels of ours are still open.
  let lost: unknown;

  /** The open levels think a transaction is running, but SQLite says none is. */
  const isLost = (): boolean => depth > 0 && !db.isTransaction;

  /**
   * Undoes the level whose savepoint is `savepoint` (depth 0: the whole transaction) after
   * `error`. Never throws: the caller rethrows `error`, which must not be masked by a failing
   * ROLLBACK ("cannot rollback - no transaction is active" after SQLite already rolled back).
   */
  const undo = (level: number, savepoint: string, error: unknown): void => {
    if (!db.isTransaction) {
      // SQLite ended the transaction itself. Outer levels must fail too, not commit half a mutation.
      if (level > 0) lost ??= error;
      return;
    }
    try {
      db.exec(level === 0 ? 'ROLLBACK' : `ROLLBACK TO ${savepoint}; RELEASE ${savepoint}`);
    } catch {
      // If even ROLLBACK failed, the transaction may still be open: try the whole one as a last resort
      // so the connection is not left inside a transaction no level owns.
      if (db.isTransaction && level === 0) {
        try {
          db.exec('ROLLBACK');
        } catch {
          // Nothing more to do here; the next BEGIN will report the state.
        }
      } else if (level > 0) lost ??= error;
    }
  };

  const checkOpen = (): void => {
    if (isLost()) throw lost ?? new Error('the transaction was rolled back by SQLite');
  };

  /** Ends the held level 0 (`depth` 1, no callback level running) with COMMIT or ROLLBACK. */
  const end = (held: { done: boolean }, commit: boolean): void => {
    if (held.done) return;
    if (depth !== 1) throw new Error('a held transaction cannot end inside a transaction() callback');
    held.done = true;
    try {
      if (!commit) undo(0, '', undefined);
      else {
        checkOpen();
        db.exec('COMMIT');
      }
    } catch (error) {
      undo(0, '', error);
      throw error;
    } finally {
      depth = 0;
      lost = undefined;
    }
    if (commit) afterCommit();
  };

  return {
    checkOpen,
    open(): HeldTransaction {
      if (depth !== 0) throw new Error('a transaction is already open');
      db.exec('BEGIN IMMEDIATE');
      depth = 1;
      const held = { done: false };
      return { commit: () => end(held, true), rollback: () => end(held, false) };
    },
    transaction<T>(fn: () => T): T {
      checkOpen();
      const level = depth;
      const savepoint = `dofs_sp_${level}`;
      // Depth 0 uses BEGIN IMMEDIATE so a second process waits on busy_timeout at the start
      // instead of failing when it first writes; deeper levels are savepoints.
      db.exec(level === 0 ? 'BEGIN IMMEDIATE' : `SAVEPOINT ${savepoint}`);
      depth = level + 1;
      let result: T;
      try {
        result = fn();
        // fn may have caught an inner failure after which SQLite rolled everything back.
        checkOpen();
        db.exec(level === 0 ? 'COMMIT' : `RELEASE ${savepoint}`);
      } catch (error) {
        undo(level, savepoint, error);
        throw error;
      } finally {
        // Set, not decremented: whatever failed above, the depth matches the levels still open.
        depth = level;
        if (level === 0) lost = undefined;
      }
      if (level === 0) afterCommit();
      return result;
    },
  };
}
