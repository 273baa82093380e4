/**
 * Per-peer sync state: where this side stands in the peer's stream (the watermark), how much of
 * its own stream the peer has acknowledged (the push cursor), and this side's replica id.
 *
 * @module
 */
import type { Database } from '../core/database.ts';
import { fsError } from '../core/errors.ts';
import { readMeta, writeMeta } from '../core/schema.ts';
import { type ChangeCursor, compareChangeCursors, START_CURSOR } from './changes.ts';

type CursorKind = 'fetch' | 'push';

function readCursor(db: Database, peer: string, kind: CursorKind): ChangeCursor {
  const row = db.all<{ rev: number; at: number | null }>(
    'SELECT rev, at FROM vfs_sync_cursors WHERE peer = ? AND kind = ?',
    [peer, kind],
  )[0];
  return row ? { rev: Number(row.rev), at: row.at === null ? null : Number(row.at) } : START_CURSOR;
}

function writeCursor(db: Database, peer: string, kind: CursorKind, cursor: ChangeCursor): void {
  db.run(
    `INSERT INTO vfs_sync_cursors (peer, kind, rev, at) VALUES (?, ?, ?, ?)
     ON CONFLICT (peer, kind) DO UPDATE SET rev = excluded.rev, at = excluded.at`,
    [peer, kind, cursor.rev, cursor.at],
  );
}

/** How far into `peer`'s change stream this side has applied. */
export function readWatermark(db: Database, peer: string): ChangeCursor {
  return readCursor(db, peer, 'fetch');
}

/** Records how far into `peer`'s change stream this side has applied. */
export function writeWatermark(db: Database, peer: string, cursor: ChangeCursor): void {
  writeCursor(db, peer, 'fetch', cursor);
}

/** How far into this side's change stream `peer` has acknowledged. */
export function readPushCursor(db: Database, peer: string): ChangeCursor {
  return readCursor(db, peer, 'push');
}

/**
 * Records how far into this side's change stream `peer` has acknowledged, and forgets the echo
 * marks it covers, unless `forgetEchoes` is false: the replica's driver forgets them only after
 * its next whole pull, as the authority's directory moves are checked against the marks after the
 * position it knew when it moved (sync/moves.ts).
 */
export function writePushCursor(db: Database, peer: string, cursor: ChangeCursor, forgetEchoes = true): void {
  writeCursor(db, peer, 'push', cursor);
  if (forgetEchoes) forgetEchoesThrough(db, peer, cursor);
}

/** Forgets `peer`'s echo marks of the changes `cursor` covers. */
function forgetEchoesThrough(db: Database, peer: string, cursor: ChangeCursor): void {
  db.run('DELETE FROM vfs_sync_echo WHERE peer = ? AND rev <= ?', [
    peer,
    cursor.at === null ? cursor.rev : cursor.rev - 1,
  ]);
}

/**
 * Records that `peer` has applied this side's pushed stream through `cursor`, and so will not
 * need the echo marks it covers once this side has pulled everything `peer` did before that push.
 * Until then they are still needed: a directory move `peer` made before applying the push comes
 * with an older base, and the marks tell which nodes below it this side only applied from `peer`.
 */
export function deferEchoForgetting(db: Database, peer: string, cursor: ChangeCursor): void {
  writeMeta(db, `sync_forget:${peer}`, JSON.stringify(cursor));
}

/** The cursor of the last push whose echo marks wait to be forgotten (see {@link deferEchoForgetting}). */
export function deferredEchoForgetting(db: Database, peer: string): ChangeCursor | undefined {
  const value = readMeta(db, `sync_forget:${peer}`);
  return typeof value === 'string' ? (JSON.parse(value) as ChangeCursor) : undefined;
}

/**
 * Forgets `peer`'s echo marks covered by `cursor`, a push whose every earlier change of `peer`
 * this side has now pulled; and the deferral itself, unless a later push replaced it.
 */
export function forgetDeferredEchoes(db: Database, peer: string, cursor: ChangeCursor): void {
  forgetEchoesThrough(db, peer, cursor);
  const now = deferredEchoForgetting(db, peer);
  if (now && compareChangeCursors(now, cursor) === 0)
    db.run('DELETE FROM vfs_meta WHERE k = ?', [`sync_forget:${peer}`]);
}

