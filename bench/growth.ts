/**
 * Whether creating files and writing a large file cost the same as the workspace grows: through
 * `createNodeFs` over node:sqlite in memory and in a file (the backend's defaults), beside
 * node:fs on tmpfs, and, for writes, beside the raw node:sqlite floor (bench/systems/sqlite-raw.ts:
 * each 64 KiB chunk hashed and inserted, committed in the batches the engine's write buffer stages),
 * so the growth SQLite has on its own is measured in the same run as the engine's.
 *
 *  - files: 1 KiB files by writeFileSync, 100 per directory (mkdirSync for each new directory),
 *    up to 100,000; the time per file of each successive 1,000 is recorded, and reported at 1,000,
 *    10,000 and 100,000 files (the median of the five blocks of 1,000 ending there, or of the blocks
 *    so far at 1,000);
 *  - sequential: one file written by 64 KiB writeSync up to 1 GiB, then closed; the time per MiB of
 *    each successive 64 MiB is recorded, and reported for the first 64 MiB and the last (ending at
 *    1 GiB); the close, where a write-back session commits the file's chunk list, is reported apart.
 *
 * Each series first runs a small round (2,000 files, 128 MiB) on a throwaway target of the same
 * kind, so the first block is not the one that pays for compiling the code. Every series runs
 * `--runs` times, the kinds taking turns so a change in the machine's load falls on all of them;
 * each block's figure is the median of its runs.
 *
 *   node --expose-gc bench/growth.ts [--files 100000] [--mib 1024] [--runs 3] [--warm-gib 3] [--only mem,file,tmpfs,sqlite:mem,sqlite:file]
 *
 * Before measuring, `--warm-gib` GiB of the machine's memory are filled once in a child process: on
 * a freshly booted VM the host supplies each guest page at its first touch, at eight times the
 * cost of a later one, which a series growing to 1 GiB would otherwise report as its own growth
 * (bench/lib/warm-memory.ts).
 *
 * Ratios are last ÷ first (and, for writes, the costliest 64 MiB ÷ the first): flat is 1.0. Every figure is given as wall-clock / CPU time (user +
 * system, which other jobs on a shared machine inflate less); `--series` prints every block.
 */
import { randomBytes } from 'node:crypto';
import * as realFs from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNodeFs } from '../adapters/node-fs/index.ts';
import { defaultWriteBufferChunks } from '../adapters/vfs/provider.ts';
import { stagingBatch } from '../adapters/vfs/write-buffer.ts';
import { createNodeSqliteBackend } from '../backends/node-sqlite/index.ts';
import { DEFAULT_CHUNK_SIZE, hashBytes, openWorkspace } from '../core/index.ts';
import { sized } from './lib/smoke.ts';
import { warmMachineMemory } from './lib/warm-memory.ts';
import { openRawStore } from './systems/sqlite-raw.ts';

const args = process.argv.slice(2);
const option = (name: string, fallback: number): number => {
  const at = args.indexOf(`--${name}`);
  return at === -1 ? fallback : Number(args[at + 1]);
};
const FILES = sized(option('files', 100_000), 1000);
const MIB = sized(option('mib', 1024), 64);
const RUNS = sized(option('runs', 3), 1);
/** GiB of the machine's memory touched before measuring (see bench/lib/warm-memory.ts); 0 skips it. */
const WARM_GIB = sized(option('warm-gib', 3), 0);
const onlyAt = args.indexOf('--only');
const only = onlyAt === -1 ? ['mem', 'file', 'tmpfs', 'sqlite:mem', 'sqlite:file'] : args[onlyAt + 1].split(',');
/** The raw floor has no files to create: it is a row of the write table only. */
const isRaw = (kind: string) => kind.startsWith('sqlite:');
const BLOCK = 1000;
const PIECE = 64 * 1024;
const collect = (globalThis as { gc?: () => void }).gc;
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** A fresh temporary directory for a file database, or undefined for memory. */
const databaseDir = (kind: string): string | undefined =>
  kind.endsWith('file') ? realFs.mkdtempSync(join(tmpdir(), 'dofs-growth-')) : undefined;

interface Target {
  fs: typeof realFs;
  root: string;
  done(): void;
}

