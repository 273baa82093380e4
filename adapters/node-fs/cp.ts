/**
 * fs.cp, written once as node's algorithm (lib/internal/fs/cp/cp.js) and run two ways: the steps
 * are a generator that yields each call of the user's `filter` and receives its answer, so cpSync
 * drives it synchronously and cp / promises.cp drive it asynchronously (awaiting a filter that
 * returns a promise) without a second copy of the logic.
 *
 * @module
 */
import { FsError } from '../../core/index.ts';
import { checkInteger, invalidType, toPath } from '../vfs/args.ts';
import type { WorkspaceStats } from '../vfs/stats.ts';
import { codedError, systemError } from './errors.ts';
import { dirname, isAbsolute, join, resolveFully } from './paths.ts';

/** fs.cp's options. */
export interface CpOptions {
  /** Follow symlinks in `src` rather than copying them as links. */
  dereference?: boolean;
  /** With `force: false`, an existing destination file is ERR_FS_CP_EEXIST. */
  errorOnExist?: boolean;
  /** Called for every path; false skips it (and everything below it). May return a promise in the async forms. */
  filter?: (src: string, dest: string) => boolean | Promise<boolean>;
  /** Overwrite existing files. Default true. */
  force?: boolean;
  /** copyFile's mode (COPYFILE_EXCL...). */
  mode?: number;
  /** Give copies the source's times. */
  preserveTimestamps?: boolean;
  /** Copy directories and their contents. */
  recursive?: boolean;
  /** Copy symlink targets verbatim instead of resolving relative ones. */
  verbatimSymlinks?: boolean;
}

/** What the steps need: the sync surface, raising engine errors. */
export interface CpFs {
  readonly cwd: string;
  statSync(path: string, options?: { throwIfNoEntry?: boolean }): WorkspaceStats | undefined;
  lstatSync(path: string, options?: { throwIfNoEntry?: boolean }): WorkspaceStats | undefined;
  existsSync(path: string): boolean;
  mkdirSync(path: string, options?: { recursive?: boolean }): string | undefined;
  /** mkdir as fs.mkdir and fs.promises.mkdir behave (cp is node's asynchronous algorithm). */
  mkdirAsyncSemantics(path: string, options?: { recursive?: boolean }): string | undefined;
  chmodSync(path: string, mode: number): void;
  utimesSync(path: string, atime: unknown, mtime: unknown): void;
  copyFileSync(src: string, dest: string, mode?: number): void;
  unlinkSync(path: string): void;
  symlinkSync(target: string, path: string): void;
  readlinkSync(path: string): string | Uint8Array;
  readdirSync(path: string): Array<string | Uint8Array | object>;
  realpathSync(path: string): string | Uint8Array;
  rmdirSync(path: string): void;
}

/** One call of the filter the driver must make: it sends back the answer. */
export interface FilterCall {
  src: string;
  dest: string;
}

type Steps<T> = Generator<FilterCall, T, unknown>;

const isNoEntry = (error: unknown): boolean => (error as FsError)?.code === 'ENOENT';

function cpError(code: string, title: string, errno: string, message: string, path: string): Error {
  return systemError(code, title, { code: errno, message, path, syscall: 'cp' });
}

/** node's ERR_FS_CP_EINVAL: copying a path onto itself or into its own subtree. */
function invalidSrcOrDest(message: string, path: string): Error {
  return cpError('ERR_FS_CP_EINVAL', 'Invalid src or dest', 'EINVAL', message, path);
}

/**
 * The steps of `cp(src, dest, options)`, as node's JavaScript cp (fs.cp, fs.promises.cp) takes them.
 * cpSync runs the same steps: node 24's native cpSync differs in corners (it follows a symlinked
 * `src` when checking paths, overwrites files in place, leaves copied subdirectories at the default
 * mode, canonicalises link targets), and one cp with one behaviour in every form seemed better.
 */
