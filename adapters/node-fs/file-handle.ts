/**
 * fs.promises' FileHandle over one of the module's fds. The plain methods (stat, truncate, sync,
 * chmod, readFile, ...) are attached by derive.ts from the fd functions, like every other async
 * form; this class holds the ones whose shape is their own: read, write, readv, writev, writeFile,
 * close, the streams, readableWebStream, readLines and the disposer.
 *
 * @module
 */
import { Buffer } from 'node:buffer';
import { EventEmitter } from 'node:events';
import { invalidType, viewBytes } from '../vfs/args.ts';
import type { ReadResult, WriteResult } from '../vfs/async.ts';
import { codedError } from './errors.ts';
import { ReadStream, type ReadStreamOptions, type StreamFs, WriteStream, type WriteStreamOptions } from './streams.ts';

/** The module's fd functions a FileHandle uses. */
export interface HandleFs extends StreamFs {
  /** Reads into `buffer` (node's argument forms); returns the bytes read. */
  readSync(fd: number, buffer: Uint8Array, offset?: unknown, length?: unknown, position?: unknown): number;
  /** Writes bytes or a string (node's argument forms); returns the bytes written. */
  writeSync(fd: number, buffer: unknown, offset?: unknown, length?: unknown, position?: unknown): number;
  /** Reads into `buffers` in turn, from `position` (absent: the fd's position); returns the bytes read. */
  readvSync(fd: number, buffers: ArrayBufferView[], position?: unknown): number;
  /** Writes `buffers` in turn, at `position` (absent: the fd's position); returns the bytes written. */
  writevSync(fd: number, buffers: ArrayBufferView[], position?: unknown): number;
  /** Writes `data` at the fd's position (fs.writeFileSync on an fd). */
  writeFileSync(fd: number, data: unknown, options?: unknown): void;
}

type Chunks = AsyncIterable<unknown> | Iterable<unknown>;

const isChunks = (data: unknown): data is Chunks =>
  typeof data === 'object' &&
  data !== null &&
  !ArrayBuffer.isView(data) &&
  (Symbol.asyncIterator in data || Symbol.iterator in data);

/**
 * Writes `data` to `fd` at its current position: bytes or a string at once, an (async) iterable or
 * stream chunk by chunk (what fs.promises.writeFile accepts).
 */
export async function writeAll(fs: HandleFs, fd: number, data: unknown, options?: unknown): Promise<void> {
  if (!isChunks(data)) {
    // As node: no bytes, no write (so a read-only handle accepts an empty writeFile).
    if ((typeof data === 'string' && data === '') || (ArrayBuffer.isView(data) && data.byteLength === 0)) return;
    return fs.writeFileSync(fd, data, options);
  }
  const encoding: BufferEncoding =
    (typeof options === 'string'
      ? (options as BufferEncoding)
      : (options as { encoding?: BufferEncoding })?.encoding) ?? 'utf8';
  for await (const chunk of data as AsyncIterable<unknown>) {
    // As node's writeFile: each chunk a string or bytes (null and undefined too are refused, not a crash).
    if (typeof chunk !== 'string' && !ArrayBuffer.isView(chunk))
      throw invalidType('chunk', 'of type string or an instance of Buffer, TypedArray, or DataView', chunk);
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, encoding) : viewBytes(chunk);
    fs.writeSync(fd, bytes, 0, bytes.byteLength, null);
  }
}

/** An open file, as fs.promises.open returns it. Emits `close`. */
export class FileHandle extends EventEmitter {
  #fd: number;
  readonly #fs: HandleFs;

  constructor(fs: HandleFs, fd: number) {
    super();
    this.#fs = fs;
    this.#fd = fd;
  }

  /** The fd; -1 once closed. */
  get fd(): number {
    return this.#fd;
  }

  /** node's async-hooks id of the handle; there are no async hooks here. */
  getAsyncId(): number {
    return -1;
  }

