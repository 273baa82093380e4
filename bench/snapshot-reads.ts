/**
 * Reading at a snapshot beside reading live, on one node:sqlite file: stat and readFile of every
 * small file, a readdir of every directory, and a 64 MiB file in 1 MiB reads (as the mount's
 * `/.snapshots` tree and `ws.atSnapshot` do), at 1,000 and 10,000 files. The snapshot sees the
 * same tree as live (taken just before), so the ratio is what reading through the history CTEs
 * costs. Medians of 5.
 *
 * Run: `npm run bench:snapshot-reads`. Writes bench/results/snapshot-reads.json.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNodeSqliteBackend } from '../backends/node-sqlite/index.ts';
import { type Database, lookup, openWorkspace, readInto, type Workspace } from '../core/index.ts';
import { resultsDir, sized } from './lib/smoke.ts';

const REPS = sized(5, 1);
/** The big file's size in MiB (smoke mode: 2). */
const BIG_MIB = sized(64, 2);
const MIB = 1024 * 1024;
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const fileName = (i: number): string => `/src/d${Math.floor(i / 100)}/f${i}.txt`;

function build(ws: Workspace, files: number): void {
  for (let start = 0; start < files; start += 1000) {
    ws.db.transaction(() => {
      for (let i = start; i < Math.min(files, start + 1000); i++) {
        if (i % 100 === 0) ws.mkdir(`/src/d${i / 100}`, { recursive: true });
        ws.writeFile(fileName(i), `file ${i}\n`.repeat(100));
      }
    });
  }
  const big = new Uint8Array(BIG_MIB * MIB);
  for (let i = 0; i < big.length; i += 4096) big[i] = (i * 2654435761) >>> 24;
  ws.writeFile('/big', big);
}

const workloads: Record<string, (ws: Workspace, db: Database, files: number) => void> = {
  'stat every file': (ws, _db, files) => {
    for (let i = 0; i < files; i++) ws.stat(fileName(i));
  },
  'readFile every file': (ws, _db, files) => {
    for (let i = 0; i < files; i++) ws.readFile(fileName(i));
  },
  'readdir every directory': (ws, _db, files) => {
    for (let d = 0; d < files / 100; d++) ws.readdir(`/src/d${d}`);
  },
  '64 MiB in 1 MiB reads': (_ws, db) => {
    const inode = (lookup(db, 1, 'big') as { inode: number }).inode;
    const target = new Uint8Array(MIB);
    for (let at = 0; at < BIG_MIB * MIB; at += MIB) readInto(db, inode, at, target);
  },
};

interface Row {
  files: number;
  workload: string;
  live: number;
  snapshot: number;
}

const rows: Row[] = [];
for (const files of sized([1_000, 10_000], [100])) {
  const dir = mkdtempSync(join(tmpdir(), 'dofs-snap-reads-'));
  try {
    const ws = openWorkspace(createNodeSqliteBackend({ path: join(dir, 'ws.db') }));
    build(ws, files);
    ws.snapshot('s');
    const at = ws.atSnapshot('s');
    for (const [workload, fn] of Object.entries(workloads)) {
      const live: number[] = [];
      const snapshot: number[] = [];
      for (let rep = 0; rep < REPS; rep++) {
        let start = performance.now();
        fn(ws, ws.db, files);
        live.push(performance.now() - start);
        start = performance.now();
        fn(at, at.db, files);
        snapshot.push(performance.now() - start);
      }
      rows.push({ files, workload, live: median(live), snapshot: median(snapshot) });
    }
    ws.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const ms = (value: number): string => (value < 10 ? value.toFixed(2) : value.toFixed(0));
console.log(`snapshot reads: node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'} x${cpus().length}`);
console.log('\n| files | workload | live | at a snapshot | ratio |');
console.log('|---:|---|---:|---:|---:|');
for (const r of rows) {
  console.log(
    `| ${r.files.toLocaleString('en')} | ${r.workload} | ${ms(r.live)} | ${ms(r.snapshot)} | ${(r.snapshot / r.live).toFixed(1)}× |`,
  );
}
const out = join(resultsDir(join(import.meta.dirname, 'results')), 'snapshot-reads.json');
writeFileSync(
  out,
  `${JSON.stringify({ machine: { cpu: cpus()[0]?.model, cores: cpus().length, node: process.version }, unit: `ms (median of ${REPS})`, rows }, null, 2)}\n`,
);
console.log(`\nresults: ${out}`);
