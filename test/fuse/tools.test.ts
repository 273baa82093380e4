// Real programs on a real FUSE mount of a workspace: git, tar (an npm package tarball), sqlite3.
// The daemon runs in a child process; every tool runs in another.
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { mountForSuite, ROOT, sh } from './helpers.ts';

vi.setConfig({ testTimeout: 120_000, hookTimeout: 60_000 });

const GIT =
  'git -c user.email=test@example.com -c user.name=test -c init.defaultBranch=main -c advice.detachedHead=false';

describe('real tools on the mount', () => {
  let dir: string;
  let mnt: string;

  mountForSuite('tools', (mount) => {
    ({ dir, mnt } = mount);
  });

  it('git: init, add, commit, log, status, fsck, clone from the mount to the mount', async () => {
    await sh(
      `${GIT} init -q repo && cd repo
       mkdir -p src/lib docs
       for i in $(seq 1 60); do printf 'line %s\\n' $i $i $i > src/lib/f$i.txt; done
       printf '#!/bin/sh\\necho hi\\n' > run.sh && chmod +x run.sh
       ln -s src/lib/f1.txt link
       echo readme > docs/README.md
       ${GIT} add -A && ${GIT} commit -q -m first
       echo change >> src/lib/f2.txt && git rm -q src/lib/f3.txt && git mv docs/README.md docs/INDEX.md
       ${GIT} commit -q -am second`,
      { cwd: mnt },
    );
    const log = await sh(`${GIT} log --format=%s`, { cwd: join(mnt, 'repo') });
    expect(log.stdout.trim().split('\n')).toEqual(['second', 'first']);
    expect((await sh('git status --porcelain', { cwd: join(mnt, 'repo') })).stdout).toBe('');
    const fsck = await sh('git fsck --full --strict', { cwd: join(mnt, 'repo') });
    expect(fsck.stderr).not.toMatch(/error|missing|corrupt/i);

    await sh(`${GIT} clone -q repo clone && ${GIT} -C clone fsck --full`, { cwd: mnt });
    const files = await sh('git ls-files | sort | md5sum && ls -l run.sh link && cat src/lib/f2.txt | tail -1', {
      cwd: join(mnt, 'clone'),
    });
    const original = await sh('git ls-files | sort | md5sum', { cwd: join(mnt, 'repo') });
    expect(files.stdout.split('\n')[0]).toBe(original.stdout.trim());
    expect(files.stdout).toMatch(/-rwxr-xr-x .* run\.sh/);
    expect(files.stdout).toMatch(/link -> src\/lib\/f1\.txt/);
    expect(files.stdout.trim().endsWith('change')).toBe(true);
    const cloneLog = await sh(`${GIT} log --format=%s && git status --porcelain`, { cwd: join(mnt, 'clone') });
    expect(cloneLog.stdout.trim()).toBe('second\nfirst');
    // A second clone, bare, plus a gc that repacks objects on the mount.
    await sh(`${GIT} clone -q --bare repo bare.git && ${GIT} -C repo gc -q && ${GIT} -C repo fsck --full`, {
      cwd: mnt,
    });
  });

  it('tar: a real npm package tarball extracted onto the mount matches its source, and packs back', async () => {
    const work = join(dir, 'pack');
    // `npm pack` of an installed package (commander) gives a real tarball with its real layout.
    await sh(
      `mkdir -p '${work}/src' && cd '${work}' && npm pack --silent '${join(ROOT, 'node_modules/commander')}' > name.txt`,
      {
        env: { npm_config_update_notifier: 'false' },
      },
    );
    const tgz = join(work, (await sh(`cat '${work}/name.txt'`)).stdout.trim());
    await sh(`tar -xzf '${tgz}' -C '${work}/src'`);
    await sh(`mkdir x && tar -xzf '${tgz}' -C x`, { cwd: mnt });
    await sh(`diff -r '${work}/src' '${join(mnt, 'x')}'`);
    // Times and modes survive (tar sets mtime with atime left alone: utimens with UTIME_OMIT).
    const source = await sh(`cd '${work}/src' && find . -type f -printf '%p %m %T@\\n' | sort`);
    const mounted = await sh(`cd '${join(mnt, 'x')}' && find . -type f -printf '%p %m %T@\\n' | sort`);
    const strip = (text: string) => text.replace(/(\d+)\.\d+$/gm, '$1');
    expect(strip(mounted.stdout)).toBe(strip(source.stdout));
    // Pack it back from the mount and compare the listing and the bytes.
    await sh(
      `tar -czf '${work}/back.tgz' -C x package && mkdir -p '${work}/back' && tar -xzf '${work}/back.tgz' -C '${work}/back'`,
      {
        cwd: mnt,
      },
    );
    await sh(`diff -r '${work}/src' '${work}/back'`);
    // An uncompressed archive written onto the mount itself, listed and extracted from there.
    const listing = await sh(
      'tar -cf x.tar x && mkdir y && tar -xf x.tar -C y && diff -r x y/x && tar -tf x.tar | sort',
      {
        cwd: mnt,
      },
    );
    expect(listing.stdout).toContain('x/package/package.json');
  });

  it('sqlite3: a database on the mount in WAL mode, thousands of rows, integrity_check ok', async () => {
    const script = `
      PRAGMA journal_mode=WAL;
      CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT UNIQUE, v BLOB);
      WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 5000)
        INSERT INTO t (k, v) SELECT 'key' || x, randomblob(200) FROM c;
      CREATE INDEX t_v ON t (v);
      UPDATE t SET v = randomblob(300) WHERE id % 7 = 0;
      DELETE FROM t WHERE id % 11 = 0;
      SELECT count(*) FROM t;
      PRAGMA integrity_check;`;
    const first = await sh(`sqlite3 db.sqlite "${script}"`, { cwd: mnt });
    expect(first.stdout.trim().split('\n')).toEqual(['wal', String(5000 - Math.floor(5000 / 11)), 'ok']);
    // Several writer processes one after another, then a checkpoint, then a reader.
    await sh(
      `for i in $(seq 1 20); do sqlite3 db.sqlite "BEGIN; INSERT INTO t (k, v) VALUES ('extra$i', randomblob(1000)); COMMIT;"; done`,
      { cwd: mnt },
    );
    const check = await sh(
      `sqlite3 db.sqlite "PRAGMA journal_mode; PRAGMA wal_checkpoint(TRUNCATE); SELECT count(*) FROM t; PRAGMA integrity_check; PRAGMA quick_check;"`,
      { cwd: mnt },
    );
    const lines = check.stdout.trim().split('\n');
    expect(lines[0]).toBe('wal');
    expect(lines[2]).toBe(String(5000 - Math.floor(5000 / 11) + 20));
    expect(lines.slice(3)).toEqual(['ok', 'ok']);
    // A copy off the mount is a sound database too.
    await sh(`cp db.sqlite '${dir}/copy.sqlite' && sqlite3 '${dir}/copy.sqlite' "PRAGMA integrity_check"`, {
      cwd: mnt,
    });
  });

  it('locks: flock(1), fcntl record locks and OFD locks held by one process keep out another on the mount, as off it', async () => {
    // The daemon implements no lock requests: the kernel keeps the locks of the mount itself, so
    // they hold between processes using it (not for other openers of the database, nor sync peers).
    const script = `: > lk
       flock lk sleep 2 & sleep 0.5
       flock -n lk true && echo "flock: taken twice" || echo "flock: refused"
       flock -w 5 lk true && echo "flock: taken after release"
       wait
       python3 - <<'PY'
import fcntl, os, struct, subprocess
fd = os.open('lk', os.O_RDWR)
fcntl.lockf(fd, fcntl.LOCK_EX, 100, 0)
other = '''
import fcntl, os
fd = os.open("lk", os.O_RDWR)
try:
    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 100, 50); print("fcntl: overlap taken")
except OSError as e: print("fcntl: overlap refused", e.errno == 11)
fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 100, 200); print("fcntl: disjoint taken")
'''
print(subprocess.run(['python3', '-c', other], capture_output=True, text=True).stdout.strip())
ofd = os.open('lk', os.O_RDWR)
try:
    fcntl.fcntl(ofd, 37, struct.pack('hhqqi', fcntl.F_WRLCK, 0, 0, 100, 0)); print("ofd: taken")  # F_OFD_SETLK
except OSError as e: print("ofd: refused", e.errno == 11)
PY`;
    // The same steps in the test's directory off the mount (ext4 or tmpfs) answer the same.
    for (const cwd of [mnt, dir]) {
      expect((await sh(script, { cwd })).stdout.trim().split('\n')).toEqual([
        'flock: refused',
        'flock: taken after release',
        'fcntl: overlap refused True',
        'fcntl: disjoint taken',
        'ofd: refused True',
      ]);
    }
  });
});
