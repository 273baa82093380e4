/**
 * An open file: what the provider's `open` returns to @platformatic/vfs (shaped like its
 * VirtualFileHandle) and what the provider's fd table holds. It names an inode, so a rename or an
 * unlink of its path does not redirect it.
 *
 * @module
 */
import { Buffer } from 'node:buffer';
import { fsError, type NodeType } from '../../core/index.ts';
import { toLength } from './args.ts';
import { type AsyncForms, deriveAsync, type ReadResult, settle, type WriteResult } from './async.ts';
import type { OpenFlags } from './flags.ts';
import { type IoRequest, readRequest, writeRequest } from './io-args.ts';
import type { StatOptions, WorkspaceStats } from './stats.ts';

/** What a handle needs from its provider: I/O by inode (which sees write buffers) and closing. */
export interface HandleHost {
  /** Reads at `offset` into `target`; returns the bytes read (0 at end of file). */
  readInto(inode: number, offset: number, target: Uint8Array): number;
  /** Writes and returns the offset just past the bytes written. */
  writeAt(inode: number, offset: number, bytes: Uint8Array, append: boolean): number;
  truncateAt(inode: number, length: number): void;
  statInode(inode: number, options?: StatOptions): WorkspaceStats;
  /** Refuses writes on a read-only provider. */
  guardWrite(syscall: string): void;
  /** The handle closed: forget its fd, commit its write-back session, drop its pin. */
  closed(handle: WorkspaceFileHandle): void;
  /** Commits the write-back session of an inode (fsync); throws a failed earlier commit. */
  flush(inode: number): void;
}

/** What {@link WorkspaceFileHandle} is built from. */
export interface HandleInit {
  /** The file descriptor the handle is registered under. */
  fd: number;
  /** The path it was opened by; the handle reads and writes the inode, wherever it moves. */
  path: string;
  /** The inode it reads and writes. */
  inode: number;
  /** What the inode is. */
  type: NodeType;
  /** The decoded open flags: access mode, append, sync. */
  flags: OpenFlags;
  /** The flags as the caller gave them (string or number). */
  given: string | number;
  /** The permission bits asked for at open, less the umask (what a file it created got). */
  mode: number;
}

/** readFile's options on a handle: an encoding, or an object. */
export type FileOptions =
  | BufferEncoding
  | {
      /** Decode to a string in this encoding; null or absent: a Buffer. */
      encoding?: BufferEncoding | null;
    }
  | null
  | undefined;
const encodingOf = (options: FileOptions): BufferEncoding | undefined =>
  (typeof options === 'string' ? options : options?.encoding) ?? undefined;

/** An open file of a workspace. Sync methods do the work; async forms are derived from them. */
class FileHandleSync {
  /** The provider's fd number for this handle. */
  readonly fd: number;
  /** The path it was opened with. */
  readonly path: string;
  /** The inode it reads and writes. */
  readonly inode: number;
  /** `file`, or `dir` for a directory opened for reading. */
  readonly type: NodeType;
  readonly #flags: OpenFlags;
  readonly #given: string | number;
  readonly #mode: number;
  readonly #host: HandleHost;
  #closed = false;
  /** The current position: where reads and writes without a position happen. */
  position = 0;

  constructor(host: HandleHost, init: HandleInit) {
    this.#host = host;
    this.fd = init.fd;
    this.path = init.path;
    this.inode = init.inode;
    this.type = init.type;
    this.#flags = init.flags;
    this.#given = init.given;
    this.#mode = init.mode;
  }

  /** The flags it was opened with, as given. */
  get flags(): string | number {
    return this.#given;
  }
  /** The permission bits asked for at open. */
  get mode(): number {
    return this.#mode;
  }
  /** True once closed. */
  get closed(): boolean {
    return this.#closed;
  }

  #open(syscall: string): void {
    if (this.#closed) throw fsError('EBADF', syscall);
  }

  /** Reads into `buffer` (node's argument forms); returns the bytes read, 0 at end of file. */
  readSync(
    buffer: ArrayBufferView,
    offsetOrOptions?: unknown,
    length?: number,
    position?: number | bigint | null,
  ): number {
    return this.readRequest(readRequest(buffer, offsetOrOptions, length, position));
  }

