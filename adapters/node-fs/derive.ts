/**
 * The one place every other form comes from. The engine is synchronous, so each node:fs function is
 * written once, as its `fooSync` method (sync.ts); here each becomes
 *
 * - the public `fooSync`, whose engine errors leave it node-shaped (errors.ts),
 * - the callback form `foo(...args, cb)`: argument errors throw at once as in node, everything else
 *   reaches `cb` on a later tick (with node's extra callback arguments for read, write, readv, writev),
 * - the promise form `promises.foo`, for the functions node has there, and the FileHandle methods
 *   that are an fd function with the handle's fd first.
 *
 * Only what has another shape is written by hand: exists' callback, cp with an async filter, open's
 * FileHandle, promises.glob's async iterator, writeFile from an iterable, watch and the streams.
 *
 * @module
 */
import { Buffer } from 'node:buffer';
import type { Database } from '../../core/index.ts';
import { checkEncoding, invalidType } from '../vfs/args.ts';
import { WorkspaceStats } from '../vfs/stats.ts';
import type { WorkspaceStatWatcher } from '../vfs/watch.ts';
import { constants, DirentClass, HostStats, toNodeStats } from './classes.ts';
import { checkCpOptions, cpSteps, runAsync } from './cp.ts';
import { Dir } from './dir.ts';
import { codedError } from './errors.ts';
import { FileHandle, writeAll } from './file-handle.ts';
import { later, settle } from './later.ts';
import { ReadStream, WriteStream } from './streams.ts';
import { type NodeFsSync, toUnixTimestamp } from './sync.ts';

type Fn = (...args: unknown[]) => unknown;

/** node:fs's callback shape of each function whose result is more than one value. */
const CALLBACK_SHAPES: Record<
  string,
  { prepare?: (args: unknown[]) => unknown[]; spread: (result: unknown, args: unknown[]) => unknown[] }
> = {
  read: {
    // fs.read(fd, cb) and fs.read(fd, { buffer, offset, length, position }, cb) read into a fresh 16 KiB buffer by default.
    prepare: (args) => {
      if (ArrayBuffer.isView(args[1])) return args;
      const opts = (args[1] ?? {}) as { buffer?: Uint8Array; offset?: number; length?: number; position?: number };
      const buffer = opts.buffer ?? Buffer.alloc(16384);
      const offset = opts.offset ?? 0;
      return [args[0], buffer, offset, opts.length ?? buffer.byteLength - offset, opts.position ?? null];
    },
    spread: (bytesRead, args) => [bytesRead, args[1]],
  },
  write: { spread: (bytesWritten, args) => [bytesWritten, args[1]] },
  readv: { spread: (bytesRead, args) => [bytesRead, args[1]] },
  writev: { spread: (bytesWritten, args) => [bytesWritten, args[1]] },
  // With throwIfNoEntry: false, a path that cannot exist calls back (null, undefined), as node.
  stat: { spread: (stats) => [stats] },
};

/** fd I/O that goes through the provider's write buffers: it leaves pending fd writes pending. */
const FD_IO = new Set(['readSync', 'writeSync', 'readvSync', 'writevSync', 'fstatSync', 'ftruncateSync']);

/** Sync functions with no callback form of the same name. */
const NO_CALLBACK = new Set(['exists', 'mkdtempDisposable']);

/** The functions `fs.promises` has (lchmod is macOS-only in node; exists, fstat and the other fd functions live on FileHandle). */
const PROMISES = [
  'access',
  'appendFile',
  'chmod',
  'chown',
  'copyFile',
  'lchown',
  'link',
  'lstat',
  'lutimes',
  'mkdir',
  'mkdtemp',
  'opendir',
  'readdir',
  'readFile',
  'readlink',
  'realpath',
  'rename',
  'rm',
  'rmdir',
  'stat',
  'statfs',
  'symlink',
  'truncate',
  'unlink',
  'utimes',
  'writeFile',
];