export function* cpSteps(fs: CpFs, srcArg: unknown, destArg: unknown, options: CpOptions = {}): Steps<void> {
  const opts = checkCpOptions(options);
  const src = toPath(srcArg, 'src');
  const dest = toPath(destArg, 'dest');
  const resolve = (path: string): string => resolveFully(fs.cwd, path);
  const segments = (path: string): string[] => resolve(path).split('/').filter(Boolean);
  const isSrcSubdir = (a: string, b: string): boolean => {
    const destParts = segments(b);
    return segments(a).every((part, i) => destParts[i] === part);
  };
  const identical = (a: WorkspaceStats, b: WorkspaceStats): boolean =>
    !!b.ino && !!b.dev && a.ino === b.ino && a.dev === b.dev;
  const statOf = (path: string): WorkspaceStats =>
    (opts.dereference ? fs.statSync(path) : fs.lstatSync(path)) as WorkspaceStats;

  function* checkPaths(
    from: string,
    to: string,
  ): Steps<{ destStat?: WorkspaceStats; srcStat?: WorkspaceStats; skipped: boolean }> {
    if (opts.filter && !(yield { src: from, dest: to })) return { skipped: true };
    const srcStat = statOf(from);
    let destStat: WorkspaceStats | undefined;
    try {
      destStat = statOf(to);
    } catch (error) {
      if (!isNoEntry(error)) throw error;
    }
    if (destStat) {
      if (identical(srcStat, destStat)) throw invalidSrcOrDest('src and dest cannot be the same', to);
      if (srcStat.isDirectory() && !destStat.isDirectory())
        throw cpError(
          'ERR_FS_CP_DIR_TO_NON_DIR',
          'Cannot overwrite non-directory with directory',
          'EISDIR',
          `cannot overwrite non-directory ${to} with directory ${from}`,
          to,
        );
      if (!srcStat.isDirectory() && destStat.isDirectory())
        throw cpError(
          'ERR_FS_CP_NON_DIR_TO_DIR',
          'Cannot overwrite directory with non-directory',
          'ENOTDIR',
          `cannot overwrite directory ${to} with non-directory ${from}`,
          to,
        );
    }
    if (srcStat.isDirectory() && isSrcSubdir(from, to))
      throw invalidSrcOrDest(`cannot copy ${from} to a subdirectory of self ${to}`, to);
    return { srcStat, destStat, skipped: false };
  }

  const checkParentPaths = (from: string, srcStat: WorkspaceStats, to: string): void => {
    const srcParent = resolve(dirname(from));
    const destParent = resolve(dirname(to));
    if (destParent === srcParent || destParent === '/') return;
    let destStat: WorkspaceStats | undefined;
    try {
      destStat = fs.statSync(destParent);
    } catch (error) {
      if (isNoEntry(error)) return;
      throw error;
    }
    if (destStat && identical(srcStat, destStat))
      throw invalidSrcOrDest(`cannot copy ${from} to a subdirectory of self ${to}`, to);
    checkParentPaths(from, srcStat, destParent);
  };

  const copyFile = (srcStat: WorkspaceStats, from: string, to: string): void => {
    fs.copyFileSync(from, to, opts.mode);
    if (opts.preserveTimestamps) {
      // node makes the copy writable before setting its times.
      if ((srcStat.mode & 0o200) === 0) fs.chmodSync(to, srcStat.mode | 0o200);
      const updated = fs.statSync(from) as WorkspaceStats;
      fs.utimesSync(to, updated.atime, updated.mtime);
    }
    fs.chmodSync(to, srcStat.mode);
  };

  const onFile = (srcStat: WorkspaceStats, destStat: WorkspaceStats | undefined, from: string, to: string): void => {
    if (destStat && opts.force) fs.unlinkSync(to);
    if (!destStat || opts.force) {
      copyFile(srcStat, from, to);
      return;
    }
    if (opts.errorOnExist)
      throw cpError('ERR_FS_CP_EEXIST', 'Target already exists', 'EEXIST', `${to} already exists`, to);
  };

  const onLink = (destStat: WorkspaceStats | undefined, from: string, to: string): void => {
    let resolvedSrc = String(fs.readlinkSync(from));
    if (!opts.verbatimSymlinks && !isAbsolute(resolvedSrc)) resolvedSrc = resolve(join(dirname(from), resolvedSrc));
    if (!destStat) {
      fs.symlinkSync(resolvedSrc, to);
      return;
    }
    let resolvedDest: string;
    try {
      resolvedDest = String(fs.readlinkSync(to));
    } catch (error) {
      if ((error as FsError).code !== 'EINVAL') throw error;
      fs.symlinkSync(resolvedSrc, to);
      return;
    }
    if (!isAbsolute(resolvedDest)) resolvedDest = resolve(join(dirname(to), resolvedDest));
    // internalModuleStat: a directory when followed, and never an error.
    let srcIsDir = false;
    try {
      srcIsDir = (fs.statSync(from) as WorkspaceStats).isDirectory();
    } catch {}
    if (srcIsDir && isSrcSubdir(resolvedSrc, resolvedDest))
      throw invalidSrcOrDest(`cannot copy ${resolvedSrc} to a subdirectory of self ${resolvedDest}`, to);
    if ((fs.statSync(from) as WorkspaceStats).isDirectory() && isSrcSubdir(resolvedDest, resolvedSrc))
      throw cpError(
        'ERR_FS_CP_SYMLINK_TO_SUBDIRECTORY',
        'Cannot overwrite symlink in subdirectory of self',
        'EINVAL',
        `cannot overwrite ${resolvedDest} with ${resolvedSrc}`,
        to,
      );
    fs.unlinkSync(to);
    fs.symlinkSync(resolvedSrc, to);
  };

  function* copyDir(from: string, to: string): Steps<void> {
    for (const name of fs.readdirSync(from)) {
      const srcItem = join(from, String(name));
      const destItem = join(to, String(name));
      const { destStat, skipped } = yield* checkPaths(srcItem, destItem);
      if (!skipped) yield* copyAny(destStat, srcItem, destItem);
    }
  }

  function* copyAny(destStat: WorkspaceStats | undefined, from: string, to: string): Steps<void> {
    const srcStat = statOf(from);
    if (srcStat.isDirectory() && opts.recursive) {
      if (destStat && opts.errorOnExist && !opts.force)
        throw cpError('ERR_FS_CP_EEXIST', 'Target already exists', 'EEXIST', `${to} already exists`, to);
      if (destStat) return yield* copyDir(from, to);
      fs.mkdirSync(to);
      yield* copyDir(from, to);
      fs.chmodSync(to, srcStat.mode);
      return;
    }
    if (srcStat.isDirectory())
      throw cpError('ERR_FS_EISDIR', 'Path is a directory', 'EISDIR', `${from} is a directory (not copied)`, from);
    if (srcStat.isFile()) return onFile(srcStat, destStat, from, to);
    if (srcStat.isSymbolicLink()) return onLink(destStat, from, to);
  }

  const { srcStat, destStat, skipped } = yield* checkPaths(src, dest);
  if (skipped || !srcStat) return;
  checkParentPaths(src, srcStat, dest);
  const destParent = dirname(dest);
  if (!fs.existsSync(destParent)) fs.mkdirAsyncSemantics(destParent, { recursive: true });
  yield* copyAny(destStat, src, dest);
}

