/**
 * Open files: positional I/O by inode for adapters that hold files open (the @platformatic/vfs
 * provider, a FUSE driver). A file is opened once by path; reads, writes, truncates and stats then
 * go to its inode, so a rename of the path does not redirect an open file. Also: pins that keep an
 * open file alive after its last name is removed (POSIX unlink-while-open), and the commit of a
 * buffered write session in one transaction.
 *
 * @module
 */

import { R_OK, requireAccess, requireEntryChange, requireOwner, W_OK } from './access.ts';
import { hashBytes, holdStaged, loadBlob, markLinked, putBlob } from './blobs.ts';
import {
  type ChunkRef,
  chunkRange,
  readInodeInto,
  readRange,
  upsertChunks,
  writeContent,
  writeNewContent,
} from './content.ts';
import { checkOffset } from './data.ts';
import type { Database } from './database.ts';
import { fsError } from './errors.ts';
import { allocatedBytes, type StatInfo, toStat } from './fs/attributes.ts';
import { missingBlobs, refuseCreateWithSlash } from './fs/files.ts';
import { type Mutation, mutate } from './mutate.ts';
import {
  checkMode,
  createNode,
  DEFAULT_MODE,
  getNode,
  getNodeCounted,
  isSpecial,
  type NodeRow,
  type NodeType,
  specialContent,
} from './nodes.ts';
import { splitPath } from './paths.ts';
import { checkFileSize } from './quotas.ts';
import { removedDirs } from './removed-dirs.ts';
import { locate, pathsOf } from './resolve.ts';

/** How to open a path: open(2)'s flags, already decoded. */
export interface OpenFileOptions {
  /** The file will be read through this handle (checked for read permission under `db.checkPermissions`). */
  read?: boolean;
  /** The file will be written through this handle (directories refuse it with EISDIR; read-only workspaces with EROFS). */
  write?: boolean;
  /** Create a regular file when the name is missing (O_CREAT); a dangling trailing symlink creates its target. */
  create?: boolean;
  /** With `create`, fail with EEXIST when the name exists, a symlink included (O_EXCL). */
  exclusive?: boolean;
  /** Cut an existing file to zero bytes (O_TRUNC). */
  truncate?: boolean;
  /** A trailing symlink is ELOOP instead of being followed (O_NOFOLLOW). */
  noFollow?: boolean;
  /** The path must name a directory (O_DIRECTORY). */
  directory?: boolean;
  /** Permission bits of a created file, used as given (apply the umask before). Default 0o644. */
  mode?: number;
}

/** What {@link openFile} found or made. */
export interface OpenedFile {
  /** The inode every later call names. */
  inode: number;
  /** `file` or `dir` (directories open read-only). */
  type: NodeType;
  /** The path with every symlink resolved. */
  realPath: string;
  /** True when this call created the file. */
  created: boolean;
}

/**
 * Resolves `path` for open(2): creates or truncates as the options say, in one mutation (one
 * revision) when anything changes and none at all when nothing does.
 */
export function openFile(db: Database, path: string, options: OpenFileOptions | null = {}): OpenedFile {
  options ??= {};
  splitPath(path, 'open');
  const mode = options.mode === undefined ? DEFAULT_MODE.file : checkMode(options.mode, 'open', path);
  const follow = !(options.create && options.exclusive) && !options.noFollow;
  refuseCreateWithSlash(db, path, options.create, 'open', options.exclusive);
  // A creator on a writable workspace walks the path once, inside the mutation (an existing file
  // opened so takes no revision there); anything else looks first: opening an existing file
  // without O_TRUNC changes nothing, so it needs no transaction (and works read-only).
  if (!(options.create && !db.readOnly)) {
    const found = locate(db, path, { follow, syscall: 'open' });
    if (found.node && !options.truncate) return checkExisting(db, path, found.node, options, found.realPath);
  }
  return mutate(db, 'open', path, (m) => openIn(db, m, path, options, mode, follow).opened);
}

