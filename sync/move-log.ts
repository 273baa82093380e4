/**
 * The directory moves of this side's change log, as the stream and the apply side read them: the
 * moves a peer has not seen yet, the moves this side applied from a peer, and paths carried
 * through either.
 *
 * @module
 */
import type { Database } from '../core/database.ts';
import { isSameOrBelow } from '../core/paths.ts';

/** A directory move of this side's log. */
export interface LoggedMove {
  rev: number;
  from: string;
  to: string;
}

/** Moves after `rev`, in order: this side's own (`replayed` false) or replayed from `peer` (true). */
function movesAfter(db: Database, rev: number, peer: string | undefined, replayed: boolean): LoggedMove[] {
  return db
    .all<{ rev: number; path: string; target: string }>(
      `SELECT rev, path, target FROM vfs_changes WHERE op = 'move' AND rev > ? AND ${replayed ? 'peer IS ?' : "peer IS NOT ? AND (peer IS NULL OR peer != '')"}
       ORDER BY rev, id`,
      [rev, peer ?? null],
    )
    .map((row) => ({ rev: Number(row.rev), from: row.path, to: row.target }));
}

/**
 * This side's own directory moves after `base` (not applied from `peer`), in order. The peer's
 * entries name paths as they were before these moves; {@link translatePath} carries them along, so
 * an edit made there inside a directory moved here lands where the directory is now.
 */
export function unseenMoves(db: Database, base: number, peer: string | undefined): LoggedMove[] {
  return movesAfter(db, base, peer, false);
}

/**
 * The moves this side applied from `peer` after `rev`, in order. The peer made them before this
 * side's own changes of the same paths reached it: a deletion or move recorded here before one of
 * them names a path the peer no longer has, and is carried through them when sent.
 */
export function appliedMoves(db: Database, peer: string, rev: number): LoggedMove[] {
  return movesAfter(db, rev, peer, true);
}

/** `path` carried through `moves` in order: a path at or below a move's source follows it. */
export function translatePath(moves: readonly Pick<LoggedMove, 'from' | 'to'>[], path: string): string {
  let result = path;
  for (const { from, to } of moves) if (isSameOrBelow(result, from)) result = to + result.slice(from.length);
  return result;
}
