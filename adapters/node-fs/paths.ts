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

/** `path.posix.resolve` from `cwd`, without a trailing slash or a final `.`. */
export function resolveFully(cwd: string, path: string): string {
  const resolved = normalize(isAbsolute(path) ? path : `${cwd}/${path}`);
  return resolved.length > 1 && resolved.endsWith('/') ? resolved.slice(0, -1) : resolved;
}

/** True when `child` is `parent` or lies below it (both resolved). */
export function isSameOrBelow(child: string, parent: string): boolean {
  return parent === '/' || child === parent || child.startsWith(`${parent}/`);
}
