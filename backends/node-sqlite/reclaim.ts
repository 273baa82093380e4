/**
 * Giving SQLite's free pages back to the file system, a bounded number at a time.
 *
 * @module
 */
import type { DatabaseSync as Connection } from 'node:sqlite';

/** Pages per vacuum step: one WAL auto-checkpoint interval (1 MiB at 4 KiB pages). */
const VACUUM_STEP_PAGES = 256;

/**
 * Returns up to `maxPages` free pages to the file system (incremental vacuum), or, with `convert`,
 * switches an older database to incremental vacuum with one VACUUM. Returns the bytes given back;
 * `gaveBack` runs when that is more than nothing (the space reserve may fit again).
 */
export function reclaimSpace(
  db: Connection,
  inMemory: boolean,
  reclaim: { maxPages?: number; convert?: boolean },
  gaveBack: () => void = () => {},
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
    if (!inMemory) db.prepare('PRAGMA wal_checkpoint(PASSIVE)').all();
  } else {
    let left = reclaim.maxPages === undefined ? Number.POSITIVE_INFINITY : Math.max(1, Math.trunc(reclaim.maxPages));
    // A step at a time, each checkpointed (without waiting for other connections): the file is
    // cut at a checkpoint, and the next step reuses the WAL instead of growing it, so the vacuum
    // fits on a nearly full disk too. A step that does not fit ends the run with what was given.
    try {
      while (left > 0 && pragma('freelist_count') > 0) {
        db.prepare(`PRAGMA incremental_vacuum(${Math.min(left, VACUUM_STEP_PAGES)})`).all();
        if (!inMemory) db.prepare('PRAGMA wal_checkpoint(PASSIVE)').all();
        left -= VACUUM_STEP_PAGES;
      }
    } catch (error) {
      if (pragma('page_count') >= before) throw error;
    }
  }
  const given = Math.max(0, before - pragma('page_count')) * pageSize;
  if (given > 0) gaveBack();
  return given;
}
