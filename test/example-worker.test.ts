/**
 * The example Worker (examples/worker), driven over HTTP as a user would drive `npm run dev:worker`:
 * this starts the same `wrangler dev --config examples/worker/wrangler.jsonc` on a free port with a
 * temporary persistence directory, waits for it to answer, and talks to it with fetch. It restarts
 * the server on the same directory to check durability, and kills the process group afterwards
 * (also if the test fails or the runner exits).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNodeSqliteBackend } from '../backends/node-sqlite/index.ts';
import { openWorkspace } from '../core/workspace.ts';
import { createSyncDriver } from '../sync/driver.ts';
import { connectSyncWebSocket } from '../sync/websocket.ts';
import { runDofs } from './support/cli.ts';
import { startCuttingProxy } from './support/cutting-proxy.ts';
import { authorizedFetch, DEV_API_TOKEN, type DevServer, ROOT, STARTUP_MS, startDev } from './support/wrangler-dev.ts';

/** Every route of the example requires its bearer token; wrangler.jsonc's development value here. */
const authed = authorizedFetch(DEV_API_TOKEN);
const bytesOf = async (response: Response) => new Uint8Array(await response.arrayBuffer());

// Every case crosses into workerd (and one restarts it): give a loaded machine room.
describe('examples/worker over HTTP (wrangler dev on workerd)', { timeout: 60_000 }, () => {
  let state: string;
  let server: DevServer | undefined;
  let base: string;
  const big = new Uint8Array(randomBytes(3 * 1024 * 1024 + 12_345));
  const ws = (rest: string) => `${base}/ws/demo/${rest}`;

  beforeAll(async () => {
    state = mkdtempSync(join(tmpdir(), 'dofs-example-worker-'));
    server = await startDev(state);
    base = server.url;
  }, STARTUP_MS + 10_000);

  afterAll(async () => {
    await server?.stop();
    rmSync(state, { recursive: true, force: true });
  }, 15_000);

  it('is what `npm run dev:worker` runs', () => {
    const scripts = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts as Record<string, string>;
    expect(scripts['dev:worker']).toMatch(/wrangler dev --config examples\/worker\/wrangler\.jsonc/);
  });

  it('refuses every route without the bearer token, before touching any Durable Object', async () => {
    const routes: Array<[string, RequestInit]> = [
      ['fs/secret.txt', { method: 'PUT', body: 'leaked' }],
      ['fs/secret.txt', {}],
      ['fs/', {}],
      ['fs/secret.txt', { method: 'DELETE' }],
      ['mkdir/made', { method: 'POST' }],
      ['stat/secret.txt', {}],
      ['usage', {}],
      ['fsck', {}],
      ['maintenance', { method: 'POST' }],
      ['sync', {}],
    ];
    const wrong: Array<Record<string, string>> = [
      {},
      { authorization: `Bearer ${DEV_API_TOKEN}x` },
      { authorization: `Bearer ${DEV_API_TOKEN.slice(0, -1)}` },
      { authorization: DEV_API_TOKEN },
      { authorization: `Basic ${btoa(`user:${DEV_API_TOKEN}`)}` },
    ];
    for (const [rest, init] of routes) {
      for (const headers of wrong) {
        const response = await fetch(ws(rest), { ...init, headers });
        expect([rest, headers, response.status]).toEqual([rest, headers, 401]);
        expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
        expect(await response.json()).toMatchObject({ code: 'EACCES' });
      }
    }
    expect((await fetch(`${base}/elsewhere`)).status).toBe(401);
    // Nothing was written or created: the object was never reached (a fresh object is empty).
    expect((await authed(ws('stat/secret.txt'))).status).toBe(404);
    expect((await authed(ws('stat/made'))).status).toBe(404);
    expect((await (await authed(ws('usage'))).json()).files).toBe(0);
  });

  it('PUTs a file (creating parents) and GETs it back byte-identical', async () => {
    const text = 'héllo, durable world\n';
    const put = await authed(ws('fs/docs/hello.txt'), { method: 'PUT', body: text });
    expect(put.status).toBe(200);
    expect(await put.json()).toMatchObject({ name: 'hello.txt', type: 'file', size: Buffer.byteLength(text) });

    const get = await authed(ws('fs/docs/hello.txt'));
    expect(get.status).toBe(200);
    expect(get.headers.get('content-type')).toBe('application/octet-stream');
    expect(Buffer.from(await bytesOf(get)).equals(Buffer.from(text))).toBe(true);
  });

  it('PUTs a 3 MiB binary file and GETs it back identical (streamed both ways)', async () => {
    const put = await authed(ws('fs/data/big.bin'), { method: 'PUT', body: big });
    expect(put.status).toBe(200);
    expect((await put.json()).size).toBe(big.byteLength);
    const get = await authed(ws('fs/data/big.bin'));
    expect(get.status).toBe(200);
    expect(get.headers.get('content-length')).toBe(String(big.byteLength));
    expect(Buffer.from(await bytesOf(get)).equals(big)).toBe(true);
  });

  it('answers Range requests with 206 and the bytes asked, across slices, and 416 past the end', async () => {
    // The 3 MiB file of the case before: its first slice (2 MiB) is held, the rest is streamed.
    const size = big.byteLength;
    for (const [range, start, end] of [
      ['bytes=0-99', 0, 100],
      ['bytes=2097000-2097999', 2_097_000, 2_098_000],
      ['bytes=3000000-', 3_000_000, size],
      ['bytes=-500', size - 500, size],
      [`bytes=100-${size + 1000}`, 100, size],
    ] as const) {
      const get = await authed(ws('fs/data/big.bin'), { headers: { range } });
      expect(get.status, range).toBe(206);
      expect(get.headers.get('content-range')).toBe(`bytes ${start}-${end - 1}/${size}`);
      expect(get.headers.get('content-length')).toBe(String(end - start));
      expect(Buffer.from(await bytesOf(get)).equals(Buffer.from(big.subarray(start, end))), range).toBe(true);
    }
    const past = await authed(ws('fs/data/big.bin'), { headers: { range: `bytes=${size}-` } });
    expect(past.status).toBe(416);
    expect(past.headers.get('content-range')).toBe(`bytes */${size}`);
    // Several ranges are not served: the whole file comes back, as RFC 9110 allows.
    const several = await authed(ws('fs/data/big.bin'), { headers: { range: 'bytes=0-1,5-6' } });
    expect(several.status).toBe(200);
    expect((await bytesOf(several)).byteLength).toBe(size);
  });

  it('accepts a body without content-length (chunked upload)', async () => {
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('part one, '));
        controller.enqueue(new TextEncoder().encode('part two'));
        controller.close();
      },
    });
    const put = await authed(ws('fs/docs/chunked.txt'), { method: 'PUT', body, duplex: 'half' } as RequestInit);
    expect(put.status).toBe(200);
    expect(await (await authed(ws('fs/docs/chunked.txt'))).text()).toBe('part one, part two');
  });

  it('lists a directory as JSON, paged', async () => {
    const root = await authed(ws('fs/'));
    expect(root.status).toBe(200);
    expect((await root.json()).entries.map((e: { name: string; type: string }) => [e.name, e.type])).toEqual([
      ['data', 'dir'],
      ['docs', 'dir'],
    ]);
    const docs = await (await authed(ws('fs/docs'))).json();
    expect(docs.path).toBe('/docs');
    expect(docs.entries.map((e: { name: string }) => e.name)).toEqual(['chunked.txt', 'hello.txt']);
    const page = await (await authed(ws('fs/docs?limit=1&offset=1'))).json();
    expect(page.entries.map((e: { path: string }) => e.path)).toEqual(['/docs/hello.txt']);
  });

  it('lists a directory too big for one RPC answer (12,000 entries, 42 MB of JSON) whole and in ranges, and diffs its removal (40 MB)', async () => {
    // Pushed from a replica in 48 calls: 12,000 PUTs would take minutes. Each entry's path is
    // about 3.3 KB (a 3 KB directory path and a 250-byte name): one answer of them all would pass
    // the 32 MiB RPC message limit (it was a 500 with the runtime's serialisation error).
    const dir = `/${Array(15).fill('n'.repeat(200)).join('/')}`;
    const name = (i: number) => `${String(i).padStart(6, '0')}${'x'.repeat(244)}`;
    const replica = openWorkspace(createNodeSqliteBackend());
    replica.mkdir(dir, { recursive: true });
    replica.db.transaction(() => {
      for (let i = 0; i < 12_000; i++) replica.writeFile(`${dir}/${name(i)}`, `${i}`);
    });
    const connection = await connectSyncWebSocket(ws('sync').replace('/demo/', '/listing/'), DEV_API_TOKEN);
    try {
      expect((await createSyncDriver(replica.db, connection).sync()).pushed).toBeGreaterThan(12_000);
    } finally {
      connection.close();
      replica.close();
    }
    const url = `${base}/ws/listing/fs${dir}`;
    const whole = await authed(url);
    expect(whole.status).toBe(200);
    const listing = (await whole.json()) as { path: string; entries: Array<{ name: string; path: string }> };
    expect(listing.path).toBe(dir);
    expect(listing.entries.map((e) => e.name)).toEqual(Array.from({ length: 12_000 }, (_, i) => name(i)));
    expect(listing.entries[11_999].path).toBe(`${dir}/${name(11_999)}`);
    const range = await (await authed(`${url}?offset=999&limit=1502`)).json();
    expect(range.entries.map((e: { name: string }) => e.name)).toEqual(
      Array.from({ length: 1502 }, (_, i) => name(999 + i)),
    );
    const tail = await (await authed(`${url}?offset=11990`)).json();
    expect(tail.entries).toHaveLength(10);
    // The diff of its removal is as big (40 MB): streamed too, it was the same 500.
    expect((await authed(`${base}/ws/listing/snapshots/before`, { method: 'POST' })).status).toBe(201);
    const top = dir.split('/')[1];
    expect((await authed(`${base}/ws/listing/fs/${top}?recursive=1`, { method: 'DELETE' })).status).toBe(204);
    const diff = await authed(`${base}/ws/listing/diff/before`);
    expect(diff.status).toBe(200);
    const removed = (await diff.json()) as Array<{ path: string; status: string }>;
    expect(removed).toHaveLength(15 + 12_000);
    expect(removed.every((entry) => entry.status === 'removed')).toBe(true);
    expect(removed.at(-1)?.path).toBe(`${dir}/${name(11_999)}`);
  }, 120_000);

  it('creates directories with POST /mkdir', async () => {
    const made = await authed(ws('mkdir/empty/nested'), { method: 'POST' });
    expect(made.status).toBe(201);
    expect(await made.json()).toMatchObject({ name: 'nested', type: 'dir' });
    expect((await (await authed(ws('fs/empty/nested'))).json()).entries).toEqual([]);
    expect((await authed(ws('fs/empty?recursive=1'), { method: 'DELETE' })).status).toBe(204);
  });

  it('stats files and directories', async () => {
    const file = await (await authed(ws('stat/data/big.bin'))).json();
    expect(file).toMatchObject({ type: 'file', isFile: true, size: big.byteLength, nlink: 1 });
    const dir = await (await authed(ws('stat/data'))).json();
    expect(dir).toMatchObject({ type: 'dir', isDirectory: true });
  });

  it('shows deduplication in usage after the same content is PUT twice', async () => {
    const before = await (await authed(ws('usage'))).json();
    expect((await authed(ws('fs/data/copy.bin'), { method: 'PUT', body: big })).status).toBe(200);
    const after = await (await authed(ws('usage'))).json();
    expect(after.logicalBytes - before.logicalBytes).toBe(big.byteLength);
    expect(after.storedBytes).toBe(before.storedBytes);
    expect(after.files).toBe(before.files + 1);
    expect(after.dedupRatio).toBeGreaterThan(1.5);
  });

  it('fsck re-hashes every blob by default; ?content=0 checks the structure only; ?maxBytes and ?after re-hash in steps', async () => {
    const at = (rest: string) => `${base}/ws/fsck/${rest}`;
    const bytes = new Uint8Array(randomBytes(1024 * 1024));
    expect((await authed(at('fs/one.bin'), { method: 'PUT', body: bytes })).status).toBe(200);
    const full = await (await authed(at('fsck'))).json();
    expect(full).toMatchObject({ ok: true, problems: [] });
    expect(full.checked.bytesHashed).toBe(bytes.byteLength);
    const structure = await authed(at('fsck?content=0'));
    expect(structure.status).toBe(200);
    const report = await structure.json();
    expect(report).toMatchObject({ ok: true, problems: [], checked: { bytesHashed: 0, blobs: full.checked.blobs } });
    expect((await (await authed(at('fsck?content=true'))).json()).checked.bytesHashed).toBe(bytes.byteLength);
    const bad = await authed(at('fsck?content=maybe'));
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ code: 'EINVAL' });
    // In steps: 16 blobs of 64 KiB, about 300,000 bytes (5 blobs) a request, each continuing after the last.
    const steps: Array<{ blobs: number; bytesHashed: number }> = [];
    for (let after: string | undefined = ''; after !== undefined; ) {
      const step = await (await authed(at(`fsck?maxBytes=300000&after=${after}`))).json();
      expect(step).toMatchObject({ ok: true, problems: [] });
      steps.push({ blobs: step.checked.blobs, bytesHashed: step.checked.bytesHashed });
      after = step.checked.nextBlob;
    }
    expect(steps.map((step) => step.blobs)).toEqual([5, 5, 5, 1]);
    expect(steps.reduce((sum, step) => sum + step.bytesHashed, 0)).toBe(bytes.byteLength);
    expect((await authed(at('fsck?maxBytes=-1'))).status).toBe(400);
  });

  it('DELETEs, then answers 404 with code ENOENT', async () => {
    expect((await authed(ws('fs/data/copy.bin'), { method: 'DELETE' })).status).toBe(204);
    const gone = await authed(ws('fs/data/copy.bin'));
    expect(gone.status).toBe(404);
    expect(gone.headers.get('content-type')).toMatch(/application\/json/);
    const body = await gone.json();
    expect(body.code).toBe('ENOENT');
    expect(body.message).toMatch(/^ENOENT: no such file or directory/);
    expect((await authed(ws('stat/data/copy.bin'))).status).toBe(404);
    expect((await authed(ws('fs/data/copy.bin'), { method: 'DELETE' })).status).toBe(404);
  });

  it('takes, lists, diffs, restores and deletes snapshots over HTTP', async () => {
    const other = (rest: string) => `${base}/ws/snapshots-demo/${rest}`;
    await authed(other('fs/notes.txt'), { method: 'PUT', body: 'one\n' });
    const taken = await authed(other('snapshots/first'), { method: 'POST' });
    expect(taken.status).toBe(201);
    expect(await taken.json()).toMatchObject({ name: 'first' });
    expect((await authed(other('snapshots/first'), { method: 'POST' })).status).toBe(409);
    await authed(other('fs/notes.txt'), { method: 'PUT', body: 'two\n' });
    await authed(other('fs/added.txt'), { method: 'PUT', body: 'new\n' });
    expect(await (await authed(other('diff/first'))).json()).toEqual([
      { path: '/added.txt', status: 'added' },
      { path: '/notes.txt', status: 'changed', changes: ['content'] },
    ]);
    const restored = await (await authed(other('restore/first'), { method: 'POST' })).json();
    expect(restored.before.name).toMatch(/^before-restore-/);
    expect(await (await authed(other('fs/notes.txt'))).text()).toBe('one\n');
    expect((await authed(other('stat/added.txt'))).status).toBe(404);
    const names = (await (await authed(other('snapshots'))).json()).map((info: { name: string }) => info.name);
    expect(names).toEqual(['first', restored.before.name]);
    expect((await authed(other('snapshots/first'), { method: 'DELETE' })).status).toBe(204);
    expect((await authed(other('restore/first'), { method: 'POST' })).status).toBe(404);
  });

  it('maps engine errors to HTTP statuses', async () => {
    const cases: Array<[string, RequestInit, number, string]> = [
      ['fs/a%00b', {}, 400, 'EINVAL'], // NUL in a path
      ['fs/%E0%A4%A', {}, 400, 'EINVAL'], // malformed percent-encoding
      [`fs/${'n'.repeat(256)}`, { method: 'PUT', body: 'x' }, 400, 'ENAMETOOLONG'],
      ['fs/docs', { method: 'PUT', body: 'x' }, 400, 'EISDIR'], // writing over a directory
      ['fs/docs/hello.txt/x', {}, 400, 'ENOTDIR'],
      ['fs/docs', { method: 'DELETE' }, 400, 'EISDIR'], // a directory needs ?recursive=1
      ['fs/', { method: 'DELETE' }, 403, 'EPERM'], // never the root
    ];
    for (const [rest, init, status, code] of cases) {
      const response = await authed(ws(rest), init);
      expect([rest, response.status]).toEqual([rest, status]);
      expect((await response.json()).code).toBe(code);
    }
    const nowhere = await authed(`${base}/elsewhere`);
    expect(nowhere.status).toBe(404);
    expect((await nowhere.json()).code).toBe('ENOROUTE');
    // A failed PUT leaves no trace, not even the parents it created (one transaction):
    // '/fresh/sub/' ends in a slash, so the write is EISDIR after '/fresh' was made.
    const failed = await authed(ws('fs/fresh/sub/'), { method: 'PUT', body: 'x' });
    expect(failed.status).toBe(400);
    expect((await failed.json()).code).toBe('EISDIR');
    expect((await authed(ws('stat/fresh'))).status).toBe(404);
  });

  it('dofs sync cut midway by a dropped connection says so (ECONNRESET, run it again), and the next sync completes', async () => {
    const files = Array.from({ length: 8 }, (_, i) => new Uint8Array(randomBytes(512 * 1024 + i)));
    for (const [i, bytes] of files.entries()) {
      expect((await authed(`${base}/ws/cut/fs/f${i}.bin`, { method: 'PUT', body: bytes })).status).toBe(200);
    }
    const dir = mkdtempSync(join(tmpdir(), 'dofs-cut-sync-'));
    const proxy = await startCuttingProxy(base, 1024 * 1024);
    try {
      const args = ['--db', join(dir, 'replica.db'), 'sync', '--token', DEV_API_TOKEN];
      const cut = await runDofs(dir, [...args, `${proxy.url}/ws/cut/sync`]);
      expect(proxy.cuts).toBe(1);
      expect(cut.status).toBe(1);
      expect(cut.stderr).toMatch(
        new RegExp(
          `^dofs: ECONNRESET: connection reset by peer \\(the connection to ${proxy.url}/ws/cut/sync closed during the sync after \\d+ entr(y|ies); nothing acknowledged is lost; run dofs sync again to resume\\), sync '${proxy.url}/ws/cut/sync'\n$`,
        ),
      );
      const again = await runDofs(dir, [...args, `${base}/ws/cut/sync`]);
      expect([again.status, again.stderr]).toEqual([0, '']);
      const replica = openWorkspace(createNodeSqliteBackend({ path: join(dir, 'replica.db') }));
      try {
        for (const [i, bytes] of files.entries())
          expect(Buffer.from(replica.readFile(`/f${i}.bin`)).equals(bytes)).toBe(true);
      } finally {
        replica.close();
      }
    } finally {
      await proxy.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it(
    'keeps everything across a restart on the same state directory, and fsck passes',
    async () => {
      await server?.stop();
      server = await startDev(state);
      base = server.url;
      expect(Buffer.from(await bytesOf(await authed(ws('fs/data/big.bin')))).equals(big)).toBe(true);
      expect(await (await authed(ws('fs/docs/hello.txt'))).text()).toBe('héllo, durable world\n');
      expect((await authed(ws('fs/docs'), { method: 'DELETE' })).status).toBe(400);
      expect((await authed(ws('fs/docs?recursive=1'), { method: 'DELETE' })).status).toBe(204);
      expect((await authed(ws('fs/docs'))).status).toBe(404);
      const report = await (await authed(ws('fsck'))).json();
      expect(report).toMatchObject({ ok: true, problems: [] });
      // Another workspace name is another Durable Object: it starts empty.
      expect((await (await authed(`${base}/ws/other/fs/`)).json()).entries).toEqual([]);
    },
    STARTUP_MS + 20_000,
  );
});

describe('examples/worker with no API_TOKEN set', { timeout: 60_000 }, () => {
  let state: string;
  let server: DevServer | undefined;

  beforeAll(async () => {
    state = mkdtempSync(join(tmpdir(), 'dofs-example-worker-'));
    server = await startDev(state, { API_TOKEN: '' });
  }, STARTUP_MS + 10_000);

  afterAll(async () => {
    await server?.stop();
    rmSync(state, { recursive: true, force: true });
  }, 15_000);

  it('refuses everything (503), whatever the request presents', async () => {
    const presented: Array<Record<string, string>> = [
      {},
      { authorization: 'Bearer ' },
      { authorization: `Bearer ${DEV_API_TOKEN}` },
    ];
    for (const headers of presented) {
      const response = await fetch(`${server?.url}/ws/demo/fs/`, { headers });
      expect(response.status).toBe(503);
      expect(await response.json()).toMatchObject({ code: 'EACCES', message: expect.stringMatching(/API_TOKEN/) });
    }
  });
});
