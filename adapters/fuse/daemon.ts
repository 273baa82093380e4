/**
 * The mount daemon: opens a workspace database, mounts it with FUSE, serves the HTTP status, and
 * on {@link RunningMount.stop} commits open write buffers, unmounts and checkpoints the WAL.
 *
 * It cannot deadlock itself: the process that serves the mount never makes a filesystem call on
 * the mount. Everything it checks before mounting comes from /proc/self/mountinfo and a record
 * file; the unmount is a `fusermount` child process awaited asynchronously while the event loop
 * keeps answering the kernel; the database may not live inside the mount. Programs using the
 * mount are other processes.
 *
 * @module
 */
import { execFile } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { resolve, sep } from 'node:path';
import { promisify } from 'node:util';
import { createNodeSqliteBackend } from '../../backends/node-sqlite/index.ts';
import {
  childPath,
  type Database,
  gcStep,
  openWorkspace,
  pathsOf,
  type Quotas,
  type Workspace,
} from '../../core/index.ts';
import { compactChanges } from '../../sync/compact.ts';
import { SQLiteWorkspaceProvider } from '../vfs/index.ts';
import { type Fuse3Mount, mountFuse3 } from './fuse3-mount.ts';
import { FUSE_MAX_IO, mountOptions } from './options.ts';
import {
  checkFuse,
  clearStaleMount,
  forceUnmount,
  MountpointError,
  mountAt,
  removeRecord,
  writeRecord,
} from './preflight.ts';
import { reclaimWhenAlone } from './reclaim.ts';
import { mountsOf } from './records.ts';
import { reply, type StatusServer, startStatusServer } from './status.ts';
import { type SyncSession, startSyncSession } from './sync-session.ts';

const run = promisify(execFile);

/** The status port used when none is given (the reference daemon's). */
export const DEFAULT_STATUS_PORT = 45678;
/** An older database at most this large is switched to incremental vacuum when mounted (one VACUUM). */
const CONVERT_AT_START_BYTES = 64 * 1024 * 1024;
/** How often the background collector runs when the last step found nothing to do. */
export const GC_IDLE_MS = 5_000;
/** How soon it runs again after a step that found work. */
export const GC_BUSY_MS = 200;

/** Options for {@link startMount}. */
export interface MountDaemonOptions {
  /** The workspace database file (created when missing). */
  db: string;
  /** The directory to mount at (created when missing; must be empty). */
  mountpoint: string;
  /** HTTP status port; 0 picks a free one; false serves none. Default {@link DEFAULT_STATUS_PORT}. */
  port?: number | false;
  /** Address the status server listens on. Default 127.0.0.1. */
  host?: string;
  /** Mount read-only. */
  readOnly?: boolean;
  /**
   * Let other users reach the mount (`allow_other`). Default: true when the daemon runs as root
   * (safe with `default_permissions`, which makes the kernel check owners and mode bits), false
   * otherwise (a non-root daemon needs `user_allow_other` in /etc/fuse.conf).
   */
  allowOther?: boolean;
  /** Limits of the workspace (stored bytes, inodes, …): enforced by the engine, shown by statfs (`df`). */
  quotas?: Quotas;
  /** libfuse logs every request. */
  debug?: boolean;
  /**
   * Seconds the kernel caches names, absent names and attributes (0: ask the daemon every time).
   * Default {@link DEFAULT_CACHE_TIMEOUT}, or 1 with `shareDatabase` (other processes may change
   * the database without the daemon knowing; changes made by sync are invalidated at once).
   */
  cacheTimeout?: number;
  /** Sync with a Durable Object (through the registered sync hook). */
  sync?: {
    /** The Durable Object's sync URL (http, https, ws or wss). */
    url: string;
    /** The bearer token it requires. */
    token?: string;
  };
  /**
   * Let other processes open the database while it is mounted (`dofs fsck`, a script reading it).
   * Default false: the daemon holds SQLite's lock exclusively, which spares every statement the
   * WAL lock round trip (reads are about 3× faster) and keeps a second writer out.
   */
  shareDatabase?: boolean;
  /**
   * `PRAGMA synchronous` for the database. `NORMAL` (the default) may lose the last commits on a
   * power loss, never on a crash of the daemon; `FULL` syncs the WAL at every commit and loses none.
   */
  synchronous?: 'NORMAL' | 'FULL';
  /** Where the daemon reports (one line per call). Default stderr. */
  log?: (line: string) => void;
  /**
   * Let the kernel's page cache hold writes and send them in large requests (FUSE's writeback
   * cache). Default true; false sends every write(2) to the daemon as it happens.
   */
  writebackCache?: boolean;
  /**
   * After serving requests, keep reading the next ones this many microseconds before the event
   * loop sleeps (0: never). Default {@link DEFAULT_BUSY_WAIT_MICROSECONDS} with two or more CPUs,
   * else 0. It costs at most that much CPU time per pause in the requests.
   */
  busyWaitMicroseconds?: number;
}

