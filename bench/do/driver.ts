/**
 * The Durable Object suite: starts `wrangler dev` on bench/worker (workerd, a real SQLite-backed
 * Durable Object, state in a temporary directory), runs each engine workload on a new object per
 * repetition, and reports the timings taken inside the object with rows read and written per op.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_CHUNK_SIZE } from '../../core/index.ts';
import { type DevServer, ROOT, startDev, WRANGLER, WRANGLER_ENV } from '../../test/support/wrangler-dev.ts';
import { MiB } from '../lib/data.ts';
import type { RunSamples } from '../lib/measure.ts';
import { sized } from '../lib/smoke.ts';
import { aggregate, type SuiteResult } from '../report.ts';
import { CHUNK_SIZES } from '../systems/index.ts';

/**
 * Bundles bench/worker once (`wrangler deploy --dry-run --outdir`: the exact upload bundle) and
 * writes a config that serves that bundle as is, so edits to the sources during a run do not
 * restart the object mid-request (wrangler dev watches what it bundles).
 */
function bundle(dir: string): Promise<string> {
  const out = join(dir, 'bundle');
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [WRANGLER, 'deploy', '--dry-run', '--outdir', out, '--config', join('bench', 'worker', 'wrangler.jsonc')],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: WRANGLER_ENV },
    );
    let output = '';
    child.stdout?.on('data', (data) => (output += data));
    child.stderr?.on('data', (data) => (output += data));
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`bundling bench/worker failed:\n${output}`));
      const config = join(dir, 'wrangler.json');
      writeFileSync(
        config,
        JSON.stringify({
          name: 'dofs-bench',
          main: 'bundle/index.js',
          no_bundle: true,
          compatibility_date: '2026-11-01',
          compatibility_flags: ['nodejs_compat'],
          send_metrics: false,
          durable_objects: { bindings: [{ name: 'BENCH', class_name: 'BenchDO' }] },
          migrations: [{ tag: 'v1', new_sqlite_classes: ['BenchDO'] }],
        }),
      );
      resolve(config);
    });
  });
}

async function startWrangler(dir: string): Promise<DevServer> {
  const config = await bundle(dir);
  return startDev(join(dir, 'state'), {}, { config, cwd: dir, args: ['--log-level', 'warn'], startupMs: 60_000 });
}

interface DoWorkload {
  id: string;
  title: string;
  phases: string[];
  kind: 'small' | 'large' | 'dedup';
  params: Record<string, unknown>;
}

