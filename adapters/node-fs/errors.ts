/**
 * Errors exactly as node:fs makes them: a plain `Error` whose message is
 * `CODE: description, syscall 'path' -> 'dest'` and whose own properties are `errno`, `code`,
 * `syscall`, `path` and `dest` — with `path` and `dest` spelled as the caller gave them, not as the
 * workspace resolved them. Also node's `ERR_FS_*` errors of rm, cp and Dir.
 *
 * @module
 */
import { ERRNO, FsError } from '../../core/errors.ts';
import { codeInName } from '../vfs/args.ts';

/** The node-shaped error of an {@link FsError}, naming paths through `given` (resolved → as given). */
export function toNodeError(error: FsError, given: ReadonlyMap<string, readonly string[]>): Error {
  // Two arguments may resolve alike ('c' and '/c'): the path is named as the first was given, the dest as the last.
  const path = error.path === undefined ? undefined : (given.get(error.path)?.[0] ?? error.path);
  const dest = error.dest === undefined ? undefined : (given.get(error.dest)?.at(-1) ?? error.dest);
  return nodeError(error.code, describeError(error), error.syscall, path, dest);
}

/** The libuv description inside an FsError's message (`ENOENT: <this>, open '/a'`), without the engine's hint. */
export function describeError(error: FsError): string {
  const body = error.message.slice(error.code.length + 2);
  const end = error.detail ? body.indexOf(` (${error.detail})`) : body.lastIndexOf(`, ${error.syscall}`);
  return end === -1 ? body : body.slice(0, end);
}

/** A node:fs system error from its parts. */
export function nodeError(code: string, description: string, syscall: string, path?: string, dest?: string): Error {
  const where = path === undefined ? '' : dest === undefined ? ` '${path}'` : ` '${path}' -> '${dest}'`;
  const error = new Error(`${code}: ${description}, ${syscall}${where}`) as Error & Record<string, unknown>;
  error.errno = ERRNO[code as keyof typeof ERRNO] ?? -1;
  error.code = code;
  error.syscall = syscall;
  if (path !== undefined) error.path = path;
  if (dest !== undefined) error.dest = dest;
  return error;
}

/** The positive errno a SystemError's `info` carries. */
const POSITIVE: Record<string, number> = { EEXIST: 17, ENOTDIR: 20, EISDIR: 21, EINVAL: 22 };

/**
 * Node's `SystemError` for fs-level refusals (`ERR_FS_EISDIR`, `ERR_FS_CP_EEXIST`, ...):
 * `title: syscall returned CODE (detail) path`, with `code`, `info`, `errno`, `syscall`, `path`.
 */
export function systemError(
  code: string,
  title: string,
  info: { code: string; message: string; path: string; syscall: string },
): Error {
  const errno = POSITIVE[info.code] ?? 0;
  const error = new Error(`${title}: ${info.syscall} returned ${info.code} (${info.message}) ${info.path}`) as Error &
    Record<string, unknown>;
  error.name = 'SystemError';
  error.code = code;
  error.info = { ...info, errno };
  error.errno = errno;
  error.syscall = info.syscall;
  error.path = info.path;
  return codeInName(error as unknown as Error & { code: string });
}

/** A node error identified by `code` alone (`ERR_DIR_CLOSED`, `ERR_INVALID_RETURN_VALUE`, ...). */
export function codedError(code: string, message: string, Kind: ErrorConstructor = Error): Error {
  const error = new Kind(message) as Error & { code: string };
  error.code = code;
  return codeInName(error);
}

/**
 * Where a public call records the paths it resolved, so that its errors can name them as given.
 * Calls are synchronous, so a stack of scopes is enough; a nested call has its own.
 */
export class ErrorScope {
  readonly #stack: Array<Map<string, string[]>> = [];

  /** Notes that `resolved` was given as `given` in the current call (in order, when several were). */
  remember(resolved: string, given: string): void {
    const top = this.#stack[this.#stack.length - 1];
    if (!top) return;
    const spellings = top.get(resolved);
    if (!spellings) top.set(resolved, [given]);
    else if (spellings.length < 2 && spellings[0] !== given) spellings.push(given);
  }

  /** Runs one public call: engine errors leave it node-shaped. */
  run<T>(fn: () => T): T {
    const given = new Map<string, string[]>();
    this.#stack.push(given);
    try {
      return fn();
    } catch (error) {
      throw error instanceof FsError ? toNodeError(error, given) : error;
    } finally {
      this.#stack.pop();
    }
  }
}

/** Reruns `fn`, reporting its engine errors under node's syscall name where the engine's differs. */
export function asSyscall<T>(syscall: string, fn: () => T, only?: (error: FsError) => boolean): T {
  try {
    return fn();
  } catch (error) {
    if (!(error instanceof FsError) || error.syscall === syscall || (only && !only(error))) throw error;
    throw new FsError(error.code, syscall, error.path, error.dest, { cause: error.cause, detail: error.detail });
  }
}
