// Shared by the FUSE tests: a mount daemon in a child process on a temporary database and
// mountpoint, tools run as other processes, and a clean unmount even when a test fails.
//
// The test process never serves the mount, so it could touch it; it still runs the programs
// under test as subprocesses (asynchronously), as a user would.

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BIN = join(ROOT, 'adapters/cli/bin.ts');
const exec = promisify(execFile);

/** A temporary directory, removed by {@link removeTemp}. */
export async function makeTemp(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `dofs-fuse-${prefix}-`));
}

/** Removes a temporary directory (after its mount is gone). */
export async function removeTemp(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** True when something is mounted at `mountpoint` (read from /proc, never from the mount). */
export async function isMounted(mountpoint: string): Promise<boolean> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  return text.split('\n').some((line) => line.split(' ')[4] === mountpoint);
}

/** The output of a finished command. */
export interface Output {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `bash -c script` in `cwd`; rejects with its output when it exits non-zero (unless `allowFail`). */
export async function sh(
  script: string,
  options: { cwd?: string; allowFail?: boolean; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<Output> {
  try {
    const { stdout, stderr } = await exec('bash', ['-euo', 'pipefail', '-c', script], {
      cwd: options.cwd,
      env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', ...options.env },
      maxBuffer: 64 * 1024 * 1024,
      timeout: options.timeoutMs ?? 120_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number | string; stdout?: string; stderr?: string };
    const output = {
      code: typeof failed.code === 'number' ? failed.code : 1,
      stdout: failed.stdout ?? '',
      stderr: failed.stderr ?? '',
    };
    if (options.allowFail) return output;
    throw new Error(
      `command failed (${failed.code}): ${script}\n--- stdout\n${output.stdout}\n--- stderr\n${output.stderr}`,
    );
  }
}

/** Runs a node ES module body in another process (cwd `cwd`) and parses the JSON it prints last. */
export async function nodeScript<T = unknown>(cwd: string, body: string): Promise<T> {
  const { stdout, stderr } = await exec(process.execPath, ['--input-type=module', '-e', body], {
    cwd,
    maxBuffer: 64 * 1024 * 1024,
    timeout: 120_000,
  }).catch((error: { stdout?: string; stderr?: string; message: string }) => {
    throw new Error(`node script failed: ${error.message}\n${error.stdout ?? ''}\n${error.stderr ?? ''}`);
  });
  const lines = stdout.trim().split('\n');
  try {
    return JSON.parse(lines[lines.length - 1]) as T;
  } catch {
    throw new Error(`node script printed no JSON:\n${stdout}\n${stderr}`);
  }
}

/** A mount daemon running in a child process. */
export interface Daemon {
  readonly db: string;
  readonly mountpoint: string;
  readonly port: number;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Everything the daemon printed so far. */
  log(): string;
  /** GET a status endpoint as JSON. */
  get<T = Record<string, unknown>>(path: string): Promise<{ status: number; body: T }>;
  /** SIGTERM, then waits for exit; resolves to the exit code. Falls back to SIGKILL and a lazy unmount. */
  stop(): Promise<number | null>;
}

/** Options for {@link startDaemon}. */
export interface DaemonOptions {
  /** Extra arguments after `mount` (before the mountpoint). */
  args?: string[];
  /** Working directory; default the directory holding the mountpoint. */
  cwd?: string;
  /** Omit --db and the mountpoint (the command's defaults, relative to cwd). */
  defaults?: boolean;
  env?: NodeJS.ProcessEnv;
}

/** Everything `child` writes to stdout and stderr, interleaved as it arrives, read at any time. */
export function collectOutput(child: ChildProcess): () => string {
  let output = '';
  const add = (chunk: Buffer) => {
    output += chunk.toString();
  };
  child.stdout?.on('data', add);
  child.stderr?.on('data', add);
  return () => output;
}

/** Starts `dofs --db DB mount MNT --port 0` and waits for it to report the mount. */
export async function startDaemon(db: string, mountpoint: string, options: DaemonOptions = {}): Promise<Daemon> {
  const args = options.defaults
    ? [BIN, 'mount', '--port', '0', ...(options.args ?? [])]
    : [BIN, '--db', db, 'mount', '--port', '0', ...(options.args ?? []), mountpoint];
  const child = spawn(process.execPath, args, {
    cwd: options.cwd ?? join(mountpoint, '..'),
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = collectOutput(child);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the daemon did not mount within 30 s:\n${log()}`)), 30_000);
    const check = () => {
      const match = /mounted .* at .*status http:\/\/127\.0\.0\.1:(\d+)\/stats/.exec(log());
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    };
    child.stdout?.on('data', check);
    child.stderr?.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the daemon exited (${code}) before mounting:\n${log()}`));
    });
  });
  let stopped: Promise<number | null> | undefined;
  return {
    db,
    mountpoint,
    port,
    pid: child.pid as number,
    child,
    log,
    async get<T>(path: string) {
      const response = await fetch(`http://127.0.0.1:${port}${path}`);
      return { status: response.status, body: (await response.json()) as T };
    },
    stop() {
      stopped ??= (async () => {
        if (child.exitCode === null) child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
        const code = await exited;
        clearTimeout(timer);
        if (await isMounted(mountpoint))
          await sh(`fusermount -uz '${mountpoint}' || umount -l '${mountpoint}'`, { allowFail: true });
        return code;
      })();
      return stopped;
    },
  };
}

/** Unmounts whatever is left at `mountpoint` (afterAll's safety net). */
export async function ensureUnmounted(mountpoint: string): Promise<void> {
  if (await isMounted(mountpoint))
    await sh(`fusermount -uz '${mountpoint}' || umount -l '${mountpoint}'`, { allowFail: true });
}

/** Asserts the daemon's /fsck is clean; returns the report. */
export async function expectFsckClean(daemon: Daemon): Promise<void> {
  const { status, body } = await daemon.get<{ ok: boolean; problems: unknown[] }>('/fsck');
  if (status !== 200 || !body.ok) throw new Error(`fsck found problems: ${JSON.stringify(body, null, 2)}`);
}

/** A suite's mount: a temp directory, a daemon serving `dir/ws.db` at `dir/mnt`. */
export interface SuiteMount {
  dir: string;
  mnt: string;
  daemon: Daemon;
}

/**
 * Registers the hooks every mount suite needs: a fresh workspace mounted before the suite, fsck
 * clean after each test, and a clean stop (exit 0), unmount and removal after the suite.
 * `receive` gets the mount once it is up.
 */
export function mountForSuite(prefix: string, receive: (mount: SuiteMount) => void): void {
  let mount: SuiteMount | undefined;
  let dir: string | undefined;
  beforeAll(async () => {
    dir = await makeTemp(prefix);
    const mnt = join(dir, 'mnt');
    mount = { dir, mnt, daemon: await startDaemon(join(dir, 'ws.db'), mnt) };
    receive(mount);
  });
  afterEach(async () => {
    if (mount) await expectFsckClean(mount.daemon);
  });
  afterAll(async () => {
    try {
      if (mount) expect(await mount.daemon.stop()).toBe(0);
    } finally {
      if (dir) {
        await ensureUnmounted(join(dir, 'mnt'));
        await removeTemp(dir);
      }
    }
  });
}
