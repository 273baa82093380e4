/**
 * watch, watchAsync and watchFile driven by the engine's own change events (no polling).
 * Events are delivered on a microtask after the mutation commits, as node delivers them
 * asynchronously. They cover changes made through this `Database` handle: another process
 * writing the same SQLite file is not seen.
 *
 * @module
 */
import { Buffer } from 'node:buffer';
import { EventEmitter } from 'node:events';
import { type Database, isFsError, stat, type Watcher, watch as watchPath } from '../../core/index.ts';
import type { VfsEmitterListener } from './platformatic.ts';
import { missingStats, toStats, type WorkspaceStats } from './stats.ts';

/** Options of {@link WorkspaceWatcher}: node's fs.watch options that matter here. */
export interface WatchOptions {
  /** Report changes at any depth below a watched directory. */
  recursive?: boolean;
  /** Aborting it closes the watcher. */
  signal?: AbortSignal;
  /** Accepted for compatibility: engine watchers hold no timer, so they never keep a process alive. */
  persistent?: boolean;
  /** How filenames are given: `'utf8'` (default), another Buffer encoding, or `'buffer'` for Buffers. */
  encoding?: BufferEncoding | 'buffer';
}

/** A filename in the watcher's encoding, as node gives it. */
function encodeFilename(name: string, encoding: WatchOptions['encoding']): string | Buffer {
  if (!encoding || encoding === 'utf8' || encoding === 'utf-8') return name;
  const bytes = Buffer.from(name, 'utf8');
  return encoding === 'buffer' ? bytes : bytes.toString(encoding);
}

/** fs.watch's FSWatcher: emits `change` (eventType, filename), `close`, and `error`. */
export class WorkspaceWatcher extends EventEmitter {
  readonly #watcher: Watcher;
  #closed = false;

  constructor(db: Database, path: string, options: WatchOptions = {}) {
    super();
    this.#watcher = watchPath(db, path, { recursive: options.recursive }, (event) => {
      queueMicrotask(() => {
        if (!this.#closed) this.emit('change', event.eventType, encodeFilename(event.filename, options.encoding));
      });
    });
    if (options.signal?.aborted) this.close();
    else options.signal?.addEventListener('abort', () => this.close(), { once: true });
  }

  /** Stops the watcher and emits `close`. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#watcher.close();
    queueMicrotask(() => this.emit('close'));
  }
  /** No-op (nothing keeps the event loop alive). */
  ref(): this {
    return this;
  }
  /** No-op (nothing keeps the event loop alive). */
  unref(): this {
    return this;
  }
}

/** One event of {@link WorkspaceWatchIterable}, as fs.promises.watch yields it. */
export interface WatchAsyncEvent {
  /** `'rename'` (an entry appeared or went) or `'change'` (its content or metadata changed). */
  eventType: 'rename' | 'change';
  /** The changed entry, relative to the watched path (in the watcher's encoding). */
  filename: string;
}

/** fs.promises.watch: an async iterator of events, ended by `return()` or the signal. */
export class WorkspaceWatchIterable implements AsyncIterableIterator<WatchAsyncEvent> {
  readonly #iterator: AsyncIterator<{ eventType: 'rename' | 'change'; filename: string }>;
  readonly #watcher: Watcher;
  readonly #signal: AbortSignal | undefined;
  readonly #encoding: WatchOptions['encoding'];

  constructor(db: Database, path: string, options: WatchOptions = {}) {
    this.#watcher = watchPath(db, path, { recursive: options.recursive, signal: options.signal });
    this.#iterator = this.#watcher[Symbol.asyncIterator]();
    this.#signal = options.signal;
    // node's promises.watch takes string encodings only (it refuses 'buffer').
    this.#encoding = options.encoding === 'buffer' ? undefined : options.encoding;
  }

