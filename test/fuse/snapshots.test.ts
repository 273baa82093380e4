// The mount's read-only /.snapshots/<name>/… tree: snapshots taken by the CLI on the same
// database (the mount runs with --shared), browsed, compared and copied with everyday tools,
// every change in or into it refused, and the live tree unaffected.
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  BIN,
  type Daemon,
  ensureUnmounted,
  expectFsckClean,
  makeTemp,
  removeTemp,
  sh,
  startDaemon,
} from './helpers.ts';

vi.setConfig({ testTimeout: 120_000, hookTimeout: 60_000 });

describe('the /.snapshots tree on the mount', () => {
  let dir: string;
  let mnt: string;
  let db: string;
  let daemon: Daemon;
  /** The CLI on the mounted database, from another process (as a user would run it). */
  const dofs = (args: string) => sh(`'${process.execPath}' '${BIN}' --db '${db}' ${args}`);

  beforeAll(async () => {
    dir = await makeTemp('snapshots');
    mnt = join(dir, 'mnt');
    db = join(dir, 'ws.db');
    daemon = await startDaemon(db, mnt, { args: ['--shared'] });
  });
  afterEach(async () => {
    await expectFsckClean(daemon);
  });
  afterAll(async () => {
    try {
      expect(await daemon.stop()).toBe(0);
    } finally {
      await ensureUnmounted(mnt);
      await removeTemp(dir);
    }
  });

  it('shows each snapshot as it was, with ls, cat, diff -r and cp -r, while the live tree moves on', async () => {
    // 300 entries cross a readdir reply; 300,000 bytes cross the 64 KiB chunks.
    await sh(
      `mkdir -p src/sub many && echo one > src/a.txt && ln src/a.txt src/hard && echo keep > src/sub/keep && ln -s a.txt src/link
       head -c 300000 /dev/urandom > src/big && chmod 640 src/big && mkfifo pipe
       for i in $(seq 1 300); do echo $i > many/f$i; done
       cp -a . '${dir}/expected'`,
      { cwd: mnt },
    );
    await dofs('snapshot create first');
    // The live tree changes after the snapshot: content, removal, a new file, a rename.
    await sh('echo two > src/a.txt && rm src/sub/keep && echo new > src/new && mv many many2 && chmod 600 src/big', {
      cwd: mnt,
    });
    await dofs('snapshot create second');

    const root = await sh('ls -a', { cwd: mnt });
    expect(root.stdout.split('\n')).not.toContain('.snapshots');
    expect((await sh('ls .snapshots', { cwd: mnt })).stdout).toBe('first\nsecond\n');
    expect(
      (await sh('cat .snapshots/first/src/a.txt .snapshots/second/src/a.txt src/a.txt', { cwd: mnt })).stdout,
    ).toBe('one\ntwo\ntwo\n');
    expect((await sh('readlink .snapshots/first/src/link', { cwd: mnt })).stdout).toBe('a.txt\n');
    // A hard link is one inode in the snapshot too.
    const links = (await sh("stat -c '%h %i' .snapshots/first/src/a.txt .snapshots/first/src/hard", { cwd: mnt }))
      .stdout;
    const [one, other] = links.trim().split('\n');
    expect(one).toBe(other);
    expect(one.split(' ')[0]).toBe('2');
    expect((await sh('stat -c %a .snapshots/first/src/big .snapshots/second/src/big', { cwd: mnt })).stdout).toBe(
      '640\n600\n',
    );
    // The whole tree as it was: bytes, names, symlinks; and copied out of the snapshot.
    await sh(`diff -r --no-dereference '${dir}/expected' .snapshots/first -x pipe`, { cwd: mnt });
    expect((await sh('stat -c %F .snapshots/first/pipe', { cwd: mnt })).stdout).toBe('fifo\n');
    await sh(`cp -r .snapshots/first/src '${dir}/copied' && diff -r '${dir}/expected/src' '${dir}/copied'`, {
      cwd: mnt,
    });
    expect(
      (await sh('ls .snapshots/second/many2 | wc -l && ls -l .snapshots/first/many | grep -c "^-"', { cwd: mnt }))
        .stdout,
    ).toBe('300\n300\n');
    await sh('test ! -e .snapshots/second/src/sub/keep && test ! -e .snapshots/first/src/new && test -e src/new', {
      cwd: mnt,
    });

    // Inode numbers: stable, distinct between snapshots and from the live tree.
    const inodes = async () =>
      (
        await sh('stat -c %i src/big .snapshots/first/src/big .snapshots/second/src/big .snapshots', { cwd: mnt })
      ).stdout
        .trim()
        .split('\n');
    const first = await inodes();
    expect(new Set(first).size).toBe(4);
    expect(await inodes()).toEqual(first);
  });

  it('refuses every change in, into or out of the tree, and of .snapshots itself', async () => {
    const attempt = async (script: string) => (await sh(`{ ${script}; } 2>&1`, { cwd: mnt, allowFail: true })).stdout;
    const readOnly = 'Read-only file system';
    const snap = '.snapshots/first/src';
    for (const script of [
      `echo x > ${snap}/a.txt`,
      `echo x >> ${snap}/a.txt`,
      `touch ${snap}/a.txt`,
      `touch ${snap}/fresh`,
      `truncate -s 0 ${snap}/big`,
      `fallocate -l 1048576 ${snap}/big`,
      `chmod 777 ${snap}/big`,
      `mkdir ${snap}/d`,
      `rm ${snap}/a.txt`,
      `rmdir ${snap}/sub`,
      `ln -s x ${snap}/l`,
      `ln ${snap}/a.txt hard2`,
      `ln src/a.txt ${snap}/hard2`,
      `mv ${snap}/a.txt moved`,
      `mv src/a.txt ${snap}/moved`,
      `mv ${snap}/a.txt ${snap}/b.txt`,
      'rmdir .snapshots',
      'mv .snapshots elsewhere',
      'mv src .snapshots',
      'rmdir .snapshots/first',
      'mkdir .snapshots/third',
    ]) {
      expect(await attempt(script), script).toContain(readOnly);
    }
    expect(await attempt('mkdir .snapshots')).toContain('File exists');
    // lseek's SEEK_DATA and SEEK_HOLE see a snapshot's file as all data.
    const seek = await sh(
      `python3 -c "import os; fd = os.open('${snap}/big', os.O_RDONLY); print(os.lseek(fd, 0, os.SEEK_DATA), os.lseek(fd, 0, os.SEEK_HOLE) == os.fstat(fd).st_size)"`,
      { cwd: mnt },
    );
    expect(seek.stdout).toBe('0 True\n');
    // The live tree is as it was.
    expect((await sh('cat src/a.txt && ls src', { cwd: mnt })).stdout).toBe('two\na.txt\nbig\nhard\nlink\nnew\nsub\n');
    await sh(`diff -r --no-dereference '${dir}/expected/src/sub/' .snapshots/first/src/sub/`, { cwd: mnt });
  });

  it('serves more snapshots than it keeps views of, each as it was', async () => {
    for (let i = 1; i <= 6; i++) {
      await sh(`echo ${i} > v && echo ${i * 10} > w`, { cwd: mnt });
      await dofs(`snapshot create s${i}`);
    }
    // Two rounds through all six, so views are let go and made again.
    const round = (file: string) =>
      sh(`for i in 1 2 3 4 5 6; do cat .snapshots/s$i/${file}; done`, { cwd: mnt }).then((out) => out.stdout);
    expect(await round('v')).toBe('1\n2\n3\n4\n5\n6\n');
    expect(await round('w')).toBe('10\n20\n30\n40\n50\n60\n');
    await sh('rm v w', { cwd: mnt });
    for (let i = 1; i <= 6; i++) await dofs(`snapshot delete s${i}`);
  });

  it('a snapshot deleted while browsed answers ENOENT', async () => {
    const out = await sh(
      `cd .snapshots/first/src && ls > /dev/null
       '${process.execPath}' '${BIN}' --db '${db}' snapshot delete first > /dev/null
       ls . 2>&1 || true; cat a.txt 2>&1 || true; ls ../.. 2>&1`,
      { cwd: mnt },
    );
    const lines = out.stdout.trim().split('\n');
    expect(lines[0]).toContain('No such file or directory');
    expect(lines[1]).toContain('No such file or directory');
    expect(lines.slice(2)).toEqual(['second']);
    const missing = await sh('ls .snapshots/first .snapshots/nope', { cwd: mnt, allowFail: true });
    expect(missing.stderr.match(/No such file or directory/g)).toHaveLength(2);
    expect((await sh('cat .snapshots/second/src/a.txt', { cwd: mnt })).stdout).toBe('two\n');
  });
});
