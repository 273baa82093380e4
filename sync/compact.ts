/**
 * Compaction of the change log, and the full manifest a peer resynchronises from when its cursor
 * is older than what the log still holds.
 *
 * @module
 */

import { checkOffset } from '../core/data.ts';
import type { Database } from '../core/database.ts';
import { readMeta, writeMeta } from '../core/schema.ts';
import { type ChangeEntry, currentRev, materialiseChange } from './changes.ts';

/** The revision at or below which tombstones have been dropped (0 when never compacted). */
export function compactedRev(db: Database): number {
  return Number(readMeta(db, 'compacted_rev') ?? 0);
}

/**
 * Drops tombstones at or below `horizon`: by default the oldest position any known peer has
 * acknowledged in this side's stream, so no peer that keeps syncing misses a deletion. A peer
 * whose cursor falls below the horizon later resynchronises from the manifest instead.
 */
export function compactChanges(db: Database, options: { horizon?: number } = {}): { removed: number; horizon: number } {
  return db.transaction(() => {
    const acknowledged = db.all<{ rev: number | null }>(
      "SELECT MIN(rev) AS rev FROM vfs_sync_cursors WHERE kind = 'push'",
    )[0].rev;
    const limit = currentRev(db);
    const wanted =
      options.horizon === undefined
        ? Number(acknowledged ?? limit)
        : checkOffset(options.horizon, 'horizon', 'compact', '/');
    const horizon = Math.min(wanted, limit);
    const removed = db.all('DELETE FROM vfs_changes WHERE rev <= ? RETURNING 1', [horizon]).length;
    if (horizon > compactedRev(db)) writeMeta(db, 'compacted_rev', horizon);
    return { removed, horizon };
  });
}

/** One page of the full manifest: every live path, in path order. */
export interface ManifestPage {
  /** Live entries (files, directories, symlinks) after the requested path. */
  entries: ChangeEntry[];
  /** The last path of this page, to ask for the next one; null when this was the last page. */
  next: string | null;
  /** This side's revision when the page was read; changes after it arrive through the change stream. */
  rev: number;
}

/** The live entries after `afterPath` in path order, at most `limit` of them. */
export function readManifest(db: Database, afterPath: string | null, limit: number): ManifestPage {
  const rows = db.all<{ path: string }>(
    `WITH RECURSIVE tree(inode, path) AS (
       SELECT d.child, '/' || d.name FROM vfs_dirents d WHERE d.parent = 1
       UNION ALL
       SELECT d.child, tree.path || '/' || d.name FROM vfs_dirents d JOIN tree ON d.parent = tree.inode
     )
     SELECT path FROM tree WHERE path > ? ORDER BY path LIMIT ?`,
    [afterPath ?? '', limit + 1],
  );
  const page = rows.slice(0, limit);
  return {
    entries: page.map((row) => materialiseChange(db, row.path)),
    next: rows.length > limit ? page[page.length - 1].path : null,
    rev: currentRev(db),
  };
}
