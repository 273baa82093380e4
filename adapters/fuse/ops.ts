/**
 * The FUSE operations of a mounted workspace, over the provider's buffered-write surface.
 *
 * libfuse's high-level API names every file by its current path (it follows renames itself), so
 * paths are enough: a file opened for writing gets a write buffer (openWriteBufferSync /
 * openWriteBufferForCreateSync), writes and truncates stay in memory (writeRangeSync,
 * truncateFileSync), reads see them (readInodeSync: by the handle's inode, straight into the
 * kernel's buffer), and the buffer is committed in one transaction at close (flush), at fsync,
 * and at the last release (releaseWriteBufferSync). A file
 * unlinked while open is renamed by libfuse to `.fuse_hidden…` and removed at its last release.
 *
 * Every operation is synchronous and answers before returning, so the JavaScript thread serves one
 * kernel request at a time. Errors are the engine's FsErrors, answered as negative errnos.
 *
 * @module
 */
import { dirname } from 'node:path';
import {
  BLOCK_SIZE,
  fsError,
  isFsError,
  lutimes,
  type Owner,
  readdir,
  S_IFDIR,
  S_IFMT,
  S_IFREG,
  TYPE_BITS,
} from '../../core/index.ts';
import type { SQLiteWorkspaceProvider, WorkspaceStats } from '../vfs/index.ts';
import { type FuseOperations, type FuseStat, type FuseStatfs, UTIME_NOW_MS, UTIME_OMIT_MS } from './fuse-native.ts';
import { statfsOf } from './statfs.ts';

const O_ACCMODE = 0o3;
const O_RDONLY = 0;
const O_TRUNC = 0o1000;
const X_OK = 1;
const W_OK = 2;

/** An open file of the mount. */
interface Handle {
  /** Its current path (kept up to date through renames). */
  path: string;
  /** Opened for writing: it holds one reference on the file's write buffer. */
  write: boolean;
  /** The inode opened: reads go to it directly (no path walk), as an fd's do. */
  inode: number;
}

/** Options for {@link createFuseOperations}. */
export interface FuseOperationsOptions {
  /** The provider every operation goes to (made with `umask: 0`: the kernel applied the caller's). */
  provider: SQLiteWorkspaceProvider;
  /** Negative errno by code name, from fuse-native. */
  errno: (code: string) => number | undefined;
  /** The workspace database file, whose filesystem's free space statfs reports; undefined in memory. */
  dbFile?: string;
  /** Refuse every change with EROFS. */
  readOnly?: boolean;
  /** True when utimens receives real atime and mtime (the patched addon); see patch-fuse-native.mjs. */
  utimensFixed?: boolean;
  /** Where unexpected failures (bugs, storage errors) are reported. */
  log?: (line: string) => void;
  /** The clock, in milliseconds. */
  now?: () => number;
  /**
   * The uid and gid of the request being served (see `LoadedFuse.caller`): what creates and
   * mknods give their new nodes. Undefined (or returning undefined): the database's owner.
   */
  caller?: () => Owner | undefined;
}

/** Counters and state the status endpoint shows. */
export interface FuseOperationsState {
  /** Calls per operation name. */
  readonly calls: Record<string, number>;
  /** Failed calls per errno code name. */
  readonly errors: Record<string, number>;
  /** Milliseconds spent per operation name. */
  readonly millis: Record<string, number>;
  /** Open files. */
  readonly openHandles: number;
  /** Open files holding a write buffer. */
  readonly writableHandles: number;
}

/** The operations plus what the daemon needs around them. */
export interface DofsFuseOperations {
  /** What to hand to fuse-native. */
  readonly ops: FuseOperations;
  /** Counters for /stats. */
  readonly state: FuseOperationsState;
  /** Commits every open write buffer (shutdown, and before anything else reads the database file). */
  commitAll(): void;
  /** Releases every open file (after the unmount, when the kernel will send no more releases). */
  releaseAll(): void;
}

/** The attributes of a node as FUSE wants them. */
export function fuseStat(stats: WorkspaceStats): FuseStat {
  return {
    mode: stats.mode,
    uid: stats.uid,
    gid: stats.gid,
    size: stats.size,
    dev: 0,
    nlink: stats.nlink,
    ino: stats.ino,
    rdev: stats.rdev,
    blksize: BLOCK_SIZE,
    blocks: stats.blocks,
    atime: stats.atimeMs,
    mtime: stats.mtimeMs,
    ctime: stats.ctimeMs,
  };
}