/** FileHandle methods that are an fd function with the handle's fd first: method → [function, syscall]. */
const HANDLE_METHODS: Record<string, [string, string]> = {
  stat: ['fstatSync', 'fstat'],
  truncate: ['ftruncateSync', 'ftruncate'],
  sync: ['fsyncSync', 'fsync'],
  datasync: ['fdatasyncSync', 'fdatasync'],
  chmod: ['fchmodSync', 'fchmod'],
  chown: ['fchownSync', 'fchown'],
  utimes: ['futimesSync', 'futime'],
  readFile: ['readFileSync', 'readFile'],
};

/** The functions whose options take an AbortSignal, as node's. */
const SIGNALLED = new Set(['readFile', 'writeFile', 'appendFile']);

/** node's AbortError when an options argument carries an aborted signal. */
function abortedBy(args: readonly unknown[]): Error | undefined {
  for (const arg of args) {
    const signal = (arg as { signal?: AbortSignal } | null)?.signal;
    if (typeof arg === 'object' && signal?.aborted) {
      const error = codedError('ABORT_ERR', 'The operation was aborted');
      error.name = 'AbortError';
      error.cause = signal.reason;
      return error;
    }
  }
  return undefined;
}

const isArgError = (error: unknown): boolean =>
  (error instanceof TypeError || error instanceof RangeError) &&
  String((error as { code?: unknown }).code).startsWith('ERR_');

/** Takes the trailing callback off `args`, as node validates it. */
function callbackOf(args: unknown[]): Fn {
  const cb = args.pop();
  if (typeof cb !== 'function') throw invalidType('cb', 'of type function', cb);
  return cb as Fn;
}

// FileHandle methods that are fd functions, calling the handle's own module.
for (const [method, [syncName, syscall]] of Object.entries(HANDLE_METHODS)) {
  Object.defineProperty(FileHandle.prototype, method, {
    configurable: true,
    writable: true,
    value(this: FileHandle, ...args: unknown[]) {
      return this.use(syscall, (fd, fs) => (fs as unknown as Record<string, Fn>)[syncName](fd, ...args));
    },
  });
}

