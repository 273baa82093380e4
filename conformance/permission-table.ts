/**
 * One table of permission cases, run twice: on dofs's node:fs module for the identity
 * {@link CALLER} (conformance/cases/permissions.ts, every backend) and on real node:fs by a process
 * of that identity in a temporary directory (test/permissions-differential.test.ts, when the test
 * runs as root and may switch users). The expected results are what Linux gave there.
 *
 * @module
 */

/** The calling identity the steps run as: not root, in one group. */
export const CALLER = { uid: 1000, gid: 1000 };
/** Someone else. */
const OTHER = 2000;

/** The node:fs calls the table makes (sync forms), as both node:fs and dofs's module have them. */
export interface PermissionFs {
  mkdirSync(path: string, options?: { recursive?: boolean; mode?: number }): unknown;
  writeFileSync(path: string, data: string, options?: { mode?: number }): void;
  readFileSync(path: string, encoding: 'utf8'): string;
  chmodSync(path: string, mode: number): void;
  chownSync(path: string, uid: number, gid: number): void;
  symlinkSync(target: string, path: string): void;
  linkSync(existing: string, path: string): void;
  statSync(path: string): unknown;
  lstatSync(path: string): unknown;
  readdirSync(path: string, options?: { recursive?: boolean; withFileTypes?: boolean }): unknown;
  globSync(pattern: string, options: { cwd: string }): unknown;
  opendirSync(path: string): { closeSync(): void };
  unlinkSync(path: string): void;
  rmdirSync(path: string): void;
  rmSync(path: string, options?: { recursive?: boolean; force?: boolean }): void;
  renameSync(from: string, to: string): void;
  copyFileSync(from: string, to: string): void;
  truncateSync(path: string, length?: number): void;
  utimesSync(path: string, atime: number, mtime: number): void;
  accessSync(path: string, mode?: number): void;
  openSync(path: string, flags: string): number;
  closeSync(fd: number): void;
  fchmodSync(fd: number, mode: number): void;
  futimesSync(fd: number, atime: number, mtime: number): void;
  realpathSync: ((path: string) => unknown) & { native(path: string): unknown };
  readlinkSync(path: string): unknown;
  existsSync(path: string): boolean;
}

/** Maps a table path ('/a/b') to where it lives on the side being run. */
export type At = (path: string) => string;

/**
 * The tree the steps start from, made by root: directories without search permission, read-only
 * ones, one without read permission, a sticky one with someone else's file, the caller's own.
 */
export function permissionSetup(fs: PermissionFs, at: At): void {
  const own = (path: string, uid = CALLER.uid, gid = CALLER.gid) => fs.chownSync(at(path), uid, gid);
  fs.chownSync(at('/'), 0, 0);
  fs.chmodSync(at('/'), 0o755);
  fs.mkdirSync(at('/noexec'));
  fs.writeFileSync(at('/noexec/f'), 'f');
  fs.chmodSync(at('/noexec'), 0o666);
  fs.mkdirSync(at('/ro'));
  fs.writeFileSync(at('/ro/f'), 'f');
  fs.chmodSync(at('/ro'), 0o555);
  fs.mkdirSync(at('/noread'));
  fs.chmodSync(at('/noread'), 0o311);
  fs.mkdirSync(at('/sticky'));
  fs.chmodSync(at('/sticky'), 0o1777);
  fs.writeFileSync(at('/sticky/others'), 'o');
  fs.chmodSync(at('/sticky/others'), 0o666);
  own('/sticky/others', OTHER, OTHER);
  fs.writeFileSync(at('/sticky/own'), 'm');
  own('/sticky/own');
  fs.writeFileSync(at('/rootfile'), 'r');
  fs.chmodSync(at('/rootfile'), 0o644);
  fs.mkdirSync(at('/open'));
  fs.chmodSync(at('/open'), 0o777);
  fs.mkdirSync(at('/open/rootdir'));
  fs.chmodSync(at('/open/rootdir'), 0o755);
  fs.mkdirSync(at('/mine'));
  own('/mine');
  fs.writeFileSync(at('/mine/f'), 'mine');
  own('/mine/f');
  fs.chmodSync(at('/mine/f'), 0o644);
  fs.writeFileSync(at('/mine/secret'), 's');
  own('/mine/secret');
  fs.chmodSync(at('/mine/secret'), 0o000);
  fs.symlinkSync(at('/noexec/f'), at('/mine/ln'));
  fs.mkdirSync(at('/mine/sub'));
  own('/mine/sub');
  fs.writeFileSync(at('/mine/sub/x'), 'x');
  own('/mine/sub/x');
  fs.mkdirSync(at('/mine/sub/locked'));
  own('/mine/sub/locked');
  fs.writeFileSync(at('/mine/sub/locked/y'), 'y');
  fs.chmodSync(at('/mine/sub/locked'), 0o555);
}