function open(kind: string): Target {
  if (kind === 'tmpfs') {
    const root = realFs.mkdtempSync('/dev/shm/dofs-growth-');
    return { fs: realFs, root, done: () => realFs.rmSync(root, { recursive: true, force: true }) };
  }
  const dir = databaseDir(kind);
  const ws = openWorkspace(createNodeSqliteBackend({ path: dir ? join(dir, 'ws.db') : ':memory:' }));
  return {
    fs: createNodeFs(ws) as unknown as typeof realFs,
    root: '',
    done: () => {
      ws.close();
      if (dir) realFs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** One file written sequentially: `write` the next 64 KiB at `position`, then `close`. */
interface Writer {
  write(bytes: Uint8Array, position: number): void;
  close(): void;
  done(): void;
}

/** The chunks the engine's write buffer stages per transaction, by default: the raw floor commits as often. */
const RAW_BATCH = stagingBatch(defaultWriteBufferChunks(DEFAULT_CHUNK_SIZE));

/**
 * The raw floor: each 64 KiB written is one chunk, hashed and inserted at once (blob and chunk
 * row, bench/systems/sqlite-raw.ts), committed every {@link RAW_BATCH} chunks and at the close.
 */
function rawWriter(kind: string): Writer {
  const dir = databaseDir(kind);
  const raw = openRawStore(dir ? join(dir, 'raw.db') : ':memory:');
  let pending = 0;
  const commit = () => {
    if (pending > 0) raw.db.exec('COMMIT');
    pending = 0;
  };
  return {
    write(bytes, position) {
      if (pending === 0) raw.db.exec('BEGIN IMMEDIATE');
      const hash = hashBytes(bytes);
      raw.putBlob.run(hash, bytes);
      raw.putChunk.run('f', position / PIECE, hash);
      if (++pending === RAW_BATCH) commit();
    },
    close: commit,
    done() {
      raw.db.close();
      if (dir) realFs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A file written by writeSync through `kind`'s fs. */
function fsWriter(kind: string): Writer {
  const { fs, root, done } = open(kind);
  const fd = fs.openSync(`${root}/big`, 'w');
  return {
    write: (bytes, position) => {
      fs.writeSync(fd, bytes, 0, bytes.byteLength, position);
    },
    close: () => fs.closeSync(fd),
    done,
  };
}

/** Wall-clock and CPU time of `fn`, in milliseconds. */
function timed(fn: () => void): [number, number] {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  fn();
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return [wall, (cpu.user + cpu.system) / 1000];
}

/**
 * The warm-up rounds' targets, closed only after the measured series: closed before, they would
 * hand their freed memory to the first measured block, which then pays no page faults where every
 * later block does (measured: the first 64 MiB of a write then cost 1.5 ms per MiB of CPU instead
 * of 2.1-2.3, which made the series look as if it grew).
 */
const warmUps: (() => void)[] = [];
const keepOpen = (done: () => void): void => {
  warmUps.push(done);
};
const closeWarmUps = (): void => {
  for (const done of warmUps.splice(0)) done();
};

/** Microseconds per file (wall, CPU) of each block of 1,000 creations; `keep` takes the cleanup instead of running it. */
function files(kind: string, count = FILES, keep?: (done: () => void) => void): [number, number][] {
  const { fs, root, done } = open(kind);
  const contents = Array.from({ length: BLOCK }, () => randomBytes(1024));
  const perFile: [number, number][] = [];
  for (let start = 0; start < count; start += BLOCK) {
    collect?.();
    const [wall, cpu] = timed(() => {
      for (let i = start; i < start + BLOCK; i++) {
        const dir = `${root}/t/d${Math.floor(i / 10_000)}/e${Math.floor(i / 100) % 100}`;
        if (i % 100 === 0) fs.mkdirSync(dir, { recursive: true });
        fs.writeFileSync(`${dir}/f${i}`, contents[i % BLOCK]);
      }
    });
    perFile.push([(wall * 1000) / BLOCK, (cpu * 1000) / BLOCK]);
  }
  if (keep) keep(done);
  else done();
  return perFile;
}

/** Milliseconds per MiB (wall, CPU) of each successive 64 MiB of a sequential write, and of the close; `keep` as in {@link files}. */
function sequential(
  kind: string,
  mib = MIB,
  keep?: (done: () => void) => void,
): { perMiB: [number, number][]; close: [number, number] } {
  const writer = isRaw(kind) ? rawWriter(kind) : fsWriter(kind);
  const pieces = Array.from({ length: 64 }, () => randomBytes(PIECE));
  const perMiB: [number, number][] = [];
  for (let block = 0; block < mib / 64; block++) {
    collect?.();
    const [wall, cpu] = timed(() => {
      for (let i = 0; i < 1024; i++) {
        const bytes = pieces[i % 64];
        bytes[0] = block; // every chunk differs: nothing deduplicates
        bytes[1] = i;
        bytes[2] = i >> 8;
        writer.write(bytes, (block * 1024 + i) * PIECE);
      }
    });
    perMiB.push([wall / 64, cpu / 64]);
  }
  const close = timed(() => writer.close());
  if (keep) keep(writer.done);
  else writer.done();
  return { perMiB, close };
}

/** Each block's median over the runs (and so for any figure: each run gives one series of the same length). */
const medianSeries = (runs: [number, number][][]): [number, number][] =>
  runs[0].map((_, i) => [median(runs.map((run) => run[i][0])), median(runs.map((run) => run[i][1]))]);

/** `measure` run {@link RUNS} times for each kind, the kinds taking turns; each kind's series of block medians. */
function rounds<T extends [number, number][]>(kinds: string[], measure: (kind: string) => T): Map<string, T[]> {
  const results = new Map<string, T[]>(kinds.map((kind) => [kind, []]));
  for (let run = 0; run < RUNS; run++) for (const kind of kinds) results.get(kind)?.push(measure(kind));
  return results;
}

const at = (series: [number, number][], count: number, which: 0 | 1): number =>
  median(series.slice(Math.max(0, count / BLOCK - 5), count / BLOCK).map((pair) => pair[which]));
const pair = (a: number, b: number, digits: number) => `${a.toFixed(digits)} / ${b.toFixed(digits)}`;
const load = () =>
  loadavg()
    .map((x) => x.toFixed(1))
    .join(' ');

console.log(`each cell: wall-clock / CPU; each block the median of ${RUNS} runs`);
console.log(`CPU: ${cpus()[0]?.model} × ${cpus().length}; Node ${process.version}; load ${load()}`);
if (WARM_GIB > 0) console.log(warmMachineMemory(WARM_GIB));
const row = (cells: (string | number)[]) => console.log(`| ${cells.join(' | ')} |`);
const sizes = [1000, 10_000, 100_000].filter((n) => n <= FILES);
const fileKinds = only.filter((kind) => !isRaw(kind));
if (fileKinds.length > 0) {
  row(['µs per file created', ...sizes.map((n) => `at ${n.toLocaleString('en')}`), 'last ÷ first']);
  row(['---', ...sizes.map(() => '---:'), '---:']);
  const created = rounds(fileKinds, (kind) => {
    files(kind, sized(2 * BLOCK, BLOCK), keepOpen); // warm-up
    const series = files(kind);
    closeWarmUps();
    return series;
  });
  for (const [kind, runs] of created) {
    const series = medianSeries(runs);
    const wall = sizes.map((n) => at(series, n, 0));
    const cpu = sizes.map((n) => at(series, n, 1));
    const ratio = (values: number[]) => values[values.length - 1] / values[0];
    row([kind, ...sizes.map((_, i) => pair(wall[i], cpu[i], 0)), pair(ratio(wall), ratio(cpu), 2)]);
    if (args.includes('--series')) console.log(`  ${kind} CPU: ${series.map((v) => v[1].toFixed(0)).join(' ')}`);
  }
  console.log(`load ${load()}`);
  console.log();
}
row([
  'ms per MiB written',
  'first 64 MiB',
  `last 64 MiB (to ${MIB} MiB)`,
  'last ÷ first',
  'highest 64 MiB ÷ first',
  'close (ms)',
]);
row(['---', '---:', '---:', '---:', '---:', '---:']);
const written = rounds(only, (kind) => {
  sequential(kind, sized(128, 64), keepOpen); // warm-up
  const { perMiB, close } = sequential(kind);
  closeWarmUps();
  return [...perMiB, close]; // the close rides along as a last entry, so its median is taken alike
});
for (const [kind, runs] of written) {
  const all = medianSeries(runs);
  const close = all[all.length - 1];
  const perMiB = all.slice(0, -1);
  const first = perMiB[0];
  const last = perMiB[perMiB.length - 1];
  const highest = (which: 0 | 1) => Math.max(...perMiB.map((block) => block[which])) / first[which];
  row([
    kind,
    pair(first[0], first[1], 2),
    pair(last[0], last[1], 2),
    pair(last[0] / first[0], last[1] / first[1], 2),
    pair(highest(0), highest(1), 2),
    pair(close[0], close[1], 0),
  ]);
  if (args.includes('--series')) console.log(`  ${kind} CPU: ${perMiB.map((v) => v[1].toFixed(1)).join(' ')}`);
}
console.log(`load at the end ${load()}`);
