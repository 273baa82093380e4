// Several processes changing the mount at once, each in its own subtree with its own model of what
// that subtree holds (test/support/subtree-child.ts): writes across chunk boundaries, appends,
// truncates, renames of files and whole directories, removals. Every subtree must equal its model
// when they are done, through another mount of the same database too, and after a remount.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ensureUnmounted, expectFsckClean, makeTemp, ROOT, removeTemp, startDaemon } from './helpers.ts';

vi.setConfig({ testTimeout: 180_000, hookTimeout: 60_000 });
const exec = promisify(execFile);
const CHILD = join(ROOT, 'test/support/subtree-child.ts');

/** Runs one child on `root` (ops 0: only checks against the saved model); resolves to its report. */
async function child(root: string, seed: number, ops: number, model: string) {
  const { stdout } = await exec(process.execPath, [CHILD, root, String(seed), String(ops), model], {
    maxBuffer: 16 * 1024 * 1024,
    timeout: 150_000,
  });
  return JSON.parse(stdout.trim().split('\n').at(-1) as string) as { entries: number; differ: string[] };
}

describe('parallel processes on the mount', () => {
  let dir: string;
  const mountpoints: string[] = [];

  beforeAll(async () => {
    dir = await makeTemp('parallel');
  });

  afterAll(async () => {
    for (const mnt of mountpoints) await ensureUnmounted(mnt);
    await removeTemp(dir);
  });

  it('four processes at once on one mount: each subtree is what its process made, after a remount too', async () => {
    const db = join(dir, 'one.db');
    const mnt = join(dir, 'one');
    mountpoints.push(mnt);
    const models = [0, 1, 2, 3].map((i) => join(dir, `one-${i}.json`));
    let daemon = await startDaemon(db, mnt);
    try {
      const reports = await Promise.all(models.map((model, i) => child(join(mnt, `p${i}`), 1000 + i, 1500, model)));
      for (const report of reports) {
        expect(report.differ).toEqual([]);
        expect(report.entries).toBeGreaterThan(100);
      }
      await expectFsckClean(daemon);
      expect(await daemon.stop()).toBe(0);
      daemon = await startDaemon(db, mnt);
      const again = await Promise.all(models.map((model, i) => child(join(mnt, `p${i}`), 0, 0, model)));
      expect(again.map((report) => report.differ)).toEqual([[], [], [], []]);
    } finally {
      expect(await daemon.stop()).toBe(0);
    }
  });

  it('two --shared mounts of one database, two processes on each: every subtree reads the same through both', async () => {
    const db = join(dir, 'two.db');
    const mounts = [join(dir, 'two-a'), join(dir, 'two-b')];
    mountpoints.push(...mounts);
    const daemons = [];
    for (const mnt of mounts) daemons.push(await startDaemon(db, mnt, { args: ['--shared'] }));
    const models = [0, 1, 2, 3].map((i) => join(dir, `two-${i}.json`));
    try {
      const reports = await Promise.all(
        models.map((model, i) => child(join(mounts[i % 2], `p${i}`), 2000 + i, 1000, model)),
      );
      for (const report of reports) expect(report.differ).toEqual([]);
      // Through the other mount: once its kernel caches (1 s with --shared) have let go.
      await vi.waitFor(
        async () => {
          const other = await Promise.all(
            models.map((model, i) => child(join(mounts[(i + 1) % 2], `p${i}`), 0, 0, model)),
          );
          expect(other.map((report) => report.differ)).toEqual([[], [], [], []]);
        },
        { timeout: 20_000, interval: 1_000 },
      );
      for (const daemon of daemons) await expectFsckClean(daemon);
    } finally {
      for (const daemon of daemons) expect(await daemon.stop()).toBe(0);
    }
  });
});
