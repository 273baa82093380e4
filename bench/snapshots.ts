/**
 * Snapshots at scale, on node:sqlite files: snapshot, diff and restore after 1 % of the files
 * changed, fork (inside SQLite between two files at hand, and in pages as from a Durable Object)
 * and merge back, at 1,000, 10,000 and 100,000 small files; beside what users do today: copying
 * the database file (after a checkpoint) and `cp -r` of the same tree on tmpfs (with `diff -rq`
 * for a diff, and rm -r plus cp -r back for a restore). Medians of 5 runs.
 *
 * Run: `npm run bench:snapshots` (add `--quick` for 1,000 and 10,000 only). Writes
 * bench/results/snapshots.json with the machine and every median.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNodeSqliteBackend } from '../backends/node-sqlite/index.ts';
import type { Database } from '../core/database.ts';
import { openWorkspace, type Workspace } from '../core/index.ts';
import { fork, local, merge, type WorkspaceAccess } from '../sync/index.ts';
import { resultsDir, sized } from './lib/smoke.ts';

const quick = process.argv.includes('--quick');
const sizes = sized(quick ? [1_000, 10_000] : [1_000, 10_000, 100_000], [100]);
const REPS = sized(5, 1);
const TMPFS = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

function time(fn: () => unknown): number {
  const start = performance.now();
  fn();
  return performance.now() - start;
}

async function timeAsync(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

const fileName = (i: number): string => `/src/d${Math.floor(i / 100)}/f${i}.txt`;
const content = (i: number, round: number): string => `file ${i} round ${round}\n`.repeat(40);

function open(path: string): Workspace {
  return openWorkspace(createNodeSqliteBackend({ path }));
}

/** Writes `files` small files (about 1 KiB, 100 per directory), 1,000 per transaction. */
function build(ws: Workspace, files: number): void {
  for (let start = 0; start < files; start += 1000) {
    ws.db.transaction(() => {
      for (let i = start; i < Math.min(files, start + 1000); i++) {
        if (i % 100 === 0) ws.mkdir(`/src/d${i / 100}`, { recursive: true });
        ws.writeFile(fileName(i), content(i, 0));
      }
    });
  }
}

/** Changes 1 % of the files: half overwritten, a quarter removed, a quarter added. */
function churn(ws: Workspace, files: number, round: number): void {
  const count = Math.max(4, files / 100);
  ws.db.transaction(() => {
    for (let k = 0; k < count; k++) {
      const i = Math.floor((k * files) / count);
      if (k % 4 < 2) ws.writeFile(fileName(i), content(i, round));
      else if (k % 4 === 2) ws.rm(fileName(i), { force: true });
      else ws.writeFile(`/src/d0/new-${round}-${k}.txt`, content(k, round));
    }
  });
}

/** The same tree on tmpfs, for cp -r. */
function buildTree(dir: string, files: number): void {
  for (let i = 0; i < files; i++) {
    if (i % 100 === 0) mkdirSync(join(dir, `src/d${i / 100}`), { recursive: true });
    writeFileSync(join(dir, fileName(i)), content(i, 0));
  }
}

const run = (command: string, args: string[]): void => {
  const result = spawnSync(command, args);
  if (result.status !== 0 && command !== 'diff') throw new Error(`${command} failed: ${result.stderr}`);
};

/** An access fork cannot see through (as a Durable Object's): it copies in pages. */
const paged =
  (db: Database): WorkspaceAccess =>
  async (fn) =>
    fn(db);

interface Row {
  files: number;
  /** The first write after the build, a plain writeFile: what the first snapshot was measured as before. */
  firstWrite: number;
  /**
   * The first snapshot of a workspace (creating the history triggers), with the log's checkpoint
   * and restart paid by a write before it.
   */
  firstSnapshot: number;
  snapshot: number;
  diff: number;
  restore: number;
  fork: number;
  forkPaged: number;
  merge: number;
  copyDb: number;
  cpR: number;
  diffR: number;
  restoreCp: number;
}

