/**
 * The change stream: the current state of every node and every deleted path touched after a
 * cursor, in one total order, paged. Bytes never travel here, only chunk lists; objects move
 * separately.
 *
 * The order is by revision, then by position within the revision: live nodes by inode, then
 * deletions by their row id. Both come straight off an index, so a page costs what it holds and
 * can end anywhere, and a first sync is linear in the workspace.
 *
 * @module
 */
import type { Database } from '../core/database.ts';
import { fsError, isFsError } from '../core/errors.ts';
import { getNode, isSpecial, type NodeRow, type SpecialType } from '../core/nodes.ts';
import { parentPath } from '../core/paths.ts';
import { type Location, locate } from '../core/resolve.ts';
import { readMeta } from '../core/schema.ts';
import type { ChunkDelta } from './chunk-delta.ts';
import { echoedAt } from './echo.ts';
import { DEFAULT_IGNORE, isIgnored } from './ignore.ts';
import { type LoggedMove, movesAfter, pathAsOf, pathNow } from './move-log.ts';
import { type DirectoryPaths, directoryPaths } from './node-paths.ts';

/**
 * A position in a change stream: every change of revisions below `rev` was sent, and of `rev`
 * itself those up to `at`.
 */
export interface ChangeCursor {
  /** The revision reached. */
  rev: number;
  /**
   * Null when all of `rev` was sent; otherwise the position within `rev` of the last change sent:
   * a node's inode, or {@link DELETION_POSITION} plus a deletion's row id.
   */
  at: number | null;
}

/** Where deletions start within a revision: after every inode (inodes stay far below 2^52). */
export const DELETION_POSITION = 2 ** 52;

/** A chunk of a file entry, or a hole (a run of chunks never written, read as zeros). */
export interface EntryChunk {
  /** SHA-256 of the chunk's bytes, lowercase hex; {@link HOLE} for a hole. */
  hash: string;
  /** The chunk's length in bytes; a hole's is a whole number of chunks (or the rest of the file). */
  size: number;
}

/** The `hash` of a hole in a chunk list: no bytes stored, no object to send. */
export const HOLE = '';

interface EntryBase {
  /** The revision of the change on the side that produced it. */
  rev: number;
  /** The absolute path. */
  path: string;
}

/** What every live node's entry carries besides its own kind's fields. */
export interface NodeFields extends EntryBase {
  /** Permission bits (`0o7777`). */
  mode: number;
  /** Modification time, in milliseconds since the epoch. */
  mtime: number;
  /** The owner's user id. */
  uid: number;
  /** The owner's group id. */
  gid: number;
}

/** A regular file: metadata and its chunk list. */
export interface FileEntry extends NodeFields {
  /** A regular file. */
  type: 'file';
  /** Length in bytes, holes included. */
  size: number;
  /** The chunk list; empty when `delta` carries it. */
  chunks: EntryChunk[];
  /**
   * On the wire only: the part of the chunk list the receiver lacks, against its current list
   * (see `chunk-delta.ts`). The receiver rebuilds `chunks` from it before anything else.
   */
  delta?: ChunkDelta;
}

/** A directory. */
export interface DirEntry extends NodeFields {
  /** A directory. */
  type: 'dir';
}

/** A symbolic link. */
export interface SymlinkEntry extends NodeFields {
  /** A symbolic link. */
  type: 'symlink';
  /** The target, as stored (not resolved). */
  target: string;
}

/**
 * A FIFO, socket or device node (made by `mknod`, or on the mount): no content, so no chunks; a
 * device carries its number.
 */
export interface SpecialEntry extends NodeFields {
  /** The kind of special file, as the node's type. */
  type: SpecialType;
  /** A device's number (Linux `makedev` encoding); 0 for a FIFO or a socket. */
  rdev: number;
}

/** A path that no longer exists. */
export interface DeleteEntry extends EntryBase {
  /** The path was removed. */
  type: 'delete';
}

/**
 * A directory moved, subtree and all, from `from` to `path` at this point of the stream
 * (docs/sync-protocol.md, "Moves"). The receiver renames its own copy when nothing of it changed
 * there since `base`; otherwise it takes the move as the deletion of `from` and asks the sender to
 * send the moved tree again as state.
 */
