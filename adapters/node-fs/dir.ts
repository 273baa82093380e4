/**
 * fs.Dir: what opendir returns. Node's own Dir wraps a native handle and cannot be built from
 * outside, so this class has its shape: `path`, `read`/`readSync`, `close`/`closeSync`, async
 * iteration (which closes it at the end) and both disposers.
 *
 * @module
 */
import { codedError } from './errors.ts';
import { later, settle } from './later.ts';

/** One entry of a Dir: the Dirent handed out, and what recursion needs to descend. */
export interface DirItem {
  /** The Dirent `read` hands out. */
  dirent: object;
  /** The entry's full path (recursive opendir descends into it). */
  path: string;
  /** The entry's type, as the engine names it (`dir` is descended into). */
  type: string;
}

/** A node-style callback. */
export type Callback<T> = (error: Error | null, value?: T) => void;

/** A directory stream over a snapshot of its entries (each subdirectory's read when reached, with `recursive`). */
export class Dir {
  readonly #path: string;
  readonly #queue: DirItem[];
  readonly #expand: (item: DirItem) => DirItem[];
  #closed = false;

  constructor(path: string, entries: DirItem[], expand: (item: DirItem) => DirItem[]) {
    this.#path = path;
    this.#queue = [...entries];
    this.#expand = expand;
  }

  /** The path given to opendir. */
  get path(): string {
    return this.#path;
  }

  #check(): void {
    if (this.#closed) throw codedError('ERR_DIR_CLOSED', 'Directory handle was closed');
  }

  /** The next entry, or null at the end. */
  readSync(): object | null {
    this.#check();
    const item = this.#queue.shift();
    if (!item) return null;
    this.#queue.push(...this.#expand(item));
    return item.dirent;
  }

  /** The next entry, or null at the end: to `callback`, or as a promise. */
  read(): Promise<object | null>;
  read(callback: Callback<object | null>): void;
  read(callback?: Callback<object | null>): Promise<object | null> | undefined {
    if (callback === undefined) return settle(() => this.readSync());
    this.#check();
    const value = this.readSync();
    later(() => callback(null, value));
    return undefined;
  }

  /** Closes the stream; closing twice is ERR_DIR_CLOSED. */
  closeSync(): void {
    this.#check();
    this.#closed = true;
  }

  /** Closes the stream: to `callback`, or as a promise. */
  close(): Promise<void>;
  close(callback: Callback<void>): void;
  close(callback?: Callback<void>): Promise<void> | undefined {
    if (callback === undefined) return settle(() => this.closeSync());
    this.#check();
    this.closeSync();
    later(() => callback(null));
    return undefined;
  }

  /** Every remaining entry; the Dir is closed when iteration ends. */
  async *entries(): AsyncGenerator<object> {
    try {
      for (let dirent = this.readSync(); dirent !== null; dirent = this.readSync()) yield dirent;
    } finally {
      if (!this.#closed) this.closeSync();
    }
  }

  /** Iterates the entries (`for await`), closing the Dir at the end. */
  [Symbol.asyncIterator](): AsyncGenerator<object> {
    return this.entries();
  }

  /** Closes the Dir unless it is closed already. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.#closed) this.closeSync();
  }

  /** Closes the Dir unless it is closed already. */
  [Symbol.dispose](): void {
    if (!this.#closed) this.closeSync();
  }
}
