/**
 * Compaction of the change log, and the full manifest a peer resynchronises from when its cursor
 * is older than what the log still holds.
 *
 * @module
 */

import { checkOffset } from '../core/data.ts';
import type { Database } from '../core/database.ts';
import { readMeta, writeMeta } from '../core/schema.ts';
import { type ChangeCursor, type ChangeEntry, coalesceChanges, currentRev } from './changes.ts';

/** The revision at or below which deletions may have been dropped (0 when never compacted). */
export function compactedRev(db: Database): number {
  return Number(readMeta(db, 'compacted_rev') ?? 0);
}

/**
 * True when a peer at `cursor` may have missed deletions that compaction dropped, and so must
 * resynchronise from the manifest. A peer at the start has nothing to delete: it never needs to.
 */
export function needsResync(db: Database, cursor: ChangeCursor): boolean {
  if (cursor.rev === 0) return false;
  const compacted = compactedRev(db);
  return cursor.rev < compacted || (cursor.rev === compacted && cursor.at !== null);
}

/** Options for {@link compactChanges}. */
export interface CompactOptions {
  /**
   * Drop deletions at or below this revision. Default: the oldest position any known peer has
   * acknowledged in this side's stream, or everything when there is no peer.
   */
  horizon?: number;
  /** At most this many rows per call, so a run's work is bounded (default 10,000). */
  maxRows?: number;
}

/** What {@link compactChanges} did. */
export interface CompactResult {
  /** Deletion rows dropped. */
  removed: number;
  /** The revision compaction reached. */
  horizon: number;
  /** True when rows at or below the horizon remain (call again). */
  more: boolean;
}

/**
 * Drops deletion rows no known peer still needs: those at or below the oldest position any peer
 * has acknowledged, so no peer that keeps syncing misses a deletion. A peer whose cursor falls
 * below the horizon later resynchronises from the manifest instead. Live nodes are state, not log:
 * nothing about them is ever dropped. Bounded work per call; `more` says whether to call again.
 */
export function compactChanges(db: Database, options: CompactOptions = {}): CompactResult {
  return db.transaction(() => {
    // A cursor inside a revision has acknowledged only the revisions below it.
    const acknowledged = db.all<{ rev: number | null }>(
      "SELECT MIN(CASE WHEN at IS NULL THEN rev ELSE rev - 1 END) AS rev FROM vfs_sync_cursors WHERE kind = 'push'",
    )[0].rev;
    const limit = currentRev(db);
    const wanted =
      options.horizon === undefined
        ? Number(acknowledged ?? limit)
        : checkOffset(options.horizon, 'horizon', 'compact', '/');
    const target = Math.min(wanted, limit);
    const maxRows = Math.max(1, options.maxRows ?? 10_000);
    const rows = db.all<{ rev: number }>(
      'DELETE FROM vfs_changes WHERE id IN (SELECT id FROM vfs_changes WHERE rev <= ? ORDER BY rev, id LIMIT ?) RETURNING rev',
      [target, maxRows],
    );
    const more =
      rows.length === maxRows && db.all('SELECT 1 FROM vfs_changes WHERE rev <= ? LIMIT 1', [target]).length > 0;
    // Stopped early, only the revisions wholly dropped count as compacted (the last one may be partial).
    const reached = more ? Math.max(...rows.map((row) => Number(row.rev))) : target;
    if (reached > compactedRev(db)) writeMeta(db, 'compacted_rev', reached);
    return { removed: rows.length, horizon: reached, more };
  });
}

/** How soon after a change a Durable Object's maintenance alarm (compaction and gc) runs. */
export const COMPACTION_INTERVAL_MS = 60_000;

/**
 * Compacts until nothing at or below the horizon remains, each step a bounded transaction; what
 * `dofs gc` runs. Returns the rows dropped in all.
 */
export function compactFully(db: Database, options: Omit<CompactOptions, 'horizon'> = {}): number {
  let removed = 0;
  for (;;) {
    const step = compactChanges(db, options);
    removed += step.removed;
    if (!step.more) return removed;
  }
}

/** One page of the full manifest: every live path, in stream order. */
export interface ManifestPage {
  /** Live entries (files, directories, symlinks) after the requested position; directories before their contents. */
  entries: ChangeEntry[];
  /** Where the next page starts; null when this was the last page. */
  next: ChangeCursor | null;
  /** This side's revision when the page was read; changes after it arrive through the change stream. */
  rev: number;
}

/**
 * The live entries after `after` (null: from the start), at most about `limit` of them: the
 * change stream without deletions, so a whole manifest costs time linear in the workspace.
 */
export function readManifest(db: Database, after: ChangeCursor | null, limit: number): ManifestPage {
  const rev = currentRev(db);
  const batch = coalesceChanges(db, after ?? { rev: 0, at: null }, { limit, liveOnly: true, through: rev, ignore: [] });
  return { entries: batch.entries, next: batch.more ? batch.cursor : null, rev };
}
