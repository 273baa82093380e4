/**
 * The synchronous node:fs surface over a workspace. Everything else (callbacks, promises,
 * FileHandle, streams) is derived from these methods in derive.ts.
 *
 * Most calls go to the @platformatic/vfs provider (`SQLiteWorkspaceProvider`), which already
 * behaves like node:fs on a local disk: its fd table, open flags, positional I/O, pins for files
 * removed while open, umask and read-only mode are reused as they are. This layer adds what node:fs
 * has beyond the provider's surface: relative paths (against `cwd`), node's own Stats and Dirent
 * classes, encodings, readdir's recursion, opendir, rm's and cp's node-specific errors, mkdtemp,
 * readv/writev, the f*-variants by fd, chown, statfs and glob. Methods throw the engine's
 * `FsError`s; the public wrappers turn them into node's errors (errors.ts).
 *
 * @module
 */
import { Buffer } from 'node:buffer';
import {
  chmodAt,
  chown,
  chownAt,
  Database,
  endsWithDot,
  FsError,
  fsError,
  isFsError,
  lchown,
  lstat,
  lutimes,
  MAX_PATH_BYTES,
  type NodeType,
  readdir,
  stat,
  usage,
  utimesAt,
  type Workspace,
} from '../../core/index.ts';
import { checkEncoding, checkFd, checkInteger, invalidType, invalidValue, toMode, toPath } from '../vfs/args.ts';
import type { WorkspaceFileHandle } from '../vfs/file-handle.ts';
import { parseFlags } from '../vfs/flags.ts';
import { mkdirpAsLibuv } from '../vfs/mkdirp.ts';
import { SQLiteWorkspaceProvider } from '../vfs/provider.ts';
import type { StatOptions, WorkspaceStats } from '../vfs/stats.ts';
import { encodeName, makeDirent, toNodeStats } from './classes.ts';
import { type CpOptions, cpNativeSteps, runSync } from './cp.ts';
import { Dir } from './dir.ts';
import { asSyscall, describeError, ErrorScope, nodeError, systemError } from './errors.ts';
import { globSync } from './glob.ts';
import { endsWithDotDot, join, physicalDotDot, resolveFrom, resolveFully } from './paths.ts';

/** Options for {@link createNodeFs}. */
export interface NodeFsOptions {
  /** The workspace directory relative paths resolve against (absolute). Default `/`. */
  cwd?: string;
  /** Bits cleared from the mode of every file and directory created, as the process umask. Default 0o022. */
  umask?: number;
  /** Refuse every change with EROFS. */
  readOnly?: boolean;
  /**
   * Write-back for fds and FileHandles (default true): their writes go to a write buffer, as the
   * mount's, committed in one transaction at close, fsync/fdatasync, any call other than fd
   * read/write/readv/writev/fstat/ftruncate, or at the latest on the next turn of the event loop.
   * Every call sees the bytes at once, and so does every call of another module over the same
   * workspace handle: each commits the others' pending writes first, as two processes on one
   * disk. false: every fd write is its own transaction.
   */
  writeBack?: boolean;
  /**
   * Check the caller's (`db.owner`'s) permissions as Linux does for a process of that identity
   * (default true; root is never checked). See the provider's option of the same name.
   */
  checkPermissions?: boolean;
}

type Options = Record<string, unknown>;

const encoder = new TextEncoder();
/** True when `path` (with the NUL the kernel adds) does not fit PATH_MAX; encodes only when the length cannot tell. */
const exceedsPathMax = (path: string): boolean =>
  path.length >= MAX_PATH_BYTES || (path.length * 3 >= MAX_PATH_BYTES && encoder.encode(path).length >= MAX_PATH_BYTES);
/** An options argument as node's getOptions takes it: a string is the encoding, which must be one Buffer knows. */
function optionsOf(options: unknown): Options {
  const opts = typeof options === 'string' ? { encoding: options } : ((options ?? {}) as Options);
  checkEncoding(opts.encoding);
  return opts;
}

/**
 * A boolean option node validates (validateBoolean) when given (null too where `nullIsUnset` is
 * false, as mkdir's `recursive`): ignoring a wrong one would do what was not asked.
 */
function checkBooleanOption(options: unknown, key: string, nullIsUnset = true): void {
  if (typeof options !== 'object' || options === null) return;
  const value = (options as Options)[key];
  if (value !== undefined && !(value === null && nullIsUnset) && typeof value !== 'boolean')
    throw invalidType(`options.${key}`, 'of type boolean', value);
}

