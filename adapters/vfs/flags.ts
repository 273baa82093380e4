/**
 * open(2) flags: node's flag strings and numeric `O_*` combinations, decoded into what the
 * engine's `openFile` needs plus the access mode the fd table enforces.
 *
 * @module
 */
import type { OpenFileOptions } from '../../core/index.ts';
import { invalidValue } from './args.ts';

/** The `O_*` bits this adapter understands, as the host platform numbers them (Linux unless on macOS). */
export const O =
  (globalThis as { process?: { platform?: string } }).process?.platform === 'darwin'
    ? {
        /** Open for reading only (the access mode 0). */
        RDONLY: 0,
        /** Open for writing only. */
        WRONLY: 1,
        /** Open for reading and writing. */
        RDWR: 2,
        /** The mask of the access mode bits. */
        ACCMODE: 3,
        /** Create the file when missing. */
        CREAT: 0x200,
        /** With CREAT: fail with EEXIST when the name exists. */
        EXCL: 0x800,
        /** Truncate an existing file to 0 bytes. */
        TRUNC: 0x400,
        /** Every write goes to the end of the file. */
        APPEND: 0x8,
        /** Every write is committed before it returns. */
        SYNC: 0x80,
        /** Fail with ELOOP when the last component is a symlink. */
        NOFOLLOW: 0x100,
        /** Fail with ENOTDIR unless the path is a directory. */
        DIRECTORY: 0x100000,
      }
    : {
        /** Open for reading only (the access mode 0). */
        RDONLY: 0,
        /** Open for writing only. */
        WRONLY: 1,
        /** Open for reading and writing. */
        RDWR: 2,
        /** The mask of the access mode bits. */
        ACCMODE: 3,
        /** Create the file when missing. */
        CREAT: 0o100,
        /** With CREAT: fail with EEXIST when the name exists. */
        EXCL: 0o200,
        /** Truncate an existing file to 0 bytes. */
        TRUNC: 0o1000,
        /** Every write goes to the end of the file. */
        APPEND: 0o2000,
        /** Every write is committed before it returns. */
        SYNC: 0o4010000,
        /** Fail with ELOOP when the last component is a symlink. */
        NOFOLLOW: 0o400000,
        /** Fail with ENOTDIR unless the path is a directory. */
        DIRECTORY: 0o200000,
      };

// Node's own table (lib/internal/fs/utils.js stringToFlags), every spelling it accepts.
const STRINGS: Record<string, number> = {};
for (const [names, bits] of [
  [['r'], O.RDONLY],
  [['rs', 'sr'], O.RDONLY | O.SYNC],
  [['r+'], O.RDWR],
  [['rs+', 'sr+'], O.RDWR | O.SYNC],
  [['w'], O.TRUNC | O.CREAT | O.WRONLY],
  [['wx', 'xw'], O.TRUNC | O.CREAT | O.WRONLY | O.EXCL],
  [['w+'], O.TRUNC | O.CREAT | O.RDWR],
  [['wx+', 'xw+'], O.TRUNC | O.CREAT | O.RDWR | O.EXCL],
  [['a'], O.APPEND | O.CREAT | O.WRONLY],
  [['ax', 'xa'], O.APPEND | O.CREAT | O.WRONLY | O.EXCL],
  [['as', 'sa'], O.APPEND | O.CREAT | O.WRONLY | O.SYNC],
  [['a+'], O.APPEND | O.CREAT | O.RDWR],
  [['ax+', 'xa+'], O.APPEND | O.CREAT | O.RDWR | O.EXCL],
  [['as+', 'sa+'], O.APPEND | O.CREAT | O.RDWR | O.SYNC],
] as const) {
  for (const name of names) STRINGS[name] = bits;
}

/** Decoded open flags. */
export interface OpenFlags extends OpenFileOptions {
  /** Reads are allowed on the fd. */
  read: boolean;
  /** Writes are allowed on the fd. */
  write: boolean;
  /** Every write goes to the end of the file (O_APPEND). */
  append: boolean;
  /** The numeric form, for the handle's `flags`. */
  bits: number;
}

/** Decodes a flag string or number; anything else is node's ERR_INVALID_ARG_VALUE. Default `r`. */
export function parseFlags(flags: unknown): OpenFlags {
  let bits: number;
  if (flags === undefined || flags === null) bits = O.RDONLY;
  else if (typeof flags === 'number' && Number.isInteger(flags) && flags >= -(2 ** 31) && flags < 2 ** 31) bits = flags;
  else if (typeof flags === 'string' && Object.hasOwn(STRINGS, flags)) bits = STRINGS[flags];
  else throw invalidValue('flags', flags);
  const access = bits & O.ACCMODE;
  // Access mode 3 is Linux's "neither" (ioctl only): both reads and writes are EBADF.
  return {
    bits,
    read: access === O.RDONLY || access === O.RDWR,
    write: access === O.WRONLY || access === O.RDWR,
    append: (bits & O.APPEND) !== 0,
    create: (bits & O.CREAT) !== 0,
    exclusive: (bits & O.EXCL) !== 0,
    truncate: (bits & O.TRUNC) !== 0,
    noFollow: (bits & O.NOFOLLOW) !== 0,
    directory: (bits & O.DIRECTORY) !== 0,
  };
}
