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
  recursive?: boolean;
  mode?: number;
}

/** Options of `readdir`. */
export interface VfsReaddirOptions {
  withFileTypes?: boolean;
}

/** Options of `watch`. */
export interface VfsWatchOptions {
  persistent?: boolean;
  recursive?: boolean;
  interval?: number;
  signal?: AbortSignal;
}

/** Options of `watchFile`. */
export interface VfsWatchFileOptions {
  persistent?: boolean;
  interval?: number;
}

/** Options of `createReadStream`. */
export interface VfsReadStreamOptions {
  start?: number;
  end?: number;
  highWaterMark?: number;
  encoding?: BufferEncoding;
  autoClose?: boolean;
}

/** Options of `stat`. */
export interface VfsStatOptions {
  bigint?: boolean;
}

/** A node:fs-shaped Stats. */
export interface VirtualStats {
  dev: number;
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  rdev: number;
  blksize: number;
  ino: number;
  size: number;
  blocks: number;
  atimeMs: number;
  mtimeMs: number;
  ctimeMs: number;
  birthtimeMs: number;
  atime: Date;
  mtime: Date;
  ctime: Date;
  birthtime: Date;
  isFile(): boolean;
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
  isBlockDevice(): boolean;
  isCharacterDevice(): boolean;
  isFIFO(): boolean;
  isSocket(): boolean;
}

/** A node:fs-shaped Dirent. */
export interface VirtualDirent {
  readonly name: string;
  readonly parentPath: string;
  readonly path: string;
  isFile(): boolean;
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
  isBlockDevice(): boolean;
  isCharacterDevice(): boolean;
  isFIFO(): boolean;
  isSocket(): boolean;
}

/** What `createReadStream` returns. */
export interface VirtualReadStream extends Readable {
  readonly path: string;
}

/** What `watch` returns: fs.FSWatcher's shape. */
export interface VFSWatcher extends EventEmitter {
  close(): void;
  unref(): this;
  ref(): this;
}

/** One event of `promises.watch`. */
export interface VfsWatchAsyncEvent {
  eventType: string;
  filename: string;
}

/** What `promises.watch` returns. */
export interface VFSWatchAsyncIterable extends AsyncIterable<VfsWatchAsyncEvent> {
  next(): Promise<IteratorResult<VfsWatchAsyncEvent>>;
  return(): Promise<IteratorResult<VfsWatchAsyncEvent>>;
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
  addListener(listener: VfsStatListener): void;
  removeListener(listener: VfsStatListener): boolean;
  on(eventName: string | symbol, listener: VfsEmitterListener): this;
  once(eventName: string | symbol, listener: VfsEmitterListener): this;
  off(eventName: string | symbol, listener: VfsEmitterListener): this;
  prependListener(eventName: string | symbol, listener: VfsEmitterListener): this;
  prependOnceListener(eventName: string | symbol, listener: VfsEmitterListener): this;
  removeAllListeners(eventName?: string | symbol): this;
  setMaxListeners(n: number): this;
  hasNoListeners(): boolean;
  stop(): void;
  unref(): this;
  ref(): this;
}

/** The promise API of a {@link VirtualFileSystem}. */
export interface VFSPromisesAPI {
  readFile(filePath: string, options?: { encoding?: null } | null): Promise<Buffer>;
  readFile(filePath: string, options: BufferEncoding | { encoding: BufferEncoding }): Promise<string>;
  readFile(
    filePath: string,
    options?: BufferEncoding | { encoding?: BufferEncoding | null } | null,
  ): Promise<Buffer | string>;
  writeFile(
    filePath: string,
    data: string | Buffer,
    options?: { encoding?: BufferEncoding; mode?: number } | BufferEncoding,
  ): Promise<void>;
  appendFile(
    filePath: string,
    data: string | Buffer,
    options?: { encoding?: BufferEncoding; mode?: number } | BufferEncoding,
  ): Promise<void>;
  stat(filePath: string, options?: VfsStatOptions): Promise<VirtualStats>;
  lstat(filePath: string, options?: VfsStatOptions): Promise<VirtualStats>;
  readdir(dirPath: string, options?: VfsReaddirOptions & { withFileTypes?: false }): Promise<string[]>;
  readdir(dirPath: string, options: VfsReaddirOptions & { withFileTypes: true }): Promise<VirtualDirent[]>;
  readdir(dirPath: string, options?: VfsReaddirOptions): Promise<string[] | VirtualDirent[]>;
  mkdir(dirPath: string, options?: VfsMkdirOptions): Promise<string | undefined>;
  rmdir(dirPath: string): Promise<void>;
  unlink(filePath: string): Promise<void>;
  rename(oldPath: string, newPath: string): Promise<void>;
  copyFile(src: string, dest: string, mode?: number): Promise<void>;
  realpath(filePath: string, options?: { encoding?: BufferEncoding }): Promise<string>;
  readlink(linkPath: string, options?: { encoding?: BufferEncoding }): Promise<string>;
  symlink(target: string, path: string, type?: string): Promise<void>;
  access(filePath: string, mode?: number): Promise<void>;
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
  readonly provider: VirtualProvider;
  readonly mountPoint: string | null;
  readonly mounted: boolean;
  readonly readonly: boolean;
  readonly overlay: boolean;
  readonly virtualCwdEnabled: boolean;