/** The open(2) work inside a mutation: one lookup, then create or truncate as asked. Returns the node row too. */
function openIn(
  db: Database,
  m: Mutation,
  path: string,
  options: OpenFileOptions,
  mode: number,
  follow: boolean,
  createSize = 0,
): { opened: OpenedFile; node: NodeRow } {
  const location = locate(db, path, { follow, syscall: 'open' });
  if (location.node) {
    const opened = checkExisting(db, path, location.node, options, location.realPath);
    if (options.truncate && location.node.type === 'file') {
      writeContent(db, m, location.node, 0, new Uint8Array(0), 0);
      m.note('change', location.realPath);
    }
    return { opened, node: location.node };
  }
  if (!options.create) throw fsError('ENOENT', 'open', path);
  requireEntryChange(db, location.parent, undefined, 'open', path);
  const node = createNode(db, m, location.parent, location.name, 'file', mode, null, createSize);
  m.note('rename', location.realPath);
  return { opened: { inode: node.inode, type: 'file', realPath: location.realPath, created: true }, node };
}

function checkExisting(
  db: Database,
  path: string,
  node: NodeRow,
  options: OpenFileOptions,
  realPath: string,
): OpenedFile {
  if (options.create && options.exclusive) throw fsError('EEXIST', 'open', path);
  if (node.type === 'symlink') throw fsError('ELOOP', 'open', path, undefined, 'O_NOFOLLOW and the path is a symlink');
  if (node.type === 'dir' && (options.write || options.truncate)) throw fsError('EISDIR', 'open', path);
  requireAccess(db, node, (options.read ? R_OK : 0) | (options.write || options.truncate ? W_OK : 0), 'open', path);
  if (isSpecial(node.type)) throw specialContent('open', path);
  if (options.directory && node.type !== 'dir') throw fsError('ENOTDIR', 'open', path);
  if (options.write && db.readOnly)
    throw fsError('EROFS', 'open', path, undefined, 'the workspace was opened read-only');
  return { inode: Number(node.inode), type: node.type, realPath, created: false };
}

/**
 * The inode row of an open file, or of an open directory removed since (as it was then, with no
 * links and no size, as Linux reports it). Gone means it was removed by a path that does not honour pins.
 */
export function liveNode(db: Database, inode: number, syscall: string): NodeRow {
  const node = getNode(db, inode) ?? removedDirs(db).get(inode);
  if (!node) throw fsError('EIO', syscall, undefined, undefined, `inode ${inode} was removed while open`);
  return node;
}

/** Notes a change of `inode` under every name it has. */
export function noteEverywhere(db: Database, m: Mutation, inode: number): void {
  // Watchers know paths, not inodes: a hard-linked file changes under each of its names.
  for (const path of pathsOf(db, inode)) m.note('change', path);
}

/** Reads up to `length` bytes at `offset` of an open file (fewer at end of file). Only the chunks covered are loaded. */
export function readAt(db: Database, inode: number, offset: number, length: number): Uint8Array {
  checkOffset(offset, 'position', 'read', '');
  checkOffset(length, 'length', 'read', '');
  const node = liveNode(db, inode, 'read');
  if (node.type === 'dir') throw fsError('EISDIR', 'read');
  return readRange(db, node, offset, length);
}

/** Options of {@link readInto}. */
export interface ReadIntoOptions {
  /**
   * Keep the chunks read from storage in the blob cache (default true). The FUSE mount passes
   * false: the kernel's page cache keeps what its readers read, so a second copy in the daemon
   * only costs memory (a cold 64 MiB read faulted in 64 MiB more) and chunks that others use.
   * Chunks already cached are used either way.
   */
  cache?: boolean;
}

/**
 * Reads from `offset` of an open file into `target` (as much as fits; fewer at end of file) and
 * returns the bytes read: {@link readAt} without the allocation and the separate node lookup, in
 * one statement when the chunks are cached. What fd reads use.
 */
export function readInto(
  db: Database,
  inode: number,
  offset: number,
  target: Uint8Array,
  options: ReadIntoOptions = {},
): number {
  checkOffset(offset, 'position', 'read', '');
  return readInodeInto(db, inode, offset, target, options.cache ?? true);
}

/**
 * Writes `data` at `offset` of an open file (at its end, read inside the transaction, when
 * `append`), zero-filling any gap, re-hashing only the chunks touched. One mutation; an empty
 * write changes nothing. Returns the offset just past the written bytes.
 */
