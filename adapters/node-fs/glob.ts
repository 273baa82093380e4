/**
 * fs.globSync over a workspace, matching one path segment at a time as node's glob does: `*` and
 * friends skip dotfiles unless the segment starts with a dot; `**` and wildcard segments cross
 * directories but not symlinks (unless `followSymlinks`, which stops at cycles) or, for `**`,
 * dot-directories; a literal segment followed by more segments descends into a symlinked directory.
 * Results are relative to `cwd` (absolute for absolute patterns); a pattern ending in `/` matches
 * directories only; Dirents name their parent as node's do, `options.cwd` as given joined to the
 * result (absolute when it is). Braces work within a segment
 * (picomatch); braces spanning a `/` are not expanded.
 *
 * @module
 */
import picomatch from 'picomatch';
import type { Database } from '../../core/index.ts';
import { isFsError, type NodeType, readdir } from '../../core/index.ts';
import { invalidType, toPath } from '../vfs/args.ts';
import { makeDirent } from './classes.ts';
import { basename, dirname, join, resolveFully } from './paths.ts';

/** What the walk needs. */
export interface GlobEnv {
  readonly db: Database;
  readonly cwd: string;
  /** 1 for a directory (following symlinks), 0 for anything else, negative when missing. */
  readonly provider: { internalModuleStat(path: string): number };
  lstatSync(path: string): { isDirectory(): boolean; isSymbolicLink(): boolean } | undefined;
  realpathSync(path: string): string | Uint8Array;
}

type Exclude = (path: string, type: NodeType) => boolean;

