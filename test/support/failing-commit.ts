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
 * back and fails, once.
 */
export function failingCommits(backend: StorageBackend): {
  backend: StorageBackend;
  fault: { failNext: boolean; fullNextStatement: boolean };
} {
  const fault = { failNext: false, fullNextStatement: false };
  return {
    fault,
    backend: {
      ...backend,
      run: (sql, params) => {
        if (!fault.fullNextStatement) return backend.run(sql, params);
        fault.fullNextStatement = false;
        backend.run('ROLLBACK');
        throw new Error('database or disk is full');
      },
      transaction: (fn) => backend.transaction(fn),
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
