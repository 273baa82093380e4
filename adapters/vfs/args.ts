/**
 * Argument checks that fail the way node:fs fails before any syscall: TypeError or RangeError with
 * node's `ERR_*` codes. Filesystem failures are core's `FsError`s instead.
 *
 * @module
 */

import { Buffer } from 'node:buffer';

/** A node-style argument error: `code` is `ERR_INVALID_ARG_TYPE`, `ERR_INVALID_ARG_VALUE` or `ERR_OUT_OF_RANGE`. */
export type ArgError = (TypeError | RangeError) & {
  /** Node's code: `ERR_INVALID_ARG_TYPE`, `ERR_INVALID_ARG_VALUE`, `ERR_OUT_OF_RANGE`… */
  code: string;
};

function argError(Kind: typeof TypeError | typeof RangeError, code: string, message: string): ArgError {
  const error = new Kind(message) as ArgError;
  error.code = code;
  return codeInName(error);
}

/**
 * As node's internal errors: `String(error)` and the stack's first line read
 * `TypeError [ERR_X]: message` (what node's own tests and many loggers match on); `name` stays.
 */
export function codeInName<E extends Error & { code: string }>(error: E): E {
  const { name } = error;
  Object.defineProperty(error, 'toString', {
    value: () => `${name} [${error.code}]: ${error.message}`,
    configurable: true,
    writable: true,
  });
  if (typeof error.stack === 'string' && error.stack.startsWith(`${name}:`))
    error.stack = `${name} [${error.code}]${error.stack.slice(name.length)}`;
  return error;
}

const show = (value: unknown): string =>
  typeof value === 'string' ? `'${value}'` : typeof value === 'bigint' ? `${value}n` : String(value);

/** What node's invalidArgTypeHelper says of the value received. */
function received(value: unknown): string {
  if (value === null || value === undefined) return `Received ${value}`;
  if (typeof value === 'function' && value.name) return `Received function ${value.name}`;
  if (typeof value === 'object') {
    const kind = (value as { constructor?: { name?: string } }).constructor?.name;
    return kind ? `Received an instance of ${kind}` : 'Received [Object: null prototype] {}';
  }
  const shown =
    typeof value === 'function' ? '[Function (anonymous)]' : typeof value === 'symbol' ? String(value) : show(value);
  return `Received type ${typeof value} (${shown.length > 28 ? `${shown.slice(0, 25)}...` : shown})`;
}

/** `ERR_INVALID_ARG_TYPE`, worded as node's: a dotted name is a property, any other an argument. */
export const invalidType = (name: string, expected: string, value: unknown): ArgError =>
  argError(
    TypeError,
    'ERR_INVALID_ARG_TYPE',
    `The "${name}" ${name.includes('.') ? 'property' : 'argument'} must be ${expected}. ${received(value)}`,
  );

/** `ERR_INVALID_ARG_VALUE`. */
export const invalidValue = (name: string, value: unknown, reason = 'is invalid'): ArgError =>
  argError(TypeError, 'ERR_INVALID_ARG_VALUE', `The argument '${name}' ${reason}. Received ${show(value)}`);

/** `ERR_OUT_OF_RANGE`. */
export const outOfRange = (name: string, range: string, value: unknown): ArgError =>
  argError(
    RangeError,
    'ERR_OUT_OF_RANGE',
    `The value of "${name}" is out of range. It must be ${range}. Received ${show(value)}`,
  );

/** An integer in [min, max], as node's validateInteger. */
export function checkInteger(value: unknown, name: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number') throw invalidType(name, 'of type number', value);
  if (!Number.isInteger(value)) throw outOfRange(name, 'an integer', value);
  if (value < min || value > max) throw outOfRange(name, `>= ${min} && <= ${max}`, value);
  return value;
}

/** node's assertEncoding: an encoding Buffer knows, or `'buffer'` (where node takes it for Buffers). */
export function checkEncoding(encoding: unknown): void {
  if (encoding && encoding !== 'buffer' && !Buffer.isEncoding(String(encoding)))
    throw invalidValue('encoding', encoding, 'is invalid encoding');
}

/** A file descriptor number (its existence is checked by the fd table: EBADF). */
export const checkFd = (fd: unknown): number => checkInteger(fd, 'fd', 0, 2 ** 31 - 1);

const decoder = new TextDecoder();

/** A path argument as node takes it: a string, bytes, or a `file:` URL. */
export type PathLike = string | Uint8Array | URL;

/** The string form of a path argument. */
export function toPath(value: unknown, name = 'path'): string {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return decoder.decode(value);
  if (isUrlLike(value)) return fileUrlPath(value);
  throw invalidType(name, 'of type string or an instance of Buffer or URL', value);
}

/** What node takes for a URL (its `isURL`): a URL, or an object with `href` and `protocol` and no legacy `auth`/`path`. */
const isUrlLike = (value: unknown): value is URL =>
  value instanceof URL ||
  (typeof value === 'object' &&
    value !== null &&
    (value as URL).href !== undefined &&
    (value as URL).protocol !== undefined &&
    (value as { auth?: unknown }).auth === undefined &&
    (value as { path?: unknown }).path === undefined);

/**
 * node's fileURLToPath on POSIX: only `file:`, no host (`localhost` is already empty in a parsed
 * URL), no encoded `/`; anything else would name a file node never opens (a remote host's, or a
 * name with a slash in it).
 */
function fileUrlPath(url: URL): string {
  if (url.protocol !== 'file:') throw argError(TypeError, 'ERR_INVALID_URL_SCHEME', 'The URL must be of scheme file');
  if (url.hostname !== '')
    throw argError(TypeError, 'ERR_INVALID_FILE_URL_HOST', `File URL host must be "localhost" or empty on linux`);
  const pathname = String(url.pathname);
  if (/%2f/i.test(pathname))
    throw argError(TypeError, 'ERR_INVALID_FILE_URL_PATH', 'File URL path must not include encoded / characters');
  return decodeURIComponent(pathname);
}

/** Permission bits from a number or an octal string, as node's parseFileMode. */
export function toMode(value: unknown, name: string, fallback: number): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value === 'string') {
    if (!/^[0-7]+$/.test(value))
      throw invalidValue(name, value, 'must be a 32-bit unsigned integer or an octal string');
    value = Number.parseInt(value, 8);
  }
  return checkInteger(value, name, 0, 2 ** 32 - 1) & 0o7777;
}

/**
 * A byte length for truncate/ftruncate: an integer; negative lengths count as 0, as node clamps
 * them. Only a missing length means 0: node refuses null (it would empty the file).
 */
export function toLength(value: unknown): number {
  if (value === undefined) return 0;
  return Math.max(0, checkInteger(value, 'len', Number.MIN_SAFE_INTEGER));
}

/** Bytes of a buffer argument (any ArrayBufferView), without copying. */
export function viewBytes(buffer: unknown, name = 'buffer'): Uint8Array {
  if (buffer instanceof Uint8Array) return buffer;
  if (ArrayBuffer.isView(buffer)) return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  throw invalidType(name, 'an instance of Buffer, TypedArray, or DataView', buffer);
}