export function writeAt(db: Database, inode: number, offset: number, data: Uint8Array, append = false): number {
  checkOffset(offset, 'position', 'write', '');
  if (data.byteLength === 0) {
    // As Linux: an empty write checks nothing but the fd and moves nothing, even with O_APPEND.
    liveNode(db, inode, 'write');
    return offset;
  }
  return mutate(db, 'write', undefined, (m) => {
    const node = liveNode(db, inode, 'write');
    if (node.type !== 'file') throw fsError('EISDIR', 'write');
    const at = append ? Number(node.size) : offset;
    writeContent(db, m, node, at, data);
    noteEverywhere(db, m, inode);
    return at + data.byteLength;
  });
}

/**
 * Opens, writes and closes in one mutation: writeFile and appendFile with open(2)'s flags. The
 * bytes go at offset 0, or at the end when `append`; an existing file keeps its mode.
 */
export function writeWhole(
  db: Database,
  path: string,
  data: Uint8Array,
  options: OpenFileOptions & { append?: boolean } = {},
): void {
  splitPath(path, 'open');
  mutate(db, 'open', path, (m) => {
    const mode = options.mode === undefined ? DEFAULT_MODE.file : checkMode(options.mode, 'open', path);
    const follow = !(options.create && options.exclusive) && !options.noFollow;
    refuseCreateWithSlash(db, path, options.create, 'open', options.exclusive);
    // openFile then writeAt, on the row the one lookup found: no second path walk, no re-read of
    // the inode, and a file with a single name is noted by the path just resolved.
    const { opened, node } = openIn(db, m, path, { ...options, write: true }, mode, follow, data.byteLength);
    if (data.byteLength === 0) return;
    if (node.type !== 'file') throw fsError('EISDIR', 'write');
    if (opened.created) writeNewContent(db, m, node, data);
    else writeContent(db, m, node, options.append ? Number(node.size) : 0, data);
    if (Number(node.nlink) === 1) m.note('change', opened.realPath);
    else noteEverywhere(db, m, opened.inode);
  });
}

/** Sets the length of an open file: cut, or extended with zeros. One mutation. */
export function truncateAt(db: Database, inode: number, length: number): void {
  checkOffset(length, 'length', 'ftruncate', '');
  mutate(db, 'ftruncate', undefined, (m) => {
    const node = liveNode(db, inode, 'ftruncate');
    if (node.type !== 'file') throw fsError('EINVAL', 'ftruncate');
    writeContent(db, m, node, 0, new Uint8Array(0), length);
    noteEverywhere(db, m, inode);
  });
}

/** Information about an open inode (fstat). A removed-but-open file or directory reports nlink 0. */
export function statInode(db: Database, inode: number): StatInfo {
  // The row with its allocation in one statement; a removed directory's (or the error) from liveNode.
  const node = getNodeCounted(db, inode) ?? liveNode(db, inode, 'fstat');
  return toStat(node, '', allocatedBytes(db, node));
}

/** Sets the permission bits of an open inode (fchmod), even one whose every name is gone. One mutation; bumps ctime. */
export function chmodAt(db: Database, inode: number, mode: number): void {
  checkMode(mode, 'fchmod', '');
  const removed = removedDirs(db).get(inode);
  if (removed) {
    // A removed directory still open: only its open handles see it, so it changes in memory.
    Object.assign(removed, { mode, ctime: db.now() });
    return;
  }
  mutate(db, 'fchmod', undefined, (m) => {
    requireOwner(db, liveNode(db, inode, 'fchmod'), 'fchmod');
    db.run('UPDATE vfs_nodes SET mode = ?, ctime = ?, rev = ? WHERE inode = ?', [mode, m.now, m.rev, inode]);
    noteEverywhere(db, m, inode);
  });
}

/** Sets the access and modification times (milliseconds) of an open inode (futimes). One mutation; bumps ctime. */
export function utimesAt(db: Database, inode: number, atimeMs: number, mtimeMs: number): void {
  if (!Number.isFinite(atimeMs) || !Number.isFinite(mtimeMs))
    throw fsError('EINVAL', 'futime', undefined, undefined, 'times must be finite');
  const removed = removedDirs(db).get(inode);
  if (removed) {
    Object.assign(removed, { atime: atimeMs, mtime: mtimeMs, ctime: db.now() });
    return;
  }
  mutate(db, 'futime', undefined, (m) => {
    requireOwner(db, liveNode(db, inode, 'futime'), 'futime');
    db.run('UPDATE vfs_nodes SET atime = ?, mtime = ?, ctime = ?, rev = ? WHERE inode = ?', [
      atimeMs,
      mtimeMs,
      m.now,
      m.rev,
      inode,
    ]);
    noteEverywhere(db, m, inode);
  });
}

