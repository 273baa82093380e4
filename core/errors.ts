/**
 * Node-shaped filesystem errors, made in one place.
 *
 * @module
 */

/** An error code the engine can raise. */
export type ErrorCode =
  | 'EPERM'
  | 'ENOENT'
  | 'EIO'
  | 'ENXIO'
  | 'EBADF'
  | 'EACCES'
  | 'EBUSY'
  | 'EEXIST'
  | 'EXDEV'
  | 'ENOTDIR'
  | 'EISDIR'
  | 'EINVAL'
  | 'EMFILE'
  | 'EFBIG'
  | 'ENOSPC'
  | 'EROFS'
  | 'ENAMETOOLONG'
  | 'ENOSYS'
  | 'ENOTSUP'
  | 'ENOTEMPTY'
  | 'ELOOP'
  | 'ECONNRESET'
  | 'EUNKNOWN_HASH';

/** Linux errno numbers, negated as Node reports them in `err.errno`. */
export const ERRNO: Readonly<Record<ErrorCode, number>> = {
  EPERM: -1,
  ENOENT: -2,
  EIO: -5,
  ENXIO: -6,
  EBADF: -9,
  EACCES: -13,
  EBUSY: -16,
  EEXIST: -17,
  EXDEV: -18,
  ENOTDIR: -20,
  EISDIR: -21,
  EINVAL: -22,
  EMFILE: -24,
  EFBIG: -27,
  ENOSPC: -28,
  EROFS: -30,
  ENAMETOOLONG: -36,
  ENOSYS: -38,
  ENOTSUP: -95,
  ENOTEMPTY: -39,
  ELOOP: -40,
  ECONNRESET: -104,
  EUNKNOWN_HASH: -4094,
};

const DESCRIPTIONS: Record<ErrorCode, string> = {
  EPERM: 'operation not permitted',
  ENOENT: 'no such file or directory',
  EIO: 'i/o error',
  ENXIO: 'no such device or address',
  EBADF: 'bad file descriptor',
  EACCES: 'permission denied',
  EBUSY: 'resource busy or locked',
  EEXIST: 'file already exists',
  EXDEV: 'cross-device link not permitted',
  ENOTDIR: 'not a directory',
  EISDIR: 'illegal operation on a directory',
  EINVAL: 'invalid argument',
  EMFILE: 'too many open files',
  EFBIG: 'file too large',
  ENOSPC: 'no space left on device',
  EROFS: 'read-only file system',
  ENAMETOOLONG: 'name too long',
  ENOSYS: 'function not implemented',
  ENOTSUP: 'operation not supported on socket',
  ENOTEMPTY: 'directory not empty',
  ELOOP: 'too many symbolic links encountered',
  ECONNRESET: 'connection reset by peer',
  EUNKNOWN_HASH: 'unknown object hash',
};

/**
 * A filesystem error shaped like Node's `SystemError`: `code`, `errno`, `syscall`, `path`,
 * `dest`, and a message such as `ENOENT: no such file or directory, open '/a/b'`.
 * Tests and callers should branch on `code`, never on the message.
 */
export class FsError extends Error {
  /** The POSIX code, such as `ENOENT`. */
  readonly code: ErrorCode;
  /** The negated errno, as Node reports it. */
  readonly errno: number;
  /** The operation that failed, such as `open` or `rename`. */
  readonly syscall: string;
  /** The path the operation was given, when there is one. */
  readonly path?: string;
  /** The second path of a two-path operation (rename, link, copyfile, symlink). */
  readonly dest?: string;
  /** A hint for the user, also shown in the message. */
  readonly detail?: string;

  constructor(
    code: ErrorCode,
    syscall: string,
    path?: string,
    dest?: string,
    options?: { cause?: unknown; detail?: string },
  ) {
    const where = path === undefined ? '' : dest === undefined ? ` '${path}'` : ` '${path}' -> '${dest}'`;
    const detail = options?.detail ? ` (${options.detail})` : '';
    super(`${code}: ${DESCRIPTIONS[code]}${detail}, ${syscall}${where}`, { cause: options?.cause });
    this.name = 'FsError';
    this.code = code;
    this.errno = ERRNO[code];
    this.syscall = syscall;
    if (path !== undefined) this.path = path;
    if (dest !== undefined) this.dest = dest;
    if (options?.detail) this.detail = options.detail;
  }
}

/** Makes an {@link FsError}. `detail` adds a hint for the user between the description and the syscall. */
export function fsError(code: ErrorCode, syscall: string, path?: string, dest?: string, detail?: string): FsError {
  return new FsError(code, syscall, path, dest, { detail });
}

/**
 * Runs a two-path operation so that its errors name both paths, as Node reports them
 * (`rename '/a' -> '/b'`), whichever path the failure was found on.
 */
export function withPaths<T>(syscall: string, path: string, dest: string, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (!(error instanceof FsError) || (error.path === path && error.dest === dest)) throw error;
    throw new FsError(error.code, syscall, String(path), String(dest), { cause: error.cause, detail: error.detail });
  }
}

/** True when `error` is an {@link FsError}, optionally with the given code. */
export function isFsError(error: unknown, code?: ErrorCode): error is FsError {
  return error instanceof FsError && (code === undefined || error.code === code);
}

/** SQLite's words for a full disk (SQLITE_FULL), as node:sqlite and Durable Objects report them. */
const DISK_FULL = /SQLITE_FULL|database or disk is full/i;

/**
 * Turns a failure of the storage layer into EIO (or ENOSPC when the database is full), keeping
 * the original as `cause`. FsErrors pass through unchanged.
 */
export function wrapStorageError(error: unknown, syscall: string, path?: string): FsError {
  // A storage failure already wrapped at the statement takes the name of the operation it broke.
  if (error instanceof FsError && error.syscall === 'sqlite' && syscall !== 'sqlite') {
    return new FsError(error.code, syscall, path, undefined, { cause: error.cause, detail: error.detail });
  }
  if (error instanceof FsError) return error;
  const text = String((error as { message?: unknown })?.message ?? error);
  // A full disk reads exactly as Node's (`ENOSPC: no space left on device, write '/a'`): the
  // SQLite text adds nothing for the user and stays in `cause`. A platform cap says which one.
  if (DISK_FULL.test(text)) return new FsError('ENOSPC', syscall, path, undefined, { cause: error });
  const code: ErrorCode = /exceeded.*(size|storage)/i.test(text) ? 'ENOSPC' : 'EIO';
  return new FsError(code, syscall, path, undefined, { cause: error, detail: `storage failed: ${text}` });
}