/** Builds the FUSE operations for `options.provider`. */
export function createFuseOperations(options: FuseOperationsOptions): DofsFuseOperations {
  const { provider } = options;
  const db = provider.db;
  const now = options.now ?? Date.now;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const readOnly = options.readOnly === true || provider.readonly;
  const isRoot = process.getuid?.() === 0;
  const handles = new Map<number, Handle>();
  let nextFh = 1;
  const calls: Record<string, number> = {};
  const errors: Record<string, number> = {};
  let statfsCache: { at: number; value: FuseStatfs } | undefined;

  const code = (name: string): number => options.errno(name) ?? -5;
  /** Runs `fn` with the request's caller as the owner of what it creates. */
  const asCaller = <T>(fn: () => T): T => {
    const caller = options.caller?.();
    return caller ? db.withOwner({ uid: caller.uid, gid: caller.gid }, fn) : fn();
  };
  const EIO = code('EIO');
  const EROFS = code('EROFS');
  const EBADF = code('EBADF');

  /** Maps a thrown error to a negative errno; unexpected ones are logged (they are bugs or storage failures). */
  const fail = (op: string, path: string, error: unknown): number => {
    let name = 'EIO';
    if (isFsError(error)) name = error.code;
    else if (error instanceof RangeError || error instanceof TypeError) name = 'EINVAL';
    const errno = options.errno(name);
    errors[name] = (errors[name] ?? 0) + 1;
    if (!isFsError(error) || name === 'EIO' || errno === undefined) {
      log(`dofs mount: ${op} ${path}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    }
    return errno ?? EIO;
  };

  /** Runs a void operation: 0 or a negative errno. */
  const run = (op: string, path: string, cb: (code: number) => void, fn: () => void): void => {
    calls[op] = (calls[op] ?? 0) + 1;
    let result = 0;
    try {
      fn();
    } catch (error) {
      result = fail(op, path, error);
    }
    cb(result);
  };

  /** Runs an operation with a value. */
  const give = <T>(op: string, path: string, cb: (code: number, value?: T) => void, fn: () => T): void => {
    calls[op] = (calls[op] ?? 0) + 1;
    let value: T;
    try {
      value = fn();
    } catch (error) {
      cb(fail(op, path, error));
      return;
    }
    cb(0, value);
  };

  const writable = (op: string, path: string): void => {
    if (readOnly) throw fsError('EROFS', op, path, undefined, 'the mount is read-only');
  };
  const guarded = (op: string, path: string, cb: (code: number) => void, fn: () => void): void => {
    if (readOnly) {
      calls[op] = (calls[op] ?? 0) + 1;
      cb(EROFS);
      return;
    }
    run(op, path, cb, fn);
  };

  const addHandle = (path: string, write: boolean, inode: number): number => {
    while (handles.has(nextFh) || nextFh === 0) nextFh = nextFh >= 0x7fff_ffff ? 1 : nextFh + 1;
    const fh = nextFh;
    nextFh = nextFh >= 0x7fff_ffff ? 1 : nextFh + 1;
    handles.set(fh, { path, write, inode });
    return fh;
  };

  /**
   * The attributes of `path` (not following a last symlink), open write buffers' sizes and mtimes
   * included. getattr is the most frequent request and a missing name the expected answer to many
   * lookups, so its error is built without a stack trace.
   */
  const attrs = (path: string): FuseStat => {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      return fuseStat(provider.lstatSync(path));
    } finally {
      Error.stackTraceLimit = limit;
    }
  };

  /** The inode of the write buffer just opened at `path`. */
  const bufferInode = (path: string): number => {
    const buffer = provider.writeBufferOf(path);
    if (!buffer) throw fsError('EIO', 'open', path, undefined, 'the write buffer just opened is missing');
    return buffer.inode;
  };

  /** Commits the write buffer of `path`, if one is open (close-to-open: other readers of the database see it). */
  const commit = (path: string): void => {
    provider.writeBufferOf(path)?.commit();
  };

  const statfs = (): FuseStatfs => {
    const at = now();
    if (statfsCache && at - statfsCache.at < 1000) return statfsCache.value;
    const value = statfsOf(db, options.dbFile, readOnly);
    statfsCache = { at, value };
    return value;
  };

  const toTime = (value: number, current: number, at: number): number =>
    value === UTIME_OMIT_MS ? current : value === UTIME_NOW_MS ? at : value;

  const ops: FuseOperations = {
    init(cb) {
      cb(0);
    },

    getattr(path, cb) {
      give('getattr', path, cb, () => attrs(path));
    },

    fgetattr(path, _fd, cb) {
      give('fgetattr', path, cb, () => attrs(path));
    },

    access(path, mode, cb) {
      run('access', path, cb, () => {
        const stats = provider.lstatSync(path);
        if (mode & W_OK && readOnly) throw fsError('EROFS', 'access', path);
        if (isRoot) {
          // root may read and write anything; it may execute what has an execute bit (or a directory).
          if (mode & X_OK && (stats.mode & S_IFMT) !== S_IFDIR && (stats.mode & 0o111) === 0) {
            throw fsError('EACCES', 'access', path);
          }
          return;
        }
        provider.accessSync(path, mode);
      });
    },

    statfs(path, cb) {
      give('statfs', path, cb, statfs);
    },

    readdir(path, cb) {
      calls.readdir = (calls.readdir ?? 0) + 1;
      try {
        const self = provider.statSync(path);
        const parentPath = path === '/' ? '/' : dirname(path);
        const parent = parentPath === path ? self : provider.statSync(parentPath);
        const names = ['.', '..'];
        const stats: Partial<FuseStat>[] = [
          { ino: self.ino, mode: S_IFDIR },
          { ino: parent.ino, mode: S_IFDIR },
        ];
        for (const entry of readdir(db, path)) {
          names.push(entry.name);
          stats.push({ ino: entry.ino, mode: TYPE_BITS[entry.type] });
        }
        cb(0, names, stats);
      } catch (error) {
        cb(fail('readdir', path, error));
      }
    },

    open(path, flags, cb) {
      give('open', path, cb, () => {
        const write = (flags & O_ACCMODE) !== O_RDONLY;
        let inode: number;
        if (write) {
          writable('open', path);
          provider.openWriteBufferSync(path);
          try {
            if (flags & O_TRUNC) provider.truncateFileSync(path, 0);
            inode = bufferInode(path);
          } catch (error) {
            provider.releaseWriteBufferSync(path);
            throw error;
          }
        } else {
          const stats = provider.lstatSync(path); // the kernel looked it up; a missing file is still ENOENT
          if ((stats.mode & S_IFMT) === S_IFDIR) throw fsError('EISDIR', 'open', path);
          inode = stats.ino;
        }
        return addHandle(path, write, inode);
      });
    },

    create(path, mode, cb) {
      give('create', path, cb, () => {
        writable('open', path);
        asCaller(() => provider.openWriteBufferForCreateSync(path, { mode: mode & 0o7777 }));
        let inode: number;
        try {
          inode = bufferInode(path);
        } catch (error) {
          provider.releaseWriteBufferSync(path);
          throw error;
        }
        return addHandle(path, true, inode);
      });
    },

    read(path, fd, buffer, length, position, cb) {
      calls.read = (calls.read ?? 0) + 1;
      try {
        const handle = handles.get(fd);
        const target = buffer.subarray(0, length);
        if (handle) {
          handle.path = path;
          // Straight from the inode (or its write buffer, open under any name) into the kernel's buffer.
          cb(provider.readInodeSync(handle.inode, position, target));
          return;
        }
        const bytes = provider.readRangeSync(path, position, length);
        target.set(bytes);
        cb(bytes.byteLength);
      } catch (error) {
        cb(fail('read', path, error));
      }
    },

    write(path, fd, buffer, length, position, cb) {
      calls.write = (calls.write ?? 0) + 1;
      try {
        const handle = handles.get(fd);
        if (!handle?.write) {
          cb(EBADF);
          return;
        }
        handle.path = path;
        let data: Uint8Array = buffer.subarray(0, length);
        // The kernel's buffer is reused after we answer: a write buffer copies it; the unbuffered path must too.
        if (!provider.writeBufferOf(path)) data = Uint8Array.prototype.slice.call(data);
        provider.writeRangeSync(path, data, position);
        cb(length);
      } catch (error) {
        cb(fail('write', path, error));
      }
    },

    flush(path, fd, cb) {
      run('flush', path, cb, () => {
        const handle = handles.get(fd);
        if (handle?.write) {
          handle.path = path;
          commit(path);
        }
      });
    },

    fsync(path, _datasync, fd, cb) {
      run('fsync', path, cb, () => {
        const handle = handles.get(fd);
        if (handle?.write) commit(path);
      });
    },

    fsyncdir(path, _datasync, _fd, cb) {
      run('fsyncdir', path, cb, () => {});
    },

    release(path, fd, cb) {
      run('release', path, cb, () => {
        const handle = handles.get(fd);
        handles.delete(fd);
        if (handle?.write) provider.releaseWriteBufferSync(path);
      });
    },

    truncate(path, size, cb) {
      guarded('truncate', path, cb, () => provider.truncateFileSync(path, size));
    },

    ftruncate(path, _fd, size, cb) {
      guarded('ftruncate', path, cb, () => provider.truncateFileSync(path, size));
    },

    utimens(path, atime, mtime, cb) {
      guarded('utimens', path, cb, () => {
        const at = now();
        // Pending writes would restamp mtime at their commit: apply them first.
        commit(path);
        const current = provider.lstatSync(path);
        let a: number;
        let m: number;
        if (options.utimensFixed) {
          if (atime === UTIME_OMIT_MS && mtime === UTIME_OMIT_MS) return;
          a = toTime(atime, current.atimeMs, at);
          m = toTime(mtime, current.mtimeMs, at);
        } else {
          // Unpatched fuse-native passes the access time twice, and UTIME_NOW/UTIME_OMIT as ~1073 ms.
          a = m = atime < 2000 ? at : atime;
        }
        lutimes(db, path, new Date(a), new Date(m));
      });
    },

    readlink(path, cb) {
      give('readlink', path, cb, () => provider.readlinkSync(path));
    },

    chown(path, uid, gid, cb) {
      // The kernel checked the caller may (default_permissions) and sends -1 (2^32 - 1) for "unchanged".
      // The path names the node itself: a symlink's own owner changes, not its target's.
      guarded('chown', path, cb, () => provider.lchownSync(path, uid, gid));
    },

    chmod(path, mode, cb) {
      guarded('chmod', path, cb, () => provider.chmodSync(path, mode & 0o7777));
    },

    mknod(path, mode, dev, cb) {
      // FIFOs, sockets (bind) and devices become nodes; the kernel serves them (pipes, device
      // drivers) and checked CAP_MKNOD for devices. A regular file is created as create does.
      guarded('mknod', path, cb, () =>
        asCaller(() => {
          if ((mode & S_IFMT) === S_IFREG) provider.createFileSync(path, { mode: mode & 0o7777, exclusive: true });
          else provider.mknodSync(path, mode, dev);
        }),
      );
    },

    unlink(path, cb) {
      guarded('unlink', path, cb, () => provider.unlinkSync(path));
    },

    rename(src, dest, cb) {
      guarded('rename', src, cb, () => {
        provider.renameSync(src, dest);
        for (const handle of handles.values()) {
          if (handle.path === src || handle.path.startsWith(`${src}/`))
            handle.path = dest + handle.path.slice(src.length);
        }
      });
    },

    link(src, dest, cb) {
      guarded('link', dest, cb, () => provider.linkSync(src, dest));
    },

    symlink(target, path, cb) {
      guarded('symlink', path, cb, () => asCaller(() => provider.symlinkSync(target, path)));
    },

    mkdir(path, mode, cb) {
      guarded('mkdir', path, cb, () => {
        asCaller(() => provider.mkdirSync(path, { mode: mode & 0o7777 }));
      });
    },

    rmdir(path, cb) {
      guarded('rmdir', path, cb, () => provider.rmdirSync(path));
    },
  };

  // Time spent per operation (milliseconds), for /stats: where a slow workload spends it.
  const millis: Record<string, number> = {};
  for (const [name, fn] of Object.entries(ops) as [keyof FuseOperations, (...args: unknown[]) => void][]) {
    (ops as Record<string, unknown>)[name] = (...args: unknown[]) => {
      const started = performance.now();
      try {
        fn(...args);
      } finally {
        millis[name] = (millis[name] ?? 0) + performance.now() - started;
      }
    };
  }

  return {
    ops,
    state: {
      millis,
      calls,
      errors,
      get openHandles() {
        return handles.size;
      },
      get writableHandles() {
        let count = 0;
        for (const handle of handles.values()) if (handle.write) count++;
        return count;
      },
    },
    commitAll() {
      const seen = new Set<string>();
      for (const handle of handles.values()) {
        if (!handle.write || seen.has(handle.path)) continue;
        seen.add(handle.path);
        try {
          commit(handle.path);
        } catch (error) {
          log(`dofs mount: committing ${handle.path}: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
    },
    releaseAll() {
      for (const [fh, handle] of [...handles]) {
        handles.delete(fh);
        if (!handle.write) continue;
        try {
          provider.releaseWriteBufferSync(handle.path);
        } catch (error) {
          log(`dofs mount: releasing ${handle.path}: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
    },
  };
}