// ---- Pins: an open file outlives its last name until it is closed. ----

const pinsByDb = new WeakMap<Database, Map<number, number>>();
/** Pinned files that lost their last name while open: deleted at their last unpin. */
const unnamedByDb = new WeakMap<Database, Set<number>>();

function unnamed(db: Database): Set<number> {
  let set = unnamedByDb.get(db);
  if (!set) {
    set = new Set();
    unnamedByDb.set(db, set);
  }
  return set;
}

function pins(db: Database): Map<number, number> {
  let map = pinsByDb.get(db);
  if (!map) {
    map = new Map();
    pinsByDb.set(db, map);
  }
  return map;
}

/** Marks `inode` as open once more. Pins live in memory, per {@link Database}. */
export function pinInode(db: Database, inode: number): void {
  const map = pins(db);
  map.set(inode, (map.get(inode) ?? 0) + 1);
}

/**
 * Drops one pin. At the last one, a file whose every name was removed while it was open is
 * deleted now (chunks and inode), in one transaction that takes no revision: nothing visible changes.
 */
export function unpinInode(db: Database, inode: number): void {
  const map = pins(db);
  const count = map.get(inode) ?? 0;
  if (count > 1) {
    map.set(inode, count - 1);
    return;
  }
  map.delete(inode);
  removedDirs(db).delete(inode);
  // Only a file that lost every name while open needs storage work; closing any other is free.
  if (db.readOnly || !unnamed(db).delete(inode)) return;
  db.transaction(() => {
    const node = getNode(db, inode);
    if (node?.type !== 'file' || Number(node.nlink) > 0) return;
    db.run('DELETE FROM vfs_chunks WHERE inode = ?', [inode]);
    db.run('DELETE FROM vfs_nodes WHERE inode = ?', [inode]);
  });
}

/** The inodes currently pinned on `db`. */
export function pinnedInodes(db: Database): number[] {
  return [...pins(db).keys()];
}

/**
 * Runs `fn` (an unlink, rmdir, rm, rename or copyFile made of the core primitives) as one mutation
 * in which every pinned file survives losing its last name: it stays, with nlink 0, readable and
 * writable through its inode, until {@link unpinInode} releases it. The trick is to lend each
 * pinned file one extra link for the duration, so the primitives' own "last link gone" deletion
 * never fires. A pinned directory removed is remembered as it was (nlink 0, size 0), so its open
 * handles still stat it, until its last unpin.
 */
export function keepOpenFiles<T>(db: Database, syscall: string, path: string, fn: () => T): T {
  const pinned = pinnedInodes(db);
  if (pinned.length === 0) return fn();
  let gone: NodeRow[] = [];
  const result = mutate(db, syscall, path, (m) => {
    const dirs = nodesOf(db, pinned, "type = 'dir'");
    lendLinks(db, pinned, 1);
    const result = fn();
    lendLinks(db, pinned, -1);
    const left = new Set(
      nodesOf(
        db,
        dirs.map((dir) => Number(dir.inode)),
        '1',
      ).map((dir) => Number(dir.inode)),
    );
    gone = dirs
      .filter((dir) => !left.has(Number(dir.inode)))
      .map((dir) => ({ ...dir, nlink: 0, size: 0, ctime: m.now }));
    const per = db.limits.maxBoundParameters;
    for (let start = 0; start < pinned.length; start += per) {
      const batch = pinned.slice(start, start + per);
      const rows = db.all<{ inode: number }>(
        `SELECT inode FROM vfs_nodes WHERE type = 'file' AND nlink <= 0 AND inode IN (${batch.map(() => '?').join(', ')})`,
        batch,
      );
      for (const row of rows) unnamed(db).add(Number(row.inode));
    }
    return result;
  });
  // Only once committed: a failed removal removed nothing.
  for (const dir of gone) removedDirs(db).set(Number(dir.inode), dir);
  return result;
}

/**
 * The files open now (pinned), of those `keep` accepts: a restore keeps those the snapshot it
 * returns to did not have for their handles ({@link keepNameless}).
 */
