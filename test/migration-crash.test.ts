/**
 * The upgrade of a version 8 workspace to version 9 (core/schema.ts) under the faults users meet,
 * on real files in other processes: SIGKILL at moments spread over the upgrade, a full disk (a
 * tmpfs, as root), and several processes opening the old workspace at once. After each, the
 * stored state is exactly version 8's (what version 8 code wrote, and still opens) or exactly
 * the upgraded one, never a mix, and the next open reaches the upgraded one: every file, snapshot
 * and restore as before, fsck clean.
 *
 * The version 8 workspace is conformance/cases/version-8-workspace.ts (made by version 8 code:
 * files, a shared blob, a symlink, two snapshots, a tree in the attic) with a file of BULK distinct
 * 16-byte chunks added in version 8's layout, so the upgrade rewrites a catalogue large enough to
 * be cut (about 25 ms uninterrupted on a 2-core VM) and to need a megabyte of room.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, copyFileSync, mkdtempSync, openSync, rmSync, statSync, truncateSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNodeSqliteBackend } from '../backends/node-sqlite/index.ts';
import { VERSION_8_WORKSPACE } from '../conformance/cases/version-8-workspace.ts';
import { snapshot, storedState } from '../conformance/snapshot.ts';
import { hashBytes } from '../core/blobs.ts';
import { type FsError, isFsError } from '../core/errors.ts';
import { openWorkspace, type Workspace } from '../core/workspace.ts';
import { runUntilKilled } from './support/kill-child.ts';
import { recordFigure } from './support/reliability-report.ts';
import { mountTmpfs, TMPFS_SKIP_REASON } from './support/tmpfs.ts';
import { ROOT } from './support/wrangler-dev.ts';

const BULK = 12_000;
const KILLS = 16;
const ROUNDS = 4;
const CHILD = join(ROOT, 'test', 'support', 'migrate-child.ts');
const NOW = () => 1_700_000_100_000;

/** Writes the version 8 workspace with BULK more blobs to `path`, as version 8 code lays them out. */
function writeVersion8(path: string): void {
  const backend = createNodeSqliteBackend({ path, reserveBytes: 0 });
  try {
    backend.transaction(() => {
      for (const statement of VERSION_8_WORKSPACE) backend.run(statement);
      // Inode 16, /bulk: after the snapshots (inode 13 is the last they see), so no history.
      backend.run(
        `INSERT INTO vfs_nodes (inode, type, mode, size, nlink, atime, mtime, ctime, birthtime, rev, uid, gid)
         VALUES (16, 'file', 420, ?, 1, 1700000019000, 1700000019000, 1700000019000, 1700000019000, 16, 1000, 1000)`,
        [BULK * 16],
      );
      backend.run("INSERT INTO vfs_dirents (parent, name, child) VALUES (1, 'bulk', 16)");
      for (let i = 0; i < BULK; i++) {
        const bytes = createHash('sha256').update(`bulk ${i}`).digest().subarray(0, 16);
        const hash = hashBytes(bytes);
        backend.run('INSERT INTO vfs_chunks (inode, idx, hash, size) VALUES (16, ?, ?, 16)', [i, hash]);
        backend.run('INSERT INTO vfs_blobs (hash, size, last_seen) VALUES (?, 16, 0)', [hash]);
        backend.run('INSERT INTO vfs_blob_bytes (hash, bytes) VALUES (?, ?)', [hash, bytes]);
      }
    });
  } finally {
    backend.close();
  }
}

/** What a user sees: the live tree and every snapshot's, contents by hash. */
function view(ws: Workspace): { live: unknown; snapshots: Record<string, unknown> } {
  const snapshots: Record<string, unknown> = {};
  for (const { name } of ws.snapshots()) snapshots[name] = snapshot(ws.atSnapshot(name)).tree;
  return { live: snapshot(ws), snapshots };
}

/** The stored state of the workspace file at `path`, read without opening it as a workspace. */
function storedAt(path: string): Record<string, unknown> {
  const backend = createNodeSqliteBackend({ path, reserveBytes: 0 });
  try {
    return storedState(backend);
  } finally {
    backend.close();
  }
}

