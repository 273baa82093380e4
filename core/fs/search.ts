/**
 * find, ls, grep: searches over a subtree, one recursive query for the listing.
 *
 * @module
 */
import picomatch from 'picomatch';
import { RE2JS } from 're2js';
import { readRange } from '../content.ts';
import { checkOffset, toText } from '../data.ts';
import type { Database } from '../database.ts';
import { fsError } from '../errors.ts';
import { getNode, listDir, type NodeType } from '../nodes.ts';
import { childPath, compareBytes } from '../paths.ts';
import { resolve } from '../resolve.ts';

/** Paging shared by the searches. */
export interface Page {
  /** At most this many results. */
  limit?: number;
  /** Skip this many results first. */
  offset?: number;
}

/** One entry of {@link listTree}. */
export interface Listed {
  inode: number;
  rel: string;
  type: NodeType;
}

/** Every entry below directory `dir` (not descending symlinks), as paths relative to it, in byte order. */
export function listTree(db: Database, dir: number): Listed[] {
  if (db.snapshot) return listTreeStepwise(db, dir);
  return db.all<Listed>(
    `WITH RECURSIVE sub(inode, rel) AS (
       SELECT d.child, d.name FROM vfs_dirents d WHERE d.parent = ?
       UNION ALL
       SELECT d.child, sub.rel || '/' || d.name FROM vfs_dirents d JOIN sub ON d.parent = sub.inode
     )
     SELECT sub.inode AS inode, sub.rel AS rel, n.type AS type FROM sub JOIN vfs_nodes n ON n.inode = sub.inode ORDER BY rel`,
    [dir],
  );
}

/**
 * {@link listTree} one directory at a time, for a snapshot: its tables are views, which SQLite
 * cannot search by index inside a recursive query.
 */
function listTreeStepwise(db: Database, dir: number): Listed[] {
  const listed: Listed[] = [];
  const queue = [{ inode: dir, rel: '' }];
  for (let next = queue.pop(); next; next = queue.pop()) {
    for (const entry of listDir(db, next.inode)) {
      const rel = next.rel === '' ? entry.name : `${next.rel}/${entry.name}`;
      listed.push({ inode: Number(entry.inode), rel, type: entry.type });
      if (entry.type === 'dir') queue.push({ inode: Number(entry.inode), rel });
    }
  }
  return listed.sort((a, b) => compareBytes(a.rel, b.rel));
}

/** Longest glob accepted: picomatch compiles globs to regular expressions, so their size is bounded. */
const MAX_GLOB_LENGTH = 1024;

function compileGlob(pattern: unknown, syscall: string, path: string): (rel: string) => boolean {
  if (typeof pattern !== 'string' || pattern.length === 0 || pattern.includes('\0')) {
    throw fsError('EINVAL', syscall, path, undefined, 'glob patterns must be non-empty strings');
  }
  try {
    return picomatch(pattern, { dot: true, windows: false, maxLength: MAX_GLOB_LENGTH });
  } catch (error) {
    throw fsError('EINVAL', syscall, path, undefined, `bad glob '${pattern}': ${(error as Error).message}`);
  }
}

function paginate<T>(items: T[], page: Page, syscall: string, path: string): T[] {
  const offset = page.offset === undefined ? 0 : checkOffset(page.offset, 'offset', syscall, path);
  const limit = page.limit === undefined ? items.length : checkOffset(page.limit, 'limit', syscall, path);
  return items.slice(offset, offset + limit);
}

/** Options for {@link find}. */
export interface FindOptions extends Page {
  /** Globs of paths (relative to the searched directory) to leave out, with everything below them. */
  exclude?: readonly string[];
}

/**
 * Absolute paths below `dir` whose path relative to `dir` matches `pattern` (`*`, `**`, `?`,
 * braces and classes, as picomatch; dotfiles included). Symlinks are listed, not descended.
 */
export function find(db: Database, dir: string, pattern: string, options: FindOptions | null = {}): string[] {
  options ??= {};
  const matches = compileGlob(pattern, 'find', dir);
  const excludes = (options.exclude ?? []).map((glob) => compileGlob(glob, 'find', dir));
  const { node, realPath } = resolve(db, dir, { follow: true, syscall: 'find' });
  if (node.type !== 'dir') throw fsError('ENOTDIR', 'find', dir);
  const excluded = (rel: string): boolean => {
    if (excludes.length === 0) return false;
    for (let end = rel.indexOf('/'); ; end = rel.indexOf('/', end + 1)) {
      const prefix = end === -1 ? rel : rel.slice(0, end);
      if (excludes.some((test) => test(prefix))) return true;
      if (end === -1) return false;
    }
  };
  const found = listTree(db, node.inode)
    .filter((entry) => matches(entry.rel) && !excluded(entry.rel))
    .map((entry) => childPath(realPath, entry.rel));
  return paginate(found, options, 'find', dir);
}

