/**
 * The runtime's own `fs.Stats` and `fs.Dirent` classes, so that `instanceof fs.Stats` holds for what
 * this module returns. They are taken from `process.getBuiltinModule('node:fs')` (Node 22.3+, and
 * workerd with `nodejs_compat`) without importing node:fs, so nothing breaks where it is missing:
 * there the adapter's own look-alikes (`WorkspaceStats`, `WorkspaceDirent`) stand in. Only the
 * classes are used; the runtime's filesystem is never touched.
 *
 * @module
 */
import { Buffer } from 'node:buffer';
import type { NodeType } from '../../core/index.ts';
import { WorkspaceDirent } from '../vfs/dirent.ts';
import { O } from '../vfs/flags.ts';
import type { WorkspaceBigIntStats, WorkspaceStats } from '../vfs/stats.ts';

interface HostFs {
  Stats?: { prototype: object };
  Dirent?: new (name: string | Buffer, type: number, parentPath: string) => object;
  constants?: Record<string, number>;
}

const host: HostFs | undefined = (() => {
  try {
    const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
    return proc?.getBuiltinModule?.('node:fs') as HostFs | undefined;
  } catch {
    return undefined;
  }
})();

/** libuv's dirent types, as node's Dirent takes them. */
export const UV_DIRENT = { file: 1, dir: 2, symlink: 3, fifo: 4, socket: 5, chardev: 6, blockdev: 7 } as const;

/** The runtime's `fs.Stats`, when it has one. */
export const HostStats = host?.Stats as (abstract new (...args: never[]) => object) | undefined;

/** The runtime's `fs.Dirent`, when it has one and it is constructible as `(name, type, parentPath)`. */
export const HostDirent: HostFs['Dirent'] = (() => {
  try {
    const Dirent = host?.Dirent;
    if (!Dirent) return undefined;
    const probe = new Dirent('probe', UV_DIRENT.symlink, '/') as { isSymbolicLink?: () => boolean };
    return probe.isSymbolicLink?.() ? Dirent : undefined;
  } catch {
    return undefined;
  }
})();

// Order and names as node's Stats has them, so `Object.keys` matches a real one.
const FIELDS = [
  'dev',
  'mode',
  'nlink',
  'uid',
  'gid',
  'rdev',
  'blksize',
  'ino',
  'size',
  'blocks',
  'atimeMs',
  'mtimeMs',
  'ctimeMs',
  'birthtimeMs',
] as const;

const TIMES = ['atime', 'mtime', 'ctime', 'birthtime'] as const;

// Node computes the Date fields lazily from a getter on the prototype; workerd's Stats has none.
const lazyDates = HostStats
  ? typeof Object.getOwnPropertyDescriptor(HostStats.prototype, 'atime')?.get === 'function'
  : false;

/** The Stats a caller of node:fs expects: an `fs.Stats` where the runtime has the class. BigInt stats pass unchanged. */
export function toNodeStats(stats: WorkspaceStats | WorkspaceBigIntStats): WorkspaceStats {
  if (!HostStats || typeof stats.ino === 'bigint') return stats as WorkspaceStats;
  const out = Object.create(HostStats.prototype) as Record<string, unknown>;
  for (const field of FIELDS) out[field] = stats[field];
  if (!lazyDates) for (const time of TIMES) out[time] = new Date(stats[`${time}Ms`] as number);
  return out as unknown as WorkspaceStats;
}

/** A directory entry: the runtime's `fs.Dirent` where it can be made, else {@link WorkspaceDirent}. */
export function makeDirent(name: string | Buffer, type: NodeType, parentPath: string): WorkspaceDirent {
  if (HostDirent) return new HostDirent(name, UV_DIRENT[type], parentPath) as WorkspaceDirent;
  return new WorkspaceDirent(name as string, type, parentPath);
}

/** The class `fs.Dirent` names: the runtime's, or the stand-in. */
export const DirentClass = (HostDirent ?? WorkspaceDirent) as unknown as typeof WorkspaceDirent;

/**
 * `fs.constants` with the open flags this adapter decodes (the host platform's numbering, as
 * flags.ts uses), and Linux's values for the rest.
 */
export const constants: Readonly<Record<string, number>> = Object.freeze({
  UV_FS_SYMLINK_DIR: 1,
  UV_FS_SYMLINK_JUNCTION: 2,
  O_RDONLY: O.RDONLY,
  O_WRONLY: O.WRONLY,
  O_RDWR: O.RDWR,
  UV_DIRENT_UNKNOWN: 0,
  UV_DIRENT_FILE: 1,
  UV_DIRENT_DIR: 2,
  UV_DIRENT_LINK: 3,
  UV_DIRENT_FIFO: 4,
  UV_DIRENT_SOCKET: 5,
  UV_DIRENT_CHAR: 6,
  UV_DIRENT_BLOCK: 7,
  S_IFMT: 0o170000,
  S_IFREG: 0o100000,
  S_IFDIR: 0o040000,
  S_IFCHR: 0o020000,
  S_IFBLK: 0o060000,
  S_IFIFO: 0o010000,
  S_IFLNK: 0o120000,
  S_IFSOCK: 0o140000,
  O_CREAT: O.CREAT,
  O_EXCL: O.EXCL,
  UV_FS_O_FILEMAP: 0,
  UV_FS_O_TEMPORARY: 0,
  UV_FS_O_SHORT_LIVED: 0,
  UV_FS_O_SEQUENTIAL: 0,
  UV_FS_O_RANDOM: 0,
  O_NOCTTY: 0o400,
  O_TRUNC: O.TRUNC,
  O_APPEND: O.APPEND,
  O_DIRECTORY: O.DIRECTORY,
  O_NOATIME: 0o1000000,
  O_NOFOLLOW: O.NOFOLLOW,
  O_SYNC: O.SYNC,
  O_DSYNC: 0o10000,
  O_DIRECT: 0o40000,
  O_NONBLOCK: 0o4000,
  S_IRWXU: 0o700,
  S_IRUSR: 0o400,
  S_IWUSR: 0o200,
  S_IXUSR: 0o100,
  S_IRWXG: 0o70,
  S_IRGRP: 0o40,
  S_IWGRP: 0o20,
  S_IXGRP: 0o10,
  S_IRWXO: 0o7,
  S_IROTH: 0o4,
  S_IWOTH: 0o2,
  S_IXOTH: 0o1,
  F_OK: 0,
  R_OK: 4,
  W_OK: 2,
  X_OK: 1,
  UV_FS_COPYFILE_EXCL: 1,
  COPYFILE_EXCL: 1,
  UV_FS_COPYFILE_FICLONE: 2,
  COPYFILE_FICLONE: 2,
  UV_FS_COPYFILE_FICLONE_FORCE: 4,
  COPYFILE_FICLONE_FORCE: 4,
});

/** Bytes of a Buffer-encoded name or path, or the string itself. */
export function encodeName(name: string, encoding: unknown): string | Buffer {
  if (encoding === 'buffer') return Buffer.from(name);
  if (encoding === undefined || encoding === null || encoding === 'utf8' || encoding === 'utf-8') return name;
  return Buffer.from(name).toString(encoding as BufferEncoding);
}
