/**
 * Smoke mode (`DOFS_BENCH_SMOKE=1`): every benchmark runs each of its workloads once, at tiny
 * sizes, and writes its results to a temporary directory instead of bench/results. It exists so a
 * check can run each command the docs give exactly as written (test/docs-fenced.test.ts) in
 * seconds: a benchmark that no longer starts, or fails on a system, fails the check. Its figures
 * mean nothing. In smoke mode a failure a full run would record in its report exits 1 instead.
 *
 * @module
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** True when the benchmarks run as a smoke test. */
export const SMOKE = process.env.DOFS_BENCH_SMOKE === '1';

/** `normal`, or `smoke` in smoke mode. */
export function sized<T>(normal: T, smoke: T): T {
  return SMOKE ? smoke : normal;
}

let smokeDir: string | undefined;

/** Where a benchmark writes its results: `dir`, or a temporary directory in smoke mode. */
export function resultsDir(dir: string): string {
  if (!SMOKE) return dir;
  smokeDir ??= mkdtempSync(join(tmpdir(), 'dofs-bench-smoke-'));
  return smokeDir;
}

/** In smoke mode, exits 1 naming `failures` when there are any (a full run reports them instead). */
export function failOnSmoke(failures: readonly string[]): void {
  if (!SMOKE || failures.length === 0) return;
  process.stderr.write(`smoke run failed:\n${failures.map((failure) => `  ${failure}`).join('\n')}\n`);
  process.exit(1);
}
