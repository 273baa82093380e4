/**
 * Deleting on a full disk: a mutation that frees space and fails because the storage is full
 * runs once more after the backend released its reserve (see `StorageBackend.releaseReserve`).
 *
 * @module
 */
import type { Database } from './database.ts';
import { isFsError } from './errors.ts';

/**
 * The syscalls of mutations that free space. Only these may spend the reserve: a write spending
 * it would leave nothing for the deletions that make room.
 */
const FREES_SPACE: ReadonlySet<string> = new Set(['unlink', 'rmdir', 'rm', 'truncate', 'gc']);

/**
 * Runs `attempt`; when it fails with a storage ENOSPC (one with a storage cause, not a quota) and
 * `syscall` frees space, asks the backend to release its reserve and, if it did, runs `attempt`
 * once more. `attempt` must leave nothing behind when it fails (one transaction). Callers that
 * group several deletions in one transaction (`dofs rm a b c`) wrap the whole transaction.
 */
export function withSpaceReserve<T>(db: Database, syscall: string, attempt: () => T): T {
  // Inside a transaction a retry cannot help (SQLite may have rolled the whole one back after
  // SQLITE_FULL): the caller that owns the outermost transaction retries it.
  if (db.inTransaction) return attempt();
  try {
    return attempt();
  } catch (error) {
    const full = isFsError(error, 'ENOSPC') && error.cause !== undefined;
    if (!full || !FREES_SPACE.has(syscall) || !db.backend.releaseReserve?.()) throw error;
    return attempt();
  }
}
