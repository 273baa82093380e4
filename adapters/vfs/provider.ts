/**
 * `SQLiteWorkspaceProvider`: a workspace as a @platformatic/vfs provider, behaving like node:fs on
 * a local disk. Sync methods do the work; every async form is derived from them in one place
 * (see async.ts). Everything goes through the engine's primitives, so each mutation is one
 * transaction and one revision, and errors are the engine's node-shaped FsErrors.
 *
 * @module
 */
import { Buffer } from 'node:buffer';
import {
  chmod,
  chown,
  chownAt,
  Database,
  exists,
  FsError,
  fsError,
  keepOpenFiles,
  lchown,
  link,
  lstat,
  mkdir,
  mknod,
  normalizePath,
  openFile,
  pinInode,
  type ReadIntoOptions,
  readAt,
  readdir,
  readFile,
  readInto,
  readlink,
  realpath,
  reclaimOrphans,
  rename,
  rm,
  rmdir,
  type StatInfo,
  stat,
  statInode,
  symlink,
  truncate,
  truncateAt,
  tryCopyFile,
  unlink,
  unpinInode,
  utimes,
  type Workspace,
  writeAt,
  writeWhole,
} from '../../core/index.ts';
import { checkFd, checkInteger, invalidType, type PathLike, toLength, toMode, toPath, viewBytes } from './args.ts';
import { type AsyncForms, deriveAsync, type ReadResult, settle, type WriteResult } from './async.ts';
import { WorkspaceDirent } from './dirent.ts';
import { FdTable } from './fd-table.ts';
import { WorkspaceFileHandle } from './file-handle.ts';
import { parseFlags } from './flags.ts';
import { readRequest, writeRequest } from './io-args.ts';
import { mkdirpAsLibuv } from './mkdirp.ts';
import { checkPermission, isChecked, W_OK } from './permissions.ts';
import { VirtualProvider } from './platformatic.ts';
import { type StatFields, type StatOptions, statFields, toStats, type WorkspaceStats } from './stats.ts';
import {
  StatWatchers,
  type WatchOptions,
  type WorkspaceStatWatcher,
  WorkspaceWatcher,
  WorkspaceWatchIterable,
} from './watch.ts';
import type { BufferBase, WriteBuffer } from './write-buffer.ts';
import { WriteBuffers } from './write-buffers.ts';

/** What a write buffer holds in memory by default before staging chunks. */
const WRITE_BUFFER_BYTES = 8 * 1024 * 1024;

/** The chunks a write buffer holds by default (the option `writeBufferChunks`) for chunks of `chunkSize`. */
export const defaultWriteBufferChunks = (chunkSize: number): number =>
  Math.max(16, Math.floor(WRITE_BUFFER_BYTES / chunkSize));

/** Options for {@link SQLiteWorkspaceProvider}. */
export interface SQLiteWorkspaceProviderOptions {
  /** Refuse every change with EROFS (the workspace itself may still be writable by others). */
  readOnly?: boolean;
  /** Bits cleared from the mode of every file and directory created, as the process umask. Default 0o022. */
  umask?: number;
  /**
   * Chunks a write buffer holds in memory before staging older full ones as blobs. Default: 8 MiB
   * of chunks (128 at the default 64 KiB), at least 16.
   */
  writeBufferChunks?: number;
  /**
   * Write-back for fds: writes and truncates through this provider's fds go to a write buffer (as
   * the mount's), committed in one transaction when the fd is closed or fsynced, when
   * {@link SQLiteWorkspaceProvider.settleWrites} is called, or at the latest on the next turn of
   * the event loop. Every read through this provider sees the bytes at once, and a call through it
   * that changes a file by path (writeFile, appendFile, copyFile, an open that truncates, truncate,
   * utimes) commits them first, so it lands after them as on a disk. So does I/O on the file
   * through another provider's fds, and `settleWrites()` of any provider over the same workspace
   * handle (createNodeFs calls it before every call that is not fd I/O). The owner must call
   * `settleWrites()` before any call that reads or changes the workspace another way. Default
   * false: every fd write is its own transaction.
   */
  writeBack?: boolean;
  /**
   * Check the caller's permissions as Linux does (turns on `db.checkPermissions` for the workspace:
   * search on every directory of a path, write on a parent to create or remove, read to list,
   * ownership for chmod, chown and utimes, and the bits of a file opened). Default true; the FUSE
   * mount passes false, as its kernel checks under `default_permissions`. Root is never checked.
   */
  checkPermissions?: boolean;
  /**
   * Delete, when the provider is made, the files no name reaches: what a process that died left of
   * files removed while it held them open. Default true. Pass false when another process may have
   * the database open and hold such a file open still (a `dofs mount --shared` of it): its handle
   * would lose the file. The mount itself reclaims them only when it finds the database alone.
   */
  reclaimOrphans?: boolean;
}

/** Options of the buffered-write calls that create a file. */
export interface CreateFileOptions {
  /** Permission bits, used as given (a FUSE kernel has applied the umask already). Default 0o644. */
  mode?: number;
  /** Fail with EEXIST when the name exists. */
  exclusive?: boolean;
}

/** A text encoding, or null/undefined for bytes. */
export type Encoding = BufferEncoding | null | undefined;
/** readFile's options, as node:fs takes them: an encoding, or an object. */
export type ReadFileOptions =
  | Encoding
  | {
      /** Decode to a string in this encoding; absent: a Buffer. */
      encoding?: Encoding;
      /** open(2) flags (default `'r'`). */
      flag?: string | number;
    };
