/**
 * Echo marks: the paths this side changed by applying them from a peer, with the revision of each
 * time, so they are not sent back to it. A path may hold several: after a directory move, an old
 * node keeps its mark under its old name while a new node there gets its own.
 *
 * @module
 */
import type { Database } from '../core/database.ts';
import { type LoggedMove, movesAfter, pathAsOf } from './move-log.ts';

/** True when this side applied `path` from `peer` at its local revision `rev`. */
export function echoedAt(db: Database, peer: string, path: string, rev: number): boolean {
  return db.all('SELECT 1 FROM vfs_sync_echo WHERE peer = ? AND path = ? AND rev = ?', [peer, path, rev]).length > 0;
}

/** Marks `paths` as applied from `peer` at local revision `rev`. */
export function markEchoes(db: Database, peer: string, paths: Iterable<string>, rev: number): void {
  for (const path of paths) {
    db.run('INSERT OR IGNORE INTO vfs_sync_echo (peer, path, rev) VALUES (?, ?, ?)', [peer, path, rev]);
  }
}

/**
 * True when the node now at `path` was last changed, at local revision `rev`, by applying it from
 * `peer`. Marks name paths as they were then: directory moves made since (`moves`, this side's log
 * after some revision at or below `rev`; read when not given) are undone first.
 */
export function isEcho(db: Database, peer: string, path: string, rev: number, moves?: readonly LoggedMove[]): boolean {
  return echoedAt(db, peer, pathAsOf(moves ?? movesAfter(db, rev), path, rev), rev);
}
