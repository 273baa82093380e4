/**
 * A real backend whose held transaction's next COMMIT fails as a full disk would (rolled back,
 * then `database or disk is full`), or whose next statement does (SQLite ends the whole
 * transaction itself, as it may on SQLITE_FULL): what the group-commit tests make happen on purpose.
 *
 * @module
 */
import type { HeldTransaction, StorageBackend } from '../../core/backend.ts';

/**
 * `backend` with switches: set `fault.failNext` and the next held COMMIT fails, once; set
 * `fault.fullNextStatement` and the next statement run for effect rolls the whole transaction
 * back and fails, once; set `fault.failNextTransaction` and the next outermost
 * `transaction()` (not held) is rolled back after its callback ran, and fails, once.
 */
export function failingCommits(backend: StorageBackend): {
  backend: StorageBackend;
  fault: { failNext: boolean; fullNextStatement: boolean; failNextTransaction: boolean };
} {
  const fault = { failNext: false, fullNextStatement: false, failNextTransaction: false };
  let depth = 0;
  return {
    fault,
    backend: {
      ...backend,
      transaction: (fn) => {
        const outermost = depth === 0;
        depth++;
        try {
          return backend.transaction(() => {
            const result = fn();
            if (outermost && fault.failNextTransaction) {
              fault.failNextTransaction = false;
              throw new Error('database or disk is full');
            }
            return result;
          });
        } finally {
          depth--;
        }
      },
      run: (sql, params) => {
        if (!fault.fullNextStatement) return backend.run(sql, params);
        fault.fullNextStatement = false;
        backend.run('ROLLBACK');
        throw new Error('database or disk is full');
      },
      openTransaction: (): HeldTransaction => {
        const held = backend.openTransaction?.() as HeldTransaction;
        return {
          commit: () => {
            if (!fault.failNext) return held.commit();
            fault.failNext = false;
            held.rollback();
            throw new Error('database or disk is full');
          },
          rollback: () => held.rollback(),
        };
      },
    },
  };
}
