/**
 * End to end: the example Worker on workerd (wrangler dev) holds the authoritative workspace in a
 * Durable Object; a Node replica on node:sqlite syncs with it over a real WebSocket (Cap'n Web RPC).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createNodeSqliteBackend } from '../backends/node-sqlite/index.ts';
import { patternBytes } from '../conformance/cases/files.ts';
import { syncView } from '../conformance/cases/sync.ts';
import { hashBytes } from '../core/blobs.ts';
import { DEFAULT_CHUNK_SIZE } from '../core/schema.ts';
import { openWorkspace, type Workspace } from '../core/workspace.ts';
import { createSyncDriver } from '../sync/driver.ts';
import { durableObjectCacheBytes, ENGINE_WORKING_BYTES, ISOLATE_MEMORY_BYTES } from '../sync/memory.ts';
import { connectSyncWebSocket, type SyncConnection } from '../sync/websocket.ts';
import { connectIsolateHeap } from './support/isolate-heap.ts';
import { authorizedFetch, type DevServer, ROOT, STARTUP_MS, startDev } from './support/wrangler-dev.ts';

const TOKEN = 'e2e-sync-token';
// The scale tier: a first sync, a first pull, a 10,000-entry rename and a manifest resync. CI runs 10,000 files; `npm run test:scale` 100,000.
const SCALE_FILES = Number(process.env.DOFS_SCALE_FILES ?? 10_000);
const MiB = 1024 * 1024;
const run = promisify(execFile);
const authed = authorizedFetch(TOKEN);

// Each case crosses processes (wrangler, workerd, the CLI); a loaded machine needs more than 5 s.
vi.setConfig({ testTimeout: 60_000 });

describe('sync between a Durable Object and a Node replica over a WebSocket', () => {
  let state: string;
  let server: DevServer | undefined;
  const replicas: Workspace[] = [];
  const connections: SyncConnection[] = [];

  const endpoint = (name: string) => `${server?.url}/ws/${name}/sync`;
  const fs = (name: string, path: string) => `${server?.url}/ws/${name}/fs${path}`;
  const replica = () => {
    const ws = openWorkspace(createNodeSqliteBackend({ path: join(state, `replica-${replicas.length}.db`) }));
    replicas.push(ws);
    return ws;
  };
  const connect = async (name: string) => {
    const connection = await connectSyncWebSocket(endpoint(name), TOKEN);
    connections.push(connection);
    return connection;
  };
  const put = async (name: string, path: string, body: Uint8Array | string) => {
    const response = await authed(fs(name, path), { method: 'PUT', body: body as BodyInit });
    expect(response.status).toBe(200);
    await response.arrayBuffer();
  };
  const get = async (name: string, path: string) => authed(fs(name, path));

  beforeAll(async () => {
    state = mkdtempSync(join(tmpdir(), 'dofs-sync-e2e-'));
    server = await startDev(join(state, 'wrangler'), { API_TOKEN: TOKEN });
  }, STARTUP_MS + 10_000);

  afterAll(async () => {
    for (const connection of connections) connection.close();
    for (const ws of replicas) ws.close();
    await server?.stop();
    rmSync(state, { recursive: true, force: true });
  }, 20_000);

  it('refuses a missing or wrong token before any state is read', async () => {
    const anonymous = await fetch(endpoint('guarded'));
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({ code: 'EACCES' });
    await expect(connectSyncWebSocket(endpoint('guarded'), 'wrong-token')).rejects.toMatchObject({ code: 'EACCES' });
  });

  it('refuses an oversized message or batch, and stores nothing from it', async () => {
    const usage = async () => (await (await authed(`${server?.url}/ws/oversized/usage`)).json()).blobs;
    const before = await usage();
    const object = (seed: number) => {
      const bytes = patternBytes(MiB, seed);
      return { hash: hashBytes(bytes), bytes };
    };
    // 40 MiB in one message: over the 32 MiB Cap'n Web limit, the session is refused.
    const big = await connect('oversized');
    await expect(big.pushObjects(Array.from({ length: 40 }, (_, i) => object(i + 1)))).rejects.toBeDefined();
    // 6 MiB in one call: under the message limit, over the 4 MiB batch bound, refused by the endpoint.
    const batch = await connect('oversized');
    await expect(batch.pushObjects(Array.from({ length: 6 }, (_, i) => object(i + 100)))).rejects.toMatchObject({
      code: 'EINVAL',
    });
    expect(await usage()).toBe(before);
  });

  it('edits on both sides converge: creates, edits, deletes, renames, modes', async () => {
    await put('converge', '/docs/readme.md', '# from the Durable Object\n');
    await put('converge', '/docs/gone.txt', 'to be deleted');
    const local = replica();
    local.mkdir('/src');
    local.writeFile('/src/main.ts', 'console.log("from the replica")\n', { mode: 0o600 });
    const driver = createSyncDriver(local.db, await connect('converge'));

    await driver.sync();
    expect(local.readFile('/docs/readme.md', 'utf8')).toBe('# from the Durable Object\n');
    expect(await (await get('converge', '/src/main.ts')).text()).toBe('console.log("from the replica")\n');

    expect((await authed(fs('converge', '/docs/gone.txt'), { method: 'DELETE' })).status).toBe(204);
    local.rename('/src', '/lib');
    await driver.sync();
    expect(local.exists('/docs/gone.txt')).toBe(false);
    expect((await get('converge', '/src/main.ts')).status).toBe(404);
    const stat = await (await authed(`${server?.url}/ws/converge/stat/lib/main.ts`)).json();
    expect(stat.mode & 0o7777).toBe(0o600);
    expect(local.fsck().ok).toBe(true);
    const fsck = await (await authed(`${server?.url}/ws/converge/fsck`)).json();
    expect(fsck.ok).toBe(true);
  });

  it('a concurrent edit keeps the Durable Object version and the replica version beside it', async () => {
    await put('conflict', '/f.txt', 'base');
    const local = replica();
    const driver = createSyncDriver(local.db, await connect('conflict'));
    await driver.sync();
    await put('conflict', '/f.txt', 'edited on the Durable Object');
    local.writeFile('/f.txt', 'edited on the replica');
    const report = await driver.sync();
    expect(report.conflicts).toHaveLength(1);
    const copy = report.conflicts[0].copy as string;
    expect(local.readFile('/f.txt', 'utf8')).toBe('edited on the Durable Object');
    expect(await (await get('conflict', copy)).text()).toBe('edited on the replica');
  });

  it('a one-chunk edit of a 64 MiB file sends one chunk each way', async () => {
    const local = replica();
    const connection = await connect('big');
    const driver = createSyncDriver(local.db, connection);
    const data = patternBytes(64 * MiB, 11);
    local.writeFile('/big.bin', data);
    await driver.sync();
    expect(connection.counters.objectsUp).toBe(64 * MiB);

    // The replica edits one byte: one chunk goes up.
    data[5 * MiB + 3] ^= 0xff;
    local.writeFile('/big.bin', data);
    const up = { objects: connection.counters.objectsUp, wire: connection.counters.sent };
    await driver.sync();
    expect(connection.counters.objectsUp - up.objects).toBe(DEFAULT_CHUNK_SIZE);
    // A chunk delta and a binary frame: the chunk's bytes and a few KB besides (was 248,045).
    expect(connection.counters.sent - up.wire).toBeLessThan(80_000);

    // The Durable Object side gets a new version over HTTP: one changed chunk comes down.
    data[40 * MiB] ^= 0xff;
    await put('big', '/big.bin', data);
    const down = { objects: connection.counters.objectsDown, wire: connection.counters.received };
    await driver.sync();
    expect(connection.counters.objectsDown - down.objects).toBe(DEFAULT_CHUNK_SIZE);
    // Pulled as digests, then the one group this side lacks: no whole list comes down either.
    expect(connection.counters.received - down.wire).toBeLessThan(80_000);
    expect(hashBytes(local.readFile('/big.bin'))).toBe(hashBytes(data));
    console.log(
      `64 MiB file, one-chunk edit: up ${connection.counters.sent - up.wire} wire bytes for ${DEFAULT_CHUNK_SIZE} object bytes; ` +
        `down ${connection.counters.received - down.wire} wire bytes for ${DEFAULT_CHUNK_SIZE} object bytes`,
    );
  }, 120_000);

  it('a connection dropped mid-sync loses nothing: the next sync converges', async () => {
    const local = replica();
    local.mkdir('/batch');
    for (let i = 0; i < 40; i++) local.writeFile(`/batch/file-${i}.txt`, `replica file ${i}`);
    for (let i = 0; i < 10; i++) await put('dropped', `/remote/file-${i}.txt`, `remote file ${i}`);
    const flaky = await connect('dropped');
    let calls = 0;
    const cut = new Proxy(flaky, {
      get(target, key, receiver) {
        const value = Reflect.get(target, key, receiver);
        if (typeof value !== 'function' || key === 'close') return value;
        return (...args: unknown[]) => {
          if (++calls === 6) target.close();
          return value.apply(target, args);
        };
      },
    });
    await expect(createSyncDriver(local.db, cut, { batchEntries: 8 }).sync()).rejects.toBeDefined();
    await createSyncDriver(local.db, await connect('dropped')).sync();
    expect(local.find('/remote', '*')).toHaveLength(10);
    for (let i = 0; i < 40; i += 13)
      expect(await (await get('dropped', `/batch/file-${i}.txt`)).text()).toBe(`replica file ${i}`);
    const listing = await (await get('dropped', '/batch')).json();
    expect(listing.entries).toHaveLength(40);
  });

  it('workerd restarted mid-sync: the next sync, on the restarted runtime, converges with nothing lost', async () => {
    // Its own runtime, so stopping it mid-sync leaves the other cases' server alone.
    const persist = join(state, 'restarting');
    let own = await startDev(persist, { API_TOKEN: TOKEN });
    const url = () => `${own.url}/ws/restarted/sync`;
    try {
      const local = replica();
      local.db.transaction(() => {
        for (let d = 0; d < 10; d++) local.mkdir(`/r/d${d}`, { recursive: true });
        for (let i = 0; i < 600; i++) local.writeFile(`/r/d${i % 10}/f${i}`, `replica file ${i}`);
      });
      const first = await connectSyncWebSocket(url(), TOKEN);
      connections.push(first);
      let calls = 0;
      let stopped: Promise<void> | undefined;
      // The runtime goes down (SIGTERM to wrangler and workerd) while the push is under way.
      const cut = new Proxy(first, {
        get(target, key, receiver) {
          const value = Reflect.get(target, key, receiver);
          if (typeof value !== 'function' || key === 'close') return value;
          return (...args: unknown[]) => {
            if (++calls === 12) stopped = own.stop();
            return value.apply(target, args);
          };
        },
      });
      // The socket closed under the call: ECONNRESET naming the URL, not Cap'n Web's bare failure.
      await expect(createSyncDriver(local.db, cut, { batchEntries: 16 }).sync()).rejects.toMatchObject({
        code: 'ECONNRESET',
        syscall: 'sync',
        path: url(),
      });
      expect(stopped).toBeDefined();
      await stopped;
      own = await startDev(persist, { API_TOKEN: TOKEN });
      const again = await connectSyncWebSocket(url(), TOKEN);
      connections.push(again);
      const report = await createSyncDriver(local.db, again).sync();
      expect(report.conflicts).toEqual([]);
      // The authority as a new replica sees it: exactly the local tree, every file once.
      const fresh = replica();
      const pull = await connectSyncWebSocket(url(), TOKEN);
      connections.push(pull);
      await createSyncDriver(fresh.db, pull).sync();
      expect(syncView(fresh)).toEqual(syncView(local));
      expect(fresh.find('/r', '**').filter((path) => path.includes('.conflict-'))).toEqual([]);
      expect((await (await authed(`${own.url}/ws/restarted/fsck`)).json()).ok).toBe(true);
    } finally {
      await own.stop();
    }
  }, 180_000);

  it('a sync of more large files than the cache holds, then a refused 30 MiB message, keeps the isolate under its memory limit', async () => {
    // Its own runtime: every Durable Object in an isolate has a cache, and the other cases' objects
    // would count here too.
    const own = await startDev(join(state, 'memory'), { API_TOKEN: TOKEN });
    const heap = await connectIsolateHeap(own.inspectorUrl);
    try {
      const url = `${own.url}/ws/memory/sync`;
      const dial = async () => {
        const connection = await connectSyncWebSocket(url, TOKEN);
        connections.push(connection);
        return connection;
      };
      // 64 distinct 1 MiB files: more than three times the cache, all read through it on the pull.
      const files = 64;
      const local = replica();
      local.mkdir('/large');
      for (let i = 0; i < files; i++) local.writeFile(`/large/f${i}.bin`, patternBytes(MiB, 1000 + i));
      const [, pushPeak] = await heap.peakDuring(async () => createSyncDriver(local.db, await dial()).sync());
      const fresh = replica();
      const pull = await dial();
      const [pulled, pullPeak] = await heap.peakDuring(async () => createSyncDriver(fresh.db, pull).sync());
      expect(pulled.bytesIn).toBe(files * MiB);
      // With the cache full, the largest message the transport accepts arrives: decoded, then refused.
      const [, refusedPeak] = await heap.peakDuring(async () => {
        const objects = Array.from({ length: 30 }, (_, i) => {
          const bytes = patternBytes(MiB, 5000 + i);
          return { hash: hashBytes(bytes), bytes };
        });
        await expect(pull.pushObjects(objects)).rejects.toMatchObject({ code: 'EINVAL' });
        // The frame and its decoded copy are garbage now but not yet collected: read them.
        return heap.used();
      });
      const retained = await heap.retained();
      const mib = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;
      console.log(
        `isolate memory (JS heap + array buffers), cache ${mib(durableObjectCacheBytes())}: push of ${files} MiB peak ${mib(pushPeak)}, ` +
          `pull peak ${mib(pullPeak)}, 30 MiB refused message peak ${mib(refusedPeak)}, retained after ${mib(retained)}; limit ${mib(ISOLATE_MEMORY_BYTES)}`,
      );
      for (const peak of [pushPeak, pullPeak, refusedPeak]) expect(peak).toBeLessThan(ISOLATE_MEMORY_BYTES);
      // What stays is the cache (bounded) and the engine: the pulled files are not all kept.
      expect(retained).toBeLessThan(durableObjectCacheBytes() + ENGINE_WORKING_BYTES);
      expect(syncView(fresh)).toEqual(syncView(local));
    } finally {
      heap.close();
      await own.stop();
    }
  }, 180_000);

  it('`dofs sync` does one round from the command line and reports it', async () => {
    await put('cli', '/hello.txt', 'hello from the Durable Object');
    const db = join(state, 'cli.db');
    const bin = join(ROOT, 'adapters', 'cli', 'bin.ts');
    const { stdout } = await run(process.execPath, [bin, '--db', db, 'sync', endpoint('cli'), '--token', TOKEN]);
    expect(stdout).toMatch(/^synced with .*: pulled 1, pushed 0 entries/);
    const { stdout: cat } = await run(process.execPath, [bin, '--db', db, 'cat', '/hello.txt']);
    expect(cat).toBe('hello from the Durable Object');
    const refused = await run(process.execPath, [bin, '--db', db, 'sync', endpoint('cli'), '--token', 'nope']).catch(
      (error) => error,
    );
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('EACCES');
  });

  it(
    `scale tier, ${SCALE_FILES.toLocaleString('en')} files: a first sync into the Durable Object, a new replica's first pull, a 10,000-entry directory renamed under sync, a replica restored from a backup resyncs from the manifest`,
    async () => {
      // Groups of 10,000 files, 100 per directory: /big/g<group>/d<dir>/f<file>.txt.
      const group = (i: number) => `/big/g${Math.floor(i / 10_000)}`;
      const first = replica();
      first.db.transaction(() => {
        for (let i = 0; i < SCALE_FILES; i++) {
          const dir = `${group(i)}/d${Math.floor(i / 100)}`;
          if (i % 100 === 0) first.mkdir(dir, { recursive: true });
          first.writeFile(`${dir}/f${i}.txt`, `file ${i}\n`);
        }
      });
      const name = `scale-${SCALE_FILES}`;
      const driver = createSyncDriver(first.db, await connect(name));
      // Two figures per phase: the isolate's memory (JS heap and array buffers, the Worker's and
      // every Durable Object's, via the inspector) and workerd's resident memory (the whole process).
      const mib = (bytes = 0) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
      const heap = await connectIsolateHeap(server?.inspectorUrl ?? '');
      const idle = server?.workerdMemory();
      const idleHeap = await heap.retained();
      const phases: string[] = [];
      const phase = async <T>(label: string, work: () => Promise<T>): Promise<T> => {
        server?.resetWorkerdPeak();
        const started = performance.now();
        const [result, heapPeak] = await heap.peakDuring(work);
        const ms = performance.now() - started;
        const processPeak = server?.workerdMemory()?.peak;
        const after = await heap.retained();
        phases.push(
          `${label} ${(ms / 1000).toFixed(1)} s: isolate peak ${mib(heapPeak)}, ${mib(after)} retained; process peak ${mib(processPeak)}`,
        );
        return result;
      };
      const entries = SCALE_FILES + Math.ceil(SCALE_FILES / 100) + Math.ceil(SCALE_FILES / 10_000) + 1;

      const pushed = await phase('first sync (push)', () => driver.sync());
      expect([pushed.pushed, pushed.refused]).toEqual([entries, []]);

      // A new replica's first pull: the change stream from the start.
      const second = replica();
      const pulled = await phase('first pull', async () => createSyncDriver(second.db, await connect(name)).sync());
      expect(pulled.pulled).toBe(entries);
      // Its backup, taken now: restored after the log has moved past it, it must resync.
      const backup = join(state, `scale-backup-${SCALE_FILES}.db`);
      second.db.run('VACUUM INTO ?', [backup]);

      // One 10,000-entry directory renamed (all of it at 10,000 files), pushed, and pulled by the other.
      const moved = Math.min(SCALE_FILES, 10_000);
      first.rename('/big/g0', '/big/moved');
      await phase(`rename of ${moved.toLocaleString('en')} files pushed`, () => driver.sync());
      await phase('rename pulled', async () => createSyncDriver(second.db, await connect(name)).sync());
      expect(second.exists('/big/g0')).toBe(false);
      expect(second.find('/big/moved', '**').length).toBe(moved + Math.ceil(moved / 100));
      // Both replicas acknowledge the rename; maintenance (the alarm's step, run now) compacts the log past the backup.
      await driver.sync();
      for (let step = 0; ; step++) {
        const response = await authed(`${server?.url}/ws/${name}/maintenance`, { method: 'POST' });
        expect(response.status).toBe(200);
        if (!(await response.json()).more || step > 100) break;
      }

      // The backup put back in place of the second replica: its cursor is behind the compacted log.
      second.close();
      replicas.splice(replicas.indexOf(second), 1);
      const restored = openWorkspace(createNodeSqliteBackend({ path: backup }));
      replicas.push(restored);
      const connection = await connect(name);
      let manifestPages = 0;
      const counted = new Proxy(connection, {
        get(target, key, receiver) {
          if (key === 'fetchManifest') manifestPages++;
          return Reflect.get(target, key, receiver);
        },
      });
      await phase('resync from the manifest', () => createSyncDriver(restored.db, counted).sync());
      expect(manifestPages).toBeGreaterThanOrEqual(Math.ceil(entries / 256));
      expect(restored.exists('/big/g0')).toBe(false);

      expect(syncView(restored)).toEqual(syncView(first));
      expect(restored.fsck().ok).toBe(true);
      expect((await (await authed(`${server?.url}/ws/${name}/fsck`)).json()).ok).toBe(true);
      console.log(
        `scale, ${SCALE_FILES} files over the WebSocket into workerd: idle: isolate ${mib(idleHeap)}, ` +
          `workerd resident ${mib(idle?.rss)}; ${phases.join('; ')}`,
      );
      heap.close();
      // 100,000 files take minutes on a shared two-core machine.
    },
    Math.max(600_000, SCALE_FILES * 15),
  );

  it('random trees on both sides over a WebSocket cut at random calls converge with nothing lost', async () => {
    let run = 0;
    const tree = fc.constantFrom('t1', 't2');
    const op = fc.oneof(
      fc.record({ kind: fc.constant('tree' as const), tree, size: fc.constantFrom(0, 1, 255, 256, 257) }),
      fc.record({ kind: fc.constant('mv' as const), tree, to: tree }),
      fc.record({ kind: fc.constant('rm' as const), tree }),
      fc.record({ kind: fc.constant('put' as const), tree, file: fc.integer({ min: 0, max: 300 }) }),
      fc.record({ kind: fc.constant('delete' as const), tree, file: fc.integer({ min: 0, max: 300 }) }),
      fc.record({ kind: fc.constant('sync' as const), cutAt: fc.integer({ min: 0, max: 12 }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 8 }), async (steps) => {
        const name = `random-${run++}`;
        const local = replica();
        let serial = 0;
        // Syncs until one round completes; a cut closes the socket at the given call of a round.
        const syncOnce = async (cutAt: number): Promise<void> => {
          for (let attempt = 0; ; attempt++) {
            const connection = await connect(name);
            let calls = 0;
            const cut = new Proxy(connection, {
              get(target, key, receiver) {
                const value = Reflect.get(target, key, receiver);
                if (typeof value !== 'function' || key === 'close') return value;
                return (...args: unknown[]) => {
                  if (attempt === 0 && cutAt > 0 && ++calls === cutAt) target.close();
                  return value.apply(target, args);
                };
              },
            });
            try {
              await createSyncDriver(local.db, cut, { batchEntries: 64 }).sync();
              return;
            } catch (error) {
              if (attempt > 3) throw error;
            }
          }
        };
        for (const step of steps) {
          if (step.kind === 'sync') await syncOnce(step.cutAt);
          else if (step.kind === 'put') await put(name, `/${step.tree}/f${step.file}`, `remote ${serial++}`);
          else if (step.kind === 'delete') await authed(fs(name, `/${step.tree}/f${step.file}`), { method: 'DELETE' });
          else {
            try {
              if (step.kind === 'tree') {
                local.mkdir(`/${step.tree}`, { recursive: true });
                local.db.transaction(() => {
                  for (let i = 0; i < step.size; i++) local.writeFile(`/${step.tree}/f${i}`, `local ${serial++}`);
                });
              } else if (step.kind === 'rm') local.rm(`/${step.tree}`, { recursive: true, force: true });
              else if (step.tree !== step.to) local.rename(`/${step.tree}`, `/${step.to}`);
            } catch (error) {
              if (!(error as { code?: string }).code) throw error;
            }
          }
        }
        await syncOnce(0);
        await syncOnce(0);
        // The authority's state, as a new replica pulls it.
        const fresh = replica();
        await createSyncDriver(fresh.db, await connect(name)).sync();
        expect(syncView(fresh)).toEqual(syncView(local));
        expect(local.fsck().ok).toBe(true);
        expect((await (await authed(`${server?.url}/ws/${name}/fsck`)).json()).ok).toBe(true);
      }),
      { numRuns: Number(process.env.DOFS_E2E_RUNS ?? 6) },
    );
  }, 600_000);
});