export interface MoveEntry extends EntryBase {
  /** A directory moved, subtree and all. */
  type: 'move';
  /** Where the directory was. */
  from: string;
  /** The directory's inode on the sender, to name it when asking for it as state. */
  inode: number;
  /**
   * The position in the receiver's own stream up to which the sender had applied the receiver's
   * changes when it moved the directory ({@link START_CURSOR} when none). A change the receiver
   * made to the tree after it was not seen.
   */
  base: ChangeCursor;
  /**
   * A later position in the receiver's stream up to which the sender has since applied the
   * receiver's changes without any of them touching either end of the move (a replica's push: see
   * `settleMetMoves`). Whether the move can be replayed is judged from it when present.
   */
  seen?: ChangeCursor;
}

/** One entry of the change stream. */
export type ChangeEntry = FileEntry | DirEntry | SymlinkEntry | SpecialEntry | DeleteEntry | MoveEntry;

/** What one path holds: a live node's state or a deletion (every entry but a move). */
export type PathState = Exclude<ChangeEntry, MoveEntry>;

/**
 * The default bound of a page of the stream, in the bytes {@link entryBytes} counts: a quarter of a
 * 32 MiB message, whatever the paths' lengths (a workspace path may be 1 MiB long).
 */
export const PAGE_BYTES = 8 * 1024 * 1024;

/**
 * At most how many bytes `entry` takes in a message: its strings (path, a move's origin, a link's
 * target) as JSON escapes them at worst (6 bytes a character: a name may hold control characters),
 * its chunk list (about 100 bytes an item) and a fixed part for the other fields.
 */
export function entryBytes(entry: ChangeEntry): number {
  const strings =
    entry.path.length +
    (entry.type === 'move' ? entry.from.length : 0) +
    (entry.type === 'symlink' ? entry.target.length : 0);
  return 256 + 6 * strings + (entry.type === 'file' ? 100 * entry.chunks.length : 0);
}

/** The cursor before any change. */
export const START_CURSOR: ChangeCursor = Object.freeze({ rev: 0, at: null });

/** The highest revision stamped so far on this side. */
export function currentRev(db: Database): number {
  return Number(readMeta(db, 'rev')) - 1;
}

/**
 * True when the change at position `at` of revision `rev` (a node's inode, or
 * {@link DELETION_POSITION} plus a log row's id) comes after `cursor`.
 */
export function changedAfter(rev: number, at: number, cursor: ChangeCursor): boolean {
  return rev > cursor.rev || (rev === cursor.rev && cursor.at !== null && at > cursor.at);
}

/** Orders cursors: by revision, then by position within a revision, a null position (all of it) last. */
export function compareChangeCursors(a: ChangeCursor, b: ChangeCursor): number {
  if (a.rev !== b.rev) return a.rev < b.rev ? -1 : 1;
  const x = a.at ?? Number.POSITIVE_INFINITY;
  const y = b.at ?? Number.POSITIVE_INFINITY;
  return x === y ? 0 : x < y ? -1 : 1;
}

/** The entry for a live node at `path` (one of its names, for a hard-linked file). */
function nodeEntry(db: Database, node: NodeRow, path: string, rev: number): PathState {
  const base = {
    rev,
    path,
    mode: Number(node.mode),
    mtime: Number(node.mtime),
    uid: Number(node.uid),
    gid: Number(node.gid),
  };
  if (node.type === 'dir') return { type: 'dir', ...base };
  if (node.type === 'symlink') return { type: 'symlink', ...base, target: node.link_target ?? '' };
  if (isSpecial(node.type)) return { type: node.type, ...base, rdev: Number(node.rdev) };
  const rows = db.all<{ idx: number; hash: string; size: number }>(
    'SELECT idx, hash, size FROM vfs_chunks WHERE inode = ? ORDER BY idx',
    [node.inode],
  );
  return { type: 'file', ...base, size: Number(node.size), chunks: withHoles(rows, Number(node.size), db.chunkSize) };
}

/** A file's chunk rows as an entry's chunk list: each gap in the indexes becomes one hole. */
function withHoles(
  rows: ReadonlyArray<{ idx: number; hash: string; size: number }>,
  size: number,
  chunkSize: number,
): EntryChunk[] {
  const chunks: EntryChunk[] = [];
  let next = 0;
  for (const row of rows) {
    const idx = Number(row.idx);
    if (idx > next) chunks.push({ hash: HOLE, size: (idx - next) * chunkSize });
    chunks.push({ hash: row.hash, size: Number(row.size) });
    next = idx + 1;
  }
  if (size > next * chunkSize) chunks.push({ hash: HOLE, size: size - next * chunkSize });
  return chunks;
}

