/**
 * Crash safety of merge: a child process merges one node:sqlite file into another and is SIGKILLed
 * at random moments of it. Each time, this side must hold exactly the state before the merge or
 * the state after it (tree and snapshots), fsck clean; the other side keeps its tree (it may keep
 * the snapshot the merge took there, which nothing uses); and merging again completes to the same
 * state as a merge never interrupted.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createNodeSqliteBackend } from '../backends/node-sqlite/index.ts';
import { patternBytes } from '../conformance/cases/files.ts';
import { snapshot as picture } from '../conformance/snapshot.ts';
import { openWorkspace, type Workspace } from '../core/workspace.ts';
import { fork, local, merge } from '../sync/fork.ts';
import { CLOCK } from './support/merge-child.ts';
import { recordFigure } from './support/reliability-report.ts';
import { ROOT } from './support/wrangler-dev.ts';

const KILLS = 12;
const FILES = 3_000;
const CHILD = join(ROOT, 'test', 'support', 'merge-child.ts');
const dir = mkdtempSync(join(tmpdir(), 'dofs-merge-crash-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A fixed clock (as the child's): the times a merge writes are the same in every run. */
const open = (path: string): Workspace => openWorkspace(createNodeSqliteBackend({ path }), { now: () => CLOCK });

/** Copies a closed workspace file (and any log beside it) to `to`. */
function copyDb(from: string, to: string): void {
  for (const suffix of ['-wal', '-shm']) rmSync(`${to}${suffix}`, { force: true });
  copyFileSync(from, to);
  for (const suffix of ['-wal', '-shm'])
    if (existsSync(`${from}${suffix}`)) copyFileSync(`${from}${suffix}`, `${to}${suffix}`);
}

/** Runs the child on `ours` and `theirs`, killing it `delayMs` after it is ready; true when it finished first. */
function mergeUntilKilled(ours: string, theirs: string, delayMs: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, ours, theirs], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let errors = '';
    child.stderr.on('data', (data) => (errors += data));
    child.stdout.on('data', (data) => {
      out += data;
      if (out.startsWith('ready\n') && !out.includes('killing')) {
        out += 'killing';
        setTimeout(() => child.kill('SIGKILL'), delayMs);
      }
    });
    child.on('close', (code, signal) => {
      if (signal === 'SIGKILL') resolve(out.includes('merged'));
      else if (code === 0) resolve(true);
      else reject(new Error(`the child failed (${code}): ${errors}`));
    });
  });
}

/** What a merge may change here: the tree and the snapshots' names. */
const state = (ws: Workspace) => ({ tree: picture(ws).tree, snapshots: ws.snapshots().map((info) => info.name) });
/** A snapshot name with the merge's random mark replaced, so two merges' results compare. */
const unmarked = (s: ReturnType<typeof state>) => ({
  ...s,
  snapshots: s.snapshots.map((name) => name.replace(/\.[0-9a-f]{12}-merged$/, '.<mark>-merged')),
});

describe('merge killed mid-way (node:sqlite files, SIGKILL)', () => {
  it(`leaves the state before or after, fsck clean, ${KILLS} kills at random moments`, async () => {
    // Two templates: a workspace and its fork, each then changed (theirs: many files, some big).
    const oursTemplate = join(dir, 'ours-template.db');
    const theirsTemplate = join(dir, 'theirs-template.db');
    const ours = open(oursTemplate);
    ours.db.transaction(() => {
      for (let d = 0; d < 30; d++) ours.mkdir(`/d${d}`);
      for (let i = 0; i < FILES; i++) ours.writeFile(`/d${i % 30}/f${i}.txt`, `base ${i}\n`);
    });
    const theirs = open(theirsTemplate);
    await fork(local(ours.db), local(theirs.db));
    theirs.db.transaction(() => {
      theirs.mkdir('/big');
      for (let i = 0; i < FILES; i += 2) theirs.writeFile(`/d${i % 30}/f${i}.txt`, `theirs ${i}\n`);
      for (let i = 0; i < 20; i++) theirs.writeFile(`/big/b${i}.bin`, patternBytes(300_000, i));
      theirs.rm('/d7', { recursive: true });
    });
    ours.db.transaction(() => {
      for (let i = 0; i < FILES; i += 3) ours.writeFile(`/d${i % 30}/f${i}.txt`, `ours ${i}\n`);
    });
    const before = state(ours);
    const theirsBefore = picture(theirs).tree;
    ours.close();
    theirs.close();

    // The state after an uninterrupted merge, and how long one takes.
    const refOurs = join(dir, 'ref-ours.db');
    const refTheirs = join(dir, 'ref-theirs.db');
    copyDb(oursTemplate, refOurs);
    copyDb(theirsTemplate, refTheirs);
    const [a, b] = [open(refOurs), open(refTheirs)];
    const started = performance.now();
    const result = await merge(local(a.db), local(b.db));
    const mergeMs = performance.now() - started;
    expect(result.conflicts.length).toBeGreaterThan(0);
    const after = unmarked(state(a));
    a.close();
    b.close();
    expect(after.tree).not.toEqual(before.tree);

    let sawBefore = 0;
    let sawAfter = 0;
    const oursDb = join(dir, 'ours.db');
    const theirsDb = join(dir, 'theirs.db');
    for (let kill = 0; kill < KILLS; kill++) {
      copyDb(oursTemplate, oursDb);
      copyDb(theirsTemplate, theirsDb);
      // Startup (imports, opening) comes before `ready`; the kill lands within the merge's span.
      // The first kill comes at once (before the merge commits); the last after it would have ended.
      const delay = kill === 0 ? 0 : kill === KILLS - 1 ? mergeMs * 3 : Math.random() * mergeMs * 1.5;
      await mergeUntilKilled(oursDb, theirsDb, delay);
      const [x, y] = [open(oursDb), open(theirsDb)];
      try {
        expect(x.fsck().ok).toBe(true);
        expect(y.fsck().ok).toBe(true);
        expect(picture(y).tree).toEqual(theirsBefore);
        const now = unmarked(state(x));
        if (JSON.stringify(now) === JSON.stringify(before)) {
          sawBefore++;
          // The merge the kill cut short, run again, ends at the uninterrupted merge's state.
          await merge(local(x.db), local(y.db));
          expect(unmarked(state(x))).toEqual(after);
          expect(x.fsck().ok).toBe(true);
        } else {
          expect(now).toEqual(after);
          sawAfter++;
        }
      } finally {
        x.close();
        y.close();
      }
    }
    expect(sawBefore + sawAfter).toBe(KILLS);
    expect(sawBefore).toBeGreaterThan(0);
    expect(sawAfter).toBeGreaterThan(0);
    console.log(`merge crash: ${sawBefore} before, ${sawAfter} after; merge ${mergeMs.toFixed(0)} ms`);
    recordFigure(
      'merge-crash',
      `${KILLS} SIGKILLs during a merge of ${FILES} files (${mergeMs.toFixed(0)} ms uninterrupted): ${sawBefore} left the state before, ${sawAfter} the state after, none partial; fsck clean every time; merging again reached the uninterrupted result`,
    );
  }, 300_000);
});
