/**
 * The sync wire's frames: Cap'n Web messages with their byte arrays carried raw. Cap'n Web's own
 * WebSocket transport sends JSON text, where a 64 KiB chunk becomes 87,382 characters of base64;
 * this transport takes Cap'n Web's messages one level earlier (`jsonCompatibleWithBytes`: a JSON
 * tree whose byte arrays are left as `Uint8Array`) and sends
 *
 * - a message without bytes as one text frame, the same JSON Cap'n Web would send;
 * - a message with bytes as one binary frame: a 4-byte big-endian length, that many bytes of
 *   UTF-8 JSON in which each byte array is replaced by `{"$b": [offset, length]}`, then the
 *   byte arrays back to back (offsets count from the end of the JSON).
 *
 * The marker cannot be mistaken for data: Cap'n Web escapes every array of the application's
 * (`[[...]]`) and never writes an object in the second place of its own `["bytes", …]` form, and
 * the decoder walks the escapes as Cap'n Web does.
 *
 * @module
 */

/** What a frame travels as: text, or binary. */
export type Frame = string | Uint8Array;

/** The places a frame goes to and comes from: a WebSocket, or an in-memory pipe. */
export interface FramePipe {
  /** Sends one frame. */
  send(frame: Frame): void;
  /** The next frame received (text, or binary in either form). */
  receive(): Promise<string | ArrayBuffer | Uint8Array>;
  /** Ends the session because of `reason` (a WebSocket closes). */
  abort?(reason: unknown): void;
}

const MARKER = '$b';
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

type Json = null | boolean | number | string | Json[] | { [key: string]: Json } | Uint8Array;

/** Calls `visit` on every place of a Cap'n Web message that may hold a `["bytes", …]` form. */
function walk(value: Json, visit: (holder: Json[], index: number) => void): void {
  if (Array.isArray(value)) {
    // `[[...]]` is an escaped application array: its elements are values, itself is not a form.
    const items = value.length === 1 && Array.isArray(value[0]) ? (value[0] as Json[]) : value;
    if (items === value && value[0] === 'bytes' && value.length >= 2) visit(value, 1);
    for (const item of items) walk(item, visit);
  } else if (value !== null && typeof value === 'object' && !(value instanceof Uint8Array)) {
    for (const key of Object.keys(value)) walk(value[key], visit);
  }
}

/** Encodes one message: text when it holds no bytes, else one binary frame. */
export function encodeFrame(message: unknown): Frame {
  const blobs: Uint8Array[] = [];
  let offset = 0;
  walk(message as Json, (holder, index) => {
    const bytes = holder[index];
    if (!(bytes instanceof Uint8Array)) return;
    blobs.push(bytes);
    holder[index] = { [MARKER]: [offset, bytes.byteLength] };
    offset += bytes.byteLength;
  });
  const text = JSON.stringify(message);
  if (blobs.length === 0) return text;
  const head = encoder.encode(text);
  const frame = new Uint8Array(4 + head.byteLength + offset);
  new DataView(frame.buffer).setUint32(0, head.byteLength);
  frame.set(head, 4);
  let at = 4 + head.byteLength;
  for (const bytes of blobs) {
    frame.set(bytes, at);
    at += bytes.byteLength;
  }
  return frame;
}

/** Decodes one frame back into the message Cap'n Web sent; a malformed frame throws. */
export function decodeFrame(frame: string | ArrayBuffer | Uint8Array): unknown {
  if (typeof frame === 'string') return JSON.parse(frame);
  const bytes = frame instanceof Uint8Array ? frame : new Uint8Array(frame);
  if (bytes.byteLength < 4) throw new TypeError('truncated sync frame');
  const length = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0);
  if (4 + length > bytes.byteLength) throw new TypeError('truncated sync frame');
  const message = JSON.parse(decoder.decode(bytes.subarray(4, 4 + length))) as Json;
  const payload = bytes.subarray(4 + length);
  walk(message, (holder, index) => {
    const marker = holder[index] as { [MARKER]?: unknown } | null;
    if (marker === null || typeof marker !== 'object' || !Array.isArray(marker[MARKER])) return;
    const [start, size] = marker[MARKER] as number[];
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(size) || start < 0 || size < 0)
      throw new TypeError('bad byte marker in sync frame');
    if (start + size > payload.byteLength) throw new TypeError('byte marker past the end of the sync frame');
    // A copy: the frame's buffer is not kept alive by every object cut from it.
    holder[index] = payload.slice(start, start + size);
  });
  return message;
}

/** Bytes a frame takes on the wire. */
export const frameBytes = (frame: Frame): number =>
  typeof frame === 'string' ? encoder.encode(frame).byteLength : frame.byteLength;

/**
 * What {@link frameTransport} returns: Cap'n Web's `RpcTransportWithCustomEncoding` at the
 * `jsonCompatibleWithBytes` level, spelled out here so that our published declarations do not
 * pull in capnweb's own, which fail type checking without DOM types (`skipLibCheck: false`).
 */
export interface FrameTransport {
  /** Cap'n Web leaves `Uint8Array` values raw at this level; {@link encodeFrame} carries them. */
  readonly encodingLevel: 'jsonCompatibleWithBytes';
  /** Sends one message; returns the bytes it took on the wire. */
  send(message: unknown): number;
  /** The next message from the other end. */
  receive(): Promise<unknown>;
  /** Ends the session. */
  abort?(reason: unknown): void;
}

/**
 * A Cap'n Web transport over `pipe` that carries bytes raw. Refuses an incoming frame over
 * `maxBytes` (the session ends, as Cap'n Web's own limit would end it).
 */
export function frameTransport(pipe: FramePipe, maxBytes: number): FrameTransport {
  let failure: unknown;
  return {
    encodingLevel: 'jsonCompatibleWithBytes',
    send(message) {
      const frame = encodeFrame(message);
      try {
        pipe.send(frame);
      } catch (error) {
        // Cap'n Web learns of a failed send from receive(), which then rejects.
        failure ??= error;
      }
      return frameBytes(frame);
    },
    async receive() {
      if (failure !== undefined) throw failure;
      const frame = await pipe.receive();
      const size = typeof frame === 'string' ? frame.length : frame.byteLength;
      if (size > maxBytes) throw new TypeError(`incoming sync message of ${size} bytes exceeds ${maxBytes}`);
      return decodeFrame(frame);
    },
    abort(reason) {
      pipe.abort?.(reason);
    },
  };
}
