/**
 * Snapshots: taking one in constant rows, reading at one, restore, diff, delete, retention, and
 * restore travelling through sync like any change.
 *
 * @module
 */
import { describe, expect, it } from 'vitest';
import { createNodeFs } from '../../adapters/node-fs/index.ts';
import { S_IFIFO } from '../../core/fs/attributes.ts';
import type { SnapshotDiffEntry } from '../../core/fs/diff.ts';
import type { WatchEvent } from '../../core/fs/watch.ts';
import { openWorkspace, type Workspace } from '../../core/workspace.ts';
import { createSyncDriver } from '../../sync/driver.ts';
import { createSyncEndpoint, forwardEndpoint } from '../../sync/endpoint.ts';
import { connectInProcess } from '../../sync/in-process.ts';
import { defineCase, expectCode, expectFsckClean, expectRefused, openTestWorkspace, tickingClock } from '../harness.ts';
import { snapshot as picture } from '../snapshot.ts';
import type { ConformanceTarget } from '../target.ts';
import { patternBytes } from './files.ts';
import { syncView } from './sync.ts';

/** Rows in every table the workspace owns (what a snapshot may write is counted against it). */
function rowCounts(ws: Workspace): Record<string, number> {
  const tables = ws.db.all<{ name: string }>(
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'vfs\\_%' ESCAPE '\\'",
  );
  return Object.fromEntries(
    tables.map(({ name }) => [name, Number(ws.db.all<{ n: number }>(`SELECT count(*) AS n FROM ${name}`)[0].n)]),
  );
}

/** A tree with every kind of node: nested directories, a file across many chunks, links, a FIFO. */
function seed(ws: Workspace): void {
  ws.mkdir('/src/lib', { recursive: true });
  ws.writeFile('/src/main.ts', 'console.log("one")\n');
  ws.writeFile('/src/lib/util.ts', 'export const x = 1;\n', { mode: 0o600 });
  ws.writeFile('/big.bin', patternBytes(257 * 16 + 5, 1));
  ws.symlink('src/main.ts', '/link');
  ws.link('/src/main.ts', '/hard');
  ws.mknod('/pipe', S_IFIFO | 0o644);
  ws.writeFile('/sparse', 'x');
  ws.truncate('/sparse', 5000);
}

/** Changes of every kind, after {@link seed}. */
function churn(ws: Workspace): void {
  ws.writeFile('/src/main.ts', 'console.log("two")\n');
  ws.appendFile('/big.bin', 'tail');
  ws.rm('/src/lib', { recursive: true });
  ws.writeFile('/new.txt', 'new');
  ws.chmod('/big.bin', 0o600);
  ws.rename('/src', '/moved');
  ws.unlink('/link');
  ws.mkdir('/link');
  ws.truncate('/sparse', 10_000);
}

const tree = (ws: Workspace) => picture(ws).tree;

