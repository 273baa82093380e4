// POSIX semantics through the mount, each case run by another node process with plain node:fs:
// open flags, rename over files and directories, unlink while open, link counts, modes, times,
// special files, owners (as another user, through setpriv) and the quota in statfs. Run as root.

import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import {
  type Daemon,
  ensureUnmounted,
  makeTemp,
  mountForSuite,
  nodeScript,
  removeTemp,
  sh,
  startDaemon,
} from './helpers.ts';

vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });

/** Runs `body` (which may use fs, and `code(fn)` to catch an error code) in a child in the mount. */
function probe<T>(mnt: string, body: string): Promise<T> {
  return nodeScript<T>(
    mnt,
    `import fs from 'node:fs';
     const code = (fn) => { try { fn(); return 'ok'; } catch (e) { return e.code; } };
     const result = (() => { ${body} })();
     console.log(JSON.stringify(result));`,
  );
}

/**
 * renameat2 with RENAME_EXCHANGE (and both flags) through ctypes, on a directory given as argv[1]:
 * every outcome, ctime of the swapped nodes, and the tree after (types, link counts, contents).
 */
const EXCHANGE_SCRIPT = `import ctypes, os, sys, json, time
libc = ctypes.CDLL(None, use_errno=True)
AT = -100
def x(a, b, flags=2):
    r = libc.renameat2(AT, a.encode(), AT, b.encode(), flags)
    return 'ok' if r == 0 else __import__('errno').errorcode[ctypes.get_errno()]
root = sys.argv[1]; os.chdir(root)
def w(p, t):
    with open(p, 'w') as f: f.write(t)
w('a', 'A'); w('b', 'B'); os.mkdir('d1'); w('d1/x', 'X'); os.mkdir('d2'); os.mkdir('d2/s'); os.mkdir('e')
before = {p: os.lstat(p).st_ctime_ns for p in ['a', 'b']}
time.sleep(0.02)
out = {}
out['files'] = x('a', 'b')
out['ctime'] = [os.lstat(p).st_ctime_ns > before[q] for p, q in [('a', 'b'), ('b', 'a')]]
out['fileDir'] = x('a', 'd1')
out['dirsAcross'] = x('d2/s', 'e')
out['fileDirAcross'] = x('b', 'd2/s')
out['missing'] = x('a', 'nothing')
out['bothFlags'] = x('a', 'd1', 3)
out['ancestor'] = x('a', 'a/x')
out['descendant'] = x('a/x', 'a')
tree = {}
for dirpath, dirs, files in os.walk('.'):
    for n in sorted(dirs + files):
        p = os.path.join(dirpath, n)[2:]
        st = os.lstat(p)
        tree[p] = ['dir', st.st_nlink] if os.path.isdir(p) else ['file', st.st_nlink, open(p).read()]
out['tree'] = dict(sorted(tree.items()))
out['nlink'] = {p: os.lstat(p).st_nlink for p in ['.', 'd2']}
print(json.dumps(out))
`;