  /** Reads a validated request (the provider's fd-level read validates first, as node does). */
  readRequest({ bytes, position }: IoRequest): number {
    this.#open('read');
    if (!this.#flags.read) throw fsError('EBADF', 'read');
    if (this.type === 'dir') throw fsError('EISDIR', 'read');
    if (bytes.byteLength === 0) return 0;
    const at = position ?? this.position;
    const read = this.#host.readInto(this.inode, at, bytes);
    if (position === null) this.position = at + read;
    return read;
  }

  /** Writes bytes or a string (node's argument forms); returns the bytes written. */
  writeSync(
    data: ArrayBufferView | string,
    offsetOrPosition?: unknown,
    lengthOrEncoding?: unknown,
    position?: unknown,
  ): number {
    return this.writeRequest(writeRequest(data, offsetOrPosition, lengthOrEncoding, position));
  }

  /** Writes a validated request. With O_APPEND every write lands at the end, as on Linux. */
  writeRequest({ bytes, position }: IoRequest): number {
    this.#open('write');
    if (!this.#flags.write) throw fsError('EBADF', 'write');
    this.#host.guardWrite('write');
    const end = this.#host.writeAt(this.inode, position ?? this.position, bytes, this.#flags.append);
    // pwrite leaves the position alone (even with O_APPEND); write moves it past the bytes.
    if (position === null) this.position = end;
    return bytes.byteLength;
  }

  /** The rest of the file from the current position (node's FileHandle.readFile). */
  readFileSync(options?: FileOptions): Buffer | string {
    this.#open('read');
    if (!this.#flags.read) throw fsError('EBADF', 'read');
    // A directory's read fails before its size matters (it may have been removed since it was opened).
    if (this.type === 'dir') throw fsError('EISDIR', 'read');
    const size = this.#host.statInode(this.inode).size;
    const bytes = new Uint8Array(Math.max(0, size - this.position));
    const read = this.readRequest({ bytes, position: null });
    const out = Buffer.from(bytes.buffer, bytes.byteOffset, read);
    const encoding = encodingOf(options);
    return encoding ? out.toString(encoding) : out;
  }

  /** Writes all of `data` from the current position (node's FileHandle.writeFile). */
  writeFileSync(data: string | ArrayBufferView, options?: FileOptions): void {
    const bytes = typeof data === 'string' ? Buffer.from(data, encodingOf(options) ?? 'utf8') : data;
    this.writeSync(bytes);
  }

  /** fstat. */
  statSync(options?: StatOptions): WorkspaceStats {
    this.#open('fstat');
    return this.#host.statInode(this.inode, options);
  }

  /** ftruncate: EINVAL unless open for writing, as Linux. */
  truncateSync(len?: number): void {
    const length = toLength(len);
    this.#open('ftruncate');
    if (!this.#flags.write || this.type !== 'file') throw fsError('EINVAL', 'ftruncate');
    this.#host.guardWrite('ftruncate');
    this.#host.truncateAt(this.inode, length);
  }

  /** fsync: commits the file's write-back session (if the provider has one), so its bytes are durable. */
  syncSync(): void {
    this.#open('fsync');
    this.#host.flush(this.inode);
  }

  /** fdatasync: as {@link syncSync}. */
  datasyncSync(): void {
    this.#open('fdatasync');
    this.#host.flush(this.inode);
  }

  /** Closes the handle; closing twice is EBADF. */
  closeSync(): void {
    this.#open('close');
    this.#closed = true;
    this.#host.closed(this as unknown as WorkspaceFileHandle);
  }

  /** Async read, resolving like node's FileHandle.read. */
  read<T extends ArrayBufferView>(
    buffer: T,
    offsetOrOptions?: unknown,
    length?: number,
    position?: number | bigint | null,
  ): Promise<ReadResult<T>> {
    return settle(() => ({ bytesRead: this.readSync(buffer, offsetOrOptions, length, position), buffer }));
  }

  /** Async write, resolving like node's FileHandle.write. */
  write<T extends ArrayBufferView | string>(
    buffer: T,
    offsetOrPosition?: unknown,
    lengthOrEncoding?: unknown,
    position?: unknown,
  ): Promise<WriteResult<T>> {
    return settle(() => ({
      bytesWritten: this.writeSync(buffer, offsetOrPosition, lengthOrEncoding, position),
      buffer,
    }));
  }
}

/** An open file of a workspace, with sync methods and their promise forms (`readFile`, `stat`, `close`...). */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the interface only types the async forms deriveAsync defines below.
export class WorkspaceFileHandle extends FileHandleSync {}
export interface WorkspaceFileHandle extends AsyncForms<FileHandleSync, 'read' | 'write'> {}
deriveAsync(WorkspaceFileHandle.prototype, Object.prototype, ['read', 'write']);