/** node's toUnixTimestamp: seconds from a Date, a number (negative: now) or a numeric string. */
export function toUnixTimestamp(time: unknown, name = 'time'): number {
  if (typeof time === 'string' && time.trim() !== '' && !Number.isNaN(Number(time))) return Number(time);
  if (typeof time === 'number' && Number.isFinite(time)) return time < 0 ? Date.now() / 1000 : time;
  if (time instanceof Date) return time.getTime() / 1000;
  if (typeof time === 'bigint') return Number(time);
  throw invalidType(name, 'an instance of Date or Time in seconds', time);
}

const ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
function randomSuffix(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(6));
  return Array.from(bytes, (b) => ALPHABET[b % ALPHABET.length]).join('');
}

/** Bytes of node's `data` argument (string in `encoding`, or any view). */
function dataBytes(data: unknown, encoding: unknown): Uint8Array {
  if (typeof data === 'string') return Buffer.from(data, (encoding as BufferEncoding) ?? 'utf8');
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  throw invalidType('data', 'of type string or an instance of Buffer, TypedArray, or DataView', data);
}

function checkBuffers(buffers: unknown): Uint8Array[] {
  if (!Array.isArray(buffers) || !buffers.every((b) => ArrayBuffer.isView(b)))
    throw invalidType('buffers', 'an ArrayBufferView[]', buffers);
  return buffers.map((b: ArrayBufferView) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
}

/** The synchronous node:fs functions of one workspace. */
export class NodeFsSync {
  /** The provider doing the work; shared by the derived forms. */
  readonly provider: SQLiteWorkspaceProvider;
  /** The workspace handle. */
  readonly db: Database;
  /** Where public calls record the paths they resolved. */
  readonly scope = new ErrorScope();
  readonly #cwd: string;
  readonly #handles = new Map<number, WorkspaceFileHandle>();

  constructor(target: Workspace | Database, options: NodeFsOptions = {}) {
    this.provider = new SQLiteWorkspaceProvider(target, {
      umask: options.umask,
      readOnly: options.readOnly,
      writeBack: options.writeBack ?? true,
      checkPermissions: options.checkPermissions,
    });
    this.db = target instanceof Database ? target : target.db;
    const cwd = options.cwd ?? '/';
    if (!cwd.startsWith('/')) throw invalidValue('cwd', cwd, 'must be an absolute workspace path');
    this.#cwd = resolveFully('/', cwd);
  }

  /** The working directory relative paths resolve against. */
  get cwd(): string {
    return this.#cwd;
  }

  /**
   * The absolute workspace path of a path argument, remembered so that errors name it as given.
   * An empty path is ENOENT and one of {@link MAX_PATH_BYTES} or more ENAMETOOLONG, as the kernel answers;
   * `..` is physical (after a file ENOTDIR, after a link its target's parent) unless `lexical` (node's JS realpath),
   * and needs search on the directory it climbs out of unless not `searched` (realpath(3) climbs by name).
   */
  abs(value: unknown, syscall: string, name = 'path', lexical = false, searched = true): string {
    const given = toPath(value, name);
    if (given.includes('\0'))
      throw invalidValue(name, given, 'must be a string, Uint8Array, or URL without null bytes');
    if (given === '') throw fsError('ENOENT', syscall, '');
    // The kernel's limit on one path argument: node's own calls (cp's walk among them) stop there too.
    if (exceedsPathMax(given)) throw fsError('ENAMETOOLONG', syscall, given);
    const abs = resolveFrom(this.#cwd, lexical ? given : this.#physical(given, searched));
    this.scope.remember(abs, given);
    return abs;
  }

  /** `given` with each `..` applied to the real directory before it, as the kernel resolves it (node's calls that are not lexical). */
  #physical(given: string, searched = true): string {
    if (!given.includes('..')) return given;
    return physicalDotDot(given.startsWith('/') ? given : `${this.#cwd}/${given}`, (prefix) => {
      try {
        const real = this.provider.realpathSync(prefix);
        // Through 'real/.': '..' is looked up in the directory, which the caller must be able to search.
        return this.provider.statSync(searched ? `${real}/.` : real).isDirectory() ? real : undefined;
      } catch {
        return undefined;
      }
    });
  }

  /** The open handle of `fd` (node's argument errors, then EBADF). */
  handle(fd: unknown, syscall: string): WorkspaceFileHandle {
    const handle = this.#handles.get(checkFd(fd));
    if (!handle || handle.closed) throw fsError('EBADF', syscall);
    return handle;
  }

  #guard(syscall: string, path?: string): void {
    if (this.provider.readonly) throw fsError('EROFS', syscall, path, undefined, 'the workspace is read-only here');
  }

  // ---- Stats and existence ----

  accessSync(path: unknown, mode?: number): void {
    this.provider.accessSync(this.abs(path, 'access'), mode);
  }

  existsSync(path: unknown): boolean {
    try {
      return this.provider.existsSync(this.abs(path, 'access'));
    } catch {
      return false;
    }
  }

  statSync(path: unknown, options?: StatOptions & { throwIfNoEntry?: boolean }): WorkspaceStats | undefined {
    const stats = this.provider.statSync(this.abs(path, 'stat'), options);
    return stats && toNodeStats(stats);
  }

  lstatSync(path: unknown, options?: StatOptions & { throwIfNoEntry?: boolean }): WorkspaceStats | undefined {
    const stats = this.provider.lstatSync(this.abs(path, 'lstat'), options);
    return stats && toNodeStats(stats);
  }

  fstatSync(fd: unknown, options?: StatOptions): WorkspaceStats {
    return toNodeStats(this.provider.fstatSync(fd as number, options));
  }

  /** A workspace is one filesystem: its type is "dofs", its blocks are what the workspace stores. */
  statfsSync(path: unknown, options?: { bigint?: boolean }): Record<string, number | bigint> {
    const p = this.abs(path, 'statfs');
    asSyscall('statfs', () => stat(this.db, p));
    const used = usage(this.db);
    const bsize = 4096;
    const blocks = Math.max(1, Math.ceil((used.storedBytes + used.snapshotBytes + used.garbageBytes) / bsize));
    const capacity = 2 ** 31;
    const fields = {
      type: 0x646f6673,
      bsize,
      frsize: bsize,
      blocks: capacity,
      bfree: capacity - blocks,
      bavail: capacity - blocks,
      files: 2 ** 31,
      ffree: 2 ** 31 - used.inodes,
    };
    if (options?.bigint !== true) return fields;
    return Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, BigInt(v)]));
  }

  // ---- Directories ----

  /**
   * Names, or Dirents, in byte order; `recursive` descends breadth first, into symlinked directories
   * too, as node does. Each level is listed through the path as node joins it (the link's own
   * name, not its target's), so a link back up (`up -> ..`) ends in ELOOP after 40 links, as node's.
   */
  readdirSync(path: unknown, options?: unknown): Array<string | Buffer | object> {
    const opts = optionsOf(options);
    checkBooleanOption(opts, 'recursive');
    const root = this.abs(path, 'scandir');
    const given = toPath(path);
    const out: Array<string | Buffer | object> = [];
    const queue = [{ dir: root, parentPath: given, prefix: '' }];
    for (let next = queue.shift(); next; next = queue.shift()) {
      for (const entry of readdir(this.db, next.dir)) {
        if (opts.withFileTypes)
          out.push(makeDirent(encodeName(entry.name, opts.encoding), entry.type, next.parentPath));
        else out.push(encodeName(next.prefix + entry.name, opts.encoding));
        const joined = join(next.dir, entry.name);
        if (opts.recursive && this.#descends(entry.type, joined, opts.withFileTypes === true))
          queue.push({
            dir: joined,
            parentPath: join(next.parentPath, entry.name),
            prefix: `${next.prefix}${entry.name}/`,
          });
      }
    }
    return out;
  }

  /**
   * Whether recursive readdir goes into an entry, as node's readdirSyncRecursive: with types, a
   * directory (its scandir's error is thrown) or a link to one; names only, what a stat that
   * follows links calls a directory (a failed stat, EACCES in a directory the caller cannot
   * search, is no: the entry is listed, not gone into).
   */
  #descends(type: NodeType, path: string, withFileTypes: boolean): boolean {
    if (type === 'dir' && withFileTypes) return true;
    return (type === 'dir' || type === 'symlink') && this.provider.internalModuleStat(path) === 1;
  }

  /** A Dir over a snapshot of the directory's entries; `recursive` adds each subdirectory's as it is reached. */
  opendirSync(path: unknown, options?: unknown): Dir {
    return this.#opendir(path, options, false);
  }

  /** opendir as fs.opendir and fs.promises.opendir: the same, but their errors name the path (opendirSync's do not). */
  opendirAsyncSemantics(path: unknown, options?: unknown): Dir {
    return this.#opendir(path, options, true);
  }

  #opendir(path: unknown, options: unknown, named: boolean): Dir {
    const opts = optionsOf(options);
    if (opts.bufferSize !== undefined) {
      // validateUint32(bufferSize, 'options.bufferSize', true), as node's Dir.
      if (typeof opts.bufferSize !== 'number')
        throw invalidType('options.bufferSize', 'of type number', opts.bufferSize);
      checkInteger(opts.bufferSize, 'options.bufferSize', 1, 2 ** 32 - 1);
    }
    const given = toPath(path);
    let root: string;
    try {
      root = this.abs(path, 'opendir');
      const list = (dir: string, parentPath: string) =>
        readdir(this.db, dir).map((entry) => ({
          dirent: makeDirent(encodeName(entry.name, opts.encoding), entry.type, parentPath),
          path: entry.path,
          type: entry.type,
        }));
      const first = list(root, given);
      return new Dir(given, first, (item) =>
        opts.recursive && item.type === 'dir'
          ? list(item.path, join((item.dirent as { parentPath: string }).parentPath, String(nameOf(item.dirent))))
          : [],
      );
    } catch (error) {
      // node's opendirSync errors name no path; its asynchronous forms name the path as given.
      if (error instanceof FsError) throw fsError(error.code, 'opendir', named ? error.path : undefined);
      throw error;
    }
  }

  /** With `recursive`, returns the first directory created, spelled as the path was given (relative stays relative). */
  mkdirSync(path: unknown, options?: unknown): string | undefined {
    checkBooleanOption(options, 'recursive', false);
    const p = this.abs(path, 'mkdir');
    // A '..' is walked by the kernel at each step, so node's MKDirpSync makes what the names before it lack.
    if (recursiveOf(options) && /(^|\/)\.\.(\/|$)/.test(toPath(path))) return this.#mkdirp(toPath(path), options, true);
    const first = this.provider.mkdirSync(p, options as number);
    if (first === undefined) return undefined;
    const extra = p.split('/').filter(Boolean).length - first.split('/').filter(Boolean).length;
    // The path itself, trailing slashes and all, when it was the first made.
    if (extra === 0) return toPath(path);
    const given = toPath(path).replace(/\/+$/, '');
    return given.split('/').slice(0, -extra).join('/') || '/';
  }

  /**
   * node's asynchronous mkdir: recursive, it is node's MKDirpAsync step for step (`mkdirpAsLibuv` in mkdirp.ts),
   * which differs from the native mkdirSync around dangling symlinks; each step is named as derived
   * from the path given.
   */
  mkdirAsyncSemantics(path: unknown, options?: unknown): string | undefined {
    checkBooleanOption(options, 'recursive', false);
    if (!recursiveOf(options)) return this.mkdirSync(path, options);
    this.abs(path, 'mkdir');
    return this.#mkdirp(toPath(path), options);
  }

  /**
   * node's mkdirp, one mkdir(2) or stat(2) per step, each step's path resolved as the kernel would:
   * MKDirpAsync, or with `native` MKDirpSync (see `mkdirpAsLibuv`).
   */
  #mkdirp(given: string, options: unknown, native = false): string | undefined {
    const mode = (options as { mode?: unknown }).mode;
    const at = (step: string) => resolveFrom(this.#cwd, this.#physical(step));
    const steps = {
      make: (step: string) => void this.provider.mkdirSync(at(step), { mode } as never),
      isDirectory: (step: string) => this.provider.statSync(at(step)).isDirectory(),
    };
    return mkdirpAsLibuv(given, steps, native);
  }

  /** Creates `prefix` + six random characters (mode 0o700) and returns its path as given. */
  mkdtempSync(prefix: unknown, options?: unknown): string | Buffer {
    return this.#mkdtemp(prefix, options, false);
  }

  /** fs.mkdtemp and promises.mkdtemp: as mkdtempSync, but errors name the path tried (node's libuv request). */
  mkdtempAsyncSemantics(prefix: unknown, options?: unknown): string | Buffer {
    return this.#mkdtemp(prefix, options, true);
  }

  /** mkdtempSync names the template (`prefixXXXXXX`) in its errors, the async forms the path tried. */
  #mkdtemp(prefix: unknown, options: unknown, nameTried: boolean): string | Buffer {
    const given = toPath(prefix, 'prefix');
    if (given.includes('\0')) throw invalidValue('prefix', given, 'must be a string without null bytes');
    const encoding = optionsOf(options).encoding;
    for (let attempt = 0; ; attempt++) {
      const name = `${given}${randomSuffix()}`;
      try {
        this.provider.mkdirSync(resolveFrom(this.#cwd, this.#physical(name)), 0o700);
        return encodeName(name, encoding);
      } catch (error) {
        if (isFsError(error, 'EEXIST') && attempt < 100) continue;
        if (error instanceof FsError) throw fsError(error.code, 'mkdtemp', nameTried ? name : `${given}XXXXXX`);
        throw error;
      }
    }
  }

  /** mkdtemp with a `remove()` and `Symbol.dispose` that delete the directory. */
  mkdtempDisposableSync(prefix: unknown, options?: unknown): { path: string; remove(): void } {
    const path = String(this.mkdtempSync(prefix, options));
    const remove = (): void => this.scope.run(() => this.rmSync(path, { recursive: true, force: true }));
    return { path, remove, [Symbol.dispose]: remove } as { path: string; remove(): void };
  }

  /** Removes an empty directory; the deprecated `recursive` removes a tree (ENOENT and ENOTDIR still reported). */
  rmdirSync(path: unknown, options?: { recursive?: boolean }): void {
    const p = this.abs(path, 'rmdir');
    checkRmOptions(options, false);
    if (!options?.recursive) {
      // Linux refuses a final '..' before looking at the directory: never empty, whatever it holds.
      asNotEmpty(toPath(path), () => this.provider.rmdirSync(p));
      return;
    }
    // node looks before it removes (validateRmOptionsSync): a missing path is lstat's ENOENT.
    const info = asSyscall('lstat', () => lstat(this.db, p));
    if (!info.isDirectory) throw fsError('ENOTDIR', 'rmdir', p);
    this.provider.rmSync(p, { recursive: true });
  }

  /**
   * rm: a missing path is `lstat` ENOENT (none with `force`), a directory without `recursive` is
   * ERR_FS_EISDIR. As node 24's native rmSync, `recursive` with `force` also forgives a file in the
   * middle of the path (ENOTDIR); its callback and promise forms do not ({@link rmJs}).
   */
  rmSync(path: unknown, options?: { recursive?: boolean; force?: boolean }): void {
    this.rmJs(path, options, options?.recursive === true && options?.force === true, true);
  }

  /** node's JavaScript rm, behind fs.rm and fs.promises.rm; `forgiveNotDir` and `nativeSync` are rmSync's differences. */
  rmJs(
    path: unknown,
    options?: { recursive?: boolean; force?: boolean },
    forgiveNotDir = false,
    nativeSync = false,
  ): void {
    checkRmOptions(options, true);
    const p = this.abs(path, 'rm');
    const given = toPath(path);
    try {
      // node's force forgives a missing path only: a file in the middle is still ENOTDIR.
      this.provider.rmSync(p, { recursive: options?.recursive });
    } catch (error) {
      if (!(error instanceof FsError) || error.syscall !== 'rm') throw error;
      if (error.code === 'ENOTDIR' && options?.recursive && this.#slashOnLinkToDir(p)) {
        // 'link/' to a directory, recursive: node's JavaScript rm finds a directory (lstat follows
        // the slash), whose rmdir fails ENOTDIR, which it takes as done, removing nothing; the
        // native rmSync (std::filesystem::remove_all) empties the directory, then reports ENOTDIR.
        if (!nativeSync) return;
        if (this.#emptiedAway(p)) return;
        throw fsError('ENOTDIR', 'rm', p);
      }
      if (error.code === 'EINVAL' && endsWithDot(p)) {
        // 'dir/.', recursive: node's JavaScript rm fails at rmdir, removing nothing; the native
        // rmSync empties the directory first (node reports that one with an empty code).
        // A final '..' (node's rm empties it; its rmdir's ENOTEMPTY is then taken as done).
        if (endsWithDotDot(given)) return void this.#emptiedAway(p);
        if (!nativeSync) throw fsError('EINVAL', 'rmdir', p);
        // remove_all's last step is rmdir of the path as given, its '..' resolved again: when the
        // emptying removed a directory a '..' climbs out of ('a/b/../.'), that is ENOENT, taken as done.
        if (this.#emptiedAway(p) || !this.existsSync(given)) return;
        throw fsError('EINVAL', 'rm', p);
      }
      if (options?.force && (error.code === 'ENOENT' || (forgiveNotDir && error.code === 'ENOTDIR'))) return;
      if (forgiveNotDir && error.code === 'ELOOP') {
        // Native rmSync with recursive and force goes on to remove_all after a looping lookup: it
        // fails removing the name itself, ENOTDIR for 'loop/' (node reports the others with an empty code).
        throw fsError(p.endsWith('/') ? 'ENOTDIR' : 'ELOOP', 'rm', p);
      }
      // The root is a directory like any other to node's rm: without recursive, that is what it says.
      const rootAsDir = error.code === 'EPERM' && !options?.recursive && resolveFully('/', p) === '/';
      if (error.code === 'EISDIR' || rootAsDir)
        throw systemError('ERR_FS_EISDIR', 'Path is a directory', {
          code: 'EISDIR',
          message: 'is a directory',
          path: given,
          syscall: 'rm',
        });
      // node lstats the path first: whatever its lookup finds wrong is reported as lstat's.
      if (['ENOENT', 'ENOTDIR', 'ELOOP', 'ENAMETOOLONG', 'EINVAL'].includes(error.code))
        throw fsError(error.code, 'lstat', error.path);
      throw error;
    }
  }

  /**
   * Removes everything inside the directory `path` names (following links), in one transaction, as
   * std::filesystem::remove_all does before it removes the name itself; true when that name went
   * with the rest (a link inside its own target), leaving nothing to fail on.
   */
  #emptiedAway(path: string): boolean {
    const dir = resolveFully('/', path);
    const entries = readdir(this.db, dir);
    this.db.transaction(() => {
      for (const entry of entries) this.provider.rmSync(entry.path, { recursive: true });
    });
    return !this.provider.existsSync(path);
  }

  /** True when `path` ends in a slash and names a symlink to a directory. */
  #slashOnLinkToDir(path: string): boolean {
    if (!path.endsWith('/')) return false;
    try {
      return lstat(this.db, path.replace(/\/+$/, '')).isSymbolicLink && stat(this.db, path).isDirectory;
    } catch {
      return false;
    }
  }

  // ---- Names ----

  unlinkSync(path: unknown): void {
    this.provider.unlinkSync(this.abs(path, 'unlink'));
  }

  renameSync(oldPath: unknown, newPath: unknown): void {
    this.provider.renameSync(this.abs(oldPath, 'rename', 'oldPath'), this.abs(newPath, 'rename', 'newPath'));
  }

  linkSync(existingPath: unknown, newPath: unknown): void {
    this.provider.linkSync(this.abs(existingPath, 'link', 'existingPath'), this.abs(newPath, 'link', 'newPath'));
  }

  /** The target is stored verbatim (relative targets resolve from the link's directory); `type` is ignored, as on POSIX. */
  symlinkSync(target: unknown, path: unknown, type?: unknown): void {
    // The type matters on Windows only, but node checks it everywhere.
    if (type !== undefined && type !== null && type !== 'dir' && type !== 'file' && type !== 'junction')
      throw invalidValue('type', type, "must be one of: 'dir', 'file', 'junction', null, undefined");
    const t = toPath(target, 'target');
    if (t.includes('\0')) throw invalidValue('target', t, 'must be a string without null bytes');
    this.provider.symlinkSync(t, this.abs(path, 'symlink'));
  }

  readlinkSync(path: unknown, options?: unknown): string | Buffer {
    // Options are checked before the path is looked at, as node's getOptions.
    const { encoding } = optionsOf(options);
    return encodeName(this.provider.readlinkSync(this.abs(path, 'readlink')), encoding);
  }

  /**
   * node's JS realpath: errors are `lstat` of the first component that fails (`stat` when it is a
   * link that cannot be followed), as an absolute path with the links before it resolved.
   */
  realpathSync(path: unknown, options?: unknown): string | Buffer {
    const { encoding } = optionsOf(options);
    // node resolves the path first, which drops a trailing slash: 'file/' is 'file' here.
    const p = resolveFully('/', this.abs(path, 'lstat', 'path', true));
    try {
      return encodeName(this.provider.realpathSync(p), encoding);
    } catch (error) {
      if (!(error instanceof FsError)) throw error;
      throw this.#realpathError(p) ?? error;
    }
  }

  #realpathError(path: string): Error | undefined {
    let resolved = '/';
    const names = path.split('/').filter((name) => name !== '');
    for (const name of names) {
      const candidate = resolved === '/' ? `/${name}` : `${resolved}/${name}`;
      let syscall = 'lstat';
      try {
        const info = lstat(this.db, candidate);
        // A link is stat'ed whole before it is read (so a dangling or looping one fails as `stat`).
        syscall = 'stat';
        resolved = info.isSymbolicLink ? stat(this.db, candidate) && this.provider.realpathSync(candidate) : candidate;
      } catch (error) {
        if (!(error instanceof FsError)) throw error;
        return nodeError(error.code, describeError(error), syscall, candidate);
      }
    }
    return undefined;
  }

  /**
   * realpath(3): errors are `realpath` of the path as given. It resolves '.' and '..' by name, after
   * checking what comes before is a directory, so they need no search permission there.
   */
  realpathNativeSync(path: unknown, options?: unknown): string | Buffer {
    const { encoding } = optionsOf(options);
    const abs = this.abs(path, 'realpath', 'path', false, false);
    // A final '.' as a slash: the directory must be one, but is not searched.
    const p = abs.replace(/\/\.$/, '/');
    if (p !== abs) this.scope.remember(p, toPath(path));
    return encodeName(
      asSyscall('realpath', () => this.provider.realpathSync(p)),
      encoding,
    );
  }

  // ---- Attributes ----

  chmodSync(path: unknown, mode: unknown): void {
    this.provider.chmodSync(this.abs(path, 'chmod'), mode as number);
  }

  fchmodSync(fd: unknown, mode: unknown): void {
    const bits = toMode(mode, 'mode', Number.NaN);
    const handle = this.handle(fd, 'fchmod');
    this.#guard('fchmod');
    chmodAt(this.db, handle.inode, bits);
  }

  /** Sets owner and group (-1: unchanged), following symlinks; bumps ctime. Only root may give a node away. */
  chownSync(path: unknown, uid: unknown, gid: unknown): void {
    this.#ids(uid, gid);
    const p = this.abs(path, 'chown');
    asSyscall('chown', () => stat(this.db, p));
    this.#guard('chown', p);
    chown(this.db, p, uid as number, gid as number);
  }

  lchownSync(path: unknown, uid: unknown, gid: unknown): void {
    this.#ids(uid, gid);
    const p = this.abs(path, 'lchown');
    asSyscall('lchown', () => lstat(this.db, p));
    this.#guard('lchown', p);
    lchown(this.db, p, uid as number, gid as number);
  }

  fchownSync(fd: unknown, uid: unknown, gid: unknown): void {
    this.#ids(uid, gid);
    const handle = this.handle(fd, 'fchown');
    this.#guard('fchown');
    chownAt(this.db, handle.inode, uid as number, gid as number);
  }

  #ids(uid: unknown, gid: unknown): void {
    checkInteger(uid, 'uid', -1, 2 ** 32 - 1);
    checkInteger(gid, 'gid', -1, 2 ** 32 - 1);
  }

  utimesSync(path: unknown, atime: unknown, mtime: unknown): void {
    const a = toUnixTimestamp(atime, 'atime');
    const m = toUnixTimestamp(mtime, 'mtime');
    this.provider.utimesSync(this.abs(path, 'utime'), a, m);
  }

  lutimesSync(path: unknown, atime: unknown, mtime: unknown): void {
    const a = toUnixTimestamp(atime, 'atime');
    const m = toUnixTimestamp(mtime, 'mtime');
    const p = this.abs(path, 'lutime');
    this.#guard('lutime', p);
    asSyscall('lutime', () => lutimes(this.db, p, a, m));
  }

  futimesSync(fd: unknown, atime: unknown, mtime: unknown): void {
    const a = toUnixTimestamp(atime, 'atime');
    const m = toUnixTimestamp(mtime, 'mtime');
    const handle = this.handle(fd, 'futime');
    this.#guard('futime');
    utimesAt(this.db, handle.inode, a * 1000, m * 1000);
  }

  // ---- Whole files ----

  /** Sets a file's length; given an fd, as ftruncate (node's deprecated form). */
  truncateSync(path: unknown, len?: number): void {
    if (typeof path === 'number') this.ftruncateSync(path, len);
    else this.provider.truncateSync(this.abs(path, 'open'), len);
  }

  copyFileSync(src: unknown, dest: unknown, mode?: number): void {
    this.provider.copyFileSync(this.abs(src, 'copyfile', 'src'), this.abs(dest, 'copyfile', 'dest'), mode);
  }

  /** fs.cpSync: node 24's native cpSync (cp.ts); a filter returning a promise is ERR_INVALID_RETURN_VALUE. */
  cpSync(src: unknown, dest: unknown, options?: CpOptions): void {
    runSync(cpNativeSteps(this, src, dest, options), options?.filter);
  }

  /** A path, or an fd (read from its current position). */
  readFileSync(path: unknown, options?: unknown): Buffer | string {
    if (typeof path === 'number') {
      const out = this.handle(path, 'fstat').readFileSync() as Buffer;
      const encoding = optionsOf(options).encoding as BufferEncoding | undefined;
      return encoding ? out.toString(encoding) : out;
    }
    const p = this.abs(path, 'open');
    try {
      return this.provider.readFileSync(p, options as BufferEncoding);
    } catch (error) {
      // A directory opens for reading; it is the read that fails, and read errors name no path.
      const flag = (optionsOf(options).flag as string | number | undefined) ?? 'r';
      if (isFsError(error, 'EISDIR') && error.syscall === 'open' && !parseFlags(flag).write)
        throw fsError('EISDIR', 'read');
      throw error;
    }
  }

  /** A path (one transaction), or an fd (written at its current position). */
  writeFileSync(file: unknown, data: unknown, options?: unknown): void {
    checkBooleanOption(optionsOf(options), 'flush');
    if (typeof file === 'number') {
      this.handle(file, 'write').writeSync(dataBytes(data, optionsOf(options).encoding));
      return;
    }
    this.provider.writeFileSync(this.abs(file, 'open'), data as string, options as BufferEncoding);
  }

  appendFileSync(file: unknown, data: unknown, options?: unknown): void {
    checkBooleanOption(optionsOf(options), 'flush');
    if (typeof file === 'number') {
      this.handle(file, 'write').writeSync(dataBytes(data, optionsOf(options).encoding));
      return;
    }
    this.provider.appendFileSync(this.abs(file, 'open'), data as string, options as BufferEncoding);
  }

  // ---- File descriptors ----

  openSync(path: unknown, flags?: string | number, mode?: number | string): number {
    const handle = this.provider.openSync(this.abs(path, 'open'), flags ?? 'r', mode);
    this.#handles.set(handle.fd, handle);
    return handle.fd;
  }

  closeSync(fd: unknown): void {
    this.provider.closeSync(fd as number);
    this.#handles.delete(fd as number);
  }

  readSync(fd: unknown, buffer: unknown, offsetOrOptions?: unknown, length?: unknown, position?: unknown): number {
    return this.provider.readSync(
      fd as number,
      buffer as ArrayBufferView,
      offsetOrOptions,
      length as number,
      position as number | null,
    );
  }

  writeSync(
    fd: unknown,
    buffer: unknown,
    offsetOrPosition?: unknown,
    lengthOrEncoding?: unknown,
    position?: unknown,
  ): number {
    return this.provider.writeSync(
      fd as number,
      buffer as ArrayBufferView,
      offsetOrPosition,
      lengthOrEncoding,
      position,
    );
  }

  /** Scatter read: one read of the total, spread over `buffers`. */
  readvSync(fd: unknown, buffers: unknown, position?: unknown): number {
    checkFd(fd);
    const views = checkBuffers(buffers);
    // node answers an empty list itself, without asking the system.
    if (views.length === 0) return 0;
    const total = views.reduce((sum, view) => sum + view.byteLength, 0);
    const bytes = new Uint8Array(total);
    // An empty read still checks the fd as readv(2) does (EBADF, EISDIR).
    if (total === 0) return this.handle(fd, 'read').readRequest({ bytes, position: null });
    const read = this.readSync(fd, bytes, 0, total, typeof position === 'number' ? position : null);
    let at = 0;
    for (const view of views) {
      if (at >= read) break;
      const take = Math.min(view.byteLength, read - at);
      view.set(bytes.subarray(at, at + take));
      at += take;
    }
    return read;
  }

  /** Gather write: the buffers joined and written in one transaction. */
  writevSync(fd: unknown, buffers: unknown, position?: unknown): number {
    checkFd(fd);
    const views = checkBuffers(buffers);
    if (views.length === 0) return 0;
    const joined = Buffer.concat(views);
    return this.writeSync(fd, joined, 0, joined.byteLength, typeof position === 'number' ? position : null);
  }

  ftruncateSync(fd: unknown, len?: number): void {
    this.provider.ftruncateSync(fd as number, len);
  }

  fsyncSync(fd: unknown): void {
    this.provider.fsyncSync(fd as number);
  }

  fdatasyncSync(fd: unknown): void {
    this.provider.fdatasyncSync(fd as number);
  }

  // ---- Searching ----

  /** fs.globSync (glob.ts). */
  globSync(pattern: unknown, options?: unknown): Array<string | object> {
    return globSync(this, pattern, optionsOf(options));
  }

  /** Open fds, for leak checks. */
  get openFds(): number {
    return this.#handles.size;
  }
}