  cwd(): string;
  chdir(dirPath: string): void;
  resolvePath(inputPath: string): string;

  mount(prefix: string): this;
  unmount(): void;
  [Symbol.dispose](): void;

  shouldHandle(inputPath: string): boolean;

  existsSync(filePath: string): boolean;
  statSync(filePath: string, options?: VfsStatOptions): VirtualStats;
  lstatSync(filePath: string, options?: VfsStatOptions): VirtualStats;
  readFileSync(filePath: string, options?: { encoding?: null } | null): Buffer;
  readFileSync(filePath: string, options: BufferEncoding | { encoding: BufferEncoding }): string;
  readFileSync(
    filePath: string,
    options?: BufferEncoding | { encoding?: BufferEncoding | null } | null,
  ): Buffer | string;
  writeFileSync(
    filePath: string,
    data: string | Buffer,
    options?: { encoding?: BufferEncoding; mode?: number } | BufferEncoding,
  ): void;
  appendFileSync(
    filePath: string,
    data: string | Buffer,
    options?: { encoding?: BufferEncoding; mode?: number } | BufferEncoding,
  ): void;
  readdirSync(dirPath: string, options?: VfsReaddirOptions & { withFileTypes?: false }): string[];
  readdirSync(dirPath: string, options: VfsReaddirOptions & { withFileTypes: true }): VirtualDirent[];
  readdirSync(dirPath: string, options?: VfsReaddirOptions): string[] | VirtualDirent[];
  mkdirSync(dirPath: string, options?: VfsMkdirOptions): string | undefined;
  rmdirSync(dirPath: string): void;
  unlinkSync(filePath: string): void;
  renameSync(oldPath: string, newPath: string): void;
  copyFileSync(src: string, dest: string, mode?: number): void;
  realpathSync(filePath: string, options?: { encoding?: BufferEncoding }): string;
  readlinkSync(linkPath: string, options?: { encoding?: BufferEncoding }): string;
  symlinkSync(target: string, path: string, type?: string): void;
  accessSync(filePath: string, mode?: number): void;

  openSync(filePath: string, flags?: string, mode?: number): number;
  closeSync(fd: number): void;
  readSync(fd: number, buffer: Buffer, offset: number, length: number, position: number | null): number;
  fstatSync(fd: number, options?: VfsStatOptions): VirtualStats;

  readFile(filePath: string, callback: VfsCallback<Buffer>): void;
  readFile(
    filePath: string,
    options: BufferEncoding | { encoding: BufferEncoding },
    callback: VfsCallback<string>,
  ): void;
  readFile(
    filePath: string,
    options: { encoding?: BufferEncoding | null } | null | undefined,
    callback: VfsCallback<Buffer | string>,
  ): void;
  writeFile(filePath: string, data: string | Buffer, callback: VfsCallback): void;
  writeFile(
    filePath: string,
    data: string | Buffer,
    options: { encoding?: BufferEncoding; mode?: number } | BufferEncoding,
    callback: VfsCallback,
  ): void;
  stat(filePath: string, callback: VfsCallback<VirtualStats>): void;
  stat(filePath: string, options: VfsStatOptions, callback: VfsCallback<VirtualStats>): void;
  lstat(filePath: string, callback: VfsCallback<VirtualStats>): void;
  lstat(filePath: string, options: VfsStatOptions, callback: VfsCallback<VirtualStats>): void;
  readdir(dirPath: string, callback: VfsCallback<string[]>): void;
  readdir(
    dirPath: string,
    options: VfsReaddirOptions & { withFileTypes: true },
    callback: VfsCallback<VirtualDirent[]>,
  ): void;
  readdir(dirPath: string, options: VfsReaddirOptions, callback: VfsCallback<string[] | VirtualDirent[]>): void;
  realpath(filePath: string, callback: VfsCallback<string>): void;
  realpath(filePath: string, options: { encoding?: BufferEncoding }, callback: VfsCallback<string>): void;
  readlink(linkPath: string, callback: VfsCallback<string>): void;
  readlink(linkPath: string, options: { encoding?: BufferEncoding }, callback: VfsCallback<string>): void;
  access(filePath: string, callback: VfsCallback): void;
  access(filePath: string, mode: number, callback: VfsCallback): void;
  open(filePath: string, callback: VfsCallback<number>): void;
  open(filePath: string, flags: string, callback: VfsCallback<number>): void;
  open(filePath: string, flags: string, mode: number, callback: VfsCallback<number>): void;
  close(fd: number, callback: VfsCallback): void;
  read(
    fd: number,
    buffer: Buffer,
    offset: number,
    length: number,
    position: number | null,
    callback: (err: NodeJS.ErrnoException | null, bytesRead: number, buffer: Buffer) => void,
  ): void;
  fstat(fd: number, callback: VfsCallback<VirtualStats>): void;
  fstat(fd: number, options: VfsStatOptions, callback: VfsCallback<VirtualStats>): void;

