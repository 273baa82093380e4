/**
 * The benchmark entry: every workload on every system, side by side in one run, alternating the
 * order of systems between repetitions; then the chunk-size study; then (optionally) the same
 * engine workloads inside workerd on a real SQLite-backed Durable Object.
 *
 *   npm run bench          full: 5 repetitions, 64 MiB files, 1,000 and 10,000 small files, Durable Objects
 *   npm run bench:quick    under two minutes: 3 repetitions, smaller sizes, no Durable Objects
 *
 * Options: --quick, --reps N, --only id,id (workloads), --systems id,id, --suites compare,chunks,do,
 * --no-chunks, --do / --no-do,
 * --no-write (print only).
 */
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_CHUNK_SIZE } from '../core/index.ts';
import { runDurableObjectSuite } from './do/driver.ts';
import { MiB } from './lib/data.ts';
import { createRecorder, type RunSamples } from './lib/measure.ts';
import { failOnSmoke, SMOKE, sized } from './lib/smoke.ts';
import type { SystemDef, Workload } from './lib/types.ts';
import { aggregate, BENCH_DIR, machineFacts, type SuiteResult, suiteTables, writeResults } from './report.ts';
import { CHUNK_SIZES, chunkSystems, comparisonSystems } from './systems/index.ts';
import { dedup } from './workloads/dedup.ts';
import { type ImportParams, importTree } from './workloads/import-tree.ts';
import { largeFile } from './workloads/large-file.ts';
import { smallFiles } from './workloads/small-files.ts';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    reps: { type: 'string' },
    only: { type: 'string' },
    systems: { type: 'string' },
    'no-chunks': { type: 'boolean', default: false },
    do: { type: 'boolean' },
    'no-do': { type: 'boolean', default: false },
    'no-write': { type: 'boolean', default: false },
    suites: { type: 'string' },
  },
});

const quick = args.quick === true;
const config = quick
  ? {
      reps: 3,
      largeSize: 16 * MiB,
      dedupSize: 16 * MiB,
      small: [1000],
      tree: 2000,
      budgetMs: 1000,
      slowMs: 3000,
      chunkWorkloads: ['large', 'dedup'],
      chunkStorages: ['file'] as Array<'mem' | 'file'>,
      chunkBudgetMs: 500,
    }
  : {
      reps: 5,
      largeSize: 64 * MiB,
      dedupSize: 16 * MiB,
      small: [1000],
      tree: 10_000,
      budgetMs: 15_000,
      slowMs: 30_000,
      chunkWorkloads: ['small-1k', 'large', 'dedup', 'import'],
      chunkStorages: ['mem', 'file'] as Array<'mem' | 'file'>,
      chunkBudgetMs: 15_000,
    };
if (args.reps) config.reps = Number(args.reps);
// Smoke mode (bench/lib/smoke.ts): every workload once on every system, at small sizes (the
// workload ids stay those the docs name in --only: small-1k, small-2k, large, dedup, import).
if (SMOKE)
  Object.assign(config, {
    reps: 1,
    largeSize: MiB,
    dedupSize: MiB / 4,
    small: [1000],
    tree: 2000,
    budgetMs: 1000,
    slowMs: 30_000,
    chunkBudgetMs: 1000,
  });
const only = args.only?.split(',');
const onlySystems = args.systems?.split(',');
const suiteIds = args.suites?.split(',');
const wanted = (id: string) => !suiteIds || suiteIds.includes(id);
const runDo = args['no-do'] ? false : (args.do ?? (suiteIds ? wanted('do') : !quick));

const ROOT = join(BENCH_DIR, '..');
const log = (message: string) => process.stderr.write(`${message}\n`);

/** node_modules/typescript, loaded into memory (untimed) as the import workload's input. */
function loadTree(dir: string, name: string): ImportParams {
  const files: ImportParams['files'] = [];
  const dirs: string[] = [];
  const base = `/import/${name}`;
  const visit = (path: string) => {
    for (const entry of readdirSync(path, { withFileTypes: true })) {
      const full = join(path, entry.name);
      const rel = `${base}/${relative(dir, full)}`;
      if (entry.isDirectory()) {
        dirs.push(rel);
        visit(full);
      } else if (entry.isFile()) {
        files.push({ path: rel, bytes: readFileSync(full) });
      }
    }
  };
  dirs.push(base);
  visit(dir);
  return { name: `node_modules/${name}`, dirs, files };
}

// biome-ignore lint/suspicious/noExplicitAny: workloads differ in their params
type AnyWorkload = Workload<any> & { params: unknown };

