/**
 * The mount daemon killed mid-write: a writer appends blocks to files on the mount and fsyncs each
 * one before acknowledging it; the daemon is SIGKILLed at a random moment. After the stale mount is
 * cleared, the workspace (opened with the library) holds every acknowledged block and is fsck-clean.
 * Files closed without an fsync (a close is answered before its group's COMMIT) are each as one
 * of their states left them, never a mix, and the mount serves them again after a restart.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createNodeSqliteBackend } from '../../backends/node-sqlite/index.ts';
import { openWorkspace } from '../../core/workspace.ts';
import { recordFigure } from '../support/reliability-report.ts';
import { ensureUnmounted, expectFsckClean, makeTemp, removeTemp, sh, startDaemon } from './helpers.ts';

const KILLS = 5;
const BLOCK = 64 * 1024;

/** A block's bytes: its file and index spelled out, so any mix-up shows. */
const block = (file: number, index: number): Buffer => Buffer.alloc(BLOCK, `<${file}:${index}>`);

/** Resolves once `child` has exited, also when it already had (then 'exit' will not fire again). */
const exited = (child: ChildProcess): Promise<unknown> =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => child.once('exit', resolve));

/** `promise`, or a failure naming what did not happen within 20 s (rather than the test's whole timeout). */
async function within<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within 20 s`)), 20_000);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

const WRITER = `
const fs = require('node:fs');
const [mnt, files] = process.argv.slice(1);
const fds = Array.from({ length: Number(files) }, (_, f) => fs.openSync(mnt + '/file-' + f, 'a'));
for (let i = 0; ; i++) {
  for (let f = 0; f < fds.length; f++) {
    fs.writeSync(fds[f], Buffer.alloc(${BLOCK}, '<' + f + ':' + i + '>'));
    fs.fsyncSync(fds[f]);
    process.stdout.write(f + ' ' + i + '\\n');
  }
}`;

// Metadata answered inside a group commit (mkdir, create, rename, unlink are acknowledged before
// their COMMIT): what an fsync of a file or of its directory acknowledged must survive.
const RENAMER = `
const fs = require('node:fs');
const [mnt] = process.argv.slice(1);
for (let i = 0; ; i++) {
  const dir = mnt + '/d-' + i;
  fs.mkdirSync(dir);
  fs.writeFileSync(dir + '/new', 'content ' + i);
  fs.writeFileSync(dir + '/gone', 'removed ' + i);
  const fd = fs.openSync(dir + '/new', 'r+');
  fs.fsyncSync(fd);
  fs.closeSync(fd);
  fs.renameSync(dir + '/new', dir + '/kept');
  fs.unlinkSync(dir + '/gone');
  const dirFd = fs.openSync(dir, 'r');
  fs.fsyncSync(dirFd);
  fs.closeSync(dirFd);
  process.stdout.write(i + '\\n');
}`;

// Files written whole and closed, never fsynced: created (c-i, generation 0) and, two files later,
// rewritten with another size (generation 1); every tenth file the directory is fsynced, which
// commits every close before it. Sizes cross chunk boundaries, and the largest passes the write
// buffer's 8 MiB, so its chunks are staged before its close (and its create committed before them).
const SIZES = [100, 200_000, 1_100_003, 9_500_000];
const contentOf = (i: number, generation: number): Buffer =>
  Buffer.alloc(SIZES[(i + generation) % SIZES.length], `<${i}:${generation}>`);
const CLOSER = `
const fs = require('node:fs');
const [mnt] = process.argv.slice(1);
const sizes = ${JSON.stringify(SIZES)};
const content = (i, generation) => Buffer.alloc(sizes[(i + generation) % sizes.length], '<' + i + ':' + generation + '>');
for (let i = 0; ; i++) {
  fs.writeFileSync(mnt + '/c-' + i, content(i, 0));
  if (i >= 2) fs.writeFileSync(mnt + '/c-' + (i - 2), content(i - 2, 1));
  if (i % 10 === 9) {
    const dirFd = fs.openSync(mnt, 'r');
    fs.fsyncSync(dirFd);
    fs.closeSync(dirFd);
    process.stdout.write(i + '\\n');
  }
}`;

describe('the mount daemon killed mid-write', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) {
      await ensureUnmounted(join(dir, 'mnt'));
      await removeTemp(dir);
    }
  });

  it(`keeps every fsynced block across ${KILLS} SIGKILLs of the daemon`, async () => {
    const dir = await makeTemp('fuse-crash');
    dirs.push(dir);
    const db = join(dir, 'ws.db');
    const mnt = join(dir, 'mnt');
    const FILES = 3;
    const survived = new Map<number, number>(); // file → blocks on disk after the previous round
    for (let kill = 0; kill < KILLS; kill++) {
      const daemon = await startDaemon(db, mnt);
      const writer = spawn(process.execPath, ['-e', WRITER, mnt, String(FILES)], {
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      // Listened for from the start: the writer may end by itself (its mount gone) before it is killed.
      const writerClosed = new Promise((resolve) => writer.once('close', resolve));
      let buffered = '';
      let lines = 0;
      const round = new Map<number, number>();
      writer.stdout.on('data', (data) => {
        buffered += data;
        const parts = buffered.split('\n');
        buffered = parts.pop() ?? '';
        for (const line of parts) {
          const [file, index] = line.split(' ').map(Number);
          round.set(file, index + 1);
          lines++;
        }
      });
      // Kill at a random moment once the writer is going (its start may be slow on a loaded machine).
      const started = Date.now();
      while (lines === 0 && Date.now() - started < 30_000) await new Promise((resolve) => setTimeout(resolve, 20));
      await new Promise((resolve) => setTimeout(resolve, 100 + ((kill * 977) % 600)));
      daemon.child.kill('SIGKILL');
      await within(exited(daemon.child), 'the daemon did not exit after SIGKILL');
      expect(daemon.child.signalCode, `the daemon ended by itself before the kill:\n${daemon.log()}`).toBe('SIGKILL');
      writer.kill('SIGKILL');
      await within(writerClosed, 'the writer did not end after SIGKILL');
      await sh(`fusermount -uz '${mnt}'`, { allowFail: true });
      expect(lines, `round ${kill} acknowledged nothing`).toBeGreaterThan(0);

      const ws = openWorkspace(createNodeSqliteBackend({ path: db }));
      try {
        expect(ws.fsck().problems).toEqual([]);
        for (let file = 0; file < FILES; file++) {
          const floor = (survived.get(file) ?? 0) + (round.get(file) ?? 0);
          if (floor === 0) continue;
          const data = Buffer.from(ws.readFile(`/file-${file}`));
          expect(data.length % BLOCK, `file-${file} holds a torn block after kill ${kill}`).toBe(0);
          // Each round's writer numbers its blocks from 0: a block is the next of its run, or starts a new one.
          let previous = -1;
          for (let offset = 0; offset < data.length; offset += BLOCK) {
            const chunk = data.subarray(offset, offset + BLOCK);
            if (chunk.equals(block(file, previous + 1))) previous++;
            else if (chunk.equals(block(file, 0))) previous = 0;
            else expect.fail(`file-${file}: unexpected bytes at ${offset} after kill ${kill}`);
          }
          expect(data.length / BLOCK, `file-${file}: fsynced blocks lost after kill ${kill}`).toBeGreaterThanOrEqual(
            floor,
          );
          survived.set(file, data.length / BLOCK);
        }
      } finally {
        ws.close();
      }
    }
    const total = [...survived.values()].reduce((sum, n) => sum + n, 0);
    recordFigure(
      'fuse-crash',
      `${KILLS} SIGKILLs of the mount daemon mid-write; every fsynced block present (${total} 64 KiB blocks in the end), none torn; fsck clean every time`,
    );
  }, 240_000);

  it('keeps every mkdir, rename and unlink acknowledged by an fsync of the directory across SIGKILLs', async () => {
    const dir = await makeTemp('fuse-crash-meta');
    dirs.push(dir);
    const db = join(dir, 'ws.db');
    const mnt = join(dir, 'mnt');
    let checked = 0;
    for (let kill = 0; kill < 3; kill++) {
      const daemon = await startDaemon(db, mnt);
      const writer = spawn(process.execPath, ['-e', RENAMER, mnt], { stdio: ['ignore', 'pipe', 'ignore'] });
      // Listened for from the start: the writer may end by itself (its mount gone) before it is killed.
      const writerClosed = new Promise((resolve) => writer.once('close', resolve));
      let acknowledged = -1;
      let buffered = '';
      writer.stdout.on('data', (data) => {
        buffered += data;
        const parts = buffered.split('\n');
        buffered = parts.pop() ?? '';
        for (const line of parts) acknowledged = Number(line);
      });
      const started = Date.now();
      while (acknowledged < 0 && Date.now() - started < 30_000) await new Promise((resolve) => setTimeout(resolve, 20));
      await new Promise((resolve) => setTimeout(resolve, 150 + kill * 211));
      daemon.child.kill('SIGKILL');
      await within(exited(daemon.child), 'the daemon did not exit after SIGKILL');
      expect(daemon.child.signalCode, `the daemon ended by itself before the kill:\n${daemon.log()}`).toBe('SIGKILL');
      writer.kill('SIGKILL');
      await within(writerClosed, 'the writer did not end after SIGKILL');
      await sh(`fusermount -uz '${mnt}'`, { allowFail: true });
      expect(acknowledged, `round ${kill} acknowledged nothing`).toBeGreaterThanOrEqual(0);

      const ws = openWorkspace(createNodeSqliteBackend({ path: db }));
      try {
        expect(ws.fsck().problems).toEqual([]);
        for (let i = 0; i <= acknowledged; i++) {
          const names = ws.readdir(`/d-${i}`).map((entry) => entry.name);
          expect(names, `d-${i} after kill ${kill}`).toEqual(['kept']);
          expect(ws.readFile(`/d-${i}/kept`, 'utf8')).toBe(`content ${i}`);
          checked++;
        }
        // The next round's writer makes d-0… again.
        for (const entry of ws.readdir('/')) ws.rm(`/${entry.name}`, { recursive: true });
      } finally {
        ws.close();
      }
    }
    expect(checked).toBeGreaterThan(0);
  }, 120_000);

  it('leaves every closed file whole or absent across SIGKILLs (closes answered before their COMMIT); the mount serves them after a restart', async () => {
    const dir = await makeTemp('fuse-crash-close');
    dirs.push(dir);
    const db = join(dir, 'ws.db');
    const mnt = join(dir, 'mnt');
    const states = { absent: 0, empty: 0, whole: 0 };
    for (let kill = 0; kill < 3; kill++) {
      const daemon = await startDaemon(db, mnt);
      const writer = spawn(process.execPath, ['-e', CLOSER, mnt], { stdio: ['ignore', 'pipe', 'ignore'] });
      // Listened for from the start: the writer may end by itself (its mount gone) before it is killed.
      const writerClosed = new Promise((resolve) => writer.once('close', resolve));
      let synced = -1;
      let buffered = '';
      writer.stdout.on('data', (data) => {
        buffered += data;
        const parts = buffered.split('\n');
        buffered = parts.pop() ?? '';
        for (const line of parts) synced = Number(line);
      });
      const started = Date.now();
      while (synced < 0 && Date.now() - started < 60_000) await new Promise((resolve) => setTimeout(resolve, 20));
      await new Promise((resolve) => setTimeout(resolve, 200 + kill * 250));
      daemon.child.kill('SIGKILL');
      await within(exited(daemon.child), 'the daemon did not exit after SIGKILL');
      expect(daemon.child.signalCode, `the daemon ended by itself before the kill:\n${daemon.log()}`).toBe('SIGKILL');
      writer.kill('SIGKILL');
      await within(writerClosed, 'the writer did not end after SIGKILL');
      await sh(`fusermount -uz '${mnt}'`, { allowFail: true });
      expect(synced, `round ${kill}: no fsync of the directory was acknowledged`).toBeGreaterThanOrEqual(9);

      const ws = openWorkspace(createNodeSqliteBackend({ path: db }));
      try {
        expect(ws.fsck().problems).toEqual([]);
        const names = new Set(ws.readdir('/').map((entry) => entry.name));
        const last = Math.max(...[...names].map((name) => Number(name.slice(2))));
        for (let i = 0; i <= last; i++) {
          const name = `c-${i}`;
          if (!names.has(name)) {
            // Only a file closed after the last acknowledged fsync of the directory may be missing.
            expect(i, `${name} lost after kill ${kill}`).toBeGreaterThan(synced);
            states.absent++;
            continue;
          }
          const data = Buffer.from(ws.readFile(`/${name}`));
          if (data.length === 0) {
            // Created, its content not committed yet: the state its create left (never after an fsync).
            expect(i, `${name} empty after kill ${kill}`).toBeGreaterThan(synced);
            states.empty++;
            continue;
          }
          // Whole, as one close left it: rewritten before the fsync means the rewrite.
          const generations = i <= synced - 2 ? [1] : [0, 1];
          expect(
            generations.some((generation) => data.equals(contentOf(i, generation))),
            `${name} (${data.length} bytes) is not one whole generation after kill ${kill}`,
          ).toBe(true);
          states.whole++;
        }
        // The next round's writer makes c-0… again.
        for (const entry of ws.readdir('/')) ws.rm(`/${entry.name}`);
      } finally {
        ws.close();
      }
    }
    expect(states.whole).toBeGreaterThan(0);

    // A restart serves what the library reads, takes writes, and stops cleanly.
    const ws = openWorkspace(createNodeSqliteBackend({ path: db }));
    ws.writeFile('/kept', contentOf(7, 0));
    ws.close();
    const daemon = await startDaemon(db, mnt);
    try {
      expect((await readFile(join(mnt, 'kept'))).equals(contentOf(7, 0))).toBe(true);
      await sh(`head -c 300000 /dev/urandom > '${dir}/src' && cp '${dir}/src' '${mnt}/new' && sync '${mnt}/new'`);
      await sh(`cmp '${dir}/src' '${mnt}/new'`);
      await expectFsckClean(daemon);
    } finally {
      expect(await daemon.stop()).toBe(0);
    }
    recordFigure(
      'fuse-crash-close',
      `3 SIGKILLs of the mount daemon while files were created, rewritten and closed without fsync: ${states.whole} whole, ${states.empty} empty (created, content not yet committed), ${states.absent} absent, none torn; every file before the last directory fsync present`,
    );
  }, 180_000);
});
