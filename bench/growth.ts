/**
 * Whether creating files and writing a large file cost the same as the workspace grows: through
 * `createNodeFs` over node:sqlite in memory and in a file (the backend's defaults), beside
 * node:fs on tmpfs.
 *
 *  - files: 1 KiB files by writeFileSync, 100 per directory (mkdirSync for each new directory),
 *    up to 100,000; the time per file of each successive 1,000 is recorded, and reported at 1,000,
 *    10,000 and 100,000 files (the median of the five blocks of 1,000 ending there, or of the blocks
 *    so far at 1,000);
 *  - sequential: one file written by 64 KiB writeSync up to 1 GiB, then closed; the time per MiB of
 *    each successive 64 MiB is recorded, and reported for the first 64 MiB and the last (ending at
 *    1 GiB, its close included).
 *
 *   node --expose-gc bench/growth.ts [--files 100000] [--mib 1024] [--only mem,file,tmpfs]
 *
 * Ratios are last ÷ first: flat is 1.0.
 */
import { randomBytes } from 'node:crypto';
import * as realFs from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNodeFs } from '../adapters/node-fs/index.ts';
import { createNodeSqliteBackend } from '../backends/node-sqlite/index.ts';
import { openWorkspace } from '../core/index.ts';

const args = process.argv.slice(2);
const option = (name: string, fallback: number): number => {
  const at = args.indexOf(`--${name}`);
  return at === -1 ? fallback : Number(args[at + 1]);
};
const FILES = option('files', 100_000);
const MIB = option('mib', 1024);
const onlyAt = args.indexOf('--only');
const only = onlyAt === -1 ? ['mem', 'file', 'tmpfs'] : args[onlyAt + 1].split(',');
const BLOCK = 1000;
const collect = (globalThis as { gc?: () => void }).gc;
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

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
  const dir = kind === 'file' ? realFs.mkdtempSync(join(tmpdir(), 'dofs-growth-')) : undefined;
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

/** Microseconds per file of each block of 1,000 creations. */
function files(kind: string): number[] {
  const { fs, root, done } = open(kind);
  const contents = Array.from({ length: BLOCK }, () => randomBytes(1024));
  const perFile: number[] = [];
  for (let start = 0; start < FILES; start += BLOCK) {
    collect?.();
    const t0 = performance.now();
    for (let i = start; i < start + BLOCK; i++) {
      const dir = `${root}/t/d${Math.floor(i / 10_000)}/e${Math.floor(i / 100) % 100}`;
      if (i % 100 === 0) fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(`${dir}/f${i}`, contents[i % BLOCK]);
    }
    perFile.push(((performance.now() - t0) * 1000) / BLOCK);
  }
  done();
  return perFile;
}

/** Milliseconds per MiB of each successive 64 MiB of a sequential write (the last includes the close). */
function sequential(kind: string): number[] {
  const { fs, root, done } = open(kind);
  const piece = 64 * 1024;
  const pieces = Array.from({ length: 64 }, () => randomBytes(piece));
  const fd = fs.openSync(`${root}/big`, 'w');
  const perMiB: number[] = [];
  for (let block = 0; block < MIB / 64; block++) {
    collect?.();
    const t0 = performance.now();
    for (let i = 0; i < 1024; i++) {
      const bytes = pieces[i % 64];
      bytes[0] = block; // every chunk differs: nothing deduplicates
      bytes[1] = i;
      bytes[2] = i >> 8;
      fs.writeSync(fd, bytes, 0, piece, (block * 1024 + i) * piece);
    }
    if (block === MIB / 64 - 1) fs.closeSync(fd);
    perMiB.push((performance.now() - t0) / 64);
  }
  done();
  return perMiB;
}

const at = (series: number[], count: number): number =>
  median(series.slice(Math.max(0, count / BLOCK - 5), count / BLOCK));

console.log(
  `CPU: ${cpus()[0]?.model} × ${cpus().length}; Node ${process.version}; load ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}`,
);
const row = (cells: (string | number)[]) => console.log(`| ${cells.join(' | ')} |`);
const sizes = [1000, 10_000, 100_000].filter((n) => n <= FILES);
row(['µs per file created', ...sizes.map((n) => `at ${n.toLocaleString('en')}`), 'last ÷ first']);
row(['---', ...sizes.map(() => '---:'), '---:']);
for (const kind of only) {
  const series = files(kind);
  const values = sizes.map((n) => at(series, n));
  row([kind, ...values.map((v) => v.toFixed(0)), (values[values.length - 1] / values[0]).toFixed(2)]);
}
console.log();
row(['ms per MiB written', 'first 64 MiB', `last 64 MiB (to ${MIB} MiB, close included)`, 'last ÷ first']);
row(['---', '---:', '---:', '---:']);
for (const kind of only) {
  const series = sequential(kind);
  const first = series[0];
  const last = series[series.length - 1];
  row([kind, first.toFixed(2), last.toFixed(2), (last / first).toFixed(2)]);
}
console.log(
  `load at the end ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}`,
);
