/**
 * Sync resumes under the faults a user meets, on the node:sqlite file backend: the replica's
 * process SIGKILLed at random points mid-sync (it reaches the authority in this process over IPC,
 * through the real RPC session and frames), and a full disk while a pull applies. After each: both
 * sides fsck-clean, the next sync converges, nothing is lost, and nothing is applied twice (no
 * conflict copies, every file once with its latest bytes).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createNodeSqliteBackend } from '../backends/node-sqlite/index.ts';
import { patternBytes } from '../conformance/cases/files.ts';
import { syncView } from '../conformance/cases/sync.ts';
import { openWorkspace, type Workspace } from '../core/workspace.ts';
import { createSyncDriver } from '../sync/driver.ts';
import { createSyncEndpoint } from '../sync/endpoint.ts';
import { frameTransport } from '../sync/frames.ts';
import { connectInProcess } from '../sync/in-process.ts';
import { serveRpc } from '../sync/rpc.ts';
import { MAX_MESSAGE_BYTES } from '../sync/websocket.ts';
import { ipcFramePipe } from './support/ipc-frames.ts';
import { mountTmpfs, TMPFS_SKIP_REASON } from './support/tmpfs.ts';
import { ROOT } from './support/wrangler-dev.ts';

const KILLS = 20;
const SEED = Number(process.env.DOFS_SYNC_FAULT_SEED ?? Date.now() % 100_000);
const CHILD = join(ROOT, 'test', 'support', 'sync-child.ts');

/** A small seeded generator, so a failing run can be replayed with DOFS_SYNC_FAULT_SEED. */
function random(seed: number): () => number {
  let x = seed * 2654435761 + 1;
  return () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x / 2147483648;
  };
}

/** Where to kill the replica: after this many batches of its sync, then this many milliseconds more. */
interface KillPoint {
  batches: number;
  ms: number;
}

/** Runs the replica child against `authority`, killing it at `kill` (never, if undefined). */
function runReplica(db: string, authority: Workspace, kill?: KillPoint): Promise<'killed' | 'synced'> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, db], {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'advanced',
    });
    serveRpc(frameTransport(ipcFramePipe(child), MAX_MESSAGE_BYTES), createSyncEndpoint(authority.db));
    let output = '';
    let errors = '';
    let batches = -1; // 'ready' counts as the zeroth
    let synced = false;
    child.stderr?.on('data', (data) => (errors += data));
    child.stdout?.on('data', (data) => {
      output += data;
      const lines = output.split('\n');
      output = lines.pop() ?? '';
      for (const line of lines) {
        if (line === 'ready' || line === 'batch') batches++;
        // Counted in batches, not time, so the kill falls mid-sync on a fast machine as on a slow one.
        if (kill && (line === 'ready' || line === 'batch') && batches === kill.batches)
          setTimeout(() => child.kill('SIGKILL'), kill.ms);
        if (line === 'synced') synced = true;
      }
    });
    child.on('close', (code, signal) => {
      if (signal === 'SIGKILL') resolve('killed');
      else if (code === 0 && synced) resolve('synced');
      else reject(new Error(`the replica failed (${code}): ${errors}`));
    });
  });
}

/** Every path holding a conflict copy: there must be none, as no path is edited on both sides. */
const conflictCopies = (ws: Workspace) => ws.find('/', '**').filter((path) => path.includes('.conflict-'));

