/**
 * Echo marks: the paths this side last changed by applying them from a peer, so they are not sent
 * back to it.
 *
 * @module
 */
import type { Database } from '../core/database.ts';
import { type LoggedMove, movesAfter, pathAsOf } from './move-log.ts';

/** The local revision at which this side last applied `path` from `peer`, if it did. */
export function echoRev(db: Database, peer: string, path: string): number | undefined {
  const row = db.all<{ rev: number }>('SELECT rev FROM vfs_sync_echo WHERE peer = ? AND path = ?', [peer, path])[0];
  return row === undefined ? undefined : Number(row.rev);
}

/** Marks `paths` as applied from `peer` at local revision `rev`. */
export function markEchoes(db: Database, peer: string, paths: Iterable<string>, rev: number): void {
  for (const path of paths) {
    db.run(
      'INSERT INTO vfs_sync_echo (peer, path, rev) VALUES (?, ?, ?) ON CONFLICT (peer, path) DO UPDATE SET rev = excluded.rev',
      [peer, path, rev],
    );
  }
}

/**
 * True when the node now at `path` was last changed, at local revision `rev`, by applying it from
 * `peer`. Marks name paths as they were then: directory moves made since (`moves`, this side's log
 * after some revision at or below `rev`; read when not given) are undone first.
 */
export function isEcho(db: Database, peer: string, path: string, rev: number, moves?: readonly LoggedMove[]): boolean {
  return echoRev(db, peer, pathAsOf(moves ?? movesAfter(db, rev), path, rev)) === rev;
}
