/**
 * Directory moves in sync (docs/sync-protocol.md, "Moves"). A rename of a directory is one change
 * row whatever its size (`Mutation.move`). The receiver replays it as one rename when its copy of
 * the tree is the one the sender moved: nothing in it, nor at the destination, changed on the
 * receiver after the move's base (what of the receiver's changes the sender had applied when it
 * moved). Otherwise the move is taken as what it amounts to in state, the deletion of the old
 * path with edits made here kept, and the sender restamps the moved tree so it travels as state.
 * Either way the outcome is the state-based one, under which nothing is lost.
 *
 * @module
 */
import type { Database } from '../core/database.ts';
import { mutate } from '../core/mutate.ts';
import { isSameOrBelow } from '../core/paths.ts';
import { restampSubtree, SUBTREE, tombstoneSubtree } from '../core/subtree.ts';
import {
  type ChangeCursor,
  type ChangeEntry,
  changedAfter,
  DELETION_POSITION,
  locationAt,
  type MoveEntry,
} from './changes.ts';
import { echoedAt, isEcho } from './echo.ts';
import { movesAfter, pathAsOf, pathNow } from './move-log.ts';

/** True when `inode` is still a directory (a moved one may since have gone, its inode reused). */
const isDirectory = (db: Database, inode: number): boolean =>
  db.all<{ type: string }>('SELECT type FROM vfs_nodes WHERE inode = ?', [inode])[0]?.type === 'dir';

/** `path` and the bounds of every path strictly below it ('0' follows '/'). */
const range = (path: string): [string, string, string] => [path, `${path}/`, `${path}0`];

/**
 * True when something at or below `path` changed on this side after `base` and not by applying it
 * from `peer`: a node, a deletion, a move, or an entry refused either way. Rows name paths as of
 * their revisions: the tree's earlier names (before this side's moves since `base`) count too.
 */
function changedSince(db: Database, path: string, base: ChangeCursor, peer: string): boolean {
  // Rows of the cursor's own revision are read too, and each is placed against the cursor.
  const from = base.rev - 1;
  const after = (rev: number, at: number): boolean => changedAfter(rev, at, base);
  const moves = movesAfter(db, from);
  const location = locationAt(db, path);
  const node = location?.realPath === path ? location.node : undefined;
  if (node) {
    const changed = db.all<{ path: string; rev: number; inode: number }>(
      `${SUBTREE} SELECT sub.path, n.rev, n.inode FROM sub JOIN vfs_nodes n ON n.inode = sub.inode WHERE n.rev > ?`,
      [node.inode, path, from],
    );
    const local = (row: { path: string; rev: number; inode: number }) =>
      after(Number(row.rev), Number(row.inode)) && !isEcho(db, peer, row.path, Number(row.rev), moves);
    if (changed.some(local)) return true;
  }
  const names = new Set([path, ...moves.map((move) => pathAsOf(moves, path, move.rev - 1))]);
  for (const name of names) {
    const rows = db.all<{
      id: number;
      rev: number;
      path: string;
      op: string;
      target: string | null;
      peer: string | null;
    }>(
      `SELECT id, rev, path, op, target, peer FROM vfs_changes WHERE rev > ? AND (path = ? OR (path > ? AND path < ?))
       UNION ALL SELECT id, rev, path, op, target, peer FROM vfs_changes
       WHERE op = 'move' AND rev > ? AND (target = ? OR (target > ? AND target < ?))`,
      [from, ...range(name), from, ...range(name)],
    );
    for (const row of rows) {
      const rev = Number(row.rev);
      if (!after(rev, DELETION_POSITION + Number(row.id))) continue;
      const here = [row.path, row.target].some((p) => p !== null && isSameOrBelow(pathNow(moves, p, rev), path));
      if (!here) continue;
      if (row.op === 'move' ? row.peer !== peer : !echoedAt(db, peer, row.path, rev)) return true;
    }
    const refused = db.all(
      'SELECT 1 FROM vfs_sync_refused WHERE peer = ? AND (path = ? OR (path > ? AND path < ?)) LIMIT 1',
      [peer, ...range(name)],
    );
    if (refused.length > 0) return true;
  }
  return false;
}

/**
 * Whether `move` can be replayed here as one rename: its source is a real directory, its
 * destination free (or an empty directory) under a real directory, and neither tree changed here
 * after the move's base other than by applying the sender's own changes. Without a conflict
 * policy (`checked` false) only the shape is checked: the incoming state simply wins.
 */