/** fs.globSync(pattern | patterns, { cwd, exclude, withFileTypes }). */
export function globSync(env: GlobEnv, pattern: unknown, options: Record<string, unknown>): Array<string | object> {
  const patterns = Array.isArray(pattern) ? pattern : [pattern];
  for (const p of patterns) if (typeof p !== 'string') throw invalidType('pattern', 'of type string', p);
  const cwd = options.cwd === undefined ? env.cwd : resolveFully(env.cwd, toPath(options.cwd, 'options.cwd'));
  // node's Dirents are built from its root joined to each result: the cwd option as given, or '.'.
  const root = options.cwd === undefined ? '.' : toPath(options.cwd, 'options.cwd');
  const withFileTypes = options.withFileTypes === true;
  const follow = options.followSymlinks === true;
  const exclude = toExclude(options.exclude, withFileTypes);
  const found = new Map<string, NodeType>();
  // A pattern ending in '/' (minimatch's last part '') matches directories only; see `emit`.
  let dirsOnly = false;

  const children = (dir: string): Array<{ name: string; type: NodeType; path: string }> => {
    try {
      return readdir(env.db, dir);
    } catch (error) {
      if (isFsError(error)) return [];
      throw error;
    }
  };
  /**
   * Adds a result. With a trailing slash only a directory is one, as node's glob: listed entries by
   * their own type (a link to a directory is not), and a literal last name looked up by lstat also
   * when it is a symlink (`linkIsDir`), to whatever it points.
   */
  const emit = (path: string, type: NodeType, linkIsDir = false): void => {
    if (dirsOnly && type !== 'dir' && !(linkIsDir && type === 'symlink')) return;
    // `**` matching nothing at the top names the directory itself: `.`.
    const rel = path === '' ? '.' : path;
    if (!found.has(rel) && !exclude(rel, type)) found.set(rel, type);
  };
  // Joined as node's path.join: a literal '..' climbs out of the name before it ('d/../g' is 'g').
  const relOf = (rel: string, name: string): string => (rel === '' ? name : join(rel, name));

  const segmentMatches = (segment: string, name: string): boolean =>
    segment === '**' || segment === name || picomatch(segment, { dot: segment.startsWith('.'), windows: false })(name);

  /** Whether a child is crossed by `**` or a wildcard: a directory, or with followSymlinks a link to one not already on the way. */
  const crosses = (child: { type: NodeType; path: string }, way: ReadonlySet<string>): string | undefined => {
    if (child.type === 'dir') return child.path;
    if (!follow || child.type !== 'symlink' || env.provider.internalModuleStat(child.path) !== 1) return undefined;
    const real = String(env.realpathSync(child.path));
    return way.has(real) ? undefined : real;
  };

  // `named`: the directory was crossed by `**` with its own name matching the segment after it
  // (node then also looks that segment up inside it, and takes the lookup's answer over the listing).
  const expand = (
    dir: string,
    rel: string,
    segments: string[],
    way: ReadonlySet<string> = new Set(),
    named = false,
  ): void => {
    if (rel !== '' && exclude(rel, 'dir')) return;
    if (segments.length === 0) {
      emit(rel, 'dir');
      return;
    }
    const [segment, ...rest] = segments;
    if (segment === '**') {
      expand(dir, rel, rest, way);
      for (const child of children(dir)) {
        if (child.name.startsWith('.')) continue;
        const childRel = relOf(rel, child.name);
        if (rest.length === 0) emit(childRel, child.type);
        // As node's glob: a child matching the last segment after `**` is a result as listed, with
        // no lookup of its own (one the caller cannot search for, in a directory without x, still
        // is), unless the directory's own name matched that segment too (see `named`).
        else if (rest.length === 1 && rest[0] !== '**' && !named && segmentMatches(rest[0], child.name))
          emit(childRel, child.type);
        const real = crosses(child, way);
        const next = rest.length > 0 && segmentMatches(rest[0], child.name);
        if (real !== undefined) expand(child.path, childRel, segments, new Set(way).add(real), next);
        // As node's glob: a symlink named like the segment after `**` is crossed once, and
        // the rest of the pattern is matched inside it (`**` itself goes no deeper through it).
        else if (child.type === 'symlink' && rest.length > 0 && segmentMatches(rest[0], child.name))
          expand(child.path, childRel, rest, way);
      }
      return;
    }
    if (!picomatch.scan(segment).isGlob) {
      const path = join(dir, segment);
      const childRel = relOf(rel, segment);
      if (rest.length === 0) {
        let info: ReturnType<GlobEnv['lstatSync']>;
        try {
          info = env.lstatSync(path);
        } catch (error) {
          if (!isFsError(error)) throw error;
        }
        if (info) emit(childRel, info.isDirectory() ? 'dir' : info.isSymbolicLink() ? 'symlink' : 'file', true);
      } else if (env.provider.internalModuleStat(path) === 1) {
        expand(path, childRel, rest, way);
      }
      return;
    }
    const matches = picomatch(segment, { dot: segment.startsWith('.'), windows: false });
    for (const child of children(dir)) {
      if (!matches(child.name)) continue;
      const childRel = relOf(rel, child.name);
      if (rest.length === 0) {
        emit(childRel, child.type);
        continue;
      }
      const real = crosses(child, way);
      if (real !== undefined) expand(child.path, childRel, rest, new Set(way).add(real));
    }
  };

  for (const p of patterns as string[]) {
    dirsOnly = p.endsWith('/');
    const absolute = p.startsWith('/');
    const segments = p.split('/').filter((s) => s !== '' && s !== '.');
    expand(absolute ? '/' : cwd, absolute ? '/' : '', segments);
  }
  const paths = [...found.keys()];
  if (!withFileTypes) return paths;
  return paths.map((path) => {
    const full = path.startsWith('/') ? path : join(root, path);
    return makeDirent(basename(full), found.get(path) as NodeType, dirname(full));
  });
}

function toExclude(exclude: unknown, withFileTypes: boolean): Exclude {
  if (exclude === undefined) return () => false;
  if (typeof exclude === 'function')
    return (path, type) => Boolean(exclude(withFileTypes ? makeDirent(basename(path), type, dirname(path)) : path));
  if (Array.isArray(exclude)) {
    const tests = exclude.map((glob) => picomatch(String(glob), { windows: false }));
    return (path) => tests.some((test) => test(path));
  }
  throw invalidType('options.exclude', 'of type function or an Array', exclude);
}
