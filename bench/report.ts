/**
 * Results: medians, spreads and ratios per phase and system, printed as tables and written as
 * JSON (with the machine they ran on) to bench/results/<timestamp>.json.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunSamples } from './lib/measure.ts';
import { resultsDir } from './lib/smoke.ts';
import type { PhaseSample, Role } from './lib/types.ts';

export const BENCH_DIR = dirname(fileURLToPath(import.meta.url));

/** The figures of one phase on one system over its repetitions. */
export interface Cell {
  n: number;
  ops: number;
  medianMs: number;
  minMs: number;
  maxMs: number;
  /** Half the range, as a percentage of the median. */
  spreadPct: number;
  /** This system's median ÷ the reference system's median (above 1: slower than the reference). */
  ratio?: number;
  estimated?: boolean;
  lowerBound?: boolean;
  /** Ops done before the budget ran out (the lowest over the repetitions). */
  done?: number;
  faults?: number;
  /** Counter totals of the median run: for the ops that ran (fewer than `ops` when the budget cut the loop short). */
  counters?: Record<string, number>;
  /** Each counter divided by the ops its run actually did (`done`, else `ops`), median over the runs. */
  countersPerOp?: Record<string, number>;
  values?: Record<string, number>;
}

export interface WorkloadResult {
  id: string;
  title: string;
  params: unknown;
  phases: string[];
  /** phase → system id → cell. */
  cells: Record<string, Record<string, Cell>>;
  errors: Record<string, string>;
}

export interface SuiteResult {
  id: string;
  title: string;
  reference: string;
  /** The time budget each phase's loop ran with in this suite, in ms (suites may differ). */
  budgetMs?: number;
  systems: Array<{ id: string; label: string; role: Role }>;
  workloads: WorkloadResult[];
  notes?: string[];
}

export const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/** Folds the runs of one workload (per system, a list of runs) into cells. */
export function aggregate(
  id: string,
  title: string,
  params: unknown,
  phases: readonly string[],
  runs: Map<string, RunSamples[]>,
  reference: string,
  errors: Record<string, string> = {},
): WorkloadResult {
  const cells: Record<string, Record<string, Cell>> = {};
  const seen = new Set<string>(phases);
  for (const samples of runs.values()) for (const run of samples) for (const name of Object.keys(run)) seen.add(name);
  const present = (name: string) => [...runs.values()].some((r) => r.some((run) => run[name]));
  const names = [...seen].filter(present);
  for (const phase of names) {
    const row: Record<string, Cell> = {};
    for (const [system, samples] of runs) {
      const list = samples.map((run) => run[phase]).filter((s): s is PhaseSample => s !== undefined);
      if (list.length === 0) continue;
      const ms = list.map((s) => s.ms).filter((v) => typeof v === 'number' && Number.isFinite(v));
      const cell: Cell = {
        n: list.length,
        ops: list[0].ops,
        medianMs: ms.length ? median(ms) : Number.NaN,
        minMs: ms.length ? Math.min(...ms) : Number.NaN,
        maxMs: ms.length ? Math.max(...ms) : Number.NaN,
        spreadPct: 0,
      };
      cell.spreadPct = ms.length > 1 ? ((cell.maxMs - cell.minMs) / 2 / cell.medianMs) * 100 : 0;
      if (list.some((s) => s.estimated)) cell.estimated = true;
      if (list.some((s) => s.lowerBound)) cell.lowerBound = true;
      const done = list.filter((s) => s.done !== undefined).map((s) => s.done as number);
      if (done.length) cell.done = Math.min(...done);
      const faults = list.filter((s) => s.faults !== undefined).map((s) => s.faults as number);
      if (faults.length) cell.faults = median(faults);
      const keys = new Set(list.flatMap((s) => Object.keys(s.counters ?? {})));
      if (keys.size) {
        cell.counters = {};
        for (const key of keys) cell.counters[key] = median(list.map((s) => s.counters?.[key] ?? 0));
        // Per op: divided by what each run did, not by the nominal count a budget may have cut short.
        cell.countersPerOp = {};
        for (const key of keys) {
          cell.countersPerOp[key] = median(list.map((s) => (s.counters?.[key] ?? 0) / Math.max(1, s.done ?? s.ops)));
        }
      }
      const withValues = list.filter((s) => s.values);
      if (withValues.length) cell.values = withValues[withValues.length - 1].values;
      row[system] = cell;
    }
    const ref = row[reference];
    for (const cell of Object.values(row)) {
      if (ref && ref.medianMs > 0 && !Number.isNaN(cell.medianMs)) cell.ratio = cell.medianMs / ref.medianMs;
    }
    cells[phase] = row;
  }
  return { id, title, params, phases: names, cells, errors };
}