export function openFiles(db: Database, keep: (inode: number) => boolean): number[] {
  return nodesOf(db, pinnedInodes(db).filter(keep), "type = 'file'").map((row) => Number(row.inode));
}

/**
 * Open files `inodes` lost every name in the current mutation (a restore to before they were
 * made): they stay, nameless, readable and writable through their handles, and go at their last
 * unpin, as after an unlink while open.
 */
export function keepNameless(db: Database, inodes: readonly number[]): void {
  if (inodes.length === 0) return;
  db.run('UPDATE vfs_nodes SET nlink = 0 WHERE inode IN (SELECT value FROM json_each(?))', [JSON.stringify(inodes)]);
  for (const inode of inodes) unnamed(db).add(inode);
}

/** The rows of those of `inodes` that exist and match `where`, in batches under the parameter limit. */
function nodesOf(db: Database, inodes: readonly number[], where: string): NodeRow[] {
  const rows: NodeRow[] = [];
  const per = db.limits.maxBoundParameters;
  for (let start = 0; start < inodes.length; start += per) {
    const batch = inodes.slice(start, start + per);
    rows.push(
      ...db.all<NodeRow>(
        `SELECT inode, type, mode, size, nlink, atime, mtime, ctime, birthtime, rev, link_target, uid, gid, rdev FROM vfs_nodes WHERE ${where} AND inode IN (${batch.map(() => '?').join(', ')})`,
        batch,
      ),
    );
  }
  return rows;
}

function lendLinks(db: Database, inodes: readonly number[], delta: number): void {
  const per = db.limits.maxBoundParameters - 1;
  for (let start = 0; start < inodes.length; start += per) {
    const batch = inodes.slice(start, start + per);
    db.run(
      `UPDATE vfs_nodes SET nlink = nlink + ? WHERE type = 'file' AND inode IN (${batch.map(() => '?').join(', ')})`,
      [delta, ...batch],
    );
  }
}

/**
 * Deletes files left with no name and no pin: what a crash leaves of files removed while open.
 * Returns how many were deleted. Takes no revision.
 */
export function reclaimOrphans(db: Database): number {
  if (db.readOnly) return 0;
  return db.transaction(() =>
    dropNameless(db, db.all<{ inode: number }>("SELECT inode FROM vfs_nodes WHERE type = 'file' AND nlink <= 0")),
  );
}

/**
 * Deletes those of `files` (files with no name left) that no handle holds, chunks and inode, inside
 * the caller's transaction. Returns how many were deleted.
 */
export function dropNameless(db: Database, files: readonly { inode: number }[]): number {
  const pinned = new Set(pinnedInodes(db));
  const orphans = files.map((row) => Number(row.inode)).filter((inode) => !pinned.has(inode));
  for (const inode of orphans) {
    db.run('DELETE FROM vfs_chunks WHERE inode = ?', [inode]);
    db.run('DELETE FROM vfs_nodes WHERE inode = ?', [inode]);
  }
  return orphans.length;
}

// ---- Buffered write sessions ----

/** The committed bytes of chunk `idx` of an open file, or undefined when it has no such chunk. */
export function readChunk(db: Database, inode: number, idx: number): Uint8Array | undefined {
  const [chunk] = chunkRange(db, inode, idx, idx);
  return chunk ? loadBlob(db, chunk.hash, 'read') : undefined;
}

/** The bytes of a stored blob (a chunk staged earlier by {@link stageChunks}). */
export function readBlob(db: Database, hash: string): Uint8Array {
  return loadBlob(db, hash, 'read');
}

/**
 * Stores chunks' bytes as blobs now, in one transaction outside any mutation, so a long write
 * session need not hold them in memory; {@link commitBuffered} links them later. The blobs are
 * held for this process (gc here leaves them alone until `releaseStaged`), and their `last_seen`
 * is refreshed so gc's safety window protects them from other processes' gc until then.
 */
export function stageChunks(db: Database, chunks: readonly { idx: number; bytes: Uint8Array }[]): ChunkRef[] {
  const refs = chunks.map(({ idx, bytes }) => ({ idx, hash: hashBytes(bytes), size: bytes.byteLength }));
  db.transaction(() => {
    const now = db.now();
    chunks.forEach(({ bytes }, i) => {
      putBlob(db, refs[i].hash, bytes, now, true);
    });
  });
  holdStaged(
    db,
    refs.map((ref) => ref.hash),
  );
  return refs;
}

