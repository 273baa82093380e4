/**
 * Applying a batch of change entries: validated whole first, then one transaction, idempotent,
 * with concurrent edits detected and the losing version kept under a conflict name.
 *
 * @module
 */
import { markLinked } from '../core/blobs.ts';
import { upsertChunks } from '../core/content.ts';
import type { Database } from '../core/database.ts';
import { FsError, fsError, isFsError } from '../core/errors.ts';
import { rm } from '../core/fs/remove.ts';
import { recordedRename } from '../core/fs/rename.ts';
import { find } from '../core/fs/search.ts';
import { keepOpenFiles, pinnedInodes } from '../core/handles.ts';
import { type Mutation, mutate } from '../core/mutate.ts';
import { createNode, isSpecial, lookup, type NodeRow, SPECIAL_TYPES } from '../core/nodes.ts';
import { isSameOrBelow, normalizePath, parentPath } from '../core/paths.ts';
import { checkFileSize } from '../core/quotas.ts';
import { type Location, locate } from '../core/resolve.ts';
import { SUBTREE, subtreeDirectories } from '../core/subtree.ts';
import {
  type ChangeCursor,
  type ChangeEntry,
  changedAfter,
  DELETION_POSITION,
  HOLE,
  locationAt,
  type MoveEntry,
  materialiseChange,
  nodeState,
  type PathState,
  type SpecialEntry,
} from './changes.ts';
import { isEcho, markEchoes } from './echo.ts';
import { movedHereSince, moveTargetsSince, replayable, settleMetMoves } from './moves.ts';
import { missingObjects } from './objects.ts';
import { ResolvedDirectories } from './resolved-dirs.ts';

/** Options for {@link applyChanges}. */
export interface ApplyOptions {
  /** The peer the entries come from; its changes are marked so they are not sent back to it. */
  peer?: string;
  /**
   * Where the entries come from: `upstream` (a replica applying its authority's changes: they keep
   * the path in a conflict) or `local` (the authority applying a replica's: its own version keeps
   * the path). Default `upstream`.
   */
  source?: 'upstream' | 'local';
  /**
   * The last revision of this side that the peer had seen before making these changes. A local
   * change to the same path after it (that did not come from this peer) is concurrent, and settled
   * as `source` says with nothing lost. Without it the incoming state simply wins. A cursor into
   * this side's stream places it within a revision.
   */
  base?: number | ChangeCursor;
}

interface ConflictPolicy {
  /** Local changes after this position are concurrent. */
  base: ChangeCursor;
  winner: 'incoming' | 'local';
}

/** A concurrent edit and where the losing version went. */
export interface SyncConflict {
  /** The contested path. */
  path: string;
  /** Which version holds the path now. */
  kept: 'incoming' | 'local';
  /** Where the other version was kept, or null when it was a deletion (nothing to keep). */
  copy: string | null;
}

/** An entry this side could not store (a path too long here, a quota): nothing of it was applied. */
export interface RefusedEntry {
  /** The entry's path. */
  path: string;
  /** The error code, as in `FsError.code`. */
  code: string;
  /** The error message. */
  reason: string;
}

/** What {@link applyChanges} did. */
export interface ApplyResult {
  /** Entries that changed something. */
  applied: number;
  /** Entries that already matched the local state. */
  skipped: number;
  /** Concurrent edits found, each settled. */
  conflicts: SyncConflict[];
  /** Entries refused; the rest of the batch was applied without them. */
  refused: RefusedEntry[];
  /**
   * Directory moves this side could not replay as one rename (it changed the tree since the
   * sender's base): each was taken as the deletion of its old path, edits made here kept. The sender
   * must send the moved tree again as state (`expandMoves`). Absent when there is none.
   */
  expand?: MoveEntry[];
}

// Failures of the storage itself (not of one entry) fail the whole batch, which is then retried. A
// quota's ENOSPC (no storage cause) belongs to the entry; a full disk's (a cause attached) does not.
const TRANSIENT = new Set(['EIO', 'EBUSY', 'EAGAIN', 'EUNKNOWN_HASH']);
const isTransient = (error: FsError): boolean =>
  TRANSIENT.has(error.code) || (error.code === 'ENOSPC' && error.cause !== undefined);

const bad = (detail: string) => fsError('EINVAL', 'sync', undefined, undefined, detail);

