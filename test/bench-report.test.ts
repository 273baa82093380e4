/**
 * The benchmark report counts what ran: when a phase's time budget cuts its loop short, statements
 * and rows per op are divided by the ops that ran, not by the count the phase was sized for.
 */
import { describe, expect, it } from 'vitest';
import type { RunSamples } from '../bench/lib/measure.ts';
import { aggregate, type SuiteResult, suiteTables } from '../bench/report.ts';

describe('bench report', () => {
  it('divides counters by the ops each run did when the budget stopped it early', () => {
    // Sized for 1,000 overwrites; the budget stopped the runs after 100 and 120 of them, each
    // running 8.1 statements per overwrite.
    const run = (done: number): RunSamples => ({
      overwrite: {
        ms: 1000,
        ops: 1000,
        estimated: true,
        done,
        counters: { statements: 8.1 * done, rowsRead: 20 * done, rowsWritten: 4 * done },
      },
    });
    const result = aggregate('t', 'test', {}, ['overwrite'], new Map([['dofs:mem', [run(100), run(120)]]]), 'dofs:mem');
    const cell = result.cells.overwrite['dofs:mem'];
    expect(cell.done).toBe(100);
    expect(cell.countersPerOp?.statements).toBeCloseTo(8.1);
    expect(cell.countersPerOp?.rowsWritten).toBeCloseTo(4);
    const suite: SuiteResult = {
      id: 's',
      title: 'suite',
      reference: 'dofs:mem',
      budgetMs: 1000,
      systems: [{ id: 'dofs:mem', label: 'dofs', role: 'engine' }],
      workloads: [result],
    };
    const text = suiteTables(suite);
    expect(text).toMatch(/\|\s*overwrite\s*\|\s*100 of 1000\s*\|\s*20\.0\s*\|\s*4\.00\s*\|\s*8\.10\s*\|/);
  });
});
