/**
 * `dofs mount [MOUNTPOINT]`: mount the workspace as a real directory with FUSE and serve it until
 * interrupted (what `npm start` runs).
 *
 * @module
 */
import type { Command } from 'commander';
import {
  DEFAULT_BUSY_WAIT_MICROSECONDS,
  DEFAULT_CACHE_TIMEOUT,
  DEFAULT_STATUS_PORT,
  FuseUnavailableError,
  MountpointError,
  startMount,
} from '../../fuse/index.ts';
import { globals } from '../context.ts';
import { CliError, UsageError } from '../errors.ts';
import { parseSize, parseSyncUrl } from '../format.ts';

/** The directory `dofs mount` uses when none is given. */
export const DEFAULT_MOUNTPOINT = './workspace';

interface MountCommandOptions {
  port: string;
  host: string;
  readOnly?: boolean;
  allowOther?: boolean;
  debug?: boolean;
  shared?: boolean;
  cacheTimeout?: string;
  maxStoredBytes?: string;
  maxInodes?: string;
  sync?: string;
  token?: string;
  writebackCache: boolean;
  busyWait?: string;
}

function parsePort(value: string): number | false {
  if (value === 'off' || value === 'none') return false;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`--port: expected a port number (0 for any free one) or 'off', got '${value}'`);
  }
  return port;
}

/** Registers `mount`. */
export function registerMount(program: Command): void {
  program
    .command('mount')
    .description('mount the workspace at a directory with FUSE and serve it until interrupted (Ctrl-C unmounts)')
    .argument('[mountpoint]', 'an empty directory, created when missing', DEFAULT_MOUNTPOINT)
    .option(
      '--port <port>',
      "HTTP status port (/health, /stats); 0 for any free one, 'off' for none",
      `${DEFAULT_STATUS_PORT}`,
    )
    .option('--host <address>', 'address the status server listens on', '127.0.0.1')
    .option('--read-only', 'mount read-only')
    .option(
      '--allow-other',
      'let other users use the mount (the default when run as root; non-root needs user_allow_other in /etc/fuse.conf)',
    )
    .option('--no-allow-other', 'only the mounting user may use the mount (the default when not root)')
    .option(
      '--max-stored-bytes <size>',
      'quota on stored bytes (e.g. 10g); writes past it fail with ENOSPC, df shows it',
    )
    .option('--max-inodes <n>', 'quota on files, directories and other nodes; df -i shows it')
    .option('--shared', 'let other processes open the database while mounted (slower: every statement locks)')
    .option(
      '--cache-timeout <seconds>',
      `how long the kernel caches names and attributes (0: never; default ${DEFAULT_CACHE_TIMEOUT}, 1 with --shared)`,
    )
    .option('--debug', 'log every FUSE request (libfuse debug output)')
    .option('--no-writeback-cache', 'send every write to the daemon as it happens (no kernel writeback cache)')
    .option(
      '--busy-wait <microseconds>',
      `after serving requests, keep reading the next ones this long before sleeping (0: never; default ${DEFAULT_BUSY_WAIT_MICROSECONDS} with two or more CPUs, else 0)`,
    )
    .option('--sync <url>', 'keep the workspace in sync with a Durable Object at this URL')
    .option('--token <token>', 'bearer token for --sync (default: $DOFS_SYNC_TOKEN)')
    .addHelpText(
      'after',
      '\nThe workspace database (--db, default ./workspace.db) is created when missing. Other programs use the\n' +
        'mount as a normal directory; SIGINT or SIGTERM commits open files, unmounts and checkpoints the database.\n' +
        'Needs Linux with /dev/fuse, fusermount and libfuse 3 (Debian: apt-get install -y fuse3 libfuse3-dev pkg-config).',
    )
    .action(async (mountpoint: string, options: MountCommandOptions, command: Command) => {
      const { db, synchronous } = globals(command);
      const port = parsePort(options.port);
      const cacheTimeout = options.cacheTimeout === undefined ? undefined : Number(options.cacheTimeout);
      if (cacheTimeout !== undefined && (!Number.isFinite(cacheTimeout) || cacheTimeout < 0 || cacheTimeout > 3600)) {
        throw new UsageError(`--cache-timeout: expected seconds from 0 to 3600, got '${options.cacheTimeout}'`);
      }
      const busyWait = options.busyWait === undefined ? undefined : Number(options.busyWait);
      if (busyWait !== undefined && !(Number.isInteger(busyWait) && busyWait >= 0 && busyWait <= 10_000)) {
        throw new UsageError(`--busy-wait: expected microseconds from 0 to 10000, got '${options.busyWait}'`);
      }
      if (options.token && !options.sync) throw new UsageError('--token needs --sync');
      const syncToken = options.token ?? process.env.DOFS_SYNC_TOKEN;
      if (options.sync) {
        parseSyncUrl(options.sync, '--sync');
        if (!syncToken) {
          throw new UsageError(
            '--sync needs --token (or $DOFS_SYNC_TOKEN): the Durable Object refuses unauthenticated replicas',
          );
        }
      }
      const maxInodes = options.maxInodes === undefined ? undefined : Number(options.maxInodes);
      if (maxInodes !== undefined && !(Number.isSafeInteger(maxInodes) && maxInodes > 0)) {
        throw new UsageError(`--max-inodes: expected a positive integer, got '${options.maxInodes}'`);
      }
      const maxStoredBytes =
        options.maxStoredBytes === undefined ? undefined : parseSize(options.maxStoredBytes, '--max-stored-bytes');
      let mount: Awaited<ReturnType<typeof startMount>>;
      try {
        mount = await startMount({
          db,
          mountpoint,
          port,
          host: options.host,
          readOnly: options.readOnly,
          allowOther: options.allowOther,
          debug: options.debug,
          shareDatabase: options.shared,
          synchronous,
          cacheTimeout,
          writebackCache: options.writebackCache,
          busyWaitMicroseconds: busyWait,
          quotas: { maxStoredBytes, maxInodes },
          sync: options.sync ? { url: options.sync, token: syncToken } : undefined,
        });
      } catch (error) {
        if (error instanceof FuseUnavailableError) throw new CliError('ENODEV', error.message);
        if (error instanceof MountpointError) throw new CliError('EBUSY', error.message);
        throw error;
      }
      // The daemon outlives the terminal or pipe it was started from (`dofs mount 2>&1 | head`, a
      // closed ssh session): a log line no one can read any more must not end it. An unhandled
      // 'error' (EPIPE) on stderr, or the CLI's exit at stdout's EPIPE, ended it without unmounting,
      // leaving a dead mount and the last group uncommitted.
      for (const stream of [process.stdout, process.stderr]) {
        stream.removeAllListeners('error');
        stream.on('error', () => {});
      }
      let signals = 0;
      const onSignal = (signal: NodeJS.Signals) => {
        signals++;
        if (signals === 1) {
          void mount.stop(`${signal}`);
        } else {
          process.stderr.write('dofs: stopping already; interrupt once more to exit without a clean unmount\n');
          if (signals >= 3) process.exit(130);
        }
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      process.on('SIGHUP', onSignal);
      await mount.stopped;
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      process.off('SIGHUP', onSignal);
      process.stderr.write(`dofs: unmounted ${mount.mountpoint}; the workspace is in ${mount.db}\n`);
      // After a lazy detach (a busy mount) the kernel connection, and the addon's watch on it, lives
      // until its last user leaves: exit anyway.
      setTimeout(() => process.exit(process.exitCode ?? 0), 1000).unref();
    });
}