export function replayable(db: Database, move: MoveEntry, peer: string | undefined, checked: boolean): boolean {
  const { from, path: to } = move;
  if (from === to || isSameOrBelow(to, from) || isSameOrBelow(from, to)) return false;
  const source = locationAt(db, from);
  if (source?.node?.type !== 'dir' || source.realPath !== from) return false;
  const target = locationAt(db, to);
  if (target === undefined || target.realPath !== to || target.parent.type !== 'dir') return false;
  if (target.node && target.node.type !== 'dir') return false;
  if (!checked) return true;
  const sender = peer ?? '';
  const base = move.seen ?? move.base;
  return !changedSince(db, from, base, sender) && !changedSince(db, to, base, sender);
}

/**
 * This side's own directory moves not yet pushed (after `pushed`) that `entries` from its
 * authority touch, at or below either end, become state: the authority changed that tree since
 * the move was made, so the move is no longer a rename of the tree it has. Every move that stays
 * was made over all of the authority's stream applied so far (the driver pushes it with `seen`).
 */
export function settleMetMoves(db: Database, entries: readonly ChangeEntry[], pushed: ChangeCursor): void {
  settleMoves(db, pushed, (move) => {
    const touches = (path: string): boolean => isSameOrBelow(path, move.path) || isSameOrBelow(path, move.target);
    return entries.some((entry) => touches(entry.path) || (entry.type === 'move' && touches(entry.from)));
  });
}

/**
 * Turns this side's own moves after `pushed` that `which` picks (all by default: for an authority
 * that does not take moves) into state: a deletion of every path the tree held when it moved and
 * the moved tree restamped, as a rename recorded state-wise would have been.
 */
export function settleMoves(
  db: Database,
  pushed: ChangeCursor,
  which: (move: { path: string; target: string }) => boolean = () => true,
): void {
  const moves = db.all<{ id: number; rev: number; path: string; target: string; inode: number }>(
    "SELECT id, rev, path, target, inode FROM vfs_changes WHERE op = 'move' AND peer IS NULL AND rev >= ?",
    [pushed.rev],
  );
  const unpushed = moves.filter((move) => changedAfter(Number(move.rev), DELETION_POSITION + Number(move.id), pushed));
  for (const move of unpushed.filter(which)) {
    mutate(db, 'sync', undefined, (m) => {
      db.run('DELETE FROM vfs_changes WHERE id = ?', [move.id]);
      // Every path the tree held when it moved goes: what is still in it, and what left it since
      // (deleted or moved out, recorded as deletions at its names then, carried back to the move).
      const rev = Number(move.rev);
      const later = movesAfter(db, rev);
      // The deletions are of this revision: they name the old paths where later moves of their
      // ancestors have carried them (a parent moved since), or a peer would find them gone there.
      const old = pathNow(later, move.path, rev);
      const left = db.all<{ rev: number; path: string }>(
        "SELECT rev, path FROM vfs_changes WHERE op = 'delete' AND rev > ?",
        [rev],
      );
      for (const row of left) {
        const then = pathAsOf(
          later.filter((other) => other.rev < Number(row.rev)),
          row.path,
          rev,
        );
        if (isSameOrBelow(then, move.target))
          m.tombstone(pathNow(later, move.path + then.slice(move.target.length), rev));
      }
      if (!isDirectory(db, move.inode)) m.tombstone(old);
      else {
        tombstoneSubtree(db, m, move.inode, old);
        restampSubtree(db, m, move.inode);
      }
    });
  }
}

/**
 * Where the directory moves made here after `base` (not replayed from `peer`) put their trees: few,
 * those the peer has not seen.
 */
export function moveTargetsSince(db: Database, base: ChangeCursor, peer: string | undefined): string[] {
  return db
    .all<{ id: number; rev: number; target: string }>(
      `SELECT id, rev, target FROM vfs_changes WHERE op = 'move' AND rev >= ? AND (peer IS NULL OR peer != ?)`,
      [base.rev, peer ?? ''],
    )
    .filter((move) => changedAfter(Number(move.rev), DELETION_POSITION + Number(move.id), base))
    .map((move) => move.target);
}

/**
 * True when a directory was moved onto `path` or one of its ancestors here after `base` (not
 * replayed from `peer`): the moved tree keeps its nodes' revisions, so the move is what marks every
 * path in it as changed here.
 */
export function movedHereSince(db: Database, path: string, base: ChangeCursor, peer: string | undefined): boolean {
  // Each move compared with the path here: naming every ancestor in the statement cost the square
  // of the depth per path instead.
  return moveTargetsSince(db, base, peer).some((target) => isSameOrBelow(path, target));
}

/**
 * Makes the trees the moves put in place travel as state: every node of each moved directory
 * (named by inode, wherever it is now) takes a new revision. Called on the side that made the
 * moves when the peer could not replay them; doing it twice only sends the same state twice.
 */
export function expandMoves(db: Database, inodes: readonly number[]): void {
  if (inodes.length === 0) return;
  mutate(db, 'sync', undefined, (m) => {
    for (const inode of inodes) if (isDirectory(db, inode)) restampSubtree(db, m, inode);
  });
}