/** node's validateCpOptions: booleans, a function filter, and dereference excludes verbatimSymlinks. */
export function checkCpOptions(options: CpOptions | undefined): CpOptions & { force: boolean } {
  if (options === undefined) options = {};
  if (typeof options !== 'object' || options === null) throw invalidType('options', 'of type object', options);
  for (const key of [
    'dereference',
    'errorOnExist',
    'force',
    'preserveTimestamps',
    'recursive',
    'verbatimSymlinks',
  ] as const)
    if (options[key] !== undefined && typeof options[key] !== 'boolean')
      throw invalidType(`options.${key}`, 'of type boolean', options[key]);
  if (options.dereference === true && options.verbatimSymlinks === true)
    throw codedError(
      'ERR_INCOMPATIBLE_OPTION_PAIR',
      'Option "dereference" cannot be used in combination with option "verbatimSymlinks"',
      TypeError,
    );
  if (options.filter !== undefined && typeof options.filter !== 'function')
    throw invalidType('options.filter', 'of type function', options.filter);
  // getValidMode(mode, 'copyFile'): COPYFILE_* bits only.
  if (options.mode !== undefined && options.mode !== null) checkInteger(options.mode, 'mode', 0, 7);
  return { ...options, force: options.force ?? true };
}

/** std::filesystem::path::parent_path on a POSIX string: '' for a bare name, '/' for '/x', 'a/b' for 'a/b/'. */
function parentPath(path: string): string {
  const slash = path.lastIndexOf('/');
  if (slash === -1) return '';
  if (slash === path.length - 1) return path.replace(/\/+$/, '') || '/';
  return path.slice(0, slash).replace(/\/+$/, '') || '/';
}