/** The node at `path` without following a final symlink, or undefined when the path does not resolve. */
export function nodeAt(db: Database, path: string): NodeRow | undefined {
  return locationAt(db, path)?.node;
}

/** Where `path` leads without following a final symlink, or undefined when its parent does not resolve. */
export function locationAt(db: Database, path: string): Location | undefined {
  try {
    return locate(db, path, { follow: false, syscall: 'sync' });
  } catch (error) {
    // A path that no longer resolves is a deletion; anything else (a storage failure) is not.
    // ENAMETOOLONG: a path longer than this side allows (the entry at it is refused when applied).
    if (['ENOENT', 'ENOTDIR', 'ELOOP', 'ENAMETOOLONG'].some((code) => isFsError(error, code as 'ENOENT')))
      return undefined;
    throw error;
  }
}

/**
 * The current state of one path: a live node (file with its chunks, directory, symlink) or a
 * delete. `rev` is the node's revision (at least the given one), or the given one for a delete.
 */
export function materialiseChange(db: Database, path: string, rev = 0): PathState {
  return nodeState(db, nodeAt(db, path), path, rev);
}

/** {@link materialiseChange} of the node already found at `path` (undefined: none). */
export function nodeState(db: Database, node: NodeRow | undefined, path: string, rev = 0): PathState {
  if (!node) return { type: 'delete', rev, path };
  return nodeEntry(db, node, path, Math.max(rev, Number(node.rev)));
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
  /**
   * At most about this many bytes of entries per page, as {@link entryBytes} counts them (an entry
   * that would carry the page past it starts the next page, unless it is the page's first), so a
   * page of paths deep in a tree stays far below a 32 MiB message too. Default {@link PAGE_BYTES}.
   */
  maxBytes?: number;
  /** Leave out changes this side applied from `peer` (they would only echo back). */
  peer?: string;
  /** Live nodes only, no deletions: the full manifest a peer resynchronises from. */
  liveOnly?: boolean;
}

