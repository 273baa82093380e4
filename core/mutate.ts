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
      const row = this.db.all<{ v: number }>("UPDATE vfs_meta SET v = v + 1 WHERE k = 'rev' RETURNING v - 1 AS v")[0];
      this.revision = Number(row.v);
    }
    return this.revision;
  }

  /** True when `rev` is this mutation's revision (without taking one if none was taken yet). */
  isOwn(rev: number): boolean {
    return this.revision !== 0 && rev === this.revision;
  }

  /** Records that `path` changed, for watchers. */
  note(eventType: ChangeEvent['eventType'], path: string): void {
    this.events.push({ eventType, path, rev: this.rev });
  }

  /** Records tombstones for removed paths: the change stream reports them as deletions. */
  tombstone(path: string): void {
    // Only the latest deletion of a path matters (it carries the path's current state): one row each.
    this.db.run('DELETE FROM vfs_changes WHERE path = ?', [path]);
    this.db.run("INSERT INTO vfs_changes (rev, path, op) VALUES (?, ?, 'delete')", [this.rev, path]);
  }
}

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
