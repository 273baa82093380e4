/**
 * `createNodeFs`'s fd writes are buffered (committed at close, fsync, the next call that is not fd
 * I/O, or the next turn of the event loop). What fsync or close returned from must survive a kill
 * of the process; what was written after it may be lost, but a file is never torn: it holds a
 * prefix of what was written, at least as long as its last fsync, and a closed file is whole.
 * A child writes files through fds on a node:sqlite file and is SIGKILLed at random moments; after
 * each kill the workspace is reopened, checked by fsck, and every file compared with what was
 * acknowledged.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createNodeSqliteBackend } from '../backends/node-sqlite/index.ts';
import { openWorkspace } from '../core/workspace.ts';
import { expectedContent } from './support/fd-crash-child.ts';
import { runUntilKilled } from './support/kill-child.ts';
import { ROOT } from './support/wrangler-dev.ts';

const KILLS = 12;
const SEED = Number(process.env.DOFS_CRASH_SEED ?? Date.now() % 100_000);
const CHILD = join(ROOT, 'test', 'support', 'fd-crash-child.ts');

describe('createNodeFs fd writes killed mid-way (node:sqlite file, SIGKILL)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dofs-fd-crash-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it(`keeps every fsynced and closed byte over ${KILLS} kills, and tears no file (seed ${SEED})`, async () => {
    const db = join(dir, 'fd.db');
    /** File k → the length its last fsync or close acknowledged, and whether it was closed. */
    const acked = new Map<number, { length: number; closed: boolean }>();
    let next = 0;
    let tornChecks = 0;
    const contents = new Map<number, Buffer>();
    const expected = (k: number): Buffer => contents.get(k) ?? (contents.set(k, expectedContent(k)).get(k) as Buffer);
    for (let kill = 0; kill < KILLS; kill++) {
      const delay = 20 + ((kill * 7919 + SEED) % 400);
      for (const line of await runUntilKilled(CHILD, [db, String(next)], delay)) {
        const [what, k, length] = line.split(' ');
        acked.set(Number(k), { length: Number(length), closed: what === 'closed' });
      }
      // The file being written when the kill came is left as it is; the next run starts a new one.
      next = Math.max(next, ...acked.keys()) + 1;
      const ws = openWorkspace(createNodeSqliteBackend({ path: db }));
      try {
        expect(ws.fsck().problems, `fsck after kill ${kill}`).toEqual([]);
        for (const { name } of ws.readdir('/')) {
          const k = Number(name.slice(1));
          const bytes = ws.readFile(`/${name}`);
          const ack = acked.get(k) ?? { length: 0, closed: false };
          const full = expected(k);
          if (ack.closed) expect(bytes.length, `/${name} was closed`).toBe(full.length);
          expect(bytes.length, `/${name} lost fsynced bytes`).toBeGreaterThanOrEqual(ack.length);
          expect(bytes.length).toBeLessThanOrEqual(full.length);
          // Never torn: every byte present is the byte written there.
          expect(Buffer.compare(bytes, full.subarray(0, bytes.length)), `/${name} holds other bytes`).toBe(0);
          if (bytes.length > ack.length) tornChecks++;
        }
        for (const k of acked.keys()) expect(ws.exists(`/f${k}`), `/f${k} was acknowledged`).toBe(true);
      } finally {
        ws.close();
      }
    }
    // The kills landed mid-file, between fsyncs, and at least some files were finished.
    expect([...acked.values()].filter((ack) => ack.closed).length).toBeGreaterThan(0);
    expect([...acked.values()].filter((ack) => !ack.closed).length).toBeGreaterThan(0);
    expect(tornChecks + acked.size).toBeGreaterThan(KILLS);
  }, 120_000);
});
