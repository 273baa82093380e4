// Files removed while open on a --shared mount: the daemon frees nameless files at start only when
// no other process has the database open, since those files may be another mount's open ones.
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createNodeSqliteBackend } from '../../backends/node-sqlite/index.ts';
import { openWorkspace } from '../../core/index.ts';
import { BIN, ensureUnmounted, expectFsckClean, makeTemp, removeTemp, sh, startDaemon } from './helpers.ts';

vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });

// Opens a file, writes 200,000 bytes, fsyncs, unlinks it, fsyncs the directory and says "ready";
// on a line from stdin it writes 4 more bytes past them, fsyncs, and prints what fstat and reads of
// the descriptor answer.
const HOLDER = `
const fs = require('node:fs');
const file = process.argv[1] + '/held';
const fd = fs.openSync(file, 'w+');
fs.writeSync(fd, Buffer.alloc(200000, 'x'));
fs.fsyncSync(fd);
fs.unlinkSync(file);
const dir = fs.openSync(process.argv[1], 'r');
fs.fsyncSync(dir); // the unlink committed: a kill of the daemon now cannot undo it
fs.closeSync(dir);
process.stdout.write('ready\\n');
process.stdin.once('data', () => {
  const answer = (fn) => { try { return fn(); } catch (error) { return error.code; } };
  const write = answer(() => { fs.writeSync(fd, 'more', 200000); fs.fsyncSync(fd); return 'ok'; });
  const size = answer(() => fs.fstatSync(fd).size);
  const tail = answer(() => { const b = Buffer.alloc(4); fs.readSync(fd, b, 0, 4, 200000); return b.toString(); });
  process.stdout.write(JSON.stringify({ write, size, tail }) + '\\n');
  fs.closeSync(fd);
  process.exit(0);
});`;

/** Resolves with the next line `child` prints. */
function nextLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (data: Buffer) => {
      text += data;
      if (!text.includes('\n')) return;
      child.stdout?.off('data', onData);
      resolve(text.slice(0, text.indexOf('\n')));
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`the holder exited (${code}) before printing a line`)));
  });
}

describe('files removed while open on a --shared mount', () => {
  let dir: string;
  const mountpoints: string[] = [];
  beforeAll(async () => {
    dir = await makeTemp('shared-open');
  });
  afterAll(async () => {
    for (const mnt of mountpoints) await ensureUnmounted(mnt);
    await removeTemp(dir);
  });

  it('stay readable and writable through their descriptor when a second --shared mount of the database starts', async () => {
    const db = join(dir, 'two.db');
    const [first, second] = [join(dir, 'first'), join(dir, 'second')];
    mountpoints.push(first, second);
    const daemons = [await startDaemon(db, first, { args: ['--shared'] })];
    const holder = spawn(process.execPath, ['-e', HOLDER, first], { stdio: ['pipe', 'pipe', 'inherit'] });
    try {
      expect(await nextLine(holder)).toBe('ready');
      daemons.push(await startDaemon(db, second, { args: ['--shared'] }));
      // Beside the mounts, `dofs fsck` names the held file and finds no problem (it exited 1 before:
      // 'inode is not reachable from the root').
      const fsck = await sh(`'${process.execPath}' '${BIN}' --db '${db}' fsck`, { allowFail: true });
      expect(fsck).toMatchObject({
        code: 0,
        stdout: expect.stringMatching(/^fsck: ok \(.*, 1 removed while open\)$/m),
      });
      const answer = nextLine(holder);
      holder.stdin?.write('go\n');
      // Before: the second daemon deleted the nameless file at its start, and the holder's
      // write answered ENOENT (fstat too).
      expect(JSON.parse(await answer)).toEqual({ write: 'ok', size: 200_004, tail: 'more' });
      for (const daemon of daemons) await expectFsckClean(daemon);
    } finally {
      holder.kill();
      for (const daemon of daemons) expect(await daemon.stop()).toBe(0);
    }
  });

  it('a lone --shared mount still frees what a killed mount left open and unlinked', async () => {
    const db = join(dir, 'lone.db');
    const mnt = join(dir, 'lone');
    mountpoints.push(mnt);
    const killed = await startDaemon(db, mnt, { args: ['--shared'] });
    const holder = spawn(process.execPath, ['-e', HOLDER, mnt], { stdio: ['pipe', 'pipe', 'inherit'] });
    expect(await nextLine(holder)).toBe('ready');
    killed.child.kill('SIGKILL');
    await killed.stop();
    holder.kill('SIGKILL');
    await sh(`fusermount -uz '${mnt}'`, { allowFail: true });
    const ws = openWorkspace(createNodeSqliteBackend({ path: db }), { readOnly: true });
    try {
      // What the crash left: the held file, nameless.
      expect(ws.fsck()).toMatchObject({ ok: true, checked: { nameless: 1 } });
    } finally {
      ws.close();
    }
    const daemon = await startDaemon(db, mnt, { args: ['--shared'] });
    try {
      expect((await daemon.get('/fsck')).body).toMatchObject({ ok: true, checked: { nameless: 0 } });
      // The lock taken to reclaim was let go: another process opens and writes the database.
      expect((await sh(`'${process.execPath}' '${BIN}' --db '${db}' mkdir /beside`)).code).toBe(0);
    } finally {
      expect(await daemon.stop()).toBe(0);
    }
  });
});
