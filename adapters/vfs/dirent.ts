/**
 * node-shaped Dirents. Unlike the reference provider's, they report symlinks as symlinks.
 *
 * @module
 */
import type { NodeType } from '../../core/index.ts';

/** One directory entry, shaped like node's `fs.Dirent`. */
export class WorkspaceDirent {
  /** The entry's name. */
  readonly name: string;
  /** The directory holding it. */
  readonly parentPath: string;
  readonly #type: NodeType;

  constructor(name: string, type: NodeType, parentPath: string) {
    this.name = name;
    this.parentPath = parentPath;
    this.#type = type;
  }

  /** The directory holding the entry (node's deprecated alias of {@link parentPath}). */
  get path(): string {
    return this.parentPath;
  }
  /** True for a regular file. */
  isFile(): boolean {
    return this.#type === 'file';
  }
  /** True for a directory. */
  isDirectory(): boolean {
    return this.#type === 'dir';
  }
  /** True for a symbolic link (never followed). */
  isSymbolicLink(): boolean {
    return this.#type === 'symlink';
  }
  /** True for a block device node. */
  isBlockDevice(): boolean {
    return this.#type === 'blockdev';
  }
  /** True for a character device node. */
  isCharacterDevice(): boolean {
    return this.#type === 'chardev';
  }
  /** True for a FIFO (named pipe). */
  isFIFO(): boolean {
    return this.#type === 'fifo';
  }
  /** True for a socket. */
  isSocket(): boolean {
    return this.#type === 'socket';
  }
}
