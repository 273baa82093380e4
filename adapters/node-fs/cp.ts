/**
 * fs.cp, written once as node's algorithm (lib/internal/fs/cp/cp.js) and run two ways: the steps
 * are a generator that yields each call of the user's `filter` and receives its answer, so cpSync
 * drives it synchronously and cp / promises.cp drive it asynchronously (awaiting a filter that
 * returns a promise) without a second copy of the logic.
 *
 * @module
 */
import type { FsError } from '../../core/index.ts';
import { invalidType, toPath } from '../vfs/args.ts';
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
  const src = toPath(srcArg, 'src');
  const dest = toPath(destArg, 'dest');
  if (typeof options !== 'object' || options === null) throw invalidType('options', 'of type object', options);
  if (options.filter !== undefined && typeof options.filter !== 'function')
    throw invalidType('options.filter', 'of type function', options.filter);
  const opts = { ...options, force: options.force ?? true };
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
