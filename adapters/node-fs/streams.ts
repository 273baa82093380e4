/**
 * fs.ReadStream and fs.WriteStream on node:stream (present in workerd with nodejs_compat), reading
 * and writing through the module's own fd functions. Options and properties as node's:
 * `flags`, `mode`, `fd` (a number or a FileHandle), `start`, `end` (inclusive), `highWaterMark`,
 * `encoding`, `autoClose`, `emitClose`, `signal`, `flush`; `path`, `fd`, `pending`, `bytesRead`,
 * `bytesWritten`; events `open`, `ready`, `close`.
 *
 * @module
 */
import { Buffer } from 'node:buffer';
import { finished, Readable, Writable } from 'node:stream';
import { checkInteger, outOfRange, toPath } from '../vfs/args.ts';
import { later } from './later.ts';

/** The fd functions a stream uses (the module's public, node-shaped ones). */
export interface StreamFs {
  /** Opens `path` with fs.open's `flags` and `mode`; returns the fd. */
  openSync(path: unknown, flags?: string | number, mode?: number | string): number;
  /** Reads up to `length` bytes into `buffer` at `offset`, from `position` (null: the fd's position); returns the bytes read (0 at the end). */
  readSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: number | null): number;
  /** Writes `length` bytes of `buffer` from `offset`, at `position` (null: the fd's position); returns the bytes written. */
  writeSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: number | null): number;
  /** Writes `buffers` in order as one call, at `position` (null: the fd's position); returns the bytes written. Absent: one write of them joined. */
  writevSync?(fd: number, buffers: Uint8Array[], position: number | null): number;
  /** Closes the fd. */
  closeSync(fd: number): void;
  /** Commits the fd's buffered writes. */
  fsyncSync(fd: number): void;
}

/** Options shared by both streams. */
export interface StreamOptions {
  /** fs.open's flags for the path (ReadStream default `'r'`, WriteStream `'w'`); ignored with `fd`. */
  flags?: string | number;
  /** ReadStream: emit strings in this encoding; WriteStream: the encoding of written strings (default UTF-8). */
  encoding?: BufferEncoding | null;
  /** An open fd (or a FileHandle) to use instead of opening the path. */
  fd?:
    | number
    | {
        /** The handle's fd. */
        fd: number;
      }
    | null;
  /** Permission bits of a file the stream creates (default 0o666, less the umask). */
  mode?: number | string;
  /** Close the fd when the stream ends or fails (default true); false leaves it to the caller. */
  autoClose?: boolean;
  /** Emit `close` after the stream is destroyed (default true). */
  emitClose?: boolean;
  /** The byte position to start at (default: the fd's own position, 0 for a newly opened file). */
  start?: number;
  /** Bytes buffered before backpressure: ReadStream reads chunks of this size (default 64 KiB). */
  highWaterMark?: number;
  /** Destroys the stream when aborted. */
  signal?: AbortSignal;
  /** Accepted for compatibility and ignored: the workspace is the filesystem. */
  fs?: unknown;
}

/** Options of {@link ReadStream}. */
export interface ReadStreamOptions extends StreamOptions {
  /** Last byte to read, inclusive. */
  end?: number;
}

/** Options of {@link WriteStream}. */
export interface WriteStreamOptions extends StreamOptions {
  /** fsync before closing. */
  flush?: boolean;
}

const optionsOf = <T>(options: unknown): T =>
  (typeof options === 'string' ? { encoding: options } : (options ?? {})) as T;

const fdOf = (fd: StreamOptions['fd']): number | null =>
  fd === undefined || fd === null ? null : typeof fd === 'object' ? fd.fd : checkInteger(fd, 'fd');

/** A stream's completion callback. */
type Callback = (error?: Error | null) => void;

/** What both streams keep about their file. */
interface StreamFile {
  fd: number | null;
  path: string | undefined;
  flags: string | number;
  mode: number | string;
  autoClose: boolean;
  emit(event: string, ...args: unknown[]): boolean;
}

