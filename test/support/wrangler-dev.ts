/**
 * Starts the example Worker with `wrangler dev` on a free port and a given persistence directory,
 * as `npm run dev:worker` does, and stops its whole process group (also if the runner exits).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CONFIG = 'examples/worker/wrangler.jsonc';
/** wrangler's entry point, run with this Node. */
export const WRANGLER = join(ROOT, 'node_modules', 'wrangler', 'bin', 'wrangler.js');
/** How long wrangler dev may take to answer. */
export const STARTUP_MS = 30_000;
/** The example Worker's development token (examples/worker/wrangler.jsonc): every route requires it. */
export const DEV_API_TOKEN = 'dev-api-token';

/** `fetch` that presents `Authorization: Bearer <token>`, as every request to the example Worker must. */
export function authorizedFetch(token = DEV_API_TOKEN): (url: string, init?: RequestInit) => Promise<Response> {
  return (url, init = {}) =>
    fetch(url, { ...init, headers: { authorization: `Bearer ${token}`, ...(init.headers as Record<string, string>) } });
}

/** A port the OS considers free right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A running `wrangler dev`. */
export interface DevServer {
  url: string;
  /** wrangler's inspector (Chrome DevTools protocol) for the Worker's isolate, `http://127.0.0.1:<port>`. */
  inspectorUrl: string;
  stop(): Promise<void>;
  /**
   * The workerd process's resident memory now and at its peak, in bytes (Linux `/proc`), or
   * undefined where there is no `/proc`. workerd runs the Worker and its Durable Objects in one
   * process, so this is the runtime's whole footprint, the objects' included.
   */
  workerdMemory(): { rss: number; peak: number } | undefined;
  /** Starts a new peak: the next {@link DevServer.workerdMemory} reports the peak since now. */
  resetWorkerdPeak(): void;
}

/** The workerd processes in `group` (wrangler's process group). */
function workerdPids(group: number | undefined): number[] {
  if (group === undefined || !existsSync('/proc')) return [];
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        // pid (comm) state ppid pgrp …: the comm may hold spaces, so split after its closing parenthesis.
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        return Number(fields[2]) === group && readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'workerd';
      } catch {
        return false; // gone meanwhile
      }
    })
    .map(Number);
}

function workerdMemory(group: number | undefined): { rss: number; peak: number } | undefined {
  const pids = workerdPids(group);
  if (pids.length === 0) return undefined;
  let rss = 0;
  let peak = 0;
  for (const pid of pids) {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    rss += Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
    peak += Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
  }
  return { rss, peak };
}

const running = new Set<ChildProcess>();
/** Last resort: whatever happens to the runner, no wrangler or workerd is left behind. */
process.once('exit', () => {
  for (const child of running) killGroup(child, 'SIGKILL');
});

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal); // the whole group: wrangler and the workerd it spawned
  } catch {
    // already gone
  }
}

/** What {@link startDev} runs besides the example. */
export interface DevOptions {
  /** The wrangler config. Default: the example Worker's. */
  config?: string;
  /** The working directory. Default: the repository root. */
  cwd?: string;
  /** More `wrangler dev` arguments. */
  args?: string[];
  /** How long it may take to answer. Default {@link STARTUP_MS}. */
  startupMs?: number;
}

/**
 * The environment wrangler runs in: no metrics, no network lookups, no colours, and no local
 * observability. wrangler dev attaches a trace collector to every Worker by default
 * (`X_LOCAL_OBSERVABILITY`, default true) and stores every invocation's traces in a SQLite file of
 * its own: a 100,000-file sync wrote 900 MB of traces in its first 6 minutes, and the collector's
 * work ran on the same two cores as the Durable Object it was tracing.
 */
export const WRANGLER_ENV = {
  ...process.env,
  WRANGLER_SEND_METRICS: 'false',
  CLOUDFLARE_CF_FETCH_ENABLED: 'false',
  X_LOCAL_OBSERVABILITY: 'false',
  NO_COLOR: '1',
};

/**
 * Starts `wrangler dev` (for the example, unless `options` name another config) on a free port,
 * persisting to `persistTo`; resolves once it answers HTTP.
 */
export async function startDev(
  persistTo: string,
  vars: Record<string, string> = {},
  options: DevOptions = {},
): Promise<DevServer> {
  const startupMs = options.startupMs ?? STARTUP_MS;
  const port = await freePort();
  const inspectorPort = await freePort();
  const child = spawn(
    process.execPath,
    [
      WRANGLER,
      'dev',
      '--config',
      options.config ?? CONFIG,
      '--ip',
      '127.0.0.1',
      '--port',
      String(port),
      '--inspector-port',
      String(inspectorPort),
      '--persist-to',
      persistTo,
      '--show-interactive-dev-session=false',
      ...Object.entries(vars).flatMap(([key, value]) => ['--var', `${key}:${value}`]),
      ...(options.args ?? []),
    ],
    {
      cwd: options.cwd ?? ROOT,
      detached: true, // its own process group, so stop() reaches workerd too
      stdio: ['ignore', 'pipe', 'pipe'],
      env: WRANGLER_ENV,
    },
  );
  running.add(child);
  let output = '';
  child.stdout?.on('data', (data) => (output += data));
  child.stderr?.on('data', (data) => (output += data));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    killGroup(child, 'SIGTERM');
    const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
    running.delete(child);
  };

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + startupMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) break;
    try {
      const response = await fetch(`${url}/`, { signal: AbortSignal.timeout(2_000) });
      await response.arrayBuffer();
      return {
        url,
        inspectorUrl: `http://127.0.0.1:${inspectorPort}`,
        stop,
        workerdMemory: () => workerdMemory(child.pid),
        // Writing 5 to clear_refs resets the peak resident size (Linux; needs the same user or root).
        resetWorkerdPeak: () => {
          for (const pid of workerdPids(child.pid)) writeFileSync(`/proc/${pid}/clear_refs`, '5');
        },
      };
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  await stop();
  throw new Error(`wrangler dev did not answer on ${url} within ${startupMs} ms:\n${output}`);
}