/** A write session's outcome, as {@link commitBuffered} applies it. */
export interface BufferedContent {
  /** The file's length as the session sees it. */
  size: number;
  /**
   * The node's revision when the session started (opened, or last committed). Another at commit
   * means another writer (a process, the CLI, sync) changed the file meanwhile: the session's
   * writes are then merged onto the file as it is now instead of replacing it.
   */
  baseRev: number;
  /** The shortest length the session set (truncate), `Infinity` if none: committed bytes at or past it are gone. */
  cutAt: number;
  /** The furthest end of the session's writes (0 if none). */
  writeEnd: number;
  /** Chunks stored already by {@link stageChunks}. */
  staged: readonly ChunkRef[];
  /**
   * Chunks to hash and store now, each exactly as long as the session sees it: the bytes, or a
   * function that builds them when they are stored, into memory it may reuse for the next chunk
   * (the bytes it returns are stored before it is called again), so hundreds of patched chunks
   * need not all be built at once.
   */
  dirty: ReadonlyMap<number, Uint8Array | (() => Uint8Array)>;
  /**
   * For every chunk in `staged` or `dirty`, the byte ranges `[from, to)` within the chunk that the
   * session wrote, ordered and disjoint. Other bytes of those chunks below `cutAt` come from the
   * committed file when it changed under the session.
   */
  written: ReadonlyMap<number, readonly (readonly [number, number])[]>;
  /** The modification time to record (one given explicitly, as by a FUSE writeback cache); the commit's time when absent. */
  mtimeMs?: number;
}

/** What {@link commitBuffered} committed. */
export interface BufferedCommit {
  /** The file's length now. */
  size: number;
  /** The node's revision now: the base of the next session. */
  rev: number;
  /** True when another writer had changed the file and the session's writes were merged onto its changes. */
  merged: boolean;
  /** The modification time recorded (the one given, else the commit's). */
  mtimeMs: number;
}

/**
 * Applies a buffered write session to an open file in one mutation (one revision), as if the
 * session's writes and truncates all happened now: each written byte lands at its offset, the
 * size comes from the last size change (the session's truncate, else the larger of the file's
 * current size and the session's furthest write), and bytes nobody wrote keep the file's current
 * content. When nothing else changed the file since `baseRev`, that is the session's view
 * exactly and only its dirty chunks are hashed; otherwise the touched chunks are rebuilt from the
 * current chunk list. Drops chunks past the new size. A staged blob that gc has collected
 * meanwhile fails the commit with EIO and changes nothing.
 */