export async function runDurableObjectSuite(options: {
  quick: boolean;
  reps: number;
  log: (message: string) => void;
  only?: string[];
}): Promise<SuiteResult[]> {
  const { quick, log } = options;
  const reps = Math.max(1, options.reps);
  const large = sized(quick ? 16 * MiB : 64 * MiB, MiB);
  const tree = sized(quick ? 2000 : 10_000, 2000);
  const small = sized(1000, 20);
  const dedupSize = sized(16 * MiB, MiB / 4);
  const workloads: DoWorkload[] = [
    {
      id: 'small-1k',
      title: '1,000 small files (1 KiB, 100 per directory)',
      phases: ['create', 'stat', 'readdir', 'read', 'rm -r'],
      kind: 'small',
      params: { count: small, search: false },
    },
    {
      id: `small-${tree / 1000}k`,
      title: `${tree.toLocaleString('en-US')} small files: find, grep, rename of the tree`,
      phases: [
        'create',
        'stat',
        'readdir',
        'read',
        'find *.ts (walk)',
        'grep (walk)',
        'find *.ts (own)',
        'grep (own)',
        'rename dir',
        'rm -r',
      ],
      kind: 'small',
      params: { count: tree, search: true },
    },
    {
      id: 'large',
      title: `one ${large / MiB} MiB file: 64 KiB writes (writeAt) and reads (readAt), 1,000 random 4 KiB overwrites, copy`,
      phases: ['write (fd)', 'read (fd)', '1000 random 4 KiB overwrites', 'copy'],
      kind: 'large',
      params: { size: large },
    },
    {
      id: 'dedup',
      title: 'dedup: one 16 MiB file written 10 times',
      phases: ['write 10×'],
      kind: 'dedup',
      params: { size: dedupSize, copies: 10 },
    },
  ].filter((w) => !options.only || options.only.includes(w.id)) as DoWorkload[];

  const state = mkdtempSync(join(tmpdir(), 'dofs-bench-do-'));
  log('  do: bundling bench/worker and starting wrangler dev (workerd)...');
  const server = await startWrangler(state);
  const budgetMs = sized(quick ? 1500 : 15_000, 1000);
  /** Runs `workload` `reps` times, each on a new object; returns the runs and any error. */
  const runOne = async (workload: DoWorkload, label: string, times = reps) => {
    const runs: RunSamples[] = [];
    let error: string | undefined;
    for (let rep = 0; rep < times; rep++) {
      const started = performance.now();
      const response = await fetch(server.url, {
        method: 'POST',
        body: JSON.stringify({ kind: workload.kind, params: workload.params, budgetMs }),
      });
      const text = await response.text();
      let body: RunSamples | { error: string };
      try {
        body = JSON.parse(text);
      } catch {
        body = { error: text.slice(0, 500) };
      }
      if ('error' in body && typeof body.error === 'string') {
        error = body.error.split('\n')[0];
        log(`  do/${label}: ${body.error}`);
        break;
      }
      runs.push(body as RunSamples);
      log(`  do/${label} run ${rep + 1}/${times}: ${((performance.now() - started) / 1000).toFixed(1)} s`);
    }
    return { runs, error };
  };
  const main: SuiteResult = {
    id: 'do',
    title:
      'Durable Objects (this engine inside workerd via wrangler dev, a local SQLite-backed object; timed inside the object)',
    reference: 'do-sql',
    systems: [
      { id: 'do-sql', label: 'this engine on ctx.storage.sql in a local SQLite-backed Durable Object', role: 'engine' },
    ],
    workloads: [],
    notes: [
      "Local workerd, not Cloudflare's network: the timings are the engine's CPU and SQLite work inside workerd (whose clock has 1 ms resolution); in production, rows read and written are what is billed.",
      'Rows read and rows written are summed from every SQL cursor (`cursor.rowsRead` / `rowsWritten`).',
    ],
  };
  const suites = [main];
  try {
    for (const workload of workloads) {
      const { runs, error } = await runOne(workload, workload.id);
      main.workloads.push(
        aggregate(
          workload.id,
          workload.title,
          workload.params,
          workload.phases,
          new Map([['do-sql', runs]]),
          'do-sql',
          error ? { 'do-sql': error } : {},
        ),
      );
    }
    if (!quick) {
      // The chunk-size study again, where rows are billed: whole-file writes and 64 KiB writes.
      const sizes = CHUNK_SIZES.map((size) => size / 1024);
      const reference = `do@${DEFAULT_CHUNK_SIZE / 1024}K`;
      const study: SuiteResult = {
        id: 'do-chunks',
        title: `Durable Objects: chunk sizes (ratio = ÷ ${DEFAULT_CHUNK_SIZE / 1024} KiB, the default)`,
        reference,
        systems: sizes.map((k) => ({ id: `do@${k}K`, label: `do-sql with ${k} KiB chunks`, role: 'engine' as const })),
        workloads: [],
      };
      for (const workload of workloads.filter((w) => w.kind === 'large' || w.kind === 'dedup')) {
        const runs = new Map<string, RunSamples[]>();
        const errors: Record<string, string> = {};
        for (let rep = 0; rep < reps; rep++) {
          // Alternate: each repetition starts with the next size.
          for (const k of sizes.map((_, i) => sizes[(i + rep) % sizes.length])) {
            const id = `do@${k}K`;
            if (errors[id]) continue;
            const variant = { ...workload, params: { ...workload.params, chunkSize: k * 1024 } };
            const { runs: list, error } = await runOne(variant, `${workload.id}@${k}K rep ${rep + 1}/${reps}`, 1);
            runs.set(id, [...(runs.get(id) ?? []), ...list]);
            if (error) errors[id] = error;
          }
        }
        study.workloads.push(
          aggregate(workload.id, workload.title, workload.params, workload.phases, runs, reference, errors),
        );
      }
      suites.push(study);
    }
  } finally {
    await server.stop();
    rmSync(state, { recursive: true, force: true });
  }
  return suites;
}