/** The authority's moved directories (its inodes) this side still has to ask it to send as state. */
export function pendingExpansions(db: Database, peer: string): number[] {
  const value = readMeta(db, `sync_expand:${peer}`);
  return typeof value === 'string' ? (JSON.parse(value) as number[]) : [];
}

/** Records the authority's moved directories this side still has to ask for as state. */
export function writePendingExpansions(db: Database, peer: string, inodes: readonly number[]): void {
  if (inodes.length === 0) db.run('DELETE FROM vfs_meta WHERE k = ?', [`sync_expand:${peer}`]);
  else writeMeta(db, `sync_expand:${peer}`, JSON.stringify([...new Set(inodes)]));
}

/** Forgets everything about `peer` (after divergence, before a full resync). */
export function resetPeer(db: Database, peer: string): void {
  db.run('DELETE FROM vfs_sync_cursors WHERE peer = ?', [peer]);
  db.run('DELETE FROM vfs_sync_echo WHERE peer = ?', [peer]);
  db.run('DELETE FROM vfs_sync_refused WHERE peer = ?', [peer]);
}

/**
 * Checks that the cursor a receiver echoes after applying a push covers what was pushed
 * (`sent`); a receiver that applied less has diverged (EIO).
 */
export function assertAppliedPushCursor(sent: ChangeCursor, acknowledged: ChangeCursor): void {
  if (compareChangeCursors(acknowledged, sent) < 0) {
    throw fsError(
      'EIO',
      'sync',
      undefined,
      undefined,
      `the peer acknowledged ${JSON.stringify(acknowledged)} but was sent up to ${JSON.stringify(sent)}; resync`,
    );
  }
}

/** This side's stable replica id, made on first use. */
export function replicaId(db: Database): string {
  const existing = readMeta(db, 'replica_id');
  if (typeof existing === 'string') return existing;
  const id = crypto.randomUUID();
  writeMeta(db, 'replica_id', id);
  return id;
}

/** An entry one side refused, still unsynced: until it syncs or its path is resolved. */
export interface UnsyncedEntry {
  /** The path. */
  path: string;
  /** `pull`: this side refused the peer's entry; `push`: the peer refused this side's. */
  direction: 'pull' | 'push';
  /** The error code of the refusal. */
  code: string;
  /** The refusal's message. */
  reason: string;
}

/**
 * Records what one batch did for the unsynced list: the refused entries are added, every other
 * entry of the batch (now synced) is removed from it.
 */
export function recordRefusals(
  db: Database,
  peer: string,
  direction: 'pull' | 'push',
  paths: readonly string[],
  refused: ReadonlyArray<{ path: string; code: string; reason: string }>,
): void {
  // The usual batch: nothing refused now or before, so nothing to write or forget.
  const earlier = db.all('SELECT 1 FROM vfs_sync_refused WHERE peer = ? AND direction = ? LIMIT 1', [peer, direction]);
  if (refused.length === 0 && earlier.length === 0) return;
  const failed = new Set(refused.map((entry) => entry.path));
  for (const path of paths) {
    if (failed.has(path)) continue;
    db.run('DELETE FROM vfs_sync_refused WHERE peer = ? AND path = ? AND direction = ?', [peer, path, direction]);
  }
  for (const entry of refused) {
    db.run(
      `INSERT INTO vfs_sync_refused (peer, path, direction, code, reason) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (peer, path, direction) DO UPDATE SET code = excluded.code, reason = excluded.reason`,
      [peer, entry.path, direction, entry.code, entry.reason],
    );
  }
}

/** Entries refused by either side and not synced since, for every peer or one. */
export function unsyncedEntries(db: Database, peer?: string): UnsyncedEntry[] {
  const rows = db.all<UnsyncedEntry>(
    `SELECT path, direction, code, reason FROM vfs_sync_refused ${peer === undefined ? '' : 'WHERE peer = ?'} ORDER BY path`,
    peer === undefined ? [] : [peer],
  );
  return rows.map((row) => ({ path: row.path, direction: row.direction, code: row.code, reason: row.reason }));
}
