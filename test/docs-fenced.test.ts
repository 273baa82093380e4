/**
 * Every command line the docs show, accounted for, so that a stale one fails CI: each line of the
 * fenced shell blocks of README.md and docs/*.md, and each benchmark command they give inline, is
 *
 * - run here, as written: the benchmarks, with DOFS_BENCH_SMOKE=1 (bench/lib/smoke.ts: each
 *   workload once, at small sizes, results in a temporary directory), which must exit 0;
 * - run by another check, named below: this file checks that the check reads the line's block
 *   (a `fencedBlock(…, 'sh', marker)` of it) or, for CI, that .ci/run runs the line;
 * - or not run on this machine, with the reason.
 *
 * A line added to a doc without a place here fails the census, and so does a place here whose
 * line left the docs.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { DOC_FILES } from './support/docs.ts';
import { ROOT } from './support/wrangler-dev.ts';

const run = promisify(execFile);
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

/** Where a documented command (or a part of its line) runs. */
type Place =
  | { here: true }
  | {
      /** The check that runs it. */
      by: string;
    }
  | {
      /** The line of .ci/run that runs it. */
      ci: string;
    }
  | {
      /** Why it cannot run on this machine, or as a check. */
      notRun: string;
    };

/** A documented line: its doc, the fenced block holding it (none: inline code), its text. */
interface Line {
  doc: string;
  block?: string;
  command: string;
}

