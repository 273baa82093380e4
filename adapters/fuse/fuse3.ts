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
export const APT_INSTALL = 'apt-get update && apt-get install -y fuse3 libfuse3-dev pkg-config build-essential';

/** FUSE cannot be used here; the message says what to install or fix. */
export class FuseUnavailableError extends Error {
  readonly code = 'ENODEV';
  constructor(message: string) {
    super(message);
    this.name = 'FuseUnavailableError';
  }
}

/** statvfs figures as the addon sends them. */
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
  /** Who asks. */
  uid: number;
  gid: number;
  pid: number;
  umask: number;
  name?: string;
  newName?: string;
  target?: string;
  newParent?: number;
  nlookup?: number;
  /** forget_multi: inode, count, inode, count, … */
  forgets?: number[];
  fh?: number;
  flags?: number;
  mode?: number;
  rdev?: number;
  size?: number;
  offset?: number;
  data?: Buffer;
  toSet?: number;
  setUid?: number;
  setGid?: number;
  /** setattr's times in milliseconds; NaN: now. */
  atime?: number;
  mtime?: number;
  datasync?: number;
  /** lseek: SEEK_DATA (3) or SEEK_HOLE (4); the kernel answers SEEK_SET, SEEK_CUR and SEEK_END itself. */
  whence?: number;
}

/** Doubles per attribute record: ino, mode, nlink, uid, gid, rdev, size, blocks, atimeMs, mtimeMs, ctimeMs, blksize, entry timeout, attr timeout, generation. */
export const ATTR_FIELDS = 15;

/** The addon's exports. */
export interface Fuse3Addon {
  /** Mounts and starts serving; `onBatch` receives every waiting request at each wake-up. */
  mount(mountpoint: string, args: string[], writeback: boolean, onBatch: (batch: LowLevelRequest[]) => void): unknown;
  /** After the batch holding `end`: joins the threads and frees the session. */
  close(session: unknown): void;
  replyErr(req: number, errno: number): number;
  replyEntry(req: number, attr: Float64Array): number;
  replyCreate(req: number, attr: Float64Array, fh: number): number;
  replyAttr(req: number, attr: Float64Array): number;
  replyOpen(req: number, fh: number, keepCache: boolean): number;
  replyBuf(req: number, bytes: Uint8Array, length: number): number;
  replyWrite(req: number, count: number): number;
  replyReadlink(req: number, target: string): number;
  /** Answers lseek with the offset found. */
  replyLseek(req: number, offset: number): number;
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
      `the libfuse 3 addon is not built (${ADDON_PATH}); install what it needs (${APT_INSTALL}) then run 'npm rebuild dofs-sqlite' in the project that installed it (in a clone of dofs: 'npm run postinstall')`,
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
