// A full disk, for real: a workspace on a 20 MiB tmpfs filled until SQLite reports SQLITE_FULL.
// The caller gets a Node-shaped ENOSPC, nothing acknowledged is lost, deleting still works (the
// backend's reserve), and writing works again on the same connection once there is room.
import { spawnSync } from 'node:child_process';
import {
  closeSync,
  copyFileSync,
  existsSync,
  mkdtempSync,
  openSync,
  rmSync,
  statfsSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createNodeSqliteBackend } from '../backends/node-sqlite/index.ts';
import { patternBytes } from '../conformance/cases/files.ts';
import { type FsError, isFsError, openWorkspace, type Usage, type Workspace } from '../core/index.ts';
import { mountTmpfs, TMPFS_SKIP_REASON, type Tmpfs } from './support/tmpfs.ts';

const FILE = 256 * 1024;

/** Writes `/f0`, `/f1`, … until the disk is full; returns how many were acknowledged and the error. */
function fill(ws: Workspace, size = FILE): { written: number; error: FsError } {
  for (let i = 0; i < 1000; i++) {
    try {
      ws.writeFile(`/f${i}`, patternBytes(size, i));
    } catch (error) {
      if (!isFsError(error)) throw error;
      return { written: i, error };
    }
  }
  throw new Error('the disk never filled up');
}

/** Fails unless every acknowledged file is there with its bytes, and fsck (re-hashing) is clean. */
function expectIntact(ws: Workspace, files: Iterable<number>): void {
  for (const i of files) expect(Buffer.from(ws.readFile(`/f${i}`))).toEqual(Buffer.from(patternBytes(FILE, i)));
  const report = ws.fsck();
  expect(report.problems).toEqual([]);
  expect(report.ok).toBe(true);
}

