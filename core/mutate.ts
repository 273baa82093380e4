/**
 * The one way the engine changes a workspace: a transaction that takes at most one new
 * revision, records tombstones, and tells watchers only after the outermost transaction commits.
 *
 * @module
 */
import type { ChangeEvent, Database } from './database.ts';
import { fsError, wrapStorageError } from './errors.ts';
import { withSpaceReserve } from './reserve.ts';

/** The state of one running mutation, handed to the function that performs it. */
export class Mutation {
  /** The clock reading for every timestamp this mutation writes. */
  readonly now: number;
  readonly events: ChangeEvent[] = [];
  private revision = 0;
  private readonly db: Database;

  constructor(db: Database) {
    this.db = db;
    this.now = db.now();
  }

  /** This mutation's revision, taken from the counter the first time it is asked for. */
  get rev(): number {
    if (this.revision === 0) {
      // Two statements: cheaper than RETURNING (see Database.lastChange).
      this.db.run("UPDATE vfs_meta SET v = v + 1 WHERE k = 'rev'");
      this.revision = Number(this.db.all<{ v: number }>("SELECT v - 1 AS v FROM vfs_meta WHERE k = 'rev'")[0].v);
    }
    return this.revision;
  }

  /** True when `rev` is this mutation's revision (without taking one if none was taken yet). */
  isOwn(rev: number): boolean {
    return this.revision !== 0 && rev === this.revision;
  }

  /**
   * Records that the directory `inode` moved from `from` to `to`, subtree and all: one row however
   * large the subtree, which a peer replays as one rename (sync/moves.ts). `peer` names the peer it
   * was replayed from, if it was. The row keeps how far this side had applied each peer's stream:
   * what of the peer's own changes the move was made over (a cursor inside a revision counts only
   * the revisions below it).
   */
  move(from: string, to: string, inode: number, peer: string | null = null): void {
    this.db.run(
      `INSERT INTO vfs_changes (rev, path, op, target, inode, peer, bases)
       SELECT ?, ?, 'move', ?, ?, ?, json_group_object(peer, json_object('rev', rev, 'at', at))
       FROM vfs_sync_cursors WHERE kind = 'fetch'`,
      [this.rev, from, to, inode, peer],
    );
  }

  /** Records that `path` changed, for watchers. */
  note(eventType: ChangeEvent['eventType'], path: string): void {
    this.events.push({ eventType, path, rev: this.rev });
  }

  /** Records tombstones for removed paths: the change stream reports them as deletions. */
  tombstone(path: string): void {
    // Only the latest deletion of a path matters (it carries the path's current state): one row each.
    // Moves stay: each one is a step a peer replays in order.
    this.db.run("DELETE FROM vfs_changes WHERE path = ? AND op = 'delete'", [path]);
    this.db.run("INSERT INTO vfs_changes (rev, path, op) VALUES (?, ?, 'delete')", [this.rev, path]);
  }
}

/** A condition on a deletion row of `vfs_changes`: no directory move since it. */
export const NO_MOVE_SINCE =
  "AND NOT EXISTS (SELECT 1 FROM vfs_changes mv WHERE mv.op = 'move' AND mv.rev >= vfs_changes.rev)";

const active = new WeakMap<Database, Mutation>();

/**
 * Runs `fn` as one atomic mutation. Storage failures become EIO/ENOSPC with the cause attached;
 * on any failure nothing `fn` did remains. A mutation started inside another joins it (one
 * transaction, one revision). A mutation that frees space may run twice on a full disk (see
 * `reserve.ts`), each time with a fresh {@link Mutation}.
 */
export function mutate<T>(db: Database, syscall: string, path: string | undefined, fn: (m: Mutation) => T): T {
  const outer = active.get(db);
  if (outer) return fn(outer);
  if (db.readOnly) throw fsError('EROFS', syscall, path, undefined, 'the workspace was opened read-only');
  return withSpaceReserve(db, syscall, () => {
    const m = new Mutation(db);
    active.set(db, m);
    try {
      return db.transaction(() => {
        const result = fn(m);
        db.queueEvents(m.events);
        return result;
      });
    } catch (error) {
      throw wrapStorageError(error, syscall, path);
    } finally {
      active.delete(db);
    }
  });
}