const removeDb = (path: string): void => {
  for (const suffix of ['', '-wal', '-shm', '-reserve']) rmSync(`${path}${suffix}`, { force: true });
};

describe('the upgrade from schema version 8 under faults (node:sqlite file)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dofs-migration-'));
  const original = join(dir, 'version-8.db');
  let before: Record<string, unknown>; // the version 8 file, exactly
  let after: Record<string, unknown>; // the same upgraded, exactly
  let expected: ReturnType<typeof view>;

  beforeAll(() => {
    writeVersion8(original);
    before = storedAt(original);
    const copy = join(dir, 'reference.db');
    copyFileSync(original, copy);
    const backend = createNodeSqliteBackend({ path: copy });
    const ws = openWorkspace(backend, { now: NOW });
    expect(ws.fsck().problems).toEqual([]);
    expected = view(ws);
    after = storedState(backend);
    ws.close();
    removeDb(copy);
    expect(after).not.toEqual(before);
    expect(Object.keys(expected.snapshots)).toEqual(['s1', 's2']);
  }, 60_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Opens the trial's file with this code (upgrading it if it is still version 8) and checks everything a user could. */
  function expectUpgradedWhole(path: string, label: string): void {
    const backend = createNodeSqliteBackend({ path });
    const ws = openWorkspace(backend, { now: NOW });
    try {
      expect(storedState(backend), `${label}: the upgraded state`).toEqual(after);
      expect(ws.fsck().problems, label).toEqual([]);
      expect(view(ws), label).toEqual(expected);
      for (const name of ['s1', 's2']) {
        ws.restore(name);
        expect(snapshot(ws).tree, `${label}: restore ${name}`).toEqual(expected.snapshots[name]);
      }
    } finally {
      ws.close();
    }
  }

  it(`leaves version 8 or version 9 whole after SIGKILLs spread over the upgrade (${KILLS} runs)`, async () => {
    const db = join(dir, 'killed.db');
    const outcomes = { before: 0, afterUnacknowledged: 0, afterAcknowledged: 0 };
    // The first run is left to finish: how long the upgrade takes in a child, cold, from `ready`.
    let childMs = 0;
    for (let kill = 0; kill < KILLS; kill++) {
      removeDb(db);
      copyFileSync(original, db);
      // Then from at once to half again that long.
      const delay = kill === 0 ? 3000 : (1.5 * childMs * (kill - 1)) / (KILLS - 2);
      const acked = await runUntilKilled(CHILD, [db, 'kill'], delay);
      if (kill === 0) {
        expect(acked).toHaveLength(1);
        childMs = Number(/migrated in ([\d.]+) ms/.exec(acked[0])?.[1]);
        expect(childMs).toBeGreaterThan(0);
      }
      const state = storedAt(db);
      const label = `kill ${kill} after ${delay.toFixed(1)} ms`;
      if (isDeepStrictEqual(state, before)) {
        expect(acked, `${label}: acknowledged, but still version 8`).toEqual([]);
        outcomes.before++;
      } else {
        expect(state, `${label}: neither version 8 nor the upgraded state`).toEqual(after);
        if (acked.length > 0) outcomes.afterAcknowledged++;
        else outcomes.afterUnacknowledged++;
      }
      expectUpgradedWhole(db, label);
    }
    // Kills landed before the upgrade's COMMIT (the first run is the one that always lands after).
    expect(outcomes.before).toBeGreaterThan(0);
    recordFigure(
      'migration-crash',
      `${KILLS} SIGKILLs of a child upgrading a version 8 workspace of ${BULK + 19} blobs, one after it finished (the upgrade took ${childMs} ms there) ` +
        `and ${KILLS - 1} spread from at once to half again that long: ` +
        `${outcomes.before} left version 8 exactly, ${outcomes.afterUnacknowledged} the upgraded state before it was acknowledged, ` +
        `${outcomes.afterAcknowledged} after; none a mix; every next open upgraded it, fsck clean, every file and snapshot as before, both snapshots restored`,
    );
  }, 90_000);

  it('lets several processes open a version 8 workspace at once: exactly one upgrades it, the others wait and open it', async () => {
    const db = join(dir, 'raced.db');
    let readOnlyOpened = 0;
    let readOnlyRefused = 0;
    for (let round = 0; round < ROUNDS; round++) {
      removeDb(db);
      copyFileSync(original, db);
      const startAt = Date.now() + 1500;
      const results = await Promise.all([
        runChild([db, 'race', String(startAt)]),
        runChild([db, 'race', String(startAt)]),
        runChild([db, 'race-read-only', String(startAt)]),
      ]);
      const [first, second, reader] = results;
      expect(first.code, JSON.stringify(results)).toBeUndefined();
      expect(second.code, JSON.stringify(results)).toBeUndefined();
      expect(first.altered + second.altered + reader.altered, JSON.stringify(results)).toBe(1);
      expect(reader.altered).toBe(0);
      // The read-only one came first and found version 8 (a refusal that says what to run), or after.
      if (reader.code === undefined) readOnlyOpened++;
      else {
        expect(reader.code).toBe('EROFS');
        expect(reader.detail).toContain('dofs init');
        readOnlyRefused++;
      }
      expectUpgradedWhole(db, `round ${round}`);
    }
    recordFigure(
      'migration-race',
      `${ROUNDS} rounds of two writable processes and a read-only one opening a version 8 workspace at the same moment: ` +
        `exactly one upgraded it every time, the other waited and opened it; the read-only one opened the upgraded workspace ${readOnlyOpened} times ` +
        `and was refused with EROFS naming dofs init ${readOnlyRefused} times (it came first); fsck clean, every file and snapshot as before`,
    );
  }, 90_000);

  describe.skipIf(TMPFS_SKIP_REASON !== undefined)(`a full disk ${TMPFS_SKIP_REASON ?? ''}`, () => {
    it('refuses the upgrade with ENOSPC saying how much room to make, changes nothing, and upgrades once there is room', () => {
      const disk = mountTmpfs(24);
      let backend: ReturnType<typeof createNodeSqliteBackend> | undefined;
      try {
        const db = join(disk.dir, 'ws.db');
        copyFileSync(original, db);
        // Full but for 128 KiB, and no reserve (reserveBytes 0): the default 2 MiB reserve, which
        // the backend lets go of to open on a full disk, would hold the upgrade of a catalogue this small.
        const filler = join(disk.dir, 'filler');
        const fd = openSync(filler, 'w');
        for (const size of [1024 * 1024, 4096, 1]) {
          try {
            for (;;) writeSync(fd, new Uint8Array(size));
          } catch (error) {
            expect((error as NodeJS.ErrnoException).code).toBe('ENOSPC');
          }
        }
        closeSync(fd);
        truncateSync(filler, statSync(filler).size - 128 * 1024);
        backend = createNodeSqliteBackend({ path: db, reserveBytes: 0 });
        let caught: unknown;
        try {
          openWorkspace(backend, { now: NOW });
        } catch (error) {
          caught = error;
        }
        expect(isFsError(caught), String(caught)).toBe(true);
        const error = caught as FsError;
        expect(error.code).toBe('ENOSPC');
        expect(error.syscall).toBe('open');
        expect(error.detail).toMatch(
          /from schema version 8 to 9 .* needs about \d+ MiB of free space; nothing was changed: free that much and open it again/,
        );
        expect((error.cause as Error).message).toMatch(/database or disk is full/);
        expect(storedState(backend)).toEqual(before);
        backend.close();
        backend = undefined;
        rmSync(filler);
        expectUpgradedWhole(db, 'after room was made');
      } finally {
        backend?.close();
        disk.unmount();
      }
    }, 60_000);
  });
});

/** Runs the child in a race mode to its end and parses its one line. */
function runChild(args: string[]): Promise<{ altered: number; code?: string; detail?: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let errors = '';
    child.stdout.on('data', (data) => (out += data));
    child.stderr.on('data', (data) => (errors += data));
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`the child exited with ${code}: ${errors}`));
      else resolve(JSON.parse(out));
    });
  });
}
