/**
 * Path validation and normalisation. Every public entry point passes its paths through
 * {@link normalizePath} before touching storage.
 *
 * @module
 */
import { fsError } from './errors.ts';

/**
 * Linux's PATH_MAX, in UTF-8 bytes: the limit of one path *argument* of a system call, which the
 * kernel applies to programs on the mount and node-shaped adapters apply to their arguments, and
 * the limit of a symlink's target. Not a limit on depth: a workspace path may be longer.
 */
export const MAX_PATH_BYTES = 4096;
/**
 * Longest workspace path the engine accepts, in UTF-8 bytes: deep enough for any tree a program
 * can build on Linux one short argument at a time (`mkdir a; cd a; mkdir a; …`), and well inside
 * the 2 MB a stored value may hold.
 */
export const MAX_WORKSPACE_PATH_BYTES = 1024 * 1024;
/** Longest accepted name, in UTF-8 bytes (Linux NAME_MAX). */
export const MAX_NAME_BYTES = 255;

const encoder = new TextEncoder();
/** True when `text` is longer than `max` UTF-8 bytes; encodes only when the length alone cannot tell. */
const exceedsBytes = (text: string, max: number): boolean =>
  text.length > max || (text.length * 3 > max && encoder.encode(text).length > max);

/**
 * Splits an absolute path into its names, dropping `.` and empty segments and applying `..`
 * lexically. Relative, empty or NUL-containing paths and `..` above the root are EINVAL;
 * names over 255 bytes and paths over {@link MAX_WORKSPACE_PATH_BYTES} are ENAMETOOLONG.
 */
export function splitPath(path: unknown, syscall: string): string[] {
  if (typeof path !== 'string') {
    throw fsError('EINVAL', syscall, String(path), undefined, 'the path must be a string');
  }
  if (path.length === 0 || path[0] !== '/') {
    throw fsError('EINVAL', syscall, path, undefined, 'paths must be absolute, starting with /');
  }
  if (path.includes('\0'))
    throw fsError('EINVAL', syscall, path.replaceAll('\0', '\\0'), undefined, 'NUL byte in path');
  if (exceedsBytes(path, MAX_WORKSPACE_PATH_BYTES)) {
    throw fsError(
      'ENAMETOOLONG',
      syscall,
      `${path.slice(0, 64)}…`,
      undefined,
      `workspace paths are limited to ${MAX_WORKSPACE_PATH_BYTES} bytes`,
    );
  }
  const names: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      if (names.length === 0) throw fsError('EINVAL', syscall, path, undefined, "'..' above the root");
      names.pop();
      continue;
    }
    if (exceedsBytes(segment, MAX_NAME_BYTES)) {
      throw fsError('ENAMETOOLONG', syscall, path, undefined, `names are limited to ${MAX_NAME_BYTES} bytes`);
    }
    names.push(segment);
  }
  return names;
}

/** Returns the normalised absolute form of `path`: `.` and empty segments dropped, `..` applied; bad paths are refused as by every primitive. */
export function normalizePath(path: unknown, syscall: string): string {
  return joinPath(splitPath(path, syscall));
}

/**
 * True when `path` ends in a slash (and is not the root), or in a `.` name ({@link endsWithDot}):
 * it can only name a directory. Linux's rule, which every primitive applies: a lookup (stat, open,
 * readlink, link's source) follows a final symlink and requires a directory (ENOTDIR otherwise);
 * unlink, rmdir and rename look at the final entry itself and refuse a non-directory; a creator
 * refuses to make anything but a directory there (symlink and link: ENOENT; open with O_CREAT,
 * writeFile, copyFile's destination: EISDIR; mkdir alone may).
 */
export function endsWithSlash(path: unknown): boolean {
  return typeof path === 'string' && path.length > 1 && (path.endsWith('/') || endsWithDot(path));
}

/**
 * True when the last name of `path` is `.` (`/d/.`): the directory before it is looked up as a
 * directory, following a symlink, and must exist (ENOENT, ENOTDIR otherwise), for every call, a
 * creator's included; then the call acts on that directory itself, as Linux's: mkdir, symlink and
 * link are EEXIST, open for writing EISDIR, rmdir and rm EINVAL, rename EBUSY. (`..` is applied
 * lexically, so `/f/..` is `/`.)
 */
export function endsWithDot(path: unknown): boolean {
  if (typeof path !== 'string') return false;
  // Character by character: every path the engine is given passes here.
  let end = path.length;
  while (end > 1 && path.charCodeAt(end - 1) === 0x2f) end--;
  return path.charCodeAt(end - 1) === 0x2e && (end === 1 || path.charCodeAt(end - 2) === 0x2f);
}

/** Joins names into an absolute path; no names is the root. */
export function joinPath(names: readonly string[]): string {
  return names.length === 0 ? '/' : `/${names.join('/')}`;
}

/** The path of `name` inside the directory `dir`. */
export function childPath(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

/** The parent directory of a normalised path (the root is its own parent). */
export function parentPath(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash <= 0 ? '/' : path.slice(0, slash);
}

/** True when `path` is `ancestor` or lies below it (both normalised). */
export function isSameOrBelow(path: string, ancestor: string): boolean {
  return ancestor === '/' || path === ancestor || path.startsWith(`${ancestor}/`);
}

/** Orders strings by their UTF-8 bytes (as SQLite orders TEXT), which is code point order. */
export function compareBytes(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i) ?? 0;
    const y = b.codePointAt(i) ?? 0;
    if (x !== y) return x < y ? -1 : 1;
    if (x > 0xffff) i++;
  }
  return a.length - b.length;
}
