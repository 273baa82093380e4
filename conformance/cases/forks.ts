/**
 * Forks and three-way merges between two workspaces on two storages of the target, each reached
 * only in its own context (two Durable Objects cannot share one).
 *
 * @module
 */
import { describe, expect, it } from 'vitest';
import type { SqlValue } from '../../core/backend.ts';
import { diffSnapshots } from '../../core/fs/diff.ts';
import { openWorkspace, type Workspace } from '../../core/workspace.ts';
import {
  createBranch,
  currentBranch,
  deleteBranch,
  listBranches,
  mergeBranch,
  switchBranch,
} from '../../sync/branches.ts';
import { createStaging, createSyncEndpoint, forwardEndpoint } from '../../sync/endpoint.ts';
import { fork, merge, remoteSource, remoteTarget, type WorkspaceAccess } from '../../sync/fork.ts';
import { connectInProcess } from '../../sync/in-process.ts';
import {
  type ChangeMemo,
  FORK_TABLES,
  type ForkRow,
  localSource,
  MAX_PAGE_ROWS,
  PAGE_ROW_CHARS,
  readChanges,
  readRows,
  rowChars,
} from '../../sync/merge-source.ts';
import { defineCase, expectCode, expectFsckClean, expectRefused, testClock } from '../harness.ts';
import { snapshot as picture } from '../snapshot.ts';
import type { ConformanceTarget, StorageHandle } from '../target.ts';
import { RecordingStorage } from '../testing.ts';
import { patternBytes } from './files.ts';

/** One workspace of a pair: its access for fork and merge, and a way to act on it. */
interface Side {
  access: WorkspaceAccess;
  do<T>(fn: (ws: Workspace) => T): Promise<T>;
  /** As `do`, with every statement the workspace runs recorded. */
  recording<T>(fn: (ws: Workspace, storage: RecordingStorage) => T): Promise<T>;
}

/** Runs `fn` with two fresh workspaces (chunk size 16) on two storages, then fscks both. */
function withTwo(target: ConformanceTarget, fn: (a: Side, b: Side) => Promise<unknown>): Promise<unknown> {
  const clock = testClock();
  const side = (storage: StorageHandle): Side => {
    const run = <T>(fn: (ws: Workspace) => T) =>
      storage.use((backend) => fn(openWorkspace(backend, { chunkSize: 16, now: clock.now })));
    const recording = <T>(fn: (ws: Workspace, storage: RecordingStorage) => T) =>
      storage.use((backend) => {
        const recorder = new RecordingStorage(backend);
        return fn(openWorkspace(recorder, { chunkSize: 16, now: clock.now }), recorder);
      });
    return { access: (fn) => run((ws) => fn(ws.db)), do: run, recording };
  };
  return target.withStorages(2, async ([first, second]) => {
    const a = side(first);
    const b = side(second);
    await fn(a, b);
    await a.do(expectFsckClean);
    await b.do(expectFsckClean);
  });
}

/** A small tree with a hard link, a symlink and a file of several chunks: what fork cases start from. */
export function seed(ws: Workspace): void {
  ws.mkdir('/src/lib', { recursive: true });
  ws.writeFile('/src/main.ts', 'main\n');
  ws.writeFile('/src/lib/util.ts', 'util\n');
  ws.writeFile('/big.bin', patternBytes(257 * 16 + 3, 5));
  ws.symlink('src/main.ts', '/link');
  ws.link('/src/main.ts', '/hard');
  ws.writeFile('/both.txt', 'base\n');
}

const names = (ws: Workspace) => ws.snapshots().map((info) => info.name);

/** Each path's type and content: what two sides agree on after merges (hard links arrive as separate files). */
const contents = (ws: Workspace) =>
  Object.fromEntries(Object.entries(picture(ws).tree).map(([path, node]) => [path, [node.type, node.content]]));

/** A side's sync endpoint, one call at a time in its own context, staging kept across calls (as a Durable Object's). */
function wire(side: Side, maxStagedBytes?: number) {
  const staging = createStaging();
  return connectInProcess(
    forwardEndpoint((method, args) =>
      side.do((ws) =>
        (createSyncEndpoint(ws.db, { staging, maxStagedBytes })[method] as (...x: unknown[]) => Promise<unknown>)(
          ...args,
        ),
      ),
    ),
  );
}