  createReadStream(filePath: string, options?: VfsReadStreamOptions): VirtualReadStream;

  watch(
    filePath: string,
    options?: VfsWatchOptions,
    listener?: (eventType: string, filename: string) => void,
  ): VFSWatcher;
  watch(filePath: string, listener?: (eventType: string, filename: string) => void): VFSWatcher;
  watchFile(filePath: string, options?: VfsWatchFileOptions, listener?: VfsStatListener): VFSStatWatcher;
  watchFile(filePath: string, listener?: VfsStatListener): VFSStatWatcher;
  unwatchFile(filePath: string, listener?: VfsStatListener): void;

  readonly promises: VFSPromisesAPI;
}

/** What a {@link VirtualFileSystem} asks of its provider. */
export interface VirtualProvider {
  readonly readonly: boolean;
  readonly supportsSymlinks: boolean;
  readonly supportsWatch: boolean;

  open(path: string, flags?: string, mode?: number): Promise<unknown>;
  openSync(path: string, flags?: string, mode?: number): unknown;
  stat(path: string, options?: VfsStatOptions): Promise<VirtualStats>;
  statSync(path: string, options?: VfsStatOptions): VirtualStats;
  lstat(path: string, options?: VfsStatOptions): Promise<VirtualStats>;
  lstatSync(path: string, options?: VfsStatOptions): VirtualStats;
  readdir(path: string, options?: VfsReaddirOptions): Promise<string[] | VirtualDirent[]>;
  readdirSync(path: string, options?: VfsReaddirOptions): string[] | VirtualDirent[];
  mkdir(path: string, options?: VfsMkdirOptions): Promise<string | undefined>;
  mkdirSync(path: string, options?: VfsMkdirOptions): string | undefined;
  rmdir(path: string): Promise<void>;
  rmdirSync(path: string): void;
  unlink(path: string): Promise<void>;
  unlinkSync(path: string): void;
  rename(oldPath: string, newPath: string): Promise<void>;
  renameSync(oldPath: string, newPath: string): void;

  readFile(
    path: string,
    options?: BufferEncoding | { encoding?: BufferEncoding | null } | null,
  ): Promise<Buffer | string>;
  readFileSync(path: string, options?: BufferEncoding | { encoding?: BufferEncoding | null } | null): Buffer | string;
  writeFile(
    path: string,
    data: string | Buffer,
    options?: { encoding?: BufferEncoding; mode?: number } | BufferEncoding,
  ): Promise<void>;
  writeFileSync(
    path: string,
    data: string | Buffer,
    options?: { encoding?: BufferEncoding; mode?: number } | BufferEncoding,
  ): void;
  appendFile(
    path: string,
    data: string | Buffer,
    options?: { encoding?: BufferEncoding; mode?: number } | BufferEncoding,
  ): Promise<void>;
  appendFileSync(
    path: string,
    data: string | Buffer,
    options?: { encoding?: BufferEncoding; mode?: number } | BufferEncoding,
  ): void;
  exists(path: string): Promise<boolean>;
  existsSync(path: string): boolean;
  copyFile(src: string, dest: string, mode?: number): Promise<void>;
  copyFileSync(src: string, dest: string, mode?: number): void;
  internalModuleStat(path: string): number;
  realpath(path: string, options?: { encoding?: BufferEncoding }): Promise<string>;
  realpathSync(path: string, options?: { encoding?: BufferEncoding }): string;
  access(path: string, mode?: number): Promise<void>;
  accessSync(path: string, mode?: number): void;

  readlink(path: string, options?: { encoding?: BufferEncoding }): Promise<string>;
  readlinkSync(path: string, options?: { encoding?: BufferEncoding }): string;
  symlink(target: string, path: string, type?: string): Promise<void>;
  symlinkSync(target: string, path: string, type?: string): void;

  watch(path: string, options?: VfsWatchOptions): VFSWatcher;
  watchAsync(path: string, options?: VfsWatchOptions): VFSWatchAsyncIterable;
  watchFile(path: string, options?: VfsWatchFileOptions, listener?: VfsStatListener): VFSStatWatcher;
  unwatchFile(path: string, listener?: VfsStatListener): void;
}

/** @platformatic/vfs's `create`: a {@link VirtualFileSystem} over `provider` (in memory without one). */
export interface CreateVfs {
  (options?: VFSOptions): VirtualFileSystem;
  (provider: VirtualProvider, options?: VFSOptions): VirtualFileSystem;
}

/** @platformatic/vfs's `create`, from dofs's own copy of the package. */
export const create = upstream.create as unknown as CreateVfs;

/** @platformatic/vfs's provider base class, from dofs's own copy (what its `instanceof` checks). */
export const VirtualProvider = upstream.VirtualProvider as unknown as abstract new () => VirtualProvider;
