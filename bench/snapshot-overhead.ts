/**
 * What a snapshot costs ordinary operations, measured so that a 15 % difference shows through a
 * shared machine's noise: two workspaces on node:sqlite files, the same operation on each in turn
 * (the order alternating every repetition), many repetitions, medians and their ratio. On `snap`,
 * a snapshot is taken before every sample (untimed), the worst case: every row the operation
 * changes is one a snapshot sees, so each pays for its history row. History rows per operation are
 * counted beside the times.
 *
 * Run: `npm run bench:snapshot-overhead` (`--reps N`, default 21; `--only id,id`). Writes
 * bench/results/snapshot-overhead.json.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SQLiteWorkspaceProvider } from '../adapters/vfs/index.ts';
import { createNodeSqliteBackend } from '../backends/node-sqlite/index.ts';
import { openWorkspace, type Workspace } from '../core/index.ts';
import { resultsDir, sized } from './lib/smoke.ts';

const { values: args } = parseArgs({
  options: { reps: { type: 'string', default: '21' }, only: { type: 'string' } },
});
const REPS = sized(Number(args.reps), 1);
const FILES = sized(1000, 20);
const KiB = 1024;

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const small = (i: number, round: number): string => `file ${i} round ${round}\n`.repeat(40);

/** One operation: `setup` (untimed) leaves what `run` (timed) works on; both get a fresh round number. */
interface Op {
  id: string;
  label: string;
  setup(ws: Workspace, round: number): void;
  run(ws: Workspace, round: number): void;
}

const writeTree = (ws: Workspace, dir: string, round: number): void =>
  ws.db.transaction(() => {
    ws.mkdir(dir, { recursive: true });
    for (let i = 0; i < FILES; i++) ws.writeFile(`${dir}/f${i}.txt`, small(i, round));
  });

/** A pseudo-random sequence that is the same on both sides. */
function offsets(count: number, span: number, seed: number): number[] {
  let x = seed;
  return Array.from({ length: count }, () => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return x % span;
  });
}

const ops: Op[] = [
  {
    id: 'create',
    label: `create ${FILES} small files (one transaction)`,
    setup: (ws, round) => ws.mkdir(`/c${round}`),
    run: (ws, round) => writeTree(ws, `/c${round}`, round),
  },
  {
    id: 'overwrite',
    label: `overwrite ${FILES} small files`,
    setup: (ws, round) => writeTree(ws, `/o${round}`, round),
    run: (ws, round) =>
      ws.db.transaction(() => {
        for (let i = 0; i < FILES; i++) ws.writeFile(`/o${round}/f${i}.txt`, small(i, round + 1));
      }),
  },
  {
    id: 'stat-read',
    label: `stat and read ${FILES} small files`,
    setup: (ws, round) => writeTree(ws, `/r${round}`, round),
    run: (ws, round) => {
      for (let i = 0; i < FILES; i++) {
        ws.stat(`/r${round}/f${i}.txt`);
        ws.readFile(`/r${round}/f${i}.txt`);
      }
    },
  },
  {
    id: 'rename',
    label: `rename a directory of ${FILES} files`,
    setup: (ws, round) => writeTree(ws, `/m${round}`, round),
    run: (ws, round) => ws.rename(`/m${round}`, `/m${round}-moved`),
  },
  {
    id: 'rm-r',
    label: `rm -r a directory of ${FILES} files`,
    setup: (ws, round) => writeTree(ws, `/d${round}`, round),
    run: (ws, round) => ws.rm(`/d${round}`, { recursive: true }),
  },
  {
    id: 'write-64k',
    label: '256 writes of 64 KiB at the end of a file (16 MiB)',
    setup: () => undefined,
    run: (ws, round) => {
      const chunk = new Uint8Array(64 * KiB).fill(round % 251);
      ws.db.transaction(() => {
        for (let i = 0; i < 256; i++) ws.appendFile(`/w${round}.bin`, chunk);
      });
    },
  },
  {
    id: 'overwrite-4k',
    label: '1,000 random 4 KiB overwrites in a 16 MiB file',
    setup: (ws, round) => ws.writeFile(`/big${round}.bin`, new Uint8Array(16 * 1024 * KiB).fill(7)),
    run: (ws, round) => {
      // Through an open file, as a program writes.
      const block = new Uint8Array(4 * KiB).fill(round % 251);
      const file = new SQLiteWorkspaceProvider(ws).openSync(`/big${round}.bin`, 'r+');
      for (const at of offsets(1000, 16 * 256, round)) file.writeSync(block, 0, block.byteLength, at * 4 * KiB);
      file.closeSync();
    },
  },
];