/** Refuses a malformed entry (EINVAL) before anything is written. */
export function validateEntry(entry: ChangeEntry, chunkSize: number): void {
  if (!entry || typeof entry !== 'object') throw bad('an entry must be an object');
  if (typeof entry.path !== 'string' || normalizedOrSelf(entry.path) !== entry.path || entry.path === '/') {
    throw bad(`entry path ${JSON.stringify(entry.path)} is not a normalised absolute path below the root`);
  }
  if (!Number.isSafeInteger(entry.rev) || entry.rev < 0) throw bad(`entry ${entry.path} has a bad revision`);
  if (entry.type === 'delete') return;
  if (entry.type === 'move') {
    const { from } = entry;
    if (typeof from !== 'string' || normalizedOrSelf(from) !== from || from === '/' || isSameOrBelow(entry.path, from))
      throw bad(`move ${JSON.stringify(from)} -> ${entry.path} is not a move of a directory to a path outside it`);
    const cursor = (value: unknown) => {
      const c = value as ChangeCursor | null;
      return (
        typeof c === 'object' &&
        c !== null &&
        Number.isSafeInteger(c.rev) &&
        c.rev >= 0 &&
        (c.at === null || (Number.isSafeInteger(c.at) && c.at >= 0))
      );
    };
    if (!Number.isSafeInteger(entry.inode) || !cursor(entry.base) || !(entry.seen === undefined || cursor(entry.seen)))
      throw bad(`move ${from} -> ${entry.path} has a bad inode, base or seen`);
    return;
  }
  const special = (SPECIAL_TYPES as readonly string[]).includes(entry.type);
  if (entry.type !== 'file' && entry.type !== 'dir' && entry.type !== 'symlink' && !special) {
    throw bad(`entry ${(entry as ChangeEntry).path} has an unknown type`);
  }
  if (!Number.isInteger(entry.mode) || entry.mode < 0 || entry.mode > 0o7777)
    throw bad(`entry ${entry.path} has a bad mode`);
  if (!Number.isFinite(entry.mtime)) throw bad(`entry ${entry.path} has a bad mtime`);
  for (const id of [entry.uid, entry.gid])
    if (!Number.isInteger(id) || id < 0 || id > 0xfffffffe) throw bad(`entry ${entry.path} has a bad owner or group`);
  if (
    entry.type === 'symlink' &&
    (typeof entry.target !== 'string' || entry.target === '' || entry.target.includes('\0'))
  ) {
    throw bad(`entry ${entry.path} has a bad symlink target`);
  }
  if (isSpecial(entry.type)) {
    // Only a device has a number, as mknod stores it (up to 32 bits).
    const device = entry.type === 'chardev' || entry.type === 'blockdev';
    const { rdev } = entry as SpecialEntry;
    if (!Number.isInteger(rdev) || rdev < 0 || rdev > 0xffffffff || (!device && rdev !== 0))
      throw bad(`entry ${entry.path} has a bad device number`);
  }
  if (entry.type !== 'file') return;
  if (!Array.isArray(entry.chunks) || !Number.isSafeInteger(entry.size) || entry.size < 0)
    throw bad(`entry ${entry.path} has a bad chunk list`);
  let total = 0;
  entry.chunks.forEach((chunk, i) => {
    const last = i === entry.chunks.length - 1;
    // A hole spans whole chunks (the last may end the file anywhere); a chunk is full but the last.
    const hole = chunk?.hash === HOLE;
    const sizeOk =
      Number.isSafeInteger(chunk?.size) &&
      chunk.size > 0 &&
      (hole ? last || chunk.size % chunkSize === 0 : last ? chunk.size <= chunkSize : chunk.size === chunkSize);
    if (!sizeOk || typeof chunk.hash !== 'string' || !(hole || /^[0-9a-f]{64}$/.test(chunk.hash))) {
      throw bad(`entry ${entry.path} chunk ${i} is malformed (every chunk but the last must be ${chunkSize} bytes)`);
    }
    total += chunk.size;
  });
  if (total !== entry.size) throw bad(`entry ${entry.path} says ${entry.size} bytes but its chunks hold ${total}`);
}

/** The normalised path, or the path itself when only its length is refused (the entry is refused when applied). */
function normalizedOrSelf(path: string): string {
  try {
    return normalizePath(path, 'sync');
  } catch (error) {
    if (isFsError(error, 'ENAMETOOLONG')) return path;
    throw error;
  }
}

/** Same content and mode: the same file written on both sides, whatever its mtime. */
function sameContent(local: PathState, incoming: PathState): boolean {
  if (local.type !== 'file' || incoming.type !== 'file') return false;
  return (
    local.mode === incoming.mode &&
    local.size === incoming.size &&
    local.chunks.length === incoming.chunks.length &&
    local.chunks.every((c, i) => c.hash === incoming.chunks[i].hash)
  );
}

/** A live node's entry: what {@link materialiseChange} gives for a path that exists. */
type StateEntry = Exclude<PathState, { type: 'delete' }>;