/** A node-style error with an errno code that names `syscall` and `path` as given (std::filesystem's, in native cp). */
function stdError(code: string, syscall: string, path: string): Error {
  return new FsError(code as FsError['code'], syscall, path);
}

/**
 * The steps of node 24's native cpSync (lib/internal/fs/cp/cp-sync.js over src/node_file.cc's
 * cpSyncCheckPaths, cpSyncOverrideFile and cpSyncCopyDir), as measured on Linux: the source is
 * followed when checking paths (a dangling or looping link is `lstat` ENOENT/ELOOP), a directory
 * without `recursive` fails before anything is created, the destination's parent is created
 * whatever follows, files are overwritten by unlink and copy, directories merge (with
 * `errorOnExist`, an existing file is ERR_FS_CP_EEXIST), created directories keep the default mode,
 * and links inside a copied directory point at the canonical absolute target. Paths are used as
 * given (relative ones against the working directory), as node does.
 * One deliberate difference: where node aborts the process (a directory copied onto a
 * non-directory inside a merge), this throws EEXIST `mkdir`.
 */
export function* cpNativeSteps(fs: CpFs, srcArg: unknown, destArg: unknown, options: CpOptions = {}): Steps<void> {
  const opts = checkCpOptions(options);
  const src = toPath(srcArg, 'src');
  const dest = toPath(destArg, 'dest');
  if (opts.filter && !(yield { src, dest })) return;
  checkPathsNative(fs, src, dest, opts);
  yield* nativeGetStats(fs, src, dest, opts);
}

const tryStat = (fn: () => WorkspaceStats | undefined): WorkspaceStats | undefined => {
  try {
    return fn();
  } catch {
    return undefined;
  }
};

function checkPathsNative(fs: CpFs, src: string, dest: string, opts: CpOptions): void {
  let srcStat: WorkspaceStats;
  try {
    // As node 24 does it: the source is followed unless `dereference` (sic), and named `lstat`.
    srcStat = (opts.dereference ? fs.lstatSync(src) : fs.statSync(src)) as WorkspaceStats;
  } catch (error) {
    if (error instanceof FsError) throw stdError(error.code, opts.dereference ? 'stat' : 'lstat', src);
    throw error;
  }
  const destStat = tryStat(() => (opts.dereference ? fs.statSync(dest) : fs.lstatSync(dest)));
  const srcIsDir = srcStat.isDirectory() || (opts.dereference === true && srcStat.isSymbolicLink());
  if (destStat) {
    const a = tryStat(() => fs.statSync(src));
    const b = tryStat(() => fs.statSync(dest));
    // Node 24's native cpSync throws this one bare: a code and a message, no syscall or path.
    if (a && b && a.ino === b.ino) throw codedError('ERR_FS_CP_EINVAL', `src and dest cannot be the same ${dest}`);
    if (srcIsDir && !destStat.isDirectory())
      throw codedError('ERR_FS_CP_DIR_TO_NON_DIR', `Cannot overwrite non-directory ${dest} with directory ${src}`);
    if (!srcIsDir && destStat.isDirectory())
      throw codedError('ERR_FS_CP_NON_DIR_TO_DIR', `Cannot overwrite directory ${dest} with non-directory ${src}`);
  }
  const srcSlash = src.endsWith('/') ? src : `${src}/`;
  if (srcIsDir && dest.startsWith(srcSlash))
    throw codedError('ERR_FS_CP_EINVAL', `Cannot copy ${srcSlash} to a subdirectory of self ${dest}`);
  const destParent = parentPath(dest);
  if (parentPath(src) !== destParent && parentPath(destParent) !== '' && parentPath(destParent) !== destParent) {
    const a = tryStat(() => fs.statSync(src));
    const b = tryStat(() => fs.statSync(destParent));
    if (a && b && a.ino === b.ino)
      throw codedError('ERR_FS_CP_EINVAL', `Cannot copy ${srcSlash} to a subdirectory of self ${dest}`);
  }
  if (srcIsDir && !opts.recursive)
    throw codedError('ERR_FS_EISDIR', `Recursive option not enabled, cannot copy a directory: ${srcSlash}`);
  if (destParent !== '' && (!destStat || !fs.existsSync(destParent))) {
    try {
      fs.mkdirSync(destParent, { recursive: true });
    } catch {} // create_directories' failure is ignored: what follows reports it.
  }
}

