/**
 * node's asynchronous recursive mkdir (`fs.mkdir`, `fs.promises.mkdir`; `MKDirpAsync` in node's
 * src/node_file.cc), step for step over one-level mkdir and stat. It differs from the native
 * `mkdirSync` where a path has a dangling symlink in it: a link in the middle is ENOTDIR at the
 * link, a link at the end is ENOENT at the path, and errors name the step that failed, spelled as
 * derived from the path given (`c//x` fails at `c/`), not the path given.
 *
 * @module
 */
import { type ErrorCode, FsError, fsError } from '../../core/index.ts';

/** The two primitives the algorithm runs on, each given a path in the caller's own spelling. */
export interface MkdirpSteps {
  /** mkdir(2) of one directory, not recursive; throws an FsError. */
  make(path: string): void;
  /** stat(2), following links: true for a directory; throws an FsError. */
  isDirectory(path: string): boolean;
}

const codeOf = (error: unknown): ErrorCode => {
  if (error instanceof FsError) return error.code;
  throw error;
};

/**
 * Runs node's MKDirpAsync on `path`, or with `native` its MKDirpSync (mkdirSync's): that one names
 * the whole path in every error, and a name in the middle that exists but cannot be stat'ed (a
 * dangling link) fails with stat's own error. Returns the first directory created, as spelled, or undefined.
 */
export function mkdirpAsLibuv(path: string, steps: MkdirpSteps, native = false): string | undefined {
  try {
    return mkdirp(path, steps, native);
  } catch (error) {
    if (native && error instanceof FsError) throw fsError(error.code, 'mkdir', path);
    throw error;
  }
}

function mkdirp(path: string, steps: MkdirpSteps, native: boolean): string | undefined {
  const stack = [path];
  let first: string | undefined;
  while (stack.length > 0) {
    const step = stack.pop() as string;
    let code: ErrorCode;
    try {
      steps.make(step);
      first ??= step;
      continue;
    } catch (error) {
      code = codeOf(error);
    }
    // EROFS is not in node's list (it would stat and report ENOENT); a read-only workspace says so.
    if ((['EACCES', 'ENOSPC', 'ENOTDIR', 'EPERM', 'EROFS'] as ErrorCode[]).includes(code))
      throw fsError(code, 'mkdir', step);
    if (code === 'ENOENT') {
      // node's dirname is the text before the last slash ('c/' for 'c//x').
      const slash = step.lastIndexOf('/');
      const parent = slash <= 0 ? step : step.slice(0, slash);
      if (parent !== step) {
        stack.push(step, parent);
        continue;
      }
      // Nothing above to make: node retries as if the name existed, and stat decides.
      if (stack.length > 0) throw fsError('ENOENT', 'mkdir', step);
      code = 'EEXIST';
    }
    // Anything else: stat says whether a directory is there after all.
    let isDir: boolean;
    try {
      isDir = steps.isDirectory(step);
    } catch (error) {
      // A name in the middle that exists but cannot be walked (a dangling link) is not a directory.
      throw fsError(code === 'EEXIST' && stack.length > 0 && !native ? 'ENOTDIR' : codeOf(error), 'mkdir', step);
    }
    if (code === 'EEXIST' && stack.length > 0) {
      if (isDir) continue;
      throw fsError('ENOTDIR', 'mkdir', step);
    }
    if (!isDir) throw fsError('EEXIST', 'mkdir', step);
    return first;
  }
  return first;
}
