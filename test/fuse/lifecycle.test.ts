// The daemon's life: what the mount writes is what the library reads (and back), across unmount
// and remount; `dofs mount` with its defaults; SIGTERM with a file still open; a stale mount from
// a killed daemon; clear refusals when FUSE is missing or the mountpoint is taken; the status port.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { removeHiddenLeftovers } from '../../adapters/fuse/daemon.ts';
import { isAlive } from '../../adapters/fuse/records.ts';
import { SQLiteWorkspaceProvider } from '../../adapters/vfs/index.ts';
import { createNodeSqliteBackend } from '../../backends/node-sqlite/index.ts';
import { openWorkspace, type Workspace } from '../../core/index.ts';
import { mountTmpfs } from '../support/tmpfs.ts';
import { BIN, ensureUnmounted, expectFsckClean, isMounted, makeTemp, removeTemp, sh, startDaemon } from './helpers.ts';

vi.setConfig({ testTimeout: 120_000, hookTimeout: 60_000 });

function withLibrary<T>(db: string, fn: (ws: Workspace) => T): T {
  const ws = openWorkspace(createNodeSqliteBackend({ path: db }));
  try {
    return fn(ws);
  } finally {
    ws.close();
  }
}

/** Runs `dofs args…` to completion. */
function dofs(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  return sh(`'${process.execPath}' '${BIN}' ${args.map((a) => `'${a}'`).join(' ')}`, {
    cwd: options.cwd,
    env: options.env,
    allowFail: true,
  });
}