function sameState(local: PathState, incoming: PathState): boolean {
  if (local.type !== incoming.type) return false;
  if (local.type === 'delete') return true;
  const a = local as StateEntry;
  const b = incoming as StateEntry;
  if (a.mode !== b.mode || a.mtime !== b.mtime || a.uid !== b.uid || a.gid !== b.gid) return false;
  if (a.type === 'symlink') return a.target === (b as typeof a).target;
  if (isSpecial(a.type)) return (a as SpecialEntry).rdev === (b as SpecialEntry).rdev;
  if (a.type === 'file') {
    const other = b as typeof a;
    return (
      a.size === other.size &&
      a.chunks.length === other.chunks.length &&
      a.chunks.every((c, i) => c.hash === other.chunks[i].hash)
    );
  }
  return true;
}

/**
 * Removes whatever is at `path` (`found`, when the caller has just looked it up), a subtree
 * included, leaving tombstones; joins the running mutation. A file open through a handle of this
 * process stays for its handles, nameless, as after an unlink while open. Its link is lent for this
 * removal only, not for the batch: a file written in place must not look hard-linked to
 * {@link writeEntry}, which would replace it.
 */
function removePath(db: Database, dirs: ResolvedDirectories, path: string, found?: Location): void {
  const remove = () => rm(db, path, { recursive: true, force: true });
  dirs.forget(path);
  if (holdsOpen(db, dirs, path, found)) keepOpenFiles(db, 'sync', path, remove);
  else remove();
}

/**
 * Whether what `path` names is, or holds, a node open through a handle of this process. Lending
 * costs statements per open file, so what holds none is removed without it.
 */
function holdsOpen(db: Database, dirs: ResolvedDirectories, path: string, found?: Location): boolean {
  const pinned = pinnedInodes(db);
  if (pinned.length === 0) return false;
  const node = (found ?? dirs.locationAt(path))?.node;
  if (!node) return false;
  if (node.type !== 'dir') return pinned.includes(Number(node.inode));
  const below = `${SUBTREE} SELECT 1 FROM sub WHERE inode IN (SELECT value FROM json_each(?)) LIMIT 1`;
  return db.all(below, [node.inode, '', JSON.stringify(pinned)]).length > 0;
}

/**
 * Makes `path` a directory, replacing a non-directory and creating missing parents. A directory
 * made here is this side's creation, not the peer's state (its mode is a default): unless the
 * batch also carries its entry, it travels back, so both sides end with the same directory.
 */
function makeDir(db: Database, dirs: ResolvedDirectories, m: Mutation, path: string): NodeRow {
  const found = dirs.locationAt(path);
  if (found?.node?.type === 'dir' && found.realPath === path) return found.node;
  return makeDirs(db, dirs, m, path);
}

/** {@link makeDir} level by level from the root, for a path something on the way is missing from or blocks. */
function makeDirs(db: Database, dirs: ResolvedDirectories, m: Mutation, path: string): NodeRow {
  if (path === '/') return locate(db, '/', { follow: false, syscall: 'sync' }).parent;
  const parent = makeDirs(db, dirs, m, parentPath(path));
  const name = path.slice(path.lastIndexOf('/') + 1);
  // Entries name real paths: whatever sits where a directory belongs (a file, a symlink) is replaced.
  const node = lookup(db, parent.inode, name);
  if (node?.type === 'dir') return node;
  if (node) removePath(db, dirs, path);
  return createNode(db, m, parent, name, 'dir', 0o755);
}

/**
 * Writes `entry`'s state at `path` (which may differ from entry.path for conflict copies); returns
 * its inode. `found` is what `path` was located as in this mutation with nothing changed since,
 * when the caller has it.
 */