describe('POSIX semantics through the mount', () => {
  let mnt: string;
  let daemon: Daemon;

  mountForSuite('posix', (mount) => {
    ({ mnt, daemon } = mount);
  });

  it('O_CREAT|O_EXCL fails on an existing name (a dangling symlink included); O_TRUNC empties; O_APPEND appends', async () => {
    const result = await probe<Record<string, unknown>>(
      mnt,
      `fs.writeFileSync('excl', 'x');
       fs.symlinkSync('nowhere', 'dangling');
       const first = code(() => fs.closeSync(fs.openSync('fresh', 'wx')));
       const again = code(() => fs.openSync('excl', 'wx'));
       const viaLink = code(() => fs.openSync('dangling', 'wx'));
       fs.writeFileSync('trunc', 'a long line of text');
       const fd = fs.openSync('trunc', fs.constants.O_WRONLY | fs.constants.O_TRUNC);
       const sizeAfterOpen = fs.fstatSync(fd).size;
       fs.writeSync(fd, 'new');
       fs.closeSync(fd);
       fs.writeFileSync('app', 'one\\n');
       const a = fs.openSync('app', 'a');
       fs.writeSync(a, 'two\\n', 0);           // O_APPEND ignores the position
       const b = fs.openSync('app', 'a');
       fs.writeSync(b, 'three\\n');
       fs.writeSync(a, 'four\\n');
       fs.closeSync(a); fs.closeSync(b);
       const rw = fs.openSync('app', 'a+');
       const buf = Buffer.alloc(3);
       fs.readSync(rw, buf, 0, 3, 0);          // reads anywhere, writes at the end
       fs.writeSync(rw, 'five\\n', 0);
       fs.closeSync(rw);
       return { first, again, viaLink, sizeAfterOpen, trunc: fs.readFileSync('trunc', 'utf8'),
                app: fs.readFileSync('app', 'utf8'), read: buf.toString() };`,
    );
    expect(result).toEqual({
      first: 'ok',
      again: 'EEXIST',
      viaLink: 'EEXIST',
      sizeAfterOpen: 0,
      trunc: 'new',
      app: 'one\ntwo\nthree\nfour\nfive\n',
      read: 'one',
    });
  });

  it('renameat2 RENAME_EXCHANGE swaps two names (files, a file and a directory, across parents) as ext4 does', async () => {
    const ext4 = await makeTemp('exchange');
    try {
      await sh(`mkdir -p '${mnt}/exchange'`);
      const run = async (dir: string) =>
        JSON.parse((await sh(`python3 - '${dir}' <<'PY'\n${EXCHANGE_SCRIPT}\nPY`)).stdout) as Record<string, unknown>;
      const local = await run(ext4);
      const mounted = await run(join(mnt, 'exchange'));
      expect(mounted).toEqual(local);
      // The reference run itself exercised every outcome.
      expect(local).toMatchObject({ files: 'ok', fileDirAcross: 'ok', missing: 'ENOENT', bothFlags: 'EINVAL' });
      expect(await daemon.get('/fsck?content=0')).toMatchObject({ status: 200 });
    } finally {
      await removeTemp(ext4);
    }
  });

  it('rename replaces files and empty directories atomically and refuses the rest', async () => {
    const result = await probe<Record<string, unknown>>(
      mnt,
      `fs.mkdirSync('r/full/sub', { recursive: true }); fs.mkdirSync('r/empty'); fs.mkdirSync('r/src');
       fs.writeFileSync('r/src/inside', 'in');
       fs.writeFileSync('r/a', 'A'); fs.writeFileSync('r/b', 'B');
       const inoA = fs.statSync('r/a').ino;
       fs.renameSync('r/a', 'r/b');
       const fileOverFile = { b: fs.readFileSync('r/b', 'utf8'), ino: fs.statSync('r/b').ino === inoA, a: fs.existsSync('r/a') };
       const dirOverEmpty = code(() => fs.renameSync('r/src', 'r/empty'));
       const moved = fs.readFileSync('r/empty/inside', 'utf8');
       const dirOverFull = code(() => fs.renameSync('r/empty', 'r/full'));
       const dirOverFile = code(() => fs.renameSync('r/empty', 'r/b'));
       const fileOverDir = code(() => fs.renameSync('r/b', 'r/full'));
       const intoItself = code(() => fs.renameSync('r/full', 'r/full/sub/deeper'));
       fs.writeFileSync('r/c', 'C');
       const open = fs.openSync('r/c', 'r');
       fs.writeFileSync('r/d', 'D');
       fs.renameSync('r/d', 'r/c');               // replaces a file that is open
       const buf = Buffer.alloc(1); fs.readSync(open, buf, 0, 1, 0); fs.closeSync(open);
       return { fileOverFile, dirOverEmpty, moved, dirOverFull, dirOverFile, fileOverDir, intoItself,
                replacedStillReads: buf.toString(), c: fs.readFileSync('r/c', 'utf8'), names: fs.readdirSync('r').sort() };`,
    );
    expect(result).toEqual({
      fileOverFile: { b: 'A', ino: true, a: false },
      dirOverEmpty: 'ok',
      moved: 'in',
      dirOverFull: 'ENOTEMPTY',
      dirOverFile: 'ENOTDIR',
      fileOverDir: 'EISDIR',
      intoItself: 'EINVAL',
      replacedStillReads: 'C',
      c: 'D',
      names: ['b', 'c', 'empty', 'full'],
    });
  });

  it('an unlinked open file stays readable and writable until closed, then is gone', async () => {
    const result = await probe<Record<string, unknown>>(
      mnt,
      `fs.mkdirSync('u');
       fs.writeFileSync('u/f', 'still here');
       const fd = fs.openSync('u/f', 'r+');
       fs.unlinkSync('u/f');
       const gone = !fs.existsSync('u/f');
       const buf = Buffer.alloc(10); fs.readSync(fd, buf, 0, 10, 0);
       fs.writeSync(fd, ' and more', 10);
       const size = fs.fstatSync(fd).size;
       fs.writeFileSync('u/f', 'a new file'); // the name is free for a new file meanwhile
       const all = Buffer.alloc(19); fs.readSync(fd, all, 0, 19, 0);
       fs.closeSync(fd);
       return { gone, read: buf.toString(), size, all: all.toString(), fresh: fs.readFileSync('u/f', 'utf8'),
                names: fs.readdirSync('u') };`,
    );
    expect(result).toEqual({
      gone: true,
      read: 'still here',
      size: 19,
      all: 'still here and more',
      fresh: 'a new file',
      names: ['f'],
    });
    // After the close, nothing of the old file remains in the workspace.
    const { body } = await daemon.get<{ fuse: { openHandles: number } }>('/stats');
    expect(body.fuse.openHandles).toBe(0);
  });

  it('link counts follow links, unlinks and subdirectories', async () => {
    const result = await probe<Record<string, unknown>>(
      mnt,
      // Each name of a hard-linked file is its own kernel inode under libfuse's high-level API, so a
      // change made through one name shows through the others when their 1 s attribute cache ends.
      `const settle = () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1100);
       fs.mkdirSync('l/d1/x', { recursive: true }); fs.mkdirSync('l/d1/y');
       fs.writeFileSync('l/f', 'f');
       fs.linkSync('l/f', 'l/g'); fs.linkSync('l/f', 'l/d1/h');
       const direct = fs.statSync('l/f').nlink;
       settle();
       const three = [fs.statSync('l/f').nlink, fs.statSync('l/g').nlink, fs.statSync('l/d1/h').nlink];
       fs.unlinkSync('l/g');
       settle();
       const two = fs.statSync('l/f').nlink;
       const dir = fs.statSync('l/d1').nlink;
       fs.rmdirSync('l/d1/y');
       const dirAfter = fs.statSync('l/d1').nlink;
       const linkDir = code(() => fs.linkSync('l/d1', 'l/d2'));
       const linkExisting = code(() => fs.linkSync('l/f', 'l/d1/h'));
       const sameIno = fs.statSync('l/f').ino === fs.statSync('l/d1/h').ino;
       return { direct, three, two, dir, dirAfter, linkDir, linkExisting, sameIno };`,
    );
    expect(result).toEqual({
      direct: 3,
      three: [3, 3, 3],
      two: 2,
      dir: 4,
      dirAfter: 3,
      linkDir: 'EPERM',
      linkExisting: 'EEXIST',
      sameIno: true,
    });
  });

  it('mode bits: creation modes under a umask, chmod with special bits, exec checks', async () => {
    const result = await probe<Record<string, unknown>>(
      mnt,
      `process.umask(0o027);
       fs.mkdirSync('m'); fs.writeFileSync('m/f', 'x', { mode: 0o666 });
       fs.mkdirSync('m/d', { mode: 0o777 });
       const created = [fs.statSync('m/f').mode & 0o7777, fs.statSync('m/d').mode & 0o7777];
       fs.chmodSync('m/f', 0o4755); const suid = fs.statSync('m/f').mode & 0o7777;
       fs.chmodSync('m/d', 0o1777); const sticky = fs.statSync('m/d').mode & 0o7777;
       fs.chmodSync('m/f', 0o644);
       const execNo = code(() => fs.accessSync('m/f', fs.constants.X_OK));
       fs.chmodSync('m/f', 0o744);
       const execYes = code(() => fs.accessSync('m/f', fs.constants.X_OK));
       fs.symlinkSync('f', 'm/link');
       const linkMode = fs.lstatSync('m/link').mode & 0o777;
       const types = [fs.statSync('m/f').isFile(), fs.statSync('m/d').isDirectory(), fs.lstatSync('m/link').isSymbolicLink()];
       return { created, suid, sticky, execNo, execYes, linkMode, types };`,
    );
    expect(result).toEqual({
      created: [0o640, 0o750],
      suid: 0o4755,
      sticky: 0o1777,
      execNo: 'EACCES',
      execYes: 'ok',
      linkMode: 0o777,
      types: [true, true, true],
    });
  });

  it('timestamps: writes move mtime and ctime, utimes sets atime and mtime, renames touch directories', async () => {
    const result = await probe<Record<string, unknown>>(
      mnt,
      `const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
       fs.mkdirSync('t');
       fs.writeFileSync('t/f', 'a');
       const born = fs.statSync('t/f');
       sleep(30);
       fs.appendFileSync('t/f', 'b');
       const written = fs.statSync('t/f');
       fs.utimesSync('t/f', new Date('2010-01-02T03:04:05.678Z'), new Date('2011-01-02T03:04:05.250Z'));
       const set = fs.statSync('t/f');
       sleep(30);
       fs.chmodSync('t/f', 0o600);
       const chmodded = fs.statSync('t/f');
       const dirBefore = fs.statSync('t').mtimeMs;
       sleep(30);
       fs.renameSync('t/f', 't/g');
       const dirAfter = fs.statSync('t').mtimeMs;
       return {
         mtimeMoved: written.mtimeMs > born.mtimeMs, ctimeMoved: written.ctimeMs > born.ctimeMs,
         atime: set.atime.toISOString(), mtime: set.mtime.toISOString(),
         chmodCtime: chmodded.ctimeMs > set.ctimeMs, chmodKeepsMtime: chmodded.mtimeMs === set.mtimeMs,
         dirTouched: dirAfter > dirBefore,
       };`,
    );
    expect(result).toEqual({
      mtimeMoved: true,
      ctimeMoved: true,
      atime: '2010-01-02T03:04:05.678Z',
      mtime: '2011-01-02T03:04:05.250Z',
      chmodCtime: true,
      chmodKeepsMtime: true,
      dirTouched: true,
    });
  });

  it('errors are the POSIX ones: ENOENT, ENOTDIR, EISDIR, ENOTEMPTY, EEXIST, ENAMETOOLONG', async () => {
    const result = await probe<Record<string, unknown>>(
      mnt,
      `fs.mkdirSync('e/d', { recursive: true }); fs.writeFileSync('e/f', '');
       return {
         missing: code(() => fs.readFileSync('e/nope')),
         notDir: code(() => fs.readdirSync('e/f')),
         isDir: code(() => fs.writeFileSync('e/d', 'x')),
         notEmpty: code(() => fs.rmdirSync('e')),
         exists: code(() => fs.mkdirSync('e/d')),
         longName: code(() => fs.writeFileSync('e/' + 'n'.repeat(256), '')),
         unlinkDir: code(() => fs.unlinkSync('e/d')),
         rmdirFile: code(() => fs.rmdirSync('e/f')),
       };`,
    );
    expect(result).toEqual({
      missing: 'ENOENT',
      notDir: 'ENOTDIR',
      isDir: 'EISDIR',
      notEmpty: 'ENOTEMPTY',
      exists: 'EEXIST',
      longName: 'ENAMETOOLONG',
      unlinkDir: 'EISDIR',
      rmdirFile: 'ENOTDIR',
    });
  });

  it('mkfifo, mknod and a bound socket make nodes of their type; a FIFO carries data between processes', async () => {
    const out = await sh(
      `mkdir s && cd s && mkfifo -m 640 fifo && mknod tty c 4 1 && mknod disk b 8 16
       python3 -c "import socket; socket.socket(socket.AF_UNIX).bind('sock')"
       stat -c '%n %F %a %t:%T %h %s' fifo tty disk sock
       (echo through the pipe > fifo &) ; cat fifo
       ls -l | tail -n +2 | cut -c1 | sort | tr -d '\n'; echo
       mv tty tty0 && ln fifo fifo2 && stat -c '%n %h' fifo2 && rm fifo fifo2 tty0 disk sock && ls -A | wc -l`,
      { cwd: mnt },
    );
    expect(out.stdout.split('\n')).toEqual([
      'fifo fifo 640 0:0 1 0',
      'tty character special file 644 4:1 1 0',
      'disk block special file 644 8:10 1 0',
      'sock socket 755 0:0 1 0',
      'through the pipe',
      'bcps',
      'fifo2 2',
      '0',
      '',
    ]);
    const dirent = await sh(
      `mkdir s2 && mkfifo s2/p && node -e "const fs = require('node:fs'); const [d] = fs.readdirSync('s2', { withFileTypes: true }); console.log(d.isFIFO(), fs.statSync('s2/p').isFIFO())"`,
      { cwd: mnt },
    );
    expect(dirent.stdout.trim()).toBe('true true');
  });

  it('fallocate extends, punches and zeroes; SEEK_DATA and SEEK_HOLE find the stored chunks; bad modes and sizes fail', async () => {
    const seek = `python3 -c "
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
def at(offset, whence):
    try: return str(os.lseek(fd, offset, whence))
    except OSError as e: return os.strerror(e.errno)
print(' '.join(at(int(o), os.SEEK_DATA if w == 'data' else os.SEEK_HOLE) for w, o in (a.split(':') for a in sys.argv[2:])))
"`;
    const out = await sh(
      `mkdir sparse && cd sparse
       fallocate -l 1048576 f && stat -c '%s' f
       printf data | dd of=f bs=1 seek=524288 conv=notrunc status=none
       ${seek} f data:0 hole:0 hole:524288 data:589824
       fallocate -p -o 524288 -l 65536 f && stat -c '%s' f
       ${seek} f data:0 hole:0
       printf abcdef > z && fallocate -z -o 1 -l 2 z && od -An -c z | tr -s ' '
       fallocate -n -o 0 -l 1048576 z && stat -c '%s' z
       { fallocate -l 20T big 2>&1 || true; } | sed 's/.*: //'
       { ls big 2>&1 || true; } | sed 's/.*: //'
       { fallocate -c -o 0 -l 65536 f 2>&1 || true; } | sed 's/.*: //'`,
      { cwd: mnt },
    );
    expect(out.stdout.split('\n')).toEqual([
      '1048576',
      '524288 0 589824 No such device or address',
      '1048576',
      'No such device or address 0',
      ' a \\0 \\0 d e f',
      '6',
      // fallocate(1) creates the file before it asks for the space, as on ext4.
      'File too large',
      'big',
      'Operation not supported',
      '',
    ]);
  });

  it('owners: what another user creates is theirs, chown records and stamps ctime, the kernel enforces the bits', async () => {
    await sh(`chmod 755 "$(dirname '${mnt}')"`);
    const nobody = (script: string) =>
      sh(`setpriv --reuid=65534 --regid=65534 --clear-groups sh -c '${script}' 2>&1 || true`, { cwd: mnt });
    await sh('mkdir -m 777 own && echo secret > own/root-only && chmod 600 own/root-only', { cwd: mnt });
    await nobody('touch own/mine && mkdir own/dir && ln -s mine own/link && mkfifo own/pipe');
    const owners = await sh('stat -c "%n %u:%g" own/mine own/dir own/link own/pipe own/root-only', { cwd: mnt });
    expect(owners.stdout).toBe(
      'own/mine 65534:65534\nown/dir 65534:65534\nown/link 65534:65534\nown/pipe 65534:65534\nown/root-only 0:0\n',
    );
    expect((await nobody('cat own/root-only')).stdout).toMatch(/Permission denied/);
    expect((await nobody('chown 65534 own/root-only')).stdout).toMatch(/Operation not permitted/);
    expect((await nobody('touch rootdir-file')).stdout).toMatch(/Permission denied/);
    expect((await nobody('echo mine > own/mine && cat own/mine')).stdout).toBe('mine\n');
    const chown = await sh(
      `c1=$(stat -c %z own/root-only); sleep 0.05; chown 1234:5678 own/root-only; c2=$(stat -c %z own/root-only)
       stat -c '%u:%g' own/root-only; [ "$c1" != "$c2" ] && echo ctime moved
       chown -h 42:43 own/link; stat -c '%u:%g' own/link own/mine
       chgrp 7 own/dir; stat -c '%u:%g' own/dir`,
      { cwd: mnt },
    );
    expect(chown.stdout).toBe('1234:5678\nctime moved\n42:43\n65534:65534\n65534:7\n');
    // The set-ID bits go when someone else's write or a chown could abuse them, as on Linux.
    await sh('chmod 6777 own/mine', { cwd: mnt });
    await nobody('echo more >> own/mine');
    expect((await sh('stat -c %a own/mine', { cwd: mnt })).stdout.trim()).toBe('777');
    // A set-group-ID directory hands its group down.
    await sh('mkdir -m 2777 own/shared && chgrp 4242 own/shared', { cwd: mnt });
    await nobody('touch own/shared/f && mkdir own/shared/d');
    const inherited = await sh('stat -c "%g %a" own/shared/f own/shared/d', { cwd: mnt });
    expect(inherited.stdout).toBe('4242 644\n4242 2755\n');
  });

  it('truncate and open(O_TRUNC) move ctime at once, without waiting for the attribute cache', async () => {
    const result = await probe<Record<string, boolean>>(
      mnt,
      `const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
       fs.writeFileSync('t1', 'some bytes');
       const a = fs.statSync('t1').ctimeMs; sleep(30);
       fs.truncateSync('t1', 3);
       const b = fs.statSync('t1').ctimeMs; sleep(30);
       const fd = fs.openSync('t1', fs.constants.O_WRONLY | fs.constants.O_TRUNC);
       const c = fs.fstatSync(fd).ctimeMs; const cByName = fs.statSync('t1').ctimeMs; sleep(30);
       fs.ftruncateSync(fd, 100);
       const d = fs.statSync('t1').ctimeMs;
       fs.closeSync(fd);
       return { truncate: b > a, openTrunc: c > b && cByName > b, ftruncate: d > c, size: fs.statSync('t1').size === 100 };`,
    );
    expect(result).toEqual({ truncate: true, openTrunc: true, ftruncate: true, size: true });
  });
});