describe.skipIf(TMPFS_SKIP_REASON !== undefined)(`a full disk (library) ${TMPFS_SKIP_REASON ?? ''}`, () => {
  let disk: Tmpfs;
  let ws: Workspace;
  beforeEach(() => {
    disk = mountTmpfs(20);
    ws = openWorkspace(createNodeSqliteBackend({ path: join(disk.dir, 'ws.db') }));
  });
  afterEach(() => {
    ws.close();
    disk.unmount();
  });

  it('answers ENOSPC shaped like node, keeps what was acknowledged, deletes, then writes again', () => {
    expect(existsSync(join(disk.dir, 'ws.db-reserve'))).toBe(true);
    const { written, error } = fill(ws);
    expect(written).toBeGreaterThan(20);
    expect(error.code).toBe('ENOSPC');
    expect(error.errno).toBe(-28);
    expect(error.syscall).toBe('open');
    expect(error.path).toBe(`/f${written}`);
    expect(error.message).toBe(`ENOSPC: no space left on device, open '/f${written}'`);
    expect((error.cause as Error).message).toMatch(/database or disk is full/);

    // Still full, still ENOSPC (not EIO from a confused connection), and the reserve untouched by writes.
    // (A write right after the failure may fit: the rolled-back transaction's pages are free again
    // in an incremental-vacuum database. Whatever fits is kept; the first that does not is ENOSPC.)
    let extra = 0;
    for (const size of [FILE, 10]) {
      for (let attempt = 0; ; attempt++) {
        expect(attempt, 'the disk never filled up again').toBeLessThan(50);
        try {
          ws.writeFile(`/more${extra}`, patternBytes(size));
          extra++;
        } catch (caught) {
          expect(caught).toMatchObject({ code: 'ENOSPC' });
          break;
        }
      }
    }
    expect(existsSync(join(disk.dir, 'ws.db-reserve'))).toBe(true);
    expect(ws.exists(`/f${written}`)).toBe(false);
    const all = Array.from({ length: written }, (_, i) => i);
    expectIntact(ws, all);

    // Deleting works on the full disk: the first deletion spends the reserve.
    const removed = all.filter((i) => i % 2 === 0);
    for (let i = 0; i < extra; i++) ws.unlink(`/more${i}`);
    for (const i of removed) ws.unlink(`/f${i}`);
    const garbage = ws.usage().garbageBytes;
    expect(garbage).toBeGreaterThan(removed.length * FILE * 0.9);
    // The background collector's bounded steps (what the mount and every CLI change run) free it
    // on the full disk and give the pages back to the file system, and with them the reserve.
    const diskFree = () => statfsSync(disk.dir).bavail * statfsSync(disk.dir).bsize;
    const freeBefore = diskFree();
    let freed = 0;
    let steps = 0;
    for (let wrapped = false; !wrapped; steps++) {
      const step = ws.gcStep({ maxBlobs: 8 });
      freed += step.bytes;
      wrapped = step.wrapped && step.blobs === 0;
    }
    expect(steps).toBeGreaterThan(garbage / ws.db.chunkSize / 8); // 8 blobs at most per step
    expect(freed).toBe(garbage);
    expect(diskFree()).toBeGreaterThan(freeBefore + garbage * 0.8 - 2 * 1024 * 1024);
    expect(statSync(join(disk.dir, 'ws.db-reserve')).size).toBe(2 * 1024 * 1024);

    // Writing works again, on the same connection, in the room the deletions made.
    const kept = all.filter((i) => i % 2 === 1);
    for (let i = written; i < written + removed.length / 2; i++) {
      ws.writeFile(`/f${i}`, patternBytes(FILE, i));
      kept.push(i);
    }
    expectIntact(ws, kept);
  }, 60_000);

  it('writes again without reopening once space is freed outside the workspace', () => {
    const filler = join(disk.dir, 'filler');
    writeFileSync(filler, new Uint8Array(4 * 1024 * 1024));
    const { written } = fill(ws);
    rmSync(filler);
    for (let i = written; i < written + 8; i++) ws.writeFile(`/f${i}`, patternBytes(FILE, i));
    expectIntact(
      ws,
      Array.from({ length: written + 8 }, (_, i) => i),
    );
    // Writes never spend the reserve: it is all there for deletions.
    expect(statSync(join(disk.dir, 'ws.db-reserve')).size).toBe(2 * 1024 * 1024);
  }, 60_000);

  it('opens a database with its WAL on a full disk by letting go of the reserve', () => {
    // A mount stopped on a full disk leaves its WAL (the closing checkpoint had no room); opening it
    // again must write the WAL's index (-shm) first: dofs gc, fsck and a new mount answered
    // "disk I/O error" until room was made outside the workspace.
    ws.writeFile('/a', patternBytes(FILE, 1));
    const image = join(disk.dir, 'image.db');
    for (const suffix of ['', '-wal', '-reserve']) copyFileSync(join(disk.dir, `ws.db${suffix}`), `${image}${suffix}`);
    ws.close();
    rmSync(join(disk.dir, 'ws.db'));
    rmSync(join(disk.dir, 'ws.db-reserve'));
    for (const size of [1024 * 1024, 4096, 1]) {
      const filler = openSync(join(disk.dir, `filler-${size}`), 'w');
      try {
        for (;;) writeSync(filler, new Uint8Array(size));
      } catch (error) {
        expect((error as NodeJS.ErrnoException).code).toBe('ENOSPC');
      } finally {
        closeSync(filler);
      }
    }
    expect(statfsSync(disk.dir).bavail).toBe(0);
    ws = openWorkspace(createNodeSqliteBackend({ path: image }));
    expect(existsSync(`${image}-reserve`)).toBe(false);
    expectIntact(ws, []);
    expect(Buffer.from(ws.readFile('/a'))).toEqual(Buffer.from(patternBytes(FILE, 1)));
  }, 60_000);
});

const BIN = fileURLToPath(new URL('../adapters/cli/bin.ts', import.meta.url));

