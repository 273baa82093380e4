/**
 * Directories removed while open: their last rows, kept in memory per database handle until their
 * last unpin, so fstat, fchmod, futimes and fchown through the open handles still answer (only
 * those handles can reach them). Filled and emptied by the pins in handles.ts.
 *
 * @module
 */
import type { Database } from './database.ts';
import type { NodeRow } from './nodes.ts';

const removedDirsByDb = new WeakMap<Database, Map<number, NodeRow>>();

/** The removed-while-open directories of `db`, by inode. */
export function removedDirs(db: Database): Map<number, NodeRow> {
  let map = removedDirsByDb.get(db);
  if (!map) {
    map = new Map();
    removedDirsByDb.set(db, map);
  }
  return map;
}
