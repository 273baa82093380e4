/**
 * Loading dofs's libfuse 3 low-level addon (adapters/fuse/native/dofs-fuse3.c, built at install
 * by adapters/fuse/native/build-fuse3.mjs) and its typed surface. The addon only carries requests
 * and replies; lowlevel.ts decides everything. Loading fails with a {@link FuseUnavailableError}
 * that says what to install.
 *
 * @module
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** The Debian/Ubuntu packages the mount needs to build its addon and to run. */
export const APT_INSTALL = 'apt-get update && apt-get install -y fuse3 libfuse3-dev pkg-config build-essential python3';

/** FUSE cannot be used here; the message says what to install or fix. */
export class FuseUnavailableError extends Error {
  /** `ENODEV`, the errno of a filesystem type the system does not support. */
  readonly code = 'ENODEV';
  constructor(message: string) {
    super(message);
    this.name = 'FuseUnavailableError';
  }
}

/** statvfs figures as the addon sends them. */
export interface FuseStatfs {
  /** The block size, in bytes. */
  bsize: number;
  /** The fragment size, in bytes: the unit of `blocks`, `bfree` and `bavail`. */
  frsize: number;
  /** Size of the filesystem, in `frsize` units. */
  blocks: number;
  /** Free blocks. */
  bfree: number;
  /** Free blocks an unprivileged caller may use. */
  bavail: number;
  /** Inodes in all. */
  files: number;
  /** Free inodes. */
  ffree: number;
  /** Free inodes an unprivileged caller may use. */
  favail: number;
  /** The filesystem id. */
  fsid: number;
  /** Mount flags (`ST_RDONLY` for a read-only mount). */
  flag: number;
  /** The longest name, in bytes (255). */
  namemax: number;
}

/** Operation codes, in the order of the addon's enum. */
export const OPS = [
  'init',
  'destroy',
  'lookup',
  'forget',
  'getattr',
  'setattr',
  'readlink',
  'mknod',
  'mkdir',
  'unlink',
  'rmdir',
  'symlink',
  'rename',
  'link',
  'open',
  'read',
  'write',
  'flush',
  'release',
  'fsync',
  'opendir',
  'readdir',
  'releasedir',
  'fsyncdir',
  'statfs',
  'create',
  'readdirplus',
  'forgetMulti',
  'end',
  'fallocate',
  'lseek',
] as const;

/** One operation's name. */
export type OpName = (typeof OPS)[number];

/** One kernel request as the addon hands it over (fields beyond the first seven depend on `op`). */
export interface LowLevelRequest {
  /** Index into {@link OPS}. */
  op: number;
  /** libfuse's request pointer: what every reply names. 0 for forget (already answered). */
  req: number;
  /** The inode the request names (for lookup, mknod, mkdir, unlink, rmdir, symlink, rename, create: the parent). */
  ino: number;
  /** Who asks: the caller's user id. */
  uid: number;
  /** The caller's group id. */
  gid: number;
  /** The caller's process id. */
  pid: number;
  /** The caller's umask (for mknod, mkdir, create). */
  umask: number;
  /** The name within `ino` (lookup, mknod, mkdir, unlink, rmdir, symlink, rename, create). */
  name?: string;
  /** rename's and link's new name, within `newParent` (link's `ino` is the file linked). */
  newName?: string;
  /** symlink's target. */
  target?: string;
  /** rename's and link's destination directory inode. */
  newParent?: number;
  /** forget: how many lookups the kernel forgets. */
  nlookup?: number;
  /** forget_multi: inode, count, inode, count, … */
  forgets?: number[];
  /** The handle `open`, `opendir` or `create` replied with. */
  fh?: number;
  /** open's and create's open flags (O_*); rename's RENAME_* flags. */
  flags?: number;
  /** The mode of mknod, mkdir and create, or setattr's new mode; fallocate's FALLOC_FL_* mode. */
  mode?: number;
  /** mknod's device number. */
  rdev?: number;
  /** Bytes: to read, of a readdir buffer, setattr's new size, or fallocate's length. */
  size?: number;
  /** The byte offset of read, write, fallocate and lseek; the position of readdir. */
  offset?: number;
  /** write's bytes. */
  data?: Buffer;
  /** setattr's FUSE_SET_ATTR_* bits: which of mode, uid, gid, size, atime and mtime to set. */
  toSet?: number;
  /** setattr's new owner. */
  setUid?: number;
  /** setattr's new group. */
  setGid?: number;
  /** setattr's access time in milliseconds; NaN: now. */
  atime?: number;
  /** setattr's modification time in milliseconds; NaN: now. */
  mtime?: number;
  /** fsync and fsyncdir: non-zero to sync data only. */
  datasync?: number;
  /** lseek: SEEK_DATA (3) or SEEK_HOLE (4); the kernel answers SEEK_SET, SEEK_CUR and SEEK_END itself. */
  whence?: number;
}

