/**
 * POSIX path arithmetic for the node:fs surface, without `node:path` (so nothing here depends on
 * what a runtime provides): relative paths resolve against the module's working directory, and
 * `..` at the root stays at the root, as the kernel treats it.
 *
 * @module
 */

import { endsWithDot } from '../../core/index.ts';

/** `path.posix.normalize`: `.` and empty segments dropped, `..` applied lexically, a trailing slash kept. */
export function normalize(path: string): string {
  if (path === '') return '.';
  const absolute = path.startsWith('/');
  const trailing = path.endsWith('/');
  const out: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!absolute) out.push('..');
      continue;
    }
    out.push(segment);
  }
  let joined = out.join('/');
  if (joined === '') return absolute ? '/' : trailing ? './' : '.';
  if (trailing) joined += '/';
  return absolute ? `/${joined}` : joined;
}

/** `path.posix.join`. */
export function join(...parts: string[]): string {
  const kept = parts.filter((part) => part !== '');
  return kept.length === 0 ? '.' : normalize(kept.join('/'));
}

/** `path.posix.dirname`. */
export function dirname(path: string): string {
  const trimmed = path.length > 1 ? path.replace(/\/+$/, '') : path;
  const slash = trimmed.lastIndexOf('/');
  if (slash === -1) return '.';
  if (slash === 0) return '/';
  return trimmed.slice(0, slash);
}

/** `path.posix.basename`. */
export function basename(path: string): string {
  const trimmed = path.length > 1 ? path.replace(/\/+$/, '') : path;
  return trimmed.slice(trimmed.lastIndexOf('/') + 1);
}

/** True for an absolute path. */
export const isAbsolute = (path: string): boolean => path.startsWith('/');

/**
 * The absolute workspace path of `path` seen from `cwd` (itself absolute and normalised). A
 * trailing slash is kept: it means "must be a directory".
 */
export function resolveFrom(cwd: string, path: string): string {
  const resolved = normalize(isAbsolute(path) ? path : `${cwd}/${path}`);
  // A final '.' is kept: the engine looks the directory up and acts on it itself ('d/.' cannot be removed).
  if (!endsWithDot(path)) return resolved;
  return resolved.endsWith('/') ? `${resolved}.` : `${resolved}/.`;
}

/**
 * Applies each `..` of an absolute path as the kernel does: to the directory the names before it
 * lead to, following symlinks (`realDir` returns that directory's real path, or undefined when
 * they name no directory). Where they name none, the path stops there as `prefix/.` (what follows
 * is never reached), so the engine's own lookup answers the kernel's error (ENOTDIR after a file,
 * ENOENT, ELOOP, EACCES) for every call, with the call's syscall. Paths without `..` come back as given.
 */
export function physicalDotDot(path: string, realDir: (prefix: string) => string | undefined): string {
  if (!path.includes('..')) return path;
  const segments = path.split('/');
  let names: string[] = [];
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i];
    if (segment !== '..') {
      if (segment !== '' && segment !== '.') names.push(segment);
      continue;
    }
    if (names.length === 0) continue; // '..' at the root stays there
    const prefix = `/${names.join('/')}`;
    const real = realDir(prefix);
    if (real === undefined) return `${prefix}/.`;
    names = real.split('/').filter((name) => name !== '');
    names.pop();
  }
  // The path keeps its own ending: a trailing slash means a directory; a final '.' or '..' is the
  // directory itself, never an entry to create, remove or move (the engine's rule for a final '.').
  const last = segments.findLast((segment) => segment !== '');
  const tail = last === '.' || last === '..' ? '/.' : path.endsWith('/') ? '/' : '';
  return `/${names.join('/')}${tail}`.replace(/^\/\//, '/');
}

/** True when the last name of `path` is `..`: rmdir says ENOTEMPTY there, where a final '.' is EINVAL. */
export const endsWithDotDot = (path: string): boolean => /(^|\/)\.\.\/*$/.test(path);

/** `path.posix.resolve` from `cwd`, without a trailing slash or a final `.`. */
export function resolveFully(cwd: string, path: string): string {
  const resolved = normalize(isAbsolute(path) ? path : `${cwd}/${path}`);
  return resolved.length > 1 && resolved.endsWith('/') ? resolved.slice(0, -1) : resolved;
}

/** True when `child` is `parent` or lies below it (both resolved). */
export function isSameOrBelow(child: string, parent: string): boolean {
  return parent === '/' || child === parent || child.startsWith(`${parent}/`);
}
