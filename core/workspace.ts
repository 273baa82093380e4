/**
 * `Workspace`: a thin object facade over the primitives, for callers who prefer methods to
 * functions of a `Database`. Every method is the primitive of the same name.
 *
 * @module
 */
import type { StorageBackend } from './backend.ts';
import type { ByteSource, FileData } from './data.ts';
import { Database, type DatabaseOptions } from './database.ts';
import {
  chmod,
  chown,
  exists,
  lchown,
  lstat,
  lutimes,
  type StatInfo,
  stat,
  type TimeLike,
  utimes,
} from './fs/attributes.ts';
import { diffSnapshots, type SnapshotDiffEntry } from './fs/diff.ts';
import { type DirEntry, type MkdirOptions, mkdir, type ReaddirOptions, readdir, rmdir } from './fs/directories.ts';
import {
  appendFile,
  type ByteRange,
  type CopyFileOptions,
  copyFile,
  readFile,
  readFileStream,
  truncate,
  type WriteFileOptions,
  writeFile,
} from './fs/files.ts';
import { link, readlink, realpath, symlink } from './fs/links.ts';
import {
  type GcOptions,
  type GcResult,
  type GcStepOptions,
  type GcStepResult,
  gc,
  gcStep,
  type Usage,
  usage,
} from './fs/maintenance.ts';
import { type RmOptions, rm, unlink } from './fs/remove.ts';
import { rename } from './fs/rename.ts';
import { type FindOptions, find, type GrepMatch, type GrepOptions, grep, ls } from './fs/search.ts';
import {
  deleteSnapshot,
  listSnapshots,
  type RestoreResult,
  restore,
  type SnapshotInfo,
  snapshot,
  snapshotView,
} from './fs/snapshots.ts';
import { allocate, seekData, seekHole } from './fs/sparse.ts';
import { mknod } from './fs/special.ts';
import { type WatchEvent, type Watcher, type WatchOptions, watch } from './fs/watch.ts';
import { type FsckOptions, type FsckReport, fsck } from './fsck.ts';
import { initializeSchema, type SchemaOptions } from './schema.ts';

/** Options for {@link openWorkspace}. */
export interface WorkspaceOptions extends DatabaseOptions, SchemaOptions {}

/** Opens (creating or migrating as needed) the workspace stored in `backend`. */
export function openWorkspace(backend: StorageBackend, options: WorkspaceOptions | null = {}): Workspace {
  options ??= {};
  const db = new Database(backend, options);
  initializeSchema(db, db.now, options);
  return new Workspace(db);
}

/** An open workspace with the filesystem primitives as methods. */
export class Workspace {
  /** The handle every primitive takes; use it with the functions exported beside this class. */
  readonly db: Database;

  constructor(db: Database) {
    this.db = db;
  }