function nameOf(dirent: object): unknown {
  return (dirent as { name: unknown }).name;
}

/** Runs an rmdir of `given`, reporting a final '..' as Linux does (ENOTEMPTY) where the engine says EINVAL for a final '.'. */
function asNotEmpty(given: string, fn: () => void): void {
  try {
    fn();
  } catch (error) {
    if (error instanceof FsError && error.code === 'EINVAL' && endsWithDotDot(given))
      throw new FsError('ENOTEMPTY', error.syscall, error.path);
    throw error;
  }
}

/**
 * node's validateRmdirOptions, and for rm its check of `force`: an object whose `recursive` (and
 * `force`) are booleans, `retryDelay` an int32 and `maxRetries` a uint32, each once merged over
 * the defaults (so a key present as undefined is refused too), before anything is looked at: an
 * option node refuses must not remove anything.
 */
function checkRmOptions(options: unknown, withForce: boolean): void {
  if (options === undefined) return;
  if (typeof options !== 'object' || options === null || Array.isArray(options))
    throw invalidType('options', 'of type object', options);
  const merged: Options = { recursive: false, force: false, retryDelay: 100, maxRetries: 0, ...options };
  if (typeof merged.recursive !== 'boolean')
    throw invalidType('options.recursive', 'of type boolean', merged.recursive);
  checkInteger(merged.retryDelay, 'options.retryDelay', 0, 2 ** 31 - 1);
  checkInteger(merged.maxRetries, 'options.maxRetries', 0, 2 ** 32 - 1);
  if (withForce && typeof merged.force !== 'boolean')
    throw invalidType('options.force', 'of type boolean', merged.force);
}

const recursiveOf = (options: unknown): boolean =>
  typeof options === 'object' && (options as { recursive?: boolean } | null)?.recursive === true;
