/**
 * The mount daemon's sync with its Durable Object (`dofs mount --sync URL --token T`): one sync
 * right away, then again shortly after local commits and at a steady interval for remote ones,
 * reconnecting with backoff when the connection drops. Runs in the daemon's event loop and only
 * ever touches the workspace through the library (never the mountpoint).
 *
 * @module
 */
import type { Workspace } from '../../core/index.ts';
import { createSyncDriver, type SyncReport } from '../../sync/driver.ts';
import type { UnsyncedEntry } from '../../sync/peers.ts';
import { connectSyncWebSocket, type SyncConnection } from '../../sync/websocket.ts';

/** What the daemon hands the sync session. */
export interface SyncSessionContext {
  /** The workspace the mount serves. */
  workspace: Workspace;
  /** The `--sync` URL. */
  url: string;
  /** The `--token` value. */
  token: string;
  /** Aborted when the daemon stops. */
  signal: AbortSignal;
  /** Prints one line on the daemon's log. */
  log(line: string): void;
  /** Milliseconds between syncs when nothing changes locally (remote changes arrive this way). Default 5000. */
  intervalMs?: number;
  /** Milliseconds to wait after a local commit before syncing it, so bursts travel together. Default 300. */
  debounceMs?: number;
  /** Called after a round that applied the authority's changes here (the mount drops them from the kernel's caches). */
  onPulled?: () => void;
  /** Called before each round reads the workspace (the mount commits its open group of changes). */
  beforeRound?: () => void;
}

/** A running sync, as the daemon sees it. */
export interface SyncSession {
  /** Stops syncing after the round in flight; the daemon waits for it before its final commit. */
  stop(): Promise<void>;
  /** Figures for the daemon's /stats. */
  stats(): {
    /** Sync rounds completed. */
    rounds: number;
    /** Rounds that failed (the next one retries). */
    failures: number;
    /** Entries taken from the Durable Object, over all rounds. */
    pulled: number;
    /** Entries sent to it, over all rounds. */
    pushed: number;
    /** Conflicts settled, over all rounds. */
    conflicts: number;
    /** Entries refused by either side and not synced since. */
    unsynced: UnsyncedEntry[];
    /** The last failure's message; absent when none failed. */
    lastError?: string;
    /** When the last round completed, as an ISO 8601 time; absent before the first. */
    lastSyncAt?: string;
  };
}

/** Starts syncing the mounted workspace with its authority. */
export function startSyncSession(context: SyncSessionContext): SyncSession {
  const { workspace, url, token, signal, log } = context;
  const intervalMs = context.intervalMs ?? 5000;
  const debounceMs = context.debounceMs ?? 300;
  const figures = { rounds: 0, failures: 0, pulled: 0, pushed: 0, conflicts: 0, unsynced: [] } as ReturnType<
    SyncSession['stats']
  >;
  let connection: SyncConnection | undefined;
  let running: Promise<void> = Promise.resolve();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  let backoff = 1000;

  const round = async (): Promise<void> => {
    try {
      connection ??= await connectSyncWebSocket(url, token);
      context.beforeRound?.();
      const report: SyncReport = await createSyncDriver(workspace.db, connection).sync();
      figures.rounds++;
      figures.pulled += report.pulled;
      figures.pushed += report.pushed;
      figures.conflicts += report.conflicts.length;
      figures.unsynced = report.unsynced;
      if (report.pulled > 0 || report.conflicts.length > 0) context.onPulled?.();
      for (const refused of report.refused)
        log(`sync: ${refused.path} was refused (${refused.reason}); the rest goes on`);
      figures.lastSyncAt = new Date().toISOString();
      for (const conflict of report.conflicts) {
        log(
          `sync: conflict on ${conflict.path}: kept the ${conflict.kept === 'incoming' ? 'remote' : 'local'} version${conflict.copy ? `, the other is at ${conflict.copy}` : ''}`,
        );
      }
      backoff = 1000;
      schedule(intervalMs);
    } catch (error) {
      figures.failures++;
      figures.lastError = (error as Error).message;
      log(`sync: ${(error as Error).message}; retrying in ${backoff / 1000} s`);
      connection?.close();
      connection = undefined;
      schedule(backoff);
      backoff = Math.min(backoff * 2, 60_000);
    }
  };
  const schedule = (delay: number): void => {
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      running = running.then(round);
    }, delay);
  };
  // Local commits (through the mount or the library) go out shortly after they happen.
  const unsubscribe = workspace.db.onChange(() => schedule(debounceMs));
  const stop = async (): Promise<void> => {
    if (stopped) return running;
    stopped = true;
    clearTimeout(timer);
    unsubscribe();
    await running;
    connection?.close();
  };
  signal.addEventListener('abort', () => void stop(), { once: true });
  schedule(0);
  return { stop, stats: () => ({ ...figures }) };
}