/** Every non-directory path at or below `prefix` (files and symlinks), in byte order. */
export function ls(db: Database, prefix = '/'): string[] {
  const { node, realPath } = resolve(db, prefix, { follow: true, syscall: 'ls' });
  if (node.type !== 'dir') return [realPath];
  return listTree(db, node.inode)
    .filter((entry) => entry.type !== 'dir')
    .map((entry) => childPath(realPath, entry.rel));
}

/** Options for {@link grep}. */
export interface GrepOptions extends Page {
  /** Treat `pattern` as a regular expression (RE2 syntax: linear time, no backreferences or lookaround) rather than a literal string. */
  regex?: boolean;
  /** Match case-insensitively. */
  ignoreCase?: boolean;
  /** Lines of context to return before and after each match. Default 0. */
  context?: number;
  /** Only search files whose name (or path relative to the searched directory) matches one of these globs. */
  include?: readonly string[];
}

/** One matching line. */
export interface GrepMatch {
  /** The file's absolute path. */
  path: string;
  /** The 1-based line number. */
  line: number;
  /** The line's text, without its newline. */
  text: string;
  /** Up to `context` lines before the match. */
  before: string[];
  /** Up to `context` lines after the match. */
  after: string[];
}

/** Most matches grep returns when no limit is given, so a careless pattern cannot flood the caller. */
export const DEFAULT_GREP_LIMIT = 10_000;

/**
 * A line matcher that runs in time linear in the line: a literal is a substring test, a regular
 * expression runs on RE2 (no backtracking, so no pattern can hang the engine).
 */
function lineMatcher(pattern: string, options: GrepOptions, path: string): (line: string) => boolean {
  if (!options.regex) {
    if (!options.ignoreCase) return (line) => line.includes(pattern);
    const lower = pattern.toLowerCase();
    return (line) => line.toLowerCase().includes(lower);
  }
  try {
    const re = RE2JS.compile(pattern, options.ignoreCase ? RE2JS.CASE_INSENSITIVE : 0);
    return (line) => re.matcher(line).find();
  } catch (error) {
    throw fsError(
      'EINVAL',
      'grep',
      path,
      undefined,
      `bad regular expression (RE2 syntax): ${(error as Error).message}`,
    );
  }
}

/**
 * Searches the text files at or below `path` for lines matching `pattern` (a literal, or a regex
 * with `regex`). Files with a NUL byte in their first 8 KiB are treated as binary and skipped.
 */
export function grep(db: Database, pattern: string, path: string, options: GrepOptions | null = {}): GrepMatch[] {
  options ??= {};
  if (typeof pattern !== 'string' || pattern.length === 0) {
    throw fsError('EINVAL', 'grep', path, undefined, 'the pattern must be a non-empty string');
  }
  const context = options.context === undefined ? 0 : checkOffset(options.context, 'context', 'grep', path);
  const matches = lineMatcher(pattern, options, path);
  const includes = (options.include ?? []).map((glob) => compileGlob(glob, 'grep', path));
  const { node, realPath } = resolve(db, path, { follow: true, syscall: 'grep' });
  const files =
    node.type === 'dir'
      ? listTree(db, node.inode).filter(
          (entry) =>
            entry.type === 'file' &&
            (includes.length === 0 ||
              includes.some((test) => test(entry.rel) || test(entry.rel.slice(entry.rel.lastIndexOf('/') + 1)))),
        )
      : [{ inode: node.inode, rel: '', type: node.type }];
  const offset = options.offset === undefined ? 0 : checkOffset(options.offset, 'offset', 'grep', path);
  const limit = options.limit === undefined ? DEFAULT_GREP_LIMIT : checkOffset(options.limit, 'limit', 'grep', path);
  const results: GrepMatch[] = [];
  let seen = 0;
  for (const file of files) {
    const fileNode = getNode(db, file.inode);
    if (fileNode?.type !== 'file') continue;
    const head = readRange(db, fileNode, 0, 8192);
    if (head.includes(0)) continue;
    const filePath = file.rel === '' ? realPath : childPath(realPath, file.rel);
    const lines = toText(readRange(db, fileNode, 0, fileNode.size)).split('\n');
    if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
    for (let i = 0; i < lines.length; i++) {
      if (!matches(lines[i])) continue;
      if (seen++ < offset) continue;
      results.push({
        path: filePath,
        line: i + 1,
        text: lines[i],
        before: lines.slice(Math.max(0, i - context), i),
        after: lines.slice(i + 1, i + 1 + context),
      });
      if (results.length >= limit) return results;
    }
  }
  return results;
}