export function formatMs(ms: number | null): string {
  if (ms === null || Number.isNaN(ms)) return '–';
  if (ms >= 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms >= 100) return ms.toFixed(0);
  if (ms >= 10) return ms.toFixed(1);
  return ms.toFixed(2);
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / 1048576).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} B`;
}

function formatRatio(ratio: number | undefined): string {
  if (ratio === undefined) return '';
  if (ratio >= 100) return `${ratio.toFixed(0)}×`;
  if (ratio >= 10) return `${ratio.toFixed(1)}×`;
  return `${ratio.toFixed(2)}×`;
}

/** One cell as text: `~` extrapolated, `>` lower bound; median, spread, ratio to the reference. */
export function formatCell(cell: Cell | undefined): string {
  if (!cell || cell.medianMs === null || Number.isNaN(cell.medianMs)) return '';
  const mark = cell.lowerBound ? '>' : cell.estimated ? '~' : '';
  const spread = cell.n > 1 ? ` ±${cell.spreadPct.toFixed(0)}%` : '';
  const ratio = cell.ratio === undefined ? '' : ` (${formatRatio(cell.ratio)})`;
  return `${mark}${formatMs(cell.medianMs)}${spread}${ratio}`;
}

/** A Markdown table (also readable on a terminal). */
export function markdownTable(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => (i === 0 ? (c ?? '').padEnd(widths[i]) : (c ?? '').padStart(widths[i]))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (i === 0 ? `-${'-'.repeat(w)}-` : `-${'-'.repeat(w)}:`)).join('|')}|`;
  return [line(head), rule, ...rows.map(line)].join('\n');
}

