/**
 * node-shaped Stats built from the engine's StatInfo. Only the package root of @platformatic/vfs
 * is importable, so this class mirrors node's `fs.Stats` (and `BigIntStats` on request) itself.
 *
 * @module
 */
import {
  BLOCK_SIZE,
  S_IFBLK,
  S_IFCHR,
  S_IFDIR,
  S_IFIFO,
  S_IFLNK,
  S_IFMT,
  S_IFREG,
  S_IFSOCK,
  type StatInfo,
} from '../../core/index.ts';

/** The device number every workspace reports (a workspace is one filesystem). */
export const WORKSPACE_DEV = 0x646f6673; // "dofs"

/** The fields of a Stats object, numbers or bigints. */
export interface StatFields<T> {
  /** Device number (every workspace reports {@link WORKSPACE_DEV}). */
  dev: T;
  /** Inode number. */
  ino: T;
  /** File type and permission bits, as `st_mode`. */
  mode: T;
  /** Number of names (hard links; a directory counts its subdirectories and itself). */
  nlink: T;
  /** Owner user id. */
  uid: T;
  /** Owner group id. */
  gid: T;
  /** Device number of a device special file (0 otherwise). */
  rdev: T;
  /** Size in bytes (a directory reports 4096). */
  size: T;
  /** Preferred I/O block size, in bytes. */
  blksize: T;
  /** 512-byte blocks allocated. */
  blocks: T;
  /** Last access, in milliseconds since the epoch. */
  atimeMs: T;
  /** Last modification of the content, in milliseconds since the epoch. */
  mtimeMs: T;
  /** Last change of the inode, in milliseconds since the epoch. */
  ctimeMs: T;
  /** Creation, in milliseconds since the epoch. */
  birthtimeMs: T;
}

/** What {@link statFields} reads of a StatInfo. */
export type StatSource = Pick<
  StatInfo,
  | 'type'
  | 'ino'
  | 'mode'
  | 'nlink'
  | 'uid'
  | 'gid'
  | 'rdev'
  | 'size'
  | 'blocks'
  | 'atimeMs'
  | 'mtimeMs'
  | 'ctimeMs'
  | 'birthtimeMs'
>;

/**
 * The numbers a Stats object reports for `info` (a directory's one block included), without the
 * object and its Dates: what a FUSE reply copies.
 */
export function statFields(info: StatSource): StatFields<number> {
  const dir = info.type === 'dir';
  return {
    dev: WORKSPACE_DEV,
    ino: info.ino,
    mode: info.mode,
    nlink: info.nlink,
    uid: info.uid,
    gid: info.gid,
    rdev: info.rdev,
    // A directory reports one block, as ext4 and most local filesystems do; none once removed (nlink 0).
    size: dir ? (info.nlink === 0 ? 0 : BLOCK_SIZE) : info.size,
    blksize: BLOCK_SIZE,
    blocks: dir ? (info.nlink === 0 ? 0 : BLOCK_SIZE / 512) : info.blocks,
    atimeMs: info.atimeMs,
    mtimeMs: info.mtimeMs,
    ctimeMs: info.ctimeMs,
    birthtimeMs: info.birthtimeMs,
  };
}

abstract class StatsBase<T extends number | bigint> implements StatFields<T> {
  /** The device number: {@link WORKSPACE_DEV} for every node of a workspace. */
  dev!: T;
  /** The inode number (the root is 1); stable for the life of the node, never reused while it exists. */
  ino!: T;
  /** The file type (`S_IFMT` bits) and permission bits (`0o7777`), as `st_mode`. */
  mode!: T;
  /** The number of names the node has (a directory: 2 plus its subdirectories); 0 once removed while open. */
  nlink!: T;
  /** The owner's user id. */
  uid!: T;
  /** The owner's group id. */
  gid!: T;
  /** The device number of a character or block device node; 0 for anything else. */
  rdev!: T;
  /** Bytes: a file's length (holes included), a symlink's target length; a directory reports 4,096 (0 once removed). */
  size!: T;
  /** The preferred I/O size, 4,096 bytes. */
  blksize!: T;
  /** Space allocated in 512-byte units, rounded up to 4,096-byte blocks; holes take none. */
  blocks!: T;
  /** Last access, in milliseconds since the epoch (fractional). */
  atimeMs!: T;
  /** Last change of content, in milliseconds since the epoch (fractional). */
  mtimeMs!: T;
  /** Last change of content or metadata, in milliseconds since the epoch (fractional). */
  ctimeMs!: T;
  /** Creation, in milliseconds since the epoch (fractional). */
  birthtimeMs!: T;
  /** `atimeMs` as a Date. */
  atime: Date;
  /** `mtimeMs` as a Date. */
  mtime: Date;
  /** `ctimeMs` as a Date. */
  ctime: Date;
  /** `birthtimeMs` as a Date. */
  birthtime: Date;

