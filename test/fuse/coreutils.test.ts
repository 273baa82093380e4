// Everyday file tools on the mount (cp -a, mv, ln, chmod, touch -d, truncate, du, find, rm -rf),
// and random pwrite/pread from another process checked against an in-memory model.
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { type Daemon, mountForSuite, nodeScript, ROOT, sh } from './helpers.ts';

vi.setConfig({ testTimeout: 120_000, hookTimeout: 60_000 });

describe('coreutils on the mount', () => {
  let dir: string;
  let mnt: string;
  let daemon: Daemon;

  mountForSuite('coreutils', (mount) => {
    ({ dir, mnt, daemon } = mount);
  });

  it('cp -a copies a tree in and out with bytes, modes, times and symlinks intact', async () => {
    const src = join(ROOT, 'core');
    await sh(`cp -a '${src}' core && cp -a core '${dir}/out'`, { cwd: mnt });
    await sh(`diff -r '${src}' core && diff -r '${src}' '${dir}/out'`, { cwd: mnt });
    const describe = (root: string) =>
      sh(`cd '${root}' && find . -printf '%y %m %s %T@ %p %l\\n' | sed -E 's/\\.[0-9]+ / /' | sort`);
    // Directory sizes differ between filesystems; everything else must match.
    const strip = (text: string) => text.replace(/^d (\d+) \d+ /gm, 'd $1 - ');
    expect(strip((await describe(join(mnt, 'core'))).stdout)).toBe(strip((await describe(src)).stdout));
    // Binary content and a symlink, copied with cp -a.
    await sh(
      `head -c 3000000 /dev/urandom > '${dir}/blob' && ln -s blob '${dir}/blob.link' && cp -a '${dir}/blob' '${dir}/blob.link' . && cmp blob '${dir}/blob' && test "$(readlink blob.link)" = blob`,
      { cwd: mnt },
    );
  });

  it('mv across directories, ln, ln -s, chmod, touch -d, truncate', async () => {
    const out = await sh(
      `mkdir -p a/b c && echo hello > a/b/file && mv a/b/file c/moved && test ! -e a/b/file
       mv a/b c/b2 && test -d c/b2 && test ! -e a/b
       ln c/moved hard && ln -s ../c/moved a/soft && cat a/soft hard
       stat -c '%h %i' c/moved hard
       chmod 600 c/moved && stat -c '%a' c/moved && chmod u+x,g+r c/moved && stat -c '%a' c/moved
       sleep 1.2 && stat -c '%a' hard
       chmod 1777 c && stat -c '%a' c
       touch -d '2001-02-03 04:05:06' c/moved && stat -c '%Y' c/moved
       touch -m -d '2002-01-01 00:00:00' c/moved && stat -c '%X %Y' c/moved
       truncate -s 100000 hard && stat -c %s hard && truncate -s 3 c/moved && cat hard && echo
       truncate -s 0 c/moved && stat -c %s c/moved
       readlink a/soft && stat -L -c %s a/soft`,
      { cwd: mnt },
    );
    const lines = out.stdout.trim().split('\n');
    expect(lines[0]).toBe('hello');
    expect(lines[1]).toBe('hello');
    const [links, ino] = lines[2].split(' ');
    expect(links).toBe('2');
    expect(lines[3]).toBe(`2 ${ino}`);
    // Another name of a hard-linked file is another kernel inode for libfuse's high-level API: it
    // sees an attribute change made through the first name once its 1 s attribute cache expires.
    expect(lines.slice(4, 8)).toEqual(['600', '740', '740', '1777']);
    expect(lines[8]).toBe(String(Date.UTC(2001, 1, 3, 4, 5, 6) / 1000));
    expect(lines[9]).toBe(`${Date.UTC(2001, 1, 3, 4, 5, 6) / 1000} ${Date.UTC(2002, 0, 1) / 1000}`);
    expect(lines.slice(10)).toEqual(['100000', 'hel', '0', '../c/moved', '0']);
  });

  it('du, find and rm -rf of a deep tree', async () => {
    await sh(
      `d=deep; for i in $(seq 1 40); do d=$d/level$i; done; mkdir -p $d
       p=deep; for i in $(seq 1 40); do p=$p/level$i; head -c $((i * 1000)) /dev/zero > $p/data; ln -s data $p/link; done
       mkdir -p wide && for i in $(seq 1 300); do echo $i > wide/f$i; done`,
      { cwd: mnt },
    );
    const find = await sh(
      `find deep -type f | wc -l; find deep -type l | wc -l; find deep -type d | wc -l; find wide -name 'f1*' | wc -l; find . -newer wide/f1 -name f300 | wc -l`,
      { cwd: mnt },
    );
    expect(find.stdout.trim().split('\n')).toEqual(['40', '40', '41', '111', '1']);
    const du = await sh('du -sb deep && du -s --apparent-size -B1 deep/level1/data && du -sk wide', { cwd: mnt });
    const [deepBytes] = du.stdout
      .trim()
      .split('\n')
      .map((line) => Number(line.split('\t')[0]));
    // 40 files of i*1000 bytes, plus directory sizes (4096 each) and symlinks ("data": 4 bytes).
    expect(deepBytes).toBe(820_000 + 41 * 4096 + 40 * 4);
    expect(du.stdout.split('\n')[1].split('\t')[0]).toBe('1000');
    await sh('rm -rf deep wide && test ! -e deep && test ! -e wide && ls -A | grep -c . || true', { cwd: mnt });
    const { body } = await daemon.get<{ usage: { files: number } }>('/stats');
    expect(body.usage.files).toBeGreaterThanOrEqual(0);
  });

  it('random pwrite/pread from another process matches a model of the file', async () => {
    const result = await nodeScript<{ ops: number; mismatches: number; size: number; finalOk: boolean }>(
      mnt,
      `
      import fs from 'node:fs';
      let seed = 12345;
      const rand = (n) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
      const MAX = 3 * 1024 * 1024;
      let model = Buffer.alloc(0);
      const fd = fs.openSync('random.bin', 'w+');
      let mismatches = 0;
      const ops = 600;
      for (let i = 0; i < ops; i++) {
        const kind = rand(10);
        if (kind < 5) {
          const len = 1 + rand(kind === 0 ? 700000 : 5000);
          const at = rand(MAX - len);
          const data = Buffer.alloc(len);
          for (let j = 0; j < len; j += 997) data[j] = rand(256);
          data[len - 1] = rand(256);
          fs.writeSync(fd, data, 0, len, at);
          if (at + len > model.length) model = Buffer.concat([model, Buffer.alloc(at + len - model.length)]);
          data.copy(model, at);
        } else if (kind < 9) {
          const len = 1 + rand(300000);
          const at = rand(MAX);
          const got = Buffer.alloc(len);
          const n = fs.readSync(fd, got, 0, len, at);
          const want = model.subarray(Math.min(at, model.length), Math.min(at + len, model.length));
          if (n !== want.length || !got.subarray(0, n).equals(want)) mismatches++;
        } else {
          const len = rand(MAX);
          fs.ftruncateSync(fd, len);
          if (len < model.length) model = model.subarray(0, len);
          else model = Buffer.concat([model, Buffer.alloc(len - model.length)]);
        }
        if (i % 100 === 99) fs.fsyncSync(fd);
        if (fs.fstatSync(fd).size !== model.length) mismatches++;
      }
      fs.closeSync(fd);
      const final = fs.readFileSync('random.bin');
      console.log(JSON.stringify({ ops, mismatches, size: model.length, finalOk: final.equals(model) }));
      `,
    );
    expect(result.mismatches).toBe(0);
    expect(result.finalOk).toBe(true);
    // A second process reads the same bytes (close-to-open through the daemon).
    const sums = await sh(`md5sum < random.bin && stat -c %s random.bin`, { cwd: mnt });
    expect(Number(sums.stdout.trim().split('\n')[1])).toBe(result.size);
  });
});