export function commitBuffered(db: Database, inode: number, content: BufferedContent): BufferedCommit {
  checkOffset(content.size, 'size', 'write', '');
  const chunkSize = db.chunkSize;
  return mutate(db, 'write', undefined, (m) => {
    const node = liveNode(db, inode, 'write');
    if (node.type !== 'file') throw fsError('EISDIR', 'write');
    const missing = missingBlobs(
      db,
      content.staged.map((chunk) => chunk.hash),
    );
    if (missing > 0)
      throw fsError('EIO', 'write', undefined, undefined, `${missing} staged chunks were collected by gc; retry`);
    const changed = Number(node.rev) !== content.baseRev;
    const cutAt = content.cutAt;
    const current = Number(node.size);
    const size = changed && cutAt === Number.POSITIVE_INFINITY ? Math.max(current, content.writeEnd) : content.size;
    checkFileSize(db, size);
    const count = Math.ceil(size / chunkSize);
    const lengthOf = (idx: number): number => Math.min(chunkSize, size - idx * chunkSize);
    const held = new Map<number, { bytes?: Uint8Array | (() => Uint8Array); ref?: ChunkRef }>();
    for (const chunk of content.staged) if (chunk.idx < count) held.set(chunk.idx, { ref: chunk });
    for (const [idx, bytes] of content.dirty) if (idx < count) held.set(idx, { bytes });
    // The chunks whose committed bytes may need rebuilding although the session holds none of them:
    // the one cut inside, the old last one, the new last one.
    const rebuild = new Set<number>();
    if (cutAt < size && cutAt % chunkSize !== 0) rebuild.add(Math.floor(cutAt / chunkSize));
    if (current !== size) {
      if (current % chunkSize !== 0) rebuild.add(Math.floor(current / chunkSize));
      if (size % chunkSize !== 0) rebuild.add(count - 1);
    }
    for (const idx of [...rebuild]) if (idx >= count || held.has(idx)) rebuild.delete(idx);
    // The committed chunks those need, read before anything is deleted.
    const needed = [...rebuild, ...(changed ? held.keys() : [])];
    const committed = new Map<number, ChunkRef>();
    for (const idx of needed) {
      const [row] = chunkRange(db, inode, idx, idx);
      if (row) committed.set(idx, row);
    }
    /** Bytes `[0, upTo)` of committed chunk `idx` copied into `out` (a missing chunk is zeros). */
    const baseInto = (idx: number, out: Uint8Array, upTo: number): void => {
      const row = committed.get(idx);
      if (!row || upTo <= 0) return;
      const bytes = loadBlob(db, row.hash, 'write');
      out.set(bytes.subarray(0, Math.min(upTo, bytes.byteLength, out.byteLength)));
    };
    const rows: ChunkRef[] = [];
    const store = (idx: number, bytes: Uint8Array): void => {
      const hash = hashBytes(bytes);
      putBlob(db, hash, bytes, m.now);
      rows.push({ idx, hash, size: bytes.byteLength });
    };
    for (const [idx, entry] of held) {
      const { ref } = entry;
      const bytes = typeof entry.bytes === 'function' ? entry.bytes() : entry.bytes;
      const length = lengthOf(idx);
      const start = idx * chunkSize;
      const ownLength = bytes ? bytes.byteLength : (ref as ChunkRef).size;
      // Where the session's bytes win: everywhere when nothing changed under it, else what it wrote
      // and whatever lies past its cut.
      const ranges: (readonly [number, number])[] = changed
        ? [...(content.written.get(idx) ?? []), [Math.max(0, cutAt - start), length]]
        : [[0, length]];
      if (ownLength === length && covers(ranges, length)) {
        if (bytes) store(idx, bytes);
        else rows.push(ref as ChunkRef);
        continue;
      }
      const own = bytes ?? loadBlob(db, (ref as ChunkRef).hash, 'write');
      const out = new Uint8Array(length);
      if (changed) baseInto(idx, out, Math.min(length, cutAt - start));
      for (const [from, to] of ranges) {
        const end = Math.min(to, length);
        if (end <= from) continue;
        out.fill(0, from, end);
        out.set(own.subarray(from, Math.min(end, own.byteLength)), from);
      }
      store(idx, out);
    }
    for (const idx of rebuild) {
      const length = lengthOf(idx);
      const keep = Math.min(length, cutAt - idx * chunkSize);
      const row = committed.get(idx);
      if (row && row.size === length && keep >= length) continue; // unchanged
      if (!row) continue; // a hole stays a hole
      const out = new Uint8Array(length);
      baseInto(idx, out, keep);
      store(idx, out);
    }
    // Committed chunks past the new end or wholly past the cut hold nothing any more. None lies at
    // or past the file's current end (fsck's invariant), so a file that only grew (every created
    // file's first commit) has none to drop: no statement.
    const firstGone = Math.min(count, Math.ceil(Math.min(cutAt, size) / chunkSize));
    if (firstGone < Math.ceil(current / chunkSize)) {
      db.run('DELETE FROM vfs_chunks WHERE inode = ? AND idx >= ?', [inode, firstGone]);
    }
    upsertChunks(db, inode, rows);
    markLinked(
      db,
      content.staged.map((chunk) => chunk.hash),
    );
    const mtimeMs = content.mtimeMs ?? m.now;
    db.run('UPDATE vfs_nodes SET size = ?, mtime = ?, ctime = ?, rev = ? WHERE inode = ?', [
      size,
      mtimeMs,
      m.now,
      m.rev,
      inode,
    ]);
    noteEverywhere(db, m, inode);
    return { size, rev: m.rev, merged: changed, mtimeMs };
  });
}

/** True when the ordered, disjoint `ranges` cover `[0, length)`. */
function covers(ranges: readonly (readonly [number, number])[], length: number): boolean {
  let reached = 0;
  for (const [from, to] of [...ranges].sort((a, b) => a[0] - b[0])) {
    if (from > reached) return false;
    reached = Math.max(reached, to);
    if (reached >= length) return true;
  }
  return reached >= length;
}
