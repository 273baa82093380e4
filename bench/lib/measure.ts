/**
 * Timing one run: each phase is timed with `performance.now()`, with the minor page faults it
 * caused (`process.resourceUsage()`, Node only) and the system's counters (statements, rows) as
 * deltas. A garbage collection runs before each phase when Node was started with --expose-gc, so
 * one phase's garbage is not collected on the next one's clock. Portable: also runs in workerd.
 */
import type { BenchFs, PhaseSample, Recorder } from './types.ts';

type ResourceUsage = () => { minorPageFault: number };
const resourceUsage: ResourceUsage | undefined = (
  globalThis as { process?: { resourceUsage?: ResourceUsage } }
).process?.resourceUsage?.bind(globalThis.process);
const collect = (globalThis as { gc?: () => void }).gc;

function faults(): number | undefined {
  return resourceUsage ? resourceUsage().minorPageFault : undefined;
}

function delta(before: Record<string, number> | undefined, after: Record<string, number> | undefined) {
  if (!before || !after) return undefined;
  const out: Record<string, number> = {};
  for (const key of Object.keys(after)) out[key] = after[key] - (before[key] ?? 0);
  return out;
}

/** The phases of one run, by name. */
export type RunSamples = Record<string, PhaseSample>;

/** A recorder for one run on `fs`; `budgetMs` bounds each budgeted loop. */
export function createRecorder(fs: BenchFs, budgetMs: number): { rec: Recorder; samples: RunSamples } {
  const samples: RunSamples = {};
  const counters = fs.counters ? () => fs.counters?.() : () => undefined;

  const timed = (name: string, ops: number, body: () => Partial<PhaseSample> | undefined): void => {
    fs.beforePhase?.();
    collect?.();
    const c0 = counters();
    const f0 = faults();
    const t0 = performance.now();
    const extra = body();
    const ms = performance.now() - t0;
    const f1 = faults();
    const sample: PhaseSample = { ms, ops, ...extra };
    if (f0 !== undefined && f1 !== undefined) sample.faults = f1 - f0;
    const d = delta(c0, counters());
    if (d) sample.counters = d;
    samples[name] = sample;
  };

  const rec: Recorder = {
    phase(name, ops, fn) {
      timed(name, ops, () => {
        fn();
        return undefined;
      });
    },
    loop(name, ops, fn, { constantCost, before, after }) {
      let done = 0;
      timed(name, ops, () => {
        const start = performance.now();
        before?.();
        for (let i = 0; i < ops; i++) {
          fn(i);
          done = i + 1;
          if (done < ops && performance.now() - start > budgetMs) break;
        }
        after?.();
        return undefined;
      });
      const sample = samples[name];
      if (done < ops) {
        sample.done = done;
        if (constantCost) {
          sample.ms = (sample.ms * ops) / done;
          sample.estimated = true;
        } else {
          sample.lowerBound = true;
        }
      }
      return done;
    },
    value(name, given) {
      const values: Record<string, number> = {};
      for (const [key, value] of Object.entries(given)) if (typeof value === 'number') values[key] = value;
      const sample = samples[name];
      if (sample) sample.values = { ...sample.values, ...values };
      else samples[name] = { ms: Number.NaN, ops: 0, values };
    },
  };
  return { rec, samples };
}