async function measure(files: number): Promise<Row> {
  const dir = mkdtempSync(join(tmpdir(), 'dofs-snap-bench-'));
  const tree = mkdtempSync(join(TMPFS, 'dofs-snap-bench-'));
  try {
    const path = join(dir, 'ws.db');
    const ws = open(path);
    build(ws, files);
    buildTree(join(tree, 'a'), files);
    const firstWrite = time(() => ws.writeFile('/first-write', 'x'));
    // SQLite's own housekeeping lands on whichever commit comes next: a checkpoint when the log
    // passes 256 pages, then the next commit restarts the log (its header written and fsynced, with
    // the directory). Both are paid here, so the first snapshot's time is its own.
    ws.db.backend.all('PRAGMA wal_checkpoint(TRUNCATE)');
    ws.writeFile('/first-write', 'y');
    const firstSnapshot = time(() => ws.snapshot('first'));
    const samples: Record<keyof Omit<Row, 'files' | 'firstWrite' | 'firstSnapshot'>, number[]> = {
      snapshot: [],
      diff: [],
      restore: [],
      fork: [],
      forkPaged: [],
      merge: [],
      copyDb: [],
      cpR: [],
      diffR: [],
      restoreCp: [],
    };
    for (let rep = 0; rep < REPS; rep++) {
      const name = `bench-${rep}`;
      samples.snapshot.push(time(() => ws.snapshot(name)));
      churn(ws, files, rep + 1);
      samples.diff.push(time(() => ws.diff(name)));
      samples.restore.push(time(() => ws.restore(name)));

      const copyPath = join(dir, `fork-${rep}.db`);
      const copy = open(copyPath);
      samples.fork.push(await timeAsync(() => fork(local(ws.db), local(copy.db))));
      churn(copy, files, rep + 10);
      samples.merge.push(await timeAsync(() => merge(local(ws.db), local(copy.db))));
      copy.close();
      const pagedCopy = open(join(dir, `paged-${rep}.db`));
      samples.forkPaged.push(await timeAsync(() => fork(paged(ws.db), paged(pagedCopy.db))));
      pagedCopy.close();

      // What users do today: a checkpointed copy of the database file, and cp -r on tmpfs.
      ws.db.backend.all('PRAGMA wal_checkpoint(TRUNCATE)');
      samples.copyDb.push(time(() => copyFileSync(path, join(dir, `copy-${rep}.db`))));
      const b = join(tree, `b${rep}`);
      samples.cpR.push(time(() => run('cp', ['-r', join(tree, 'a'), b])));
      writeFileSync(join(b, fileName(0)), 'changed\n');
      samples.diffR.push(time(() => run('diff', ['-rq', join(tree, 'a'), b])));
      samples.restoreCp.push(
        time(() => {
          rmSync(b, { recursive: true });
          run('cp', ['-r', join(tree, 'a'), b]);
        }),
      );
      rmSync(b, { recursive: true });
      // The copies go each round: at 100,000 files each is about 150 MB.
      for (const name of [`fork-${rep}.db`, `paged-${rep}.db`, `copy-${rep}.db`])
        for (const suffix of ['', '-wal', '-shm', '-reserve']) rmSync(join(dir, `${name}${suffix}`), { force: true });
      for (const info of ws.snapshots()) if (info.name !== 'first') ws.deleteSnapshot(info.name);
      ws.gc({ safetyWindowMs: 0 });
    }
    ws.close();
    const row = { files, firstWrite, firstSnapshot } as Row;
    for (const [key, values] of Object.entries(samples)) row[key as keyof typeof samples] = median(values);
    return row;
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(tree, { recursive: true, force: true });
  }
}

const ms = (value: number): string => (value < 10 ? value.toFixed(2) : value.toFixed(0));

console.log(`snapshots: node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'} x${cpus().length}`);
const rows: Row[] = [];
for (const files of sizes) rows.push(await measure(files));
console.log(
  '\n| files | first write | first snapshot | snapshot | diff (1 %) | restore (1 %) | fork | fork (paged) | merge (1 %) | copy db file | cp -r (tmpfs) | diff -rq (tmpfs) | rm -r + cp -r (tmpfs) |',
);
console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const r of rows) {
  console.log(
    `| ${r.files.toLocaleString('en')} | ${ms(r.firstWrite)} | ${ms(r.firstSnapshot)} | ${ms(r.snapshot)} | ${ms(r.diff)} | ${ms(r.restore)} | ${ms(r.fork)} | ${ms(r.forkPaged)} | ${ms(r.merge)} | ${ms(r.copyDb)} | ${ms(r.cpR)} | ${ms(r.diffR)} | ${ms(r.restoreCp)} |`,
  );
}
const out = join(resultsDir(join(import.meta.dirname, 'results')), 'snapshots.json');
writeFileSync(
  out,
  `${JSON.stringify({ machine: { cpu: cpus()[0]?.model, cores: cpus().length, node: process.version }, unit: 'ms (median of 5; firstWrite and firstSnapshot: one run)', rows }, null, 2)}\n`,
);
console.log(`\nresults: ${out}`);