function* nativeGetStats(fs: CpFs, src: string, dest: string, opts: CpOptions & { force: boolean }): Steps<void> {
  const statOf = (path: string, noEntry?: boolean) =>
    (opts.dereference
      ? fs.statSync(path, { throwIfNoEntry: !noEntry })
      : fs.lstatSync(path, { throwIfNoEntry: !noEntry })) as WorkspaceStats | undefined;
  const srcStat = statOf(src) as WorkspaceStats;
  const destStat = statOf(dest, true);
  if (srcStat.isDirectory() && opts.recursive) {
    if (!opts.filter) return nativeCopyDir(fs, src, dest, opts);
    if (!destStat) fs.mkdirSync(dest);
    try {
      for (const name of fs.readdirSync(src)) {
        const srcItem = join(src, String(name));
        const destItem = join(dest, String(name));
        if (yield { src: srcItem, dest: destItem }) yield* nativeGetStats(fs, srcItem, destItem, opts);
      }
    } finally {
      if (!destStat) fs.chmodSync(dest, srcStat.mode);
    }
    return;
  }
  if (srcStat.isFile()) {
    if (!destStat) {
      fs.copyFileSync(src, dest, opts.mode);
      if (opts.preserveTimestamps) preserveTimes(fs, srcStat, src, dest);
      fs.chmodSync(dest, srcStat.mode);
      return;
    }
    if (opts.force) {
      // cpSyncOverrideFile: remove the entry, then copy (the copy has the source's mode).
      removeEntry(fs, dest, 'unlink');
      try {
        fs.copyFileSync(src, dest, opts.mode);
      } catch (error) {
        if (error instanceof FsError) throw stdError(error.code, 'cp', dest);
        throw error;
      }
      fs.chmodSync(dest, srcStat.mode);
      if (opts.preserveTimestamps) copyTimes(fs, src, dest);
      return;
    }
    if (opts.errorOnExist)
      throw cpError('ERR_FS_CP_EEXIST', 'Target already exists', 'EEXIST', `${dest} already exists`, dest);
    return;
  }
  if (srcStat.isSymbolicLink()) return nativeOnLink(fs, destStat, src, dest, opts.verbatimSymlinks === true);
}

function preserveTimes(fs: CpFs, srcStat: WorkspaceStats, src: string, dest: string): void {
  if ((srcStat.mode & 0o200) === 0) fs.chmodSync(dest, srcStat.mode | 0o200);
  copyTimes(fs, src, dest);
}

function copyTimes(fs: CpFs, src: string, dest: string): void {
  const updated = fs.statSync(src) as WorkspaceStats;
  fs.utimesSync(dest, updated.atime, updated.mtime);
}

/** std::filesystem::remove: unlink, or rmdir for a directory; errors as `syscall` at `path`. */
function removeEntry(fs: CpFs, path: string, syscall: string): void {
  try {
    if ((fs.lstatSync(path) as WorkspaceStats).isDirectory()) fs.rmdirSync(path);
    else fs.unlinkSync(path);
  } catch (error) {
    if (error instanceof FsError) throw stdError(error.code, syscall, path);
    throw error;
  }
}