/** `_construct` of both streams: opens the path unless an fd was given, then emits `open` and `ready`. */
function openStream(stream: StreamFile, fs: StreamFs, callback: Callback): void {
  if (stream.fd !== null) {
    callback();
    return;
  }
  try {
    stream.fd = fs.openSync(stream.path, stream.flags, stream.mode);
  } catch (error) {
    callback(error as Error);
    return;
  }
  stream.emit('open', stream.fd);
  stream.emit('ready');
  callback();
}

/** `_destroy` of both streams: closes the fd when it is theirs to close; the first error wins. */
function closeStream(stream: StreamFile, fs: StreamFs, error: Error | null, callback: Callback): void {
  if (stream.fd !== null && stream.autoClose) {
    try {
      fs.closeSync(stream.fd);
    } catch (closeError) {
      error ??= closeError as Error;
    }
    stream.fd = null;
  }
  callback(error);
}

/** Runs `fn` and reports its outcome to a stream callback. */
function reportTo(callback: Callback, fn: () => void): void {
  try {
    fn();
  } catch (error) {
    callback(error as Error);
    return;
  }
  callback();
}

/** fs.ReadStream. */
export class ReadStream extends Readable {
  /** Bytes read so far. */
  bytesRead = 0;
  /** The path given (undefined when opened from an fd). */
  path: string | undefined;
  /** The fd, once open. */
  fd: number | null;
  /** The flags the path is opened with. */
  flags: string | number;
  /** The permission bits a created file gets. */
  mode: number | string;
  /** The first byte position, when given (undefined: the fd's position). */
  start: number | undefined;
  /** The last byte to read, inclusive (Infinity: to the end of the file). */
  end: number;
  /** The next position read, when `start` was given. */
  pos: number | undefined;
  /** True when the stream closes its fd as it ends or fails. */
  autoClose: boolean;
  readonly #fs: StreamFs;

  constructor(fs: StreamFs, path: unknown, options?: unknown) {
    const opts = optionsOf<ReadStreamOptions>(options);
    // Validated before the stream exists: once constructed it opens its file.
    const fd = fdOf(opts.fd);
    const named = fd === null ? toPath(path) : undefined;
    const start = opts.start === undefined ? undefined : checkInteger(opts.start, 'start');
    const end =
      opts.end === undefined || opts.end === Number.POSITIVE_INFINITY
        ? Number.POSITIVE_INFINITY
        : checkInteger(opts.end, 'end');
    if (start !== undefined && start > end) throw outOfRange('start', `<= "end" (here: ${end})`, start);
    super({
      highWaterMark: opts.highWaterMark ?? 64 * 1024,
      encoding: opts.encoding ?? undefined,
      emitClose: opts.emitClose ?? true,
      autoDestroy: opts.autoClose ?? true,
      signal: opts.signal,
    });
    this.#fs = fs;
    this.fd = fd;
    this.path = named;
    this.flags = opts.flags ?? 'r';
    this.mode = opts.mode ?? 0o666;
    this.start = start;
    this.end = end;
    this.pos = start;
    this.autoClose = opts.autoClose ?? true;
  }

  /** True until the file is open. */
  get pending(): boolean {
    return this.fd === null;
  }

  /** node:stream's hook: opens the path unless an fd was given, then emits `open` and `ready`. */
  override _construct(callback: (error?: Error | null) => void): void {
    openStream(this, this.#fs, callback);
  }

  /** node:stream's hook: reads up to `size` bytes and pushes them (null at the end). */
  override _read(size: number): void {
    // Read and push after this call returns, as node's fs streams do (their reads are asynchronous):
    // a synchronous push makes Readable read again at once, and a reader gets chunks of twice the mark.
    later(() => this.#readNow(size));
  }

  #readNow(size: number): void {
    if (this.destroyed) return;
    const left = this.pos !== undefined ? this.end - this.pos + 1 : this.end - this.bytesRead + 1;
    const n = Math.min(size, left);
    if (n <= 0) {
      this.push(null);
      return;
    }
    const buffer = Buffer.allocUnsafe(n);
    let read: number;
    try {
      read = this.#fs.readSync(this.fd as number, buffer, 0, n, this.pos ?? null);
    } catch (error) {
      this.destroy(error as Error);
      return;
    }
    if (this.pos !== undefined) this.pos += read;
    this.bytesRead += read;
    this.push(read === 0 ? null : read === n ? buffer : buffer.subarray(0, read));
  }

  /** node:stream's hook: closes the fd when `autoClose` says the stream owns it. */
  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    closeStream(this, this.#fs, error, callback);
  }

  /** Destroys the stream; `callback` runs once it is closed. */
  close(callback?: (error?: Error | null) => void): void {
    if (typeof callback === 'function') finished(this, callback);
    this.destroy();
  }
}

/** fs.WriteStream. */
export class WriteStream extends Writable {
  /** Bytes written so far. */
  bytesWritten = 0;
  /** The path given (undefined when opened from an fd). */
  path: string | undefined;
  /** The fd, once open. */
  fd: number | null;
  /** The flags the path is opened with. */
  flags: string | number;
  /** The permission bits a created file gets. */
  mode: number | string;
  /** The first byte position, when given (undefined: the fd's position). */
  start: number | undefined;
  /** The next position written, when `start` was given. */
  pos: number | undefined;
  /** True when the stream closes its fd as it ends or fails. */
  autoClose: boolean;
  readonly #fs: StreamFs;
  readonly #flush: boolean;