function writeEntry(
  db: Database,
  dirs: ResolvedDirectories,
  m: Mutation,
  entry: StateEntry,
  path: string,
  found?: Location,
): number {
  // One lookup when the parent directory is there and no symlink is crossed (entries name real
  // paths); otherwise the missing or misplaced directories are made first.
  let location = found ?? dirs.locationAt(path);
  if (!location || location.realPath !== path || location.parent.type !== 'dir') {
    makeDir(db, dirs, m, parentPath(path));
    location = locate(db, path, { follow: false, syscall: 'sync' });
  }
  const parent = location.parent;
  let node = location.node;
  const replace =
    node !== undefined &&
    (node.type !== entry.type ||
      (entry.type === 'symlink' && node.link_target !== entry.target) ||
      (isSpecial(entry.type) && node.rdev !== (entry as SpecialEntry).rdev) ||
      // A hard-linked file (or special file) is flattened: the change applies to this name only.
      (entry.type !== 'dir' && entry.type !== 'symlink' && node.nlink > 1));
  if (node && replace) {
    removePath(db, dirs, path);
    node = undefined;
  }
  const name = path.slice(path.lastIndexOf('/') + 1);
  const fresh = node === undefined;
  if (entry.type === 'file') checkFileSize(db, entry.size, path);
  // A node made here is inserted with the peer's mode, owner and mtime: no update after it.
  node ??= createNode(
    db,
    m,
    parent,
    name,
    entry.type,
    entry.mode,
    entry.type === 'symlink' ? entry.target : null,
    entry.type === 'file' ? entry.size : 0,
    isSpecial(entry.type) ? (entry as SpecialEntry).rdev : 0,
    { mtime: entry.mtime, uid: entry.uid, gid: entry.gid },
  );
  if (entry.type === 'file') {
    // A node made just now has no chunks to drop (a statement a file of a pushed tree).
    if (!fresh) db.run('DELETE FROM vfs_chunks WHERE inode = ?', [node.inode]);
    // Holes store nothing: the chunks after one take their index past it.
    const rows: Array<{ idx: number; hash: string; size: number }> = [];
    let idx = 0;
    for (const chunk of entry.chunks) {
      if (chunk.hash === HOLE) idx += Math.ceil(chunk.size / db.chunkSize);
      else rows.push({ idx: idx++, hash: chunk.hash, size: chunk.size });
    }
    upsertChunks(db, node.inode, rows);
    // Blobs that came by sync are named now: gc frees them as soon as nothing does any more
    // (marked for the whole batch at its end, see applyStates; at once outside one).
    const hashes = rows.map((row) => row.hash);
    const pending = linkedByBatch.get(m);
    if (pending) pending.push(...hashes);
    else markLinked(db, hashes);
  }
  if (!fresh) {
    db.run('UPDATE vfs_nodes SET mode = ?, mtime = ?, uid = ?, gid = ?, ctime = ?, size = ?, rev = ? WHERE inode = ?', [
      entry.mode,
      entry.mtime,
      entry.uid,
      entry.gid,
      m.now,
      entry.type === 'file' ? entry.size : node.size,
      m.rev,
      node.inode,
    ]);
  }
  return node.inode;
}

function conflictName(path: string, peer: string, rev: number): string {
  return `${path}.conflict-${peer.slice(0, 8)}-${rev}`;
}

/**
 * Applies `entries` in one transaction. Every entry is validated and every chunk's object must
 * already be stored (EUNKNOWN_HASH otherwise) before anything changes. Entries that match the
 * local state are skipped, so applying a batch twice changes nothing the second time. Missing
 * parents are created; a type change replaces the local subtree.
 */
export function applyChanges(
  db: Database,
  entries: readonly ChangeEntry[],
  options: ApplyOptions | null = {},
): ApplyResult {
  options ??= {};
  if (!Array.isArray(entries)) throw bad('entries must be an array');
  const chunkSize = db.chunkSize;
  for (const entry of entries) validateEntry(entry, chunkSize);
  const hashes: string[] = [];
  for (const entry of entries)
    if (entry.type === 'file') for (const chunk of entry.chunks) if (chunk.hash !== HOLE) hashes.push(chunk.hash);
  const missing = missingObjects(db, hashes);
  if (missing.length > 0) {
    throw fsError(
      'EUNKNOWN_HASH',
      'sync',
      undefined,
      undefined,
      `${missing.length} objects are missing, first ${missing[0]}; push objects before entries`,
    );
  }
  const result: ApplyResult = { applied: 0, skipped: 0, conflicts: [], refused: [] };
  const policy: ConflictPolicy | undefined =
    options.base === undefined
      ? undefined
      : {
          base: typeof options.base === 'number' ? { rev: options.base, at: null } : options.base,
          winner: options.source === 'local' ? 'local' : 'incoming',
        };
  const peer = options.peer;
  // Each move is a revision of its own, between the entries before it and those after it: this
  // side's own stream then names each path as of its revision (sync/changes.ts). All in one transaction.
  db.transaction(() => {
    // A replica's own moves not yet pushed that the authority's entries touch become state.
    if (policy && options.source !== 'local') settleMetMoves(db, entries, policy.base);
    let start = 0;
    for (let i = 0; i <= entries.length; i++) {
      const entry = entries[i];
      if (entry !== undefined && entry.type !== 'move') continue;
      if (i > start) applyStates(db, entries.slice(start, i) as PathState[], policy, peer, result);
      if (entry !== undefined) applyMove(db, entry, policy, peer, result);
      start = i + 1;
    }
  });
  return result;
}

/**
 * The blobs the entries of a batch being applied have named so far, marked linked in one go when
 * the batch ends (a statement per file before); what a refused entry named is dropped with it.
 */
const linkedByBatch = new WeakMap<Mutation, string[]>();

