/**
 * Merges (of a branch, of a fork) over files open through handles: a file they delete or replace
 * stays for its handles, nameless, as after an unlink while open; one they update in place shows
 * the update to its handles, as another writer's write would. Plus what a crash leaves of such files.
 *
 * @module
 */
import { describe, expect, it } from 'vitest';
import { createNodeFs, type NodeFs } from '../../adapters/node-fs/index.ts';
import { pinnedInodes } from '../../core/handles.ts';
import { openWorkspace, type Workspace } from '../../core/workspace.ts';
import { createBranch, mergeBranch, switchBranch } from '../../sync/branches.ts';
import { fork, merge } from '../../sync/fork.ts';
import { local } from '../../sync/merge-source.ts';
import { defineCase, expectFsckClean, testClock } from '../harness.ts';
import type { ConformanceTarget } from '../target.ts';
import { patternBytes } from './files.ts';

/** Every byte of the file open as `fd`, read through the handle (not its path). */
export function readThrough(fs: NodeFs, fd: number): Uint8Array {
  const out = new Uint8Array(fs.fstatSync(fd).size);
  let done = 0;
  while (done < out.byteLength) {
    const n = fs.readSync(fd, out, done, out.byteLength - done, done);
    if (n === 0) break;
    done += n;
  }
  return out.subarray(0, done);
}

/** `base` with `patch` written at `at`. */
export function patched(base: Uint8Array, at: number, patch: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.max(base.byteLength, at + patch.byteLength));
  out.set(base);
  out.set(patch, at);
  return out;
}

/**
 * Checks a handle whose file lost every name: fstat says nlink 0, the handle reads `content`, and
 * a write across a chunk boundary (chunks of 16) lands and reads back.
 */
export function expectNameless(fs: NodeFs, fd: number, content: Uint8Array): void {
  expect(fs.fstatSync(fd)).toMatchObject({ nlink: 0, size: content.byteLength });
  expect(Buffer.from(readThrough(fs, fd))).toEqual(Buffer.from(content));
  const patch = patternBytes(3, 99);
  fs.writeSync(fd, patch, 0, 3, 15);
  expect(Buffer.from(readThrough(fs, fd))).toEqual(Buffer.from(patched(content, 15, patch)));
}

/** Nothing left of files that lost their names once their handles closed. */
export function expectNoNameless(ws: Workspace): void {
  expect(pinnedInodes(ws.db)).toEqual([]);
  expect(ws.db.all('SELECT inode FROM vfs_nodes WHERE nlink <= 0')).toEqual([]);
}

/** The tree both sides of a merge start from: one file per fate. */
function seed(ws: Workspace): void {
  ws.writeFile('/gone', patternBytes(40, 1));
  ws.writeFile('/upd', patternBytes(16 * 16 + 1, 2));
  ws.writeFile('/repl', patternBytes(20, 3));
  ws.mkdir('/d/e', { recursive: true });
  ws.writeFile('/d/e/in', patternBytes(33, 4));
  ws.writeFile('/h', patternBytes(17, 5));
  ws.link('/h', '/h2');
}

/** Their side of the merge: each file of {@link seed} deleted, updated in place, replaced, or removed with its directory. */
function theirChanges(ws: Workspace): void {
  ws.rm('/gone');
  ws.writeFile('/upd', patternBytes(16 * 16 + 1, 6));
  ws.rm('/repl');
  ws.mkdir('/repl');
  ws.rm('/d', { recursive: true });
  // A new file at a hard link's name: the name is replaced, the old node keeps its other name.
  ws.rm('/h');
  ws.writeFile('/h', patternBytes(17, 7));
}

const FATES = ['/gone', '/upd', '/repl', '/d/e/in', '/h'] as const;

/**
 * Opens each file of {@link seed} and writes through the handle to `/gone` without a sync (a
 * buffered write the merge must not lose); `doMerge` runs; then checks every handle and the tree,
 * and closes them. Returns nothing; fails on the first difference.
 */