  /** See {@link mkdir}. */
  mkdir(path: string, options?: MkdirOptions): string | undefined {
    return mkdir(this.db, path, options);
  }
  /** See {@link rmdir}. */
  rmdir(path: string): void {
    rmdir(this.db, path);
  }
  /** See {@link readdir}. */
  readdir(path: string, options?: ReaddirOptions): DirEntry[] {
    return readdir(this.db, path, options);
  }
  /** See {@link writeFile}. */
  writeFile(path: string, data: FileData, options?: WriteFileOptions): void;
  writeFile(path: string, data: ByteSource, options?: WriteFileOptions): Promise<void>;
  writeFile(path: string, data: FileData | ByteSource, options?: WriteFileOptions): void | Promise<void> {
    return writeFile(this.db, path, data as FileData, options);
  }
  /** See {@link readFile}. */
  readFile(path: string): Uint8Array;
  readFile(path: string, encoding: 'utf8' | 'utf-8'): string;
  readFile(path: string, range: ByteRange): Uint8Array;
  readFile(path: string, options?: 'utf8' | 'utf-8' | ByteRange): Uint8Array | string {
    return readFile(this.db, path, options as ByteRange);
  }
  /** See {@link readFileStream}. */
  readFileStream(path: string, range?: ByteRange): ReadableStream<Uint8Array> {
    return readFileStream(this.db, path, range);
  }
  /** See {@link appendFile}. */
  appendFile(path: string, data: FileData, options?: { mode?: number }): void {
    appendFile(this.db, path, data, options);
  }
  /** See {@link truncate}. */
  truncate(path: string, length?: number): void {
    truncate(this.db, path, length);
  }
  /** See {@link seekData}. */
  seekData(path: string, offset: number): number {
    return seekData(this.db, path, offset);
  }
  /** See {@link seekHole}. */
  seekHole(path: string, offset: number): number {
    return seekHole(this.db, path, offset);
  }
  /** See {@link allocate}. */
  allocate(path: string, offset: number, length: number, mode?: number): void {
    allocate(this.db, path, offset, length, mode);
  }
  /** See {@link copyFile}. */
  copyFile(source: string, destination: string, options?: CopyFileOptions): void {
    copyFile(this.db, source, destination, options);
  }
  /** See {@link rm}. */
  rm(path: string, options?: RmOptions): void {
    rm(this.db, path, options);
  }
  /** See {@link unlink}. */
  unlink(path: string): void {
    unlink(this.db, path);
  }
  /** See {@link rename}. */
  rename(from: string, to: string): void {
    rename(this.db, from, to);
  }
  /** See {@link stat}. */
  stat(path: string): StatInfo {
    return stat(this.db, path);
  }
  /** See {@link lstat}. */
  lstat(path: string): StatInfo {
    return lstat(this.db, path);
  }
  /** See {@link exists}. */
  exists(path: string): boolean {
    return exists(this.db, path);
  }
  /** See {@link chmod}. */
  chmod(path: string, mode: number): void {
    chmod(this.db, path, mode);
  }
  /** See {@link chown}. */
  chown(path: string, uid: number | undefined, gid: number | undefined): void {
    chown(this.db, path, uid, gid);
  }
  /** See {@link lchown}. */
  lchown(path: string, uid: number | undefined, gid: number | undefined): void {
    lchown(this.db, path, uid, gid);
  }
  /** See {@link mknod}. */
  mknod(path: string, mode: number, rdev?: number): void {
    mknod(this.db, path, mode, rdev);
  }
  /** See {@link utimes}. */
  utimes(path: string, atime: TimeLike, mtime: TimeLike): void {
    utimes(this.db, path, atime, mtime);
  }
  /** See {@link lutimes}. */
  lutimes(path: string, atime: TimeLike, mtime: TimeLike): void {
    lutimes(this.db, path, atime, mtime);
  }
  /** See {@link symlink}. */
  symlink(target: string, path: string): void {
    symlink(this.db, target, path);
  }
  /** See {@link readlink}. */
  readlink(path: string): string {
    return readlink(this.db, path);
  }
  /** See {@link link}. */
  link(existing: string, path: string): void {
    link(this.db, existing, path);
  }
  /** See {@link realpath}. */
  realpath(path: string): string {
    return realpath(this.db, path);
  }
  /** See {@link find}. */
  find(dir: string, pattern: string, options?: FindOptions): string[] {
    return find(this.db, dir, pattern, options);
  }
  /** See {@link ls}. */
  ls(prefix?: string): string[] {
    return ls(this.db, prefix);
  }
  /** See {@link grep}. */
  grep(pattern: string, path: string, options?: GrepOptions): GrepMatch[] {
    return grep(this.db, pattern, path, options);
  }
  /** See {@link watch}. */
  watch(path: string, options?: WatchOptions, listener?: (event: WatchEvent) => void): Watcher {
    return watch(this.db, path, options, listener);
  }
  /**
   * Records the whole workspace as it is now, in constant time (see {@link snapshot}).
   * @param name Unique name, 1 to 255 bytes without `/`; default `snapshot-<id>`.
   */
  snapshot(name?: string): SnapshotInfo {
    return snapshot(this.db, name);
  }
  /** Every retained snapshot, oldest first (see {@link listSnapshots}). */
  snapshots(): SnapshotInfo[] {
    return listSnapshots(this.db);
  }
  /** Deletes a snapshot; the next gc frees what only it held (see {@link deleteSnapshot}). */
  deleteSnapshot(name: string): void {
    deleteSnapshot(this.db, name);
  }
  /**
   * The workspace as snapshot `name` saw it, as a read-only `Workspace`: every read method works,
   * every mutation is EROFS (see {@link snapshotView}).
   */
  atSnapshot(name: string): Workspace {
    return new Workspace(snapshotView(this.db, name));
  }
  /**
   * Returns the workspace to snapshot `name` in one transaction, after taking a snapshot that
   * undoes it (see {@link restore}).
   */
  restore(name: string): RestoreResult {
    return restore(this.db, name);
  }
  /**
   * Paths added, removed and changed from snapshot `from` to snapshot `to`, or to now (see
   * {@link diffSnapshots}).
   */
  diff(from: string, to?: string): SnapshotDiffEntry[] {
    return diffSnapshots(this.db, from, to);
  }
  /** See {@link gcStep}. */
  gcStep(options?: GcStepOptions): GcStepResult {
    return gcStep(this.db, options);
  }
  /** See {@link gc}. */
  gc(options?: GcOptions): GcResult {
    return gc(this.db, options);
  }
  /** See {@link usage}. */
  usage(): Usage {
    return usage(this.db);
  }
  /** See {@link fsck}. */
  fsck(options?: FsckOptions): FsckReport {
    return fsck(this.db, options);
  }
  /** Closes the workspace and its backend. */
  close(): void {
    this.db.close();
  }
}
