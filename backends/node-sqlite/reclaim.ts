/**
 * Giving SQLite's free pages back to the file system, a bounded number at a time.
 *
 * @module
 */
import type { DatabaseSync as Connection } from 'node:sqlite';

/** Pages per vacuum step on a nearly full disk: one WAL auto-checkpoint interval (1 MiB at 4 KiB pages). */
const STEP_PAGES = 256;

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
    // Its copy of the whole database goes to a temporary file, not memory (connection.ts).
    const tempStore = pragma('temp_store');
    db.exec('PRAGMA temp_store = FILE');
    try {
      db.exec('VACUUM');
    } finally {
      db.exec(`PRAGMA temp_store = ${tempStore}`);
    }
    if (!inMemory) db.prepare('PRAGMA wal_checkpoint(PASSIVE)').all();
  } else {
    if (pragma('freelist_count') === 0) return 0;
    const asked = reclaim.maxPages === undefined ? undefined : Math.max(1, Math.trunc(reclaim.maxPages));
    const vacuum = (pages: number | undefined): void => {
      db.prepare(`PRAGMA incremental_vacuum${pages === undefined ? '' : `(${pages})`}`).all();
      // The file is cut at a checkpoint: do one now, without waiting for other connections (a
      // checkpoint they keep from finishing cuts it later), so the space comes back at once.
      if (!inMemory) db.prepare('PRAGMA wal_checkpoint(PASSIVE)').all();
    };
    try {
      vacuum(asked);
    } catch (error) {
      // One vacuum needs as much new WAL as it moves, which a nearly full disk does not have. Then
      // a step at a time, each checkpointed so the next reuses the WAL instead of growing it; a
      // step that still does not fit ends the run with what was given.
      try {
        for (let left = asked ?? Number.POSITIVE_INFINITY; left > 0 && pragma('freelist_count') > 0; left -= STEP_PAGES)
          vacuum(Math.min(left, STEP_PAGES));
      } catch {
        // What the steps before gave is kept.
      }
      if (pragma('page_count') >= before) throw error;
    }
  }
  const given = Math.max(0, before - pragma('page_count')) * pageSize;
  if (given > 0) gaveBack();
  return given;
}