/** Doubles per attribute record: ino, mode, nlink, uid, gid, rdev, size, blocks, atimeMs, mtimeMs, ctimeMs, blksize, entry timeout, attr timeout, generation. */
export const ATTR_FIELDS = 15;

/** The addon's exports. */
export interface Fuse3Addon {
  /**
   * Mounts and starts serving; `onBatch` receives every waiting request at each wake-up, encoded
   * (see requests.ts `decodeBatch`), whether they were caught while busy waiting, and the
   * microseconds spent busy waiting since the last batch. After each batch the addon keeps reading
   * for up to `busyWaitMicroseconds` (0: none) before the event loop sleeps.
   */
  mount(
    mountpoint: string,
    args: string[],
    writeback: boolean,
    onBatch: (
      numbers: Float64Array,
      refs: unknown[],
      caughtBusyWaiting: boolean,
      busyWaitedMicroseconds: number,
    ) => void,
    busyWaitMicroseconds: number,
  ): unknown;
  /** After the batch holding `end`: joins the threads and frees the session. */
  close(session: unknown): void;
  /** Answers with an errno (0: success without data). Every reply returns libfuse's result: 0, or a negative errno when the kernel did not take it. */
  replyErr(req: number, errno: number): number;
  /** Answers lookup, mknod, mkdir, symlink and link with one attribute record ({@link ATTR_FIELDS} doubles). */
  replyEntry(req: number, attr: Float64Array): number;
  /** Answers create with the new file's attribute record and its handle. */
  replyCreate(req: number, attr: Float64Array, fh: number): number;
  /** Answers getattr and setattr with an attribute record. */
  replyAttr(req: number, attr: Float64Array): number;
  /** Answers open and opendir with a handle; `keepCache` keeps the kernel's cached pages of the file. */
  replyOpen(req: number, fh: number, keepCache: boolean): number;
  /** Answers read (and getxattr-like requests) with the first `length` bytes of `bytes`. */
  replyBuf(req: number, bytes: Uint8Array, length: number): number;
  /** Answers write with the bytes written. */
  replyWrite(req: number, count: number): number;
  /** Answers readlink with the symlink's target. */
  replyReadlink(req: number, target: string): number;
  /** Answers lseek with the offset found. */
  replyLseek(req: number, offset: number): number;
  /** Answers statfs with the figures of a {@link FuseStatfs}, in its field order. */
  replyStatfs(req: number, figures: Float64Array): number;
  /** Packs entries until `size` is full; returns how many went out. */
  replyDir(req: number, size: number, names: string[], attrs: Float64Array, firstOffset: number, plus: boolean): number;
  /** Queues an invalidation of an inode's attributes and pages (`offset` -1: attributes only). */
  invalInode(session: unknown, ino: number, offset: number, length: number): void;
  /** Queues an invalidation of a cached name. */
  invalEntry(session: unknown, parent: number, name: string): void;
}

/**
 * Where the install-time build puts the addon: beside this module's source
 * (`adapters/fuse/native/build/Release`), which the compiled `dist/adapters/fuse/` finds three
 * levels up.
 */
export const ADDON_PATH = [
  './native/build/Release/dofs_fuse3.node',
  '../../../adapters/fuse/native/build/Release/dofs_fuse3.node',
]
  .map((relative) => fileURLToPath(new URL(relative, import.meta.url)))
  .reduce((found, candidate) => (existsSync(found) ? found : candidate));

let loaded: Fuse3Addon | undefined;

/** Loads the addon once; throws {@link FuseUnavailableError} saying what to install or run. */
export function loadFuse3(): Fuse3Addon {
  if (loaded) return loaded;
  if (!existsSync(ADDON_PATH)) {
    throw new FuseUnavailableError(
      `the libfuse 3 addon is not built (${ADDON_PATH}); install what it needs (${APT_INSTALL}) then run 'npm install-scripts approve dofs-sqlite && npm rebuild dofs-sqlite' in the project that installed it (npm 12 skips the build until a project approves it; in a clone of dofs: 'npm run postinstall')`,
    );
  }
  try {
    loaded = createRequire(import.meta.url)(ADDON_PATH) as Fuse3Addon;
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    if (/libfuse3\.so/.test(message)) {
      throw new FuseUnavailableError(`libfuse 3 is not installed (${message}); install it: ${APT_INSTALL}`);
    }
    throw new FuseUnavailableError(`the libfuse 3 addon does not load: ${message}`);
  }
  return loaded;
}