describe('statfs and the quota', () => {
  it('df shows the stored-bytes quota and df -i the inode quota', async () => {
    const dir = await makeTemp('quota');
    const mnt = join(dir, 'mnt');
    const daemon = await startDaemon(join(dir, 'ws.db'), mnt, {
      args: ['--max-stored-bytes', '8m', '--max-inodes', '500'],
    });
    try {
      await sh('head -c 100000 /dev/urandom > data && mkdir d && touch d/a d/b', { cwd: mnt });
      const df = await sh(
        `df -B1 --output=size,used,avail '${mnt}' | tail -1; df --output=itotal,iused,iavail '${mnt}' | tail -1`,
      );
      const [size, used, avail, itotal, iused, iavail] = df.stdout.trim().split(/\s+/).map(Number);
      expect(size).toBe(8 * 1024 * 1024);
      expect(used).toBeGreaterThanOrEqual(100_000);
      expect(used + avail).toBe(size);
      expect([itotal, iused, iavail]).toEqual([500, 5, 495]);
      const full = await sh('head -c 9000000 /dev/urandom > big', { cwd: mnt, allowFail: true });
      expect(full.stderr).toMatch(/No space left on device/);
    } finally {
      await daemon.stop();
      await ensureUnmounted(mnt);
      await removeTemp(dir);
    }
  });
});