describe('sync under faults (node:sqlite file)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dofs-sync-faults-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it(`a replica SIGKILLed ${KILLS} times at random points mid-sync resumes with nothing lost or doubled (seed ${SEED})`, async () => {
    const next = random(SEED);
    const authority = openWorkspace(createNodeSqliteBackend({ path: join(dir, 'authority.db') }));
    const replicaDb = join(dir, 'replica.db');
    // What each side must end with: the latest bytes of every path, whichever side wrote it.
    const expected = new Map<string, string>();
    const write = (ws: Workspace, path: string, text: string) => {
      ws.mkdir(path.slice(0, path.lastIndexOf('/')), { recursive: true });
      ws.writeFile(path, text);
      expected.set(path, text);
    };
    const move = (ws: Workspace, from: string, to: string) => {
      if (!ws.exists(from)) return;
      ws.rename(from, to);
      for (const [path, text] of [...expected]) {
        if (!path.startsWith(`${from}/`)) continue;
        expected.delete(path);
        expected.set(to + path.slice(from.length), text);
      }
    };
    authority.db.transaction(() => {
      for (let i = 0; i < 400; i++) write(authority, `/a/d${i % 20}/f${i}`, `authority ${i} `.repeat(1 + (i % 300)));
    });
    {
      const replica = openWorkspace(createNodeSqliteBackend({ path: replicaDb }));
      replica.db.transaction(() => {
        for (let i = 0; i < 300; i++) write(replica, `/r/d${i % 15}/f${i}`, `replica ${i}`);
      });
      replica.close();
    }
    let kills = 0;
    for (let round = 0; round < KILLS; round++) {
      // Between rounds both sides change paths only they write: new files, edits, deletions, a rename, a directory move.
      const replica = openWorkspace(createNodeSqliteBackend({ path: replicaDb }));
      for (let i = 0; i < 40; i++) {
        const n = Math.floor(next() * 400);
        write(authority, `/a/d${n % 20}/f${n}`, `authority ${n} round ${round}`);
        const m = Math.floor(next() * 300);
        write(replica, `/r/d${m % 15}/f${m}`, `replica ${m} round ${round}`);
      }
      const gone = `/r/d${round % 15}/f${round}`;
      if (replica.exists(gone)) {
        replica.rm(gone);
        expected.delete(gone);
      }
      // And each side moves one of its directories, a tree of about 20 files: one move row each.
      move(authority, `/a/d${round % 20}`, `/a/m${round}`);
      move(replica, `/r/d${(round + 7) % 15}`, `/r/m${round}`);
      replica.close();
      // 80 changes a round: about ten batches of 8, pulls and pushes; the kill falls in any of them.
      const outcome = await runReplica(replicaDb, authority, {
        batches: Math.floor(next() * 10),
        ms: Math.floor(next() * 20),
      });
      if (outcome === 'killed') kills++;
      const after = openWorkspace(createNodeSqliteBackend({ path: replicaDb }));
      expect(after.fsck().ok).toBe(true);
      after.close();
      expect(authority.fsck().ok).toBe(true);
    }
    // Most rounds must really have been cut mid-sync, or the test proves little.
    expect(kills).toBeGreaterThan(KILLS / 2);
    expect(await runReplica(replicaDb, authority)).toBe('synced');
    const replica = openWorkspace(createNodeSqliteBackend({ path: replicaDb }));
    try {
      expect(syncView(replica)).toEqual(syncView(authority));
      for (const [path, text] of expected) expect(authority.readFile(path, 'utf8'), path).toBe(text);
      const files = authority.find('/', '**').filter((path) => authority.lstat(path).type === 'file');
      expect(files.sort()).toEqual([...expected.keys()].sort());
      expect(conflictCopies(authority)).toEqual([]);
      expect(replica.fsck().ok).toBe(true);
    } finally {
      replica.close();
      authority.close();
    }
  }, 300_000);

  it.skipIf(TMPFS_SKIP_REASON !== undefined)(
    `a disk that fills up while a pull applies: nothing half-applied, and the pull resumes once there is room ${TMPFS_SKIP_REASON ?? ''}`,
    async () => {
      const disk = mountTmpfs(20);
      const authority = openWorkspace(createNodeSqliteBackend());
      const replica = openWorkspace(createNodeSqliteBackend({ path: join(disk.dir, 'replica.db') }));
      try {
        const MiB = 1024 * 1024;
        authority.db.transaction(() => {
          authority.mkdir('/big');
          for (let i = 0; i < 40; i++) authority.writeFile(`/big/f${i}`, patternBytes(MiB, i + 1));
        });
        const driver = createSyncDriver(replica.db, connectInProcess(createSyncEndpoint(authority.db)), {
          batchEntries: 4,
        });
        await expect(driver.sync()).rejects.toMatchObject({ code: 'ENOSPC' });
        // What arrived arrived whole: every file the replica has is the authority's, byte for byte.
        expect(replica.fsck().ok).toBe(true);
        const arrived = replica.exists('/big') ? replica.find('/big', '*') : [];
        expect(arrived.length).toBeLessThan(40);
        for (const path of arrived) expect(replica.readFile(path)).toEqual(authority.readFile(path));

        disk.resize(128);
        const report = await driver.sync();
        expect(report.conflicts).toEqual([]);
        expect(report.pulled).toBe(40 - arrived.length + (arrived.length === 0 ? 1 : 0));
        expect(syncView(replica)).toEqual(syncView(authority));
        expect(conflictCopies(replica)).toEqual([]);
        expect(replica.fsck().ok).toBe(true);
      } finally {
        replica.close();
        authority.close();
        disk.unmount();
      }
    },
    120_000,
  );
});