/** The tables of a suite: one per workload, phases down, systems across; then stored bytes where measured. */
export function suiteTables(suite: SuiteResult): string {
  const out: string[] = [`## ${suite.title}`, ''];
  if (suite.notes?.length) out.push(...suite.notes.map((note) => `- ${note}`), '');
  for (const workload of suite.workloads) {
    const systems = suite.systems.filter(
      (s) => workload.phases.some((phase) => workload.cells[phase]?.[s.id]) || workload.errors[s.id],
    );
    out.push(`### ${workload.title}`, '');
    const timed = workload.phases.filter((phase) =>
      Object.values(workload.cells[phase] ?? {}).some((cell) => cell.medianMs !== null && !Number.isNaN(cell.medianMs)),
    );
    const rows = timed.map((phase) => [phase, ...systems.map((s) => formatCell(workload.cells[phase]?.[s.id]))]);
    out.push(markdownTable([`ms (median ±spread, ×${suite.reference})`, ...systems.map((s) => s.id)], rows), '');
    const stored = workload.phases.filter((phase) =>
      Object.values(workload.cells[phase] ?? {}).some((cell) => cell.values?.stored !== undefined),
    );
    for (const phase of stored) {
      const row = (key: string) =>
        systems.map((s) => {
          const value = workload.cells[phase]?.[s.id]?.values?.[key];
          return value === undefined ? '' : formatBytes(value);
        });
      const rowsOut = [
        ['logical', ...row('logical')],
        ['stored', ...row('stored')],
      ];
      if (systems.some((s) => workload.cells[phase]?.[s.id]?.values?.garbage !== undefined))
        rowsOut.push(['garbage (awaiting gc)', ...row('garbage')]);
      if (systems.some((s) => workload.cells[phase]?.[s.id]?.values?.onDisk !== undefined))
        rowsOut.push(['database file', ...row('onDisk')]);
      out.push(markdownTable([`bytes after ${phase}`, ...systems.map((s) => s.id)], rowsOut), '');
    }
    const counted = workload.phases.filter((phase) =>
      Object.values(workload.cells[phase] ?? {}).some((cell) => cell.counters?.statements !== undefined),
    );
    const billed = counted.filter((phase) =>
      Object.values(workload.cells[phase] ?? {}).some((cell) => cell.counters?.rowsRead !== undefined),
    );
    if (billed.length) {
      const perOp = (cell: Cell, key: string) => {
        const x = cell.countersPerOp?.[key] ?? (cell.counters?.[key] ?? 0) / Math.max(1, cell.done ?? cell.ops);
        return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2);
      };
      const rowsOut: string[][] = [];
      for (const phase of billed) {
        for (const s of systems) {
          const cell = workload.cells[phase]?.[s.id];
          if (!cell?.counters) continue;
          const c = cell.counters;
          rowsOut.push([
            systems.length > 1 ? `${phase} (${s.id})` : phase,
            cell.done !== undefined && cell.done < cell.ops ? `${cell.done} of ${cell.ops}` : String(cell.ops),
            perOp(cell, 'rowsRead'),
            perOp(cell, 'rowsWritten'),
            perOp(cell, 'statements'),
            c.rowsRead.toLocaleString('en-US'),
            c.rowsWritten.toLocaleString('en-US'),
          ]);
        }
      }
      out.push(
        markdownTable(
          [
            'per op (median run)',
            'ops (run)',
            'rows read',
            'rows written',
            'statements',
            'rows read, total',
            'rows written, total',
          ],
          rowsOut,
        ),
        '',
      );
    } else if (counted.length) {
      const countedSystems = systems.filter((s) => counted.some((p) => workload.cells[p]?.[s.id]?.counters));
      const rowsOut = counted.map((phase) => [
        phase,
        ...countedSystems.map((s) => {
          const cell = workload.cells[phase]?.[s.id];
          if (!cell?.counters) return '';
          const x = cell.countersPerOp?.statements ?? cell.counters.statements / Math.max(1, cell.done ?? cell.ops);
          return x.toFixed(1);
        }),
      ]);
      out.push(markdownTable(['SQL statements per op', ...countedSystems.map((s) => s.id)], rowsOut), '');
    }
    // Minor page faults per op, where they are many: on VMs each costs ~10-20 µs (platform facts).
    const faulty = timed.filter((phase) =>
      Object.values(workload.cells[phase] ?? {}).some((cell) => (cell.faults ?? 0) / Math.max(1, cell.ops) >= 10),
    );
    if (faulty.length) {
      const rowsOut = faulty.map((phase) => [
        phase,
        ...systems.map((s) => {
          const cell = workload.cells[phase]?.[s.id];
          return cell?.faults === undefined ? '' : (cell.faults / Math.max(1, cell.done ?? cell.ops)).toFixed(0);
        }),
      ]);
      out.push(markdownTable(['minor page faults per op', ...systems.map((s) => s.id)], rowsOut), '');
    }
    for (const [system, error] of Object.entries(workload.errors)) out.push(`- ${system} failed: ${error}`);
    if (Object.keys(workload.errors).length) out.push('');
  }
  return out.join('\n');
}

/** The machine and software the results came from. */
export function machineFacts(): Record<string, unknown> {
  let cpu = os.cpus()[0]?.model ?? 'unknown';
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8');
    cpu = /^model name\s*:\s*(.+)$/m.exec(info)?.[1]?.trim() ?? cpu;
  } catch {
    // not Linux
  }
  let commit: string | undefined;
  let dirty: boolean | undefined;
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: BENCH_DIR, encoding: 'utf8' }).trim();
    dirty = execFileSync('git', ['status', '--porcelain'], { cwd: BENCH_DIR, encoding: 'utf8' }).trim() !== '';
  } catch {
    // not a git checkout
  }
  return {
    cpu,
    cores: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    sqlite: process.versions.sqlite,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    loadavg: os.loadavg().map((v) => Number(v.toFixed(2))),
    commit,
    dirty,
  };
}

/** Writes the results as JSON; returns the path. */
export function writeResults(data: Record<string, unknown>, suffix: string): string {
  const dir = resultsDir(join(BENCH_DIR, 'results'));
  mkdirSync(dir, { recursive: true });
  const stamp = new Date()
    .toISOString()
    .replace(/[:.]/g, '-')
    .replace(/-\d{3}Z$/, 'Z');
  const path = join(dir, `${stamp}${suffix}.json`);
  writeFileSync(path, `${JSON.stringify(data, null, 2)}\n`);
  return path;
}