  protected constructor(values: StatFields<T>, times: StatFields<number>) {
    Object.assign(this, values);
    this.atime = new Date(times.atimeMs);
    this.mtime = new Date(times.mtimeMs);
    this.ctime = new Date(times.ctimeMs);
    this.birthtime = new Date(times.birthtimeMs);
    // node's Dates are accessors on the prototype: not among Object.keys, not copied by a spread.
    for (const key of ['atime', 'mtime', 'ctime', 'birthtime']) Object.defineProperty(this, key, { enumerable: false });
  }

  private type(): number {
    return Number(this.mode) & S_IFMT;
  }
  /** True for a regular file. */
  isFile(): boolean {
    return this.type() === S_IFREG;
  }
  /** True for a directory. */
  isDirectory(): boolean {
    return this.type() === S_IFDIR;
  }
  /** True for a symbolic link (lstat only). */
  isSymbolicLink(): boolean {
    return this.type() === S_IFLNK;
  }
  /** True for a block device node. */
  isBlockDevice(): boolean {
    return this.type() === S_IFBLK;
  }
  /** True for a character device node. */
  isCharacterDevice(): boolean {
    return this.type() === S_IFCHR;
  }
  /** True for a FIFO (named pipe). */
  isFIFO(): boolean {
    return this.type() === S_IFIFO;
  }
  /** True for a socket. */
  isSocket(): boolean {
    return this.type() === S_IFSOCK;
  }
}

/** Stats of a workspace node, shaped like node's `fs.Stats`. */
export class WorkspaceStats extends StatsBase<number> {
  constructor(info: StatInfo) {
    const values = statFields(info);
    super(values, values);
  }
}

/** Stats with bigint fields and nanosecond times, shaped like node's `fs.BigIntStats`. */
export class WorkspaceBigIntStats extends StatsBase<bigint> {
  /** Last access, in nanoseconds since the epoch. */
  atimeNs: bigint;
  /** Last change of content, in nanoseconds since the epoch. */
  mtimeNs: bigint;
  /** Last change of content or metadata, in nanoseconds since the epoch. */
  ctimeNs: bigint;
  /** Creation, in nanoseconds since the epoch. */
  birthtimeNs: bigint;

  constructor(info: StatInfo) {
    const values = statFields(info);
    const big = Object.fromEntries(
      Object.entries(values).map(([k, v]) => [k, BigInt(Math.trunc(v))]),
    ) as unknown as StatFields<bigint>;
    super(big, values);
    // Whole milliseconds and the fraction apart: ms * 1e6 loses precision as a double.
    const ns = (ms: number): bigint => BigInt(Math.trunc(ms)) * 1_000_000n + BigInt(Math.round((ms % 1) * 1e6));
    this.atimeNs = ns(values.atimeMs);
    this.mtimeNs = ns(values.mtimeMs);
    this.ctimeNs = ns(values.ctimeMs);
    this.birthtimeNs = ns(values.birthtimeMs);
  }
}

/** Options of stat-like calls. */
export interface StatOptions {
  /** Return {@link WorkspaceBigIntStats}. */
  bigint?: boolean;
}

/** Stats for `info` in the form `options` asks for. */
export function toStats(info: StatInfo, options?: StatOptions): WorkspaceStats {
  // Typed as the number form: callers that ask for bigint know what they get.
  // As node's binding (`IsTrue()`): only `true` asks for bigints; a truthy 1 or 'yes' gets numbers.
  return (options?.bigint === true ? new WorkspaceBigIntStats(info) : new WorkspaceStats(info)) as WorkspaceStats;
}

/** The all-zero Stats node's watchFile reports for a missing file. */
export function missingStats(): WorkspaceStats {
  const stats = new WorkspaceStats({
    name: '',
    ino: 0,
    type: 'file',
    mode: 0,
    nlink: 0,
    uid: 0,
    gid: 0,
    rdev: 0,
    size: 0,
    blocks: 0,
    atimeMs: 0,
    mtimeMs: 0,
    ctimeMs: 0,
    birthtimeMs: 0,
    rev: 0,
    isFile: false,
    isDirectory: false,
    isSymbolicLink: false,
    isFIFO: false,
    isSocket: false,
    isCharacterDevice: false,
    isBlockDevice: false,
  });
  stats.dev = 0;
  stats.blksize = 0;
  return stats;
}