/** WAL pages between automatic checkpoints on a mounted database (4 MiB of 4 KiB pages). */
export const MOUNT_CHECKPOINT_PAGES = 1024;
/**
 * The deletion reserve next to a mounted database: room to finish a checkpoint stopped by a full
 * disk (up to about two intervals of {@link MOUNT_CHECKPOINT_PAGES}) and then log the deletions.
 */
export const MOUNT_RESERVE_BYTES = 8 * 1024 * 1024;

/** How often a `--shared` mount looks for changes other processes made (milliseconds). */
const SHARED_POLL_MS = 500;

/** Seconds the kernel caches names and attributes by default: changes it did not make are invalidated explicitly. */
export const DEFAULT_CACHE_TIMEOUT = 30;

/**
 * Microseconds the daemon keeps reading requests after serving some, by default on a machine with
 * two or more CPUs: a caller's next request usually comes within that, and a CPU that went idle
 * costs more to wake on a virtual machine (docs/fuse.md, "Busy waiting"). On one CPU it would only
 * delay the caller, so the default there is 0.
 */
export const DEFAULT_BUSY_WAIT_MICROSECONDS = 100;

/** A running mount. */
export interface RunningMount {
  /** The absolute mountpoint. */
  readonly mountpoint: string;
  /** The absolute database path. */
  readonly db: string;
  /** The status port, when serving one. */
  readonly port: number | undefined;
  /** The mount options given to libfuse. */
  readonly options: readonly string[];
  /** The open workspace (for in-process callers; the mount serves it). */
  readonly workspace: Workspace;
  /** Unmounts, commits, checkpoints and closes. Idempotent. */
  stop(reason?: string): Promise<void>;
  /** Settles when the daemon has stopped. */
  readonly stopped: Promise<void>;
}

function isInside(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith(sep) ? dir : dir + sep);
}

/** Row counts of every dofs table, for /stats. */
export function rowCounts(db: Database): Record<string, number> {
  const tables = db.all<{ name: string }>(
    "SELECT name FROM sqlite_master WHERE type = 'table' AND (name LIKE 'vfs%' OR name LIKE '\\_vfs%' ESCAPE '\\') ORDER BY name",
  );
  const counts: Record<string, number> = {};
  for (const { name } of tables) {
    counts[name] = Number(db.all<{ n: number }>(`SELECT count(*) AS n FROM "${name.replace(/"/g, '""')}"`)[0].n);
  }
  return counts;
}

/**
 * Removes files a crashed run left under libfuse's `.fuse_hidden…` names (files unlinked while
 * open, kept until their last close). Returns how many were removed.
 */
