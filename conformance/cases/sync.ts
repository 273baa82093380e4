/**
 * Sync between two workspaces on the target's backend: an authority and a replica over the
 * in-process transport (which clones every message as a wire would).
 *
 * @module
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hashBytes } from '../../core/blobs.ts';
import type { Workspace } from '../../core/workspace.ts';
import { applyChanges } from '../../sync/apply.ts';
import { coalesceChanges, START_CURSOR } from '../../sync/changes.ts';
import { createSyncDriver, type SyncDriverOptions } from '../../sync/driver.ts';
import { createSyncEndpoint } from '../../sync/endpoint.ts';
import { connectInProcess, type InProcessOptions } from '../../sync/in-process.ts';
import { fetchObjects, pushObjects } from '../../sync/objects.ts';
import { expectCode, expectFsckClean, expectRefused, openTestWorkspace } from '../harness.ts';
import { snapshot } from '../snapshot.ts';
import type { ConformanceTarget } from '../target.ts';
import { patternBytes } from './files.ts';

/** The state sync promises to carry: paths, types, modes, bytes, link targets, mtimes. */
export function syncView(ws: Workspace): Record<string, string> {
  const view: Record<string, string> = {};
  for (const path of ws.find('/', '**')) {
    const info = ws.lstat(path);
    const what = info.type === 'file' ? hashBytes(ws.readFile(path)) : info.type === 'symlink' ? ws.readlink(path) : '';
    view[path] = `${info.type} ${(info.mode & 0o7777).toString(8)} ${info.mtimeMs} ${what}`;
  }
  return view;
}

interface Pair {
  authority: Workspace;
  replica: Workspace;
  wire: ReturnType<typeof connectInProcess>;
  driver: ReturnType<typeof createSyncDriver>;
}

/** Runs `body` with an authority and a replica, each on fresh storage of the target. */
function definePairCase(
  target: ConformanceTarget,
  name: string,
  body: (pair: Pair) => unknown,
  options: { chunkSize?: number; timeout?: number; wire?: InProcessOptions; driver?: SyncDriverOptions } = {},
): void {
  it(
    name,
    () =>
      target.withBackend((a) =>
        target.withBackend(async (b) => {
          const authority = openTestWorkspace(a, { chunkSize: options.chunkSize ?? 64 }).ws;
          const replica = openTestWorkspace(b, { chunkSize: options.chunkSize ?? 64 }).ws;
          const wire = connectInProcess(createSyncEndpoint(authority.db), options.wire);
          const driver = createSyncDriver(replica.db, wire, options.driver);
          await body({ authority, replica, wire, driver });
          expectFsckClean(authority);
          expectFsckClean(replica);
        }),
      ),
    options.timeout ?? 60_000,
  );
}

async function expectConverged(pair: Pair): Promise<void> {
  await pair.driver.sync();
  await pair.driver.sync();
  expect(syncView(pair.replica)).toEqual(syncView(pair.authority));
}

function seedTree(ws: Workspace): void {
  ws.mkdir('/proj/src/empty', { recursive: true });
  ws.writeFile('/proj/src/main.ts', 'console.log("hi")\n', { mode: 0o640 });
  ws.writeFile('/proj/big.bin', patternBytes(1000, 3));
  ws.writeFile('/proj/empty.txt', '');
  ws.symlink('src/main.ts', '/proj/link');
  ws.symlink('/nowhere', '/proj/dangling');
}

