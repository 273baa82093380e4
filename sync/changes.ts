/**
 * The change stream: the current state of every path touched after a cursor, ordered by
 * (revision, path). Bytes never travel here, only chunk lists; objects move separately.
 *
 * @module
 */
import { chunkRange } from '../core/content.ts';
import type { Database } from '../core/database.ts';
import { fsError, isFsError } from '../core/errors.ts';
import type { NodeRow } from '../core/nodes.ts';
import { locate } from '../core/resolve.ts';
import { readMeta } from '../core/schema.ts';
import { DEFAULT_IGNORE, isIgnored } from './ignore.ts';

/** A position in a change stream: everything up to `rev` was sent, or, with `path`, everything in `rev` up to that path. */
export interface ChangeCursor {
  /** The revision reached. */
  rev: number;
  /** Null when all of `rev` was sent; otherwise the last path sent within `rev`. */
  path: string | null;
}

/** A chunk of a file entry. */
export interface EntryChunk {
  /** SHA-256 of the chunk's bytes, lowercase hex. */
  hash: string;
  /** The chunk's length in bytes. */
  size: number;
}

interface EntryBase {
  /** The revision of the change on the side that produced it. */
  rev: number;
  /** The absolute path. */
  path: string;
}

/** A regular file: metadata and its chunk list. */
export interface FileEntry extends EntryBase {
  type: 'file';
  mode: number;
  mtime: number;
  size: number;
  chunks: EntryChunk[];
}

/** A directory. */
export interface DirEntry extends EntryBase {
  type: 'dir';
  mode: number;
  mtime: number;
}

/** A symbolic link. */
export interface SymlinkEntry extends EntryBase {
  type: 'symlink';
  target: string;
  mode: number;
  mtime: number;
}

/** A path that no longer exists. */
export interface DeleteEntry extends EntryBase {
  type: 'delete';
}

/** One entry of the change stream. */
export type ChangeEntry = FileEntry | DirEntry | SymlinkEntry | DeleteEntry;

/** The cursor before any change. */
export const START_CURSOR: ChangeCursor = Object.freeze({ rev: 0, path: null });

/** The highest revision stamped so far on this side. */
export function currentRev(db: Database): number {
  return Number(readMeta(db, 'rev')) - 1;
}

/** Orders cursors: by revision, then by path within a revision, a null path (all of it) last. */
export function compareChangeCursors(a: ChangeCursor, b: ChangeCursor): number {
  if (a.rev !== b.rev) return a.rev < b.rev ? -1 : 1;
  if (a.path === b.path) return 0;
  if (a.path === null) return 1;
  if (b.path === null) return -1;
  return a.path < b.path ? -1 : 1;
}

/** True when `entry` comes after `cursor` in stream order. */
function isAfter(entry: { rev: number; path: string }, cursor: ChangeCursor): boolean {
  return compareChangeCursors({ rev: entry.rev, path: entry.path }, cursor) > 0;
}

/**
 * The current state of one path: a live node (file with its chunks, directory, symlink) or a
 * delete. `rev` is the node's revision, or the given one for a delete.
 */
export function materialiseChange(db: Database, path: string, rev = 0): ChangeEntry {
  let node: NodeRow | undefined;
  try {
    node = locate(db, path, { follow: false, syscall: 'sync' }).node;
  } catch (error) {
    // A path that no longer resolves is a deletion; anything else (a storage failure) is not.
    if (!(isFsError(error, 'ENOENT') || isFsError(error, 'ENOTDIR') || isFsError(error, 'ELOOP'))) throw error;
  }
  if (!node) return { type: 'delete', rev, path };
  const base = { rev: Math.max(rev, Number(node.rev)), path, mode: Number(node.mode), mtime: Number(node.mtime) };
  if (node.type === 'dir') return { type: 'dir', ...base };
  if (node.type === 'symlink') return { type: 'symlink', ...base, target: node.link_target ?? '' };
  return {
    type: 'file',
    ...base,
    size: Number(node.size),
    chunks: chunkRange(db, node.inode).map((chunk) => ({ hash: chunk.hash, size: Number(chunk.size) })),
  };
}

/** Options for {@link coalesceChanges}. */
export interface CoalesceOptions {
  /** Path segments (or segment sequences like `a/b`) to leave out; ignored entries still advance the cursor. */
  ignore?: readonly string[];
  /** Leave out changes after this revision. Default: everything. */
  through?: number;
  /** At most this many entries. Default 256. */
  limit?: number;
  /**
   * At most about this many chunk references per page (a page ends after the entry that reaches
   * it), so a page of huge files stays far below a 32 MiB message. Default 50,000 (about 4 MB).
   */
  maxChunks?: number;
  /** Leave out changes this side applied from `peer` (they would only echo back). */
  peer?: string;
}

