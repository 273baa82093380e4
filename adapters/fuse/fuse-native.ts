/**
 * Loading `fuse-native` (a CommonJS addon without types) and adapting it: typed operations, our
 * own mount option string, and a working fgetattr (2.2.6 routes fgetattr to getattr and drops the
 * file handle). Loading fails with a {@link FuseUnavailableError} that says what to install.
 *
 * @module
 */

import { createRequire } from 'node:module';
import { dirname } from 'node:path';

/** A stat as fuse-native takes it: numbers, times in milliseconds. */
export interface FuseStat {
  mode: number;
  uid: number;
  gid: number;
  size: number;
  dev: number;
  nlink: number;
  ino: number;
  rdev: number;
  blksize: number;
  blocks: number;
  atime: number;
  mtime: number;
  ctime: number;
}

/** statvfs figures as fuse-native takes them (each a 32-bit unsigned number). */
export interface FuseStatfs {
  bsize: number;
  frsize: number;
  blocks: number;
  bfree: number;
  bavail: number;
  files: number;
  ffree: number;
  favail: number;
  fsid: number;
  flag: number;
  namemax: number;
}

/** A result callback: 0 or a negative errno first. read and write pass the byte count instead. */
export type FuseCallback<T = never> = (code: number, value?: T) => void;

/** The operations a filesystem implements, as fuse-native calls them (paths are absolute in the mount). */
export interface FuseOperations {
  init?(cb: FuseCallback): void;
  access?(path: string, mode: number, cb: FuseCallback): void;
  statfs?(path: string, cb: FuseCallback<FuseStatfs>): void;
  getattr?(path: string, cb: FuseCallback<FuseStat>): void;
  fgetattr?(path: string, fd: number, cb: FuseCallback<FuseStat>): void;
  flush?(path: string, fd: number, cb: FuseCallback): void;
  fsync?(path: string, datasync: number, fd: number, cb: FuseCallback): void;
  fsyncdir?(path: string, datasync: number, fd: number, cb: FuseCallback): void;
  readdir?(path: string, cb: (code: number, names?: string[], stats?: Partial<FuseStat>[]) => void): void;
  truncate?(path: string, size: number, cb: FuseCallback): void;
  ftruncate?(path: string, fd: number, size: number, cb: FuseCallback): void;
  utimens?(path: string, atime: number, mtime: number, cb: FuseCallback): void;
  readlink?(path: string, cb: FuseCallback<string>): void;
  chown?(path: string, uid: number, gid: number, cb: FuseCallback): void;
  chmod?(path: string, mode: number, cb: FuseCallback): void;
  mknod?(path: string, mode: number, dev: number, cb: FuseCallback): void;
  open?(path: string, flags: number, cb: FuseCallback<number>): void;
  read?(path: string, fd: number, buffer: Buffer, length: number, position: number, cb: (bytes: number) => void): void;
  write?(path: string, fd: number, buffer: Buffer, length: number, position: number, cb: (bytes: number) => void): void;
  release?(path: string, fd: number, cb: FuseCallback): void;
  create?(path: string, mode: number, cb: FuseCallback<number>): void;
  unlink?(path: string, cb: FuseCallback): void;
  rename?(src: string, dest: string, cb: FuseCallback): void;
  link?(src: string, dest: string, cb: FuseCallback): void;
  symlink?(target: string, path: string, cb: FuseCallback): void;
  mkdir?(path: string, mode: number, cb: FuseCallback): void;
  rmdir?(path: string, cb: FuseCallback): void;
}

/** A mounted (or mountable) fuse-native filesystem. */
export interface FuseInstance {
  readonly mnt: string;
  mount(cb: (error: Error | null) => void): void;
}

/** What {@link loadFuseNative} returns. */
export interface LoadedFuse {
  /** Creates a filesystem at `mountpoint` with `ops`, mounted with exactly `options` (`-o` items). */
  create(mountpoint: string, ops: FuseOperations, options: readonly string[]): FuseInstance;
  /** Negative errno by code name (`ENOENT` → -2). */
  errno(code: string): number | undefined;
  /** True when the addon carries the utimens fix from adapters/fuse/native/patch-fuse-native.mjs. */
  utimensFixed: boolean;
  /**
   * True when the addon tells who sent each request (patch level 4): {@link LoadedFuse.caller}
   * is then defined inside every operation.
   */
  callerKnown: boolean;
  /** The caller of the request being served (valid during an operation's synchronous run), when known. */
  caller(): FuseCaller | undefined;
  /** fuse-native's version. */
  version: string;
}

/** Who sent a FUSE request, from libfuse's fuse_get_context(). */
export interface FuseCaller {
  uid: number;
  gid: number;
  pid: number;
  /** The caller's umask (libfuse ≥ 2.8). */
  umask: number;
}

/** In utimens, with the patched addon: "set this time to now" and "leave this time alone". */
export const UTIME_NOW_MS = 2 ** 52 + 1;
/** See {@link UTIME_NOW_MS}. */
export const UTIME_OMIT_MS = 2 ** 52 + 2;

/** FUSE cannot be used here; the message says what to install or fix. */
export class FuseUnavailableError extends Error {
  readonly code = 'ENODEV';
  constructor(message: string) {
    super(message);
    this.name = 'FuseUnavailableError';
  }
}

