/**
 * fs.Dir: what opendir returns. Node's own Dir wraps a native handle and cannot be built from
 * outside, so this class has its shape: `path`, `read`/`readSync`, `close`/`closeSync`, async
 * iteration (which closes it at the end) and both disposers.
 *
 * @module
 */
import { invalidType } from '../vfs/args.ts';
import { codedError } from './errors.ts';
import { later } from './later.ts';

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
  /** Asynchronous reads and closes not yet delivered. */
  #pending = 0;

  constructor(path: string, entries: DirItem[], expand: (item: DirItem) => DirItem[]) {
    this.#path = path;
    this.#queue = [...entries];
    this.#expand = expand;
  }

  /** The path given to opendir. */
  get path(): string {
    return this.#path;
  }

  #checkOpen(): void {
    if (this.#closed) throw codedError('ERR_DIR_CLOSED', 'Directory handle was closed');
  }

  /** A synchronous call while an asynchronous one is pending is refused, as node's. */
  #checkIdle(): void {
    this.#checkOpen();
    if (this.#pending > 0)
      throw codedError(
        'ERR_DIR_CONCURRENT_OPERATION',
        'Cannot do synchronous work on directory handle with concurrent asynchronous operations',
      );
  }

  #next(): object | null {
    this.#checkOpen();
    const item = this.#queue.shift();
    if (!item) return null;
    this.#queue.push(...this.#expand(item));
    return item.dirent;
  }

  /**
   * An asynchronous read or close: done now, in call order (as node queues them), delivered later;
   * until then the Dir counts as busy. Errors, ERR_DIR_CLOSED included, go to the callback or the
   * promise, never thrown.
   */
  #async<T>(fn: () => T, callback: Callback<T> | undefined): Promise<T> | undefined {
    if (callback !== undefined && typeof callback !== 'function')
      throw invalidType('callback', 'of type function', callback);
    this.#pending++;
    let outcome: { value: T } | { error: Error };
    try {
      outcome = { value: fn() };
    } catch (error) {
      outcome = { error: error as Error };
    }
    const deliver = (resolve: (value: T) => void, reject: (error: Error) => void) =>
      later(() => {
        this.#pending--;
        if ('error' in outcome) reject(outcome.error);
        else resolve(outcome.value);
      });
    if (callback === undefined) return new Promise<T>(deliver);
    deliver(
      (value) => callback(null, value),
      (error) => callback(error),
    );
    return undefined;
  }

  /** The next entry, or null at the end. */
  readSync(): object | null {
    this.#checkIdle();
    return this.#next();
  }

  /** The next entry, or null at the end: to `callback`, or as a promise. */
  read(): Promise<object | null>;
  read(callback: Callback<object | null>): void;
  read(callback?: Callback<object | null>): Promise<object | null> | undefined {
    return this.#async(() => this.#next(), callback);
  }

  /** Closes the stream; closing twice is ERR_DIR_CLOSED. */
  closeSync(): void {
    this.#checkIdle();
    this.#closed = true;
  }

  /** Closes the stream: to `callback`, or as a promise. */
  close(): Promise<void>;
  close(callback: Callback<void>): void;
  close(callback?: Callback<void>): Promise<void> | undefined {
    return this.#async(() => {
      this.#checkOpen();
      this.#closed = true;
    }, callback);
  }

  /** Every remaining entry; the Dir is closed when iteration ends. */
  async *entries(): AsyncGenerator<object> {
    try {
      for (let dirent = this.#next(); dirent !== null; dirent = this.#next()) yield dirent;
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