/** Cases for sync. */
export function syncCases(target: ConformanceTarget): void {
  describe('sync', () => {
    definePairCase(target, 'a first sync copies the whole tree: files, empty dirs, symlinks, modes, mtimes', async (pair) => {
      seedTree(pair.authority);
      const report = await pair.driver.sync();
      expect(report.pulled).toBe(8);
      expect(syncView(pair.replica)).toEqual(syncView(pair.authority));
    });
    definePairCase(target, 'edits on both sides converge', async (pair) => {
      seedTree(pair.authority);
      await pair.driver.sync();
      pair.authority.writeFile('/proj/server.txt', 'server');
      pair.replica.writeFile('/proj/replica.txt', 'replica');
      pair.replica.appendFile('/proj/src/main.ts', '// more\n');
      await expectConverged(pair);
      expect(pair.authority.readFile('/proj/src/main.ts', 'utf8')).toContain('// more');
    });
    definePairCase(target, 'mode-only and mtime-only changes propagate both ways', async (pair) => {
      seedTree(pair.authority);
      await pair.driver.sync();
      pair.replica.chmod('/proj/src/main.ts', 0o600);
      pair.authority.utimes('/proj/big.bin', 100, 200);
      await expectConverged(pair);
      expect(pair.authority.stat('/proj/src/main.ts').mode & 0o7777).toBe(0o600);
      expect(pair.replica.stat('/proj/big.bin').mtimeMs).toBe(200_000);
    });
    definePairCase(target, 'deletions and renames of whole trees propagate', async (pair) => {
      seedTree(pair.authority);
      await pair.driver.sync();
      pair.replica.rename('/proj/src', '/proj/lib');
      pair.replica.rm('/proj/big.bin');
      await expectConverged(pair);
      expect(pair.authority.exists('/proj/src')).toBe(false);
      expect(pair.authority.readFile('/proj/lib/main.ts', 'utf8')).toContain('hi');
      pair.authority.rm('/proj', { recursive: true });
      await expectConverged(pair);
      expect(pair.replica.find('/', '**')).toEqual([]);
    });
    definePairCase(target, 'concurrent edits of one file: the authority keeps the path, the replica version is kept beside it', async (pair) => {
      pair.authority.writeFile('/f', 'base');
      await pair.driver.sync();
      pair.authority.writeFile('/f', 'authority edit');
      pair.replica.writeFile('/f', 'replica edit');
      const report = await pair.driver.sync();
      expect(report.conflicts).toHaveLength(1);
      const copy = report.conflicts[0].copy as string;
      expect(copy).toMatch(/^\/f\.conflict-/);
      await expectConverged(pair);
      expect(pair.authority.readFile('/f', 'utf8')).toBe('authority edit');
      expect(pair.authority.readFile(copy, 'utf8')).toBe('replica edit');
    });
    definePairCase(target, 'an edit beats a concurrent deletion: nothing is lost', async (pair) => {
      pair.authority.writeFile('/f', 'base');
      pair.authority.writeFile('/g', 'base');
      await pair.driver.sync();
      pair.authority.rm('/f');
      pair.replica.writeFile('/f', 'kept edit');
      pair.authority.writeFile('/g', 'kept edit too');
      pair.replica.rm('/g');
      const report = await pair.driver.sync();
      expect(report.conflicts.map((c) => c.path).sort()).toEqual(['/f', '/g']);
      await expectConverged(pair);
      expect(pair.authority.readFile('/f', 'utf8')).toBe('kept edit');
      expect(pair.replica.readFile('/g', 'utf8')).toBe('kept edit too');
    });
    definePairCase(target, 'a concurrent type change keeps the replica subtree under a conflict name', async (pair) => {
      pair.authority.writeFile('/x', 'file');
      await pair.driver.sync();
      pair.authority.writeFile('/x', 'authority file');
      pair.replica.rm('/x');
      pair.replica.mkdir('/x');
      pair.replica.writeFile('/x/inside', 'replica dir content');
      const report = await pair.driver.sync();
      expect(report.conflicts.length).toBeGreaterThan(0);
      await expectConverged(pair);
      expect(pair.authority.readFile('/x', 'utf8')).toBe('authority file');
      const copies = pair.authority.find('/', 'x.conflict-*/inside');
      expect(copies).toHaveLength(1);
      expect(pair.authority.readFile(copies[0], 'utf8')).toBe('replica dir content');
    });
    definePairCase(target, 'hard links arrive as separate files with the same bytes (flattened)', async (pair) => {
      pair.authority.writeFile('/a', 'linked');
      pair.authority.link('/a', '/b');
      await pair.driver.sync();
      expect(pair.replica.readFile('/b', 'utf8')).toBe('linked');
      expect(pair.replica.stat('/a').nlink).toBe(1);
    });
    definePairCase(target, 'after a pull nothing echoes back, and an idle sync moves nothing', async (pair) => {
      seedTree(pair.authority);
      await pair.driver.sync();
      const calls = pair.wire.counters.calls;
      const report = await pair.driver.sync();
      expect(report).toMatchObject({ pulled: 0, pushed: 0, bytesIn: 0, bytesOut: 0 });
      expect(pair.wire.counters.calls - calls).toBeLessThanOrEqual(2);
    });
    definePairCase(
      target,
      'a one-chunk edit of a large file sends only that chunk',
      async (pair) => {
        const chunk = 64 * 1024;
        pair.authority.writeFile('/big', patternBytes(64 * chunk, 9));
        await pair.driver.sync();
        expect(pair.wire.counters.down).toBe(64 * chunk);
        const edited = pair.authority.readFile('/big');
        edited[10 * chunk + 5] ^= 0xff;
        pair.authority.writeFile('/big', edited);
        const before = pair.wire.counters.down;
        await pair.driver.sync();
        expect(pair.wire.counters.down - before).toBe(chunk);
        expect(hashBytes(pair.replica.readFile('/big'))).toBe(hashBytes(edited));
      },
      { chunkSize: 64 * 1024 },
    );
    definePairCase(target, 'ignored paths are not pushed but still advance the cursor', async (pair) => {
      pair.replica.mkdir('/p/node_modules/x', { recursive: true });
      pair.replica.writeFile('/p/node_modules/x/i.js', 'x');
      pair.replica.writeFile('/p/keep.js', 'k');
      await pair.driver.sync();
      expect(pair.authority.find('/', '**')).toEqual(['/p', '/p/keep.js']);
    }, { driver: { ignore: ['node_modules'] } });
    definePairCase(target, 'batches are bounded and progress is reported', async (pair) => {
      for (let i = 0; i < 30; i++) pair.authority.writeFile(`/f${i}`, `${i}`);
      const seen: number[] = [];
      const driver = createSyncDriver(pair.replica.db, pair.wire, { batchEntries: 7, onProgress: (p) => seen.push(p.entries) });
      await driver.sync();
      expect(seen.filter((n) => n > 0).length).toBeGreaterThanOrEqual(5);
      expect(pair.replica.find('/', '*')).toHaveLength(30);
    });
    definePairCase(target, 'a connection cut at any call loses nothing and duplicates nothing', async (pair) => {
      seedTree(pair.authority);
      for (let i = 0; i < 12; i++) pair.replica.writeFile(`/r${i}`, patternBytes(150, i + 1));
      let calls = 0;
      let cutAt = 3;
      const wire = connectInProcess(createSyncEndpoint(pair.authority.db), {
        beforeCall: () => {
          if (++calls === cutAt) throw new Error('connection reset');
        },
        afterCall: () => {
          if (calls === cutAt + 1) throw new Error('reply lost');
        },
      });
      const driver = createSyncDriver(pair.replica.db, wire, { batchEntries: 4 });
      for (let attempt = 0; attempt < 40; attempt++) {
        try {
          await driver.sync();
          break;
        } catch {
          cutAt = calls + 3;
        }
      }
      await createSyncDriver(pair.replica.db, connectInProcess(createSyncEndpoint(pair.authority.db))).sync();
      expect(syncView(pair.replica)).toEqual(syncView(pair.authority));
      expect(pair.authority.find('/', 'r*')).toHaveLength(12);
      expect(pair.authority.find('/', '*.conflict-*')).toEqual([]);
    });
    definePairCase(target, 'a replica with another chunk size is refused with a clear error', async (pair) => {
      const wire = connectInProcess(createSyncEndpoint(pair.authority.db));
      const error = await expectCode(() => wire.hello({ replica: 'abc', chunkSize: 128 }), 'EINVAL');
      expect(error.message).toContain('chunk size 64');
    });
  });

  describe('sync input is verified', () => {
    definePairCase(target, 'an object whose bytes do not match its hash is refused and nothing is stored', async (pair) => {
      const bytes = new TextEncoder().encode('honest');
      await expectRefused(pair.authority, () => pushObjects(pair.authority.db, [{ hash: hashBytes(bytes), bytes: new TextEncoder().encode('forged') }]), 'EINVAL');
      await expectRefused(pair.authority, () => pair.wire.pushObjects([{ hash: 'zz', bytes }]), 'EINVAL');
    });
    definePairCase(target, 'an entry whose chunk sizes disagree with its size is refused', async (pair) => {
      const bytes = patternBytes(64, 1);
      pushObjects(pair.authority.db, [{ hash: hashBytes(bytes), bytes }]);
      const entry = { type: 'file' as const, rev: 1, path: '/f', mode: 0o644, mtime: 0, size: 100, chunks: [{ hash: hashBytes(bytes), size: 64 }] };
      await expectRefused(pair.authority, () => applyChanges(pair.authority.db, [entry]), 'EINVAL');
      await expectRefused(pair.authority, () => applyChanges(pair.authority.db, [{ ...entry, size: 64, path: '/a/../f' }]), 'EINVAL');
    });
    definePairCase(target, 'an entry naming an object that was never sent is EUNKNOWN_HASH', async (pair) => {
      const entry = { type: 'file' as const, rev: 1, path: '/f', mode: 0o644, mtime: 0, size: 3, chunks: [{ hash: hashBytes(new Uint8Array(3)), size: 3 }] };
      await expectRefused(pair.authority, () => applyChanges(pair.authority.db, [entry]), 'EUNKNOWN_HASH');
    });
    definePairCase(target, 'a cursor from the future is refused', async (pair) => {
      await expectRefused(pair.authority, () => pair.wire.fetchChanges('replica-1', { rev: 10_000, path: null }, 10), 'EINVAL');
      await expectRefused(pair.authority, () => pair.wire.fetchChanges('replica-1', { rev: -1, path: null }, 10), 'EINVAL');
    });
    definePairCase(target, 'a replayed batch changes nothing the second time', async (pair) => {
      seedTree(pair.replica);
      const batch = coalesceChanges(pair.replica.db, START_CURSOR);
      const hashes = batch.entries.flatMap((e) => (e.type === 'file' ? e.chunks.map((c) => c.hash) : []));
      await pair.wire.pushObjects([...fetchObjects(pair.replica.db, hashes)]);
      const request = { replica: 'replica-1', entries: batch.entries, base: 0, cursor: batch.cursor };
      const first = await pair.wire.pushChanges(request);
      expect(first.result.applied).toBe(8);
      const before = snapshot(pair.authority);
      const second = await pair.wire.pushChanges(request);
      expect(second.result).toEqual({ applied: 0, skipped: 8, conflicts: [] });
      expect(snapshot(pair.authority)).toEqual(before);
    });
    definePairCase(target, 'a malformed push is refused before anything is read', async (pair) => {
      await expectRefused(pair.authority, () => pair.wire.pushChanges({ replica: '../../etc', entries: [], base: 0, cursor: START_CURSOR }), 'EINVAL');
      await expectRefused(pair.authority, () => pair.wire.pushChanges({ replica: 'ok', entries: [], base: 99_999, cursor: START_CURSOR }), 'EINVAL');
    });
  });

  describe('sync convergence', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('write' as const), name: fc.constantFrom('a', 'b', 'c', 'd/e', 'd/f'), size: fc.integer({ min: 0, max: 200 }), seed: fc.integer({ min: 1, max: 1000 }) }),
      fc.record({ kind: fc.constant('rm' as const), name: fc.constantFrom('a', 'b', 'c', 'd', 'd/e') }),
      fc.record({ kind: fc.constant('chmod' as const), name: fc.constantFrom('a', 'b', 'd/e'), mode: fc.constantFrom(0o600, 0o644, 0o755) }),
      fc.record({ kind: fc.constant('mv' as const), from: fc.constantFrom('a', 'b', 'd'), to: fc.constantFrom('c', 'g', 'd2') }),
      fc.record({ kind: fc.constant('sync' as const) }),
    );
    const side = fc.constantFrom('authority' as const, 'replica' as const);
    it('random edits on both sides, interleaved with syncs, converge with every conflict reported and kept', () =>
      fc.assert(
        fc.asyncProperty(fc.array(fc.tuple(side, op), { minLength: 1, maxLength: 25 }), (steps) =>
          target.withBackend((a) =>
            target.withBackend(async (b) => {
              const authority = openTestWorkspace(a, { chunkSize: 64 }).ws;
              const replica = openTestWorkspace(b, { chunkSize: 64 }).ws;
              const driver = createSyncDriver(replica.db, connectInProcess(createSyncEndpoint(authority.db)));
              const sync = async (): Promise<void> => {
                // Every reported conflict's losing version must exist right after the sync that reported it.
                for (const conflict of (await driver.sync()).conflicts) {
                  if (conflict.copy) expect(authority.exists(conflict.copy) || replica.exists(conflict.copy)).toBe(true);
                }
              };
              for (const [who, step] of steps) {
                const ws = who === 'authority' ? authority : replica;
                try {
                  if (step.kind === 'sync') await sync();
                  else if (step.kind === 'write') {
                    ws.mkdir('/d', { recursive: true });
                    ws.writeFile(`/${step.name}`, patternBytes(step.size, step.seed));
                  } else if (step.kind === 'rm') ws.rm(`/${step.name}`, { recursive: true, force: true });
                  else if (step.kind === 'chmod') ws.chmod(`/${step.name}`, step.mode);
                  else ws.rename(`/${step.from}`, `/${step.to}`);
                } catch (error) {
                  // Operations that POSIX refuses (ENOENT, EISDIR...) are part of the random mix; anything else fails.
                  if (!(error as { code?: string }).code || step.kind === 'sync') throw error;
                }
              }
              await sync();
              await sync();
              expect(syncView(replica)).toEqual(syncView(authority));
              expectFsckClean(authority);
              expectFsckClean(replica);
            }),
          ),
        ),
        { numRuns: 40 },
      ), 120_000);
  });
}