  /** Runs `fn` on the fd, or rejects as node does on a closed handle. */
  async use<T>(syscall: string, fn: (fd: number, fs: HandleFs) => T | Promise<T>): Promise<T> {
    if (this.#fd === -1) {
      const error = codedError('EBADF', 'file closed') as Error & { syscall?: string };
      error.syscall = syscall;
      throw error;
    }
    return fn(this.#fd, this.#fs);
  }

  /** Reads into `buffer` (node's forms, or none: a fresh 16 KiB buffer); resolves `{ bytesRead, buffer }`. */
  read(buffer?: unknown, offset?: unknown, length?: unknown, position?: unknown): Promise<ReadResult<Uint8Array>> {
    return this.use('read', (fd) => {
      let target = buffer as Uint8Array;
      let args = [offset, length, position];
      if (!ArrayBuffer.isView(buffer)) {
        const opts = (buffer ?? {}) as { buffer?: Uint8Array; offset?: number; length?: number; position?: number };
        target = opts.buffer ?? Buffer.alloc(16384);
        const start = opts.offset ?? 0;
        args = [start, opts.length ?? target.byteLength - start, opts.position ?? null];
      }
      const bytesRead = this.#fs.readSync(fd, target, ...args);
      return { bytesRead, buffer: target };
    });
  }

  /** Writes bytes or a string (node's forms); resolves `{ bytesWritten, buffer }`. */
  write<T>(buffer: T, offset?: unknown, length?: unknown, position?: unknown): Promise<WriteResult<T>> {
    return this.use('write', (fd) => {
      // As node's FileHandle: writing no bytes asks nothing of the file.
      if (ArrayBuffer.isView(buffer) && (buffer.byteLength === 0 || length === 0)) return { bytesWritten: 0, buffer };
      return { bytesWritten: this.#fs.writeSync(fd, buffer, offset, length, position), buffer };
    });
  }

  /** Scatter read; resolves `{ bytesRead, buffers }`. */
  readv<T extends ArrayBufferView[]>(
    buffers: T,
    position?: number | null,
  ): Promise<{
    /** Bytes read into `buffers`, in turn: fewer than they hold at the end of the file. */
    bytesRead: number;
    /** The buffers given. */
    buffers: T;
  }> {
    return this.use('read', (fd) => ({ bytesRead: this.#fs.readvSync(fd, buffers, position), buffers }));
  }

  /** Gather write; resolves `{ bytesWritten, buffers }`. */
  writev<T extends ArrayBufferView[]>(
    buffers: T,
    position?: number | null,
  ): Promise<{
    /** Bytes written from `buffers`, in turn. */
    bytesWritten: number;
    /** The buffers given. */
    buffers: T;
  }> {
    return this.use('write', (fd) => ({ bytesWritten: this.#fs.writevSync(fd, buffers, position), buffers }));
  }

  /** Writes `data` (bytes, a string, or an iterable or stream of them) from the current position. */
  writeFile(data: unknown, options?: unknown): Promise<void> {
    // A closed handle's rejection names writeFile, as node's (appendFile's too).
    return this.use('writeFile', (fd) => writeAll(this.#fs, fd, data, options));
  }

  /** As {@link writeFile} (the handle's flags decide whether it appends). */
  appendFile(data: unknown, options?: unknown): Promise<void> {
    return this.writeFile(data, options);
  }

  /** Closes the fd and emits `close`; closing a closed handle does nothing. */
  async close(): Promise<void> {
    if (this.#fd === -1) return;
    const fd = this.#fd;
    this.#fd = -1;
    this.#fs.closeSync(fd);
    this.emit('close');
  }

  /** Closes the handle (for `await using`). */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** A ReadStream over this handle (closing the stream closes the handle, unless `autoClose: false`). */
  createReadStream(options: ReadStreamOptions = {}): ReadStream {
    return new ReadStream(this.#streamFs(), undefined, { ...options, fd: this.#fd });
  }

  /** A WriteStream over this handle (closing the stream closes the handle, unless `autoClose: false`). */
  createWriteStream(options: WriteStreamOptions = {}): WriteStream {
    return new WriteStream(this.#streamFs(), undefined, { ...options, fd: this.#fd });
  }

  /** The streams close the handle, not the bare fd, so the handle knows it is closed. */
  #streamFs(): StreamFs {
    return {
      openSync: (...args) => this.#fs.openSync(...args),
      readSync: (...args) => this.#fs.readSync(...args),
      // As the handle's own write (node's streams on a FileHandle call it): no bytes, nothing asked of the file.
      writeSync: (fd, buffer, ...rest) =>
        ArrayBuffer.isView(buffer) && buffer.byteLength === 0 ? 0 : this.#fs.writeSync(fd, buffer, ...rest),
      writevSync: (fd, buffers, position) => this.#fs.writevSync(fd, buffers, position),
      fsyncSync: (fd) => this.#fs.fsyncSync(fd),
      closeSync: (fd) => {
        if (fd === this.#fd) void this.close();
        else this.#fs.closeSync(fd);
      },
    };
  }

  /** The rest of the file from the current position, as a web ReadableStream of bytes. */
  readableWebStream(options: { autoClose?: boolean } = {}): ReadableStream<Uint8Array> {
    return new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        const { bytesRead, buffer } = await this.read(Buffer.alloc(64 * 1024), 0, 64 * 1024, null);
        if (bytesRead === 0) {
          controller.close();
          if (options.autoClose) await this.close();
          return;
        }
        controller.enqueue(new Uint8Array(buffer.buffer, buffer.byteOffset, bytesRead));
      },
      cancel: async () => {
        if (options.autoClose) await this.close();
      },
    });
  }

  /** The lines of the rest of the file (without their `\n` or `\r\n`), as an async iterable. */
  readLines(options: ReadStreamOptions = {}): AsyncIterable<string> {
    const stream = this.createReadStream({ ...options, encoding: undefined });
    const encoding = options.encoding ?? 'utf8';
    return {
      async *[Symbol.asyncIterator]() {
        const decoder = new TextDecoder(encoding === 'utf8' || encoding === 'utf-8' ? 'utf-8' : encoding);
        let rest = '';
        for await (const chunk of stream) {
          rest += decoder.decode(chunk as Uint8Array, { stream: true });
          const lines = rest.split(/\r?\n/);
          rest = lines.pop() ?? '';
          yield* lines;
        }
        rest += decoder.decode();
        if (rest !== '') yield rest;
      },
    };
  }
}
