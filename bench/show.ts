/**
 * Prints the tables of a results file again: `node bench/show.ts [bench/results/<file>.json]`
 * (the newest full run by default).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BENCH_DIR, type SuiteResult, suiteTables } from './report.ts';

const dir = join(BENCH_DIR, 'results');
const file =
  process.argv[2] ??
  join(
    dir,
    readdirSync(dir)
      .filter((name) => /^\d{4}-.*Z\.json$/.test(name))
      .sort()
      .at(-1) ?? '',
  );
const data = JSON.parse(readFileSync(file, 'utf8')) as {
  mode: string;
  seconds: number;
  machine: Record<string, unknown>;
  suites: SuiteResult[];
};
const m = data.machine;
process.stdout.write(
  `${file}: ${data.mode} run, ${Math.round(data.seconds)} s; ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, node ${m.node}, SQLite ${m.sqlite}, ${m.os}; commit ${m.commit}${m.dirty ? ' (with uncommitted changes)' : ''}; load average ${(m.loadavg as number[]).join(' ')} → ${(m.loadavgEnd as number[] | undefined)?.join(' ') ?? '?'}\n\n`,
);
process.stdout.write(`${data.suites.map(suiteTables).join('\n')}\n`);