  /** The iterable is its own iterator. */
  [Symbol.asyncIterator](): this {
    return this;
  }
  /** The next event. */
  async next(): Promise<IteratorResult<WatchAsyncEvent>> {
    const result = await this.#iterator.next();
    // node's fs.promises.watch rejects with an AbortError when its signal ends it (the engine's
    // watcher just ends).
    if (result.done && this.#signal?.aborted) throw abortError(this.#signal.reason);
    return result.done
      ? { value: undefined, done: true }
      : {
          value: {
            eventType: result.value.eventType,
            filename: encodeFilename(result.value.filename, this.#encoding) as string,
          },
          done: false,
        };
  }
  /** Ends iteration. */
  async return(): Promise<IteratorResult<WatchAsyncEvent>> {
    this.#watcher.close();
    return { value: undefined, done: true };
  }
  /** Ends iteration. */
  async throw(): Promise<IteratorResult<WatchAsyncEvent>> {
    return this.return();
  }
}

/** node's AbortError: name `AbortError`, code `ABORT_ERR`, the signal's reason as its cause. */
function abortError(reason: unknown): Error {
  const error = Object.assign(new Error('The operation was aborted', { cause: reason }), { code: 'ABORT_ERR' });
  error.name = 'AbortError';
  return error;
}

/** A listener of fs.watchFile: the stats after a change and before it. */
export type StatListener = (curr: WorkspaceStats, prev: WorkspaceStats) => void;

/** fs.watchFile's StatWatcher: `change` (curr, prev) whenever the path's stats change; zeroed stats while it is missing. */
export class WorkspaceStatWatcher extends EventEmitter {
  readonly #db: Database;
  readonly #path: string;
  readonly #unsubscribe: () => void;
  #previous: WorkspaceStats;
  #stopped = false;

  constructor(db: Database, path: string) {
    super();
    this.#db = db;
    this.#path = path;
    const first = this.#stat();
    this.#previous = first ?? missingStats();
    this.#unsubscribe = db.onChange(() => queueMicrotask(() => this.#check()));
    // As libuv's fs_poll: a path that cannot be stat'ed at the start is reported once, zeroed
    // stats for both (node's documented "ENOENT: the listener is called once, all fields zeroed").
    // Still missing when that first stat would answer (a later turn), as created at once it is not.
    if (first === undefined)
      queueMicrotask(() => {
        if (!this.#stopped && this.#stat() === undefined) this.emit('change', missingStats(), missingStats());
      });
  }

  /** The path's stats, or undefined when it cannot be stat'ed (missing, or a component not a directory). */
  #stat(): WorkspaceStats | undefined {
    try {
      return toStats(stat(this.#db, this.#path));
    } catch (error) {
      if (isFsError(error) && error.code !== 'EIO') return undefined;
      throw error;
    }
  }

  #check(): void {
    if (this.#stopped) return;
    const current = this.#stat() ?? missingStats();
    const prev = this.#previous;
    const same = (['ino', 'mode', 'nlink', 'size', 'mtimeMs', 'ctimeMs'] as const).every((k) => current[k] === prev[k]);
    if (same) return;
    this.#previous = current;
    this.emit('change', current, prev);
  }

  /**
   * With one argument, @platformatic/vfs's form: `listener` listens to `change`. With two,
   * EventEmitter's. Both, so the watcher can stand for either library's StatWatcher.
   */
  override addListener(listener: StatListener): this;
  override addListener(eventName: string | symbol, listener: VfsEmitterListener): this;
  override addListener(...args: [StatListener] | [string | symbol, VfsEmitterListener]): this {
    return args.length === 1 ? super.addListener('change', args[0]) : super.addListener(...args);
  }
  /** With one argument, @platformatic/vfs's form: stops `listener` hearing `change`, true when it did. With two, EventEmitter's. */
  override removeListener(listener: StatListener): boolean;
  override removeListener(eventName: string | symbol, listener: VfsEmitterListener): this;
  override removeListener(...args: [StatListener] | [string | symbol, VfsEmitterListener]): this | boolean {
    if (args.length === 2) return super.removeListener(...args);
    const had = this.listeners('change').includes(args[0]);
    super.removeListener('change', args[0]);
    return had;
  }
  /** True when nobody listens any more. */
  hasNoListeners(): boolean {
    return this.listenerCount('change') === 0;
  }
  /** Stops watching and emits `stop`. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#unsubscribe();
    this.emit('stop');
  }
  /** No-op. */
  ref(): this {
    return this;
  }
  /** No-op. */
  unref(): this {
    return this;
  }
}

/** The watchFile registry of one provider: one StatWatcher per path, shared by its listeners. */
export class StatWatchers {
  readonly #db: Database;
  readonly #byPath = new Map<string, WorkspaceStatWatcher>();

  constructor(db: Database) {
    this.#db = db;
  }

  /** fs.watchFile. */
  watch(path: string, listener?: StatListener): WorkspaceStatWatcher {
    let watcher = this.#byPath.get(path);
    if (!watcher) {
      watcher = new WorkspaceStatWatcher(this.#db, path);
      this.#byPath.set(path, watcher);
    }
    if (listener) watcher.on('change', listener);
    return watcher;
  }

  /** fs.unwatchFile: removes `listener`, or every listener; stops the watcher when none remain. */
  unwatch(path: string, listener?: StatListener): void {
    const watcher = this.#byPath.get(path);
    if (!watcher) return;
    if (listener) watcher.off('change', listener);
    else watcher.removeAllListeners('change');
    if (watcher.hasNoListeners()) {
      watcher.stop();
      this.#byPath.delete(path);
    }
  }
}
