/**
 * Which paths a peer leaves out of sync.
 *
 * @module
 */

/** Nothing is ignored by default (the reference once ignored node_modules; it no longer does). */
export const DEFAULT_IGNORE: readonly string[] = Object.freeze([]);

/**
 * True when `path` contains one of `patterns` as whole segments: `node_modules` matches
 * `/a/node_modules/b` but not `/a/node_modules2`; `a/b` matches `/x/a/b/c`.
 */
export function isIgnored(path: string, patterns: readonly string[] = DEFAULT_IGNORE): boolean {
  if (patterns.length === 0) return false;
  const segments = path.split('/').filter(Boolean);
  return patterns.some((pattern) => {
    const wanted = pattern.split('/').filter(Boolean);
    if (wanted.length === 0) return false;
    for (let start = 0; start + wanted.length <= segments.length; start++) {
      if (wanted.every((name, i) => segments[start + i] === name)) return true;
    }
    return false;
  });
}
