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
  // As many rows per statement as the parameter limit allows: a removed tree marks every path below it.
  const perStatement = Math.max(1, Math.floor(db.limits.maxBoundParameters / 3));
  const all = [...paths];
  for (let start = 0; start < all.length; start += perStatement) {
    const part = all.slice(start, start + perStatement);
    ECHO_INSERTS[part.length] ??=
      `INSERT OR IGNORE INTO vfs_sync_echo (peer, path, rev) VALUES ${part.map(() => '(?, ?, ?)').join(', ')}`;
    db.run(
      ECHO_INSERTS[part.length],
      part.flatMap((path) => [peer, path, rev]),
    );
  }
}

/** The insert of {@link markEchoes} for each row count, built once (a backend caches statements by text). */
const ECHO_INSERTS: string[] = [];

/**
 * True when the node now at `path` was last changed, at local revision `rev`, by applying it from
 * `peer`. Marks name paths as they were then: directory moves made since (`moves`, this side's log
 * after some revision at or below `rev`; read when not given) are undone first.
 */
export function isEcho(db: Database, peer: string, path: string, rev: number, moves?: readonly LoggedMove[]): boolean {
  return echoedAt(db, peer, pathAsOf(moves ?? movesAfter(db, rev), path, rev), rev);
}