function nativeOnLink(
  fs: CpFs,
  destStat: WorkspaceStats | undefined,
  src: string,
  dest: string,
  verbatim: boolean,
): void {
  let resolvedSrc = String(fs.readlinkSync(src));
  const abs = (path: string) => resolveFully(fs.cwd, path);
  if (!verbatim && !isAbsolute(resolvedSrc)) resolvedSrc = abs(join(dirname(src), resolvedSrc));
  if (!destStat) {
    fs.symlinkSync(resolvedSrc, dest);
    return;
  }
  let resolvedDest: string;
  try {
    resolvedDest = String(fs.readlinkSync(dest));
  } catch (error) {
    if ((error as FsError).code !== 'EINVAL') throw error;
    fs.symlinkSync(resolvedSrc, dest);
    return;
  }
  if (!isAbsolute(resolvedDest)) resolvedDest = abs(join(dirname(dest), resolvedDest));
  const under = (a: string, b: string) => {
    const bParts = abs(b).split('/').filter(Boolean);
    return abs(a)
      .split('/')
      .filter(Boolean)
      .every((part, i) => bParts[i] === part);
  };
  let srcIsDir = false;
  try {
    srcIsDir = (fs.statSync(src) as WorkspaceStats).isDirectory();
  } catch {}
  if (srcIsDir && under(resolvedSrc, resolvedDest))
    throw codedError('ERR_FS_CP_EINVAL', `cannot copy ${resolvedSrc} to a subdirectory of self ${resolvedDest}`);
  if ((fs.statSync(dest) as WorkspaceStats).isDirectory() && under(resolvedDest, resolvedSrc))
    throw codedError('ERR_FS_CP_SYMLINK_TO_SUBDIRECTORY', `cannot overwrite ${resolvedDest} with ${resolvedSrc}`);
  fs.unlinkSync(dest);
  fs.symlinkSync(resolvedSrc, dest);
}

/** std::filesystem::weakly_canonical(absolute(path)): the longest existing prefix resolved, the rest lexical. */
function weaklyCanonical(fs: CpFs, path: string): string {
  const full = resolveFully(fs.cwd, path);
  const names = full.split('/').filter(Boolean);
  for (let keep = names.length; keep > 0; keep--) {
    try {
      const head = String(fs.realpathSync(`/${names.slice(0, keep).join('/')}`));
      return resolveFully('/', [head, ...names.slice(keep)].join('/'));
    } catch {}
  }
  return full;
}

/** True when `path` or a directory on the way to it is a dangling symlink. */
function danglingOnTheWay(fs: CpFs, path: string): boolean {
  const names = resolveFully(fs.cwd, path).split('/').filter(Boolean);
  for (let depth = 1; depth <= names.length; depth++) {
    const prefix = `/${names.slice(0, depth).join('/')}`;
    try {
      if (fs.lstatSync(prefix)?.isSymbolicLink() && !fs.existsSync(prefix)) return true;
    } catch {
      return false;
    }
  }
  return false;
}

/** cpSyncCopyDir: the destination is created if missing and merged into; see {@link cpNativeSteps}. */
function nativeCopyDir(fs: CpFs, src: string, dest: string, opts: CpOptions & { force: boolean }): void {
  try {
    fs.mkdirSync(dest, { recursive: true });
  } catch (error) {
    if (!(error instanceof FsError)) throw error;
    // std::filesystem::create_directories meets a dangling link as a name that exists: EEXIST.
    throw stdError(error.code === 'ENOENT' && danglingOnTheWay(fs, dest) ? 'EEXIST' : error.code, 'cp', dest);
  }
  const walk = (from: string, to: string): void => {
    for (const name of fs.readdirSync(from)) {
      const entry = join(from, String(name));
      const target = join(to, String(name));
      const entryStat = fs.lstatSync(entry) as WorkspaceStats;
      const followed = tryStat(() => fs.statSync(entry));
      if (entryStat.isSymbolicLink() && !opts.dereference) {
        nativeLinkInDir(fs, entry, target, to, opts);
      } else if (followed?.isDirectory()) {
        const existing = tryStat(() => fs.statSync(target));
        if (!existing) {
          try {
            fs.mkdirSync(target);
          } catch (error) {
            if (error instanceof FsError) throw stdError(error.code, 'mkdir', target);
            throw error;
          }
        } else if (!existing.isDirectory()) {
          // node aborts the process here (an uncaught std::filesystem_error).
          throw stdError('EEXIST', 'mkdir', target);
        }
        walk(entry, target);
      } else if (followed?.isFile()) {
        nativeFileInDir(fs, entry, followed, target, to, opts);
      }
    }
  };
  walk(src, dest);
}