export function forkCases(target: ConformanceTarget): void {
  describe('forks and merges', () => {
    it('a fork is the same tree, node for node, with only the blobs the target lacked copied', () =>
      withTwo(target, async (a, b) => {
        await a.do(seed);
        // The target already stores the big file's blobs (garbage of a file it removed).
        const had = await b.do((ws) => {
          ws.writeFile('/old', patternBytes(257 * 16 + 3, 5));
          ws.rm('/old');
          return ws.usage().blobs;
        });
        const result = await fork(a.access, b.access);
        expect(await b.do((ws) => picture(ws).tree)).toEqual(await a.do((ws) => picture(ws).tree));
        expect(result.base).toMatch(/^fork-[0-9a-f]{12}$/);
        expect(await a.do(names)).toEqual([result.base]);
        expect(await b.do(names)).toEqual([result.base]);
        expect(result.blobs).toBe((await a.do((ws) => ws.usage().blobs)) - had);
        await b.do((ws) => ws.writeFile('/after', 'x'));
        expect(await a.do((ws) => ws.exists('/after'))).toBe(false);
      }));

    it('a fork leaves out trees removed under a snapshot of the source (held aside for it), rows and blobs', () =>
      withTwo(target, async (a, b) => {
        await a.do((ws) => {
          seed(ws);
          ws.mkdir('/gone/deep', { recursive: true });
          ws.writeFile('/gone/deep/only-here.bin', patternBytes(40 * 16 + 1, 9));
          ws.snapshot('kept');
          ws.rm('/gone', { recursive: true });
        });
        await fork(a.access, b.access);
        expect(await b.do((ws) => picture(ws).tree)).toEqual(await a.do((ws) => picture(ws).tree));
        // Nothing of the removed tree arrived: every node is in the tree, and only the tree's bytes are stored.
        expect(await b.do((ws) => ws.db.all<{ n: number }>('SELECT count(*) AS n FROM vfs_nodes')[0].n)).toBe(
          await b.do((ws) => ws.usage().inodes),
        );
        expect(await b.do((ws) => ws.usage().snapshotBytes)).toBe(0);
        expect(await a.do((ws) => ws.atSnapshot('kept').readFile('/gone/deep/only-here.bin'))).toEqual(
          patternBytes(40 * 16 + 1, 9),
        );
      }));

    defineCase(
      target,
      'fork rows come in pages cut by count (1, 255, 256, 257 and 513 rows, a bound of 256) and by size, each row once in key order',
      ({ ws }) => {
        const all = (base: string, table: number, bound: { rows: number; chars: number }) => {
          const pages: ForkRow[][] = [];
          for (let after: SqlValue[] | null = null; ; ) {
            const rows = readRows(ws.db, base, table, after, bound);
            if (rows.length === 0) return pages;
            pages.push(rows);
            const last = rows[rows.length - 1];
            after = FORK_TABLES[table].columns.slice(0, FORK_TABLES[table].keys).map((column) => last[column]);
          }
        };
        let files = 0;
        for (const nodes of [1, 255, 256, 257, 513]) {
          for (; files + 1 < nodes; files++) ws.writeFile(`/f${String(files).padStart(4, '0')}`, `${files}`);
          ws.snapshot(`at-${nodes}`);
          const whole = readRows(ws.db, `at-${nodes}`, 0, null);
          expect(whole).toHaveLength(nodes);
          const pages = all(`at-${nodes}`, 0, { rows: 256, chars: PAGE_ROW_CHARS });
          expect(pages.map((page) => page.length)).toEqual(
            Array.from({ length: Math.ceil(nodes / 256) }, (_, i) => Math.min(256, nodes - i * 256)),
          );
          expect(pages.flat()).toEqual(whole);
        }
        // By size: a page stops before the row that would pass the bound; a row over it comes alone.
        ws.writeFile(`/${'n'.repeat(255)}`, 'long name');
        ws.snapshot('sized');
        const entries = readRows(ws.db, 'sized', 1, null);
        const chars = (rows: ForkRow[]) => rows.reduce((sum, row) => sum + rowChars(row), 0);
        // The estimate never falls short of the JSON.
        for (const row of entries) expect(rowChars(row)).toBeGreaterThanOrEqual(JSON.stringify(row).length);
        const bound = chars(entries.slice(0, 3));
        const pages = all('sized', 1, { rows: MAX_PAGE_ROWS, chars: bound });
        expect(pages.flat()).toEqual(entries);
        for (const page of pages) expect(page.length === 1 || chars(page) <= bound).toBe(true);
        expect(pages[0]).toHaveLength(3);
        expect(pages.find((page) => page.some((row) => String(row.name).length === 255))).toHaveLength(1);
      },
    );

    it('forking into a workspace that holds anything is ENOTEMPTY and changes neither', () =>
      withTwo(target, async (a, b) => {
        await a.do(seed);
        await b.do((ws) => ws.writeFile('/mine', 'x'));
        const before = [await a.do(picture), await b.do(picture)];
        await expectCode(() => fork(a.access, b.access), 'ENOTEMPTY');
        expect([await a.do(picture), await b.do(picture)]).toEqual(before);
        expect(await a.do(names)).toEqual([]);
      }));

    it('merge applies what only the other side changed and keeps both versions of what both changed', () =>
      withTwo(target, async (a, b) => {
        await a.do(seed);
        await fork(a.access, b.access);
        await b.do((ws) => {
          ws.writeFile('/src/main.ts', 'theirs\n');
          ws.rm('/src/lib', { recursive: true });
          ws.mkdir('/docs');
          ws.writeFile('/docs/new.md', 'new\n');
          ws.chmod('/big.bin', 0o600);
          ws.writeFile('/both.txt', 'theirs\n');
        });
        await a.do((ws) => {
          ws.writeFile('/both.txt', 'ours\n');
          ws.writeFile('/ours.txt', 'ours\n');
        });
        const result = await merge(a.access, b.access);
        const copy = `/both.txt.conflict-${result.base.slice('fork-'.length)}`;
        expect(result.conflicts).toEqual([{ path: '/both.txt', copy }]);
        await a.do((ws) => {
          expect(ws.readFile('/src/main.ts', 'utf8')).toBe('theirs\n');
          expect(ws.exists('/src/lib')).toBe(false);
          expect(ws.readFile('/docs/new.md', 'utf8')).toBe('new\n');
          expect(ws.stat('/big.bin').mode & 0o777).toBe(0o600);
          expect(ws.readFile('/both.txt', 'utf8')).toBe('ours\n');
          expect(ws.readFile(copy, 'utf8')).toBe('theirs\n');
          expect(ws.readFile('/ours.txt', 'utf8')).toBe('ours\n');
        });
        // Merging again brings nothing new; theirs was only read.
        expect((await merge(a.access, b.access)).applied).toEqual([]);
        expect(await b.do((ws) => ws.exists('/ours.txt'))).toBe(false);
      }));

    it('the merge base advances: a later merge reports only what changed since, and this side keeps its own edits', () =>
      withTwo(target, async (a, b) => {
        await a.do(seed);
        const { base } = await fork(a.access, b.access);
        await b.do((ws) => {
          ws.writeFile('/both.txt', 'theirs\n');
          ws.writeFile('/src/main.ts', 'theirs\n');
        });
        await a.do((ws) => {
          ws.writeFile('/both.txt', 'ours\n');
          ws.writeFile('/src/lib/util.ts', 'ours\n');
        });
        const first = await merge(a.access, b.access);
        expect(first.conflicts.map((conflict) => conflict.path)).toEqual(['/both.txt']);
        expect(first.applied).toEqual(['/hard', '/src/main.ts']);
        // Each side records the state merged: theirs as fork-<id>.<id>, this side with -merged.
        const [mark] = (await b.do(names)).filter((name) => name !== base);
        expect(mark).toMatch(new RegExp(`^${base}\\.[0-9a-f]{12}$`));
        expect(await a.do(names)).toEqual([base, `${mark}-merged`]);
        // Nothing changed since: nothing is applied or reported again.
        expect(await merge(a.access, b.access)).toEqual({ base, applied: [], conflicts: [] });
        // Only the newest mark stays on each side.
        expect((await b.do(names)).length).toBe(2);
        expect((await a.do(names)).length).toBe(2);
        // They change the file this side changed before the first merge (they never saw that edit):
        // a conflict, not a silent overwrite; a path they change again that this side left applies.
        await b.do((ws) => {
          ws.writeFile('/src/lib/util.ts', 'theirs later\n');
          ws.writeFile('/src/main.ts', 'theirs again\n');
        });
        const third = await merge(a.access, b.access);
        expect(third.applied).toEqual(['/hard', '/src/main.ts']);
        expect(third.conflicts.map((conflict) => conflict.path)).toEqual(['/src/lib/util.ts']);
        await a.do((ws) => {
          expect(ws.readFile('/src/main.ts', 'utf8')).toBe('theirs again\n');
          expect(ws.readFile('/src/lib/util.ts', 'utf8')).toBe('ours\n');
          expect(ws.readFile('/both.txt', 'utf8')).toBe('ours\n');
        });
        // The other direction compares against the state they gave this side last: every edit of
        // this side reaches them, its resolutions included, and none conflicts with what it merged.
        const back = await merge(b.access, a.access);
        expect(back.conflicts).toEqual([]);
        expect(back.applied).toContain(`/both.txt.conflict-${base.slice('fork-'.length)}`);
        await b.do((ws) => expect(ws.readFile('/src/main.ts', 'utf8')).toBe('theirs again\n'));
        expect(await b.do(contents)).toEqual(await a.do(contents));
      }));

    it('fork and merge through the sync endpoint, as across a WebSocket, either side remote; its fork calls refuse other snapshots and bad pages', () =>
      withTwo(target, async (a, b) => {
        await a.do(seed);
        const [wireA, wireB] = [wire(a), wire(b)];
        const forked = await fork(remoteSource(wireA), remoteTarget(wireB));
        expect(await b.do((ws) => picture(ws).tree)).toEqual(await a.do((ws) => picture(ws).tree));
        await a.do((ws) => ws.writeFile('/src/main.ts', 'theirs\n'));
        await b.do((ws) => ws.writeFile('/both.txt', 'b\n'));
        // Into the remote side from the remote side, then back into a side at hand.
        expect((await merge(remoteTarget(wireB), remoteSource(wireA))).applied).toEqual(['/hard', '/src/main.ts']);
        expect(await b.do((ws) => ws.readFile('/src/main.ts', 'utf8'))).toBe('theirs\n');
        await a.do((ws) => ws.writeFile('/both.txt', 'a\n'));
        const back = await merge(a.access, remoteSource(wireB));
        expect(back.conflicts.map((conflict) => conflict.path)).toEqual(['/both.txt']);
        await b.do((ws) => {
          ws.mkdir('/many');
          for (let i = 0; i < 300; i++) ws.writeFile(`/many/f${i}`, `${i}`);
        });
        expect((await merge(remoteTarget(wireA), remoteSource(wireB))).applied.length).toBe(301);
        expect(await a.do((ws) => ws.readdir('/many').length)).toBe(300);
        const aSource = remoteSource(wireA);
        await a.do((ws) => ws.snapshot('mine'));
        const before = await a.do(names);
        await expectCode(() => aSource.dropSnapshot('mine'), 'EINVAL');
        await expectCode(() => aSource.takeSnapshot('fork-../x'), 'EINVAL');
        await expectCode(() => aSource.states(forked.base, Array(257).fill('/')), 'EINVAL');
        await expectCode(() => aSource.rows(forked.base, 3, null), 'EINVAL');
        await expectCode(() => aSource.rows(forked.base, 0, ['a', 'b']), 'EINVAL');
        await expectCode(() => aSource.changes(forked.base, forked.base, -1), 'EINVAL');
        await expectCode(() => aSource.changes(forked.base, 'missing', 0), 'ENOENT');
        // A fork into a side that holds anything, and a merge commit with names it does not give.
        await expectCode(() => fork(remoteSource(wireB), remoteTarget(wireA)), 'ENOTEMPTY');
        await expectCode(() => wireA.commitMerge(forked.base, forked.base, 'mine'), 'EINVAL');
        await expectCode(() => wireA.stageRows(0, Array(MAX_PAGE_ROWS + 1).fill({})), 'EINVAL');
        expect(await a.do(names)).toEqual(before);
      }));

    it('merging back after a merge compares against what that merge agreed on: no conflict on paths it brought, a revert after it still conflicts', () =>
      withTwo(target, async (a, b) => {
        await a.do(seed);
        await fork(a.access, b.access);
        await b.do((ws) => ws.writeFile('/both.txt', 'theirs\n'));
        expect((await merge(a.access, b.access)).applied).toEqual(['/both.txt']);
        // Both edit after the merge: this side edits the path the merge brought, they edit another.
        await a.do((ws) => {
          ws.writeFile('/both.txt', 'ours on theirs\n');
          ws.writeFile('/src/main.ts', 'ours\n');
        });
        await b.do((ws) => ws.writeFile('/src/lib/util.ts', 'theirs\n'));
        // Into them (through their endpoint, as into a Durable Object): their /both.txt is what they
        // gave this side, so ours applies.
        const back = await merge(remoteTarget(wire(b)), a.access);
        expect(back.conflicts).toEqual([]);
        expect(back.applied).toEqual(['/both.txt', '/hard', '/src/main.ts']);
        await b.do((ws) => {
          expect(ws.readFile('/both.txt', 'utf8')).toBe('ours on theirs\n');
          expect(ws.readFile('/src/lib/util.ts', 'utf8')).toBe('theirs\n');
        });
        // And again the first way: only their edit since comes, nothing this side gave them returns.
        const again = await merge(a.access, b.access);
        expect(again).toEqual({ base: again.base, applied: ['/src/lib/util.ts'], conflicts: [] });
        expect(await a.do(contents)).toEqual(await b.do(contents));
        // This side puts back the fork's text of a path a merge brought; they change it meanwhile:
        // that is a conflict (the revert is a change since the merge), not a silent overwrite.
        await a.do((ws) => ws.writeFile('/src/lib/util.ts', 'util\n'));
        await b.do((ws) => ws.writeFile('/src/lib/util.ts', 'theirs again\n'));
        const revert = await merge(a.access, b.access);
        expect(revert.conflicts.map((conflict) => conflict.path)).toEqual(['/src/lib/util.ts']);
        await a.do((ws) => expect(ws.readFile('/src/lib/util.ts', 'utf8')).toBe('util\n'));
      }));

    it('a merge reads 1, 255, 256 and 257 changed paths in pages, the diff computed once, locally and through the endpoint', () =>
      withTwo(target, async (a, b) => {
        const sizes = [1, 255, 256, 257];
        await a.do((ws) => {
          for (const n of sizes) ws.mkdir(`/p${n}`);
        });
        await fork(a.access, b.access);
        const remote = remoteSource(wire(b));
        for (const [index, n] of sizes.entries()) {
          // Reading every page costs one diff (its history scans) plus what the pages hold.
          const counts = await b.recording((ws, storage) => {
            ws.snapshot(`pages-${n}`);
            for (let i = 0; i < n; i++) ws.writeFile(`/p${n}/g${String(i).padStart(3, '0')}`, `${n}:${i}`);
            ws.snapshot(`pages-${n}-after`);
            const historyScans = () => storage.sql.filter((sql) => sql.includes('SELECT DISTINCT')).length;
            storage.clear();
            diffSnapshots(ws.db, `pages-${n}`, `pages-${n}-after`);
            const once = historyScans();
            storage.clear();
            const memo: ChangeMemo = {};
            const pages: number[] = [];
            for (let offset: number | null = 0; offset !== null; ) {
              const page = readChanges(ws.db, `pages-${n}`, `pages-${n}-after`, offset, memo);
              pages.push(page.entries.length);
              offset = page.next;
            }
            const all = historyScans();
            ws.deleteSnapshot(`pages-${n}`);
            ws.deleteSnapshot(`pages-${n}-after`);
            return { once, all, pages };
          });
          expect(counts.pages).toEqual(n === 257 ? [256, 1] : [n]);
          expect(counts.all).toBe(counts.once);
          // Half the sizes merge from the endpoint, half from the side at hand.
          const result = await merge(a.access, index % 2 === 0 ? remote : localSource(b.access));
          expect(result.applied.length).toBe(n);
          expect(result.conflicts).toEqual([]);
          await a.do((ws) => expect(ws.readdir(`/p${n}`).length).toBe(n));
        }
        expect(await a.do(contents)).toEqual(await b.do(contents));
      }));

    it('an endpoint stages at most maxStagedBytes for a fork or merge into it: EFBIG saying what to do, nothing changed, then it works under a larger cap', () =>
      withTwo(target, async (a, b) => {
        await a.do((ws) => {
          seed(ws);
          ws.mkdir('/many');
          for (let i = 0; i < 300; i++) ws.writeFile(`/many/f${i}`, `${i}`);
        });
        const before = await b.do(picture);
        const error = await expectCode(() => fork(a.access, remoteTarget(wire(b, 16 * 1024))), 'EFBIG');
        expect(error.message).toContain('maxStagedBytes');
        // Blobs it took stay only as garbage for gc, as after any failed fork.
        expect(await b.do((ws) => picture(ws).tree)).toEqual(before.tree);
        expect(await b.do(names)).toEqual([]);
        expect(await a.do(names)).toEqual([]);
        const forked = await fork(a.access, remoteTarget(wire(b, 1024 * 1024)));
        expect(await b.do((ws) => picture(ws).tree)).toEqual(await a.do((ws) => picture(ws).tree));
        // A merge into it that stages more than the cap is refused the same way and leaves it as it was.
        await a.do((ws) => {
          for (let i = 0; i < 300; i++) ws.writeFile(`/many/f${i}`, `changed ${i}`);
        });
        const unchanged = await b.do(picture);
        await expectCode(() => merge(remoteTarget(wire(b, 16 * 1024)), a.access), 'EFBIG');
        expect(await b.do((ws) => picture(ws).tree)).toEqual(unchanged.tree);
        expect(await a.do(names)).toEqual([forked.base]);
        expect((await merge(remoteTarget(wire(b)), a.access)).applied.length).toBe(300);
      }));

    it('a directory the other side deleted stays where this side changed something inside it', () =>
      withTwo(target, async (a, b) => {
        await a.do(seed);
        await fork(a.access, b.access);
        await b.do((ws) => ws.rm('/src', { recursive: true }));
        await a.do((ws) => ws.writeFile('/src/lib/added.ts', 'kept\n'));
        const result = await merge(a.access, b.access);
        expect(result.conflicts.map((conflict) => conflict.path)).toContain('/src');
        await a.do((ws) => {
          expect(ws.readFile('/src/lib/added.ts', 'utf8')).toBe('kept\n');
          expect(ws.exists('/src/main.ts')).toBe(false);
        });
      }));

    it('the fork can be merged into, too, and workspaces never forked are refused', () =>
      withTwo(target, async (a, b) => {
        await a.do(seed);
        await expectCode(() => merge(a.access, b.access), 'EINVAL');
        await fork(a.access, b.access);
        await a.do((ws) => ws.writeFile('/upstream.txt', 'up\n'));
        await merge(b.access, a.access);
        expect(await b.do((ws) => ws.readFile('/upstream.txt', 'utf8'))).toBe('up\n');
      }));

    it('FIFOs, sockets and devices survive a fork, a merge and a branch merge as themselves', () =>
      withTwo(target, async (a, b) => {
        const specials = (ws: Workspace) =>
          Object.fromEntries(
            ws
              .find('/', '**')
              .filter((path) => !ws.lstat(path).isFile && !ws.lstat(path).isDirectory)
              .map((path) => [path, [ws.lstat(path).type, ws.lstat(path).mode & 0o7777, ws.lstat(path).rdev]]),
          );
        await a.do((ws) => {
          ws.mknod('/pipe', 0o10640);
          ws.mknod('/tty', 0o20620, 0x0401);
        });
        await fork(a.access, b.access);
        expect(await b.do(specials)).toEqual({ '/pipe': ['fifo', 0o640, 0], '/tty': ['chardev', 0o620, 0x0401] });
        await b.do((ws) => {
          ws.mknod('/sock', 0o140700);
          ws.rm('/tty');
          ws.mknod('/tty', 0o60600, 0x0802);
        });
        await merge(a.access, b.access);
        const merged = {
          '/pipe': ['fifo', 0o640, 0],
          '/sock': ['socket', 0o700, 0],
          '/tty': ['blockdev', 0o600, 0x0802],
        };
        expect(await a.do(specials)).toEqual(merged);
        await a.do((ws) => {
          createBranch(ws.db, 'feature');
          switchBranch(ws.db, 'feature');
          ws.rm('/pipe');
          ws.writeFile('/pipe', 'a file now');
          ws.mknod('/fifo2', 0o10600);
          switchBranch(ws.db, 'main');
          expect(specials(ws)).toEqual(merged);
          mergeBranch(ws.db, 'feature');
          expect(specials(ws)).toEqual({ ...merged, '/pipe': undefined, '/fifo2': ['fifo', 0o600, 0] });
          expect(ws.readFile('/pipe', 'utf8')).toBe('a file now');
        });
      }));

    defineCase(
      target,
      'branches in one workspace: create, switch (a restore each way), merge with conflicts kept',
      async ({ ws }) => {
        seed(ws);
        createBranch(ws.db, 'feature');
        expect(listBranches(ws.db)).toEqual([
          { name: 'feature', current: false },
          { name: 'main', current: true },
        ]);
        ws.writeFile('/both.txt', 'main\n');
        const onMain = picture(ws).tree;
        switchBranch(ws.db, 'feature');
        expect(currentBranch(ws.db)).toBe('feature');
        expect(ws.readFile('/both.txt', 'utf8')).toBe('base\n');
        ws.writeFile('/both.txt', 'feature\n');
        ws.writeFile('/feature.txt', 'only here\n');
        ws.rm('/src/lib', { recursive: true });
        const onFeature = picture(ws).tree;
        switchBranch(ws.db, 'main');
        expect(picture(ws).tree).toEqual(onMain);
        const result = mergeBranch(ws.db, 'feature');
        expect(result.conflicts).toEqual([{ path: '/both.txt', copy: '/both.txt.conflict-feature' }]);
        expect(ws.readFile('/feature.txt', 'utf8')).toBe('only here\n');
        expect(ws.exists('/src/lib')).toBe(false);
        expect(ws.readFile('/both.txt', 'utf8')).toBe('main\n');
        expect(ws.readFile('/both.txt.conflict-feature', 'utf8')).toBe('feature\n');
        switchBranch(ws.db, 'feature');
        expect(picture(ws).tree).toEqual(onFeature);
        // Merging the parent into the branch works against the state the branch started from.
        expect(mergeBranch(ws.db, 'main').applied).toContain('/both.txt.conflict-feature');
        switchBranch(ws.db, 'main');
        await expectRefused(ws, () => mergeBranch(ws.db, 'main'), 'EINVAL');
        await expectRefused(ws, () => switchBranch(ws.db, 'nope'), 'ENOENT');
        await expectRefused(ws, () => createBranch(ws.db, 'feature'), 'EEXIST');
        await expectRefused(ws, () => deleteBranch(ws.db, 'main'), 'EINVAL');
        deleteBranch(ws.db, 'feature');
        expect(listBranches(ws.db)).toEqual([{ name: 'main', current: true }]);
        expect(ws.snapshots()).toEqual([]);
      },
    );

    defineCase(
      target,
      'a conflict copy takes a name nothing else of the same merge brings: their file of that name and their version both stay',
      ({ ws }) => {
        ws.writeFile('/f', 'base\n');
        ws.writeFile('/d', 'base\n');
        createBranch(ws.db, 'b');
        ws.writeFile('/f', 'ours\n');
        ws.writeFile('/d', 'ours\n');
        switchBranch(ws.db, 'b');
        ws.writeFile('/f', 'theirs\n');
        // The name the copy of /f would take, brought by the same merge (an earlier merge's copy, say).
        ws.writeFile('/f.conflict-b', 'their file of that name\n');
        // Where this side made a file of what they made a directory, theirs goes below a copy: the same.
        ws.rm('/d');
        ws.mkdir('/d');
        ws.writeFile('/d/x', 'theirs below\n');
        ws.writeFile('/d.conflict-b', 'their file named as the copy\n');
        switchBranch(ws.db, 'main');
        expect(mergeBranch(ws.db, 'b')).toEqual({
          base: 'branch-base:b',
          applied: ['/d.conflict-b', '/f.conflict-b'],
          conflicts: [
            { path: '/d', copy: null },
            { path: '/d/x', copy: '/d.conflict-b-2/x' },
            { path: '/f', copy: '/f.conflict-b-2' },
          ],
        });
        const files = Object.fromEntries(
          ws.find('/', '**').map((p) => [p, ws.stat(p).isFile ? ws.readFile(p, 'utf8') : 'dir']),
        );
        expect(files).toEqual({
          '/d': 'ours\n',
          '/d.conflict-b': 'their file named as the copy\n',
          '/d.conflict-b-2': 'dir',
          '/d.conflict-b-2/x': 'theirs below\n',
          '/f': 'ours\n',
          '/f.conflict-b': 'their file of that name\n',
          '/f.conflict-b-2': 'theirs\n',
        });
      },
    );

    defineCase(
      target,
      'their paths below a file this side made go below a new copy each merge: an earlier copy this side changed stays',
      ({ ws }) => {
        ws.mkdir('/d');
        ws.writeFile('/d/x', 'base\n');
        createBranch(ws.db, 'b');
        ws.rm('/d', { recursive: true });
        ws.writeFile('/d', 'ours\n');
        switchBranch(ws.db, 'b');
        ws.writeFile('/d/x', 'theirs\n');
        switchBranch(ws.db, 'main');
        expect(mergeBranch(ws.db, 'b').conflicts).toEqual([{ path: '/d/x', copy: '/d.conflict-b/x' }]);
        // This side edits the copy; theirs makes a directory of /d/x.
        ws.writeFile('/d.conflict-b/x', 'ours, edited in the copy\n');
        switchBranch(ws.db, 'b');
        ws.rm('/d/x');
        ws.mkdir('/d/x');
        ws.writeFile('/d/x/z', 'deep\n');
        switchBranch(ws.db, 'main');
        expect(mergeBranch(ws.db, 'b').conflicts).toEqual([
          { path: '/d/x', copy: '/d.conflict-b-2/x' },
          { path: '/d/x/z', copy: '/d.conflict-b-2/x/z' },
        ]);
        expect(ws.readFile('/d', 'utf8')).toBe('ours\n');
        expect(ws.readFile('/d.conflict-b/x', 'utf8')).toBe('ours, edited in the copy\n');
        expect(ws.readFile('/d.conflict-b-2/x/z', 'utf8')).toBe('deep\n');
      },
    );

    defineCase(
      target,
      'branches: a second merge sees only what changed since the first, either way; no conflict comes back',
      async ({ ws }) => {
        seed(ws);
        createBranch(ws.db, 'feature');
        ws.writeFile('/both.txt', 'main\n');
        switchBranch(ws.db, 'feature');
        ws.writeFile('/both.txt', 'feature\n');
        ws.writeFile('/one.txt', 'one\n');
        switchBranch(ws.db, 'main');
        expect(mergeBranch(ws.db, 'feature')).toEqual({
          base: 'branch-base:feature',
          applied: ['/one.txt'],
          conflicts: [{ path: '/both.txt', copy: '/both.txt.conflict-feature' }],
        });
        // Both sides go on: main edits what the merge brought, the branch adds and edits elsewhere.
        ws.writeFile('/one.txt', 'one, edited on main\n');
        ws.writeFile('/main.txt', 'main only\n');
        switchBranch(ws.db, 'feature');
        ws.writeFile('/two.txt', 'two\n');
        ws.writeFile('/src/lib/util.ts', 'feature edit\n');
        switchBranch(ws.db, 'main');
        const second = mergeBranch(ws.db, 'feature');
        expect(second.conflicts).toEqual([]);
        expect(second.applied).toEqual(['/src/lib/util.ts', '/two.txt']);
        expect(ws.readFile('/one.txt', 'utf8')).toBe('one, edited on main\n');
        expect(ws.readFile('/both.txt', 'utf8')).toBe('main\n');
        expect(ws.readFile('/two.txt', 'utf8')).toBe('two\n');
        // Merging nothing new changes nothing.
        expect(mergeBranch(ws.db, 'feature')).toMatchObject({ applied: [], conflicts: [] });
        const onMain = contents(ws);
        // The other way, against the head merged last: the branch changed nothing since, so it takes main's state.
        switchBranch(ws.db, 'feature');
        const back = mergeBranch(ws.db, 'main');
        expect(back.conflicts).toEqual([]);
        expect(back.applied).toEqual(['/both.txt', '/both.txt.conflict-feature', '/main.txt', '/one.txt']);
        expect(contents(ws)).toEqual(onMain);
        switchBranch(ws.db, 'main');
        deleteBranch(ws.db, 'feature');
        // The merge bases went with the branch.
        expect(ws.snapshots()).toEqual([]);
      },
    );
  });
}