/** Applies entries that are states, not moves, as one mutation. */
function applyStates(
  db: Database,
  entries: readonly PathState[],
  policy: ConflictPolicy | undefined,
  peer: string | undefined,
  result: ApplyResult,
): void {
  mutate(db, 'sync', undefined, (m) => {
    const echoed = new Set<string>();
    // Paths this batch deleted: what their removal tombstoned below them is the peer's change too.
    const deleted = new Set<string>();
    const dirs = new ResolvedDirectories(db);
    const parents = new ParentTimes(db, dirs);
    const linked: string[] = [];
    linkedByBatch.set(m, linked);
    for (const entry of entries) {
      const events = m.events.length;
      const named = linked.length;
      try {
        const implied = impliedDirectories(db, dirs, m, entry, policy, peer);
        // Each entry in its own savepoint: one this side cannot store leaves no trace, the rest go on.
        const outcome = db.transaction(() => applyEntry(db, dirs, m, entry, policy, peer, result, parents));
        if (outcome === 'skipped') result.skipped++;
        else result.applied++;
        if (outcome === 'applied') {
          echoed.add(entry.path);
          if (entry.type === 'delete') deleted.add(entry.path);
          for (const dir of implied) if (dirs.nodeAt(dir)?.type === 'dir') echoed.add(dir);
        }
      } catch (error) {
        if (!(error instanceof FsError) || isTransient(error)) throw error;
        // The savepoint rolled back what the entry did, which the memo may hold.
        dirs.clear();
        m.events.length = events;
        linked.length = named;
        result.refused.push({ path: String(entry.path), code: error.code, reason: error.message });
      }
    }
    parents.restore();
    linkedByBatch.delete(m);
    markLinked(db, linked);
    if (peer !== undefined && deleted.size > 0) for (const path of removedBelow(db, m, deleted)) echoed.add(path);
    // Paths this batch wrote are the peer's state: never sent back.
    // (Reading m.rev takes a revision: only when something was applied.)
    if (peer !== undefined && echoed.size > 0) markEchoes(db, peer, echoed, m.rev);
  });
}

/**
 * Replays a directory move as one rename when this side's copy of the tree is the one the sender
 * moved (nothing of it changed here since the move's base, see `replayable`). Otherwise the move
 * is what it amounts to in state: the old path is deleted, edits made here kept, and the sender is
 * asked for the moved tree as state (`result.expand`).
 */
function applyMove(
  db: Database,
  move: MoveEntry,
  policy: ConflictPolicy | undefined,
  peer: string | undefined,
  result: ApplyResult,
): void {
  try {
    normalizePath(move.from, 'sync');
    normalizePath(move.path, 'sync');
    const replayed = db.transaction(() => {
      if (!replayable(db, move, peer, policy !== undefined)) return false;
      // The parents' own states come as entries of their own: the rename leaves their times alone.
      mutate(db, 'sync', undefined, () => {
        const parents = new ParentTimes(db, new ResolvedDirectories(db));
        parents.before(move.from);
        parents.before(move.path);
        // An empty directory it replaces may be open: its handles keep it, as after rmdir while open.
        keepOpenFiles(db, 'sync', move.path, () => recordedRename(db, move.from, move.path, { peer }));
        parents.restore();
      });
      return true;
    });
    if (replayed) {
      result.applied++;
      return;
    }
  } catch (error) {
    // A path too long here, a quota: the move cannot be replayed, and is taken as state below.
    if (!(error instanceof FsError) || isTransient(error)) throw error;
  }
  // What the move amounts to in state: a deletion of the old path and of every path below it, each
  // settled on its own, so what changed here since the sender's base (what it had of this side's
  // changes when it moved) is kept and only that.
  const below = locationAt(db, move.from)?.node?.type === 'dir' ? find(db, move.from, '**') : [];
  const deletions = [move.from, ...below].map((path): PathState => ({ type: 'delete', rev: move.rev, path }));
  // Judged over what the sender had seen of this side: for a replica's move, all it had pulled when
  // it pushed (`seen`, as `replayable` does), or the echo marks forgotten since would be missing.
  applyStates(db, deletions, policy && { ...policy, base: move.seen ?? move.base }, peer, result);
  result.expand = [...(result.expand ?? []), move];
}

/**
 * The mtimes of directories as sync last left them. Applying an entry changes its parent's mtime
 * (and revision) to this side's clock; the parent's own state comes from the peer as an entry of
 * its own, so after the batch each parent gets back what it had before the batch or what its own
 * entry set, and nothing travels back.
 */
class ParentTimes {
  private readonly saved = new Map<number, { mtime: number; rev: number }>();
  private readonly seen = new Set<string>();
  private readonly db: Database;
  private readonly dirs: ResolvedDirectories;
  constructor(db: Database, dirs: ResolvedDirectories) {
    this.db = db;
    this.dirs = dirs;
  }

  /** Remembers the parent of `path` as it is now, unless already remembered. */
  before(path: string): void {
    const parent = parentPath(path);
    if (parent === '/' || this.seen.has(parent)) return;
    this.seen.add(parent);
    const node = this.dirs.nodeAt(parent);
    if (node && !this.saved.has(node.inode)) this.saved.set(node.inode, { mtime: node.mtime, rev: node.rev });
  }