const historyRows = (ws: Workspace): number =>
  ['vfs_hist_nodes', 'vfs_hist_dirents', 'vfs_hist_chunks']
    .map((table) => Number(ws.db.all<{ n: number }>(`SELECT count(*) AS n FROM ${table}`)[0].n))
    .reduce((a, b) => a + b, 0);

interface Result {
  id: string;
  label: string;
  plain: number;
  snap: number;
  ratio: number;
  /** Ratios of the per-repetition pairs: their spread says how far the median ratio can be trusted. */
  ratioLow: number;
  ratioHigh: number;
  historyRows: number;
}

function measure(op: Op): Result {
  const dir = mkdtempSync(join(tmpdir(), 'dofs-snap-overhead-'));
  try {
    const sides = {
      plain: openWorkspace(createNodeSqliteBackend({ path: join(dir, 'plain.db') })),
      snap: openWorkspace(createNodeSqliteBackend({ path: join(dir, 'snap.db') })),
    };
    const times = { plain: [] as number[], snap: [] as number[] };
    const history: number[] = [];
    for (let rep = -1; rep < REPS; rep++) {
      const order = rep % 2 === 0 ? (['plain', 'snap'] as const) : (['snap', 'plain'] as const);
      for (const side of order) {
        const ws = sides[side];
        op.setup(ws, rep + 1);
        if (side === 'snap') ws.snapshot(`before-${rep + 1}`);
        const rows = side === 'snap' ? historyRows(ws) : 0;
        const start = performance.now();
        op.run(ws, rep + 1);
        const elapsed = performance.now() - start;
        // The first round warms both files up and is not counted.
        if (rep < 0) continue;
        times[side].push(elapsed);
        if (side === 'snap') history.push(historyRows(ws) - rows);
      }
    }
    for (const ws of Object.values(sides)) ws.close();
    const pairs = times.plain.map((plain, i) => times.snap[i] / plain).sort((a, b) => a - b);
    return {
      id: op.id,
      label: op.label,
      plain: median(times.plain),
      snap: median(times.snap),
      ratio: median(times.snap) / median(times.plain),
      ratioLow: pairs[Math.floor(pairs.length / 4)],
      ratioHigh: pairs[Math.floor((pairs.length * 3) / 4)],
      historyRows: median(history),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const only = args.only?.split(',');
const load = loadavg()[0];
console.log(
  `snapshot overhead: node ${process.version}, ${cpus()[0]?.model} x${cpus().length}, ${REPS} repetitions, load ${load.toFixed(1)}`,
);
const results: Result[] = [];
for (const op of ops.filter((candidate) => !only || only.includes(candidate.id))) {
  const result = measure(op);
  results.push(result);
  console.log(
    `${op.id}: plain ${result.plain.toFixed(2)} ms, snap ${result.snap.toFixed(2)} ms, ratio ${result.ratio.toFixed(2)} (pairs, middle half ${result.ratioLow.toFixed(2)} to ${result.ratioHigh.toFixed(2)}), ${result.historyRows} history rows`,
  );
}
console.log('\n| operation | no snapshot | under a snapshot | ratio | pairs (middle half) | history rows |');
console.log('|---|---:|---:|---:|---:|---:|');
for (const r of results) {
  console.log(
    `| ${r.label} | ${r.plain.toFixed(1)} | ${r.snap.toFixed(1)} | ${r.ratio.toFixed(2)} | ${r.ratioLow.toFixed(2)}–${r.ratioHigh.toFixed(2)} | ${r.historyRows} |`,
  );
}
const out = join(resultsDir(join(import.meta.dirname, 'results')), 'snapshot-overhead.json');
writeFileSync(
  out,
  `${JSON.stringify({ machine: { cpu: cpus()[0]?.model, cores: cpus().length, node: process.version, loadAverage: load }, reps: REPS, unit: 'ms (median)', results }, null, 2)}\n`,
);
console.log(`\nresults: ${out}`);
