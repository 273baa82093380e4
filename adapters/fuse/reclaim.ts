/**
 * Freeing at mount time the files a crash left removed-but-open, without taking another process's.
 *
 * Which files are open lives in each process's memory (the pins of core/handles.ts), so a nameless
 * file in the database is a crash's leftover only when no other process has the database open: a
 * second `--shared` mount, or a program with a provider over it, may be holding it open after its
 * unlink. SQLite tells: in WAL mode every open connection keeps a shared lock on the database file,
 * so the exclusive lock a write takes in exclusive locking mode is granted only to a connection
 * that is alone. The daemon asks for it without waiting, frees the nameless files under it, and
 * lets it go; when it is refused, the files stay for a later start that finds the database alone.
 *
 * @module
 */
import { type Database, reclaimOrphans, type StorageBackend } from '../../core/index.ts';

/** SQLite's SQLITE_BUSY, the primary result code of a lock held by another connection. */
const SQLITE_BUSY = 5;

/** True when `error` or one of its causes is SQLITE_BUSY. */
function isBusy(error: unknown): boolean {
  for (let at = error; at instanceof Error; at = at.cause) {
    if ((((at as { errcode?: number }).errcode ?? 0) & 0xff) === SQLITE_BUSY) return true;
  }
  return false;
}

/**
 * Deletes the nameless files of `db` (a node:sqlite `backend` in WAL mode, normal locking) when no
 * other connection has the database open. Returns how many were deleted, or undefined when another
 * connection has it open (nothing deleted). The backend's locking mode and busy timeout are as
 * they were afterwards.
 */
export function reclaimWhenAlone(backend: StorageBackend, db: Database): number | undefined {
  const [{ timeout }] = backend.all<{ timeout: number }>('PRAGMA busy_timeout');
  backend.run('PRAGMA busy_timeout = 0');
  backend.run('PRAGMA locking_mode = EXCLUSIVE');
  try {
    return db.transaction(() => {
      // A write without a change: it takes the exclusive lock, or fails at once when not alone.
      db.run("UPDATE vfs_meta SET v = v WHERE k = 'chunk_size'");
      return reclaimOrphans(db);
    });
  } catch (error) {
    if (isBusy(error)) return undefined;
    throw error;
  } finally {
    // Normal locking again: the lock goes at the next access, which this read is.
    backend.run('PRAGMA locking_mode = NORMAL');
    backend.all("SELECT v FROM vfs_meta WHERE k = 'chunk_size'");
    backend.run(`PRAGMA busy_timeout = ${Math.trunc(Number(timeout))}`);
  }
}