function nativeFileInDir(
  fs: CpFs,
  entry: string,
  entryStat: WorkspaceStats,
  target: string,
  dir: string,
  opts: CpOptions & { force: boolean },
): void {
  const existing = tryStat(() => fs.lstatSync(target));
  if (existing) {
    const followed = tryStat(() => fs.statSync(target));
    if (followed?.isDirectory()) throw stdError('EINVAL', 'cp', dir);
    if (!opts.force) {
      if (opts.errorOnExist)
        throw codedError(
          'ERR_FS_CP_EEXIST',
          `[ERR_FS_CP_EEXIST]: Target already exists: cp returned EEXIST (${target} already exists)`,
        );
      return;
    }
  }
  // copy_file with overwrite_existing opens the destination for writing: through a link, to its target.
  fs.copyFileSync(entry, target);
  if (opts.preserveTimestamps) copyTimes(fs, entry, target);
  fs.chmodSync(target, entryStat.mode);
}

function nativeLinkInDir(fs: CpFs, entry: string, target: string, dir: string, opts: CpOptions): void {
  const linkTarget = String(fs.readlinkSync(entry));
  const create = (to: string) => {
    try {
      fs.symlinkSync(to, target);
    } catch (error) {
      if (error instanceof FsError) throw stdError(error.code, 'cp', dir);
      throw error;
    }
  };
  if (opts.verbatimSymlinks) {
    create(linkTarget);
    return;
  }
  const targetStat = tryStat(() => fs.statSync(target));
  if (targetStat) {
    if ((fs.lstatSync(target) as WorkspaceStats).isSymbolicLink()) {
      const current = String(fs.readlinkSync(target));
      const under = (a: string, b: string) => {
        const bParts = resolveFully(fs.cwd, b).split('/').filter(Boolean);
        const aParts = resolveFully(fs.cwd, a).split('/').filter(Boolean);
        return aParts.length <= bParts.length && aParts.every((part, i) => bParts[i] === part);
      };
      if (tryStat(() => fs.statSync(linkTarget))?.isDirectory() && under(linkTarget, current))
        throw codedError('ERR_FS_CP_EINVAL', `Cannot copy ${linkTarget} to a subdirectory of self ${current}`);
      if (targetStat.isDirectory() && under(current, linkTarget))
        throw codedError('ERR_FS_CP_SYMLINK_TO_SUBDIRECTORY', `cannot overwrite ${current} with ${linkTarget}`);
      removeEntry(fs, target, 'cp');
    } else if (targetStat.isFile()) {
      throw stdError('EEXIST', 'cp', target);
    }
  }
  create(weaklyCanonical(fs, isAbsolute(linkTarget) ? linkTarget : join(dirname(entry), linkTarget)));
}

const isThenable = (value: unknown): value is PromiseLike<unknown> =>
  typeof (value as PromiseLike<unknown>)?.then === 'function';

/** Drives the steps synchronously: a filter answering with a promise is ERR_INVALID_RETURN_VALUE, as in cpSync. */
export function runSync(steps: Steps<void>, filter?: CpOptions['filter']): void {
  let next = steps.next();
  while (!next.done) {
    const answer = (filter as (src: string, dest: string) => unknown)(next.value.src, next.value.dest);
    if (isThenable(answer))
      throw codedError(
        'ERR_INVALID_RETURN_VALUE',
        'Expected boolean to be returned from the "filter" function but got an instance of Promise.',
        TypeError,
      );
    next = steps.next(answer);
  }
}

/** Drives the steps asynchronously, awaiting the filter; `step` runs each synchronous stretch (for error translation). */
export async function runAsync(
  steps: Steps<void>,
  filter: CpOptions['filter'],
  step: <T>(fn: () => T) => T,
): Promise<void> {
  let next = step(() => steps.next());
  while (!next.done) {
    const call = next.value;
    const answer = await (filter as (src: string, dest: string) => unknown)(call.src, call.dest);
    next = step(() => steps.next(answer));
  }
}
