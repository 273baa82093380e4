/**
 * Giving SQLite's free pages back to the file system, a bounded number at a time.
 *
 * @module
 */
import type { DatabaseSync as Connection } from 'node:sqlite';

/**
 * Returns up to `maxPages` free pages to the file system (incremental vacuum), or, with `convert`,
 * switches an older database to incremental vacuum with one VACUUM. Returns the bytes given back.
 */
export function reclaimSpace(
  db: Connection,
  inMemory: boolean,
  reclaim: { maxPages?: number; convert?: boolean },
): number {
  if (db.isTransaction) return 0;
  const pragma = (name: string): number => Number(Object.values(db.prepare(`PRAGMA ${name}`).get() ?? {})[0] ?? 0);
  const pageSize = pragma('page_size');
  const before = pragma('page_count');
  if (pragma('auto_vacuum') !== 2) {
    if (!reclaim.convert) return 0;
    // One full rebuild switches the mode (VACUUM copies the database; it needs that much free disk).
    db.exec('PRAGMA auto_vacuum = INCREMENTAL');
    db.exec('VACUUM');
  } else {
    const pages = reclaim.maxPages === undefined ? '' : `(${Math.max(1, Math.trunc(reclaim.maxPages))})`;
    if (pragma('freelist_count') === 0) return 0;
    db.prepare(`PRAGMA incremental_vacuum${pages}`).all();
  }
  const given = Math.max(0, before - pragma('page_count')) * pageSize;
  // The file is cut at a checkpoint: do one now, without waiting for other connections (a
  // checkpoint they keep from finishing cuts it later), so the space comes back at once.
  if (given > 0 && !inMemory) db.prepare('PRAGMA wal_checkpoint(PASSIVE)').all();
  return given;
}