/** writeFile's and appendFile's options, as node:fs takes them. */
export type WriteFileOptions =
  | Encoding
  | {
      /** The encoding of string data (default UTF-8). */
      encoding?: Encoding;
      /** Permission bits of a created file (default 0o666, less the umask). */
      mode?: number | string;
      /** open(2) flags (writeFile: `'w'`, appendFile: `'a'`). */
      flag?: string | number;
    };
/** readdir's options, as node:fs takes them. */
export type ReaddirOptions =
  | Encoding
  | {
      /** The encoding of names (`'buffer'`: Buffers). */
      encoding?: Encoding;
      /** Return {@link WorkspaceDirent}s rather than names. */
      withFileTypes?: boolean;
      /** List the whole subtree, paths relative to the directory. */
      recursive?: boolean;
    };
/** mkdir's options, as node:fs takes them: a mode, or an object. */
export type MkdirOptions =
  | number
  | string
  | {
      /** Create missing parents too, and succeed when the directory exists. */
      recursive?: boolean;
      /** Permission bits of the new directories (default 0o777, less the umask). */
      mode?: number | string;
    };
/** A time for utimes: a Date, seconds (number, numeric string) or bigint. */
export type TimeArg = Date | number | string | bigint;

const encodingOf = (options: unknown): Encoding =>
  typeof options === 'string'
    ? (options as BufferEncoding)
    : (options as { encoding?: Encoding } | undefined)?.encoding;

/** Access modes of `access`. */
const F_OK = 0;

/** Reruns `fn`, reporting its FsErrors under node's syscall name where the engine's differs. */
function as<T>(syscall: string, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (!(error instanceof FsError) || error.syscall === syscall) throw error;
    throw new FsError(error.code, syscall, error.path, error.dest, { cause: error.cause, detail: error.detail });
  }
}

function toBytes(data: unknown, encoding: Encoding): Uint8Array {
  if (typeof data === 'string') return Buffer.from(data, encoding ?? 'utf8');
  if (!ArrayBuffer.isView(data))
    throw invalidType('data', 'of type string or an instance of Buffer, TypedArray, or DataView', data);
  return viewBytes(data, 'data');
}

function toTime(value: TimeArg, name: string): Date | number {
  if (value instanceof Date) return value;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
  if (typeof value === 'number') return value;
  return checkInteger(value, name);
}

/**
 * The base class at run time (so `instanceof VirtualProvider` holds), typed by its getters only:
 * every method is defined here, and the async ones are derived, so the base's own signatures
 * (plain `string` paths, `Promise<unknown>`) must not constrain them.
 */
const ProviderBase = VirtualProvider as unknown as abstract new () => {
  get readonly(): boolean;
  get supportsSymlinks(): boolean;
  get supportsWatch(): boolean;
};

/**
 * Per workspace handle, the providers with write-back sessions not yet committed: two node:fs
 * modules over one workspace (two libraries, each given its own) see and follow each other's fd
 * writes as two processes on one disk do, rather than each committing over the other later.
 */
const writingBack = new WeakMap<Database, Set<ProviderSync>>();

/** The sync surface; {@link SQLiteWorkspaceProvider} adds the derived async forms. */
class ProviderSync extends ProviderBase {
  /** The workspace handle every call goes to. */
  readonly db: Database;
  readonly #readOnly: boolean;
  readonly #umask: number;
  readonly #fds = new FdTable<WorkspaceFileHandle>();
  readonly #buffers: WriteBuffers;
  readonly #statWatchers: StatWatchers;
  readonly #writeBack: boolean;
  /** Inodes with a write-back session of fd writes not yet committed. */
  readonly #pending = new Set<number>();
  /** A failed write-back commit, reported by the next fsync or close of the inode (as Linux reports a failed writeback). */
  readonly #failed = new Map<number, unknown>();
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(workspace: Workspace | Database, options: SQLiteWorkspaceProviderOptions = {}) {
    super();
    this.db = workspace instanceof Database ? workspace : workspace.db;
    this.#readOnly = options.readOnly ?? false;
    this.#umask = (options.umask ?? 0o022) & 0o777;
    this.#buffers = new WriteBuffers(this.db, options.writeBufferChunks ?? defaultWriteBufferChunks(this.db.chunkSize));
    this.#statWatchers = new StatWatchers(this.db);
    this.#writeBack = options.writeBack ?? false;
    if (options.checkPermissions ?? true) this.db.checkPermissions = true;
    // Files removed while open by a process that then died are nobody's: free them.
    if (!this.readonly && (options.reclaimOrphans ?? true)) reclaimOrphans(this.db);
  }

  /** True when changes are refused with EROFS (by this provider or by the workspace). */
  override get readonly(): boolean {
    return this.#readOnly || this.db.readOnly;
  }
  /** Symlinks are stored and followed. */
  override get supportsSymlinks(): boolean {
    return true;
  }
  /** watch, watchAsync and watchFile are driven by the engine's change events. */
  override get supportsWatch(): boolean {
    return true;
  }