/** One call as the caller, and what Linux answers: 'ok', or an error's code and syscall. */
export interface PermissionStep {
  name: string;
  run(fs: PermissionFs, at: At): unknown;
  expect: 'ok' | { code: string; syscall: string };
}

/** Runs `fn` on `path` opened for reading, closing it whatever happens. */
function withFd(fs: PermissionFs, path: string, fn: (fd: number) => void): void {
  const fd = fs.openSync(path, 'r');
  try {
    fn(fd);
  } finally {
    fs.closeSync(fd);
  }
}

const refused = (code: string, syscall: string) => ({ code, syscall });

/** The steps, in order (later ones see what earlier ones changed). */
export const PERMISSION_STEPS: readonly PermissionStep[] = [
  {
    name: 'stat below a directory without x',
    run: (fs, at) => fs.statSync(at('/noexec/f')),
    expect: refused('EACCES', 'stat'),
  },
  { name: 'stat of that directory itself', run: (fs, at) => fs.statSync(at('/noexec')), expect: 'ok' },
  { name: 'readdir of a directory with r but no x', run: (fs, at) => fs.readdirSync(at('/noexec')), expect: 'ok' },
  {
    name: 'lstat below no x',
    run: (fs, at) => fs.lstatSync(at('/noexec/missing')),
    expect: refused('EACCES', 'lstat'),
  },
  {
    name: 'exists below no x is false',
    run: (fs, at) => {
      if (fs.existsSync(at('/noexec/f')))
        throw Object.assign(new Error('exists'), { code: 'EXISTS', syscall: 'exists' });
    },
    expect: 'ok',
  },
  {
    name: 'create below no x',
    run: (fs, at) => fs.writeFileSync(at('/noexec/g'), 'g'),
    expect: refused('EACCES', 'open'),
  },
  {
    name: 'read through a symlink into no x',
    run: (fs, at) => fs.readFileSync(at('/mine/ln'), 'utf8'),
    expect: refused('EACCES', 'open'),
  },
  { name: 'readlink of that symlink', run: (fs, at) => fs.readlinkSync(at('/mine/ln')), expect: 'ok' },
  {
    name: 'realpath through no x',
    run: (fs, at) => fs.realpathSync(at('/noexec/f')),
    expect: refused('EACCES', 'lstat'),
  },
  { name: 'access below no x', run: (fs, at) => fs.accessSync(at('/noexec/f')), expect: refused('EACCES', 'access') },
  {
    name: 'truncate below no x',
    run: (fs, at) => fs.truncateSync(at('/noexec/f'), 0),
    expect: refused('EACCES', 'open'),
  },
  {
    name: 'mkdir in a read-only directory',
    run: (fs, at) => fs.mkdirSync(at('/ro/x')),
    expect: refused('EACCES', 'mkdir'),
  },
  {
    name: 'mkdir of an existing name there is EEXIST first',
    run: (fs, at) => fs.mkdirSync(at('/ro/f')),
    expect: refused('EEXIST', 'mkdir'),
  },
  {
    name: 'mkdir -p below a read-only directory',
    run: (fs, at) => fs.mkdirSync(at('/ro/a/b'), { recursive: true }),
    expect: refused('EACCES', 'mkdir'),
  },
  {
    name: 'unlink in a read-only directory',
    run: (fs, at) => fs.unlinkSync(at('/ro/f')),
    expect: refused('EACCES', 'unlink'),
  },
  { name: 'rm in a read-only directory', run: (fs, at) => fs.rmSync(at('/ro/f')), expect: refused('EACCES', 'rm') },
  {
    name: 'rm with force below no x',
    run: (fs, at) => fs.rmSync(at('/noexec/f'), { force: true }),
    expect: refused('EACCES', 'lstat'),
  },
  {
    name: 'rmdir of a directory in a read-only parent',
    run: (fs, at) => fs.rmdirSync(at('/ro')),
    expect: refused('EACCES', 'rmdir'),
  },
  {
    name: 'rename out of a read-only directory',
    run: (fs, at) => fs.renameSync(at('/ro/f'), at('/mine/g')),
    expect: refused('EACCES', 'rename'),
  },
  {
    name: 'rename into a read-only directory',
    run: (fs, at) => fs.renameSync(at('/mine/f'), at('/ro/g')),
    expect: refused('EACCES', 'rename'),
  },
  {
    name: 'link into a read-only directory',
    run: (fs, at) => fs.linkSync(at('/mine/f'), at('/ro/h')),
    expect: refused('EACCES', 'link'),
  },
  {
    name: 'symlink in a read-only directory',
    run: (fs, at) => fs.symlinkSync('x', at('/ro/s')),
    expect: refused('EACCES', 'symlink'),
  },
  {
    name: 'copyFile into a read-only directory',
    run: (fs, at) => fs.copyFileSync(at('/mine/f'), at('/ro/c')),
    expect: refused('EACCES', 'copyfile'),
  },
  {
    name: "hard link to root's file it may not write",
    run: (fs, at) => fs.linkSync(at('/rootfile'), at('/mine/hl')),
    expect: refused('EPERM', 'link'),
  },
  { name: 'hard link to its own file', run: (fs, at) => fs.linkSync(at('/mine/f'), at('/mine/hl')), expect: 'ok' },
  {
    name: "unlink of another's file in a sticky directory",
    run: (fs, at) => fs.unlinkSync(at('/sticky/others')),
    expect: refused('EPERM', 'unlink'),
  },
  {
    name: "rename of another's file in a sticky directory",
    run: (fs, at) => fs.renameSync(at('/sticky/others'), at('/sticky/x')),
    expect: refused('EPERM', 'rename'),
  },
  {
    name: "rename onto another's file in a sticky directory",
    run: (fs, at) => fs.renameSync(at('/sticky/own'), at('/sticky/others')),
    expect: refused('EPERM', 'rename'),
  },
  {
    name: "writing another's 0o666 file in a sticky directory",
    run: (fs, at) => fs.writeFileSync(at('/sticky/others'), 'w'),
    expect: 'ok',
  },
  {
    name: 'unlink of its own file in a sticky directory',
    run: (fs, at) => fs.unlinkSync(at('/sticky/own')),
    expect: 'ok',
  },
  { name: 'create in a sticky directory', run: (fs, at) => fs.writeFileSync(at('/sticky/new'), 'n'), expect: 'ok' },
  {
    name: "chmod of root's file",
    run: (fs, at) => fs.chmodSync(at('/rootfile'), 0o777),
    expect: refused('EPERM', 'chmod'),
  },
  { name: 'chmod of its own file', run: (fs, at) => fs.chmodSync(at('/mine/secret'), 0o600), expect: 'ok' },
  {
    name: 'read of its own file once readable',
    run: (fs, at) => fs.readFileSync(at('/mine/secret'), 'utf8'),
    expect: 'ok',
  },
  {
    name: 'chown of its own file to someone else',
    run: (fs, at) => fs.chownSync(at('/mine/f'), OTHER, CALLER.gid),
    expect: refused('EPERM', 'chown'),
  },
  {
    name: 'chown of its own file to itself and its group',
    run: (fs, at) => fs.chownSync(at('/mine/f'), CALLER.uid, CALLER.gid),
    expect: 'ok',
  },
  {
    name: 'chgrp of its own file to a group it is not in',
    run: (fs, at) => fs.chownSync(at('/mine/f'), -1, OTHER),
    expect: refused('EPERM', 'chown'),
  },
  {
    name: "chgrp of root's file to its own group",
    run: (fs, at) => fs.chownSync(at('/rootfile'), -1, CALLER.gid),
    expect: refused('EPERM', 'chown'),
  },
  {
    name: "utimes of root's file",
    run: (fs, at) => fs.utimesSync(at('/rootfile'), 1, 2),
    expect: refused('EPERM', 'utime'),
  },
  {
    name: "fchmod of root's file open for reading",
    run: (fs, at) => withFd(fs, at('/rootfile'), (fd) => fs.fchmodSync(fd, 0o777)),
    expect: refused('EPERM', 'fchmod'),
  },
  {
    name: "futimes of root's file open for reading",
    run: (fs, at) => withFd(fs, at('/rootfile'), (fd) => fs.futimesSync(fd, 1, 2)),
    expect: refused('EPERM', 'futime'),
  },
  {
    name: 'fchmod of its own file',
    run: (fs, at) => withFd(fs, at('/mine/f'), (fd) => fs.fchmodSync(fd, 0o644)),
    expect: 'ok',
  },
  { name: 'utimes of its own file', run: (fs, at) => fs.utimesSync(at('/mine/f'), 1, 2), expect: 'ok' },
  { name: 'readdir without r', run: (fs, at) => fs.readdirSync(at('/noread')), expect: refused('EACCES', 'scandir') },
  {
    name: 'opendir without r',
    run: (fs, at) => fs.opendirSync(at('/noread')).closeSync(),
    expect: refused('EACCES', 'opendir'),
  },
  {
    name: 'create in a directory with x only',
    run: (fs, at) => fs.writeFileSync(at('/noread/y'), 'y'),
    expect: refused('EACCES', 'open'),
  },
  {
    name: 'access R_OK of a 0o000 file it owns',
    run: (fs, at) => {
      fs.chmodSync(at('/mine/secret'), 0);
      fs.accessSync(at('/mine/secret'), 4);
    },
    expect: refused('EACCES', 'access'),
  },
  {
    name: 'open of a 0o000 file it owns',
    run: (fs, at) => fs.closeSync(fs.openSync(at('/mine/secret'), 'r')),
    expect: refused('EACCES', 'open'),
  },
  {
    name: "moving root's directory to another parent (its '..' is not writable)",
    run: (fs, at) => fs.renameSync(at('/open/rootdir'), at('/mine/rootdir')),
    expect: refused('EACCES', 'rename'),
  },
  {
    name: "renaming root's directory within its parent",
    run: (fs, at) => fs.renameSync(at('/open/rootdir'), at('/open/renamed')),
    expect: 'ok',
  },
  {
    name: 'rm -r of a tree holding a read-only directory',
    run: (fs, at) => fs.rmSync(at('/mine/sub'), { recursive: true }),
    expect: refused('EACCES', 'rm'),
  },
  {
    name: 'mkdir and rmdir in its own directory',
    run: (fs, at) => {
      fs.mkdirSync(at('/mine/d'));
      fs.rmdirSync(at('/mine/d'));
    },
    expect: 'ok',
  },
  {
    name: 'rm -r of a tree it may empty',
    run: (fs, at) => {
      fs.chmodSync(at('/mine/sub/locked'), 0o755);
      fs.rmSync(at('/mine/sub'), { recursive: true });
    },
    expect: 'ok',
  },
  // '.' and '..' are looked up like any name: in a directory the caller may search. A trailing
  // slash is no lookup of its own.
  {
    name: "stat of a final '.' in a directory without x",
    run: (fs, at) => fs.statSync(at('/noexec/.')),
    expect: refused('EACCES', 'stat'),
  },
  {
    name: "stat of '..' out of a directory without x",
    run: (fs, at) => fs.statSync(at('/noexec/..')),
    expect: refused('EACCES', 'stat'),
  },
  {
    name: 'stat of a directory without x with a trailing slash',
    run: (fs, at) => fs.statSync(at('/noexec/')),
    expect: 'ok',
  },
  {
    name: "readdir of a final '.' in a directory without x",
    run: (fs, at) => fs.readdirSync(at('/noexec/.')),
    expect: refused('EACCES', 'scandir'),
  },
  {
    name: 'recursive readdir (names) lists a subdirectory it cannot enter, and goes no further',
    run: (fs, at) => {
      fs.mkdirSync(at('/mine/rd/sub'), { recursive: true });
      fs.chmodSync(at('/mine/rd'), 0o600);
      const names = JSON.stringify(fs.readdirSync(at('/mine/rd'), { recursive: true }));
      if (names !== '["sub"]') throw Object.assign(new Error(names), { code: 'LISTED', syscall: names });
    },
    expect: 'ok',
  },
  {
    name: 'recursive readdir with types goes into it, and fails there',
    run: (fs, at) => fs.readdirSync(at('/mine/rd'), { recursive: true, withFileTypes: true }),
    expect: refused('EACCES', 'scandir'),
  },
  {
    name: "glob '**/sub' finds the entry as listed in a directory without x",
    run: (fs, at) => {
      const found = JSON.stringify(fs.globSync('**/sub', { cwd: at('/mine/rd') }));
      if (found !== '["sub"]') throw Object.assign(new Error(found), { code: 'GLOBBED', syscall: found });
    },
    expect: 'ok',
  },
  {
    name: 'rm -r of an empty directory with r but no x (read, nothing in it to remove)',
    run: (fs, at) => {
      fs.chmodSync(at('/mine/rd'), 0o700);
      fs.chmodSync(at('/mine/rd/sub'), 0o600);
      fs.rmSync(at('/mine/rd/sub'), { recursive: true });
    },
    expect: 'ok',
  },
  {
    name: 'rm -r of an empty directory without r',
    run: (fs, at) => {
      fs.mkdirSync(at('/mine/rd/wx'), { mode: 0o300 });
      fs.rmSync(at('/mine/rd/wx'), { recursive: true });
    },
    expect: refused('EACCES', 'rm'),
  },
  {
    name: "realpath(3) of '..' out of a directory without x (it climbs by name)",
    run: (fs, at) => fs.realpathSync.native(at('/noexec/..')),
    expect: 'ok',
  },
  {
    name: 'readFile of a directory without r is EACCES at open (EISDIR only once open)',
    run: (fs, at) => fs.readFileSync(at('/noread'), 'utf8'),
    expect: refused('EACCES', 'open'),
  },
  {
    name: "glob '**/g' in a directory named g without x: the inner g is looked up, not taken as listed",
    run: (fs, at) => {
      fs.mkdirSync(at('/mine/g/g'), { recursive: true });
      fs.chmodSync(at('/mine/g'), 0o600);
      const found = JSON.stringify(fs.globSync('**/g', { cwd: at('/mine') }));
      fs.chmodSync(at('/mine/g'), 0o700);
      if (found !== '["g"]') throw Object.assign(new Error(found), { code: 'GLOBBED', syscall: found });
    },
    expect: 'ok',
  },
];

/** Runs every step as the current caller: 'ok' or the code and syscall of what was thrown. */
export function runPermissionSteps(
  fs: PermissionFs,
  at: At,
): Array<{ name: string; result: PermissionStep['expect'] }> {
  return PERMISSION_STEPS.map((step) => {
    try {
      step.run(fs, at);
      return { name: step.name, result: 'ok' as const };
    } catch (error) {
      const { code, syscall } = error as { code?: string; syscall?: string };
      return { name: step.name, result: { code: String(code), syscall: String(syscall) } };
    }
  });
}