/** A page of the change stream. */
export interface ChangeBatch {
  /** Entries in (rev, path) order. */
  entries: ChangeEntry[];
  /** Where the next page starts. */
  cursor: ChangeCursor;
  /** True when more entries remain after `cursor`. */
  more: boolean;
  /**
   * True when the requested cursor is older than this side's compacted change log: the peer must
   * resynchronise from the full manifest (`fetchManifest`) instead.
   */
  reset?: boolean;
}

/**
 * One entry per path touched after `after`, carrying the path's current state, in (rev, path)
 * order, paged. A path touched several times appears once, at its latest revision.
 */
export function coalesceChanges(db: Database, after: ChangeCursor, options: CoalesceOptions | null = {}): ChangeBatch {
  options ??= {};
  checkCursor(db, after);
  const through = options.through ?? currentRev(db);
  const limit = options.limit ?? 256;
  const touched = new Map<string, number>();
  const live = db.all<{ path: string; rev: number }>(
    `WITH RECURSIVE up(node, rev, path) AS (
       SELECT d.parent, n.rev, d.name FROM vfs_dirents d JOIN vfs_nodes n ON n.inode = d.child WHERE n.rev > ? AND n.rev <= ?
       UNION ALL
       SELECT d.parent, up.rev, d.name || '/' || up.path FROM up JOIN vfs_dirents d ON d.child = up.node
     )
     SELECT '/' || path AS path, rev FROM up WHERE node = 1`,
    [after.rev, through],
  );
  for (const row of live) touched.set(row.path, Math.max(Number(row.rev), touched.get(row.path) ?? 0));
  const deleted = db.all<{ path: string; rev: number }>(
    'SELECT path, MAX(rev) AS rev FROM vfs_changes WHERE rev > ? AND rev <= ? GROUP BY path',
    [after.rev, through],
  );
  for (const row of deleted) touched.set(row.path, Math.max(Number(row.rev), touched.get(row.path) ?? 0));

  const echoes = options.peer === undefined ? new Map<string, number>() : readEchoes(db, options.peer, after.rev);
  const ordered = [...touched]
    .map(([path, rev]) => ({ path, rev }))
    .filter((item) => isAfter(item, after))
    .sort((a, b) => a.rev - b.rev || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));

  const maxChunks = options.maxChunks ?? 50_000;
  const entries: ChangeEntry[] = [];
  let chunks = 0;
  let cursor: ChangeCursor = after;
  let index = 0;
  for (; index < ordered.length && entries.length < limit && chunks < maxChunks; index++) {
    const { path, rev } = ordered[index];
    cursor = { rev, path };
    if (isIgnored(path, options.ignore ?? DEFAULT_IGNORE)) continue;
    if (echoes.get(path) === rev) continue;
    const entry = materialiseChange(db, path, rev);
    // Deleted and touched paths report at their latest touch, so a page boundary never reorders them.
    entry.rev = rev;
    entries.push(entry);
    if (entry.type === 'file') chunks += entry.chunks.length;
  }
  const more = index < ordered.length;
  if (!more) cursor = { rev: Math.max(after.rev, through), path: null };
  return { entries, cursor, more };
}

/** Alias of {@link coalesceChanges}, the name the fetch side uses. */
export const fetchChanges = coalesceChanges;

/** Refuses a malformed cursor or one from this side's future (EINVAL). */
export function checkCursor(db: Database, cursor: ChangeCursor): void {
  const valid =
    typeof cursor === 'object' &&
    cursor !== null &&
    Number.isSafeInteger(cursor.rev) &&
    cursor.rev >= 0 &&
    (cursor.path === null || (typeof cursor.path === 'string' && cursor.path.startsWith('/')));
  if (!valid) throw fsError('EINVAL', 'sync', undefined, undefined, `malformed cursor ${JSON.stringify(cursor)}`);
  const now = currentRev(db);
  if (cursor.rev > now) {
    throw fsError(
      'EINVAL',
      'sync',
      undefined,
      undefined,
      `cursor revision ${cursor.rev} is from the future (this side is at ${now}); reset the peer's cursors`,
    );
  }
}

/** The echo marks for `peer`: path → the local revision at which this side applied that path from the peer. */
function readEchoes(db: Database, peer: string, after: number): Map<string, number> {
  const rows = db.all<{ path: string; rev: number }>('SELECT path, rev FROM vfs_sync_echo WHERE peer = ? AND rev > ?', [
    peer,
    after,
  ]);
  return new Map(rows.map((row) => [row.path, Number(row.rev)]));
}