async function runSuite(
  id: string,
  title: string,
  systems: SystemDef[],
  workloads: AnyWorkload[],
  reference: string,
  budgetMs: number,
  notes: string[] = [],
): Promise<SuiteResult> {
  const result: SuiteResult = {
    id,
    title,
    budgetMs,
    reference,
    systems: systems.map(({ id, label, role }) => ({ id, label, role })),
    workloads: [],
    notes,
  };
  for (const workload of workloads) {
    const runs = new Map<string, RunSamples[]>();
    const errors: Record<string, string> = {};
    const slow = new Set<string>();
    const eligible = systems.filter((s) => !s.only || s.only.includes(workload.id));
    for (let rep = 0; rep < config.reps; rep++) {
      // Alternate: each repetition starts with the next system.
      const order = eligible.map((_, i) => eligible[(i + rep) % eligible.length]);
      for (const system of order) {
        if (errors[system.id] || slow.has(system.id)) continue;
        const started = performance.now();
        try {
          const fs = await system.open();
          const { rec, samples } = createRecorder(fs, budgetMs);
          try {
            workload.run(fs, rec, workload.params);
          } finally {
            fs.close();
          }
          const list = runs.get(system.id) ?? [];
          list.push(samples);
          runs.set(system.id, list);
        } catch (error) {
          errors[system.id] = error instanceof Error ? error.message : String(error);
          log(`  ${workload.id} ${system.id}: ${errors[system.id]}`);
        }
        const wall = performance.now() - started;
        if (wall > config.slowMs) slow.add(system.id);
        log(`  ${id}/${workload.id} rep ${rep + 1}/${config.reps} ${system.id}: ${(wall / 1000).toFixed(1)} s`);
      }
    }
    result.workloads.push(
      aggregate(
        workload.id,
        workload.title,
        summarizeParams(workload.params),
        workload.phases,
        runs,
        reference,
        errors,
      ),
    );
    if (slow.size)
      result.notes?.push(
        `${workload.id}: ran once (slower than ${config.slowMs / 1000} s a run): ${[...slow].join(', ')}`,
      );
  }
  return result;
}

/** Params as JSON can hold them (the import tree's bytes become counts). */
function summarizeParams(params: unknown): unknown {
  const p = params as Partial<ImportParams>;
  if (p && Array.isArray(p.files)) return { name: p.name, files: p.files.length, dirs: p.dirs?.length };
  return params;
}

const started = Date.now();
const facts = machineFacts();
log(`dofs bench (${quick ? 'quick' : 'full'}): ${facts.cpu}, ${facts.cores} cores, node ${facts.node}`);
const tree = loadTree(join(ROOT, 'node_modules', sized('typescript', 'picomatch')), sized('typescript', 'picomatch'));
const all: AnyWorkload[] = [
  ...config.small.map((count) => smallFiles(count, false)),
  smallFiles(config.tree, true),
  largeFile(config.largeSize),
  dedup(config.dedupSize),
  importTree(tree),
];
const workloads = all.filter((w) => !only || only.includes(w.id));
const systems = comparisonSystems(!quick).filter((s) => !onlySystems || onlySystems.includes(s.id));
const budgetNote = `A loop that runs out of its ${config.budgetMs / 1000} s budget is marked ~ (extrapolated: every op costs the same) or > (a lower bound: the system was stopped).`;
const suites: SuiteResult[] = [];
if (wanted('compare'))
  suites.push(
    await runSuite(
      'compare',
      'Side by side (Node, one process; ratio = system ÷ dofs:mem)',
      systems,
      workloads,
      systems[0]?.id ?? 'dofs:mem',
      config.budgetMs,
      [budgetNote],
    ),
  );

if (!args['no-chunks'] && wanted('chunks')) {
  const chunkWorkloads = workloads.filter((w) => config.chunkWorkloads.includes(w.id));
  const storages = config.chunkStorages;
  suites.push(
    await runSuite(
      'chunks',
      `Chunk sizes (${CHUNK_SIZES.map((s) => `${s / 1024} KiB`).join(', ')}; ratio = ÷ the ${DEFAULT_CHUNK_SIZE / 1024} KiB (default) ${storages.at(-1)} run)`,
      chunkSystems(storages),
      chunkWorkloads,
      `dofs:${storages.at(-1)}@${DEFAULT_CHUNK_SIZE / 1024}K`,
      // Its own budget, recorded with the suite: the config keeps the compare suite's.
      config.chunkBudgetMs,
    ),
  );
}

if (runDo) {
  try {
    suites.push(...(await runDurableObjectSuite({ quick, reps: config.reps, log, only })));
  } catch (error) {
    log(`Durable Object suite failed: ${error instanceof Error ? error.stack : String(error)}`);
    failOnSmoke([`the Durable Object suite: ${error instanceof Error ? error.message : String(error)}`]);
  }
}

failOnSmoke(
  suites.flatMap((suite) =>
    suite.workloads.flatMap((workload) =>
      Object.entries(workload.errors).map(([system, error]) => `${suite.id}/${workload.id} on ${system}: ${error}`),
    ),
  ),
);
const output = suites.map(suiteTables).join('\n');
process.stdout.write(`\n${output}\n`);
const seconds = (Date.now() - started) / 1000;
const facts2 = { ...facts, loadavgEnd: os.loadavg().map((v) => Number(v.toFixed(2))) };
if (!args['no-write']) {
  const path = writeResults(
    { mode: quick ? 'quick' : 'full', seconds, config, machine: facts2, suites },
    quick ? '-quick' : '',
  );
  log(`results: ${relative(process.cwd(), path)} (${seconds.toFixed(0)} s)`);
}
