/**
 * The directory moves of a change log, and paths carried across them. The change stream names every
 * node by its path as of its own revision: a node changed before a move is sent at its old path,
 * ahead of the move, so any reader, from any cursor, replays the log in order.
 *
 * @module
 */
import type { Database } from '../core/database.ts';
import { isSameOrBelow } from '../core/paths.ts';

/** A directory move of this side's log. */
export interface LoggedMove {
  /** Its revision. */
  rev: number;
  /** Where the directory was. */
  from: string;
  /** Where it went. */
  to: string;
}

/** The moves after revision `rev`, in order. */
export function movesAfter(db: Database, rev: number): LoggedMove[] {
  return db
    .all<{ rev: number; path: string; target: string }>(
      "SELECT rev, path, target FROM vfs_changes WHERE op = 'move' AND rev > ? ORDER BY rev, id",
      [rev],
    )
    .map((row) => ({ rev: Number(row.rev), from: row.path, to: row.target }));
}

const carry = (path: string, from: string, to: string): string =>
  isSameOrBelow(path, from) ? to + path.slice(from.length) : path;

/** Where a path that existed as of revision `rev` is now: carried through every later move. */
export function pathNow(moves: readonly LoggedMove[], path: string, rev: number): string {
  let result = path;
  for (const move of moves) if (move.rev > rev) result = carry(result, move.from, move.to);
  return result;
}

/** Where a path that exists now was as of revision `rev`: every later move undone, latest first. */
export function pathAsOf(moves: readonly LoggedMove[], path: string, rev: number): string {
  let result = path;
  for (let i = moves.length - 1; i >= 0 && moves[i].rev > rev; i--) result = carry(result, moves[i].to, moves[i].from);
  return result;
}
