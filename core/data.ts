/**
 * Conversions between the data forms the API accepts and bytes.
 *
 * @module
 */
import { fsError } from './errors.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Data a file can be written with. */
export type FileData = string | Uint8Array | ArrayBuffer | ArrayBufferView;

/** A stream of bytes a file can be written from. */
export type ByteSource = ReadableStream<Uint8Array> | AsyncIterable<Uint8Array | string>;

/** Bytes of `data` (UTF-8 for strings). Views are not copied. */
export function toBytes(data: FileData, syscall: string, path: string): Uint8Array {
  if (typeof data === 'string') return encoder.encode(data);
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  throw fsError('EINVAL', syscall, path, undefined, 'data must be a string, Uint8Array, ArrayBuffer or view');
}

/** True when `value` is a stream or async iterable rather than in-memory data. */
export function isByteSource(value: unknown): value is ByteSource {
  return (
    typeof value === 'object' &&
    value !== null &&
    (typeof (value as ReadableStream).getReader === 'function' || Symbol.asyncIterator in value)
  );
}

/** UTF-8 text of `bytes`. */
export function toText(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

/** Validates a byte offset or length: a non-negative safe integer. */
export function checkOffset(value: unknown, what: string, syscall: string, path: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw fsError('EINVAL', syscall, path, undefined, `${what} must be a non-negative integer, got ${String(value)}`);
  }
  return value;
}