export function removeHiddenLeftovers(provider: SQLiteWorkspaceProvider): number {
  const db = provider.db;
  const rows = db.all<{ parent: number; name: string }>(
    "SELECT parent, name FROM vfs_dirents WHERE name LIKE '.fuse\\_hidden%' ESCAPE '\\'",
  );
  let removed = 0;
  for (const row of rows) {
    if (!/^\.fuse_hidden[0-9a-f]{16}$/.test(row.name)) continue;
    // A directory has one path; none when the entry hangs below something no longer rooted.
    const [parent] = pathsOf(db, Number(row.parent));
    if (parent === undefined) continue;
    try {
      provider.unlinkSync(childPath(parent, row.name));
      removed++;
    } catch {
      // leave it: fsck will tell
    }
  }
  return removed;
}

/**
 * Mounts the workspace in `options.db` at `options.mountpoint` and serves it until
 * {@link RunningMount.stop}. Throws FuseUnavailableError (what to install), MountpointError (the
 * directory is in use or not empty) or the workspace's own open errors.
 */
export async function startMount(options: MountDaemonOptions): Promise<RunningMount> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const addon = checkFuse();
  const mountpoint = resolve(options.mountpoint);
  const dbPath = resolve(options.db);
  if (isInside(dbPath, mountpoint)) {
    throw new MountpointError(`the database ${dbPath} may not live inside the mountpoint ${mountpoint}`);
  }
  await clearStaleMount(mountpoint, log);
  if (options.sync && !options.sync.token) {
    throw new MountpointError(
      '--sync needs --token (or $DOFS_SYNC_TOKEN): the Durable Object refuses unauthenticated replicas',
    );
  }

  // Say what was created: a typo in the mountpoint should not pass unnoticed.
  const created = await mkdir(mountpoint, { recursive: true });
  if (created !== undefined) {
    log(
      created === mountpoint
        ? `dofs: created the mountpoint ${mountpoint}`
        : `dofs: created the mountpoint ${mountpoint} and its missing parents, from ${created}`,
    );
  }
  if (!(await stat(mountpoint)).isDirectory()) throw new MountpointError(`${mountpoint} is not a directory`);
  const present = await readdir(mountpoint);
  if (present.length > 0) {
    throw new MountpointError(
      `${mountpoint} is not empty (${present.length} ${present.length === 1 ? 'entry' : 'entries'}); mounting would hide them: choose an empty directory`,
    );
  }

  for (const other of mountsOf(dbPath)) {
    if (other.shared && options.shareDatabase) continue;
    throw new MountpointError(
      `${dbPath} is already mounted at ${other.mountpoint} by 'dofs mount' (pid ${other.pid})${other.shared ? '' : ', which holds it exclusively'}: use that mount, or stop it (kill ${other.pid}); two mounts of one database need --shared on both`,
    );
  }
  const existed = existsSync(dbPath);
  const backend = createNodeSqliteBackend({
    path: dbPath,
    synchronous: options.synchronous,
    reserveBytes: MOUNT_RESERVE_BYTES,
  });
  if (!options.shareDatabase) backend.run('PRAGMA locking_mode = EXCLUSIVE');
  // Checkpoint every 4 MiB of WAL rather than the backend's 1 MiB: a checkpoint runs inside the
  // COMMIT that crosses the bound and syncs the WAL and the database, and a created file's commit
  // logs about a dozen pages, so at 1 MiB every twentieth close paid two fsyncs (three quarters of
  // the COMMIT time of 3,000 creates; a quarter of the daemon's serving time at 4 MiB). The
  // deletion reserve grows with it (MOUNT_RESERVE_BYTES: two intervals, as the backend's covers its own).
  backend.all(`PRAGMA wal_autocheckpoint = ${MOUNT_CHECKPOINT_PAGES}`);
  // Savepoint journals in memory: every request of a group commit is a savepoint inside the held
  // transaction, and SQLite copies each page it first changes there, spilling past 64 KiB to a temp
  // file (two thirds of the daemon's page writes for creates and unlinks, counted with strace).
  backend.run('PRAGMA temp_store = MEMORY');
  const workspace = openWorkspace(backend, { readOnly: options.readOnly, quotas: options.quotas });
  if (!options.shareDatabase && !options.readOnly) {
    // The exclusive lock is taken for good at the first write; until then each statement still locks.
    workspace.db.transaction(() => workspace.db.run("UPDATE vfs_meta SET v = v WHERE k = 'chunk_size'"));
  }
  if (!options.readOnly && existed && statSync(dbPath).size <= CONVERT_AT_START_BYTES) {
    // A database made before incremental vacuum existed is switched now while it is small (one
    // VACUUM, well under a second); a larger one switches at the next 'dofs gc'.
    try {
      backend.reclaimSpace?.({ convert: true, maxPages: 1 });
    } catch (error) {
      log(`dofs: switching to incremental vacuum: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  let status: StatusServer | undefined;
  let sync: SyncSession | undefined;
  const gcTotals = { steps: 0, blobs: 0, bytes: 0, reclaimedBytes: 0 };
  const abort = new AbortController();
  const startedAt = new Date();
  try {
    const provider = new SQLiteWorkspaceProvider(workspace, {
      umask: 0,
      readOnly: options.readOnly,
      // The kernel checks each caller's permissions (default_permissions): the engine must not again.
      checkPermissions: false,
      // Another process sharing the database may hold nameless files open: see reclaim.ts.
      reclaimOrphans: !options.shareDatabase,
    });
    if (options.shareDatabase && !options.readOnly && reclaimWhenAlone(backend, workspace.db) === undefined) {
      log('dofs: another process has the database open: files removed while open are kept for a later start');
    }
    if (!options.readOnly) {
      const hidden = removeHiddenLeftovers(provider);
      if (hidden > 0) log(`dofs: removed ${hidden} files a crashed run left open-but-unlinked (.fuse_hidden…)`);
    }
    const list = mountOptions({
      readOnly: options.readOnly,
      allowOther: options.allowOther ?? process.getuid?.() === 0,
      fsname: dbPath,
    });
    const cacheTimeout = options.cacheTimeout ?? (options.shareDatabase ? 1 : DEFAULT_CACHE_TIMEOUT);
    const writeback = options.writebackCache ?? true;
    const busyWait = options.busyWaitMicroseconds ?? (availableParallelism() > 1 ? DEFAULT_BUSY_WAIT_MICROSECONDS : 0);
    let mounted: Fuse3Mount | undefined;

    // Read back from the connection, so /health shows the durability actually in force.
    const synchronousLevel = Number(backend.all<{ synchronous: number }>('PRAGMA synchronous')[0]?.synchronous);
    const synchronous = ['OFF', 'NORMAL', 'FULL', 'EXTRA'][synchronousLevel] ?? String(synchronousLevel);
    const health = () => ({
      ok: true,
      pid: process.pid,
      mountpoint,
      db: dbPath,
      readOnly: options.readOnly === true,
      sharedDatabase: options.shareDatabase === true,
      synchronous,
      uptimeSeconds: Math.round((Date.now() - startedAt.getTime()) / 1000),
    });
    const stats = () => {
      let dbBytes = 0;
      let walBytes = 0;
      try {
        dbBytes = statSync(dbPath).size;
        walBytes = existsSync(`${dbPath}-wal`) ? statSync(`${dbPath}-wal`).size : 0;
      } catch {
        // reported as 0
      }
      return {
        ...health(),
        usage: workspace.usage(),
        rows: rowCounts(workspace.db),
        files: { dbBytes, walBytes },
        fuse: {
          options: list,
          maxRequestBytes: FUSE_MAX_IO,
          writebackCache: writeback,
          cacheTimeoutSeconds: cacheTimeout,
          busyWaitMicroseconds: busyWait,
          ...(mounted ? fuseFigures(mounted) : {}),
        },
        sync: sync ? (sync.stats?.() ?? { running: true }) : null,
        gc: gcTotals,
      };
    };
    if (options.port !== false) {
      try {
        status = await startStatusServer({
          port: options.port ?? DEFAULT_STATUS_PORT,
          host: options.host,
          routes: {
            '/health': health,
            '/stats': stats,
            // Checks every invariant of the committed state (open files' pending writes are not in it yet).
            '/fsck': (url) => {
              mounted?.settle();
              const report = workspace.fsck({ verifyContent: url.searchParams.get('content') !== '0' });
              return reply(report.ok ? 200 : 500, report);
            },
          },
        });
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'EADDRINUSE') {
          throw new MountpointError(
            `status port ${options.port ?? DEFAULT_STATUS_PORT} is in use (another dofs mount?); pass --port N, --port 0 (any free port) or --port off`,
          );
        }
        throw error;
      }
    }

    try {
      mounted = mountFuse3({
        addon,
        provider,
        mountpoint,
        options: list,
        debug: options.debug,
        dbFile: dbPath,
        readOnly: options.readOnly,
        cacheTimeout,
        writeback,
        busyWaitMicroseconds: busyWait,
        log,
      });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new MountpointError(
        `mounting at ${mountpoint} failed: ${message} (run with --debug for libfuse's reasons)`,
      );
    }
    const served = mounted;
    const entry = await mountAt(mountpoint);
    if (entry) {
      // The kernel reads ahead by the mount's read_ahead_kb (128 KiB), whatever INIT negotiated:
      // raise it to the 1 MiB requests the mount takes (cold sequential reads: 64 requests for
      // 64 MiB instead of 256). Root only; without it reads still work, in smaller requests.
      await writeFile(`/sys/class/bdi/${entry.major}:${entry.minor}/read_ahead_kb`, `${FUSE_MAX_IO / 1024}`).catch(
        () => {},
      );
    }
    await writeRecord({
      pid: process.pid,
      db: dbPath,
      mountpoint,
      port: status?.port,
      startedAt: startedAt.toISOString(),
      shared: options.shareDatabase === true,
    });

    // Garbage is collected and the sync change log compacted as the mount runs, a bounded step at
    // a time (at most 4,096 catalogue rows examined, 1,024 blobs freed, 64 MiB of free pages given
    // back to the file system, 10,000 log rows dropped): every GC_IDLE_MS, and back to back
    // (GC_BUSY_MS apart) while steps find work.
    if (!options.readOnly) {
      let timer: NodeJS.Timeout | undefined;
      const collect = (): void => {
        let busy = false;
        // gc reads the committed catalogue and gives pages back outside any transaction.
        served.settle();
        try {
          const step = gcStep(workspace.db);
          gcTotals.steps++;
          gcTotals.blobs += step.blobs;
          gcTotals.bytes += step.bytes;
          gcTotals.reclaimedBytes += step.reclaimedBytes ?? 0;
          busy = step.blobs > 0 || (step.reclaimedBytes ?? 0) > 0 || !step.wrapped;
        } catch (error) {
          log(`dofs: collecting garbage: ${error instanceof Error ? error.message : String(error)}`);
        }
        try {
          busy = compactChanges(workspace.db).more || busy;
        } catch (error) {
          log(`dofs: compacting the change log: ${error instanceof Error ? error.message : String(error)}`);
        }
        if (!abort.signal.aborted) {
          timer = setTimeout(collect, busy ? GC_BUSY_MS : GC_IDLE_MS);
          timer.unref();
        }
      };
      timer = setTimeout(collect, GC_IDLE_MS);
      timer.unref();
      abort.signal.addEventListener('abort', () => clearTimeout(timer), { once: true });
    }

    if (options.shareDatabase) {
      // Other processes change a shared database without telling the kernel: every
      // SHARED_POLL_MS, whatever changed since the last look (one read of the revision when
      // nothing did) leaves the kernel's caches, its page cache included, so a file another
      // writer replaced under an open one is read back as the database holds it.
      const poll = setInterval(() => {
        try {
          served.invalidateChanged();
        } catch (error) {
          log(`dofs: looking for other writers' changes: ${error instanceof Error ? error.message : String(error)}`);
        }
      }, SHARED_POLL_MS);
      poll.unref();
      abort.signal.addEventListener('abort', () => clearInterval(poll), { once: true });
    }

    if (options.sync) {
      sync = startSyncSession({
        workspace,
        url: options.sync.url,
        token: options.sync.token ?? '',
        signal: abort.signal,
        log,
        onPulled: () => served.invalidateChanged(),
        beforeRound: () => served.settle(),
      });
    }

    let stopping: Promise<void> | undefined;
    let resolveStopped: () => void = () => {};
    const stopped = new Promise<void>((done) => {
      resolveStopped = done;
    });

    // Unmounted from outside (`fusermount3 -u`, `umount`): the kernel ended the session, so the
    // daemon lets go of the database and exits as on a signal, instead of holding it (and the
    // status port) for a mount that is gone.
    let unmountedOutside = false;
    void served.ended.then(() => {
      if (stopping) return;
      unmountedOutside = true;
      void stop('unmounted from outside');
    });

    const stop = (reason?: string): Promise<void> => {
      stopping ??= (async () => {
        if (reason) log(`dofs: ${reason}${unmountedOutside ? '' : `: unmounting ${mountpoint}`}`);
        abort.abort();
        try {
          await sync?.stop();
        } catch (error) {
          log(`dofs: stopping sync: ${error instanceof Error ? error.message : String(error)}`);
        }
        await status?.close();
        // Open files' pending writes are committed before the mount goes away…
        served.commitAll();
        if (!unmountedOutside) {
          try {
            await run('fusermount', ['-u', mountpoint]);
          } catch (error) {
            const detail = `${(error as { stderr?: string }).stderr ?? ''}`.trim();
            log(`dofs: ${mountpoint} is busy (${detail || 'in use'}); detaching it lazily`);
            await forceUnmount(mountpoint, entry);
            await waitForConnectionEnd(entry?.minor, 5000);
          }
        }
        // …and again after it, for whatever arrived meanwhile; then every handle is let go.
        await Promise.race([served.ended, new Promise((done) => setTimeout(done, 5000).unref())]);
        served.commitAll();
        served.releaseAll();
        try {
          workspace.db.all('PRAGMA wal_checkpoint(TRUNCATE)');
        } catch (error) {
          log(`dofs: WAL checkpoint: ${error instanceof Error ? error.message : String(error)}`);
        }
        workspace.close();
        removeRecord(mountpoint);
        resolveStopped();
      })();
      return stopping;
    };

    log(
      `dofs: mounted ${dbPath}${existed ? '' : ' (new)'} at ${mountpoint}` +
        (status ? ` — status http://${options.host ?? '127.0.0.1'}:${status.port}/stats` : ''),
    );
    return { mountpoint, db: dbPath, port: status?.port, options: list, workspace, stop, stopped };
  } catch (error) {
    abort.abort();
    await status?.close();
    if (await mountAt(mountpoint).catch(() => undefined)) await forceUnmount(mountpoint);
    try {
      workspace.close();
    } catch {
      // already closed
    }
    throw error;
  }
}

/** The transport's counters for /stats. */
function fuseFigures(mounted: Fuse3Mount): Record<string, unknown> {
  const state = mounted.state;
  return {
    openHandles: state.openHandles,
    writableHandles: state.writableHandles,
    knownInodes: state.knownInodes,
    batches: state.batches,
    groups: state.groups,
    calls: state.calls,
    millis: Object.fromEntries(Object.entries(state.millis).map(([k, v]) => [k, Math.round(v)])),
    errors: state.errors,
  };
}

/** Waits until the FUSE connection `minor` is gone from /sys/fs/fuse/connections (the kernel let go). */
async function waitForConnectionEnd(minor: number | undefined, timeoutMs: number): Promise<void> {
  if (minor === undefined) return;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && existsSync(`/sys/fs/fuse/connections/${minor}`)) {
    await new Promise((done) => setTimeout(done, 50));
  }
}