/** Every command line of `doc`: lines of its shell blocks (comments dropped), and inline benchmark commands. */
function linesOf(doc: string): Line[] {
  const text = read(doc);
  const fenced = [...text.matchAll(/^```(?:sh|bash|shell)\n([\s\S]*?)^```$/gm)].flatMap(([, block]) =>
    block
      .split('\n')
      .map((line) => line.replace(/\s+#.*$/, '').trim())
      .filter(Boolean)
      .map((command) => ({ doc, block, command })),
  );
  const inline = [...text.matchAll(/`((?:npm run bench|node bench\/)[^`]*)`/g)]
    .map(([, command]) => command)
    // `npm run bench --` introduces the options, it is not a command.
    .filter((command) => !command.endsWith(' --'))
    .map((command) => ({ doc, command }));
  return [...fenced, ...inline];
}

const SESSIONS = 'test/fuse/docs-sessions.test.ts';
const COMMANDS = 'test/docs-commands.test.ts';
const FSX =
  'fsx is cloned from GitHub (network) with xfstests; docs/fuse.md records its results and the kills run under it';
const PJDFSTEST =
  'pjdfstest is cloned from GitHub (network) and its run takes about five minutes; docs/fuse.md records its results';

/**
 * Lines by their text, each with where it runs (a line of several commands joined by `&&` may name
 * a place for each); `{ block }` keys take every line of the blocks holding that marker.
 */
const PLACES: Array<[string | { block: string }, ...Place[]]> = [
  // README.md's quick start.
  [
    'git clone <this repository> dofs && cd dofs',
    { notRun: 'the URL is a placeholder; CI itself starts from a fresh clone of the repository (bash .ci/run)' },
  ],
  ['npm install && npm start', { ci: 'npm install' }, { by: SESSIONS }],
  ['npm test', { ci: 'npm test' }],
  [
    'cd workspace && git init -q && echo hello > notes.md && git add notes.md && git commit -qm first',
    { by: SESSIONS },
  ],
  ['npx dofs ls /', { by: SESSIONS }],
  ['npx dofs cat /notes.md', { by: SESSIONS }],
  ['npx dofs fsck', { by: SESSIONS }],
  // README.md's Durable Object session, against the example Worker.
  ["auth='authorization: Bearer dev-api-token'", { by: COMMANDS }],
  [
    'curl -H "$auth" -X PUT --data-binary \'hello, workspace\' http://localhost:8787/ws/demo/fs/notes/hello.txt',
    { by: COMMANDS },
  ],
  ['curl -H "$auth" http://localhost:8787/ws/demo/fs/notes/hello.txt', { by: COMMANDS }],
  ['curl -H "$auth" http://localhost:8787/ws/demo/usage', { by: COMMANDS }],
  ['npx dofs --db replica.db sync http://localhost:8787/ws/demo/sync --token dev-api-token', { by: COMMANDS }],
  // docs/fuse.md's sessions.
  ['npm start &', { by: SESSIONS }],
  ['curl -s 127.0.0.1:45678/stats', { by: SESSIONS }],
  ['npx dofs --db other.db mount mnt/other --port 0 &', { by: SESSIONS }],
  ['df -h workspace mnt/other', { by: SESSIONS }],
  ['npx dofs --db ws.db mount --shared mnt &', { by: SESSIONS }],
  ['npx dofs --db ws.db snapshot create before-refactor', { by: SESSIONS }],
  ["echo 'export const a = 2;' > mnt/src/a.ts", { by: SESSIONS }],
  ['diff -r mnt/.snapshots/before-refactor/src mnt/src', { by: SESSIONS }],
  ['cp -a mnt/.snapshots/before-refactor/src/a.ts mnt/src/a.ts', { by: SESSIONS }],
  [{ block: '/tmp/pjd/' }, { notRun: PJDFSTEST }],
  [{ block: '/tmp/fsx/' }, { notRun: FSX }],
  [
    { block: '/tmp/uring/' },
    {
      notRun:
        'clones and builds libfuse 3.18 from GitHub (network) and sets a kernel parameter as root; docs/fuse.md records its results',
    },
  ],
  // docs/snapshots.md's CLI session.
  ['npx dofs snapshot create before-refactor', { by: COMMANDS }],
  ['npx dofs snapshot list', { by: COMMANDS }],
  ['npx dofs snapshot diff before-refactor', { by: COMMANDS }],
  ['npx dofs snapshot restore before-refactor', { by: COMMANDS }],
  ['npx dofs snapshot delete before-refactor', { by: COMMANDS }],
  ['npx dofs fork copy.db', { by: COMMANDS }],
  ['npx dofs merge copy.db', { by: COMMANDS }],
  // docs/writing-a-backend.md: the packed tarball stands for the registry's dofs-sqlite.
  ['npm install -D dofs-sqlite vitest @cloudflare/vitest-plugin', { by: 'test/package.test.ts' }],
  // The benchmarks (docs/performance.md, README.md, docs/fuse.md, docs/snapshots.md).
  ['npm run bench:quick', { here: true }],
  ['npm run bench', { here: true }],
  ['npm run bench:fd', { here: true }],
  ['npm run bench:growth', { here: true }],
  ['npm run bench:growth-trace', { here: true }],
  ['node bench/show.ts', { here: true }],
  ['npm run bench:fuse', { here: true }],
  ['npm run bench:fuse -- --db both', { here: true }],
  ['npm run bench:fuse -- --only create,rm,mkdir,git', { here: true }],
  ['npm run bench:sync', { here: true }],
  ['npm run bench:snapshots', { here: true }],
  ['npm run bench:snapshot-reads', { here: true }],
  ['npm run bench:snapshot-overhead', { here: true }],
  [
    'npm run bench:quick -- --reps 5 --only small-1k,large,dedup --systems dofs:mem,dofs:file,pvfs:sqlite',
    { here: true },
  ],
];

const placesOf = (line: Line): Place[] =>
  (PLACES.find(([key]) => (typeof key === 'string' ? key === line.command : line.block?.includes(key.block)))?.slice(
    1,
  ) as Place[] | undefined) ?? [];

const all = DOC_FILES.flatMap(linesOf);

describe('the command lines of the docs', () => {
  it('each has a place: run here, run by a named check, or not run with a reason', () => {
    expect(all.length).toBeGreaterThan(40);
    expect(all.filter((line) => placesOf(line).length === 0).map(({ doc, command }) => `${doc}: ${command}`)).toEqual(
      [],
    );
  });

  it('each place still names a documented line', () => {
    const stale = PLACES.filter(([key]) =>
      all.every((line) => (typeof key === 'string' ? key !== line.command : !line.block?.includes(key.block))),
    ).map(([key]) => key);
    expect(stale).toEqual([]);
  });

  it('a line run by another check is in a block that check reads; one run by CI is a line of .ci/run', () => {
    const ci = read('.ci/run')
      .split('\n')
      .map((line) => line.trim());
    const wrong = all.flatMap((line) =>
      placesOf(line).flatMap((place) => {
        if ('ci' in place)
          return ci.includes(place.ci) && line.command.split(/\s*&&\s*/).includes(place.ci)
            ? []
            : [`${line.command}: .ci/run runs no ${place.ci} of it`];
        if (!('by' in place)) return [];
        const markers = [...read(place.by).matchAll(/'sh',\s*'([^']+)',?\s*\)/g)].map(([, marker]) => marker);
        return line.block && markers.some((marker) => line.block?.includes(marker))
          ? []
          : [`${line.command}: ${place.by} reads no block holding it`];
      }),
    );
    expect(wrong).toEqual([]);
  });

  describe('the benchmarks, run as written in smoke mode (DOFS_BENCH_SMOKE=1)', () => {
    // Their temporary files (databases, mounts, results, wrangler's state) go here, and all of it
    // goes at the end; bench/results, which is tracked, is not written.
    const temp = mkdtempSync(join(tmpdir(), 'dofs-docs-bench-'));
    afterAll(() => rmSync(temp, { recursive: true, force: true }));
    const here = [
      ...new Set(all.filter((line) => placesOf(line).some((place) => 'here' in place)).map((line) => line.command)),
    ];

    it.each(here)('%s', { timeout: 240_000 }, async (command) => {
      const { stdout } = await run('bash', ['-euo', 'pipefail', '-c', command], {
        cwd: ROOT,
        env: {
          ...process.env,
          PATH: `${join(ROOT, 'node_modules/.bin')}:${process.env.PATH}`,
          DOFS_BENCH_SMOKE: '1',
          TMPDIR: temp,
        },
        maxBuffer: 64 * 1024 * 1024,
      });
      // Each prints a table of figures (show.ts: the newest full run's).
      expect(stdout).toMatch(/\|.*\|\n|ms/);
    });
  });
});