describe('the mount daemon', () => {
  let dir: string;
  const mountpoints: string[] = [];

  beforeAll(async () => {
    dir = await makeTemp('lifecycle');
  });

  afterAll(async () => {
    for (const mnt of mountpoints) await ensureUnmounted(mnt);
    await removeTemp(dir);
  });

  it('what the mount writes the library reads, and the reverse, across unmount and remount', async () => {
    const db = join(dir, 'round.db');
    const mnt = join(dir, 'round');
    mountpoints.push(mnt);
    const blob = randomBytes(1_500_000);
    const local = join(dir, 'local');
    await mkdir(local, { recursive: true });
    await writeFile(join(local, 'blob.bin'), blob);
    // Written by the library before any mount.
    withLibrary(db, (ws) => {
      ws.mkdir('/lib/deep', { recursive: true });
      ws.writeFile('/lib/deep/from-library.txt', 'written by the library\n', { mode: 0o640 });
      ws.writeFile('/lib/blob.bin', blob);
      ws.symlink('deep/from-library.txt', '/lib/link');
    });

    let daemon = await startDaemon(db, mnt);
    try {
      const seen = await sh(
        `cat lib/link && stat -c '%a %s' lib/deep/from-library.txt && cmp lib/blob.bin '${local}/blob.bin' && echo same`,
        { cwd: mnt },
      );
      expect(seen.stdout).toBe('written by the library\n640 23\nsame\n');
      await sh(
        `mkdir -p out/sub && cp '${local}/blob.bin' out/copy.bin && printf 'via the mount' > out/sub/note.txt
         dd if='${local}/blob.bin' of=out/patched.bin bs=64k status=none && printf XYZ | dd of=out/patched.bin bs=1 seek=1000000 conv=notrunc status=none
         chmod 700 out/sub && echo appended >> lib/deep/from-library.txt && ln out/copy.bin out/hard.bin`,
        { cwd: mnt },
      );
      await expectFsckClean(daemon);
    } finally {
      expect(await daemon.stop()).toBe(0);
    }
    expect(await isMounted(mnt)).toBe(false);

    // Read back through the library after the unmount: identical bytes, modes, links.
    const patched = Buffer.from(blob);
    patched.write('XYZ', 1_000_000, 'latin1');
    withLibrary(db, (ws) => {
      expect(Buffer.from(ws.readFile('/out/copy.bin')).equals(blob)).toBe(true);
      expect(Buffer.from(ws.readFile('/out/patched.bin')).equals(patched)).toBe(true);
      expect(ws.readFile('/out/sub/note.txt', 'utf8')).toBe('via the mount');
      expect(ws.readFile('/lib/deep/from-library.txt', 'utf8')).toBe('written by the library\nappended\n');
      expect(ws.stat('/out/sub').mode & 0o777).toBe(0o700);
      expect(ws.stat('/out/hard.bin').ino).toBe(ws.stat('/out/copy.bin').ino);
      expect(ws.stat('/out/copy.bin').nlink).toBe(2);
      expect(ws.fsck().ok).toBe(true);
      // And the library changes things while unmounted.
      ws.writeFile('/out/sub/note.txt', 'changed by the library');
      ws.rm('/out/patched.bin');
    });

    daemon = await startDaemon(db, mnt);
    try {
      const again = await sh(
        `cat out/sub/note.txt && echo && test ! -e out/patched.bin && cmp out/copy.bin '${local}/blob.bin' && cat lib/link`,
        { cwd: mnt },
      );
      expect(again.stdout).toBe('changed by the library\nwritten by the library\nappended\n');
      await expectFsckClean(daemon);
    } finally {
      expect(await daemon.stop()).toBe(0);
    }
  });

  it('`dofs mount` with no arguments mounts ./workspace.db at ./workspace, and git works inside', async () => {
    const cwd = join(dir, 'project');
    await mkdir(cwd, { recursive: true });
    const mnt = join(cwd, 'workspace');
    mountpoints.push(mnt);
    const daemon = await startDaemon(join(cwd, 'workspace.db'), mnt, { defaults: true, cwd });
    try {
      expect(daemon.log()).toContain(`mounted ${join(cwd, 'workspace.db')} (new) at ${mnt}`);
      const git = await sh(
        'git init -q && echo hello > a.txt && git add a.txt && git -c user.email=t@e -c user.name=t commit -q -m one && git log --oneline | wc -l',
        { cwd: mnt },
      );
      expect(git.stdout.trim()).toBe('1');
      const health = await daemon.get<{ ok: boolean; mountpoint: string; db: string }>('/health');
      expect(health.body).toMatchObject({ ok: true, mountpoint: mnt, db: join(cwd, 'workspace.db') });
      const stats = await daemon.get<{
        usage: { files: number };
        rows: Record<string, number>;
        fuse: { options: string[]; maxRequestBytes: number; batches: { count: number; requests: number } };
      }>('/stats');
      expect(stats.body.usage.files).toBeGreaterThan(5);
      expect(stats.body.rows.vfs_nodes).toBeGreaterThan(stats.body.usage.files);
      expect(stats.body.rows.vfs_blobs).toBeGreaterThan(0);
      expect(stats.body.fuse.options).toEqual(
        expect.arrayContaining(['subtype=dofs', 'default_permissions', 'noatime', 'allow_other']),
      );
      expect(stats.body.fuse.maxRequestBytes).toBe(1024 * 1024);
      // git's requests arrived in batches: more requests than wake-ups.
      expect(stats.body.fuse.batches.requests).toBeGreaterThan(stats.body.fuse.batches.count);
      expect((await daemon.get('/nope')).status).toBe(404);
      const df = await sh(`df -B1 --output=size,used,avail '${mnt}' | tail -1`);
      const [size, used, avail] = df.stdout.trim().split(/\s+/).map(Number);
      expect(size).toBeGreaterThan(0);
      expect(used).toBeGreaterThan(0);
      expect(avail).toBeGreaterThan(0);
    } finally {
      expect(await daemon.stop()).toBe(0);
    }
  });

  it("--busy-wait: a caller's next requests are read while the daemon busy-waits (none with 0); bad values are refused", async () => {
    const bad = await dofs(['--db', join(dir, 'bw.db'), 'mount', '--port', '0', '--busy-wait', '-5', join(dir, 'bw')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--busy-wait: expected microseconds from 0 to 10000, got '-5'");
    const caught: Record<string, { count: number; caughtBusyWaiting: number; busyWaitMillis: number }> = {};
    for (const wait of ['0', '2000']) {
      const mnt = join(dir, `bw${wait}`);
      mountpoints.push(mnt);
      const daemon = await startDaemon(join(dir, `bw${wait}.db`), mnt, { args: ['--busy-wait', wait] });
      try {
        // One caller, one request at a time: each next request follows its reply within microseconds.
        await sh(
          `'${process.execPath}' -e "const fs = require('fs'); for (let i = 0; i < 200; i++) fs.writeFileSync('f' + i, 'x')"`,
          { cwd: mnt },
        );
        const stats = await daemon.get<{ fuse: { batches: (typeof caught)[string] } }>('/stats');
        caught[wait] = stats.body.fuse.batches;
      } finally {
        expect(await daemon.stop()).toBe(0);
      }
    }
    expect(caught['0']).toMatchObject({ caughtBusyWaiting: 0, busyWaitMillis: 0 });
    // Most are caught on an idle machine (about nine in ten); on a loaded one (other test files
    // beside this one) the caller may take longer than the wait, so only some must be.
    expect(caught['2000'].caughtBusyWaiting).toBeGreaterThan(0);
    expect(caught['2000'].busyWaitMillis).toBeGreaterThan(0);
  });

  it('SIGTERM with a file still open commits what was written, unmounts and checkpoints', async () => {
    const db = join(dir, 'busy.db');
    const mnt = join(dir, 'busy');
    mountpoints.push(mnt);
    const daemon = await startDaemon(db, mnt);
    // A writer that keeps its file open (and its cwd inside the mount) until killed.
    const writer = spawn(
      process.execPath,
      [
        '-e',
        `const fs = require('node:fs'); const fd = fs.openSync('open.bin', 'w');
         fs.writeSync(fd, Buffer.alloc(700000, 7)); fs.writeSync(fd, 'tail');
         console.log('written'); setInterval(() => {}, 1000);`,
      ],
      { cwd: mnt, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      await new Promise<void>((resolve) => writer.stdout?.once('data', () => resolve()));
      expect(await daemon.stop()).toBe(0);
      expect(daemon.log()).toMatch(/busy.*detaching it lazily/);
    } finally {
      writer.kill('SIGKILL');
    }
    expect(await isMounted(mnt)).toBe(false);
    withLibrary(db, (ws) => {
      const bytes = ws.readFile('/open.bin');
      expect(bytes.byteLength).toBe(700004);
      expect(Buffer.from(bytes.subarray(700000)).toString()).toBe('tail');
      expect(ws.fsck().ok).toBe(true);
    });
    // The WAL was checkpointed into the database file.
    const wal = await readFile(`${db}-wal`).catch(() => Buffer.alloc(0));
    expect(wal.byteLength).toBe(0);
  });

  it('SIGTERM after the reader of its output went away (dofs mount 2>&1 | head -1): unmounts, commits and exits 0', async () => {
    const db = join(dir, 'headless.db');
    const mnt = join(dir, 'headless');
    mountpoints.push(mnt);
    const daemon = await startDaemon(db, mnt);
    const exited = new Promise<number | null>((resolve) => daemon.child.once('exit', (code) => resolve(code)));
    await sh('echo closed > a.txt', { cwd: mnt });
    // The pipes' reading ends close: the daemon's next log line ("SIGTERM: unmounting") meets EPIPE.
    daemon.child.stdout?.destroy();
    daemon.child.stderr?.destroy();
    daemon.child.kill('SIGTERM');
    // Before: the EPIPE ended the process at once, leaving a dead mount (ENOTCONN) and the last
    // group uncommitted.
    expect(await exited).toBe(0);
    expect(await isMounted(mnt)).toBe(false);
    withLibrary(db, (ws) => {
      expect(ws.readFile('/a.txt', 'utf8')).toBe('closed\n');
      expect(ws.fsck().ok).toBe(true);
    });
  });

  it('unmounted from outside (fusermount3 -u, or -uz with a file still open): the daemon commits, lets go of the database and exits 0', async () => {
    for (const lazy of [false, true]) {
      const db = join(dir, `outside-${lazy}.db`);
      const mnt = join(dir, `outside-${lazy}`);
      mountpoints.push(mnt);
      const daemon = await startDaemon(db, mnt);
      const exited = new Promise<number | null>((resolve) => daemon.child.once('exit', (code) => resolve(code)));
      await sh('echo before > a.txt', { cwd: mnt });
      if (lazy) {
        // A lazy unmount leaves the mount working for the file still open; the session ends at its close.
        await sh(
          `exec 3> '${mnt}/open.txt'; echo first >&3; fusermount3 -uz '${mnt}'; sleep 0.5; echo second >&3; exec 3>&-`,
        );
      } else {
        await sh(`fusermount3 -u '${mnt}'`);
      }
      const timer = setTimeout(() => daemon.child.kill('SIGKILL'), 20_000);
      expect(await exited).toBe(0);
      clearTimeout(timer);
      expect(daemon.log()).toMatch(/unmounted from outside/);
      expect(await isMounted(mnt)).toBe(false);
      // The database is free: the library opens it and finds everything written.
      withLibrary(db, (ws) => {
        expect(ws.readFile('/a.txt', 'utf8')).toBe('before\n');
        if (lazy) expect(ws.readFile('/open.txt', 'utf8')).toBe('first\nsecond\n');
        expect(ws.fsck().ok).toBe(true);
      });
    }
  });

  it('a zombie (a daemon killed and not reaped yet) does not count as a running owner; a live process does', async () => {
    // sh runs `sleep 0.1` in the background, then becomes `sleep 5`, which never reaps it.
    const child = spawn('sh', ['-c', 'sleep 0.1 & echo $!; exec sleep 5'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      const zombie = Number(
        await new Promise<string>((resolve) => child.stdout.once('data', (d) => resolve(String(d)))),
      );
      expect(isAlive(zombie)).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 600));
      expect(readFileSync(`/proc/${zombie}/stat`, 'utf8')).toMatch(/\) Z /);
      expect(isAlive(zombie)).toBe(false);
      expect(isAlive(child.pid as number)).toBe(true);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('a mount left by a killed daemon is detected and cleaned on the next start', async () => {
    const db = join(dir, 'stale.db');
    const mnt = join(dir, 'stale');
    mountpoints.push(mnt);
    const first = await startDaemon(db, mnt);
    // fsynced (sync FILE): a close alone is committed up to 5 ms after its reply, and the kill follows at once.
    await sh('echo survived > kept.txt && sync kept.txt', { cwd: mnt });
    first.child.kill('SIGKILL');
    await new Promise((resolve) => first.child.once('exit', resolve));
    expect(await isMounted(mnt)).toBe(true); // the kernel still has it; using it fails
    const broken = await sh(`ls '${mnt}'`, { allowFail: true });
    expect(broken.code).not.toBe(0);

    const second = await startDaemon(db, mnt);
    try {
      expect(second.log()).toMatch(/cleaned a stale mount at .*stale/);
      expect((await sh('cat kept.txt', { cwd: mnt })).stdout).toBe('survived\n');
      await expectFsckClean(second);
    } finally {
      expect(await second.stop()).toBe(0);
    }
  });

  it('refuses clearly: FUSE missing, a mountpoint in use, a non-empty one, a database inside the mount, --sync', async () => {
    const mnt = join(dir, 'refuse');
    mountpoints.push(mnt);
    const noFuse = await dofs(['--db', join(dir, 'r.db'), 'mount', '--port', '0', mnt], {
      env: { DOFS_FUSE_DEVICE: '/nonexistent/fuse' },
    });
    expect(noFuse.code).not.toBe(0);
    expect(noFuse.stderr).toContain('apt-get install -y fuse3 libfuse3-dev pkg-config');

    const daemon = await startDaemon(join(dir, 'r.db'), mnt);
    try {
      const twice = await dofs(['--db', join(dir, 'r2.db'), 'mount', '--port', '0', mnt]);
      expect(twice.code).not.toBe(0);
      expect(twice.stderr).toContain(`mounted by a running dofs (pid ${daemon.pid}`);
    } finally {
      expect(await daemon.stop()).toBe(0);
    }

    const full = join(dir, 'full');
    await mkdir(full, { recursive: true });
    await writeFile(join(full, 'x'), 'x');
    const nonEmpty = await dofs(['--db', join(dir, 'r.db'), 'mount', '--port', '0', full]);
    expect(nonEmpty.code).not.toBe(0);
    expect(nonEmpty.stderr).toContain('is not empty');

    const inside = await dofs(['--db', join(mnt, 'in.db'), 'mount', '--port', '0', mnt]);
    expect(inside.code).not.toBe(0);
    expect(inside.stderr).toContain('may not live inside the mountpoint');

    const sync = await dofs(['--db', join(dir, 'r.db'), 'mount', '--port', '0', '--sync', 'ws://127.0.0.1:1/x', mnt]);
    expect(sync.code).not.toBe(0);
    expect(sync.stderr).toContain('--sync');
    expect(await isMounted(mnt)).toBe(false);
  });

  it('names the mount holding the database, at once, and the way on; a second mount is refused the same way', async () => {
    const db = join(dir, 'locked.db');
    const mnt = join(dir, 'locked');
    mountpoints.push(mnt);
    const daemon = await startDaemon(db, mnt);
    try {
      const started = Date.now();
      const ls = await sh(`"${process.execPath}" "${BIN}" --db "${db}" ls /`, { allowFail: true });
      expect(Date.now() - started).toBeLessThan(4000); // no 5 s wait for the lock
      expect(ls.code).toBe(1);
      expect(ls.stderr).toContain(`EBUSY: the workspace database '${db}' is in use`);
      expect(ls.stderr).toContain(`mounted at ${mnt} by 'dofs mount' (pid ${daemon.pid})`);
      expect(ls.stderr).toContain('--shared');
      const twice = await sh(`"${process.execPath}" "${BIN}" --db "${db}" mount --port off "${join(dir, 'locked2')}"`, {
        allowFail: true,
      });
      expect(twice.code).toBe(1);
      expect(twice.stderr).toContain(`already mounted at ${mnt} by 'dofs mount' (pid ${daemon.pid})`);
      // Another name for the same file (a symlink, a hard link) is the same database, named at once
      // too (it waited 5 s for SQLite's lock, then named no holder).
      await sh(`ln -s "${db}" "${dir}/symlinked.db" && ln "${db}" "${dir}/hardlinked.db"`);
      for (const other of [join(dir, 'symlinked.db'), join(dir, 'hardlinked.db')]) {
        const before = Date.now();
        const again = await sh(`"${process.execPath}" "${BIN}" --db "${other}" ls /`, { allowFail: true });
        expect(Date.now() - before).toBeLessThan(4000);
        expect(again.code).toBe(1);
        expect(again.stderr).toContain(`mounted at ${mnt} by 'dofs mount' (pid ${daemon.pid})`);
      }
    } finally {
      expect(await daemon.stop()).toBe(0);
    }
  }, 60_000);

  it('deleting through the mount gives the space back without unmounting', async () => {
    const db = join(dir, 'space.db');
    const mnt = join(dir, 'space');
    mountpoints.push(mnt);
    const daemon = await startDaemon(db, mnt);
    const size = async () =>
      Number(
        (await sh(`stat -c %s "${db}"; stat -c %s "${db}-wal" 2>/dev/null || echo 0`)).stdout
          .split('\n')
          .filter(Boolean)
          .reduce((sum, n) => sum + Number(n), 0),
      );
    try {
      const start = await size();
      await sh(`head -c 96M /dev/urandom > "${mnt}/big"`);
      expect(await size()).toBeGreaterThan(start + 90 * 1024 * 1024);
      await sh(`rm "${mnt}/big"`);
      const limit = start * 1.1 + 16 * 1024 * 1024;
      await vi.waitFor(async () => expect(await size()).toBeLessThanOrEqual(limit), { timeout: 30_000, interval: 500 });
      const stats = (await daemon.get<{ gc: { blobs: number; reclaimedBytes: number } }>('/stats')).body;
      expect(stats.gc.blobs).toBeGreaterThan(1000);
      expect(stats.gc.reclaimedBytes).toBeGreaterThan(64 * 1024 * 1024);
      await expectFsckClean(daemon);
    } finally {
      expect(await daemon.stop()).toBe(0);
    }
  }, 120_000);

  it('a full disk under the mount: writes answer ENOSPC, what was fsynced stays, rm makes room and writes work again without a restart', async () => {
    const disk = mountTmpfs(24);
    const db = join(disk.dir, 'ws.db');
    const mnt = join(dir, 'on-a-full-disk');
    mountpoints.push(mnt);
    const daemon = await startDaemon(db, mnt);
    try {
      // Random files, so nothing dedups; each fsynced before its close (dd conv=fsync): a close is
      // answered before its group's COMMIT, so a file acknowledged only by its close may still be
      // undone when the disk fills (fuse.md, Durability); an fsync answers once committed.
      const fill = await sh(
        `i=0; while head -c 1048576 /dev/urandom > "${dir}/src$i" && dd if="${dir}/src$i" of="${mnt}/f$i" bs=1M conv=fsync status=none 2>"${dir}/err"; do i=$((i+1)); [ $i -lt 100 ] || break; done; echo $i; cat "${dir}/err"`,
      );
      const [count, ...error] = fill.stdout.trim().split('\n');
      const written = Number(count);
      expect(written).toBeGreaterThan(5);
      expect(written).toBeLessThan(100);
      expect(error.join(' ')).toContain('No space left on device');
      // Every file whose write and fsync succeeded is whole.
      await sh(`for i in $(seq 0 ${written - 1}); do cmp "${dir}/src$i" "${mnt}/f$i"; done`);
      // Deleting works on the full disk, and the space comes back by itself while mounted.
      await sh(`rm -f "${mnt}"/f*`);
      await vi.waitFor(
        async () => {
          const again = await sh(`cp "${dir}/src0" "${mnt}/again" && echo ok`, { allowFail: true });
          expect(again.stdout.trim()).toBe('ok');
        },
        { timeout: 30_000, interval: 500 },
      );
      await sh(`cmp "${dir}/src0" "${mnt}/again"`);
      await expectFsckClean(daemon);
    } finally {
      expect(await daemon.stop()).toBe(0);
      disk.unmount();
    }
  }, 120_000);

  it('a rewrite that meets a full disk: its close fails, and the mount reads the file as before, size included', async () => {
    const disk = mountTmpfs(32);
    const db = join(disk.dir, 'ws.db');
    const mnt = join(dir, 'rewrite-full');
    mountpoints.push(mnt);
    const daemon = await startDaemon(db, mnt);
    try {
      // The file is committed (sync fsyncs it); then the disk fills from outside, and a rewrite of
      // 100,000 bytes is closed. Near a full disk no group opens, so the close's own commit meets
      // it and close reports it (before, the close was answered and its group's COMMIT failed
      // after). The kernel keeps the rewrite's size as its own (writeback cache) until the file's
      // names are dropped: it read the old 12 bytes and 99,988 zeros.
      const out = await sh(
        `printf 'old content\n' > "${mnt}/f" && sync "${mnt}/f"
         dd if=/dev/zero of="${disk.dir}/filler" bs=64k status=none 2>/dev/null || true
         head -c 100000 /dev/urandom > "${mnt}/f" && echo "rewrite stored" || echo "rewrite failed"
         sleep 0.3; stat -c %s "${mnt}/f"; cat "${mnt}/f"
         rm "${disk.dir}/filler"; stat -c %s "${mnt}/f"`,
      );
      expect(out.stdout.split('\n')).toEqual(['rewrite failed', '12', 'old content', '12', '']);
      await expectFsckClean(daemon);
    } finally {
      expect(await daemon.stop()).toBe(0);
      disk.unmount();
    }
  }, 120_000);

  it('a second writer under a file open on a --shared mount: each write lands at its offset, and the mount reads what the database holds', async () => {
    const db = join(dir, 'two-writers.db');
    const mnt = join(dir, 'two-writers');
    mountpoints.push(mnt);
    const daemon = await startDaemon(db, mnt, { args: ['--shared'] });
    try {
      // The mount's writer fills 256 KiB and keeps the file open; the CLI puts 192 KiB of 'b' over
      // it; the writer then writes 4 KiB of 'c' at 64 KiB and closes. A local filesystem with two
      // writers gives 'b' × 64 KiB, 'c' × 4 KiB, 'b' to 192 KiB: the size from the last size change.
      await sh(
        `head -c 196608 /dev/zero | tr '\\0' b > "${dir}/b"
         exec 3<>"${mnt}/f"
         head -c 262144 /dev/zero | tr '\\0' a >&3
         '${process.execPath}' '${BIN}' --db '${db}' put "${dir}/b" /f
         python3 -c "import os; os.pwrite(3, b'c' * 4096, 65536)"
         exec 3>&-`,
      );
      const runs = (bytes: Buffer) => {
        const out: string[] = [];
        for (let i = 0; i < bytes.length; ) {
          let j = i;
          while (j < bytes.length && bytes[j] === bytes[i]) j++;
          out.push(`${String.fromCharCode(bytes[i] as number)}${j - i}`);
          i = j;
        }
        return out.join(' ');
      };
      const expected = 'b65536 c4096 b126976';
      const stored = await sh(`'${process.execPath}' '${BIN}' --db '${db}' cat /f > "${dir}/stored"`);
      expect(stored.code).toBe(0);
      expect(runs(await readFile(join(dir, 'stored')))).toBe(expected);
      // The kernel's caches (its page cache included) let go of the stale 256 KiB within a poll.
      await vi.waitFor(async () => expect(runs(await readFile(join(mnt, 'f')))).toBe(expected), {
        timeout: 10_000,
        interval: 250,
      });
      await expectFsckClean(daemon);
    } finally {
      expect(await daemon.stop()).toBe(0);
    }
  }, 120_000);

  it('removes the .fuse_hidden… files a crashed libfuse 2 run left, at the root and deeper, and nothing else', () => {
    const ws = openWorkspace(createNodeSqliteBackend({ path: ':memory:' }));
    ws.mkdir('/a/b', { recursive: true });
    ws.writeFile('/.fuse_hidden0123456789abcdef', 'x');
    ws.writeFile('/a/b/.fuse_hidden00000000000000ff', 'y');
    ws.writeFile('/a/b/.fuse_hiddenkeep', 'z');
    expect(removeHiddenLeftovers(new SQLiteWorkspaceProvider(ws))).toBe(2);
    expect(ws.find('/', '**')).toEqual(['/a', '/a/b', '/a/b/.fuse_hiddenkeep']);
  });

  it('directories more than 4 KiB below the root: created, written and read one short argument at a time', async () => {
    const db = join(dir, 'deep.db');
    const mnt = join(dir, 'deep');
    mountpoints.push(mnt);
    const daemon = await startDaemon(db, mnt);
    try {
      const out = await sh(
        `cd "${mnt}"; n=$(printf 'n%.0s' $(seq 200)); for i in $(seq 40); do mkdir $n; cd $n; done; echo deep > f; cat f; pwd | wc -c`,
      );
      const [text, length] = out.stdout.trim().split('\n');
      expect(text).toBe('deep');
      expect(Number(length)).toBeGreaterThan(8000 + mnt.length);
      await expectFsckClean(daemon);
    } finally {
      expect(await daemon.stop()).toBe(0);
    }
  }, 60_000);
});