async function overOpenFiles(ws: Workspace, doMerge: () => unknown): Promise<void> {
  const fs = createNodeFs(ws);
  const fds = Object.fromEntries(FATES.map((path) => [path, fs.openSync(path, 'r+')])) as Record<
    (typeof FATES)[number],
    number
  >;
  try {
    const early = patternBytes(2, 50);
    fs.writeSync(fds['/gone'], early, 0, 2, 0);
    await doMerge();
    // The tree is theirs.
    expect(ws.exists('/gone')).toBe(false);
    expect(ws.lstat('/repl').type).toBe('dir');
    expect(ws.exists('/d')).toBe(false);
    expect(ws.readFile('/h')).toEqual(patternBytes(17, 7));
    expect(ws.readFile('/h2')).toEqual(patternBytes(17, 5));
    // Deleted or replaced: the handle keeps the old node, nameless, with the write made before.
    expectNameless(fs, fds['/gone'], patched(patternBytes(40, 1), 0, early));
    expectNameless(fs, fds['/repl'], patternBytes(20, 3));
    expectNameless(fs, fds['/d/e/in'], patternBytes(33, 4));
    // Updated in place: the handle sees the update, as another writer's, and writes into it.
    expect(fs.fstatSync(fds['/upd']).nlink).toBe(1);
    expect(Buffer.from(readThrough(fs, fds['/upd']))).toEqual(Buffer.from(patternBytes(16 * 16 + 1, 6)));
    fs.writeSync(fds['/upd'], patternBytes(3, 60), 0, 3, 15);
    // A hard link's name replaced: the handle stays on the old node, which keeps its other name.
    expect(fs.fstatSync(fds['/h']).nlink).toBe(1);
    expect(Buffer.from(readThrough(fs, fds['/h']))).toEqual(Buffer.from(patternBytes(17, 5)));
  } finally {
    for (const fd of Object.values(fds)) fs.closeSync(fd);
  }
  expect(ws.readFile('/upd')).toEqual(patched(patternBytes(16 * 16 + 1, 6), 15, patternBytes(3, 60)));
  expectNoNameless(ws);
}

export function openFileCases(target: ConformanceTarget): void {
  describe('merges over open files', () => {
    defineCase(
      target,
      'a branch merge that deletes, replaces, updates or removes around a file open through a handle keeps it for the handle, as an unlink while open does',
      async ({ ws }) => {
        seed(ws);
        createBranch(ws.db, 'b');
        switchBranch(ws.db, 'b');
        theirChanges(ws);
        switchBranch(ws.db, 'main');
        await overOpenFiles(ws, () => mergeBranch(ws.db, 'b'));
      },
      { chunkSize: 16 },
    );

    defineCase(
      target,
      'a file open after its unlink is no fsck problem: fsck counts it as nameless, and it goes at its last close',
      ({ ws }) => {
        const fs = createNodeFs(ws);
        fs.writeFileSync('/tmp', patternBytes(40, 8));
        const fd = fs.openSync('/tmp', 'r+');
        fs.unlinkSync('/tmp');
        // Before: 'inode is not reachable from the root' (the mount's /fsck and `dofs fsck`
        // beside a --shared mount said so of every such file).
        expect(ws.fsck()).toMatchObject({ ok: true, problems: [], checked: { nameless: 1, chunks: 3 } });
        fs.closeSync(fd);
        expect(ws.fsck()).toMatchObject({ ok: true, checked: { nameless: 0, chunks: 0 } });
      },
      { chunkSize: 16 },
    );

    it('a fork merged back over files open through handles keeps each for its handles', () =>
      target.withStorages(2, async ([a, b]) => {
        const clock = testClock();
        const open = (backend: Parameters<typeof openWorkspace>[0]) =>
          openWorkspace(backend, { chunkSize: 16, now: clock.now });
        const theirs = <T>(fn: (ws: Workspace) => T) => b.use((backend) => fn(open(backend)));
        const ours = <T>(fn: (ws: Workspace) => T) => a.use((backend) => fn(open(backend)));
        await ours(seed);
        await fork(
          (fn) => ours((ws) => fn(ws.db)),
          (fn) => theirs((ws) => fn(ws.db)),
        );
        await theirs(theirChanges);
        // The handles and the merge on one workspace handle: open files are known per handle.
        await ours((ws) => overOpenFiles(ws, () => merge(local(ws.db), (fn) => theirs((other) => fn(other.db)))));
        await ours(expectFsckClean);
        await theirs(expectFsckClean);
      }));

    it('files a merge removed while open and a crash left open are deleted when the workspace is next opened through an adapter', async () => {
      const left = await target.withRestarts([
        (backend) => {
          const { db } = openWorkspace(backend, { chunkSize: 16 });
          const fs = createNodeFs(db);
          fs.writeFileSync('/gone', patternBytes(40, 1));
          createBranch(db, 'b');
          switchBranch(db, 'b');
          fs.unlinkSync('/gone');
          switchBranch(db, 'main');
          fs.openSync('/gone', 'r+');
          mergeBranch(db, 'b');
          // The process ends here with the file open and nameless: no close.
          return null;
        },
        (backend) => {
          const ws = openWorkspace(backend);
          // Nameless, as a file another process holds open after its removal: no problem, counted,
          // until an adapter (which reclaims those no handle of its process holds) opens.
          expect(ws.fsck()).toMatchObject({ ok: true, checked: { nameless: 1 } });
          createNodeFs(ws);
          expectFsckClean(ws);
          expectNoNameless(ws);
          return ws.find('/', '**');
        },
      ]);
      expect(left).toEqual([]);
    });
  });
}
