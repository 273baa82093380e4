/**
 * Mounting with the libfuse 3 low-level transport: the addon's session, the filesystem of
 * lowlevel.ts serving its batches, and kernel cache invalidation for changes the kernel did not
 * make (sync applying a peer's changes).
 *
 * @module
 */
import type { SQLiteWorkspaceProvider } from '../vfs/index.ts';
import type { Fuse3Addon } from './fuse3.ts';
import { createLowLevelFs, type LowLevelState } from './lowlevel.ts';
import { decodeBatch } from './requests.ts';

/** What {@link mountFuse3} needs. */
export interface Fuse3MountOptions {
  /** The loaded addon (see `checkFuse`). */
  addon: Fuse3Addon;
  /** The workspace to serve. */
  provider: SQLiteWorkspaceProvider;
  /** The directory to mount at (existing and empty). */
  mountpoint: string;
  /** libfuse's `-o` items (see `mountOptions`). */
  options: readonly string[];
  /** Print libfuse's trace of every request (`-d`). */
  debug?: boolean;
  /** The workspace database file, for statfs's figures; undefined in memory. */
  dbFile?: string;
  /** Refuse every change with EROFS. */
  readOnly?: boolean;
  /** Seconds the kernel caches names and attributes. */
  cacheTimeout: number;
  /** The kernel's page cache holds writes and sends them in large requests (FUSE_CAP_WRITEBACK_CACHE). */
  writeback: boolean;
  /** Microseconds the addon keeps reading after each batch before the event loop sleeps (0: none). */
  busyWaitMicroseconds: number;
  /** Where unexpected failures are reported, one line each. */
  log: (line: string) => void;
}

/** A mounted libfuse 3 session. */
export interface Fuse3Mount {
  /** The counters the status server's /stats reports. */
  readonly state: LowLevelState;
  /** Commits every open write buffer and the open group of changes (before the daemon exits). */
  commitAll(): void;
  /** Lets go of every open file (after the unmount). */
  releaseAll(): void;
  /** Commits the mount's open group of changes (before gc, sync or a poll reads the database). */
  settle(): void;
  /** Drops from the kernel's caches every path changed since the last call (after sync applied a peer's changes). */
  invalidateChanged(): void;
  /** Settles when the kernel connection is gone (after an unmount) and the session is closed. */
  readonly ended: Promise<void>;
}

/** Mounts `provider`'s workspace at `mountpoint`; throws when libfuse refuses (the message says why). */
export function mountFuse3(input: Fuse3MountOptions): Fuse3Mount {
  const { addon } = input;
  const fs = createLowLevelFs({
    provider: input.provider,
    addon,
    dbFile: input.dbFile,
    readOnly: input.readOnly,
    cacheTimeout: input.cacheTimeout,
    log: input.log,
  });
  let session: unknown;
  let serving = false;
  let finish: () => void = () => {};
  const ended = new Promise<void>((done) => {
    finish = done;
  });
  const args = ['-o', input.options.join(',')];
  if (input.debug) args.push('-d');
  let stopWatching: () => void = () => {};
  // Grouped changes commit after their requests were served: their events are the kernel's own too.
  const onBatch = (
    numbers: Float64Array,
    refs: unknown[],
    caughtBusyWaiting: boolean,
    busyWaitedMicroseconds: number,
  ): void => {
    const batch = decodeBatch(numbers, refs);
    if (caughtBusyWaiting) fs.state.batches.caughtBusyWaiting++;
    fs.state.batches.busyWaitMillis += busyWaitedMicroseconds / 1000;
    serving = true;
    let end = false;
    try {
      end = fs.serve(batch);
    } catch (error) {
      // A bug: the requests of this batch may stay unanswered, but the daemon keeps serving.
      input.log(
        `dofs mount: serving a batch: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
      );
    } finally {
      serving = false;
    }
    if (end) {
      stopWatching();
      addon.close(session);
      finish();
    }
  };
  session = addon.mount(input.mountpoint, args, input.writeback, onBatch, input.busyWaitMicroseconds);
  // Changes the kernel did not make (sync, the daemon's own maintenance) are dropped from its
  // caches; the mount's own requests change nothing the kernel does not already know.
  stopWatching = input.provider.db.onChange((events) => {
    if (serving || fs.committing) return;
    for (const event of events) fs.invalidate(session, event.path);
  });
  fs.attach(session);
  let since = fs.invalidateSince(session, Number.MAX_SAFE_INTEGER);
  return {
    state: fs.state,
    commitAll: fs.commitAll,
    releaseAll: fs.releaseAll,
    settle: fs.settle,
    invalidateChanged: () => {
      fs.settle();
      since = fs.invalidateSince(session, since);
    },
    ended,
  };
}
