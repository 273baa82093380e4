/**
 * The mount's filesystem over libfuse 3's low-level API: requests name inodes (the engine's own
 * numbers; the root is 1 on both sides), so reads, writes, stats, lookups and listings go to the
 * inode without walking a path. Creators and removers name a parent inode and a name: create,
 * mkdir, symlink, link, unlink and rmdir go to the engine by inode (createAt, linkAt, unlinkAt,
 * rmdirAt); mknod and rename use its path-level primitives on the parent's one path (a directory
 * has exactly one).
 *
 * Batching: the addon hands over every request waiting at a wake-up. Changes join the open group
 * commit (group-commit.ts: one SQLite transaction, each request in a nested one, so a failing
 * request undoes only itself), are answered at once and committed within a few milliseconds,
 * together; fsync, fsyncdir and fallocate commit the group before their reply, so what they
 * acknowledge is durable at the database's `synchronous` level. File contents stay in per-inode
 * write buffers from open to flush (each close), fsync or the last release.
 *
 * Lookup counts: every entry reply (lookup, create, mkdir, mknod, symlink, link, readdirplus)
 * counts one lookup of its inode; forget gives them back. The counts are kept for /stats and so
 * that cache invalidations go only to inodes the kernel knows.
 *
 * Snapshots: `/.snapshots/<name>/…` is served by snapshot-tree.ts, on node ids above every live
 * inode; here only the dispatch to it.
 *
 * @module
 */
import { statfsSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { dirname } from 'node:path';
import { allocatedBytes, toStat } from '../../core/fs/attributes.ts';
import {
  allocateAt,
  chmodAt,
  chownAt,
  createAt,
  type Database,
  getNode,
  getWithPath,
  isFsError,
  linkAt,
  listDir,
  lookup,
  MAX_NAME_BYTES,
  type NodeRow,
  pathsOf,
  pinInode,
  ROOT_INODE,
  rmdirAt,
  S_IFDIR,
  S_IFMT,
  S_IFREG,
  seekDataAt,
  seekHoleAt,
  TYPE_BITS,
  unlinkAt,
  unpinInode,
  utimesAt,
} from '../../core/index.ts';
import { mutate } from '../../core/mutate.ts';
import { lookupCounted } from '../../core/nodes.ts';
import { type SQLiteWorkspaceProvider, statFields, type WorkspaceStats } from '../vfs/index.ts';
import { exchange } from './exchange.ts';
import { Failure, fail } from './failure.ts';
import { ATTR_FIELDS, type Fuse3Addon, type LowLevelRequest, OPS, type OpName } from './fuse3.ts';
import { createGroupCommit, type Touched } from './group-commit.ts';
import { FUSE_MAX_IO } from './options.ts';
import { createSnapshotTree, SNAPSHOTS_DIR } from './snapshot-tree.ts';
import { statfsOf } from './statfs.ts';

const O_ACCMODE = 0o3;
const O_RDONLY = 0;
const O_EXCL = 0o200;
const O_TRUNC = 0o1000;
const RENAME_NOREPLACE = 1;
const RENAME_EXCHANGE = 2;
// setattr's to_set bits (fuse_lowlevel.h)
const SET_MODE = 1 << 0;
const SET_UID = 1 << 1;
const SET_GID = 1 << 2;
const SET_SIZE = 1 << 3;
const SET_ATIME = 1 << 4;
const SET_MTIME = 1 << 5;
const BLKSIZE = 4096;
const SEEK_DATA = 3;
const SEEK_HOLE = 4;
const errno = osConstants.errno as Record<string, number>;

/**
 * Requests that only read, whatever batch they come in: when the batch's own commit fails they
 * are served again after the rollback instead of answering its error.
 */
const QUERIES: ReadonlySet<string> = new Set([
  'lookup',
  'getattr',
  'readlink',
  'read',
  'opendir',
  'readdir',
  'readdirplus',
  'statfs',
]);

/** Operations that change nothing in the database (a batch of only these needs no transaction). */
const READS: ReadonlySet<string> = new Set([
  ...QUERIES,
  'fsyncdir',
  'forget',
  'forgetMulti',
  'releasedir',
  'init',
  'destroy',
  'end',
]);

/** A query, or an open for reading only (a pin and a handle in memory, let go with a failed batch). */
const isQuery = (r: LowLevelRequest, op: OpName | undefined): op is OpName =>
  op !== undefined && (QUERIES.has(op) || (op === 'open' && ((r.flags ?? 0) & (O_ACCMODE | O_TRUNC)) === O_RDONLY));

/**
 * Changes that commit the open group before their reply (fsync, and fallocate, whose reservation
 * is checked against the disk): a batch of only these opens no group, a lone one is its own
 * transaction. A close (flush, release) is not one: it joins the group and is answered before its
 * COMMIT, as a local filesystem answers close before writeback; fsync is the durability point.
 */
const COMMIT_POINTS: ReadonlySet<string> = new Set(['fsync', 'fallocate']);

/** Changes made of several engine calls (create: the file, its buffer, a truncate): one transaction each. */
const SEVERAL: ReadonlySet<string> = new Set(['create', 'open', 'fallocate']);

/** Operations that change a name or an inode: the snapshot tree refuses them in or into it. */
const GUARDED: ReadonlySet<string> = new Set([
  'setattr',
  'mknod',
  'mkdir',
  'symlink',
  'link',
  'unlink',
  'rmdir',
  'rename',
  'create',
  'fallocate',
]);

/** What a reply's attribute record is made of (a stat, or a row just created). */
type Attributes = Pick<
  WorkspaceStats,
  'ino' | 'mode' | 'nlink' | 'uid' | 'gid' | 'rdev' | 'size' | 'blocks' | 'atimeMs' | 'mtimeMs' | 'ctimeMs'
>;

/**
 * Free space under the database below which changes commit before their reply (no group): room
 * for a group a few milliseconds long, whose closes may carry up to 8 MiB each (a larger file's
 * chunks are stored before its close), so that a disk filling up fails the call that met it.
 */
const TIGHT_DISK_BYTES = 32 * 1024 * 1024;
/** The most inodes a failed group commit's error is kept for, until their next fsync. */
const MAX_UNSYNCED = 10_000;

/** Read buffers of the largest request size kept for reuse (a 64 MiB read is 64 requests of 1 MiB). */
const READ_BUFFERS = 4;

/**
 * Buffers of `size` bytes, reused: each 1 MiB read reply needs one until the reply is sent, and a
 * fresh one per request made the collector's work about a quarter of the daemon's CPU on a cold read.
 */
function createBufferPool(size: number, keep: number): { take(length: number): Buffer; give(buffer: Buffer): void } {
  const free: Buffer[] = [];
  return {
    take: (length) =>
      length <= size ? (free.pop() ?? Buffer.allocUnsafeSlow(size)).subarray(0, length) : Buffer.allocUnsafe(length),
    give: (buffer) => {
      if (buffer.buffer.byteLength === size && free.length < keep) free.push(Buffer.from(buffer.buffer, 0, size));
    },
  };
}

/** An open file or directory of the mount. */
interface Handle {
  inode: number;
  /** Holds a reference on the inode's write buffer (else a pin). */
  write: boolean;
  /** A node of the snapshot tree (nothing to pin or commit). */
  snapshot?: boolean;
  /** A directory's listing, taken at opendir (offsets index into it). */
  entries?: Array<{ name: string; inode: number; mode: number }>;
}

/** Options for {@link createLowLevelFs}. */
export interface LowLevelFsOptions {
  /** The provider (its write buffers are shared with anything else using it). */
  provider: SQLiteWorkspaceProvider;
  /** The addon to reply through. */
  addon: Fuse3Addon;
  /** The workspace database file (statfs); undefined in memory. */
  dbFile?: string;
  /** Refuse every change with EROFS. */
  readOnly?: boolean;
  /** Seconds the kernel may cache names (and absent names) and attributes. */
  cacheTimeout: number;
  /** Where unexpected failures are reported. */
  log?: (line: string) => void;
}

/** Counters for /stats. */
export interface LowLevelState {
  /** Requests served, by operation name. */
  readonly calls: Record<string, number>;
  /** Requests answered with an error, by operation name. */
  readonly errors: Record<string, number>;
  /** Milliseconds spent serving, by operation name. */
  readonly millis: Record<string, number>;
  /** Batches the addon handed over. */
  readonly batches: {
    /** Batches served. */
    count: number;
    /** Requests in them. */
    requests: number;
    /** The most requests in one batch. */
    largest: number;
    /**
     * Milliseconds spent serving them (handlers, commits and replies; the rest of the daemon's
     * time is the addon's and Node's event loop).
     */
    serveMillis: number;
    /** Milliseconds spent sending the replies (each a write to /dev/fuse that wakes the caller). */
    replyMillis: number;
    /** Batches read while busy waiting after the one before (see the mount's `busyWaitMicroseconds`). */
    caughtBusyWaiting: number;
    /** Milliseconds spent busy waiting, caught or not. */
    busyWaitMillis: number;
  };
  /** Group commit: changes answered at once and committed a few milliseconds later, together. */
  readonly groups: {
    /** Groups opened. */
    groups: number;
    /** Changes answered before their group committed. */
    changes: number;
    /** Groups whose commit failed (their changes undone). */
    lost: number;
    /** Milliseconds spent in COMMIT. */
    commitMillis: number;
  };
  /** Files and directories the kernel holds open. */
  readonly openHandles: number;
  /** Open files opened for writing. */
  readonly writableHandles: number;
  /** Inodes the kernel holds lookups on. */
  readonly knownInodes: number;
}

/** The low-level filesystem: serve batches, and what the daemon needs around them. */
export interface LowLevelFs {
  /** Serves one batch from the addon; returns true when it held the end of the session. */
  serve(batch: LowLevelRequest[]): boolean;
  /** The addon's session, for invalidations of what a failed group commit undid. */
  attach(session: unknown): void;
  /** Commits the open group of changes now (before anything else reads or changes the database). */
  settle(): void;
  /** True while the mount's own group commit runs: its change events are changes the kernel made. */
  readonly committing: boolean;
  /** The counters the status server's /stats reports. */
  readonly state: LowLevelState;
  /** Tells the kernel to drop what it caches of `path` (changed behind its back). */
  invalidate(session: unknown, path: string): void;
  /**
   * Invalidates every path changed at revision `rev` or later (nodes stamped with it, and
   * tombstones); returns the next revision, to pass next time. What the daemon calls after sync
   * applied a peer's changes, which the engine applies without change events.
   */
  invalidateSince(session: unknown, rev: number): number;
  /** Commits every open write buffer and the open group. */
  commitAll(): void;
  /** Lets go of every open file (after the unmount). */
  releaseAll(): void;
}

/** Builds the low-level filesystem for `options.provider`. */
export function createLowLevelFs(options: LowLevelFsOptions): LowLevelFs {
  const { provider, addon } = options;
  const db: Database = provider.db;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const readOnly = options.readOnly === true || provider.readonly;
  const timeout = options.cacheTimeout;
  const handles = new Map<number, Handle>();
  /**
   * Descriptors (file handles) open on files whose changes a failed group commit undid: the error
   * their next flush, fsync or setattr reports, once. Per handle, as Linux reports a writeback
   * error to the descriptors open when it happened: a reader opening the file later does not get
   * it at its close.
   */
  const failed = new Map<number, string>();
  /** Descriptors open when a group commit failed, until their release (see the release handler). */
  const undone = new Set<number>();
  /**
   * Every inode a failed group commit touched (files closed in it included, and directories whose
   * entries it changed): the error the next fsync or fsyncdir of each reports once, as Linux
   * reports a writeback error no one has seen yet to the next fsync, even on a descriptor opened
   * after it. At most {@link MAX_UNSYNCED} are remembered (the oldest are let go first).
   */
  const unsynced = new Map<number, string>();
  const lookups = new Map<number, number>();
  /** Size and mtime each inode had at its last close, for keep_cache at the next open (libfuse's auto_cache). */
  const lastSeen = new Map<number, string>();
  let nextFh = 1;
  const calls: Record<string, number> = {};
  const errors: Record<string, number> = {};
  const millis: Record<string, number> = {};
  const batches = {
    count: 0,
    requests: 0,
    largest: 0,
    serveMillis: 0,
    replyMillis: 0,
    caughtBusyWaiting: 0,
    busyWaitMillis: 0,
  };
  let statfsCache: { at: number; value: Float64Array } | undefined;
  const snapshots = createSnapshotTree(db);
  let session: unknown;
  /** The kernel was answered about changes a failed commit undid: it forgets them and asks again. */
  const onLost = (touched: Touched, error: unknown): void => {
    log(
      `dofs mount: a group commit failed, its ${touched.inodes.size} changed inodes are undone: ${error instanceof Error ? error.message : String(error)}`,
    );
    // As the kernel reports a writeback error: at the next flush, fsync or close of each file it hit.
    const code = isFsError(error) ? error.code : 'EIO';
    for (const [fh, h] of handles) {
      if (!touched.inodes.has(h.inode)) continue;
      failed.set(fh, code);
      undone.add(fh);
    }
    // The directories whose entries it changed (a rename's destination included), and every inode.
    for (const inode of [...touched.entries.map(([parent]) => parent), ...touched.inodes]) {
      unsynced.delete(inode);
      unsynced.set(inode, code);
    }
    for (const inode of unsynced.keys()) {
      if (unsynced.size <= MAX_UNSYNCED) break;
      unsynced.delete(inode);
    }
    if (session === undefined) return;
    for (const [parent, name] of touched.entries) {
      if (parent === ROOT_INODE || lookups.has(parent)) addon.invalEntry(session, parent, name);
    }
    for (const inode of touched.inodes) {
      if (lookups.has(inode) || inode === ROOT_INODE) addon.invalInode(session, inode, 0, 0);
      dropNames(inode);
    }
  };
  /**
   * Drops the kernel's names of a file whose changes it was answered about were undone (a lost
   * group, a last commit that failed). Under the writeback cache the kernel keeps a file's size and
   * mtime as its own for as long as its inode lives, whatever getattr answers after an
   * invalidation: a file rewritten in a lost group kept its new size over its old bytes, read as
   * zeros past them, until the inode left the cache. Without a name the inode is evicted once
   * nothing holds it open, and the next lookup reads the file as the database holds it.
   */
  const dropNames = (inode: number): void => {
    if (session === undefined || getNode(db, inode)?.type !== 'file') return;
    const names = db.all<{ parent: number; name: string }>('SELECT parent, name FROM vfs_dirents WHERE child = ?', [
      inode,
    ]);
    for (const { parent, name } of names) {
      if (Number(parent) === ROOT_INODE || lookups.has(Number(parent))) addon.invalEntry(session, Number(parent), name);
    }
  };
  let diskCheck = { at: 0, tight: false };
  /** The disk under the database has less than {@link TIGHT_DISK_BYTES} free (read every 50 ms at most). */
  const nearlyFull = (): boolean => {
    const now = Date.now();
    if (options.dbFile === undefined || now - diskCheck.at < 50) return diskCheck.tight;
    try {
      const disk = statfsSync(dirname(options.dbFile));
      diskCheck = { at: now, tight: disk.bavail * disk.bsize < TIGHT_DISK_BYTES };
    } catch {
      diskCheck = { at: now, tight: false };
    }
    return diskCheck.tight;
  };
  const group = createGroupCommit(db, { onLost, nearlyFull });
  const readBuffers = createBufferPool(FUSE_MAX_IO, READ_BUFFERS);
  /** Set by a request of the batch being served that must be committed before its reply (fsync, fsyncdir, fallocate). */
  let durable = false;

  const attrOf = (stats: Attributes, into = new Float64Array(ATTR_FIELDS), at = 0): Float64Array => {
    into[at] = stats.ino;
    into[at + 1] = stats.mode;
    into[at + 2] = stats.nlink;
    into[at + 3] = stats.uid;
    into[at + 4] = stats.gid;
    into[at + 5] = stats.rdev;
    into[at + 6] = stats.size;
    into[at + 7] = stats.blocks;
    into[at + 8] = stats.atimeMs;
    into[at + 9] = stats.mtimeMs;
    into[at + 10] = stats.ctimeMs;
    into[at + 11] = BLKSIZE;
    into[at + 12] = timeout;
    into[at + 13] = timeout;
    into[at + 14] = 0;
    return into;
  };
  /** The attributes of a node just created (no content, so no blocks): its row, not read again. */
  const createdAttr = (node: NodeRow): Float64Array =>
    attrOf(
      statFields({
        type: node.type,
        ino: Number(node.inode),
        mode: TYPE_BITS[node.type] | Number(node.mode),
        nlink: Number(node.nlink),
        uid: Number(node.uid),
        gid: Number(node.gid),
        rdev: Number(node.rdev),
        size: Number(node.size),
        blocks: 0,
        atimeMs: Number(node.atime),
        mtimeMs: Number(node.mtime),
        ctimeMs: Number(node.ctime),
        birthtimeMs: Number(node.birthtime),
      }),
    );
  /** An inode gone from the database (removed, not held open) is ENOENT to the kernel, not an I/O error. */
  const present = (inode: number): void => {
    if (!getNode(db, inode)) fail('ENOENT');
  };
  const statOf = (inode: number): Attributes => {
    if (snapshots.owns(inode)) return snapshots.stat(inode);
    try {
      return provider.statInodeFieldsSync(inode);
    } catch (error) {
      if (isFsError(error) && error.code === 'EIO') present(inode);
      throw error;
    }
  };
  /**
   * The attributes of a row just read (a lookup's, with a file's allocation columns) without
   * reading anything again. An open write buffer's view comes from statOf.
   */
  const statOfRow = (node: NodeRow): Attributes =>
    provider.inodeBufferOf(Number(node.inode))
      ? statOf(Number(node.inode))
      : statFields(toStat(node, '', allocatedBytes(db, node)));
  /** The lookups the batch being served counted: taken back when its commit fails (see serveBatch). */
  let knownInBatch: number[] = [];
  const known = (inode: number, count = 1): void => {
    lookups.set(inode, (lookups.get(inode) ?? 0) + count);
    for (let i = 0; i < count; i++) knownInBatch.push(inode);
  };
  /** The entry of `name` in `parent` after a creator made it: one more lookup. */
  const entryOf = (parent: number, name: string): Float64Array => {
    const node = lookup(db, parent, name) ?? fail('ENOENT');
    known(node.inode);
    return attrOf(statOf(node.inode));
  };
  /** The one path of directory `inode` (creators and removers work by path). */
  const dirPath = (inode: number): string => {
    if (inode === ROOT_INODE) return '/';
    return getWithPath(db, inode).path ?? fail('ENOENT');
  };
  const childPath = (parent: number, name: string): string => {
    if (Buffer.byteLength(name) > MAX_NAME_BYTES) fail('ENAMETOOLONG');
    const dir = dirPath(parent);
    return dir === '/' ? `/${name}` : `${dir}/${name}`;
  };
  const writable = (): void => {
    if (readOnly) fail('EROFS');
  };
  const asCaller = <T>(r: LowLevelRequest, fn: () => T): T => db.withOwner({ uid: r.uid, gid: r.gid }, fn);
  /** The handles the batch being served opened: let go again when its commit fails (see serveBatch). */
  let openedInBatch: number[] = [];
  const addHandle = (handle: Handle): number => {
    while (handles.has(nextFh)) nextFh = nextFh >= 0x7fff_ffff ? 1 : nextFh + 1;
    const fh = nextFh;
    nextFh = nextFh >= 0x7fff_ffff ? 1 : nextFh + 1;
    handles.set(fh, handle);
    openedInBatch.push(fh);
    return fh;
  };
  /** Size and mtime as open compares them (a buffer still open under another handle counts). */
  const seen = (inode: number): string | undefined => {
    if (!provider.inodeBufferOf(inode)) {
      // The row alone: no block count needed (one statement where a stat takes two).
      const node = getNode(db, inode);
      return node ? `${Number(node.size)}:${Number(node.mtime)}` : undefined;
    }
    try {
      const stats = statOf(inode);
      return `${stats.size}:${stats.mtimeMs}`;
    } catch {
      return undefined;
    }
  };
  const closeHandle = (handle: Handle): void => {
    if (handle.entries || handle.snapshot) return;
    // The last reference on a write buffer: what it committed (at this close's flush, or now) is
    // the row as it is, so the mark needs no statement.
    const buffer = handle.write ? provider.inodeBufferOf(handle.inode) : undefined;
    const last = buffer?.refs === 1 ? buffer : undefined;
    try {
      if (handle.write) provider.releaseInodeBufferSync(handle.inode);
      else unpinInode(db, handle.inode);
    } catch (error) {
      // The last commit failed: the buffer is gone, and with it what the kernel was told was written.
      if (last && session !== undefined) {
        if (lookups.has(handle.inode)) addon.invalInode(session, handle.inode, 0, 0);
        dropNames(handle.inode);
      }
      throw error;
    } finally {
      const committed = last?.committed;
      const mark = committed ? `${committed.size}:${committed.mtimeMs}` : seen(handle.inode);
      if (mark) lastSeen.set(handle.inode, mark);
      else lastSeen.delete(handle.inode);
    }
  };
  const reportFailure = (fh: number, inode: number): void => {
    const code = failed.get(fh);
    if (code === undefined) return;
    failed.delete(fh);
    unsynced.delete(inode);
    fail(code);
  };
  /** fsync and fsyncdir: the error of a lost group that touched `inode`, once (see `unsynced`). */
  const reportUnsynced = (fh: number, inode: number): void => {
    reportFailure(fh, inode);
    const code = unsynced.get(inode);
    if (code === undefined) return;
    unsynced.delete(inode);
    fail(code);
  };
  const commitInode = (inode: number): void => {
    provider.inodeBufferOf(inode)?.commit();
  };

  /** A reply to send once the batch's transaction committed. */
  type Reply = () => void;

  /** Serves one request; returns its reply (sent after the commit). Throws a Failure or an engine error. */
  const handle = (r: LowLevelRequest, op: OpName): Reply | undefined => {
    const req = r.req;
    if (GUARDED.has(op)) snapshots.guard(op, r);
    switch (op) {
      case 'lookup': {
        const name = r.name ?? '';
        if (Buffer.byteLength(name) > MAX_NAME_BYTES) fail('ENAMETOOLONG');
        const virtual = snapshots.lookup(r.ino, name);
        // A file's allocation (its block count) comes with its row: one statement per name found.
        const node =
          virtual === undefined ? lookupCounted(db, r.ino, name) : virtual === null ? undefined : { inode: virtual };
        if (!node) {
          // A negative entry: the kernel remembers the absence for the timeout.
          const attr = new Float64Array(ATTR_FIELDS);
          attr[12] = timeout;
          return () => addon.replyEntry(req, attr);
        }
        known(node.inode);
        const attr = attrOf('type' in node ? statOfRow(node) : statOf(node.inode));
        return () => addon.replyEntry(req, attr);
      }
      case 'forget':
        forget(r.ino, r.nlookup ?? 0);
        return undefined;
      case 'forgetMulti': {
        const list = r.forgets ?? [];
        for (let i = 0; i + 1 < list.length; i += 2) forget(list[i], list[i + 1]);
        return undefined;
      }
      case 'getattr': {
        const attr = attrOf(statOf(r.ino));
        return () => addon.replyAttr(req, attr);
      }
      case 'setattr':
        return setattr(r);
      case 'readlink': {
        if (snapshots.owns(r.ino)) {
          const target = snapshots.readlink(r.ino);
          return () => addon.replyReadlink(req, target);
        }
        const node = getNode(db, r.ino) ?? fail('ENOENT');
        if (node.link_target === null) fail('EINVAL');
        const target = node.link_target as string;
        return () => addon.replyReadlink(req, target);
      }
      case 'mknod': {
        writable();
        const path = childPath(r.ino, r.name ?? '');
        const mode = r.mode ?? 0;
        asCaller(r, () => {
          if ((mode & S_IFMT) === S_IFREG || (mode & S_IFMT) === 0) {
            provider.createFileSync(path, { mode: mode & 0o7777, exclusive: true });
          } else {
            provider.mknodSync(path, mode, r.rdev ?? 0);
          }
        });
        const attr = entryOf(r.ino, r.name ?? '');
        return () => addon.replyEntry(req, attr);
      }
      case 'mkdir':
      case 'symlink': {
        writable();
        const { node } = asCaller(r, () =>
          createAt(
            db,
            r.ino,
            r.name ?? '',
            op === 'mkdir'
              ? { type: 'dir', mode: (r.mode ?? 0o777) & 0o7777 }
              : { type: 'symlink', mode: 0o777, target: r.target ?? '' },
          ),
        );
        known(Number(node.inode));
        const attr = createdAttr(node);
        return () => addon.replyEntry(req, attr);
      }
      case 'link': {
        writable();
        // By inodes (see linkAt): the reply is the node's row with its new link count.
        const node = linkAt(db, r.ino, r.newParent ?? 0, r.newName ?? '');
        known(Number(node.inode));
        const attr = node.type === 'file' ? attrOf(statOf(Number(node.inode))) : createdAttr(node);
        return () => addon.replyEntry(req, attr);
      }
      case 'unlink':
      case 'rmdir': {
        writable();
        // By the parent's inode (see unlinkAt): one statement finds the node and the directory's
        // path for the tombstone, no path walked; an open node removed outlives its name.
        if (op === 'unlink') unlinkAt(db, r.ino, r.name ?? '');
        else rmdirAt(db, r.ino, r.name ?? '');
        return () => addon.replyErr(req, 0);
      }
      case 'rename': {
        writable();
        const flags = r.flags ?? 0;
        // Both flags at once, or one unknown, is EINVAL (renameat2(2)).
        if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE) || flags === (RENAME_NOREPLACE | RENAME_EXCHANGE)) {
          fail('EINVAL');
        }
        const parent = r.newParent ?? 0;
        const from = childPath(r.ino, r.name ?? '');
        const to = childPath(parent, r.newName ?? '');
        if (flags & RENAME_NOREPLACE && lookup(db, parent, r.newName ?? '')) fail('EEXIST');
        if (flags & RENAME_EXCHANGE) {
          // The kernel checked both names exist; changed behind its back, the answer is ENOENT.
          if (!lookup(db, r.ino, r.name ?? '') || !lookup(db, parent, r.newName ?? '')) fail('ENOENT');
          exchange(provider, db, r.ino, from, to);
        } else provider.renameSync(from, to);
        return () => addon.replyErr(req, 0);
      }
      case 'create': {
        writable();
        const flags = r.flags ?? 0;
        // By the parent's inode: no path walk, and the new row is the reply (see createAt).
        const made = asCaller(r, () =>
          createAt(db, r.ino, r.name ?? '', {
            type: 'file',
            mode: (r.mode ?? 0o666) & 0o7777,
            exclusive: (flags & O_EXCL) !== 0,
          }),
        );
        const inode = Number(made.node.inode);
        known(inode);
        group.touch(inode);
        // The buffer starts from the row createAt returned (read or written in this transaction).
        const node = made.node;
        provider.openInodeBufferSync(inode, {
          size: Number(node.size),
          mtimeMs: Number(node.mtime),
          rev: Number(node.rev),
        });
        if (flags & O_TRUNC) provider.truncateInodeSync(inode, 0);
        // A file found instead (taken meanwhile by another writer) is stated as it is now.
        const attr = made.created ? createdAttr(made.node) : attrOf(statOf(inode));
        const fh = addHandle({ inode, write: true });
        return () => addon.replyCreate(req, attr, fh);
      }
      case 'open': {
        const flags = r.flags ?? 0;
        const stats = statOf(r.ino);
        if ((stats.mode & S_IFMT) === S_IFDIR) fail('EISDIR');
        const write = (flags & O_ACCMODE) !== O_RDONLY;
        if (snapshots.owns(r.ino)) {
          if (write || flags & O_TRUNC) fail('EROFS');
          const fh = addHandle({ inode: r.ino, write: false, snapshot: true });
          return () => addon.replyOpen(req, fh, true);
        }
        if (write || flags & O_TRUNC) {
          writable();
          provider.openInodeBufferSync(r.ino);
          try {
            if (flags & O_TRUNC) provider.truncateInodeSync(r.ino, 0);
          } catch (error) {
            provider.releaseInodeBufferSync(r.ino);
            throw error;
          }
        } else {
          pinInode(db, r.ino);
        }
        // As libfuse's auto_cache: the kernel keeps its cached pages when the file is as it was at the last close.
        const keep = lastSeen.get(r.ino) === `${stats.size}:${stats.mtimeMs}` && !(flags & O_TRUNC);
        const fh = addHandle({ inode: r.ino, write: write || (flags & O_TRUNC) !== 0 });
        return () => addon.replyOpen(req, fh, keep);
      }
      case 'read': {
        const target = readBuffers.take(r.size ?? 0);
        // The kernel's page cache keeps what is read through the mount: no second copy in the
        // blob cache (a cold 64 MiB read faulted in 64 MiB more memory for it).
        const count = snapshots.owns(r.ino)
          ? snapshots.read(r.ino, r.offset ?? 0, target)
          : provider.readInodeSync(r.ino, r.offset ?? 0, target, { cache: false });
        return () => {
          // The reply copies the bytes into the kernel: the buffer is free again once it returns.
          addon.replyBuf(req, target, count);
          readBuffers.give(target);
        };
      }
      case 'write': {
        const h = handles.get(r.fh ?? 0);
        if (!h?.write) fail('EBADF');
        const data = r.data ?? Buffer.alloc(0);
        // The request's bytes are this call's alone (the addon copies each request out of libfuse's
        // buffer): the write buffer keeps whole chunks of them instead of copying them again.
        const count = provider.writeInodeSync(r.ino, data, r.offset ?? 0, true);
        return () => addon.replyWrite(req, count);
      }
      case 'flush':
      case 'fsync': {
        // Close-to-open: the buffer lands in the open group before the reply, so every process
        // reading through the mount (one SQLite connection) sees it. Only fsync waits for the
        // group's COMMIT: a close is answered before it (committed within GROUP_WINDOW_MS).
        const h = handles.get(r.fh ?? 0);
        if (op === 'fsync') reportUnsynced(r.fh ?? 0, r.ino);
        else reportFailure(r.fh ?? 0, r.ino);
        if (h?.write) commitInode(h.inode);
        if (op === 'fsync') durable = true;
        return () => addon.replyErr(req, 0);
      }
      case 'fallocate': {
        // The engine sees committed state: an open write buffer lands first, in this batch; the
        // reservation is checked against the disk, so it is committed before the reply.
        durable = true;
        commitInode(r.ino);
        allocateAt(db, r.ino, r.offset ?? 0, r.size ?? 0, r.mode ?? 0);
        return () => addon.replyErr(req, 0);
      }
      case 'lseek': {
        if (snapshots.owns(r.ino)) {
          // A snapshot's file is all data, as the kernel's generic lseek would answer.
          const { size } = snapshots.stat(r.ino);
          if ((r.offset ?? 0) >= size) fail('ENXIO');
          return () => addon.replyLseek(req, r.whence === SEEK_HOLE ? size : (r.offset ?? 0));
        }
        commitInode(r.ino);
        const seek = r.whence === SEEK_HOLE ? seekHoleAt : r.whence === SEEK_DATA ? seekDataAt : fail('EINVAL');
        const offset = seek(db, r.ino, r.offset ?? 0);
        return () => addon.replyLseek(req, offset);
      }
      case 'release': {
        const h = handles.get(r.fh ?? 0);
        handles.delete(r.fh ?? 0);
        // The kernel drops a release's answer: a lost group's error stays for the next fsync, not
        // consumed here where no one sees it.
        failed.delete(r.fh ?? 0);
        const lost = undone.delete(r.fh ?? 0);
        try {
          if (h) closeHandle(h);
        } catch (error) {
          // A lost group undid this descriptor's file (its create, say): its buffer's last commit
          // fails for that same loss, already logged and reported, not as an I/O error of its own.
          if (!lost) throw error;
        }
        return () => addon.replyErr(req, 0);
      }
      case 'opendir': {
        const stats = statOf(r.ino);
        if ((stats.mode & S_IFMT) !== S_IFDIR) fail('ENOTDIR');
        if (snapshots.owns(r.ino)) {
          const fh = addHandle({ inode: r.ino, write: false, entries: snapshots.entries(r.ino) });
          return () => addon.replyOpen(req, fh, true);
        }
        const parent =
          r.ino === ROOT_INODE
            ? ROOT_INODE
            : Number(
                db.all<{ parent: number }>('SELECT parent FROM vfs_dirents WHERE child = ?', [r.ino])[0]?.parent ??
                  r.ino,
              );
        const entries = [
          { name: '.', inode: r.ino, mode: S_IFDIR },
          { name: '..', inode: parent, mode: S_IFDIR },
          ...listDir(db, r.ino)
            // The snapshot tree is reached by name only; a live entry of its name is shadowed.
            .filter((entry) => r.ino !== ROOT_INODE || entry.name !== SNAPSHOTS_DIR)
            .map((entry) => ({ name: entry.name, inode: entry.inode, mode: TYPE_BITS[entry.type] })),
        ];
        const fh = addHandle({ inode: r.ino, write: false, entries });
        return () => addon.replyOpen(req, fh, true);
      }
      case 'readdir':
      case 'readdirplus':
        return readdir(r, op === 'readdirplus');
      case 'releasedir':
        handles.delete(r.fh ?? 0);
        return () => addon.replyErr(req, 0);
      case 'fsyncdir':
        // The directory's changes are in the open group, if any: committed before the reply.
        reportUnsynced(r.fh ?? 0, r.ino);
        durable = true;
        return () => addon.replyErr(req, 0);
      case 'statfs': {
        const now = Date.now();
        if (!statfsCache || now - statfsCache.at >= 1000) {
          const f = statfsOf(db, options.dbFile, readOnly);
          const value = Float64Array.of(
            f.bsize,
            f.frsize,
            f.blocks,
            f.bfree,
            f.bavail,
            f.files,
            f.ffree,
            f.favail,
            f.fsid,
            f.flag,
            f.namemax,
          );
          statfsCache = { at: now, value };
        }
        const figures = statfsCache.value;
        return () => addon.replyStatfs(req, figures);
      }
      default:
        fail('ENOSYS');
    }
    return undefined;
  };

  const forget = (inode: number, count: number): void => {
    const left = (lookups.get(inode) ?? 0) - count;
    if (left > 0) lookups.set(inode, left);
    else lookups.delete(inode);
  };

  const setattr = (r: LowLevelRequest): Reply => {
    const set = r.toSet ?? 0;
    const inode = r.ino;
    // A descriptor open on a file whose changes a failed group commit undid (its create included)
    // answers that error, not ENOENT: the kernel's close sends the writeback cache's mtime (with
    // the descriptor) before the flush and returns the setattr's error, so this is where close
    // reports the full disk. The flush or fsync that follows reports it too.
    const lost = r.fh ? failed.get(r.fh) : undefined;
    if (lost !== undefined) fail(lost);
    const buffer = provider.inodeBufferOf(inode);
    if (buffer && (set & (SET_MODE | SET_UID | SET_GID | SET_SIZE | SET_ATIME | SET_MTIME)) === SET_MTIME) {
      // mtime alone on a file open for writing: what the writeback cache sends at each close. The
      // buffer records it and its commit (at this close's flush) stores it: no commit of its own.
      writable();
      buffer.setMtime(Number.isNaN(r.mtime) ? db.now() : (r.mtime ?? db.now()));
      const attr = attrOf(statOf(inode));
      return () => addon.replyAttr(r.req, attr);
    }
    // The kernel may still send a removed file's times (the writeback cache's mtime) after its last close.
    const node = getNode(db, inode) ?? fail('ENOENT');
    if (set & (SET_MODE | SET_UID | SET_GID | SET_SIZE | SET_ATIME | SET_MTIME)) writable();
    // One setattr is one mutation: one transaction and one revision, whatever it sets.
    mutate(db, 'setattr', undefined, () => {
      if (set & SET_MODE) chmodAt(db, inode, (r.mode ?? 0) & 0o7777);
      if (set & (SET_UID | SET_GID)) {
        chownAt(db, inode, set & SET_UID ? r.setUid : undefined, set & SET_GID ? r.setGid : undefined);
      }
      if (set & SET_SIZE) provider.truncateInodeSync(inode, r.size ?? 0);
      if (set & (SET_ATIME | SET_MTIME)) {
        // Pending writes would restamp mtime at their commit: apply them first.
        commitInode(inode);
        const now = db.now();
        const pick = (given: number | undefined, isSet: number, old: () => number): number =>
          set & isSet ? (Number.isNaN(given) ? now : (given ?? now)) : old();
        // The writeback cache's setattr sets mtime alone: atime is the node's (no commit changes it),
        // and the mtime after the commit is read only when it is kept.
        const atime = pick(r.atime, SET_ATIME, () => node.atime);
        utimesAt(
          db,
          inode,
          atime,
          pick(r.mtime, SET_MTIME, () => statOf(inode).mtimeMs),
        );
      }
    });
    const attr = attrOf(statOf(inode));
    return () => addon.replyAttr(r.req, attr);
  };

  const readdir = (r: LowLevelRequest, plus: boolean): Reply => {
    const h = handles.get(r.fh ?? 0);
    const entries = h?.entries ?? fail('EBADF');
    const offset = r.offset ?? 0;
    const size = r.size ?? 4096;
    // At most as many entries as could fit (24-byte headers, 152 with attributes), so a huge
    // directory costs per reply only what the reply holds.
    const room = Math.ceil(size / (plus ? 152 : 24)) + 1;
    const slice = entries.slice(offset, offset + room);
    const names: string[] = [];
    const attrs = new Float64Array(slice.length * ATTR_FIELDS);
    for (const entry of slice) {
      const at = names.length * ATTR_FIELDS;
      names.push(entry.name);
      const dot = entry.name === '.' || entry.name === '..';
      if (plus && !dot) {
        try {
          attrOf(statOf(entry.inode), attrs, at);
          continue;
        } catch {
          // removed since opendir: sent without attributes (the kernel will look it up)
        }
      }
      attrs[at] = plus && !dot ? 0 : entry.inode;
      attrs[at + 1] = entry.mode;
    }
    return () => {
      const sent = addon.replyDir(r.req, size, names, attrs, offset, plus);
      if (!plus) return;
      for (let i = 0; i < sent; i++) {
        const name = names[i];
        if (name !== '.' && name !== '..' && attrs[i * ATTR_FIELDS] !== 0) known(attrs[i * ATTR_FIELDS]);
      }
    };
  };

  const toErrno = (op: string, r: LowLevelRequest, error: unknown): number => {
    let code = 'EIO';
    if (error instanceof Failure) code = error.code;
    else if (isFsError(error)) code = error.code;
    else if (error instanceof RangeError || error instanceof TypeError) code = 'EINVAL';
    errors[code] = (errors[code] ?? 0) + 1;
    const number = errno[code];
    if (code === 'EIO' || number === undefined) {
      log(
        `dofs mount: ${op} inode ${r.ino}${r.name ? ` ${r.name}` : ''}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
      );
    }
    return number ?? errno.EIO;
  };

  /** A write or read that may make the inode's write buffer stage chunks (see WriteBuffer.mayStage). */
  const mayStage = (r: LowLevelRequest, op: 'write' | 'read'): boolean => {
    const buffer = provider.inodeBufferOf(r.ino);
    if (!buffer) return op === 'write';
    return buffer.mayStage(op === 'write' ? (r.data?.byteLength ?? 0) : (r.size ?? 0));
  };

  const settle = (): void => {
    try {
      group.commit();
    } catch {
      // onLost reported it and told the kernel
    }
  };

  const serve = (batch: LowLevelRequest[]): boolean => {
    const started = performance.now();
    try {
      return serveBatch(batch);
    } finally {
      batches.serveMillis += performance.now() - started;
    }
  };

  const serveBatch = (batch: LowLevelRequest[]): boolean => {
    batches.count++;
    batches.requests += batch.length;
    batches.largest = Math.max(batches.largest, batch.length);
    const replies: Reply[] = [];
    let ended = false;
    durable = false;
    openedInBatch = [];
    knownInBatch = [];
    let changes = 0;
    let deferrable = 0;
    let staging = false;
    for (const r of batch) {
      const op = OPS[r.op] ?? 'end';
      if (op === 'write' || op === 'read') staging ||= mayStage(r, op);
      if (READS.has(op) || op === 'write') continue;
      changes++;
      if (!COMMIT_POINTS.has(op)) deferrable++;
    }
    // A write only fills the inode's buffer, which stages full chunks by itself (held against gc),
    // each staging its own transaction: a batch with a write (or a read of a patched chunk) that
    // may stage runs outside the group (committed first), so a large file's megabytes never sit in
    // one long transaction or in a savepoint's journal, and a lost group never takes staged blobs
    // with it. A small write stages nothing and joins the group: a created file's few bytes then
    // land in the group at its close and commit with its create, usually in one COMMIT.
    if (staging && group.open) settle();
    // Changes join the open group (opened here if needed) and are answered before it commits;
    // when no group can be held, a batch of two or more changes is one transaction of its own
    // (a lone change is atomic by itself, and reads need none).
    let inGroup = false;
    try {
      inGroup = (group.open || deferrable > 0) && !readOnly && group.join();
    } catch (error) {
      // BEGIN failed (another process holds a --shared database's lock past the busy timeout):
      // each change then tries its own transaction and answers its own error.
      log(`dofs mount: opening a group commit: ${error instanceof Error ? error.message : String(error)}`);
    }
    const grouped = inGroup || (changes > 1 && !readOnly);
    const run = (): void => {
      for (const r of batch) {
        const op = OPS[r.op] ?? 'end';
        if (op === 'end') {
          ended = true;
          continue;
        }
        if (op === 'init' || op === 'destroy') continue;
        calls[op] = (calls[op] ?? 0) + 1;
        const started = performance.now();
        // Error objects of expected answers (a missing name) are built without a stack trace.
        const limit = Error.stackTraceLimit;
        Error.stackTraceLimit = 0;
        try {
          // Inside the group or the batch's transaction each change has its own nested one: a failure undoes only it.
          const change = !READS.has(op) && op !== 'write';
          // In a group, a request that is one engine mutation is atomic by itself (the mutation is a
          // nested transaction); only those making several get one of their own around them.
          const wrap = grouped && change && (!inGroup || SEVERAL.has(op));
          const reply = wrap ? db.transaction(() => handle(r, op)) : handle(r, op);
          if (reply) replies.push(reply);
          if (inGroup && change) {
            group.stats.changes++;
            group.touch(r.ino);
            if (r.name !== undefined) group.touch(r.ino, r.name);
            if (r.newName !== undefined) group.touch(r.newParent ?? 0, r.newName);
          }
        } catch (error) {
          const code = toErrno(op, r, error);
          replies.push(() => addon.replyErr(r.req, code));
          // On a full disk SQLite may end the whole transaction itself (SQLITE_FULL): the group is
          // then gone, its rows with it. Committing now declares it lost before the next request,
          // which would otherwise find a file it created missing (ENOENT on a descriptor the
          // kernel holds) rather than the loss; a group still whole merely commits early.
          if (inGroup && code === errno.ENOSPC && group.open) settle();
        } finally {
          Error.stackTraceLimit = limit;
          millis[op] = (millis[op] ?? 0) + performance.now() - started;
        }
      }
    };
    try {
      if (grouped && !inGroup) db.transaction(run);
      else {
        run();
        // fsync, fsyncdir and fallocate are answered once durable.
        if (durable && group.open) group.commit();
      }
    } catch (error) {
      // The batch's commit failed: nothing it did remains, so every request fails (ENOSPC on a full disk).
      log(
        `dofs mount: committing a batch of ${batch.length}: ${error instanceof Error ? error.message : String(error)}`,
      );
      const code = (isFsError(error) && errno[error.code]) || errno.EIO;
      // The kernel never gets the entries the batch counted: their lookups go with it.
      for (const inode of knownInBatch.splice(0)) forget(inode, 1);
      for (const r of batch) {
        const op = OPS[r.op];
        if (r.req && op !== 'forget' && op !== 'forgetMulti' && op !== 'end' && !isQuery(r, op))
          addon.replyErr(r.req, code);
      }
      // The kernel is told those opens and creates failed, so it never releases their handles:
      // they go now, with their write buffers and pins (they stayed open for the session before).
      for (const fh of openedInBatch) {
        const h = handles.get(fh);
        handles.delete(fh);
        failed.delete(fh);
        undone.delete(fh);
        if (!h) continue;
        lastSeen.delete(h.inode);
        // What an open with O_TRUNC changed in its buffer went with the batch too: not committed now.
        if (h.write) provider.releaseInodeBufferSync(h.inode, { discard: true });
        else if (!h.entries && !h.snapshot) unpinInode(db, h.inode);
      }
      // A query changed nothing, so the failed commit is not its error (stat(2) never answers
      // ENOSPC): it is asked again of the database as the rollback left it, and answered that.
      for (const r of batch) {
        const op = OPS[r.op];
        if (!isQuery(r, op)) continue;
        try {
          handle(r, op)?.();
        } catch (queryError) {
          addon.replyErr(r.req, toErrno(op, r, queryError));
        }
      }
      return ended;
    }
    const replying = performance.now();
    for (const reply of replies) reply();
    batches.replyMillis += performance.now() - replying;
    return ended;
  };

  const invalidate = (session: unknown, path: string): void => {
    // Every name on the way down: a new file may sit below directories the kernel has cached as
    // absent (negative entries), and a removed one below directories that are gone too.
    let parent = ROOT_INODE;
    const names = path.split('/').filter((name) => name !== '');
    if (names.length === 0) addon.invalInode(session, ROOT_INODE, 0, 0);
    for (const [index, name] of names.entries()) {
      if (parent === ROOT_INODE || lookups.has(parent)) addon.invalEntry(session, parent, name);
      const node = lookup(db, parent, name);
      if (!node) return;
      if (index === names.length - 1 && lookups.has(node.inode)) addon.invalInode(session, node.inode, 0, 0);
      parent = node.inode;
    }
  };

  /** Most changed nodes invalidated one by one; past it, the kernel's caches expire by timeout. */
  const MAX_INVALIDATIONS = 10_000;
  const invalidateSince = (session: unknown, rev: number): number => {
    const next = Number(db.all<{ v: number }>("SELECT v FROM vfs_meta WHERE k = 'rev'")[0]?.v ?? rev);
    if (next <= rev) return next;
    const nodes = db.all<{ inode: number }>('SELECT inode FROM vfs_nodes WHERE rev >= ? LIMIT ?', [
      rev,
      MAX_INVALIDATIONS,
    ]);
    // Deleted paths, and both ends of a directory's move (its subtree keeps its revisions).
    const gone = db.all<{ path: string }>(
      'SELECT path FROM vfs_changes WHERE rev >= ? UNION ALL SELECT target FROM vfs_changes WHERE rev >= ? AND target IS NOT NULL LIMIT ?',
      [rev, rev, MAX_INVALIDATIONS],
    );
    for (const { path } of gone) invalidate(session, path);
    for (const { inode } of nodes) {
      if (inode === ROOT_INODE) addon.invalInode(session, ROOT_INODE, 0, 0);
      for (const path of pathsOf(db, Number(inode))) invalidate(session, path);
    }
    return next;
  };

  return {
    serve,
    attach(attached: unknown) {
      session = attached;
    },
    settle,
    get committing() {
      return group.committing;
    },
    invalidate,
    invalidateSince,
    state: {
      calls,
      errors,
      millis,
      batches,
      groups: group.stats,
      get openHandles() {
        return handles.size;
      },
      get writableHandles() {
        let count = 0;
        for (const h of handles.values()) if (h.write) count++;
        return count;
      },
      get knownInodes() {
        return lookups.size;
      },
    },
    commitAll() {
      const done = new Set<number>();
      for (const h of handles.values()) {
        if (!h.write || done.has(h.inode)) continue;
        done.add(h.inode);
        try {
          commitInode(h.inode);
        } catch (error) {
          log(`dofs mount: committing inode ${h.inode}: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
      // The buffers landed in the open group, if one is: it commits after them.
      settle();
    },
    releaseAll() {
      for (const [fh, h] of [...handles]) {
        handles.delete(fh);
        try {
          closeHandle(h);
        } catch (error) {
          log(`dofs mount: releasing inode ${h.inode}: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
    },
  };
}