  /** Records a directory's own entry: what it was set to is what it keeps. */
  wrote(inode: number, entry: ChangeEntry, rev: number): void {
    if (entry.type === 'dir') this.saved.set(inode, { mtime: entry.mtime, rev });
  }

  /** `node` with the times it gets back at the end of the batch, if it is a directory noted. */
  asBefore(node: NodeRow): NodeRow {
    const saved = node.type === 'dir' ? this.saved.get(node.inode) : undefined;
    return saved ? { ...node, mtime: saved.mtime, rev: saved.rev } : node;
  }

  /**
   * Lets the directories at and below `path` keep what this batch stamped on them: a version moved
   * aside, or kept for concurrent work, must travel to the peer, so its revision stays.
   */
  release(path: string): void {
    const top = this.dirs.nodeAt(path);
    if (top?.type !== 'dir') return;
    for (const dir of subtreeDirectories(this.db, top.inode)) this.keep(Number(dir.inode));
  }

  /** Lets directory `inode` keep what this batch stamped on it (see {@link ParentTimes.release}). */
  keep(inode: number): void {
    this.saved.delete(inode);
  }

  restore(): void {
    for (const [inode, { mtime, rev }] of this.saved) {
      this.db.run("UPDATE vfs_nodes SET mtime = ?, rev = ? WHERE inode = ? AND type = 'dir'", [mtime, rev, inode]);
    }
  }
}

/**
 * The directories above `entry` this side lacks though it did not remove them (it never had them,
 * or the peer removed them): the entry was sent at its path as of a revision whose directories the
 * peer has removed since, so it sent no state for them, and their removal follows in its stream.
 * Made here to hold the entry, they are the peer's state, not this side's work: were they this
 * side's, that removal would find them changed concurrently and keep them, and they would travel
 * back (a new replica's first sync put back on the authority a directory removed there).
 */
function impliedDirectories(
  db: Database,
  dirs: ResolvedDirectories,
  m: Mutation,
  entry: PathState,
  policy: ConflictPolicy | undefined,
  peer: string | undefined,
): string[] {
  if (!policy || peer === undefined || entry.type === 'delete') return [];
  const implied: string[] = [];
  for (let dir = parentPath(entry.path); dir !== '/' && !dirs.exists(dir); dir = parentPath(dir))
    if (!isConcurrent(db, dir, undefined, policy.base, peer, m)) implied.push(dir);
  return implied;
}

/**
 * The paths this mutation tombstoned below the directories in `deleted` (a removed tree's every
 * path). The peer's entries for them may come after the directory's own, find nothing left and be
 * skipped: without a mark of their own these tombstones would be pushed back to the peer, one
 * entry per path.
 */
function removedBelow(db: Database, m: Mutation, deleted: ReadonlySet<string>): string[] {
  const below = (path: string): boolean => {
    for (let dir = parentPath(path); dir !== '/'; dir = parentPath(dir)) if (deleted.has(dir)) return true;
    return false;
  };
  return db
    .all<{ path: string }>("SELECT path FROM vfs_changes WHERE rev = ? AND op = 'delete'", [m.rev])
    .map((row) => String(row.path))
    .filter(below);
}

