/**
 * Writes figures from the reliability tests into docs/reliability.md, each between
 * `<!-- figure:KEY -->` and `<!-- /figure:KEY -->`, when asked: only with `DOFS_RECORD_FIGURES=1`
 * (`npm run report:reliability`), so `npm test` leaves the tracked document, and a clean clone,
 * untouched.
 */
import { closeSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FigureReporter } from '../../conformance/report.ts';
import { ROOT } from './wrangler-dev.ts';

const DOC = join(ROOT, 'docs', 'reliability.md');
const LOCK = `${DOC}.lock`;

/** Whether this run records its figures into docs/reliability.md. */
export const RECORDING = process.env.DOFS_RECORD_FIGURES === '1';

/**
 * Replaces the figure `key` in docs/reliability.md when {@link RECORDING} (test files run in
 * parallel: a lock file serialises them), and throws when the document has no place for it;
 * otherwise does nothing.
 */
export const recordFigure: FigureReporter = (key, text) => {
  if (!RECORDING) return;
  let lock: number | undefined;
  for (let attempt = 0; attempt < 200 && lock === undefined; attempt++) {
    try {
      lock = openSync(LOCK, 'wx');
    } catch {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
    }
  }
  try {
    const doc = readFileSync(DOC, 'utf8');
    const start = `<!-- figure:${key} -->`;
    const end = `<!-- /figure:${key} -->`;
    const from = doc.indexOf(start);
    const to = doc.indexOf(end);
    // A figure with no place would be measured and dropped without a word: refuse it instead.
    if (from === -1 || to === -1)
      throw new Error(`docs/reliability.md has no place for figure '${key}': add ${start}${end} where it belongs`);
    writeFileSync(DOC, `${doc.slice(0, from + start.length)}${text}${doc.slice(to)}`);
  } finally {
    if (lock !== undefined) {
      closeSync(lock);
      rmSync(LOCK, { force: true });
    }
  }
};

/** Installs {@link recordFigure} as the conformance suite's figure reporter. */
export function installReliabilityReport(): void {
  (globalThis as { dofsReportFigure?: FigureReporter }).dofsReportFigure = recordFigure;
}