  constructor(fs: StreamFs, path: unknown, options?: unknown) {
    const opts = optionsOf<WriteStreamOptions>(options);
    const fd = fdOf(opts.fd);
    const named = fd === null ? toPath(path) : undefined;
    const start = opts.start === undefined ? undefined : checkInteger(opts.start, 'start');
    super({
      highWaterMark: opts.highWaterMark,
      defaultEncoding: opts.encoding ?? 'utf8',
      decodeStrings: true,
      emitClose: opts.emitClose ?? true,
      autoDestroy: opts.autoClose ?? true,
      signal: opts.signal,
    });
    this.#fs = fs;
    this.fd = fd;
    this.path = named;
    this.flags = opts.flags ?? 'w';
    this.mode = opts.mode ?? 0o666;
    this.start = start;
    this.pos = start;
    this.autoClose = opts.autoClose ?? true;
    this.#flush = opts.flush === true;
  }

  /** True until the file is open. */
  get pending(): boolean {
    return this.fd === null;
  }

  /** node:stream's hook: opens the path unless an fd was given, then emits `open` and `ready`. */
  override _construct(callback: (error?: Error | null) => void): void {
    openStream(this, this.#fs, callback);
  }

  #put(bytes: Uint8Array | Uint8Array[]): void {
    const fd = this.fd as number;
    const position = this.pos ?? null;
    let written: number;
    if (!Array.isArray(bytes)) written = this.#fs.writeSync(fd, bytes, 0, bytes.byteLength, position);
    else if (this.#fs.writevSync) written = this.#fs.writevSync(fd, bytes, position);
    else {
      const joined = Buffer.concat(bytes);
      written = this.#fs.writeSync(fd, joined, 0, joined.byteLength, position);
    }
    this.bytesWritten += written;
    if (this.pos !== undefined) this.pos += written;
  }

  /** node:stream's hook: writes one chunk at the stream's position. */
  override _write(chunk: Buffer, _encoding: string, callback: (error?: Error | null) => void): void {
    reportTo(callback, () => this.#put(chunk));
  }

  /**
   * node:stream's hook: writes buffered chunks as one writev, as node's (which asks the file even
   * when they hold no bytes: EBADF on a handle not open for writing).
   */
  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    reportTo(callback, () => this.#put(chunks.map((c) => c.chunk)));
  }

  /** node:stream's hook: fsyncs before closing when `flush` was set. */
  override _final(callback: (error?: Error | null) => void): void {
    reportTo(callback, () => {
      if (this.#flush && this.fd !== null) this.#fs.fsyncSync(this.fd);
    });
  }

  /** node:stream's hook: closes the fd when `autoClose` says the stream owns it. */
  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    closeStream(this, this.#fs, error, callback);
  }

  /** Ends the stream; `callback` runs once it is closed. */
  close(callback?: (error?: Error | null) => void): void {
    if (typeof callback === 'function') {
      if (this.closed) {
        later(() => callback());
        return;
      }
      this.on('close', callback);
    }
    if (!this.autoClose) this.on('finish', () => this.destroy());
    this.end();
  }

  /** Ends the stream (node's alias). */
  destroySoon(): this {
    return this.end();
  }
}