/** A page of the change stream. */
export interface ChangeBatch {
  /** Entries in stream order; a directory always comes before anything below it. */
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

/** A live node's position, with each name it has (none for an orphan or the root). */
interface NodePosition extends NodeRow {
  path: string | null;
}

// The rest of the cursor's revision, then the revisions after it: two index seeks, so a page in the
// middle of a revision that touched 100,000 nodes costs what the page holds, not what comes before it.
// Each node comes with its entries (one row per name; none for the root or an orphan), whose
// directories' paths `directoryPaths` builds.
const NODE_PAGE = `WITH page AS (
    SELECT * FROM (
      SELECT * FROM (SELECT * FROM vfs_nodes WHERE rev = ? AND inode > ? ORDER BY inode LIMIT ?)
      UNION ALL
      SELECT * FROM (SELECT * FROM vfs_nodes WHERE rev > ? AND rev <= ? ORDER BY rev, inode LIMIT ?)
    ) ORDER BY rev, inode LIMIT ?
  )
  SELECT page.*, d.parent AS dirent_parent, d.name AS dirent_name
  FROM page LEFT JOIN vfs_dirents d ON d.child = page.inode
  ORDER BY page.rev, page.inode`;

const LOG_COLUMNS = 'id, rev, path, op, target, inode, peer, bases';
const DELETION_PAGE = `SELECT * FROM (
    SELECT * FROM (SELECT ${LOG_COLUMNS} FROM vfs_changes WHERE rev = ? AND id > ? ORDER BY id LIMIT ?)
    UNION ALL
    SELECT * FROM (SELECT ${LOG_COLUMNS} FROM vfs_changes WHERE rev > ? AND rev <= ? ORDER BY rev, id LIMIT ?)
  ) ORDER BY rev, id LIMIT ?`;

/** A row of the change log: a deletion, or a directory's move (op 'move', from `path` to `target`). */
interface LogRow {
  id: number;
  rev: number;
  path: string;
  op: string;
  target: string | null;
  inode: number | null;
  peer: string | null;
  bases: string | null;
}

interface Position {
  rev: number;
  at: number;
  /** A live node's rows (one per name), or null for a deletion. */
  rows: NodePosition[] | null;
  /** A deletion's path. */
  path: string;
  /** A move's row (null for a node or a deletion). */
  move: LogRow | null;
}

const before = (a: Position, b: Position): number => a.rev - b.rev || a.at - b.at;

/**
 * The next positions after `after`, live nodes and deletions merged in stream order. Each kind is
 * read `count` positions deep; where one read was cut short, the merge is only certain up to its
 * last position, so the rest waits for the next read. `exhausted` means nothing remains.
 */
function readPositions(
  db: Database,
  after: ChangeCursor,
  through: number,
  count: number,
  liveOnly: boolean,
  directories: DirectoryPaths,
): { positions: Position[]; exhausted: boolean } {
  const at = after.at ?? Number.MAX_SAFE_INTEGER;
  const nodes: Position[] = [];
  const nodeAfter = Math.min(at, Number.MAX_SAFE_INTEGER);
  const page = db.all<NodeRow & { dirent_parent: number | null; dirent_name: string | null }>(NODE_PAGE, [
    after.rev,
    nodeAfter,
    count,
    after.rev,
    through,
    count,
    count,
  ]);
  directories.load(page.flatMap((row) => (row.dirent_parent === null ? [] : [Number(row.dirent_parent)])));
  for (const { dirent_parent: parent, dirent_name: name, ...node } of page) {
    const path = parent === null || name === null ? null : directories.pathOf(Number(parent), name);
    const row: NodePosition = { ...node, path };
    const last = nodes[nodes.length - 1];
    if (last && last.at === Number(row.inode)) last.rows?.push(row);
    else nodes.push({ rev: Number(row.rev), at: Number(row.inode), rows: [row], path: '', move: null });
  }
  const deletions: Position[] = liveOnly
    ? []
    : db
        .all<LogRow>(DELETION_PAGE, [after.rev, at - DELETION_POSITION, count, after.rev, through, count, count])
        .map((row) => ({
          rev: Number(row.rev),
          at: DELETION_POSITION + Number(row.id),
          rows: null,
          path: row.path,
          move: row.op === 'move' ? row : null,
        }));
  const cut = [nodes, deletions].filter((list) => list.length >= count).map((list) => list[list.length - 1]);
  const bound = cut.sort(before)[0];
  const positions = [...nodes, ...deletions].sort(before).filter((p) => !bound || before(p, bound) <= 0);
  return { positions, exhausted: cut.length === 0 };
}

/**
 * One entry per node and deleted path touched after `after`, carrying its current state, in stream
 * order, paged. A node touched several times appears once, at its latest revision, under the path
 * it had then: a directory move that came later is its own entry, replayed in order (a manifest,
 * `liveOnly`, gives current paths). A directory that has not been sent yet is sent before the
 * first entry below it, so the receiver never has to invent one.
 */
export function coalesceChanges(db: Database, after: ChangeCursor, options: CoalesceOptions | null = {}): ChangeBatch {
  options ??= {};
  checkCursor(db, after);
  const through = options.through ?? currentRev(db);
  const limit = Math.max(1, options.limit ?? 256);
  const maxChunks = options.maxChunks ?? 50_000;
  const maxBytes = options.maxBytes ?? PAGE_BYTES;
  const ignore = options.ignore ?? DEFAULT_IGNORE;
  const liveOnly = options.liveOnly === true;
  const peer = options.peer;
  // Paths are read as they are now; the moves after the cursor carry them back to each entry's revision.
  const moves: LoggedMove[] = liveOnly ? [] : movesAfter(db, after.rev);
  const directories = directoryPaths(db);
  const entries: ChangeEntry[] = [];
  // Paths sent since the page began or since the last move: a path means another node across a move.
  const sent = new Set<string>();
  const looked = new Set<string>();
  let chunks = 0;
  let bytes = 0;
  let cursor: ChangeCursor = after;
  // Positions skipped as echoes or ignored do not fill a page; bound the scan so a page stays cheap.
  let scanned = 0;
  const maxScan = limit * 16;
  const emit = (entry: ChangeEntry): void => {
    entries.push(entry);
    sent.add(entry.path);
    bytes += entryBytes(entry);
    if (entry.type === 'file') chunks += entry.chunks.length;
  };
  const wanted = (path: string, rev: number): boolean =>
    !isIgnored(path, ignore) && (peer === undefined || !echoedAt(db, peer, path, rev));
  // Directories above `path` (as of `rev`) that the peer has not been sent yet (positioned after the
  // cursor) go first. Each is looked up once per page, not once per entry below it.
  const sendAncestors = (path: string, rev: number): void => {
    const dir = parentPath(path);
    if (dir === '/' || sent.has(dir) || looked.has(dir)) return;
    looked.add(dir);
    // A directory above the page's nodes is known by inode: no walk from the root for each level.
    const now = pathNow(moves, dir, rev);
    const known = directories.inodeAt(now);
    const node = known === undefined ? nodeAt(db, now) : getNode(db, known);
    if (!node) return;
    if (compareChangeCursors({ rev: Number(node.rev), at: Number(node.inode) }, after) <= 0) return;
    sendAncestors(dir, rev);
    if (wanted(dir, Number(node.rev))) emit(nodeEntry(db, node, dir, Number(node.rev)));
    else sent.add(dir);
  };
  const sendMove = (row: LogRow, rev: number): void => {
    // A move replayed from this peer is its own.
    if (peer !== undefined && row.peer === peer) return;
    const to = row.target ?? '';
    if (isIgnored(to, ignore) && isIgnored(row.path, ignore)) return;
    sendAncestors(to, rev);
    const bases = row.bases === null ? {} : (JSON.parse(row.bases) as Record<string, ChangeCursor>);
    const base = (peer === undefined ? undefined : bases[peer]) ?? START_CURSOR;
    const move: MoveEntry = { type: 'move', rev, path: to, from: row.path, inode: Number(row.inode), base };
    entries.push(move);
    bytes += entryBytes(move);
    sent.clear();
    looked.clear();
  };
  const carries = (position: Position): boolean => {
    if (!position.rows) return !position.move && sent.has(position.path);
    const paths = position.rows.flatMap((row) => (row.path === null ? [] : [pathAsOf(moves, row.path, position.rev)]));
    return paths.length > 0 && paths.every((path) => sent.has(path));
  };
  let exhausted = false;
  page: while (!exhausted && scanned < maxScan) {
    const read = readPositions(db, cursor, through, limit + 1, liveOnly, directories);
    exhausted = read.exhausted;
    if (read.positions.length === 0) break;
    let index = 0;
    for (; index < read.positions.length && scanned < maxScan; index++) {
      const position = read.positions[index];
      const full = entries.length >= limit || chunks >= maxChunks || bytes >= maxBytes;
      // A full page goes on over positions whose paths it already carries (they add nothing), at no
      // scan: so directories a position brought first (a chain changed deepest first) are passed
      // over where their own positions come, not sent again by the pages after.
      if (!(full && carries(position))) scanned++;
      const here = { rev: position.rev, at: position.at };
      const mark = entries.length;
      if (position.rows) {
        for (const row of position.rows) {
          if (row.path === null) continue;
          const path = pathAsOf(moves, row.path, position.rev);
          // Within a page every entry carries the current state: a path already sent is not sent again.
          if (sent.has(path) || !wanted(path, position.rev)) continue;
          sendAncestors(path, position.rev);
          emit(nodeEntry(db, row, path, position.rev));
        }
      } else if (position.move) {
        sendMove(position.move, position.rev);
      } else if (!sent.has(position.path) && wanted(position.path, position.rev)) {
        // A deleted path that is live again carries its current state (its node may sit earlier in the stream).
        const state = materialiseChange(db, pathNow(moves, position.path, position.rev), position.rev);
        const entry: PathState = { ...state, path: position.path };
        if (entry.type !== 'delete') sendAncestors(entry.path, position.rev);
        emit(entry);
      }
      // A position that adds to a full page, or whose directories not yet sent would carry the page
      // past its limit (a peer refuses more than it allows) or past its bytes (a message has a size
      // limit), starts the next page, unless it is the page's first.
      if (entries.length > mark && mark > 0 && (full || entries.length > limit || bytes > maxBytes)) {
        entries.length = mark;
        exhausted = false;
        break page;
      }
      cursor = here;
    }
    if (index < read.positions.length) exhausted = false;
  }
  const more = !exhausted;
  if (!more) cursor = { rev: Math.max(after.rev, through), at: null };
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
    (cursor.at === null || (Number.isSafeInteger(cursor.at) && cursor.at >= 0));
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