/** Applies one entry; returns whether it was applied, skipped, or settled as a conflict. */
function applyEntry(
  db: Database,
  dirs: ResolvedDirectories,
  m: Mutation,
  entry: PathState,
  policy: ConflictPolicy | undefined,
  peer: string | undefined,
  result: ApplyResult,
  parents: ParentTimes,
): 'applied' | 'skipped' | 'settled' {
  // Paths longer than this side allows are refused here, with the entry (validation let them through).
  normalizePath(entry.path, 'sync');
  const location = dirs.locationAt(entry.path);
  // A directory an earlier entry of this batch touched gets its times back at the batch's end:
  // it is judged by those.
  const node = location?.node && parents.asBefore(location.node);
  const local = nodeState(db, node, entry.path);
  if (sameState(local, entry)) return 'skipped';
  parents.before(entry.path);
  // Whether something was moved aside below, after which `location` may name what is gone.
  let movedAside = false;
  if (
    policy &&
    (isConcurrent(db, entry.path, node, policy.base, peer, m) ||
      replacesConcurrent(db, dirs, m, local, entry, policy.base, peer))
  ) {
    if (entry.type === 'delete') {
      // An incoming deletion against a local edit: the edit survives; nothing is lost.
      result.conflicts.push({ path: entry.path, kept: 'local', copy: null });
      return 'settled';
    }
    if (local.type === 'delete') {
      // A local deletion against an incoming edit: the edit survives.
      result.conflicts.push({ path: entry.path, kept: 'incoming', copy: null });
    } else if ((local.type === 'dir' && entry.type === 'dir') || sameContent(local, entry)) {
      // The same directory, or the same bytes, made on both sides: not a conflict. Only mode and
      // mtime compete, settled by the policy; the local winner already travels to the peer.
      if (policy.winner === 'local') return 'settled';
    } else if (policy.winner === 'local') {
      const copy = conflictName(entry.path, peer ?? 'peer', entry.rev);
      parents.before(copy);
      writeEntry(db, dirs, m, entry, copy);
      result.conflicts.push({ path: entry.path, kept: 'local', copy });
      return 'settled';
    } else {
      const copy = conflictName(entry.path, replicaTag(db), local.rev);
      moveAside(db, dirs, entry.path, copy);
      movedAside = true;
      parents.release(copy);
      result.conflicts.push({ path: entry.path, kept: 'incoming', copy });
    }
  }
  // Where the entry's parent directories are not all real directories here, writing it replaces
  // what stands in their way: work made here concurrently is kept, as in any conflict.
  if (
    policy &&
    entry.type !== 'delete' &&
    (!location || location.realPath !== entry.path || location.parent.type !== 'dir')
  ) {
    const blocking = concurrentAncestor(db, dirs, m, entry.path, policy.base, peer);
    if (blocking && policy.winner === 'local') {
      const copy = conflictName(blocking.path, peer ?? 'peer', blocking.rev) + entry.path.slice(blocking.path.length);
      parents.before(copy);
      writeEntry(db, dirs, m, entry, copy);
      result.conflicts.push({ path: entry.path, kept: 'local', copy });
      return 'settled';
    }
    if (blocking) {
      const copy = conflictName(blocking.path, replicaTag(db), blocking.rev);
      moveAside(db, dirs, blocking.path, copy);
      movedAside = true;
      parents.release(copy);
      result.conflicts.push({ path: blocking.path, kept: 'incoming', copy });
    }
  }
  if (entry.type === 'delete' && local.type === 'dir' && policy) {
    const kept = removeKeepingConcurrent(db, dirs, m, entry.path, policy.base, peer, parents);
    if (kept.length > 0) {
      result.conflicts.push(...kept.map((path) => ({ path, kept: 'local' as const, copy: null })));
      return 'settled';
    }
  } else if (entry.type === 'delete') removePath(db, dirs, entry.path, location);
  else {
    parents.wrote(writeEntry(db, dirs, m, entry, entry.path, movedAside ? undefined : location), entry, m.rev);
  }
  return 'applied';
}

/**
 * The highest ancestor of `path` that is not a directory here (a file, a symlink), when it was
 * changed here concurrently: writing an entry below it would replace it.
 */
function concurrentAncestor(
  db: Database,
  dirs: ResolvedDirectories,
  m: Mutation,
  path: string,
  base: ChangeCursor,
  peer: string | undefined,
): { path: string; rev: number } | undefined {
  const parts = path.split('/').slice(1, -1);
  for (let i = 1; i <= parts.length; i++) {
    const dir = `/${parts.slice(0, i).join('/')}`;
    const location = dirs.locationAt(dir);
    if (!location?.node) return undefined;
    if (location.node.type === 'dir' && location.realPath === dir) continue;
    const node = location.node;
    return isConcurrent(db, dir, node, base, peer, m) ? { path: dir, rev: Number(node.rev) } : undefined;
  }
  return undefined;
}

/**
 * Whether `entry` (a file or symlink) would replace a local directory holding work changed here
 * concurrently: an edit inside a directory leaves the directory's own revision alone, so the
 * directory looks unchanged, yet replacing it would take the edit with it.
 */
function replacesConcurrent(
  db: Database,
  dirs: ResolvedDirectories,
  m: Mutation,
  local: PathState,
  entry: PathState,
  base: ChangeCursor,
  peer: string | undefined,
): boolean {
  if (local.type !== 'dir' || entry.type === 'dir' || entry.type === 'delete') return false;
  return find(db, entry.path, '**').some((p) => isConcurrent(db, p, dirs.nodeAt(p), base, peer, m));
}

/**
 * Deletes the directory at `path` and everything below it except paths changed here concurrently
 * (and the directories holding them), deepest first. Returns the paths kept.
 */