/** Builds the node:fs object of one workspace from its sync surface. */
export function deriveNodeFs(sync: NodeFsSync): Record<string, unknown> {
  const fs: Record<string, unknown> = {};
  // Every call but fd I/O first commits pending fd writes, so the engine it reaches holds them.
  const run = <T>(fn: () => T, fdIo = false): T => {
    if (!fdIo) sync.provider.settleWrites();
    return sync.scope.run(fn);
  };
  const handleFs = fs as unknown as ConstructorParameters<typeof FileHandle>[0];
  const methods = sync as unknown as Record<string, Fn>;
  const promises: Record<string, unknown> = {};

  // Sync forms: every `fooSync` method, errors made node-shaped.
  const names = Object.getOwnPropertyNames(Object.getPrototypeOf(sync)).filter(
    (key) => key.endsWith('Sync') && key !== 'realpathNativeSync',
  );
  for (const key of names) {
    const fdIo = FD_IO.has(key);
    fs[key] = (...args: unknown[]) => run(() => methods[key].apply(sync, args), fdIo);
  }
  const realpathNative = (...args: unknown[]) => run(() => sync.realpathNativeSync(args[0], args[1]));
  Object.assign(fs.realpathSync as object, { native: realpathNative });

  // Callback forms.
  const callbackForm =
    (syncFn: Fn, shape?: (typeof CALLBACK_SHAPES)[string], signalled = false) =>
    (...args: unknown[]): void => {
      const cb = callbackOf(args);
      const input = shape?.prepare ? shape.prepare(args) : args;
      const aborted = signalled ? abortedBy(input) : undefined;
      if (aborted) {
        later(() => cb(aborted));
        return;
      }
      let result: unknown;
      try {
        result = syncFn(...input);
      } catch (error) {
        if (isArgError(error)) throw error;
        later(() => cb(error));
        return;
      }
      const values = shape ? shape.spread(result, input) : result === undefined ? [] : [result];
      later(() => cb(null, ...values));
    };
  for (const key of names) {
    const name = key.slice(0, -4);
    if (!NO_CALLBACK.has(name)) fs[name] = callbackForm(fs[key] as Fn, CALLBACK_SHAPES[name], SIGNALLED.has(name));
  }
  // node's fs.close takes its callback as optional; without one, an error is thrown (uncaught), as node's.
  const closeForm = fs.close as Fn;
  const defaultCloseCallback = (error: unknown): void => {
    if (error != null) throw error;
  };
  fs.close = (fd: unknown, cb: unknown = defaultCloseCallback): void => {
    closeForm(fd, cb);
  };
  Object.assign(fs.realpath as object, { native: callbackForm(realpathNative) });
  fs.exists = (path: unknown, cb: unknown): void => {
    if (typeof cb !== 'function') throw invalidType('cb', 'of type function', cb);
    const found = (fs.existsSync as Fn)(path);
    later(() => cb(found));
  };

  // Promise forms: a FileHandle stands for its fd where node accepts one.
  const fdOf = (value: unknown): unknown => (value instanceof FileHandle ? value.fd : value);
  for (const name of PROMISES) {
    const syncFn = fs[`${name}Sync`] as Fn;
    promises[name] = (...args: unknown[]) => {
      const aborted = SIGNALLED.has(name) ? abortedBy(args) : undefined;
      return aborted ? Promise.reject(aborted) : settle(() => syncFn(fdOf(args[0]), ...args.slice(1)));
    };
  }

  // node's promises.readdir does not validate `recursive`: any truthy value recurses.
  const readdirPromise = promises.readdir as Fn;
  promises.readdir = (path: unknown, options?: unknown) => {
    const opts = options as { recursive?: unknown } | null | undefined;
    if (typeof opts !== 'object' || opts === null || opts.recursive === undefined) return readdirPromise(path, options);
    return readdirPromise(path, { ...opts, recursive: Boolean(opts.recursive) });
  };

  // What has another shape.
  const cpAsync = (src: unknown, dest: unknown, options?: Parameters<typeof cpSteps>[3]) =>
    runAsync(
      run(() => cpSteps(sync, src, dest, options)),
      options?.filter ?? (() => true),
      run,
    );
  fs.cp = (...args: unknown[]): void => {
    const cb = callbackOf(args);
    checkCpOptions(args[2] as Parameters<typeof cpSteps>[3]); // node validates before it calls back
    cpAsync(args[0], args[1], args[2] as Parameters<typeof cpSteps>[3]).then(
      () => cb(null),
      cb as (e: unknown) => void,
    );
  };
  // fs.mkdir and promises.mkdir are libuv's mkdirp, which differs from the native mkdirSync in one case.
  const mkdirAsync = (...args: unknown[]) => run(() => sync.mkdirAsyncSemantics(args[0], args[1]));
  fs.mkdir = callbackForm(mkdirAsync);
  promises.mkdir = (...args: unknown[]) => settle(() => mkdirAsync(...args));
  // fs.opendir and promises.opendir name the path in their errors; opendirSync does not.
  const opendirAsync = (...args: unknown[]) => run(() => sync.opendirAsyncSemantics(args[0], args[1]));
  const opendirCallback = callbackForm(opendirAsync);
  // node's opendir names its callback 'callback' (the others say 'cb').
  fs.opendir = (...args: unknown[]): void => {
    if (typeof args.at(-1) !== 'function') throw invalidType('callback', 'of type function', args.at(-1));
    opendirCallback(...args);
  };
  promises.opendir = (...args: unknown[]) => settle(() => opendirAsync(...args));
  // fs.mkdtemp and promises.mkdtemp name the path they tried in their errors; mkdtempSync the template.
  const mkdtempAsync = (...args: unknown[]) => run(() => sync.mkdtempAsyncSemantics(args[0], args[1]));
  fs.mkdtemp = callbackForm(mkdtempAsync);
  promises.mkdtemp = (...args: unknown[]) => settle(() => mkdtempAsync(...args));
  // fs.rm and promises.rm are node's JavaScript rm, which differs from the native rmSync in one case.
  const rmJs = (...args: unknown[]) => run(() => sync.rmJs(args[0], args[1] as never));
  fs.rm = callbackForm(rmJs);
  promises.rm = (...args: unknown[]) => settle(() => rmJs(...args));
  // promises.realpath is realpath(3), as node's: errors name `realpath` and the path as given.
  promises.realpath = (...args: unknown[]) => settle(() => realpathNative(...args));
  // node's lstat callback and promise forms ignore throwIfNoEntry (only lstatSync honours it).
  const lstatAlways = (path: unknown, options?: unknown) =>
    run(() =>
      sync.lstatSync(
        path,
        typeof options === 'object' && options !== null ? { ...options, throwIfNoEntry: true } : (options as never),
      ),
    );
  fs.lstat = callbackForm(lstatAlways as Fn);
  promises.lstat = (...args: unknown[]) => settle(() => lstatAlways(args[0], args[1]));
  promises.cp = cpAsync;
  promises.open = (path: unknown, flags?: unknown, mode?: unknown) =>
    settle(() => new FileHandle(handleFs, (fs.openSync as Fn)(path, flags, mode) as number));
  const writeFrom = (flag: string) => async (file: unknown, data: unknown, options?: unknown) => {
    const aborted = abortedBy([options]);
    if (aborted) throw aborted;
    if (file instanceof FileHandle) return file.writeFile(data, options);
    if (typeof data === 'string' || ArrayBuffer.isView(data))
      return (fs[flag === 'a' ? 'appendFileSync' : 'writeFileSync'] as Fn)(file, data, options);
    const opts = (typeof options === 'string' ? { encoding: options } : (options ?? {})) as Record<string, unknown>;
    const fd = (fs.openSync as Fn)(file, opts.flag ?? flag, opts.mode) as number;
    try {
      await writeAll(handleFs, fd, data, options);
    } finally {
      (fs.closeSync as Fn)(fd);
    }
  };
  promises.writeFile = writeFrom('w');
  promises.appendFile = writeFrom('a');
  promises.glob = async function* (pattern: unknown, options?: unknown) {
    yield* (fs.globSync as Fn)(pattern, options) as unknown[];
  };
  promises.mkdtempDisposable = (prefix: unknown, options?: unknown) =>
    settle(() => {
      const path = String(mkdtempAsync(prefix, options));
      const remove = () => settle(() => (fs.rmSync as Fn)(path, { recursive: true, force: true }));
      return { path, remove, [Symbol.asyncDispose]: remove };
    });
  // Watching starts at once (events from then on are kept), but as node's async generator every
  // error, a missing path's too, comes from the first next(), not from the call.
  promises.watch = (filename: unknown, options?: unknown) => {
    try {
      return run(() => sync.provider.watchAsync(sync.abs(filename, 'watch'), normalizeWatchOptions(options)));
    } catch (error) {
      return failedIterator(error);
    }
  };
  promises.constants = constants;
  // As node on Linux: lchmod exists only on macOS; the promise form rejects.
  promises.lchmod = () =>
    Promise.reject(codedError('ERR_METHOD_NOT_IMPLEMENTED', 'The lchmod() method is not implemented'));

  fs.watch = (filename: unknown, options?: unknown, listener?: unknown) =>
    run(() => {
      if (typeof options === 'function') [listener, options] = [options, undefined];
      const watcher = sync.provider.watch(sync.abs(filename, 'watch'), normalizeWatchOptions(options));
      if (typeof listener === 'function') watcher.on('change', listener as Fn);
      return watcher;
    });
  const statListeners = new WeakMap<Fn, Fn>();
  fs.watchFile = (filename: unknown, options?: unknown, listener?: unknown): WorkspaceStatWatcher =>
    run(() => {
      if (typeof options === 'function') [listener, options] = [options, undefined];
      if (typeof listener !== 'function') throw invalidType('listener', 'of type function', listener);
      const fn = listener as Fn;
      const wrapped: Fn =
        statListeners.get(fn) ??
        ((curr, prev) => fn(toNodeStats(curr as WorkspaceStats), toNodeStats(prev as WorkspaceStats)));
      statListeners.set(fn, wrapped);
      return sync.provider.watchFile(sync.abs(filename, 'watch'), wrapped as never) as unknown as WorkspaceStatWatcher;
    });
  fs.unwatchFile = (filename: unknown, listener?: unknown): void =>
    run(() => {
      const wrapped = typeof listener === 'function' ? statListeners.get(listener as Fn) : undefined;
      if (typeof listener === 'function' && !wrapped) return;
      sync.provider.unwatchFile(sync.abs(filename, 'watch'), wrapped as never);
    });
  fs.createReadStream = (path: unknown, options?: unknown) => new ReadStream(handleFs, path, options);
  fs.createWriteStream = (path: unknown, options?: unknown) => new WriteStream(handleFs, path, options);
  fs.openAsBlob = (path: unknown, options?: { type?: string }) =>
    settle(() => new Blob([(fs.readFileSync as Fn)(path) as Uint8Array<ArrayBuffer>], { type: options?.type ?? '' }));
  fs._toUnixTimestamp = toUnixTimestamp;

  fs.constants = constants;
  // node keeps these as deprecated, non-enumerable aliases of fs.constants.
  for (const key of ['F_OK', 'R_OK', 'W_OK', 'X_OK'])
    Object.defineProperty(fs, key, { get: () => constants[key], enumerable: false });
  fs.Stats = HostStats ?? WorkspaceStats;
  fs.Dirent = DirentClass;
  fs.Dir = Dir;
  fs.ReadStream = ReadStream;
  fs.WriteStream = WriteStream;
  fs.FileReadStream = ReadStream;
  fs.FileWriteStream = WriteStream;
  // An own, enumerable property, as on node's fs (isomorphic-git looks for exactly that).
  fs.promises = promises;
  definePromisified(fs);
  Object.defineProperties(fs, {
    db: { get: () => sync.db },
    cwd: { get: () => sync.cwd },
    openFds: { get: () => sync.openFds },
  });
  return fs;
}

