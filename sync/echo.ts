/**
 * Echo marks: the paths this side last changed by applying them from a peer, so they are not sent
 * back to it.
 *
 * @module
 */
import type { Database } from '../core/database.ts';

/** The local revision at which this side last applied `path` from `peer`, if it did. */
export function echoRev(db: Database, peer: string, path: string): number | undefined {
  const row = db.all<{ rev: number }>('SELECT rev FROM vfs_sync_echo WHERE peer = ? AND path = ?', [peer, path])[0];
  return row === undefined ? undefined : Number(row.rev);
}

/** The upsert of `count` marks, by count (a batch's last statement is shorter). */
const UPSERT_MARKS: string[] = [];

/**
 * Marks `paths` as applied from `peer` at local revision `rev`. Many rows per statement: a pushed
 * batch marks up to 256 paths, and one statement per path cost a Durable Object far more than its
 * rows (per-statement overhead dominated a 100,000-file first sync; see docs/performance.md).
 */
export function markEchoes(db: Database, peer: string, paths: Iterable<string>, rev: number): void {
  const all = [...paths];
  const perStatement = Math.floor(db.limits.maxBoundParameters / 3);
  for (let start = 0; start < all.length; start += perStatement) {
    const batch = all.slice(start, start + perStatement);
    const params: (string | number)[] = [];
    for (const path of batch) params.push(peer, path, rev);
    UPSERT_MARKS[batch.length] ??=
      `INSERT INTO vfs_sync_echo (peer, path, rev) VALUES ${batch.map(() => '(?, ?, ?)').join(', ')} ` +
      'ON CONFLICT (peer, path) DO UPDATE SET rev = excluded.rev';
    db.run(UPSERT_MARKS[batch.length], params);
  }
}
