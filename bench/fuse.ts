// FUSE benchmark: the reference's workload table (dofs-reference.md) on a dofs mount and on tmpfs,
// in the same run, alternating, medians of several runs and the ratio mount / tmpfs.
//
//   npm run bench:fuse                 # 5 runs per workload
//   BENCH_RUNS=9 npm run bench:fuse    # more runs
//   npm run bench:fuse -- --only write,read
//
// The mount daemon runs in its own child process (never touch a mount from the process serving
// it); each timed workload runs in another child, with its setup done beforehand by a separate
// child, so neither node's start-up nor the setup is timed. Results go to bench/results/fuse.json.
import { execFile, spawn } from 'node:child_process';
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const exec = promisify(execFile);
const SELF = fileURLToPath(import.meta.url);
const ROOT = join(SELF, '..', '..');
const MIB = 1024 * 1024;
const BIG = 64 * MIB;

// ---- Workloads (run inside a worker process: plain synchronous node:fs on the target directory) ----

interface Workload {
  /** The row label, as in the reference table. */
  label: string;
  /** Prepares `dir` (untimed, in its own process). */
  setup?(dir: string): void | Promise<void>;
  /** Wait this long after setup so the kernel's 1 s name and attribute caches have expired. */
  coldCaches?: boolean;
  /** Drop the page cache after setup (root only), so reads come from the filesystem itself. */
  dropPageCache?: boolean;
  /** The timed part. */
  run(dir: string): void | Promise<void>;
}

const buffer = Buffer.alloc(MIB);
for (let i = 0; i < buffer.length; i += 4096) buffer.writeUInt32LE((i * 2654435761) >>> 0, i);

function makeFiles(dir: string, count: number): void {
  mkdirSync(join(dir, 'files'), { recursive: true });
  for (let i = 0; i < count; i++) writeFileSync(join(dir, 'files', `f${i}`), 'x'.repeat(100));
}

function makeTree(dir: string): void {
  for (let a = 0; a < 10; a++)
    for (let b = 0; b < 10; b++)
      for (let c = 0; c < 10; c++) mkdirSync(join(dir, 'tree', `${a}`, `${b}`, `${c}`), { recursive: true });
}

function writeBig(path: string, flags: string): void {
  const fd = openSync(path, flags);
  for (let i = 0; i < BIG / MIB; i++) writeSync(fd, buffer, 0, MIB, i * MIB);
  closeSync(fd);
}