/** Runs `dofs --db DB args…` and returns its status and stderr. */
function dofs(db: string, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [BIN, '--db', db, ...args], {
    encoding: 'utf8',
    env: { ...process.env, DOFS_NO_PROGRESS: '1', DOFS_DEBUG: '' },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Puts 1 MiB files of distinct content (so dedup cannot keep the disk from filling) until `dofs put` fails. */
function putUntilFull(
  db: string,
  source: string,
  from: number,
): { written: number; failure: { status: number | null; stderr: string } } {
  for (let i = from; i < from + 40; i++) {
    writeFileSync(source, patternBytes(1024 * 1024, i));
    const result = dofs(db, 'put', source, `/f${i}`);
    if (result.status !== 0) return { written: i, failure: result };
  }
  throw new Error('the disk never filled up');
}

describe.skipIf(TMPFS_SKIP_REASON !== undefined)(`a full disk (CLI) ${TMPFS_SKIP_REASON ?? ''}`, () => {
  it('dofs put says ENOSPC; dofs gc, du and rm work on the full disk; dofs put works again after rm or once room is made outside', () => {
    const disk = mountTmpfs(20);
    const local = mkdtempSync(join(tmpdir(), 'dofs-full-src-'));
    try {
      const db = join(disk.dir, 'ws.db');
      const source = join(local, 'one-mib');
      // Room taken outside the workspace, given back at the end.
      const filler = join(disk.dir, 'filler');
      writeFileSync(filler, new Uint8Array(3 * 1024 * 1024));
      const { written, failure } = putUntilFull(db, source, 0);
      expect(written).toBeGreaterThan(5);
      expect(failure.status).toBe(1);
      // One line naming the code, the operation and the path: staging a chunk of the stream is a
      // write; the last transaction opens the file.
      expect(failure.stderr).toMatch(
        new RegExp(`^dofs: ENOSPC: no space left on device, (write|open) '/f${written}'\n$`),
      );
      expect(dofs(db, 'fsck').status).toBe(0);

      // Still full: du answers, and gc runs (it may spend the reserve) and frees what the failed
      // put staged, which du counted as garbage kept for unfinished writes.
      const before = JSON.parse(dofs(db, 'du', '--json').stdout) as Usage;
      expect(before.files).toBe(written);
      expect(before.garbageBytes).toBe(before.stagedGarbageBytes);
      const gc = dofs(db, 'gc', '--safety-window-ms', '0', '--json');
      expect(gc).toMatchObject({ status: 0, stderr: '' });
      expect(JSON.parse(gc.stdout).bytes).toBe(before.garbageBytes);
      expect(JSON.parse(dofs(db, 'du', '--json').stdout)).toMatchObject({ garbageBytes: 0, files: written });

      // The disk may have some room again (the staged chunks); fill it once more, then delete.
      const refill = putUntilFull(db, source, written);
      expect(refill.failure.stderr).toMatch(/^dofs: ENOSPC: no space left on device, (write|open) '\/f\d+'\n$/);
      const total = refill.written;
      const victims = Array.from({ length: Math.ceil(total / 2) }, (_, i) => `/f${i}`);
      expect(dofs(db, 'rm', ...victims)).toMatchObject({ status: 0, stderr: '' });
      // rm collected what it freed and gave the pages back to the file system (a bounded gc step
      // after the change, its vacuum in checkpointed steps that fit on the full disk); only the
      // chunks the failed put staged wait, as du says, and the reserve is back for next time.
      const after = JSON.parse(dofs(db, 'du', '--json').stdout) as Usage;
      expect(after).toMatchObject({ files: total - victims.length, garbageBytes: after.stagedGarbageBytes });
      const free = statfsSync(disk.dir);
      expect(free.bavail * free.bsize).toBeGreaterThan((victims.length - 1) * 1024 * 1024 - 2 * 1024 * 1024);
      expect(statSync(join(disk.dir, 'ws.db-reserve')).size).toBe(2 * 1024 * 1024);
      expect(dofs(db, 'put', source, '/again')).toMatchObject({ status: 0, stderr: '' });

      // Full again; room made outside the workspace is used by the next put, with nothing to repair.
      const last = putUntilFull(db, source, total);
      expect(last.failure.status).toBe(1);
      rmSync(filler);
      expect(dofs(db, 'put', source, '/after-room')).toMatchObject({ status: 0, stderr: '' });
      expect(dofs(db, 'cat', '/after-room').stdout).toBe(
        Buffer.from(patternBytes(1024 * 1024, last.written)).toString(),
      );
      expect(dofs(db, 'fsck')).toMatchObject({ status: 0 });
      const listed = dofs(db, 'ls', '/').stdout.split('\n').filter(Boolean);
      const kept = Array.from({ length: last.written }, (_, i) => `f${i}`).filter(
        (name) => !victims.includes(`/${name}`),
      );
      expect(listed.sort()).toEqual(['after-room', 'again', ...kept].sort());
    } finally {
      rmSync(local, { recursive: true, force: true });
      disk.unmount();
    }
  }, 180_000);
});
