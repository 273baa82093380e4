/**
 * @platformatic/vfs as dofs uses and exposes it: its runtime values, typed by the declarations
 * below instead of by its own index.d.ts.
 *
 * Why a copy: in @platformatic/vfs 0.4.0's index.d.ts, `VFSStatWatcher extends EventEmitter` but
 * redeclares `addListener` and `removeListener` with fs.watchFile's one-argument form, which is
 * not assignable to EventEmitter's (TS2416, twice). Any declaration of ours that imports a type
 * from that file pulls it into a user's program, so a user who type-checks with
 * `skipLibCheck: false` got those two errors through `dofs-sqlite/adapters/vfs`. No patch can reach the
 * user's copy, and the class really does override both methods, so adding EventEmitter's overloads
 * would be untrue. These declarations are upstream's (classes as interfaces, since only the
 * types are exported; a `Vfs` prefix where dofs-sqlite/adapters/vfs has a type of the same name), with
 * one change: `VFSStatWatcher` is EventEmitter with those two methods replaced rather than
 * overridden. `npm run typecheck` checks that upstream's types still fit these
 * (test/platformatic-vfs-types.ts) and that our emitted declarations pass with
 * `skipLibCheck: false` (test/consumer-types/).
 *
 * @module
 */
import type { Buffer } from 'node:buffer';
import type { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import * as upstream from '@platformatic/vfs';

/** Options of {@link create}. */
export interface VFSOptions {
  /** Hook `require` and `import` when mounted (default true). */
  moduleHooks?: boolean;
  /** Resolve relative paths against a virtual working directory. */
  virtualCwd?: boolean;
  /** Fall through to the real filesystem for paths the provider lacks. */
  overlay?: boolean;
}

/** Options of `mkdir`. */
export interface VfsMkdirOptions {
  /** Create missing parents too, and succeed when the directory exists. */
  recursive?: boolean;
  /** Permission bits of the new directories (default 0o777, less the umask). */
  mode?: number;
}

/** Options of `readdir`. */
export interface VfsReaddirOptions {
  /** Return {@link VirtualDirent}s rather than names. */
  withFileTypes?: boolean;
}

/** Options of `watch`. */
export interface VfsWatchOptions {
  /** Keep the process alive while watching (fs.watch's option; default true). */
  persistent?: boolean;
  /** Watch the whole subtree, not only the directory's own entries. */
  recursive?: boolean;
  /** Polling interval in milliseconds, for providers that poll. */
  interval?: number;
  /** Stops the watcher when aborted. */
  signal?: AbortSignal;
}

/** Options of `watchFile`. */
export interface VfsWatchFileOptions {
  /** Keep the process alive while watching (default true). */
  persistent?: boolean;
  /** How often to stat the file, in milliseconds (fs.watchFile's default: 5,007). */
  interval?: number;
}

/** Options of `createReadStream`. */
export interface VfsReadStreamOptions {
  /** The first byte to read (default 0). */
  start?: number;
  /** The last byte to read, inclusive (default: to the end of the file). */
  end?: number;
  /** Bytes per chunk the stream reads at once. */
  highWaterMark?: number;
  /** Emit strings in this encoding instead of Buffers. */
  encoding?: BufferEncoding;
  /** Close the file when the stream ends or fails (default true). */
  autoClose?: boolean;
}

/** Options of `stat`. */
export interface VfsStatOptions {
  /** Return the numbers as bigints (nanosecond times included), as fs.stat does. */
  bigint?: boolean;
}

/** A node:fs-shaped Stats. */
export interface VirtualStats {
  /** Device number of the filesystem holding the entry. */
  dev: number;
  /** File type and permission bits (`S_IFMT` and `0o7777` parts), as `st_mode`. */
  mode: number;
  /** Number of hard links to the entry. */
  nlink: number;
  /** Owner's user id. */
  uid: number;
  /** Owner's group id. */
  gid: number;
  /** Device number, for a device special file (0 otherwise). */
  rdev: number;
  /** Preferred block size for I/O, in bytes. */
  blksize: number;
  /** Inode number. */
  ino: number;
  /** Size in bytes (a symlink: the length of its target). */
  size: number;
  /** Space allocated, in 512-byte blocks. */
  blocks: number;
  /** Last access time, in milliseconds since the epoch. */
  atimeMs: number;
  /** Last content change, in milliseconds since the epoch. */
  mtimeMs: number;
  /** Last change of content or metadata, in milliseconds since the epoch. */
  ctimeMs: number;
  /** Creation time, in milliseconds since the epoch. */
  birthtimeMs: number;
  /** Last access time. */
  atime: Date;
  /** Last content change. */
  mtime: Date;
  /** Last change of content or metadata. */
  ctime: Date;
  /** Creation time. */
  birthtime: Date;
  /** True when the entry is a regular file. */
  isFile(): boolean;
  /** True when the entry is a directory. */
  isDirectory(): boolean;
  /** True when the entry is a symbolic link. */
  isSymbolicLink(): boolean;
  /** True when the entry is a block device. */
  isBlockDevice(): boolean;
  /** True when the entry is a character device. */
  isCharacterDevice(): boolean;
  /** True when the entry is a FIFO (named pipe). */
  isFIFO(): boolean;
  /** True when the entry is a socket. */
  isSocket(): boolean;
}

/** A node:fs-shaped Dirent. */
export interface VirtualDirent {
  /** The entry's name within its directory. */
  readonly name: string;
  /** The directory the entry was read from. */
  readonly parentPath: string;
  /** The same as `parentPath` (node's deprecated alias). */
  readonly path: string;
  /** True when the entry is a regular file. */
  isFile(): boolean;
  /** True when the entry is a directory. */
  isDirectory(): boolean;
  /** True when the entry is a symbolic link. */
  isSymbolicLink(): boolean;
  /** True when the entry is a block device. */
  isBlockDevice(): boolean;
  /** True when the entry is a character device. */
  isCharacterDevice(): boolean;
  /** True when the entry is a FIFO (named pipe). */
  isFIFO(): boolean;
  /** True when the entry is a socket. */
  isSocket(): boolean;
}

/** What `createReadStream` returns. */
export interface VirtualReadStream extends Readable {
  /** The path the stream reads. */
  readonly path: string;
}

/** What `watch` returns: fs.FSWatcher's shape. */
export interface VFSWatcher extends EventEmitter {
  /** Stops watching; no event is emitted after it. */
  close(): void;
  /** Lets the process exit while the watcher is active. */
  unref(): this;
  /** Keeps the process alive while the watcher is active (the default). */
  ref(): this;
}

/** One event of `promises.watch`. */
export interface VfsWatchAsyncEvent {
  /** `'rename'` (an entry appeared or went) or `'change'` (its content or metadata changed). */
  eventType: string;
  /** The changed entry, relative to the watched path. */
  filename: string;
}

/** What `promises.watch` returns. */
export interface VFSWatchAsyncIterable extends AsyncIterable<VfsWatchAsyncEvent> {
  /** Waits for the next event. */
  next(): Promise<IteratorResult<VfsWatchAsyncEvent>>;
  /** Stops watching and ends the iteration. */
  return(): Promise<IteratorResult<VfsWatchAsyncEvent>>;
  /** Stops watching and ends the iteration with `error`. */
  throw(error?: unknown): Promise<IteratorResult<VfsWatchAsyncEvent>>;
}

/** EventEmitter's listener type. */
export type VfsEmitterListener = Parameters<EventEmitter['on']>[1];

/**
 * What `watchFile` returns: an EventEmitter of `change` (curr, prev) events whose `addListener`
 * and `removeListener` take a bare listener, as upstream's watcher does (dofs's takes
 * EventEmitter's form too). EventEmitter's methods that return the emitter are restated, so they
 * return this type rather than a plain EventEmitter.
 */
export interface VFSStatWatcher
  extends Omit<
    EventEmitter,
    | 'addListener'
    | 'removeListener'
    | 'on'
    | 'once'
    | 'off'
    | 'prependListener'
    | 'prependOnceListener'
    | 'removeAllListeners'
    | 'setMaxListeners'
  > {
  /** Adds a `change` listener (upstream's one-argument form). */
  addListener(listener: VfsStatListener): void;
  /** Removes a `change` listener; true when it was registered. */
  removeListener(listener: VfsStatListener): boolean;
  /** EventEmitter's `on`, returning this watcher. */
  on(eventName: string | symbol, listener: VfsEmitterListener): this;
  /** EventEmitter's `once`, returning this watcher. */
  once(eventName: string | symbol, listener: VfsEmitterListener): this;
  /** EventEmitter's `off`, returning this watcher. */
  off(eventName: string | symbol, listener: VfsEmitterListener): this;
  /** EventEmitter's `prependListener`, returning this watcher. */
  prependListener(eventName: string | symbol, listener: VfsEmitterListener): this;
  /** EventEmitter's `prependOnceListener`, returning this watcher. */
  prependOnceListener(eventName: string | symbol, listener: VfsEmitterListener): this;
  /** EventEmitter's `removeAllListeners`, returning this watcher. */
  removeAllListeners(eventName?: string | symbol): this;
  /** EventEmitter's `setMaxListeners`, returning this watcher. */
  setMaxListeners(n: number): this;
  /** True when no `change` listener is left (then `unwatchFile` stops polling). */
  hasNoListeners(): boolean;
  /** Stops polling the file. */
  stop(): void;
  /** Lets the process exit while the watcher polls. */
  unref(): this;
  /** Keeps the process alive while the watcher polls (the default). */
  ref(): this;
}

/** The promise API of a {@link VirtualFileSystem}. */
export interface VFSPromisesAPI {
  /** The file's content as a Buffer. */
  readFile(filePath: string, options?: { encoding?: null } | null): Promise<Buffer>;
  /** The file's content as a string in `options`' encoding. */
  readFile(filePath: string, options: BufferEncoding | { encoding: BufferEncoding }): Promise<string>;
  /** The file's content: a string when an encoding is given, a Buffer otherwise. */
  readFile(
    filePath: string,
    options?: BufferEncoding | { encoding?: BufferEncoding | null } | null,
  ): Promise<Buffer | string>;
  /** Replaces the file's content with `data`, creating the file when missing. */
  writeFile(
    filePath: string,
    data: string | Buffer,
    options?: { encoding?: BufferEncoding; mode?: number } | BufferEncoding,
  ): Promise<void>;
  /** Appends `data` to the file, creating it when missing. */
  appendFile(
    filePath: string,
    data: string | Buffer,
    options?: { encoding?: BufferEncoding; mode?: number } | BufferEncoding,
  ): Promise<void>;
  /** Stats of `filePath`, following symlinks. */
  stat(filePath: string, options?: VfsStatOptions): Promise<VirtualStats>;
  /** Stats of `filePath` itself (a symlink is described, not followed). */
  lstat(filePath: string, options?: VfsStatOptions): Promise<VirtualStats>;
  /** The names in the directory. */
  readdir(dirPath: string, options?: VfsReaddirOptions & { withFileTypes?: false }): Promise<string[]>;
  /** The entries of the directory, as dirents. */
  readdir(dirPath: string, options: VfsReaddirOptions & { withFileTypes: true }): Promise<VirtualDirent[]>;
  /** The entries of the directory: dirents with `withFileTypes`, names otherwise. */
  readdir(dirPath: string, options?: VfsReaddirOptions): Promise<string[] | VirtualDirent[]>;
  /** Creates a directory; recursive, resolves with the first directory it created (undefined when none). */
  mkdir(dirPath: string, options?: VfsMkdirOptions): Promise<string | undefined>;
  /** Removes an empty directory. */
  rmdir(dirPath: string): Promise<void>;
  /** Removes a file or symlink. */
  unlink(filePath: string): Promise<void>;
  /** Renames or moves `oldPath` to `newPath`, replacing what POSIX lets it replace. */
  rename(oldPath: string, newPath: string): Promise<void>;
  /** Copies a file's content; `mode` takes fs.constants.COPYFILE_* flags. */
  copyFile(src: string, dest: string, mode?: number): Promise<void>;
  /** The canonical path, every symlink resolved. */
  realpath(filePath: string, options?: { encoding?: BufferEncoding }): Promise<string>;
  /** A symlink's target. */
  readlink(linkPath: string, options?: { encoding?: BufferEncoding }): Promise<string>;
  /** Creates a symlink at `path` pointing to `target` (`type` is ignored, as on Linux). */
  symlink(target: string, path: string, type?: string): Promise<void>;
  /** Resolves when the caller may access the path with `mode` (fs.constants.*_OK), rejects otherwise. */
  access(filePath: string, mode?: number): Promise<void>;
  /** An async iterable of the changes at `filePath` (fs.promises.watch). */
  watch(filePath: string, options?: VfsWatchOptions): VFSWatchAsyncIterable;
}

/** A node-style callback. */
export type VfsCallback<T = void> = T extends void
  ? (err: NodeJS.ErrnoException | null) => void
  : (err: NodeJS.ErrnoException | null, result: T) => void;

/** A stat listener of `watchFile`. */
export type VfsStatListener = (curr: VirtualStats, prev: VirtualStats) => void;

/** A node:fs-shaped filesystem over a provider, mountable so `require` and `import` reach it. */
export interface VirtualFileSystem {
  /** The provider the filesystem serves. */
  readonly provider: VirtualProvider;
  /** Where it is mounted, or null when it is not. */
  readonly mountPoint: string | null;
  /** True while mounted. */
  readonly mounted: boolean;
  /** True when the provider refuses writes. */
  readonly readonly: boolean;
  /** True when paths the provider lacks fall through to the real filesystem. */
  readonly overlay: boolean;
  /** True when relative paths resolve against a virtual working directory. */
  readonly virtualCwdEnabled: boolean;

  /** The virtual working directory. */
  cwd(): string;
  /** Changes the virtual working directory. */
  chdir(dirPath: string): void;
  /** An absolute path for `inputPath`, resolved against the virtual working directory. */
  resolvePath(inputPath: string): string;

  /** Mounts the filesystem at `prefix`: node:fs calls and module loading under it reach the provider. */
  mount(prefix: string): this;
  /** Unmounts it; node:fs reaches the real filesystem again. */
  unmount(): void;
  /** Unmounts it (for `using`). */
  [Symbol.dispose](): void;

  /** True when `inputPath` is under the mount point. */
  shouldHandle(inputPath: string): boolean;

  /** True when the path exists (following symlinks). */
  existsSync(filePath: string): boolean;
  /** Stats of the path, following symlinks. */
  statSync(filePath: string, options?: VfsStatOptions): VirtualStats;
  /** Stats of the path itself (a symlink is described, not followed). */
  lstatSync(filePath: string, options?: VfsStatOptions): VirtualStats;
  /** The file's content as a Buffer. */
  readFileSync(filePath: string, options?: { encoding?: null } | null): Buffer;
  /** The file's content as a string in `options`' encoding. */
  readFileSync(filePath: string, options: BufferEncoding | { encoding: BufferEncoding }): string;
  /** The file's content: a string when an encoding is given, a Buffer otherwise. */
  readFileSync(
    filePath: string,
    options?: BufferEncoding | { encoding?: BufferEncoding | null } | null,
  ): Buffer | string;
  /** Replaces the file's content with `data`, creating the file when missing. */
  writeFileSync(
    filePath: string,
    data: string | Buffer,
    options?: { encoding?: BufferEncoding; mode?: number } | BufferEncoding,
  ): void;
  /** Appends `data` to the file, creating it when missing. */
  appendFileSync(
    filePath: string,
    data: string | Buffer,
    options?: { encoding?: BufferEncoding; mode?: number } | BufferEncoding,
  ): void;
  /** The names in the directory. */
  readdirSync(dirPath: string, options?: VfsReaddirOptions & { withFileTypes?: false }): string[];
  /** The entries of the directory, as dirents. */
  readdirSync(dirPath: string, options: VfsReaddirOptions & { withFileTypes: true }): VirtualDirent[];
  /** The entries of the directory: dirents with `withFileTypes`, names otherwise. */
  readdirSync(dirPath: string, options?: VfsReaddirOptions): string[] | VirtualDirent[];
  /** Creates a directory; recursive, returns the first directory it created (undefined when none). */
  mkdirSync(dirPath: string, options?: VfsMkdirOptions): string | undefined;
  /** Removes an empty directory. */
  rmdirSync(dirPath: string): void;
  /** Removes a file or symlink. */
  unlinkSync(filePath: string): void;
  /** Renames or moves `oldPath` to `newPath`, replacing what POSIX lets it replace. */
  renameSync(oldPath: string, newPath: string): void;
  /** Copies a file's content; `mode` takes fs.constants.COPYFILE_* flags. */
  copyFileSync(src: string, dest: string, mode?: number): void;
  /** The canonical path, every symlink resolved. */
  realpathSync(filePath: string, options?: { encoding?: BufferEncoding }): string;
  /** A symlink's target. */
  readlinkSync(linkPath: string, options?: { encoding?: BufferEncoding }): string;
  /** Creates a symlink at `path` pointing to `target`. */
  symlinkSync(target: string, path: string, type?: string): void;
  /** Throws unless the caller may access the path with `mode` (fs.constants.*_OK). */
  accessSync(filePath: string, mode?: number): void;

  /** Opens a file with fs.open's `flags` and returns a file descriptor of this filesystem. */
  openSync(filePath: string, flags?: string, mode?: number): number;
  /** Closes a file descriptor. */
  closeSync(fd: number): void;
  /** Reads up to `length` bytes into `buffer` at `offset`, from `position` (null: the current position); returns the bytes read. */
  readSync(fd: number, buffer: Buffer, offset: number, length: number, position: number | null): number;
  /** Stats of an open file descriptor. */
  fstatSync(fd: number, options?: VfsStatOptions): VirtualStats;

  /** Calls back with the file's content as a Buffer. */
  readFile(filePath: string, callback: VfsCallback<Buffer>): void;
  /** Calls back with the file's content as a string in `options`' encoding. */
  readFile(
    filePath: string,
    options: BufferEncoding | { encoding: BufferEncoding },
    callback: VfsCallback<string>,
  ): void;
  /** Calls back with the file's content: a string when an encoding is given, a Buffer otherwise. */
  readFile(
    filePath: string,
    options: { encoding?: BufferEncoding | null } | null | undefined,
    callback: VfsCallback<Buffer | string>,
  ): void;
  /** Replaces the file's content with `data`, then calls back. */
  writeFile(filePath: string, data: string | Buffer, callback: VfsCallback): void;
  /** Replaces the file's content with `data` (encoded and created with `options`), then calls back. */
  writeFile(
    filePath: string,
    data: string | Buffer,
    options: { encoding?: BufferEncoding; mode?: number } | BufferEncoding,
    callback: VfsCallback,
  ): void;
  /** Calls back with the stats of the path, following symlinks. */
  stat(filePath: string, callback: VfsCallback<VirtualStats>): void;
  /** Calls back with the stats of the path, following symlinks (bigint ones with `options.bigint`). */
  stat(filePath: string, options: VfsStatOptions, callback: VfsCallback<VirtualStats>): void;
  /** Calls back with the stats of the path itself. */
  lstat(filePath: string, callback: VfsCallback<VirtualStats>): void;
  /** Calls back with the stats of the path itself (bigint ones with `options.bigint`). */
  lstat(filePath: string, options: VfsStatOptions, callback: VfsCallback<VirtualStats>): void;
  /** Calls back with the names in the directory. */
  readdir(dirPath: string, callback: VfsCallback<string[]>): void;
  /** Calls back with the entries of the directory, as dirents. */
  readdir(
    dirPath: string,
    options: VfsReaddirOptions & { withFileTypes: true },
    callback: VfsCallback<VirtualDirent[]>,
  ): void;
  /** Calls back with the entries of the directory: dirents with `withFileTypes`, names otherwise. */
  readdir(dirPath: string, options: VfsReaddirOptions, callback: VfsCallback<string[] | VirtualDirent[]>): void;
  /** Calls back with the canonical path. */
  realpath(filePath: string, callback: VfsCallback<string>): void;
  /** Calls back with the canonical path, in `options.encoding`. */
  realpath(filePath: string, options: { encoding?: BufferEncoding }, callback: VfsCallback<string>): void;
  /** Calls back with a symlink's target. */
  readlink(linkPath: string, callback: VfsCallback<string>): void;
  /** Calls back with a symlink's target, in `options.encoding`. */
  readlink(linkPath: string, options: { encoding?: BufferEncoding }, callback: VfsCallback<string>): void;
  /** Calls back with no error when the path exists. */
  access(filePath: string, callback: VfsCallback): void;
  /** Calls back with no error when the caller may access the path with `mode`. */
  access(filePath: string, mode: number, callback: VfsCallback): void;
  /** Opens a file for reading and calls back with its descriptor. */
  open(filePath: string, callback: VfsCallback<number>): void;
  /** Opens a file with `flags` and calls back with its descriptor. */
  open(filePath: string, flags: string, callback: VfsCallback<number>): void;
  /** Opens a file with `flags`, creating it with `mode`, and calls back with its descriptor. */
  open(filePath: string, flags: string, mode: number, callback: VfsCallback<number>): void;
  /** Closes a file descriptor, then calls back. */
  close(fd: number, callback: VfsCallback): void;
  /** Reads up to `length` bytes into `buffer` at `offset`, from `position` (null: the current position), and calls back with the bytes read. */
  read(
    fd: number,
    buffer: Buffer,
    offset: number,
    length: number,
    position: number | null,
    callback: (err: NodeJS.ErrnoException | null, bytesRead: number, buffer: Buffer) => void,
  ): void;
  /** Calls back with the stats of an open file descriptor. */
  fstat(fd: number, callback: VfsCallback<VirtualStats>): void;
  /** Calls back with the stats of an open file descriptor (bigint ones with `options.bigint`). */
  fstat(fd: number, options: VfsStatOptions, callback: VfsCallback<VirtualStats>): void;

  /** A readable stream of the file's content (the `start`..`end` range of it). */
  createReadStream(filePath: string, options?: VfsReadStreamOptions): VirtualReadStream;

  /** Watches `filePath` for changes, as fs.watch; `listener` receives each event. */
  watch(
    filePath: string,
    options?: VfsWatchOptions,
    listener?: (eventType: string, filename: string) => void,
  ): VFSWatcher;
  /** Watches `filePath` for changes, as fs.watch. */
  watch(filePath: string, listener?: (eventType: string, filename: string) => void): VFSWatcher;
  /** Polls `filePath`'s stats, as fs.watchFile; `listener` receives the current and previous stats on each change. */
  watchFile(filePath: string, options?: VfsWatchFileOptions, listener?: VfsStatListener): VFSStatWatcher;
  /** Polls `filePath`'s stats with the default interval, as fs.watchFile. */
  watchFile(filePath: string, listener?: VfsStatListener): VFSStatWatcher;
  /** Stops `listener` (or every listener) of `watchFile` on `filePath`. */
  unwatchFile(filePath: string, listener?: VfsStatListener): void;

  /** The promise API. */
  readonly promises: VFSPromisesAPI;
}

/** What a {@link VirtualFileSystem} asks of its provider. */
export interface VirtualProvider {
  /** True when the provider refuses writes. */
  readonly readonly: boolean;
  /** True when the provider stores symlinks. */
  readonly supportsSymlinks: boolean;
  /** True when the provider reports changes to watchers. */
  readonly supportsWatch: boolean;

  /** Opens a file with fs.open's `flags`; resolves with a handle of the provider. */
  open(path: string, flags?: string, mode?: number): Promise<unknown>;
  /** Opens a file with fs.open's `flags` and returns a handle of the provider. */
  openSync(path: string, flags?: string, mode?: number): unknown;
  /** Stats of the path, following symlinks. */
  stat(path: string, options?: VfsStatOptions): Promise<VirtualStats>;
  /** Stats of the path, following symlinks. */
  statSync(path: string, options?: VfsStatOptions): VirtualStats;
  /** Stats of the path itself (a symlink is described, not followed). */
  lstat(path: string, options?: VfsStatOptions): Promise<VirtualStats>;
  /** Stats of the path itself (a symlink is described, not followed). */
  lstatSync(path: string, options?: VfsStatOptions): VirtualStats;
  /** The entries of a directory: dirents with `withFileTypes`, names otherwise. */
  readdir(path: string, options?: VfsReaddirOptions): Promise<string[] | VirtualDirent[]>;
  /** The entries of a directory: dirents with `withFileTypes`, names otherwise. */
  readdirSync(path: string, options?: VfsReaddirOptions): string[] | VirtualDirent[];
  /** Creates a directory; recursive, resolves with the first directory it created (undefined when none). */
  mkdir(path: string, options?: VfsMkdirOptions): Promise<string | undefined>;
  /** Creates a directory; recursive, returns the first directory it created (undefined when none). */
  mkdirSync(path: string, options?: VfsMkdirOptions): string | undefined;
  /** Removes an empty directory. */
  rmdir(path: string): Promise<void>;
  /** Removes an empty directory. */
  rmdirSync(path: string): void;
  /** Removes a file or symlink. */
  unlink(path: string): Promise<void>;
  /** Removes a file or symlink. */
  unlinkSync(path: string): void;
  /** Renames or moves `oldPath` to `newPath`. */
  rename(oldPath: string, newPath: string): Promise<void>;
  /** Renames or moves `oldPath` to `newPath`. */
  renameSync(oldPath: string, newPath: string): void;

  /** The file's content: a string when an encoding is given, a Buffer otherwise. */
  readFile(
    path: string,
    options?: BufferEncoding | { encoding?: BufferEncoding | null } | null,
  ): Promise<Buffer | string>;
  /** The file's content: a string when an encoding is given, a Buffer otherwise. */
  readFileSync(path: string, options?: BufferEncoding | { encoding?: BufferEncoding | null } | null): Buffer | string;
  /** Replaces the file's content with `data`, creating the file when missing. */
  writeFile(
    path: string,
    data: string | Buffer,
    options?: { encoding?: BufferEncoding; mode?: number } | BufferEncoding,
  ): Promise<void>;
  /** Replaces the file's content with `data`, creating the file when missing. */
  writeFileSync(
    path: string,
    data: string | Buffer,
    options?: { encoding?: BufferEncoding; mode?: number } | BufferEncoding,
  ): void;
  /** Appends `data` to the file, creating it when missing. */
  appendFile(
    path: string,
    data: string | Buffer,
    options?: { encoding?: BufferEncoding; mode?: number } | BufferEncoding,
  ): Promise<void>;
  /** Appends `data` to the file, creating it when missing. */
  appendFileSync(
    path: string,
    data: string | Buffer,
    options?: { encoding?: BufferEncoding; mode?: number } | BufferEncoding,
  ): void;
  /** True when the path exists (following symlinks). */
  exists(path: string): Promise<boolean>;
  /** True when the path exists (following symlinks). */
  existsSync(path: string): boolean;
  /** Copies a file's content; `mode` takes fs.constants.COPYFILE_* flags. */
  copyFile(src: string, dest: string, mode?: number): Promise<void>;
  /** Copies a file's content; `mode` takes fs.constants.COPYFILE_* flags. */
  copyFileSync(src: string, dest: string, mode?: number): void;
  /** What node's module loader asks: 0 for a file, 1 for a directory, -2 when missing. */
  internalModuleStat(path: string): number;
  /** The canonical path, every symlink resolved. */
  realpath(path: string, options?: { encoding?: BufferEncoding }): Promise<string>;
  /** The canonical path, every symlink resolved. */
  realpathSync(path: string, options?: { encoding?: BufferEncoding }): string;
  /** Resolves when the caller may access the path with `mode` (fs.constants.*_OK), rejects otherwise. */
  access(path: string, mode?: number): Promise<void>;
  /** Throws unless the caller may access the path with `mode` (fs.constants.*_OK). */
  accessSync(path: string, mode?: number): void;

  /** A symlink's target. */
  readlink(path: string, options?: { encoding?: BufferEncoding }): Promise<string>;
  /** A symlink's target. */
  readlinkSync(path: string, options?: { encoding?: BufferEncoding }): string;
  /** Creates a symlink at `path` pointing to `target`. */
  symlink(target: string, path: string, type?: string): Promise<void>;
  /** Creates a symlink at `path` pointing to `target`. */
  symlinkSync(target: string, path: string, type?: string): void;

  /** Watches the path for changes, as fs.watch. */
  watch(path: string, options?: VfsWatchOptions): VFSWatcher;
  /** An async iterable of the changes at the path, as fs.promises.watch. */
  watchAsync(path: string, options?: VfsWatchOptions): VFSWatchAsyncIterable;
  /** Polls the path's stats, as fs.watchFile. */
  watchFile(path: string, options?: VfsWatchFileOptions, listener?: VfsStatListener): VFSStatWatcher;
  /** Stops `listener` (or every listener) of `watchFile` on the path. */
  unwatchFile(path: string, listener?: VfsStatListener): void;
}

/** @platformatic/vfs's `create`: a {@link VirtualFileSystem} over `provider` (in memory without one). */
export interface CreateVfs {
  /** A filesystem over an in-memory provider. */
  (options?: VFSOptions): VirtualFileSystem;
  /** A filesystem over `provider` (a {@link SQLiteWorkspaceProvider}, say). */
  (provider: VirtualProvider, options?: VFSOptions): VirtualFileSystem;
}

/** @platformatic/vfs's `create`, from dofs's own copy of the package. */
export const create = upstream.create as unknown as CreateVfs;

/** @platformatic/vfs's provider base class, from dofs's own copy (what its `instanceof` checks). */
export const VirtualProvider = upstream.VirtualProvider as unknown as abstract new () => VirtualProvider;