const WORKLOADS: Record<string, Workload> = {
  create: { label: 'create 1000 files', run: (dir) => makeFiles(dir, 1000) },
  stat: {
    label: 'stat 1000 files',
    setup: (dir) => makeFiles(dir, 1000),
    coldCaches: true,
    run: (dir) => {
      for (let i = 0; i < 1000; i++) statSync(join(dir, 'files', `f${i}`));
    },
  },
  rm: {
    label: 'rm 1000 files',
    setup: (dir) => makeFiles(dir, 1000),
    coldCaches: true,
    run: (dir) => {
      for (let i = 0; i < 1000; i++) unlinkSync(join(dir, 'files', `f${i}`));
    },
  },
  mkdir: { label: 'mkdir tree 10×10×10', run: makeTree },
  find: {
    label: 'find over that tree',
    setup: makeTree,
    coldCaches: true,
    run: async (dir) => {
      await exec('find', [join(dir, 'tree')], { maxBuffer: 16 * MIB });
    },
  },
  write: { label: 'write 64 MiB', run: (dir) => writeBig(join(dir, 'big'), 'w') },
  copy: {
    label: 'copy 64 MiB',
    setup: (dir) => writeBig(join(dir, 'big'), 'w'),
    run: async (dir) => {
      await exec('cp', [join(dir, 'big'), join(dir, 'copy')]);
    },
  },
  read: {
    label: 'read 64 MiB (pure)',
    setup: (dir) => writeBig(join(dir, 'big'), 'w'),
    dropPageCache: true,
    run: (dir) => {
      const fd = openSync(join(dir, 'big'), 'r');
      let at = 0;
      for (;;) {
        const n = readSync(fd, buffer, 0, MIB, at);
        if (n === 0) break;
        at += n;
      }
      closeSync(fd);
      if (at !== BIG) throw new Error(`read ${at} bytes`);
    },
  },
  overwrite: {
    label: 'overwrite 64 MiB',
    setup: (dir) => writeBig(join(dir, 'big'), 'w'),
    run: (dir) => writeBig(join(dir, 'big'), 'r+'),
  },
  git: {
    label: 'git init + commit 100 files',
    run: async (dir) => {
      await exec(
        'bash',
        [
          '-c',
          'git init -q repo && cd repo && for i in $(seq 1 100); do echo "file $i" > f$i.txt; done && git add . && git -c user.email=b@e -c user.name=b commit -q -m bench',
        ],
        { cwd: dir, env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1' } },
      );
    },
  },
};

// ---- Worker mode: `node bench/fuse.ts --worker setup|run NAME DIR` ----

if (process.argv[2] === '--worker') {
  const [, , , phase, name, dir] = process.argv;
  const workload = WORKLOADS[name];
  if (phase === 'setup') {
    await workload.setup?.(dir);
  } else {
    const started = performance.now();
    await workload.run(dir);
    const ms = performance.now() - started;
    process.stdout.write(`${JSON.stringify({ ms })}\n`);
  }
  process.exit(0);
}

// ---- Driver ----

async function worker(phase: 'setup' | 'run', name: string, dir: string): Promise<number> {
  const { stdout } = await exec(process.execPath, [SELF, '--worker', phase, name, dir], { maxBuffer: 16 * MIB });
  return phase === 'run' ? (JSON.parse(stdout.trim()) as { ms: number }).ms : 0;
}

async function startMount(db: string, mnt: string): Promise<{ stop(): Promise<void> }> {
  const child = spawn(
    process.execPath,
    [join(ROOT, 'adapters/cli/bin.ts'), '--db', db, 'mount', '--port', 'off', mnt],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let log = '';
  await new Promise<void>((resolve, reject) => {
    child.stderr.on('data', (chunk: Buffer) => {
      log += chunk.toString();
      if (/mounted .* at /.test(log)) resolve();
    });
    child.on('exit', (code) => reject(new Error(`the mount daemon exited (${code}):\n${log}`)));
  });
  return {
    stop: () =>
      new Promise<void>((resolve) => {
        child.removeAllListeners('exit');
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function dropPageCache(): Promise<boolean> {
  try {
    await exec('sync');
    writeFileSync('/proc/sys/vm/drop_caches', '3');
    return true;
  } catch {
    return false;
  }
}

async function main(): Promise<void> {
  const runs = Number(process.env.BENCH_RUNS ?? 5);
  const onlyIndex = process.argv.indexOf('--only');
  const only = onlyIndex > 0 ? process.argv[onlyIndex + 1].split(',') : Object.keys(WORKLOADS);
  const base = mkdtempSync(join(tmpdir(), 'dofs-bench-fuse-'));
  const shm = mkdtempSync(join('/dev/shm', 'dofs-bench-tmpfs-'));
  const mnt = join(base, 'mnt');
  const mount = await startMount(join(base, 'bench.db'), mnt);
  const rows: Array<{ workload: string; label: string; dofs: number; tmpfs: number; ratio: number; runs: number }> = [];
  let dropped = true;
  try {
    for (const name of only) {
      const workload = WORKLOADS[name];
      if (!workload) throw new Error(`unknown workload ${name}; known: ${Object.keys(WORKLOADS).join(', ')}`);
      const times: Record<'dofs' | 'tmpfs', number[]> = { dofs: [], tmpfs: [] };
      for (let run = 0; run < runs; run++) {
        // Alternate which target goes first, so drift on a shared machine hits both alike.
        const order = run % 2 === 0 ? (['dofs', 'tmpfs'] as const) : (['tmpfs', 'dofs'] as const);
        for (const target of order) {
          const dir = join(target === 'dofs' ? mnt : shm, `${name}-${run}`);
          await exec('mkdir', ['-p', dir]);
          await worker('setup', name, dir);
          if (workload.dropPageCache) dropped = (await dropPageCache()) && dropped;
          if (workload.coldCaches) await new Promise((resolve) => setTimeout(resolve, 1200));
          times[target].push(await worker('run', name, dir));
          await exec('rm', ['-rf', dir]);
        }
      }
      const dofs = median(times.dofs);
      const tmpfs = median(times.tmpfs);
      rows.push({ workload: name, label: workload.label, dofs, tmpfs, ratio: dofs / tmpfs, runs });
      process.stdout.write(
        `${workload.label.padEnd(30)} dofs ${dofs.toFixed(1).padStart(8)} ms   tmpfs ${tmpfs.toFixed(1).padStart(8)} ms   ×${(dofs / tmpfs).toFixed(1)}\n`,
      );
    }
  } finally {
    await mount.stop();
    rmSync(shm, { recursive: true, force: true });
    rmSync(base, { recursive: true, force: true });
  }
  if (!dropped) process.stdout.write('(the page cache could not be dropped: reads may have come from memory)\n');
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  const out = join(ROOT, 'bench', 'results', 'fuse.json');
  const cpu = readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/)?.[1] ?? 'unknown';
  writeFileSync(
    out,
    `${JSON.stringify({ date: new Date().toISOString(), node: process.version, cpu, runs, rows }, null, 2)}\n`,
  );
  process.stdout.write(`medians of ${runs} alternating runs; written to ${out}\n`);
}

await main();
