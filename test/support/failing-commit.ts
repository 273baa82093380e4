/**
 * A real backend whose held transaction's next COMMIT fails as a full disk would (rolled back,
 * then `database or disk is full`): what the group-commit tests make happen on purpose.
 *
 * @module
 */
import type { HeldTransaction, StorageBackend } from '../../core/backend.ts';

/** `backend` with a switch: set `fault.failNext` and the next held COMMIT fails, once. */
export function failingCommits(backend: StorageBackend): { backend: StorageBackend; fault: { failNext: boolean } } {
  const fault = { failNext: false };
  return {
    fault,
    backend: {
      ...backend,
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