  /**
   * A trap for a trap: `create(provider)` of another copy of @platformatic/vfs than dofs's own
   * fails its `instanceof VirtualProvider` check and reads the provider as its options, starting
   * with `moduleHooks`; without this, it would build a MemoryProvider whose writes never reach the
   * workspace. (dofs's own `create`, and `new VirtualFileSystem(provider)` of any copy, never read it.)
   */
  get moduleHooks(): never {
    throw new TypeError(
      'A SQLiteWorkspaceProvider was passed to create() of another copy of @platformatic/vfs, which took it for ' +
        'options (its instanceof check failed) and would have built an in-memory filesystem. Use ' +
        "createWorkspaceVfs(workspace) from 'dofs-sqlite/adapters/vfs', or new VirtualFileSystem(provider) of your copy.",
    );
  }

  #guard(syscall: string, path?: string): void {
    if (this.#readOnly) throw fsError('EROFS', syscall, path, undefined, 'the provider is read-only');
  }

  /**
   * {@link #guard} for a call that changes a file's bytes or times by its path (not through its
   * write-back session): pending fd writes are committed first, so the change lands after the
   * writes made before it, as on a disk. Committed later, their session would be replayed over it
   * (see `commitBuffered`): a writeFile's bytes under older fd writes, a utimes under the commit's
   * own mtime.
   */
  #changeFile(syscall: string, path: string): void {
    this.#guard(syscall, path);
    this.settleWrites();
  }

  #stats(info: StatInfo, options?: StatOptions): WorkspaceStats {
    return toStats(this.#buffered(info), options);
  }

  /** `info` as the inode's open write buffer, if any, sees it. */
  #buffered(info: StatInfo): StatInfo {
    const buffer = this.#buffers.ofInode(info.ino);
    if (buffer) {
      // Buffered writes show in stat at once (a FUSE getattr must see the new size).
      // A content change is a change of the inode too: ctime moves with mtime (the kernel caches
      // what a truncate's reply says, so a stale ctime here stays stale for the attribute timeout).
      const size = buffer.size;
      const mtimeMs = buffer.mtimeMs ?? info.mtimeMs;
      info = {
        ...info,
        size,
        blocks: Math.ceil(size / 4096) * 8,
        mtimeMs,
        ctimeMs: Math.max(info.ctimeMs, mtimeMs),
      };
    }
    return info;
  }

  // ---- Paths ----

  /**
   * Stats of `path`, following symlinks. `throwIfNoEntry: false` returns undefined for a path that
   * cannot exist (ENOENT, or ENOTDIR: a file on the way, or a slash after one), as node's stat.
   */
  statSync(path: PathLike, options?: StatOptions & { throwIfNoEntry?: boolean }): WorkspaceStats {
    return this.#statWith(stat, path, options, ['ENOENT', 'ENOTDIR']);
  }

  /** Stats of `path` itself (a symlink is described, not followed); `throwIfNoEntry: false` forgives ENOENT only, as node's lstat. */
  lstatSync(path: PathLike, options?: StatOptions & { throwIfNoEntry?: boolean }): WorkspaceStats {
    return this.#statWith(lstat, path, options, ['ENOENT']);
  }

  #statWith(
    fn: typeof stat,
    path: PathLike,
    options: (StatOptions & { throwIfNoEntry?: boolean }) | undefined,
    absent: readonly string[],
  ): WorkspaceStats {
    try {
      const p = toPath(path);
      // The kernel's answer for an empty path.
      if (p === '') throw fsError('ENOENT', fn === lstat ? 'lstat' : 'stat', '');
      return this.#stats(fn(this.db, p), options);
    } catch (error) {
      if (options?.throwIfNoEntry === false && error instanceof FsError && absent.includes(error.code))
        return undefined as unknown as WorkspaceStats;
      throw error;
    }
  }

  /** What node's module loader asks: 0 for a file, 1 for a directory, -2 when missing. */
  internalModuleStat(path: string): number {
    try {
      return stat(this.db, path).type === 'dir' ? 1 : 0;
    } catch {
      return -2;
    }
  }

  /** True when `path` exists (following symlinks); never throws for a bad path. */
  existsSync(path: PathLike): boolean {
    try {
      return exists(this.db, toPath(path));
    } catch {
      return false;
    }
  }

  /**
   * Checks `mode` (F_OK, or R_OK | W_OK | X_OK) as the kernel does for the calling identity (see
   * permissions.ts: root may read and write anything). W_OK on a read-only provider is EROFS.
   */
  accessSync(path: PathLike, mode: number = F_OK): void {
    const p = toPath(path);
    checkInteger(mode, 'mode', 0, 7);
    const info = as('access', () => stat(this.db, p));
    if (mode & W_OK && this.readonly) throw fsError('EROFS', 'access', p);
    checkPermission(this.db, info, mode, 'access', p);
  }

  /** Names in a directory (byte order), or Dirents with `withFileTypes`; `recursive` descends without following symlinks. */
  readdirSync(path: PathLike, options?: ReaddirOptions): string[] | WorkspaceDirent[] {
    const p = toPath(path);
    const opts = typeof options === 'object' && options !== null ? options : {};
    const names: string[] = [];
    const dirents: WorkspaceDirent[] = [];
    const queue: Array<{ dir: string; prefix: string }> = [{ dir: p, prefix: '' }];
    while (queue.length > 0) {
      const { dir, prefix } = queue.shift() as { dir: string; prefix: string };
      for (const entry of readdir(this.db, dir)) {
        names.push(prefix + entry.name);
        if (opts.withFileTypes) dirents.push(new WorkspaceDirent(entry.name, entry.type, dir));
        if (opts.recursive && entry.type === 'dir')
          queue.push({ dir: `${dir === '/' ? '' : dir}/${entry.name}`, prefix: `${prefix}${entry.name}/` });
      }
    }
    return opts.withFileTypes ? dirents : names;
  }

  /** Creates a directory (mode default 0o777 less the umask); `recursive` returns the first directory created. */
  mkdirSync(path: PathLike, options?: MkdirOptions): string | undefined {
    const p = toPath(path);
    const opts = typeof options === 'object' && options !== null ? options : { mode: options };
    const mode = toMode(opts.mode, 'mode', 0o777) & ~this.#umask;
    this.#guard('mkdir', p);
    return mkdir(this.db, p, { recursive: opts.recursive === true, mode });
  }

  /**
   * mkdir as fs.mkdir and fs.promises.mkdir behave (the provider's async `mkdir`): recursive, it is
   * node's MKDirpAsync step for step (`mkdirpAsLibuv` in mkdirp.ts), which differs from the native
   * mkdirSync around dangling symlinks.
   */
  mkdirAsLibuv(path: PathLike, options?: MkdirOptions): string | undefined {
    const recursive = typeof options === 'object' && options?.recursive === true;
    if (!recursive) return this.mkdirSync(path, options);
    const mode = (options as { mode?: number }).mode;
    return mkdirpAsLibuv(toPath(path), {
      make: (step) => this.mkdirSync(step, { mode }),
      isDirectory: (step) => this.statSync(step).isDirectory(),
    });
  }

  /** Removes an empty directory. */
  rmdirSync(path: PathLike): void {
    const p = toPath(path);
    this.#guard('rmdir', p);
    keepOpenFiles(this.db, 'rmdir', p, () => rmdir(this.db, p));
  }

  /** Removes a file, symlink or (with `recursive`) a tree. Files still open stay readable through their fds. */
  rmSync(path: PathLike, options: { recursive?: boolean; force?: boolean } = {}): void {
    const p = toPath(path);
    this.#guard('rm', p);
    keepOpenFiles(this.db, 'rm', p, () => rm(this.db, p, { recursive: options.recursive, force: options.force }));
  }

  /** Removes a name (not following a trailing symlink). An open file stays readable and writable until closed. */
  unlinkSync(path: PathLike): void {
    const p = toPath(path);
    this.#guard('unlink', p);
    keepOpenFiles(this.db, 'unlink', p, () => unlink(this.db, p));
  }

  /** Moves `from` to `to` (POSIX rules, atomic). A replaced file that is open stays readable through its fds. */
  renameSync(from: PathLike, to: PathLike): void {
    const source = toPath(from, 'oldPath');
    const target = toPath(to, 'newPath');
    this.#guard('rename', source);
    keepOpenFiles(this.db, 'rename', source, () => rename(this.db, source, target));
    this.#buffers.moved(source, target);
  }

  /** Adds a hard link. */
  linkSync(existing: PathLike, path: PathLike): void {
    const p = toPath(path, 'newPath');
    this.#guard('link', p);
    link(this.db, toPath(existing, 'existingPath'), p);
  }

  /** Creates a symlink whose target is stored verbatim (`type` is accepted and ignored, as on POSIX). */
  symlinkSync(target: PathLike, path: PathLike, _type?: string): void {
    const p = toPath(path);
    this.#guard('symlink', p);
    symlink(this.db, toPath(target, 'target'), p);
  }

  /** The target of a symlink. */
  readlinkSync(path: PathLike, _options?: unknown): string {
    return readlink(this.db, toPath(path));
  }

  /** The canonical path, every symlink resolved. */
  realpathSync(path: PathLike, _options?: unknown): string {
    return realpath(this.db, toPath(path));
  }

  /** Sets permission bits, following symlinks; bumps ctime. */
  chmodSync(path: PathLike, mode: number | string): void {
    const p = toPath(path);
    const bits = toMode(mode, 'mode', Number.NaN);
    this.#guard('chmod', p);
    chmod(this.db, p, bits);
  }

  /**
   * Sets the owner and group (-1: unchanged), following symlinks, as node's `fs.chownSync`; bumps
   * ctime and clears set-user-ID (and set-group-ID on a group-executable file) as Linux does. No
   * privilege check: the provider acts for whoever holds it.
   */
  chownSync(path: PathLike, uid: number, gid: number): void {
    const p = toPath(path);
    checkInteger(uid, 'uid', -1, 2 ** 32 - 1);
    checkInteger(gid, 'gid', -1, 2 ** 32 - 1);
    this.#guard('chown', p);
    chown(this.db, p, uid, gid);
  }

  /** {@link chownSync} of a symlink itself. */
  lchownSync(path: PathLike, uid: number, gid: number): void {
    const p = toPath(path);
    checkInteger(uid, 'uid', -1, 2 ** 32 - 1);
    checkInteger(gid, 'gid', -1, 2 ** 32 - 1);
    this.#guard('lchown', p);
    lchown(this.db, p, uid, gid);
  }

  /** {@link chownSync} of an open fd's file. */
  fchownSync(fd: number, uid: number, gid: number): void {
    checkInteger(uid, 'uid', -1, 2 ** 32 - 1);
    checkInteger(gid, 'gid', -1, 2 ** 32 - 1);
    const handle = this.#fds.get(fd, 'fchown');
    this.#guard('fchown');
    chownAt(this.db, handle.inode, uid, gid);
  }

  /**
   * Creates a FIFO, socket, device node or empty file, as `mknod(2)` (node has no such function):
   * `mode` carries the type bits (`S_IFIFO` …) and permission bits, less the provider's umask;
   * `rdev` is a device's number. Owned by the database's current owner.
   */
  mknodSync(path: PathLike, mode: number, rdev = 0): void {
    const p = toPath(path);
    checkInteger(mode, 'mode', 0, 0o177777);
    checkInteger(rdev, 'rdev', 0, 2 ** 32 - 1);
    this.#guard('mknod', p);
    mknod(this.db, p, mode & ~this.#umask, rdev);
  }

  /** Sets access and modification times (Dates, or seconds), following symlinks; bumps ctime. */
  utimesSync(path: PathLike, atime: TimeArg, mtime: TimeArg): void {
    const p = toPath(path);
    const a = toTime(atime, 'atime');
    const m = toTime(mtime, 'mtime');
    this.#changeFile('utime', p);
    utimes(this.db, p, a, m);
  }

  /** Sets a file's length (negative lengths count as 0, as node). Buffered sessions on it see the change. */
  truncateSync(path: PathLike, len?: number): void {
    const p = toPath(path);
    const length = toLength(len);
    this.#changeFile('open', p);
    const buffer = this.#buffers.ofPath(p);
    if (!buffer) {
      truncate(this.db, p, length);
      return;
    }
    // The engine's truncate checks write permission; a buffered session's file is checked here.
    if (isChecked(this.db)) checkPermission(this.db, stat(this.db, p), W_OK, 'open', p);
    buffer.truncate(length);
  }

  /** Copies by sharing chunks (no bytes copied). `mode & 1` is COPYFILE_EXCL; FICLONE is what it always does. */
  copyFileSync(src: PathLike, dest: PathLike, mode = 0): void {
    const from = toPath(src, 'src');
    const to = toPath(dest, 'dest');
    checkInteger(mode, 'mode', 0, 7);
    this.#changeFile('copyfile', to);
    // A directory as the source removes the destination's name (as libuv does): an open file there
    // stays open, and that change is committed before the failure is thrown.
    const failure = keepOpenFiles(this.db, 'copyfile', to, () =>
      tryCopyFile(this.db, from, to, { exclusive: (mode & 1) !== 0 }),
    );
    if (failure) throw failure;
  }

  /** Reads a whole file; only `flag: 'r'` (the default) avoids a handle. Buffered bytes are seen. */
  readFileSync(path: PathLike, options?: ReadFileOptions): Buffer | string {
    const p = toPath(path);
    const flag = typeof options === 'object' && options !== null ? options.flag : undefined;
    let bytes: Uint8Array;
    const buffer = this.#buffers.ofPath(p);
    if ((flag === undefined || flag === 'r') && !buffer) {
      bytes = as('open', () => readFile(this.db, p));
    } else {
      const handle = this.openSync(p, flag ?? 'r');
      try {
        bytes = handle.readFileSync() as Buffer;
      } finally {
        handle.closeSync();
      }
    }
    const out = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const encoding = encodingOf(options);
    return encoding ? out.toString(encoding) : out;
  }

  /** Writes a whole file in one transaction; an existing file keeps its inode and its mode. */
  writeFileSync(path: PathLike, data: string | ArrayBufferView, options?: WriteFileOptions): void {
    this.#writeWhole(path, data, options, 'w');
  }

  /** Appends in one transaction, creating the file if missing. */
  appendFileSync(path: PathLike, data: string | ArrayBufferView, options?: WriteFileOptions): void {
    this.#writeWhole(path, data, options, 'a');
  }

  #writeWhole(path: PathLike, data: unknown, options: WriteFileOptions, defaultFlag: string): void {
    const p = toPath(path);
    const opts = typeof options === 'object' && options !== null ? options : {};
    const flags = parseFlags(opts.flag ?? defaultFlag);
    const bytes = toBytes(data, encodingOf(options));
    const mode = toMode(opts.mode, 'mode', 0o666) & ~this.#umask;
    if (!flags.write) {
      // node opens first and only its write fails: the open's own error (ENOENT, EACCES…) comes first.
      this.openSync(p, opts.flag ?? defaultFlag).closeSync();
      throw fsError('EBADF', 'write');
    }
    this.#changeFile('open', p);
    writeWhole(this.db, p, bytes, { ...flags, mode });
  }

  // ---- File descriptors ----

  /** Opens a file with node's flags (string or number) and returns its handle (what @platformatic/vfs expects). */
  openSync(path: PathLike, flags: string | number = 'r', mode?: number | string): WorkspaceFileHandle {
    const p = toPath(path);
    const parsed = parseFlags(flags);
    const bits = toMode(mode, 'mode', 0o666) & ~this.#umask;
    if (this.#readOnly && (parsed.write || parsed.truncate || (parsed.create && !exists(this.db, p))))
      this.#guard('open', p);
    if (parsed.truncate) this.#changeFile('open', p);
    const opened = openFile(this.db, p, { ...parsed, mode: bits });
    return this.#fds.add((fd) => {
      // Directories too: one removed while open still answers fstat through its handles.
      pinInode(this.db, opened.inode);
      return new WorkspaceFileHandle(this.#host, {
        fd,
        path: p,
        inode: opened.inode,
        type: opened.type,
        flags: parsed,
        given: flags,
        mode: bits,
      });
    });
  }

  /** Opens a file and returns its fd number (from 3 up), for the fd-level calls below. */
  openFdSync(path: PathLike, flags: string | number = 'r', mode?: number | string): number {
    return this.openSync(path, flags, mode).fd;
  }

  /** Closes an fd. */
  closeSync(fd: number): void {
    this.#fds.get(fd, 'close').closeSync();
  }

  /** Reads from an fd: at `position`, or at (and advancing) its current position when null or -1. */
  readSync(
    fd: number,
    buffer: ArrayBufferView,
    offsetOrOptions?: unknown,
    length?: number,
    position?: number | bigint | null,
  ): number {
    checkFd(fd); // node checks the fd argument first, the fd itself (EBADF) last
    const request = readRequest(buffer, offsetOrOptions, length, position);
    // node returns 0 for an empty read without asking the system, so even a bad fd reads nothing.
    if (request.bytes.byteLength === 0) return 0;
    return this.#fds.get(fd, 'read').readRequest(request);
  }

  /** Writes to an fd (node's buffer or string forms); returns the bytes written. */
  writeSync(
    fd: number,
    data: ArrayBufferView | string,
    offsetOrPosition?: unknown,
    lengthOrEncoding?: unknown,
    position?: unknown,
  ): number {
    checkFd(fd);
    const request = writeRequest(data, offsetOrPosition, lengthOrEncoding, position);
    return this.#fds.get(fd, 'write').writeRequest(request);
  }

  /** Stats of an open file (nlink 0 once every name is gone). */
  fstatSync(fd: number, options?: StatOptions): WorkspaceStats {
    return this.#fds.get(fd, 'fstat').statSync(options);
  }

  /** Sets the length of an fd's file: EINVAL unless open for writing. */
  ftruncateSync(fd: number, len?: number): void {
    const handle = this.#fds.get(fd, 'ftruncate');
    handle.truncateSync(len);
  }

  /** Checks the fd and commits its file's write-back session, if any (without `writeBack`, every write is committed already). */
  fsyncSync(fd: number): void {
    this.#fds.get(fd, 'fsync').syncSync();
  }

  /** As {@link fsyncSync}. */
  fdatasyncSync(fd: number): void {
    this.#fds.get(fd, 'fdatasync').datasyncSync();
  }

  /** Async fd read, resolving like node's FileHandle.read: `{ bytesRead, buffer }`. */
  read<T extends ArrayBufferView>(
    fd: number,
    buffer: T,
    offsetOrOptions?: unknown,
    length?: number,
    position?: number | bigint | null,
  ): Promise<ReadResult<T>> {
    return settle(() => ({ bytesRead: this.readSync(fd, buffer, offsetOrOptions, length, position), buffer }));
  }

  /** Async fd write, resolving like node's FileHandle.write: `{ bytesWritten, buffer }`. */
  write<T extends ArrayBufferView | string>(
    fd: number,
    buffer: T,
    offsetOrPosition?: unknown,
    lengthOrEncoding?: unknown,
    position?: unknown,
  ): Promise<WriteResult<T>> {
    return settle(() => ({
      bytesWritten: this.writeSync(fd, buffer, offsetOrPosition, lengthOrEncoding, position),
      buffer,
    }));
  }

  /** Open fds, for leak checks. */
  get openFds(): number {
    return this.#fds.size;
  }

  /**
   * Commits every write-back session of fd writes (see `writeBack`) of every provider over this
   * workspace handle, each in one transaction. A commit that fails is kept and thrown by the next
   * fsync or close of that file through the provider that wrote it.
   */
  settleWrites(): void {
    const providers = writingBack.get(this.db);
    if (providers === undefined) return;
    for (const provider of [...providers]) for (const inode of [...provider.#pending]) provider.#commitInode(inode);
  }

  /** Commits the sessions other providers over this workspace handle hold on `inode`, before I/O on it here. */
  #settleOthers(inode: number): void {
    const providers = writingBack.get(this.db);
    if (providers === undefined) return;
    for (const provider of [...providers]) if (provider !== this) provider.#commitInode(inode);
  }

  #commitInode(inode: number): void {
    if (!this.#pending.delete(inode)) return;
    if (this.#pending.size === 0) writingBack.get(this.db)?.delete(this);
    try {
      this.#buffers.releaseInode(inode);
    } catch (error) {
      this.#failed.set(inode, error);
    }
  }

  /** Commits the inode's write-back session now and throws a failed earlier commit (fsync, close). */
  #flushInode(inode: number): void {
    this.#commitInode(inode);
    const failed = this.#failed.get(inode);
    if (failed === undefined) return;
    this.#failed.delete(inode);
    throw failed;
  }

  /** The write buffer fd writes to `inode` go to: the mount's, or a write-back session opened now. */
  #fdBuffer(inode: number): WriteBuffer | undefined {
    const buffer = this.#buffers.ofInode(inode);
    if (buffer || !this.#writeBack) return buffer;
    this.#pending.add(inode);
    const providers = writingBack.get(this.db) ?? new Set();
    writingBack.set(this.db, providers.add(this));
    // At the latest on the next turn of the event loop: a synchronous burst of writes is one transaction.
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      this.settleWrites();
    }, 0);
    return this.#buffers.openInode(inode);
  }

  // What handles call back into: I/O by inode that sees write buffers, and closing.
  readonly #host = {
    readInto: (inode: number, offset: number, target: Uint8Array, options?: ReadIntoOptions): number => {
      this.#settleOthers(inode);
      const buffer = this.#buffers.ofInode(inode);
      return buffer ? buffer.readInto(offset, target) : readInto(this.db, inode, offset, target, options);
    },
    writeAt: (inode: number, offset: number, bytes: Uint8Array, append: boolean, handOver = false): number => {
      this.#settleOthers(inode);
      if (bytes.byteLength === 0) return this.#buffers.ofInode(inode) ? offset : writeAt(this.db, inode, offset, bytes);
      const buffer = this.#fdBuffer(inode);
      if (!buffer) return writeAt(this.db, inode, offset, bytes, append);
      const at = append ? buffer.size : offset;
      const max = this.db.quotas.maxFileSize;
      if (max !== undefined && at + bytes.byteLength > max)
        throw fsError('EFBIG', 'write', undefined, undefined, `files are limited to ${max} bytes`);
      return buffer.write(at, bytes, handOver);
    },
    truncateAt: (inode: number, length: number): void => {
      this.#settleOthers(inode);
      const buffer = this.#writeBack ? this.#fdBuffer(inode) : this.#buffers.ofInode(inode);
      if (buffer) buffer.truncate(length);
      else truncateAt(this.db, inode, length);
    },
    statInode: (inode: number, options?: StatOptions): WorkspaceStats => {
      this.#settleOthers(inode);
      return this.#stats(statInode(this.db, inode), options);
    },
    guardWrite: (syscall: string): void => this.#guard(syscall),
    closed: (handle: WorkspaceFileHandle): void => {
      this.#fds.delete(handle.fd);
      try {
        this.#flushInode(handle.inode);
      } finally {
        unpinInode(this.db, handle.inode);
      }
    },
    flush: (inode: number): void => this.#flushInode(inode),
  };

  // ---- Buffered writes (the FUSE surface) ----

  /** Creates an empty regular file if the name is free (EEXIST with `exclusive`); no buffer is opened. */
  createFileSync(path: PathLike, options: CreateFileOptions = {}): void {
    const p = toPath(path);
    this.#guard('open', p);
    openFile(this.db, p, { create: true, exclusive: options.exclusive, write: true, mode: options.mode ?? 0o644 });
  }

  /** FUSE create: {@link createFileSync}, then {@link openWriteBufferSync}. */
  openWriteBufferForCreateSync(path: PathLike, options: CreateFileOptions = {}): void {
    this.createFileSync(path, options);
    this.openWriteBufferSync(path);
  }

  /**
   * FUSE open for writing: starts (or joins, counting references) the write buffer of the file at
   * `path`. Until the last {@link releaseWriteBufferSync}, writes and truncates through
   * {@link writeRangeSync}, {@link truncateFileSync}, this provider's fds and its truncate stay in
   * memory, and reads and stats through this provider see them.
   */
  openWriteBufferSync(path: PathLike): void {
    const p = toPath(path);
    this.#guard('open', p);
    this.#buffers.open(p);
  }

  /** Writes `bytes` at `offset`: into the file's write buffer when one is open, else straight to the workspace. Returns the bytes written. */
  writeRangeSync(path: PathLike, bytes: ArrayBufferView, offset: number): number {
    const p = toPath(path);
    const data = viewBytes(bytes);
    checkInteger(offset, 'offset');
    this.#guard('write', p);
    const buffer = this.#buffers.ofPath(p);
    if (buffer) buffer.write(offset, data);
    else writeAt(this.db, openFile(this.db, p, { write: true }).inode, offset, data);
    return data.byteLength;
  }

  /** Sets the length: in the write buffer when one is open, else in the workspace. */
  truncateFileSync(path: PathLike, len: number): void {
    this.truncateSync(path, len);
  }

  /**
   * Reads from `offset` of an open inode straight into `target` (as much as fits), seeing its
   * write buffer if one is open under any name; returns the bytes read. The FUSE read path: no
   * path walk, one copy. `options.cache: false` leaves the chunks it loads out of the blob cache
   * (see {@link ReadIntoOptions}).
   */
  readInodeSync(inode: number, offset: number, target: Uint8Array, options?: ReadIntoOptions): number {
    checkInteger(offset, 'offset');
    return this.#host.readInto(inode, offset, target, options);
  }

  // ---- Buffered writes by inode (the FUSE low-level surface: requests name inodes, not paths) ----

  /**
   * Stats of an inode (a removed-but-open one included), seeing its open write buffer's size and
   * times. What a FUSE getattr by inode answers.
   */
  statInodeSync(inode: number, options?: StatOptions): WorkspaceStats {
    return this.#host.statInode(inode, options);
  }

  /**
   * {@link statInodeSync}'s numbers without building a Stats object (its four Dates): what a FUSE
   * reply, which copies a few of them, needs.
   */
  statInodeFieldsSync(inode: number): StatFields<number> {
    return statFields(this.#buffered(statInode(this.db, inode)));
  }

  /**
   * Opens (or joins, counting references) the write buffer of an inode and pins it, so it outlives
   * an unlink until {@link releaseInodeBufferSync}. Writes, truncates and reads through
   * {@link writeInodeSync}, {@link truncateInodeSync} and {@link readInodeSync} see it. `known`
   * is the file's size, mtime and revision as the caller just read or wrote them in the current
   * transaction (a FUSE create's new row): a buffer opened now starts from them without reading
   * the row again.
   */
  openInodeBufferSync(inode: number, known?: BufferBase): WriteBuffer {
    this.#guard('open');
    return this.#buffers.openInode(inode, known);
  }

  /**
   * Writes `bytes` at `offset` of an inode: into its write buffer when one is open, else to the
   * workspace. With `handOver` the caller gives `bytes` up (never reads or changes them again), so
   * the write buffer may keep chunks of them rather than copies (the FUSE mount's request bytes).
   */
  writeInodeSync(inode: number, bytes: Uint8Array, offset: number, handOver = false): number {
    checkInteger(offset, 'offset');
    this.#guard('write');
    return this.#host.writeAt(inode, offset, bytes, false, handOver) - offset;
  }

  /** Sets the length of an inode: in its write buffer when one is open, else in the workspace. */
  truncateInodeSync(inode: number, length: number): void {
    checkInteger(length, 'length');
    this.#guard('ftruncate');
    this.#host.truncateAt(inode, length);
  }

  /**
   * Drops one reference {@link openInodeBufferSync} took; the last commits in one transaction and
   * unpins. With `discard`, the last forgets what is pending instead of committing it (an open the
   * caller undid: the FUSE mount's, when its batch's transaction failed).
   */
  releaseInodeBufferSync(inode: number, options?: { discard?: boolean }): void {
    this.#buffers.releaseInode(inode, options?.discard === true);
  }

  /** The open write buffer of an inode, if any. */
  inodeBufferOf(inode: number): WriteBuffer | undefined {
    return this.#buffers.ofInode(inode);
  }

  /** Reads up to `length` bytes at `offset`, seeing buffered bytes; only the chunks covered are loaded. */
  readRangeSync(path: PathLike, offset: number, length: number): Buffer {
    const p = toPath(path);
    checkInteger(offset, 'offset');
    checkInteger(length, 'length');
    const buffer = this.#buffers.ofPath(p);
    const bytes = buffer
      ? buffer.read(offset, length)
      : readAt(this.db, openFile(this.db, p, {}).inode, offset, length);
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /**
   * FUSE release: drops one reference; the last commits the session in one transaction (one
   * revision; only changed chunks hashed). Releasing a path with no buffer does nothing.
   */
  releaseWriteBufferSync(path: PathLike): void {
    this.#buffers.release(toPath(path));
  }

  /** The open write buffer of `path`, for inspection (size, held bytes). */
  writeBufferOf(path: PathLike): WriteBuffer | undefined {
    return this.#buffers.ofPath(toPath(path));
  }

  // ---- Watching ----

  /** fs.watch: `change` events (eventType, filename) from the engine's commits. */
  watch(path: PathLike, options?: WatchOptions): WorkspaceWatcher {
    return new WorkspaceWatcher(this.db, toPath(path), options);
  }

  /**
   * Not a method here: @cloudflare/dofs's name for what {@link watch} does. A TypeError naming
   * `watch` and `watchAsync`, rather than "is not a function", for code written against it.
   */
  watchSync(): never {
    throw new TypeError(
      "SQLiteWorkspaceProvider has no watchSync (@cloudflare/dofs's name): use watch(path, options), which is " +
        'synchronous and fs.watch-shaped, or watchAsync(path, options) for an async iterable',
    );
  }

  /** fs.promises.watch: an async iterable of `{ eventType, filename }`. */
  watchAsync(path: PathLike, options?: WatchOptions): WorkspaceWatchIterable {
    return new WorkspaceWatchIterable(this.db, toPath(path), options);
  }

  /** fs.watchFile: `change` (curr, prev) whenever the stats of `path` change, driven by commits rather than polling. */
  watchFile(
    path: PathLike,
    options?: object | ((curr: WorkspaceStats, prev: WorkspaceStats) => void),
    listener?: (curr: WorkspaceStats, prev: WorkspaceStats) => void,
  ): WorkspaceStatWatcher {
    const fn = typeof options === 'function' ? (options as typeof listener) : listener;
    return this.#statWatchers.watch(normalizePath(toPath(path), 'watch'), fn);
  }

  /** fs.unwatchFile. */
  unwatchFile(path: PathLike, listener?: (curr: WorkspaceStats, prev: WorkspaceStats) => void): void {
    this.#statWatchers.unwatch(normalizePath(toPath(path), 'watch'), listener);
  }
}

/**
 * A dofs workspace as a `@platformatic/vfs` provider: `create(new SQLiteWorkspaceProvider(ws))`
 * gives a node:fs-shaped filesystem, mountable so that `require`, `import()` and `fs.readFileSync`
 * reach it. Every `fooSync` method has a promise form `foo`. Works on any backend.
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the interface only types the async forms deriveAsync defines below.
export class SQLiteWorkspaceProvider extends ProviderSync {}
export interface SQLiteWorkspaceProvider extends AsyncForms<ProviderSync, 'read' | 'write' | 'watch'> {}
// `watch` is fs.watch's, not an async form of the `watchSync` trap.
deriveAsync(SQLiteWorkspaceProvider.prototype, VirtualProvider.prototype, ['read', 'write', 'mkdir', 'watch']);
Object.defineProperty(SQLiteWorkspaceProvider.prototype, 'mkdir', {
  configurable: true,
  writable: true,
  value(this: SQLiteWorkspaceProvider, path: PathLike, options?: MkdirOptions) {
    return settle(() => this.mkdirAsLibuv(path, options));
  },
});
