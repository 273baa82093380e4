/**
 * The argument shapes of read and write as node:fs takes them (`readSync(fd, buffer, offset,
 * length, position)` or `(fd, buffer, {offset, length, position})`; `writeSync(fd, buffer, ...)` or
 * `(fd, string, position, encoding)`), validated as node validates them.
 *
 * @module
 */
import { Buffer } from 'node:buffer';
import { checkInteger, invalidType, invalidValue, outOfRange, viewBytes } from './args.ts';

/** A validated read or write: bytes to fill or send, and where in the file (null: the fd's position). */
export interface IoRequest {
  /** The caller's buffer window (read) or the data (write). */
  bytes: Uint8Array;
  /** The file offset, or null for the fd's current position. */
  position: number | null;
}

type Range = { offset?: number; length?: number; position?: unknown };

function window(bytes: Uint8Array, offset: unknown, length: unknown): Uint8Array {
  const start = checkInteger(offset ?? 0, 'offset');
  if (start > bytes.byteLength) throw outOfRange('offset', `<= ${bytes.byteLength}`, start);
  const count = checkInteger(length ?? bytes.byteLength - start, 'length');
  if (count > bytes.byteLength - start) throw outOfRange('length', `<= ${bytes.byteLength - start}`, count);
  return bytes.subarray(start, start + count);
}

/** read(2) arguments. Position: null, undefined or -1 mean the current position; a bigint is accepted. */
export function readRequest(
  buffer: unknown,
  offsetOrOptions?: unknown,
  length?: unknown,
  position?: unknown,
): IoRequest {
  const bytes = viewBytes(buffer);
  const options: Range =
    typeof offsetOrOptions === 'object' && offsetOrOptions !== null
      ? (offsetOrOptions as Range)
      : { offset: offsetOrOptions as number, length: length as number, position };
  let at = options.position;
  if (typeof at === 'bigint') at = Number(at);
  if (at === null || at === undefined || at === -1) at = null;
  else checkInteger(at, 'position', -1);
  return { bytes: window(bytes, options.offset, options.length), position: at as number | null };
}

/**
 * write(2) arguments. As in node (which hands them to libuv), a position that is not a number, or
 * is negative, means the current position.
 */
export function writeRequest(
  data: unknown,
  offsetOrPosition?: unknown,
  lengthOrEncoding?: unknown,
  position?: unknown,
): IoRequest {
  const toPosition = (value: unknown): number | null => {
    const n = typeof value === 'bigint' ? Number(value) : value;
    if (typeof n !== 'number' || n < 0) return null;
    return checkInteger(n, 'position');
  };
  if (typeof data === 'string') {
    const encoding = typeof lengthOrEncoding === 'string' ? (lengthOrEncoding as BufferEncoding) : 'utf8';
    // node's validateEncoding: an odd-length hex string would write its pairs only, silently short.
    if (encoding.toLowerCase() === 'hex' && data.length % 2 !== 0)
      throw invalidValue('encoding', encoding, `is invalid for data of length ${data.length}`);
    return { bytes: Buffer.from(data, encoding), position: toPosition(offsetOrPosition) };
  }
  if (!ArrayBuffer.isView(data))
    throw invalidType('buffer', 'of type string or an instance of Buffer, TypedArray, or DataView', data);
  const bytes = viewBytes(data);
  if (typeof offsetOrPosition === 'object' && offsetOrPosition !== null) {
    const options = offsetOrPosition as Range;
    return { bytes: window(bytes, options.offset, options.length), position: toPosition(options.position) };
  }
  return { bytes: window(bytes, offsetOrPosition, lengthOrEncoding), position: toPosition(position) };
}
