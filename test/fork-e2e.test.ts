/**
 * End to end: forks and merges between the example Worker's Durable Object (workerd, wrangler
 * dev) and a Node workspace on node:sqlite, over the real sync WebSocket: the Durable Object is the
 * side forked from and merged from, reached through its sync endpoint's fork calls.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createNodeSqliteBackend } from '../backends/node-sqlite/index.ts';
import { patternBytes } from '../conformance/cases/files.ts';
import { syncView } from '../conformance/cases/sync.ts';
import { DEFAULT_CHUNK_SIZE } from '../core/schema.ts';
import { openWorkspace, type Workspace } from '../core/workspace.ts';
import { createSyncDriver } from '../sync/driver.ts';
import { fork, local, merge, remoteTarget } from '../sync/fork.ts';
import { remoteSource } from '../sync/merge-source.ts';
import { connectSyncWebSocket, type SyncConnection } from '../sync/websocket.ts';
import { authorizedFetch, type DevServer, ROOT, STARTUP_MS, startDev } from './support/wrangler-dev.ts';

const TOKEN = 'e2e-fork-token';
// More changes than one page of a merge (256); fork pages (16,384 rows) are crossed in the conformance suite.
const FILES = 2_100;
const CHANGED = 300;
const run = promisify(execFile);
const authed = authorizedFetch(TOKEN);

vi.setConfig({ testTimeout: 120_000 });

describe('fork and merge between a Durable Object and a Node workspace over a WebSocket', () => {
  let state: string;
  let server: DevServer | undefined;
  const workspaces: Workspace[] = [];
  const connections: SyncConnection[] = [];

  const endpoint = (name: string) => `${server?.url}/ws/${name}/sync`;
  const open = (file: string) => {
    const ws = openWorkspace(createNodeSqliteBackend({ path: join(state, file) }));
    workspaces.push(ws);
    return ws;
  };
  const connect = async (name: string) => {
    const connection = await connectSyncWebSocket(endpoint(name), TOKEN);
    connections.push(connection);
    return connection;
  };
  const remoteJson = async (name: string, action: string) =>
    (await authed(`${server?.url}/ws/${name}/${action}`)).json();
  const snapshotNames = async (name: string) =>
    ((await remoteJson(name, 'snapshots')) as Array<{ name: string }>).map((info) => info.name);

  /** Fills the Durable Object `name` from a Node workspace by sync; returns that workspace. */
  const seed = async (name: string, file: string) => {
    const origin = open(file);
    origin.db.transaction(() => {
      for (let i = 0; i < FILES; i++) {
        if (i % 100 === 0) origin.mkdir(`/t/d${i / 100}`, { recursive: true });
        origin.writeFile(`/t/d${Math.floor(i / 100)}/f${i}.txt`, `file ${i}\n`);
      }
      origin.writeFile('/big.bin', patternBytes(3 * DEFAULT_CHUNK_SIZE + 5, 7));
      origin.writeFile('/both.txt', 'base\n');
    });
    const report = await createSyncDriver(origin.db, await connect(name)).sync();
    expect(report.refused).toEqual([]);
    return origin;
  };

  beforeAll(async () => {
    state = mkdtempSync(join(tmpdir(), 'dofs-fork-e2e-'));
    server = await startDev(join(state, 'wrangler'), { API_TOKEN: TOKEN });
  }, STARTUP_MS + 10_000);

  afterAll(async () => {
    for (const connection of connections) connection.close();
    for (const ws of workspaces) ws.close();
    await server?.stop();
    rmSync(state, { recursive: true, force: true });
  }, 20_000);

  it('a fork of the Durable Object is its tree; its later changes merge back, conflicts kept beside, once', async () => {
    const origin = await seed('forked', 'origin.db');
    const copy = open('copy.db');
    const forked = await fork(remoteSource(await connect('forked')), local(copy.db));
    expect(forked.nodes).toBe(origin.find('/', '**').length + 1);
    expect(forked.blobs).toBe(copy.usage().blobs);
    expect(syncView(copy)).toEqual(syncView(origin));
    expect(await snapshotNames('forked')).toEqual([forked.base]);

    // The Durable Object changes 300 files and /both.txt (through a replica's sync); the fork
    // changes /both.txt too and adds a file.
    origin.db.transaction(() => {
      for (let i = 0; i < CHANGED; i++) origin.writeFile(`/t/d${Math.floor(i / 100)}/f${i}.txt`, `changed ${i}\n`);
      origin.writeFile('/both.txt', 'theirs\n');
    });
    await createSyncDriver(origin.db, await connect('forked')).sync();
    copy.writeFile('/both.txt', 'ours\n');
    copy.writeFile('/ours.txt', 'ours\n');

    const merged = await merge(local(copy.db), remoteSource(await connect('forked')));
    const conflictCopy = `/both.txt.conflict-${forked.base.slice('fork-'.length)}`;
    expect(merged.conflicts).toEqual([{ path: '/both.txt', copy: conflictCopy }]);
    expect(merged.applied.length).toBe(CHANGED);
    expect(copy.readFile('/t/d2/f299.txt', 'utf8')).toBe('changed 299\n');
    expect(copy.readFile('/t/d3/f300.txt', 'utf8')).toBe('file 300\n');
    expect(copy.readFile('/both.txt', 'utf8')).toBe('ours\n');
    expect(copy.readFile(conflictCopy, 'utf8')).toBe('theirs\n');
    expect(copy.readFile('/ours.txt', 'utf8')).toBe('ours\n');
    // Both sides recorded the state merged; merging again finds nothing.
    const [mark] = (await snapshotNames('forked')).filter((name) => name !== forked.base);
    expect(copy.snapshots().map((info) => info.name)).toEqual([forked.base, `${mark}-merged`]);
    expect(await merge(local(copy.db), remoteSource(await connect('forked')))).toEqual({
      base: forked.base,
      applied: [],
      conflicts: [],
    });
    expect(copy.fsck().ok).toBe(true);
    expect(((await remoteJson('forked', 'fsck')) as { ok: boolean }).ok).toBe(true);
    // The Durable Object was only read (and gained its snapshots).
    expect((await authed(`${server?.url}/ws/forked/fs/ours.txt`)).status).toBe(404);
  });

  it('a Node workspace forked into an empty Durable Object; its later changes merge into the object, conflicts kept beside, once', async () => {
    const origin = open('into-origin.db');
    origin.db.transaction(() => {
      for (let i = 0; i < FILES; i++) {
        if (i % 100 === 0) origin.mkdir(`/t/d${i / 100}`, { recursive: true });
        origin.writeFile(`/t/d${Math.floor(i / 100)}/f${i}.txt`, `file ${i}\n`);
      }
      origin.writeFile('/big.bin', patternBytes(3 * DEFAULT_CHUNK_SIZE + 5, 9));
      origin.writeFile('/both.txt', 'base\n');
    });
    const forked = await fork(local(origin.db), remoteTarget(await connect('forked-into')));
    expect(forked.nodes).toBe(origin.find('/', '**').length + 1);
    expect(await snapshotNames('forked-into')).toEqual([forked.base]);
    // What a new replica pulls from the object is the tree forked.
    const pulled = open('into-pulled.db');
    await createSyncDriver(pulled.db, await connect('forked-into')).pull();
    expect(syncView(pulled)).toEqual(syncView(origin));

    origin.db.transaction(() => {
      for (let i = 0; i < CHANGED; i++) origin.writeFile(`/t/d${Math.floor(i / 100)}/f${i}.txt`, `changed ${i}\n`);
      origin.writeFile('/both.txt', 'node\n');
    });
    const put = await authed(`${server?.url}/ws/forked-into/fs/both.txt`, { method: 'PUT', body: 'object\n' });
    expect(put.status).toBe(200);
    await put.arrayBuffer();
    const merged = await merge(remoteTarget(await connect('forked-into')), local(origin.db));
    const conflictCopy = `/both.txt.conflict-${forked.base.slice('fork-'.length)}`;
    expect(merged.conflicts).toEqual([{ path: '/both.txt', copy: conflictCopy }]);
    expect(merged.applied.length).toBe(CHANGED);
    const text = async (path: string) => (await authed(`${server?.url}/ws/forked-into/fs${path}`)).text();
    expect(await text('/t/d2/f299.txt')).toBe('changed 299\n');
    expect(await text('/t/d3/f300.txt')).toBe('file 300\n');
    expect(await text('/both.txt')).toBe('object\n');
    expect(await text(conflictCopy)).toBe('node\n');
    expect(await merge(remoteTarget(await connect('forked-into')), local(origin.db))).toEqual({
      base: forked.base,
      applied: [],
      conflicts: [],
    });
    expect(((await remoteJson('forked-into', 'fsck')) as { ok: boolean }).ok).toBe(true);
    expect(origin.fsck().ok).toBe(true);
  });

  it('`dofs fork --from URL`, `dofs merge URL`, `dofs fork URL` and `dofs merge FILE --into URL` from the command line', async () => {
    const origin = await seed('cli-fork', 'cli-origin.db');
    const db = join(state, 'cli-copy.db');
    const bin = join(ROOT, 'adapters', 'cli', 'bin.ts');
    const dofs = (...args: string[]) => run(process.execPath, [bin, '--db', db, ...args]);
    const { stdout } = await dofs('fork', '--from', endpoint('cli-fork'), '--token', TOKEN, db);
    expect(stdout).toMatch(
      /^forked into .*cli-copy\.db: [\d,]+ nodes, [\d,]+ blobs .* merge base fork-[0-9a-f]{12}\n$/,
    );
    origin.writeFile('/from-the-object.txt', 'remote\n');
    await createSyncDriver(origin.db, await connect('cli-fork')).sync();
    const merged = await dofs('merge', endpoint('cli-fork'), '--token', TOKEN);
    expect(merged.stdout).toMatch(/^merged 1 path from http.*\(base fork-[0-9a-f]{12}\)\n$/);
    expect((await dofs('cat', '/from-the-object.txt')).stdout).toBe('remote\n');
    const refused = await dofs('merge', endpoint('cli-fork'), '--token', 'nope').catch((error) => error);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('EACCES');
    // The other way: this file forked into a new object, and its changes merged into the object.
    const into = await dofs('fork', endpoint('cli-into'), '--token', TOKEN);
    expect(into.stdout).toMatch(/^forked into http.*cli-into\/sync: [\d,]+ nodes/);
    await dofs('rm', '/from-the-object.txt');
    const back = await dofs('merge', db, '--into', endpoint('cli-into'), '--token', TOKEN);
    expect(back.stdout).toMatch(/^merged 1 path from .*cli-copy\.db/);
    expect((await authed(`${server?.url}/ws/cli-into/fs/from-the-object.txt`)).status).toBe(404);
  });
});
