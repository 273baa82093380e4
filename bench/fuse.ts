// FUSE benchmark: the reference's workload table (dofs-reference.md) plus real tools (tar xzf, git
// clone, sqlite3) on three targets in the same run, alternating, medians of several runs:
//
// - dofs: a dofs mount;
// - tmpfs: a directory in /dev/shm (no FUSE at all);
// - floor: libfuse 3's own passthrough_ll example (C, low-level API) over a /dev/shm directory,
//   what FUSE itself allows on this machine. It is built at bench time in a temporary directory
//   from Debian's fuse3 source package (needs deb-src access through apt, gcc, libfuse3-dev) and
//   never enters the repository. Without it the floor column is empty.
//
//   npm run bench:fuse                 # 5 runs per workload
//   BENCH_RUNS=9 npm run bench:fuse    # more runs
//   npm run bench:fuse -- --only write,read
//   npm run bench:fuse -- --only write,read,overwrite --db both
//
// `--db disk` (the default) keeps the dofs database in the system's temp dir, on disk, as users
// run it; `--db tmpfs` puts it in /dev/shm, like for like with the floor, whose backing directory is
// in /dev/shm too (dropping the page cache empties neither); `--db both` runs the two dofs mounts
// side by side, each its own column.
//
// The mount daemons run in their own child processes (never touch a mount from the process
// serving it); each timed workload runs in another child, with its setup done beforehand by a
// separate child, so neither node's start-up nor the setup is timed. Cold reads read random data
// after a remount (dropping the page cache empties neither the daemon's blob cache nor, for
// tmpfs, anything). Results go to bench/results/fuse.json.
import { execFile, spawn } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import {
  closeSync,
  existsSync,
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
import { resultsDir, SMOKE, sized } from './lib/smoke.ts';
import { warmMachineMemory } from './lib/warm-memory.ts';

const exec = promisify(execFile);
const SELF = fileURLToPath(import.meta.url);
const ROOT = join(SELF, '..', '..');
const MIB = 1024 * 1024;
const BIG = sized(64, 1) * MIB;
// Smoke mode (bench/lib/smoke.ts) shrinks every workload; the labels keep the full sizes' names.
const FILES = sized(1000, 20);
const FANOUT = sized(10, 3);
const ROWS = sized(100_000, 1000);

// ---- Workloads (run inside a worker process: plain synchronous node:fs on the target directory) ----

interface Workload {
  /** The row label, as in the reference table. */
  label: string;
  /** Prepares `dir` (untimed, in its own process). */
  setup?(dir: string): void | Promise<void>;
  /** Remount after setup (FUSE targets), so the kernel has nothing cached and asks the daemon. */
  remount?: boolean;
  /** Also drop the page cache (root only) before that remount. */
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
  for (let a = 0; a < FANOUT; a++)
    for (let b = 0; b < FANOUT; b++)
      for (let c = 0; c < FANOUT; c++) mkdirSync(join(dir, 'tree', `${a}`, `${b}`, `${c}`), { recursive: true });
}

function writeBig(path: string, flags: string): void {
  const fd = openSync(path, flags);
  for (let i = 0; i < BIG / MIB; i++) writeSync(fd, buffer, 0, MIB, i * MIB);
  closeSync(fd);
}

const WORKLOADS: Record<string, Workload> = {
  create: { label: 'create 1000 files', run: (dir) => makeFiles(dir, FILES) },
  stat: {
    label: 'stat 1000 files',
    setup: (dir) => makeFiles(dir, FILES),
    remount: true,
    run: (dir) => {
      for (let i = 0; i < FILES; i++) statSync(join(dir, 'files', `f${i}`));
    },
  },
  rm: {
    label: 'rm 1000 files',
    setup: (dir) => makeFiles(dir, FILES),
    remount: true,
    run: (dir) => {
      for (let i = 0; i < FILES; i++) unlinkSync(join(dir, 'files', `f${i}`));
    },
  },
  mkdir: { label: 'mkdir tree 10×10×10', run: makeTree },
  find: {
    label: 'find over that tree',
    setup: makeTree,
    remount: true,
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
    label: 'cold read 64 MiB random',
    setup: (dir) => {
      // Random data: repeated blocks would be stored once and read from the blob cache.
      const fd = openSync(join(dir, 'big'), 'w');
      for (let i = 0; i < BIG / MIB; i++) writeSync(fd, randomFillSync(buffer), 0, MIB, i * MIB);
      closeSync(fd);
    },
    remount: true,
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
  tar: {
    label: 'tar xzf typescript tarball',
    run: async (dir) => {
      await exec('tar', ['-xzf', process.env.BENCH_TARBALL ?? '', '-C', dir]);
    },
  },
  clone: {
    label: 'git clone (express, local)',
    run: async (dir) => {
      await exec('git', ['clone', '-q', process.env.BENCH_GIT_MIRROR ?? '', join(dir, 'express')], {
        env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1' },
      });
    },
  },
  sqlite: {
    label: 'sqlite3 WAL 100,000 rows',
    run: async (dir) => {
      await exec(
        'sqlite3',
        [
          join(dir, 'bench.sqlite'),
          'PRAGMA journal_mode=WAL; CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); ' +
            `WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < ${ROWS}) ` +
            'INSERT INTO t (v) SELECT hex(randomblob(32)) FROM n; PRAGMA integrity_check;',
        ],
        { maxBuffer: 16 * MIB },
      );
    },
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

/** A mounted target: its directory, and how to remount it (a cold start of its daemon). */
interface Target {
  name: 'dofs' | 'dofsTmpfsDb' | 'tmpfs' | 'floor';
  root: string;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

async function isMounted(mnt: string): Promise<boolean> {
  const text = readFileSync('/proc/self/mountinfo', 'utf8');
  return text.split('\n').some((line) => line.split(' ')[4] === mnt);
}

/** Starts a daemon child and waits until `mnt` is mounted; stop() ends it and waits for the unmount. */
async function daemon(command: string, args: string[], mnt: string): Promise<{ stop(): Promise<void> }> {
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr.on('data', (chunk: Buffer) => {
    log += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 30_000;
  while (!(await isMounted(mnt))) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`${command} did not mount ${mnt}:\n${log}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
      if (await isMounted(mnt)) await exec('fusermount', ['-u', mnt]).catch(() => exec('fusermount', ['-uz', mnt]));
    },
  };
}

/** A dofs mount at `base`/`name` of a database in `dbDir` (removed at stop when it is not `base`). */
async function dofsTarget(base: string, name: 'dofs' | 'dofsTmpfsDb', dbDir: string): Promise<Target> {
  const mnt = join(base, name);
  mkdirSync(mnt);
  const start = () =>
    daemon(
      process.execPath,
      [join(ROOT, 'adapters/cli/bin.ts'), '--db', join(dbDir, 'bench.db'), 'mount', '--port', 'off', mnt],
      mnt,
    );
  let running = await start();
  return {
    name,
    root: mnt,
    restart: async () => {
      await running.stop();
      running = await start();
    },
    stop: async () => {
      await running.stop();
      if (dbDir !== base) rmSync(dbDir, { recursive: true, force: true });
    },
  };
}

/**
 * Builds libfuse 3's passthrough_ll from Debian's source package in a temporary directory (kept
 * in the system's temp dir between runs, never in the repository); undefined when that fails.
 */
async function buildPassthrough(): Promise<string | undefined> {
  const dir = join(tmpdir(), 'dofs-bench-passthrough_ll');
  const binary = join(dir, 'passthrough_ll');
  if (existsSync(binary)) return binary;
  // A smoke run builds nothing: the floor needs network access and minutes.
  if (SMOKE) return undefined;
  const script = `set -e
d=${dir}; rm -rf "$d"; mkdir -p "$d/parts" "$d/lists/partial"; cd "$d"
sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources > parts/src.sources
o="-o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts=$d/parts -o Dir::State::Lists=$d/lists"
apt-get $o update -qq && apt-get $o source --download-only fuse3 >/dev/null
tar -xJf fuse3_*.orig.tar.xz && cd fuse-3.*/example
gcc -O2 -D_FILE_OFFSET_BITS=64 passthrough_ll.c -o "$d/passthrough_ll" $(pkg-config fuse3 --cflags --libs)`;
  try {
    await exec('bash', ['-c', script], { maxBuffer: 16 * MIB, timeout: 300_000 });
    return binary;
  } catch (error) {
    process.stdout.write(
      `(passthrough_ll could not be built, no floor column: ${(error as Error).message.split('\n')[0]})\n`,
    );
    return undefined;
  }
}

async function floorTarget(base: string, binary: string): Promise<Target> {
  const source = mkdtempSync(join('/dev/shm', 'dofs-bench-floor-'));
  const mnt = join(base, 'floor');
  mkdirSync(mnt);
  const start = () => daemon(binary, ['-f', '-o', `source=${source}`, mnt], mnt);
  let running = await start();
  return {
    name: 'floor',
    root: mnt,
    restart: async () => {
      await running.stop();
      running = await start();
    },
    stop: async () => {
      await running.stop();
      rmSync(source, { recursive: true, force: true });
    },
  };
}

/** A repository of one commit of ten files, in `base`. */
async function tinyRepository(base: string): Promise<string> {
  const dir = join(base, 'tiny-repo');
  await exec(
    'bash',
    [
      '-c',
      `git init -q '${dir}' && cd '${dir}' && for i in $(seq 1 10); do echo "file $i" > f$i.txt; done && git add . && git -c user.email=b@e -c user.name=b commit -q -m tiny`,
    ],
    { env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1' } },
  );
  return dir;
}

/** A tarball of the installed typescript package (npm pack of node_modules/typescript), for tar xzf. */
async function makeTarball(base: string): Promise<string> {
  const { stdout } = await exec(
    'npm',
    ['pack', '--silent', join(ROOT, 'node_modules', sized('typescript', 'picomatch'))],
    {
      cwd: base,
      maxBuffer: 16 * MIB,
    },
  );
  return join(base, stdout.trim().split('\n').pop() ?? '');
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

type Column = Target['name'];

/** Where the dofs database lives: `--db disk|tmpfs|both` (see the head of this file). */
function dbPlaces(): { disk: boolean; tmpfs: boolean } {
  const at = process.argv.indexOf('--db');
  const value = at > 0 ? process.argv[at + 1] : 'disk';
  if (!['disk', 'tmpfs', 'both'].includes(value)) throw new Error(`--db ${value}: expected disk, tmpfs or both`);
  return { disk: value !== 'tmpfs', tmpfs: value !== 'disk' };
}

/** How each dofs column is labelled in the output. */
const DOFS_LABELS: Partial<Record<Column, string>> = {
  dofs: 'dofs (db on disk)',
  dofsTmpfsDb: 'dofs (db on tmpfs)',
};

async function main(): Promise<void> {
  const runs = sized(Number(process.env.BENCH_RUNS ?? 5), 1);
  const onlyIndex = process.argv.indexOf('--only');
  const only = onlyIndex > 0 ? process.argv[onlyIndex + 1].split(',') : Object.keys(WORKLOADS);
  for (const name of only) {
    if (!WORKLOADS[name]) throw new Error(`unknown workload ${name}; known: ${Object.keys(WORKLOADS).join(', ')}`);
  }
  // A fresh VM's first touch of a page costs the guest eight times a later one (bench/lib/warm-memory.ts):
  // the first runs would pay it for the page cache, tmpfs and the daemons alike.
  const warmGib = sized(Number(process.env.BENCH_WARM_GIB ?? 3), 0);
  if (warmGib > 0) console.error(warmMachineMemory(warmGib));
  const base = mkdtempSync(join(tmpdir(), 'dofs-bench-fuse-'));
  const shm = mkdtempSync(join('/dev/shm', 'dofs-bench-tmpfs-'));
  // A local mirror of a real repository for git clone: BENCH_GIT_MIRROR, else this repository.
  // A smoke run clones a repository of one commit instead (this one takes seconds on a mount).
  process.env.BENCH_GIT_MIRROR ??= SMOKE ? await tinyRepository(base) : ROOT;
  process.env.BENCH_TARBALL = await makeTarball(base);
  const passthrough = await buildPassthrough();
  const places = dbPlaces();
  const targets: Target[] = [];
  if (places.disk) targets.push(await dofsTarget(base, 'dofs', base));
  if (places.tmpfs)
    targets.push(await dofsTarget(base, 'dofsTmpfsDb', mkdtempSync(join('/dev/shm', 'dofs-bench-db-'))));
  targets.push({
    name: 'tmpfs',
    root: shm,
    restart: async () => {},
    stop: async () => rmSync(shm, { recursive: true, force: true }),
  });
  if (passthrough) targets.push(await floorTarget(base, passthrough));
  const rows: Array<Record<string, number | string | null>> = [];
  let dropped = true;
  const fmt = (ms: number | undefined) => (ms === undefined ? '       —' : ms.toFixed(1).padStart(8));
  try {
    for (const name of only) {
      const workload = WORKLOADS[name];
      const times: Partial<Record<Column, number[]>> = {};
      for (let run = 0; run < runs; run++) {
        // Rotate which target goes first, so drift on a shared machine hits all alike.
        const order = targets.map((_, i) => targets[(i + run) % targets.length]);
        for (const target of order) {
          const dir = join(target.root, `${name}-${run}`);
          await exec('mkdir', ['-p', dir]);
          await worker('setup', name, dir);
          if (workload.dropPageCache) dropped = (await dropPageCache()) && dropped;
          if (workload.remount) await target.restart();
          const list = times[target.name] ?? [];
          times[target.name] = list;
          list.push(await worker('run', name, dir));
          await exec('rm', ['-rf', dir]);
        }
      }
      const tmpfs = median(times.tmpfs ?? []);
      const floor = times.floor ? median(times.floor) : undefined;
      const at = (column: Column) => (times[column] ? median(times[column]) : null);
      const dofs = at('dofs');
      const dofsTmpfsDb = at('dofsTmpfsDb');
      const over = (ms: number | null, by: number | undefined) => (ms === null || by === undefined ? null : ms / by);
      rows.push({
        workload: name,
        label: workload.label,
        dofs,
        dofsTmpfsDb,
        tmpfs,
        floor: floor ?? null,
        ratio: over(dofs, tmpfs),
        ratioTmpfsDb: over(dofsTmpfsDb, tmpfs),
        floorRatio: floor === undefined ? null : floor / tmpfs,
        dofsOverFloor: over(dofs, floor),
        dofsTmpfsDbOverFloor: over(dofsTmpfsDb, floor),
        runs,
      });
      const floorTimes = (x: number | null) => (x === null ? '—' : x.toFixed(2));
      for (const column of ['dofs', 'dofsTmpfsDb'] as const) {
        const ms = at(column);
        if (ms === null) continue;
        process.stdout.write(
          `${workload.label.padEnd(30)} ${(DOFS_LABELS[column] ?? column).padEnd(18)} ${fmt(ms)} ms   tmpfs ${fmt(tmpfs)} ms   ` +
            `floor ${fmt(floor)} ms   ÷tmpfs ×${(ms / tmpfs).toFixed(1)}   floor÷tmpfs ×${floor === undefined ? '—' : (floor / tmpfs).toFixed(1)}   ` +
            `÷floor ×${floorTimes(over(ms, floor))}\n`,
        );
      }
    }
  } finally {
    for (const target of targets) await target.stop();
    rmSync(base, { recursive: true, force: true });
  }
  if (!dropped) process.stdout.write('(the page cache could not be dropped: reads may have come from memory)\n');
  const results = resultsDir(join(ROOT, 'bench', 'results'));
  mkdirSync(results, { recursive: true });
  const out = join(results, 'fuse.json');
  const cpu = readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/)?.[1] ?? 'unknown';
  writeFileSync(
    out,
    `${JSON.stringify({ date: new Date().toISOString(), node: process.version, cpu, runs, rows }, null, 2)}\n`,
  );
  process.stdout.write(`medians of ${runs} alternating runs; written to ${out}\n`);
}

await main();