const PROMISIFY = Symbol.for('nodejs.util.promisify.custom');

/**
 * What util.promisify makes of these, as of node's: `exists` resolves a boolean (its callback takes
 * no error), and read, write, readv and writev resolve both their callback's values by name (node
 * marks them with an internal symbol; without this, promisify(fs.read) resolved bytesRead alone).
 */
function definePromisified(fs: Record<string, unknown>): void {
  const exists = fs.exists as Fn;
  Object.defineProperty(exists, PROMISIFY, {
    value: (path: unknown) => new Promise((resolve) => exists(path, resolve)),
    configurable: true,
  });
  const named: Record<string, [string, string]> = {
    read: ['bytesRead', 'buffer'],
    write: ['bytesWritten', 'buffer'],
    readv: ['bytesRead', 'buffers'],
    writev: ['bytesWritten', 'buffer'],
  };
  for (const [key, [first, second]] of Object.entries(named)) {
    const fn = fs[key] as Fn;
    const promisified = (...args: unknown[]) =>
      new Promise((resolve, reject) =>
        fn(...args, (error: unknown, a: unknown, b: unknown) =>
          error ? reject(error) : resolve({ [first]: a, [second]: b }),
        ),
      );
    Object.defineProperty(fn, PROMISIFY, { value: promisified, configurable: true });
  }
}

/** An async iterator whose first next() rejects with `error`, and is done after: a generator that threw. */
function failedIterator(error: unknown): AsyncIterableIterator<never> {
  let thrown = false;
  const done = (): Promise<IteratorResult<never>> => Promise.resolve({ value: undefined, done: true });
  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    next: () => {
      if (thrown) return done();
      thrown = true;
      return Promise.reject(error);
    },
    return: done,
  };
}

/** fs.watch's options as node's getOptions takes them: a string is the encoding, which must be one Buffer knows. */
function normalizeWatchOptions(options: unknown): { recursive?: boolean; signal?: AbortSignal } {
  const opts =
    typeof options === 'string'
      ? { encoding: options }
      : typeof options === 'object' && options !== null
        ? options
        : {};
  checkEncoding((opts as { encoding?: unknown }).encoding);
  return opts;
}

/** The properties a dofs node:fs object has beyond node's. */
export interface NodeFsExtras {
  /** The workspace handle. */
  readonly db: Database;
  /** The directory relative paths resolve against. */
  readonly cwd: string;
  /** fds open right now, for leak checks. */
  readonly openFds: number;
}