export function snapshotCases(target: ConformanceTarget): void {
  describe('snapshots', () => {
    defineCase(
      target,
      'a snapshot writes a constant number of rows and copies no bytes, at 1, 256 and 2,000 files',
      ({ ws }) => {
        for (const files of [1, 256, 2000]) {
          const before = ws.snapshots().length;
          for (let i = ws.find('/', 'f*').length; i < files; i++) ws.writeFile(`/f${i}`, `file ${i}`);
          const rows = rowCounts(ws);
          const info = ws.snapshot(`at-${files}`);
          const after = rowCounts(ws);
          const written = Object.keys(after).reduce(
            (sum, table) => sum + Math.abs(after[table] - (rows[table] ?? 0)),
            0,
          );
          expect(written).toBeLessThanOrEqual(10);
          expect(after.vfs_blobs).toBe(rows.vfs_blobs);
          expect(info).toMatchObject({ name: `at-${files}`, id: expect.any(Number), rev: expect.any(Number) });
          expect(ws.snapshots()).toHaveLength(before + 1);
        }
      },
    );

    defineCase(
      target,
      'reads at a snapshot see the tree as it was: readFile, readdir, stat, lstat, readlink, find, grep',
      ({ ws }) => {
        seed(ws);
        const then = tree(ws);
        const grepThen = ws.grep('console', '/');
        const readdirThen = ws.readdir('/src');
        ws.snapshot('s');
        churn(ws);
        const at = ws.atSnapshot('s');
        expect(tree(at)).toEqual(then);
        expect(at.readFile('/src/main.ts', 'utf8')).toBe('console.log("one")\n');
        expect(at.readFile('/big.bin')).toEqual(patternBytes(257 * 16 + 5, 1));
        expect(at.readFile('/big.bin', { byteOffset: 4000, byteLength: 200 })).toEqual(
          patternBytes(257 * 16 + 5, 1).subarray(4000, 4200),
        );
        expect(at.readdir('/src')).toEqual(readdirThen);
        expect(at.stat('/link')).toMatchObject({ type: 'file', nlink: 2 });
        expect(at.lstat('/link').type).toBe('symlink');
        expect(at.readlink('/link')).toBe('src/main.ts');
        expect(at.find('/src', '**/*.ts')).toEqual(['/src/lib/util.ts', '/src/main.ts']);
        expect(at.grep('console', '/')).toEqual(grepThen);
        expect(at.exists('/new.txt')).toBe(false);
        expect(ws.readFile('/moved/main.ts', 'utf8')).toBe('console.log("two")\n');
      },
      { chunkSize: 16 },
    );

    defineCase(
      target,
      'a snapshot is read-only; bad names, unknown and taken names are refused and change nothing',
      async ({ ws }) => {
        ws.writeFile('/f', 'x');
        ws.snapshot('s');
        const at = ws.atSnapshot('s');
        await expectCode(() => at.writeFile('/g', 'y'), 'EROFS');
        await expectCode(() => at.rm('/f'), 'EROFS');
        await expectCode(() => at.snapshot('t'), 'EROFS');
        for (const bad of ['', 'a/b', '.', '..', 'x\0y', 'é'.repeat(128), 7 as unknown as string]) {
          await expectRefused(ws, () => ws.snapshot(bad), 'EINVAL');
        }
        await expectRefused(ws, () => ws.snapshot('s'), 'EEXIST');
        for (const call of [
          () => ws.atSnapshot('nope'),
          () => ws.restore('nope'),
          () => ws.diff('nope'),
          () => ws.diff('s', 'nope'),
          () => ws.deleteSnapshot('nope'),
        ])
          await expectRefused(ws, call, 'ENOENT');
        expect(ws.snapshots().map((s) => s.name)).toEqual(['s']);
        ws.deleteSnapshot('s');
        await expectCode(() => at.readFile('/f'), 'ENOENT');
      },
    );

    defineCase(
      target,
      'restore brings back exactly the snapshot, as one new revision, and the snapshot taken before undoes it',
      ({ ws }) => {
        seed(ws);
        const then = tree(ws);
        ws.snapshot('s');
        churn(ws);
        const now = tree(ws);
        const rev = Number(ws.db.all<{ v: number }>("SELECT v FROM vfs_meta WHERE k = 'rev'")[0].v);
        const result = ws.restore('s');
        expect(tree(ws)).toEqual(then);
        expect(Number(ws.db.all<{ v: number }>("SELECT v FROM vfs_meta WHERE k = 'rev'")[0].v)).toBe(rev + 1);
        expect(result.restored.name).toBe('s');
        expect(result.before.name).toMatch(/^before-restore-/);
        expectFsckClean(ws);
        ws.restore(result.before.name);
        expect(tree(ws)).toEqual(now);
        ws.restore('s');
        expect(tree(ws)).toEqual(then);
        expect(ws.diff('s')).toEqual([]);
      },
      { chunkSize: 16 },
    );

    defineCase(target, 'restore tells watchers of every path it changes, after it commits', ({ ws }) => {
      ws.mkdir('/d');
      ws.writeFile('/d/a', 'a');
      ws.snapshot('s');
      ws.writeFile('/d/a', 'b');
      ws.writeFile('/d/new', 'n');
      ws.rm('/d/a');
      const events: WatchEvent[] = [];
      const watcher = ws.watch('/', { recursive: true }, (event) => events.push(event));
      ws.restore('s');
      watcher.close();
      const paths = new Set(events.map((event) => event.filename));
      expect(paths.has('d/a')).toBe(true);
      expect(paths.has('d/new')).toBe(true);
    });

    defineCase(
      target,
      'diff lists added, removed and changed paths (content, mode, type) both ways and against now',
      ({ ws }) => {
        seed(ws);
        ws.snapshot('a');
        churn(ws);
        ws.snapshot('b');
        const expected: SnapshotDiffEntry[] = [
          { path: '/big.bin', status: 'changed', changes: ['content', 'mode'] },
          { path: '/hard', status: 'changed', changes: ['content'] },
          { path: '/link', status: 'changed', changes: ['type'] },
          { path: '/moved', status: 'added' },
          { path: '/moved/main.ts', status: 'added' },
          { path: '/new.txt', status: 'added' },
          { path: '/sparse', status: 'changed', changes: ['content'] },
          { path: '/src', status: 'removed' },
          { path: '/src/lib', status: 'removed' },
          { path: '/src/lib/util.ts', status: 'removed' },
          { path: '/src/main.ts', status: 'removed' },
        ];
        expect(ws.diff('a', 'b')).toEqual(expected);
        expect(ws.diff('a')).toEqual(expected);
        const flip = { added: 'removed', removed: 'added', changed: 'changed' } as const;
        expect(ws.diff('b', 'a')).toEqual(expected.map((entry) => ({ ...entry, status: flip[entry.status] })));
        expect(ws.diff('b')).toEqual([]);
        ws.writeFile('/moved/main.ts', 'console.log("two")\n');
        expect(ws.diff('b')).toEqual([]);
      },
      { chunkSize: 16 },
    );

    defineCase(
      target,
      'diff reads in batches: directories of 1, 98, 99, 100 and 250 changed entries, moves, links and modes, in a few statements',
      ({ ws, guard }) => {
        const name = (i: number) => `f${String(i).padStart(3, '0')}`;
        const sizes = [1, 98, 99, 100, 250];
        ws.writeFile('/keep', 'k');
        ws.snapshot('s0');
        const added: string[] = [];
        for (const size of sizes) {
          ws.mkdir(`/d${size}`);
          added.push(`/d${size}`);
          for (let i = 0; i < size; i++) {
            ws.writeFile(`/d${size}/${name(i)}`, `${size}:${i}`);
            added.push(`/d${size}/${name(i)}`);
          }
        }
        ws.snapshot('s1');
        const before = guard.statements;
        const all = ws.diff('s0', 's1');
        // A few statements per directory, not several per path (4,422 for these 548 paths before).
        expect(guard.statements - before).toBeLessThan(80);
        expect(all).toEqual(added.sort().map((path) => ({ path, status: 'added' })));
        // Changes of every kind across the batch boundaries, then the same diff both ways and against now.
        const expected: SnapshotDiffEntry[] = [];
        for (let i = 0; i < 250; i += 3) ws.writeFile(`/d250/${name(i)}`, `changed ${i}`);
        for (let i = 0; i < 250; i += 3)
          expected.push({ path: `/d250/${name(i)}`, status: 'changed', changes: ['content'] });
        for (let i = 0; i < 99; i += 2) ws.chmod(`/d99/${name(i)}`, 0o600);
        for (let i = 0; i < 99; i += 2)
          expected.push({ path: `/d99/${name(i)}`, status: 'changed', changes: ['mode'] });
        ws.rename('/d100', '/moved');
        for (const path of added.filter((p) => p === '/d100' || p.startsWith('/d100/'))) {
          expected.push({ path, status: 'removed' }, { path: path.replace('/d100', '/moved'), status: 'added' });
        }
        ws.link('/d98/f000', '/d99/hard');
        ws.writeFile('/d98/f000', 'through a link');
        expected.push(
          { path: '/d98/f000', status: 'changed', changes: ['content'] },
          { path: '/d99/hard', status: 'added' },
        );
        ws.rm('/d1', { recursive: true });
        expected.push({ path: '/d1', status: 'removed' }, { path: '/d1/f000', status: 'removed' });
        expected.sort((x, y) => (x.path < y.path ? -1 : 1));
        expect(ws.diff('s1')).toEqual(expected);
        ws.snapshot('s2');
        expect(ws.diff('s1', 's2')).toEqual(expected);
        const flip = { added: 'removed', removed: 'added', changed: 'changed' } as const;
        expect(ws.diff('s2', 's1')).toEqual(expected.map((entry) => ({ ...entry, status: flip[entry.status] })));
        expect(ws.diff('s2')).toEqual([]);
      },
    );

    defineCase(target, 'deleting a snapshot keeps every other one whole, whichever is deleted', ({ ws }) => {
      const pictures: Record<string, ReturnType<typeof tree>> = {};
      for (const name of ['a', 'b', 'c', 'd']) {
        ws.writeFile(`/${name}`, name);
        ws.writeFile('/shared', `shared at ${name}`);
        if (name === 'c') ws.rm('/a');
        pictures[name] = tree(ws);
        ws.snapshot(name);
      }
      ws.writeFile('/shared', 'now');
      for (const gone of ['b', 'd', 'a']) {
        ws.deleteSnapshot(gone);
        delete pictures[gone];
        for (const [name, then] of Object.entries(pictures)) expect(tree(ws.atSnapshot(name))).toEqual(then);
      }
      ws.restore('c');
      expect(tree(ws)).toEqual(pictures.c);
    });

    defineCase(
      target,
      'snapshots pin their chunks against gc; deleting the last one holding a chunk frees it',
      ({ ws }) => {
        ws.writeFile('/kept', patternBytes(5000, 3));
        ws.snapshot('s');
        ws.rm('/kept');
        expect(ws.gc({ safetyWindowMs: 0 }).blobs).toBe(0);
        expect(ws.atSnapshot('s').readFile('/kept')).toEqual(patternBytes(5000, 3));
        ws.restore('s');
        expect(ws.readFile('/kept')).toEqual(patternBytes(5000, 3));
        ws.rm('/kept');
        for (const { name } of ws.snapshots()) ws.deleteSnapshot(name);
        expect(ws.gc({ safetyWindowMs: 0 }).bytes).toBeGreaterThanOrEqual(5000);
        expect(ws.db.all("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'vfs_hist%'")).toEqual(
          [],
        );
      },
    );

    defineCase(
      target,
      'rm -r of a tree a snapshot sees moves it aside in constant rows: read at the snapshot, restored, freed with it',
      ({ ws }) => {
        ws.mkdir('/d/e', { recursive: true });
        for (let i = 0; i < 257; i++) ws.writeFile(`/d/e/f${i}`, `file ${i}\n`);
        ws.writeFile('/d/big.bin', patternBytes(40 * 16 + 3, 4));
        ws.symlink('e/f1', '/d/link');
        ws.writeFile('/d/shared', 'shared\n');
        ws.link('/d/shared', '/outside');
        ws.snapshot('s');
        const then = tree(ws);
        const before = rowCounts(ws);
        ws.rm('/d', { recursive: true });
        const after = rowCounts(ws);
        const history = ['vfs_hist_nodes', 'vfs_hist_dirents', 'vfs_hist_chunks'].reduce(
          (sum, table) => sum + after[table] - before[table],
          0,
        );
        // The moved entry (its old state and the new one's absence), the parent, and the file with a
        // name outside the tree (its entry inside and its link count): not one row per file.
        expect(history).toBeLessThanOrEqual(6);
        expect(ws.exists('/d')).toBe(false);
        expect(ws.readFile('/outside', 'utf8')).toBe('shared\n');
        expect(ws.stat('/outside').nlink).toBe(1);
        expect(tree(ws.atSnapshot('s'))).toEqual(then);
        const removed = ws.diff('s');
        expect(removed.every((entry) => entry.status === 'removed')).toBe(true);
        expect(removed).toHaveLength(2 + 257 + 3);
        // The tree is the snapshot's now: its bytes are pinned, not the workspace's.
        expect(ws.usage()).toMatchObject({ files: 1, directories: 1, symlinks: 0, logicalBytes: 7 });
        expect(ws.usage().snapshotBytes).toBeGreaterThan(40 * 16);
        expectFsckClean(ws);
        const { before: undo } = ws.restore('s');
        expect(tree(ws)).toEqual(then);
        expectFsckClean(ws);
        ws.restore(undo.name);
        expect(ws.exists('/d')).toBe(false);
        ws.writeFile('/d', 'a file now');
        for (const { name } of ws.snapshots()) ws.deleteSnapshot(name);
        // No snapshot sees the tree any more: its rows are gone, and gc frees its bytes.
        expect(Number(ws.db.all<{ n: number }>('SELECT count(*) AS n FROM vfs_nodes')[0].n)).toBe(ws.usage().inodes);
        expect(ws.gc({ safetyWindowMs: 0 }).bytes).toBeGreaterThanOrEqual(40 * 16 + 3);
        expect(ws.readFile('/d', 'utf8')).toBe('a file now');
      },
    );

    defineCase(
      target,
      'restores move a removed tree out of the attic and back in; it lives while a snapshot as recent as it does',
      ({ ws }) => {
        ws.mkdir('/t/u', { recursive: true });
        ws.writeFile('/t/u/f', 'f');
        ws.snapshot('a');
        const atA = tree(ws);
        ws.rm('/t', { recursive: true });
        ws.snapshot('b');
        const atB = tree(ws);
        for (const [name, then] of [
          ['a', atA],
          ['b', atB],
          ['a', atA],
          ['b', atB],
        ] as const) {
          ws.deleteSnapshot(ws.restore(name).before.name);
          expect(tree(ws)).toEqual(then);
          expectFsckClean(ws);
        }
        // b saw the tree in the attic, and a restore to it puts it there again: it stays while b does.
        ws.deleteSnapshot('a');
        expectFsckClean(ws);
        ws.mkdir('/t');
        ws.deleteSnapshot(ws.restore('b').before.name);
        expect(tree(ws)).toEqual(atB);
        ws.deleteSnapshot('b');
        expectFsckClean(ws);
        expect(ws.db.all('SELECT inode FROM vfs_nodes')).toEqual([{ inode: 1 }]);
      },
    );

    defineCase(
      target,
      'a tree removed under two snapshots lives until both are deleted, whichever goes first',
      ({ ws }) => {
        for (const order of [
          ['one', 'two'],
          ['two', 'one'],
        ]) {
          ws.mkdir('/t/u', { recursive: true });
          ws.writeFile('/t/u/f', patternBytes(100, order[0].length));
          ws.snapshot('one');
          ws.writeFile('/t/g', 'g');
          ws.snapshot('two');
          const atTwo = tree(ws);
          ws.rm('/t', { recursive: true });
          ws.deleteSnapshot(order[0]);
          expectFsckClean(ws);
          if (order[0] === 'one') expect(tree(ws.atSnapshot('two'))).toEqual(atTwo);
          else expect(ws.atSnapshot('one').readFile('/t/u/f')).toEqual(patternBytes(100, 3));
          // Deleting the last snapshot that saw the tree frees all of it.
          expect(ws.usage().snapshots[0].bytes).toBe(101);
          ws.deleteSnapshot(order[1]);
          expectFsckClean(ws);
          expect(ws.db.all('SELECT inode FROM vfs_nodes')).toEqual([{ inode: 1 }]);
          ws.gc({ safetyWindowMs: 0 });
        }
      },
    );

    defineCase(
      target,
      'a tree no snapshot saw goes with the last snapshot that saw it, but not what was moved into it from one a snapshot did see',
      ({ ws }) => {
        // /old is older than snapshot a; /new is younger. Moved into /new, then removed under b,
        // the whole tree sits in the attic; deleting b makes /new's tree stale, and /old with it,
        // yet a still sees /old (the crash test found this: seed 68554, operation 3331).
        ws.mkdir('/old/sub', { recursive: true });
        ws.writeFile('/old/sub/f', patternBytes(40 * 16 + 3, 1));
        ws.snapshot('a');
        const atA = tree(ws);
        ws.mkdir('/new');
        ws.rename('/old', '/new/moved');
        ws.snapshot('b');
        ws.rm('/new', { recursive: true });
        ws.deleteSnapshot('b');
        expectFsckClean(ws);
        expect(tree(ws.atSnapshot('a'))).toEqual(atA);
        expect(ws.gc({ safetyWindowMs: 0 }).blobs).toBe(0);
        ws.deleteSnapshot(ws.restore('a').before.name);
        expect(tree(ws)).toEqual(atA);
        expect(ws.readFile('/old/sub/f')).toEqual(patternBytes(40 * 16 + 3, 1));
        expectFsckClean(ws);
        // Once a goes too, every row of the tree is freed.
        ws.rm('/old', { recursive: true });
        ws.deleteSnapshot('a');
        expectFsckClean(ws);
        expect(ws.db.all('SELECT inode FROM vfs_nodes')).toEqual([{ inode: 1 }]);
      },
    );

    defineCase(
      target,
      'a file open and unlinked when a snapshot was taken comes back with a restore only while still open',
      ({ ws }) => {
        const fs = createNodeFs(ws);
        ws.writeFile('/kept', 'kept');
        // The snapshot sees the file as it is then: open, with no name.
        ws.writeFile('/gone', patternBytes(40, 1));
        const gone = fs.openSync('/gone', 'r+');
        fs.unlinkSync('/gone');
        ws.snapshot('a');
        const atA = tree(ws);
        fs.closeSync(gone);
        ws.writeFile('/later', 'later');
        // Restored, it has no name and no handle: it goes, as closing its last handle made it go.
        const first = ws.restore('a').before.name;
        expect(tree(ws)).toEqual(atA);
        expectFsckClean(ws);
        expect(ws.db.all('SELECT inode FROM vfs_nodes WHERE nlink <= 0')).toEqual([]);
        // Still open, it stays for its handle, and goes when that closes.
        ws.writeFile('/open', patternBytes(40, 2));
        const open = fs.openSync('/open', 'r+');
        fs.unlinkSync('/open');
        ws.snapshot('b');
        ws.deleteSnapshot(ws.restore('b').before.name);
        expect(Buffer.from(fs.readFileSync(open))).toEqual(Buffer.from(patternBytes(40, 2)));
        fs.closeSync(open);
        expectFsckClean(ws);
        expect(ws.db.all('SELECT inode FROM vfs_nodes WHERE nlink <= 0')).toEqual([]);
        for (const name of ['a', 'b', first]) ws.deleteSnapshot(name);
        // Both files' content, and /later's, are garbage now.
        expect(ws.gc({ safetyWindowMs: 0 }).blobs).toBe(3);
        expect(tree(ws)).toEqual(atA);
      },
    );

    defineCase(
      target,
      'a file open when a restore removes it (made since the snapshot, or brought back since) stays, nameless, for its handle until closed',
      ({ ws }) => {
        const fs = createNodeFs(ws);
        ws.writeFile('/kept', 'kept');
        ws.snapshot('a');
        const atA = tree(ws);
        ws.writeFile('/new', 'x'.repeat(40));
        const fd = fs.openSync('/new', 'r+');
        fs.writeSync(fd, 'written before', 0);
        fs.fsyncSync(fd);
        const { before } = ws.restore('a');
        expect(tree(ws)).toEqual(atA);
        // As after an unlink while open: no name, but reads, writes and fstat work.
        fs.writeSync(fd, ' and after', 14);
        expect(fs.fstatSync(fd).nlink).toBe(0);
        const read = Buffer.alloc(64);
        expect(read.toString('utf8', 0, fs.readSync(fd, read, 0, 64, 0))).toBe(
          `written before and after${'x'.repeat(16)}`,
        );
        fs.closeSync(fd);
        expectFsckClean(ws);
        expect(ws.db.all('SELECT inode FROM vfs_nodes WHERE nlink <= 0')).toEqual([]);
        expect(tree(ws)).toEqual(atA);
        // The restore is undone with what was written before it.
        ws.restore(before.name);
        expect(ws.readFile('/new', 'utf8')).toBe(`written before${'x'.repeat(26)}`);
        expectFsckClean(ws);
        // The same with a snapshot between, whose history holds the file's rows as it saw them.
        ws.writeFile('/newer', 'y'.repeat(40));
        ws.snapshot('b');
        ws.writeFile('/newer', 'z'.repeat(40));
        const newer = fs.openSync('/newer', 'r');
        ws.restore('a');
        expect(tree(ws)).toEqual(atA);
        expect(fs.fstatSync(newer)).toMatchObject({ nlink: 0, size: 40 });
        expect(read.toString('utf8', 0, fs.readSync(newer, read, 0, 64, 0))).toBe('z'.repeat(40));
        fs.closeSync(newer);
        expectFsckClean(ws);
        expect(ws.atSnapshot('b').readFile('/newer', 'utf8')).toBe('y'.repeat(40));
        // A file older than the snapshot, removed before it, and brought back since by a restore.
        ws.writeFile('/old', 'o'.repeat(40));
        ws.snapshot('c');
        ws.rm('/old');
        ws.snapshot('d');
        ws.deleteSnapshot(ws.restore('c').before.name);
        const old = fs.openSync('/old', 'r');
        ws.deleteSnapshot(ws.restore('d').before.name);
        expect(ws.exists('/old')).toBe(false);
        expect(fs.fstatSync(old)).toMatchObject({ nlink: 0, size: 40 });
        expect(read.toString('utf8', 0, fs.readSync(old, read, 0, 64, 0))).toBe('o'.repeat(40));
        fs.closeSync(old);
        expectFsckClean(ws);
        expect(ws.db.all('SELECT inode FROM vfs_nodes WHERE nlink <= 0')).toEqual([]);
      },
    );

    defineCase(
      target,
      'diff goes through directories only: a path that went through a symlink on one side is not there',
      ({ ws }) => {
        ws.mkdir('/d');
        ws.writeFile('/d/x', 'a file\n');
        ws.symlink('/d', '/l');
        ws.snapshot('a');
        ws.rm('/l');
        ws.mkdir('/l/x', { recursive: true });
        ws.snapshot('b');
        const forward: SnapshotDiffEntry[] = [
          { path: '/l', status: 'changed', changes: ['type'] },
          { path: '/l/x', status: 'added' },
        ];
        expect(ws.diff('a')).toEqual(forward);
        expect(ws.diff('a', 'b')).toEqual(forward);
        expect(ws.diff('b', 'a')).toEqual([
          { path: '/l', status: 'changed', changes: ['type'] },
          { path: '/l/x', status: 'removed' },
        ]);
      },
    );

    defineCase(target, 'usage reports the bytes snapshots pin, and what each holds alone', ({ ws }) => {
      ws.writeFile('/a', patternBytes(1000, 1));
      ws.writeFile('/b', patternBytes(1000, 2));
      ws.snapshot('one');
      ws.rm('/a');
      ws.snapshot('two');
      ws.rm('/b');
      ws.writeFile('/c', patternBytes(1000, 3));
      const used = ws.usage();
      expect(used.snapshotBytes).toBe(2000);
      expect(used.storedBytes).toBe(1000);
      expect(used.garbageBytes).toBe(0);
      // /a only 'one' saw; /b both saw, so neither holds it alone.
      expect(used.snapshots).toEqual([
        { name: 'one', bytes: 1000 },
        { name: 'two', bytes: 0 },
      ]);
      ws.deleteSnapshot('two');
      expect(ws.usage().snapshots).toEqual([{ name: 'one', bytes: 2000 }]);
      expect(ws.gc({ safetyWindowMs: 0 }).blobs).toBe(0);
      ws.deleteSnapshot('one');
      expect(ws.usage()).toMatchObject({ snapshotBytes: 0, snapshots: [], garbageBytes: 2000 });
      expect(ws.gc({ safetyWindowMs: 0 }).bytes).toBe(2000);
    });

    defineCase(
      target,
      'pinned bytes count against the stored-bytes quota until the snapshot holding them is deleted',
      async ({ ws }) => {
        ws.writeFile('/a', patternBytes(3000, 1));
        ws.snapshot('s');
        ws.rm('/a');
        ws.gc({ safetyWindowMs: 0 });
        await expectRefused(ws, () => ws.writeFile('/b', patternBytes(3000, 2)), 'ENOSPC');
        ws.deleteSnapshot('s');
        ws.gc({ safetyWindowMs: 0 });
        ws.writeFile('/b', patternBytes(3000, 2));
        expect(ws.readFile('/b')).toEqual(patternBytes(3000, 2));
      },
      { quotas: { maxStoredBytes: 5000 } },
    );

    defineCase(
      target,
      'a restore that would bring back more inodes than the quota allows is ENOSPC and changes nothing',
      async ({ ws, backend }) => {
        for (let i = 0; i < 8; i++) ws.writeFile(`/f${i}`, `${i}`);
        ws.snapshot('s');
        for (let i = 0; i < 8; i++) ws.rm(`/f${i}`);
        const tight = openWorkspace(backend, { quotas: { maxInodes: 5 } });
        await expectRefused(tight, () => tight.restore('s'), 'ENOSPC');
        expect(tight.snapshots().map((info) => info.name)).toEqual(['s']);
      },
    );

    it('a restore syncs to a replica like any change', () =>
      target.withStorages(2, async ([a, b]) => {
        const open = (backend: Parameters<typeof openTestWorkspace>[0], start: number) =>
          openTestWorkspace(backend, { chunkSize: 64, clock: tickingClock(start) }).ws;
        const authority = { do: <T>(fn: (ws: Workspace) => T) => a.use((backend) => fn(open(backend, 0))) };
        const replica = { do: <T>(fn: (ws: Workspace) => T) => b.use((backend) => fn(open(backend, 8_000_000))) };
        const wire = connectInProcess(
          forwardEndpoint((method, args) =>
            authority.do((ws) => (createSyncEndpoint(ws.db)[method] as (...x: unknown[]) => Promise<unknown>)(...args)),
          ),
        );
        const sync = () => replica.do((ws) => createSyncDriver(ws.db, wire).sync());
        await authority.do((ws) => {
          ws.mkdir('/d/e', { recursive: true });
          ws.writeFile('/d/e/f', 'one');
          ws.writeFile('/g', 'gone later');
          ws.snapshot('s');
        });
        await sync();
        await authority.do((ws) => {
          ws.writeFile('/d/e/f', 'two');
          ws.rename('/d', '/moved');
          ws.rm('/g');
          ws.writeFile('/h', 'new');
        });
        await sync();
        await authority.do((ws) => ws.restore('s'));
        await sync();
        await sync();
        expect(await replica.do(syncView)).toEqual(await authority.do(syncView));
        expect(await replica.do((ws) => ws.find('/', '**'))).toEqual(['/d', '/d/e', '/d/e/f', '/g']);
        await replica.do(expectFsckClean);
      }));
  });
}