function removeKeepingConcurrent(
  db: Database,
  dirs: ResolvedDirectories,
  m: Mutation,
  path: string,
  base: ChangeCursor,
  peer: string | undefined,
  parents: ParentTimes,
): string[] {
  const candidates = mayBeConcurrent(db, dirs, path, base, peer);
  const below = candidates?.size === 0 ? [] : find(db, path, '**');
  const kept = below.filter(
    (p) => (candidates === undefined || candidates.has(p)) && isConcurrent(db, p, dirs.nodeAt(p), base, peer, m),
  );
  if (kept.length === 0) {
    // Nothing of this side's below: the tree goes whole, as an rm -r (not path by path).
    removePath(db, dirs, path);
    return kept;
  }
  const keep = new Set(kept);
  for (const p of kept) for (let dir = parentPath(p); dir !== path && dir !== '/'; dir = parentPath(dir)) keep.add(dir);
  for (const p of below.reverse()) if (!keep.has(p)) removePath(db, dirs, p);
  // The directories kept to hold that work are gone on the peer: stamp them so they travel back
  // (with their modes; made again there by a path below, they would take a default one). The
  // batch must not put back the times it noted for them before.
  for (const dir of [path, ...[...keep].filter((p) => !kept.includes(p))]) {
    const node = dirs.locationAt(dir)?.node;
    if (!node) continue;
    db.run('UPDATE vfs_nodes SET rev = ? WHERE inode = ?', [m.rev, node.inode]);
    parents.keep(node.inode);
  }
  return kept;
}

/**
 * The paths below directory `path` that {@link isConcurrent} could find changed here after
 * `base`, read for the whole tree in three statements: a node changed since, or a log row for the
 * path since. Undefined when a move since reaches into the tree or above it (a tree moved here
 * keeps its nodes' revisions), so that every path must be asked. Asking each path of an 80,000-path
 * tree cost a dozen statements a path: a Durable Object applying a replica's rm -r spent its CPU
 * limit there.
 */
function mayBeConcurrent(
  db: Database,
  dirs: ResolvedDirectories,
  path: string,
  base: ChangeCursor,
  peer: string | undefined,
): Set<string> | undefined {
  const top = dirs.locationAt(path)?.node;
  if (!top) return undefined;
  const reaches = (target: string) => isSameOrBelow(path, target) || isSameOrBelow(target, path);
  if (moveTargetsSince(db, base, peer).some(reaches)) return undefined;
  const candidates = new Set<string>();
  for (const row of db.all<{ path: string; inode: number; rev: number }>(
    `${SUBTREE} SELECT sub.path AS path, n.inode AS inode, n.rev AS rev FROM sub JOIN vfs_nodes n ON n.inode = sub.inode`,
    [top.inode, path],
  )) {
    if (row.path !== path && changedAfter(Number(row.rev), Number(row.inode), base)) candidates.add(row.path);
  }
  // Deletions and moves away since (any peer: a superset of what isConcurrent counts).
  for (const row of db.all<{ path: string }>(
    'SELECT DISTINCT path FROM vfs_changes WHERE rev >= ? AND path > ? AND path < ?',
    [base.rev, `${path}/`, `${path}0`],
  ))
    candidates.add(row.path);
  return candidates;
}

/** A path (holding `node`, or nothing) changed on this side after `base`, and not by applying it from `peer`. */
function isConcurrent(
  db: Database,
  path: string,
  node: NodeRow | undefined,
  base: ChangeCursor,
  peer: string | undefined,
  m: Mutation,
): boolean {
  // A tree moved here keeps its nodes' revisions: the move is the edit of every path in it.
  if (node && movedHereSince(db, path, base, peer)) return true;
  // A deletion of the path, or a move away from it made here (one replayed from the peer is its own).
  const tombstone = db.all<{ rev: number; id: number }>(
    `SELECT rev, id FROM vfs_changes WHERE path = ? AND (op = 'delete' OR peer IS NULL OR peer != ?)
     ORDER BY rev DESC, id DESC LIMIT 1`,
    [path, peer ?? ''],
  )[0];
  const changes = [
    ...(node ? [{ rev: Number(node.rev), at: Number(node.inode) }] : []),
    ...(tombstone ? [{ rev: Number(tombstone.rev), at: DELETION_POSITION + Number(tombstone.id) }] : []),
  ].filter((change) => changedAfter(change.rev, change.at, base));
  if (changes.length === 0) return false;
  const lastLocal = Math.max(...changes.map((change) => change.rev));
  // Changed by this very batch (a parent made for an earlier entry): the peer's state, not ours.
  if (m.isOwn(lastLocal)) return false;
  if (peer === undefined) return true;
  return !isEcho(db, peer, path, lastLocal);
}

/** Moves the local version at `path` to `copy` (a directory keeps its whole subtree); joins the running mutation. */
function moveAside(db: Database, dirs: ResolvedDirectories, path: string, copy: string): void {
  removePath(db, dirs, copy);
  dirs.forget(path);
  // As state: the peer holds the winning version at `path`, which a move would take away.
  recordedRename(db, path, copy, { asState: true });
}

function replicaTag(db: Database): string {
  const id = db.all<{ v: string }>("SELECT v FROM vfs_meta WHERE k = 'replica_id'")[0]?.v;
  return typeof id === 'string' ? id : 'local';
}
