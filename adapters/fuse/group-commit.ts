/**
 * Group commit for the mount: changes are answered before they are committed, and the changes of
 * every request arriving within a few milliseconds share one SQLite COMMIT, as a journaling
 * filesystem commits its journal every few seconds rather than at every call. A single-threaded
 * caller (a shell loop, `git add`, `rm -r`) sends one request at a time, so without this each
 * metadata change paid a COMMIT of its own (about half its cost, measured in performance.md).
 *
 * The group is committed {@link GROUP_WINDOW_MS} after it opened, and at once whenever a request
 * needs durability (fsync, fsyncdir, fallocate: the mount decides, see lowlevel.ts; a close does
 * not, as on a local filesystem) or another part of the daemon is about to read or change the
 * database (gc, sync, shutdown). A crash of the daemon loses at most the changes of the last
 * window, never anything an fsync or fsyncdir acknowledged. If a COMMIT itself fails (a full disk),
 * what the group held is undone: the kernel is told to forget every name and inode it was answered
 * about meanwhile, and every change commits before its reply for {@link CAREFUL_MS}, so deletions
 * on a full disk get the engine's space reserve.
 *
 * @module
 */
import type { Database, HeldTransaction } from '../../core/index.ts';

/** How long a group stays open at most, in milliseconds. */
export const GROUP_WINDOW_MS = 5;
/** How long after a failed group commit every change commits before its reply, in milliseconds. */
export const CAREFUL_MS = 10_000;

/** What the kernel was told about while a group was open: forgotten again if the group is lost. */
export interface Touched {
  /** Entries (parent inode, name) created, removed or renamed. */
  readonly entries: Array<[number, string]>;
  /** Inodes whose attributes changed. */
  readonly inodes: Set<number>;
}

/** The mount's group commit. */
export interface GroupCommit {
  /**
   * Makes sure a group is open (opening one schedules its commit); false when changes must commit
   * by themselves: the backend cannot hold a transaction, or a group commit failed recently.
   */
  join(): boolean;
  /** True while a group is open. */
  readonly open: boolean;
  /** True while a group's COMMIT runs (its change events are the mount's own). */
  readonly committing: boolean;
  /** Records an entry or inode the kernel is answered about inside the open group. */
  touch(parent: number, name?: string): void;
  /**
   * Commits the open group now (nothing without one). On failure the group is rolled back,
   * `onLost` has been told, and the error is rethrown.
   */
  commit(): void;
  /** Figures for /stats: groups opened, changes answered before their commit, groups lost, milliseconds spent in COMMIT. */
  readonly stats: { groups: number; changes: number; lost: number; commitMillis: number };
}

/** Options for {@link createGroupCommit}. */
export interface GroupCommitOptions {
  /** Told what a failed group held, after its rollback. */
  onLost(touched: Touched, error: unknown): void;
  /** Milliseconds a group stays open; {@link GROUP_WINDOW_MS} by default. */
  windowMs?: number;
  /**
   * True when the disk under the database is nearly full: no group opens, so every change commits
   * before its reply and a full disk is the error of the call that met it (a close included), not
   * of a group lost after its closes were answered. Asked before each group opens.
   */
  nearlyFull?(): boolean;
}

/** Makes the group commit of `db`'s mount. */
export function createGroupCommit(db: Database, options: GroupCommitOptions): GroupCommit {
  const windowMs = options.windowMs ?? GROUP_WINDOW_MS;
  let held: HeldTransaction | undefined;
  let timer: NodeJS.Timeout | undefined;
  let touched: Touched = { entries: [], inodes: new Set() };
  let carefulUntil = 0;
  let committing = false;
  let supported = db.backend.openTransaction !== undefined;
  const stats = { groups: 0, changes: 0, lost: 0, commitMillis: 0 };

  const commit = (): void => {
    if (!held) return;
    const group = held;
    const lost = touched;
    held = undefined;
    touched = { entries: [], inodes: new Set() };
    clearTimeout(timer);
    committing = true;
    const started = performance.now();
    try {
      group.commit();
    } catch (error) {
      stats.lost++;
      carefulUntil = Date.now() + CAREFUL_MS;
      options.onLost(lost, error);
      throw error;
    } finally {
      committing = false;
      stats.commitMillis += performance.now() - started;
    }
  };

  return {
    join() {
      if (held) return true;
      if (!supported || Date.now() < carefulUntil || options.nearlyFull?.()) return false;
      held = db.openTransaction();
      if (!held) {
        supported = false;
        return false;
      }
      stats.groups++;
      timer = setTimeout(() => {
        try {
          commit();
        } catch {
          // onLost has reported it
        }
      }, windowMs);
      return true;
    },
    get open() {
      return held !== undefined;
    },
    get committing() {
      return committing;
    },
    touch(parent, name) {
      if (!held) return;
      if (name === undefined) touched.inodes.add(parent);
      else touched.entries.push([parent, name]);
    },
    commit,
    stats,
  };
}