/** The Debian/Ubuntu packages the mount needs at run time. */
export const APT_INSTALL = 'apt-get update && apt-get install -y libfuse2 fuse';

type FuseClass = (new (
  mnt: string,
  ops: FuseOperations,
  opts: Record<string, unknown>,
) => FuseInstance & {
  ops: FuseOperations;
}) &
  Record<string, unknown>;

/** The layout of fuse-native's stat array (see its getStatArray). */
export function statArray(stat?: Partial<FuseStat>): Uint32Array {
  const ints = new Uint32Array(18);
  const setDouble = (idx: number, value: number) => {
    ints[idx] = value % 4294967296;
    ints[idx + 1] = (value - ints[idx]) / 4294967296;
  };
  ints[0] = stat?.mode ?? 0;
  ints[1] = stat?.uid ?? 0;
  ints[2] = stat?.gid ?? 0;
  setDouble(3, stat?.size ?? 0);
  ints[5] = stat?.dev ?? 0;
  ints[6] = stat?.nlink ?? 1;
  ints[7] = stat?.ino ?? 0;
  ints[8] = stat?.rdev ?? 0;
  ints[9] = stat?.blksize ?? 0;
  setDouble(10, stat?.blocks ?? 0);
  setDouble(12, stat?.atime ?? 0);
  setDouble(14, stat?.mtime ?? 0);
  setDouble(16, stat?.ctime ?? 0);
  return ints;
}

let loaded: LoadedFuse | undefined;

/** Loads fuse-native once; throws {@link FuseUnavailableError} when it or libfuse is missing. */
export function loadFuseNative(): LoadedFuse {
  if (loaded) return loaded;
  const require = createRequire(import.meta.url);
  let Fuse: FuseClass;
  let dir: string;
  try {
    dir = dirname(require.resolve('fuse-native/package.json'));
    Fuse = require('fuse-native') as FuseClass;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (/libfuse\.so/.test(message)) {
      throw new FuseUnavailableError(`libfuse 2 is not installed (${firstLine(message)}); install it: ${APT_INSTALL}`);
    }
    if (/Cannot find module 'fuse-native/.test(message)) {
      throw new FuseUnavailableError(
        "the 'fuse-native' package is not installed; run 'npm install' in dofs's directory",
      );
    }
    throw new FuseUnavailableError(`fuse-native does not load: ${firstLine(message)}`);
  }
  const { version } = require('fuse-native/package.json') as { version: string };
  // The same binding object fuse-native itself loaded (node-gyp-build caches by path).
  const binding = createRequire(`${dir}/index.js`)('node-gyp-build')(dir) as Record<string, unknown>;
  const utimensFixed = binding.dofs_patch_v3 === 1;
  const callerKnown = binding.dofs_patch_v4 === 1;
  let current: FuseCaller | undefined;

  class DofsFuse extends (Fuse as unknown as new (...args: unknown[]) => { ops: FuseOperations }) {
    readonly #options: string;
    constructor(mnt: string, ops: FuseOperations, options: readonly string[]) {
      // timeout: an operation answers synchronously, so only a bug could leave one unanswered.
      super(mnt, ops, { timeout: 60_000 });
      if (callerKnown) {
        // Each request arrives with its FUSE thread's buffer, whose first 16 bytes the patched addon
        // filled with the caller; operations answer synchronously, so one variable is enough.
        const handlers = (this as unknown as { _handlers: Array<((...args: unknown[]) => unknown) | undefined> })
          ._handlers;
        handlers.forEach((handler, index) => {
          if (!handler) return;
          handlers[index] = (native: unknown, ...rest: unknown[]) => {
            const bytes = native as Uint8Array;
            const ids = new Uint32Array(bytes.buffer, bytes.byteOffset, 4);
            current = { uid: ids[0], gid: ids[1], pid: ids[2], umask: ids[3] };
            try {
              return handler(native, ...rest);
            } finally {
              current = undefined;
            }
          };
        });
      }
      this.#options = options.length > 0 ? `-o${options.join(',')}` : '';
      if (this.#options.length >= 1024) throw new Error('mount options longer than 1023 bytes');
    }
    // fuse-native's own list lacks big_writes, max_write, use_ino and others: give libfuse ours.
    _fuseOptions(): string {
      return this.#options;
    }
    // 2.2.6 calls ops.getattr from its fgetattr handler and drops the file handle.
    _op_fgetattr(signal: (code: number, stat?: Uint32Array) => void, path: string, fd: number): void {
      const ops = this.ops;
      if (!ops.fgetattr) {
        signal(-38);
        return;
      }
      ops.fgetattr(path, fd, (code, stat) => {
        if (code) signal(code);
        else signal(0, statArray(stat));
      });
    }
  }

  loaded = {
    create: (mountpoint, ops, options) => new DofsFuse(mountpoint, ops, options) as unknown as FuseInstance,
    errno: (code) => {
      const value = (Fuse as Record<string, unknown>)[code];
      return typeof value === 'number' ? value : undefined;
    },
    utimensFixed,
    callerKnown,
    caller: () => current,
    version,
  };
  return loaded;
}

function firstLine(text: string): string {
  return text.split('\n')[0];
}
