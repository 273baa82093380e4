/**
 * The open write buffers of one provider, by path (as a FUSE driver names files) and by inode
 * (what fds, stats and hard links share), with reference counts: the last release commits.
 *
 * @module
 */
import { type Database, normalizePath, openFile, pinInode, stat, unpinInode } from '../../core/index.ts';
import { type BufferBase, WriteBuffer } from './write-buffer.ts';

/** Write buffers by path and by inode. */
export class WriteBuffers {
  readonly #db: Database;
  readonly #maxDirtyChunks: number;
  readonly #byPath = new Map<string, WriteBuffer>();
  readonly #byInode = new Map<number, WriteBuffer>();

  constructor(db: Database, maxDirtyChunks: number) {
    this.#db = db;
    this.#maxDirtyChunks = maxDirtyChunks;
  }

  /** The buffer of an inode, if one is open. */
  ofInode(inode: number): WriteBuffer | undefined {
    return this.#byInode.get(inode);
  }

  /** The buffer of the file at `path` (opened under this path or another name of the same inode). */
  ofPath(path: string): WriteBuffer | undefined {
    if (this.#byInode.size === 0) return undefined;
    const key = normalizePath(path, 'open');
    const byPath = this.#byPath.get(key);
    if (byPath) return byPath;
    try {
      return this.#byInode.get(stat(this.#db, key).ino);
    } catch {
      return undefined;
    }
  }

  /** Opens (or joins) the buffer of the existing file at `path`; the file stays pinned while it is open. */
  open(path: string): WriteBuffer {
    const key = normalizePath(path, 'open');
    let buffer = this.#byPath.get(key);
    if (buffer) {
      buffer.refs++;
      return buffer;
    }
    const { inode } = openFile(this.#db, path, { write: true });
    buffer = this.#byInode.get(inode);
    if (buffer) {
      buffer.refs++;
    } else {
      buffer = new WriteBuffer(this.#db, inode, this.#maxDirtyChunks);
      this.#byInode.set(inode, buffer);
      pinInode(this.#db, inode);
    }
    this.#byPath.set(key, buffer);
    return buffer;
  }

  /**
   * Opens (or joins) a buffer for an inode open through fds (no path names it): the write-back
   * session of fd writes. {@link releaseInode} commits it. `known`: the file's size, mtime and
   * revision, when the caller holds them (see {@link WriteBuffer}'s constructor).
   */
  openInode(inode: number, known?: BufferBase): WriteBuffer {
    let buffer = this.#byInode.get(inode);
    if (buffer) {
      buffer.refs++;
      return buffer;
    }
    buffer = new WriteBuffer(this.#db, inode, this.#maxDirtyChunks, known);
    this.#byInode.set(inode, buffer);
    pinInode(this.#db, inode);
    return buffer;
  }

  /**
   * Drops the reference {@link openInode} took; the last commits (and unpins, even if the commit
   * fails), or with `discard` forgets what is pending instead.
   */
  releaseInode(inode: number, discard = false): void {
    const buffer = this.#byInode.get(inode);
    if (!buffer || --buffer.refs > 0) return;
    this.#byInode.delete(inode);
    try {
      // Nothing pending: the buffer is forgotten, so it need not catch up with the file either.
      if (buffer.pending && discard) buffer.discard();
      else if (buffer.pending) buffer.commit();
    } finally {
      unpinInode(this.#db, buffer.inode);
    }
  }

  /** Drops one reference; the last commits (the buffer is forgotten and unpinned even if the commit fails). */
  release(path: string): void {
    const buffer = this.#byPath.get(normalizePath(path, 'open'));
    if (!buffer || --buffer.refs > 0) return;
    for (const [key, held] of [...this.#byPath]) if (held === buffer) this.#byPath.delete(key);
    this.#byInode.delete(buffer.inode);
    try {
      if (buffer.pending) buffer.commit();
    } finally {
      unpinInode(this.#db, buffer.inode);
    }
  }

  /** Follows a rename: buffers opened at or below `from` are now found at or below `to`. */
  moved(from: string, to: string): void {
    if (this.#byPath.size === 0) return;
    const source = normalizePath(from, 'rename');
    const target = normalizePath(to, 'rename');
    for (const [path, buffer] of [...this.#byPath]) {
      if (path === source || path.startsWith(`${source}/`)) {
        this.#byPath.delete(path);
        this.#byPath.set(target + path.slice(source.length), buffer);
      }
    }
  }
}
