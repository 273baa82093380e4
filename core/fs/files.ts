/**
 * writeFile, readFile, readFileStream, appendFile, truncate, copyFile.
 *
 * @module
 */

import { checksCaller, R_OK, requireAccess, requireEntryChange, W_OK } from '../access.ts';
import { hashBytes, holdStaged, loadBlob, markLinked, putBlob, releaseStaged } from '../blobs.ts';
import {
  type ChunkRef,
  readRange,
  replaceContent,
  shareChunks,
  sizedChunks,
  upsertChunks,
  writeContent,
  writeNewContent,
} from '../content.ts';
import { type ByteSource, checkOffset, type FileData, isByteSource, toBytes, toText } from '../data.ts';
import type { Database } from '../database.ts';
import { type FsError, fsError, withPaths, wrapStorageError } from '../errors.ts';
import { type Mutation, mutate } from '../mutate.ts';
import {
  checkMode,
  createNode,
  DEFAULT_MODE,
  isSpecial,
  MAX_WALK_NAMES,
  type NodeRow,
  specialContent,
  unlinkEntry,
  walkToSmallFile,
} from '../nodes.ts';
import { endsWithDot, endsWithSlash, splitPath } from '../paths.ts';
import { checkFileSize } from '../quotas.ts';
import { type Location, locate, resolve } from '../resolve.ts';

/** Options for {@link writeFile}. */
export interface WriteFileOptions {
  /** Permission bits. A new file gets 0o644 by default; an existing file keeps its mode unless one is given. */
  mode?: number;
  /** Fail with EEXIST if the path exists (O_EXCL; a symlink there counts, dangling or not). */
  exclusive?: boolean;
}

interface OpenTargetOptions extends WriteFileOptions {
  /** Apply `mode` only when the file is created (appendFile, open with O_CREAT). */
  modeOnCreate?: boolean;
}

/**
 * open(2) with O_CREAT on a path ending in a slash is EISDIR, whatever is there (a file, a
 * directory, nothing), once the directories leading to it are found: only a directory may be
 * named so, and open never makes one. A final `.` names a directory that exists: with O_EXCL,
 * that is EEXIST.
 */
export function refuseCreateWithSlash(
  db: Database,
  path: string,
  create: boolean | undefined,
  syscall = 'open',
  exclusive = false,
): void {
  if (!create || !endsWithSlash(path)) return;
  locate(db, path, { follow: false, syscall, slash: 'entry' });
  if (exclusive && endsWithDot(path)) throw fsError('EEXIST', syscall, path);
  throw fsError('EISDIR', syscall, path, undefined, 'a path ending in / names a directory');
}

/**
 * Finds or creates the file a write goes to, following a trailing symlink (creating its target
 * when it dangles, as open(O_CREAT) does).
 */
function openTarget(
  db: Database,
  m: Mutation,
  path: string,
  syscall: string,
  options: OpenTargetOptions,
  createSize = 0,
): { node: NodeRow; realPath: string; created: boolean } {
  const mode = options.mode === undefined ? undefined : checkMode(options.mode, syscall, path);
  refuseCreateWithSlash(db, path, true, syscall, options.exclusive);
  const location = locate(db, path, { follow: !options.exclusive, syscall });
  if (location.node) {
    if (options.exclusive) throw fsError('EEXIST', syscall, path);
    if (location.node.type === 'dir') throw fsError('EISDIR', syscall, path);
    if (isSpecial(location.node.type)) throw specialContent(syscall, path);
    if (mode !== undefined && !options.modeOnCreate && mode !== location.node.mode) {
      db.run('UPDATE vfs_nodes SET mode = ? WHERE inode = ?', [mode, location.node.inode]);
      location.node.mode = mode;
    }
    return { node: location.node, realPath: location.realPath, created: false };
  }
  requireEntryChange(db, location.parent, undefined, syscall, path);
  const node = createNode(db, m, location.parent, location.name, 'file', mode ?? DEFAULT_MODE.file, null, createSize);
  return { node, realPath: location.realPath, created: true };
}

/**
 * Writes a whole file from a string (UTF-8) or bytes, creating it or replacing its content in
 * place (the inode, its links and, unless `mode` is given, its mode are kept). Given a stream or
 * async iterable instead, it stages chunks as they arrive and returns a promise; the file changes
 * in one transaction at the end.
 */
export function writeFile(db: Database, path: string, data: FileData, options?: WriteFileOptions): void;
export function writeFile(db: Database, path: string, data: ByteSource, options?: WriteFileOptions): Promise<void>;
export function writeFile(
  db: Database,
  path: string,
  data: FileData | ByteSource,
  options: WriteFileOptions | null = {},
): void | Promise<void> {
  options ??= {};
  splitPath(path, 'open');
  if (isByteSource(data)) return writeFileFromSource(db, path, data, options);
  const bytes = toBytes(data, 'write', path);
  mutate(db, 'open', path, (m) => {
    const { node, realPath, created } = openTarget(db, m, path, 'open', options, bytes.byteLength);
    if (created) writeNewContent(db, m, node, bytes);
    else replaceContent(db, m, node, bytes);
    m.note(created ? 'rename' : 'change', realPath);
  });
}

async function* iterate(source: ByteSource): AsyncIterable<Uint8Array | string> {
  if ('getReader' in source && typeof source.getReader === 'function') {
    const reader = source.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        yield value;
      }
    } finally {
      reader.releaseLock();
    }
  } else {
    yield* source as AsyncIterable<Uint8Array | string>;
  }
}

async function writeFileFromSource(
  db: Database,
  path: string,
  source: ByteSource,
  options: WriteFileOptions,
): Promise<void> {
  const chunkSize = db.chunkSize;
  const staged: ChunkRef[] = [];
  let buffer = new Uint8Array(chunkSize);
  let fill = 0;
  // Each chunk is stored as it fills, outside the final transaction, with a fresh last_seen so
  // gc's safety window protects it until the file links it.
  const stage = (bytes: Uint8Array): void => {
    const hash = hashBytes(bytes);
    try {
      db.transaction(() => putBlob(db, hash, bytes, db.now(), true));
    } catch (error) {
      // Storing content is the stream's write: name it so (`ENOSPC: …, write '/a'`), not `sqlite`.
      throw wrapStorageError(error, 'write', path);
    }
    staged.push({ idx: staged.length, hash, size: bytes.byteLength });
    holdStaged(db, [hash]);
  };
  try {
    await stageAll();
  } finally {
    releaseStaged(
      db,
      staged.map((chunk) => chunk.hash),
    );
  }
  async function stageAll(): Promise<void> {
    for await (const piece of iterate(source)) {
      let bytes = toBytes(piece, 'write', path);
      // Refuse an oversized stream before staging any more of it.
      checkFileSize(db, staged.length * chunkSize + fill + bytes.byteLength, path);
      while (bytes.byteLength > 0) {
        const take = Math.min(bytes.byteLength, chunkSize - fill);
        buffer.set(bytes.subarray(0, take), fill);
        fill += take;
        bytes = bytes.subarray(take);
        if (fill === chunkSize) {
          stage(buffer);
          buffer = new Uint8Array(chunkSize);
          fill = 0;
        }
      }
    }
    if (fill > 0) stage(buffer.subarray(0, fill));
  }
  const size = staged.reduce((sum, chunk) => sum + chunk.size, 0);
  mutate(db, 'open', path, (m) => {
    const missing = missingBlobs(
      db,
      staged.map((chunk) => chunk.hash),
    );
    if (missing > 0)
      throw fsError(
        'EIO',
        'write',
        path,
        undefined,
        `${missing} staged chunks were collected by gc before the write finished; retry`,
      );
    const { node, realPath, created } = openTarget(db, m, path, 'open', options);
    db.run('DELETE FROM vfs_chunks WHERE inode = ?', [node.inode]);
    upsertChunks(db, node.inode, staged);
    markLinked(
      db,
      staged.map((chunk) => chunk.hash),
    );
    db.run('UPDATE vfs_nodes SET size = ?, mtime = ?, ctime = ?, rev = ? WHERE inode = ?', [
      size,
      m.now,
      m.now,
      m.rev,
      node.inode,
    ]);
    m.note(created ? 'rename' : 'change', realPath);
  });
}

/** How many of `hashes` have no blob, checked in batches under the parameter limit. */
export function missingBlobs(db: Database, hashes: readonly string[]): number {
  const unique = [...new Set(hashes)];
  let found = 0;
  const per = db.limits.maxBoundParameters;
  for (let start = 0; start < unique.length; start += per) {
    const batch = unique.slice(start, start + per);
    found += Number(
      db.all<{ n: number }>(
        `SELECT count(*) AS n FROM vfs_blobs WHERE hash IN (${batch.map(() => '?').join(', ')})`,
        batch,
      )[0].n,
    );
  }
  return unique.length - found;
}

/** A byte range of a file. */
export interface ByteRange {
  /** First byte to read. Default 0. */
  byteOffset?: number;
  /** Most bytes to read. Default: to the end of the file. */
  byteLength?: number;
}

function resolveFile(db: Database, path: string, syscall: string): NodeRow {
  const { node } = resolve(db, path, { follow: true, syscall });
  // A directory opens for reading when the caller may read it (EACCES first); its read is EISDIR.
  if (node.type === 'dir') {
    requireAccess(db, node, R_OK, syscall, path);
    throw fsError('EISDIR', syscall, path);
  }
  if (isSpecial(node.type)) throw specialContent(syscall, path);
  return node;
}

function rangeOf(range: ByteRange, path: string): { offset: number; length: number } {
  const offset = range.byteOffset === undefined ? 0 : checkOffset(range.byteOffset, 'byteOffset', 'read', path);
  // Without a length, read to the end: the size is taken with the chunk list, in one snapshot.
  const length =
    range.byteLength === undefined
      ? Number.MAX_SAFE_INTEGER - offset
      : checkOffset(range.byteLength, 'byteLength', 'read', path);
  return { offset, length };
}

/**
 * Reads a file (following symlinks): all of it, or a byte range, as bytes; as a string when an
 * encoding (`utf8`) is given.
 */
export function readFile(db: Database, path: string): Uint8Array;
export function readFile(db: Database, path: string, encoding: 'utf8' | 'utf-8'): string;
export function readFile(db: Database, path: string, range: ByteRange): Uint8Array;
export function readFile(db: Database, path: string, options?: 'utf8' | 'utf-8' | ByteRange): Uint8Array | string {
  if (typeof options === 'string' && options !== 'utf8' && options !== 'utf-8') {
    throw fsError('EINVAL', 'read', path, undefined, `unsupported encoding '${options}'; use 'utf8' or read bytes`);
  }
  const whole = options === undefined || typeof options === 'string' ? smallFile(db, path) : undefined;
  if (whole) return typeof options === 'string' ? toText(whole) : whole;
  const node = resolveFile(db, path, 'open');
  requireAccess(db, node, R_OK, 'open', path);
  const { offset, length } = rangeOf(typeof options === 'object' && options !== null ? options : {}, path);
  const bytes = readRange(db, node, offset, length, path);
  return typeof options === 'string' ? toText(bytes) : bytes;
}

/**
 * The whole content of a file of at most one chunk at a plain path (no symlink on the way, no
 * trailing slash or final '.'), read with its path walk in one statement; undefined when anything
 * needs the full resolution (which then decides, errors included): a snapshot, permission checks,
 * a symlink, a missing name, anything but a file, a larger file.
 */
function smallFile(db: Database, path: string): Uint8Array | undefined {
  if (db.snapshot || checksCaller(db) || endsWithSlash(path)) return undefined;
  const names = splitPath(path, 'open');
  if (names.length === 0 || names.length > MAX_WALK_NAMES) return undefined;
  const row = walkToSmallFile(db, names);
  if (row?.type !== 'file' || Number(row.size) > db.chunkSize) return undefined;
  const size = Number(row.size);
  if (row.hash === null) return new Uint8Array(size); // empty, or a hole
  return row.bytes?.byteLength === size ? row.bytes : undefined; // a missing blob: the full path says EIO
}

/**
 * A stream of a file's bytes (or a range of them), one chunk at a time: the file is never held
 * in memory whole. The chunk list is taken when the stream is created, so it reads that version.
 */
export function readFileStream(db: Database, path: string, range: ByteRange | null = {}): ReadableStream<Uint8Array> {
  range ??= {};
  const node = resolveFile(db, path, 'open');
  requireAccess(db, node, R_OK, 'open', path);
  const { offset, length } = rangeOf(range, path);
  const chunkSize = db.chunkSize;
  const { size, chunks } =
    length > 0
      ? sizedChunks(db, node.inode, Math.floor(offset / chunkSize), Math.floor((offset + length - 1) / chunkSize))
      : { size: 0, chunks: [] };
  const end = Math.min(size, offset + length);
  let next = 0;
  let at = offset;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (at >= end) {
        controller.close();
        return;
      }
      const chunk = chunks[next];
      const start = Math.floor(at / chunkSize) * chunkSize;
      if (chunk && chunk.idx * chunkSize === start) {
        next++;
        const bytes = loadBlob(db, chunk.hash, 'read', path);
        const piece = bytes.slice(at - start, Math.min(bytes.byteLength, end - start));
        at = start + chunkSize;
        controller.enqueue(piece);
        return;
      }
      // A hole: zeros up to the next chunk, at most a chunk's worth per pull.
      const to = Math.min(end, start + chunkSize, chunk ? chunk.idx * chunkSize : end);
      controller.enqueue(new Uint8Array(to - at));
      at = to;
    },
  });
}

/** Appends to a file, creating it if missing (`mode` applies only then, as in node:fs). */
export function appendFile(db: Database, path: string, data: FileData, options: { mode?: number } | null = {}): void {
  options ??= {};
  splitPath(path, 'open');
  const bytes = toBytes(data, 'write', path);
  mutate(db, 'open', path, (m) => {
    const { node, realPath, created } = openTarget(db, m, path, 'open', { mode: options.mode, modeOnCreate: true });
    writeContent(db, m, node, node.size, bytes);
    m.note(created ? 'rename' : 'change', realPath);
  });
}

/** Sets a file's length (following symlinks): cut, or extended with zeros. */
export function truncate(db: Database, path: string, length = 0): void {
  checkOffset(length, 'length', 'truncate', path);
  mutate(db, 'truncate', path, (m) => {
    const { node, realPath } = resolve(db, path, { follow: true, syscall: 'open' });
    if (node.type === 'dir') throw fsError('EISDIR', 'open', path);
    requireAccess(db, node, W_OK, 'open', path);
    if (isSpecial(node.type)) throw specialContent('open', path);
    writeContent(db, m, node, 0, new Uint8Array(0), length);
    m.note('change', realPath);
  });
}

/** Options for {@link copyFile}. */
export interface CopyFileOptions {
  /** Fail with EEXIST if the destination exists (COPYFILE_EXCL). */
  exclusive?: boolean;
}

/**
 * Copies a file by sharing its chunks: no bytes are read or written. The destination gets the
 * source's mode (as node:fs's copyFile), keeps its inode if it existed.
 *
 * The destination is opened as libuv's copyfile opens it (O_CREAT, O_EXCL when `exclusive`), so
 * its errors come first: a destination ending in a slash is EISDIR, a missing parent ENOENT, a
 * looping link ELOOP. A directory as the source is EISDIR then, after what libuv has done by that
 * point, which Linux's node:fs leaves behind: an existing destination file is emptied, given the
 * directory's permission bits and its name removed (a hard link elsewhere keeps the emptied file);
 * a dangling symlink there is replaced by nothing, its target made as an empty file.
 */
export function copyFile(
  db: Database,
  source: string,
  destination: string,
  options: CopyFileOptions | null = {},
): void {
  const failure = tryCopyFile(db, source, destination, options);
  if (failure) throw failure;
}

/**
 * {@link copyFile}, returning rather than throwing the one failure that changes the tree (a
 * directory source), so that a mutation it runs inside commits those changes before the caller
 * throws. Every other failure is thrown.
 */
export function tryCopyFile(
  db: Database,
  source: string,
  destination: string,
  options: CopyFileOptions | null = {},
): FsError | undefined {
  options ??= {};
  const opts = options;
  return withPaths('copyfile', source, destination, () => copyFileUnchecked(db, source, destination, opts));
}

function copyFileUnchecked(
  db: Database,
  source: string,
  destination: string,
  options: CopyFileOptions,
): FsError | undefined {
  splitPath(source, 'copyfile');
  splitPath(destination, 'copyfile');
  return mutate(db, 'copyfile', destination, (m): FsError | undefined => {
    const { node: from } = resolve(db, source, { follow: true, syscall: 'copyfile', display: source });
    // libuv opens the source for reading, then the destination for writing.
    requireAccess(db, from, R_OK, 'copyfile', source, destination);
    refuseCreateWithSlash(db, destination, true, 'copyfile', options.exclusive);
    const target = locate(db, destination, { follow: !options.exclusive, syscall: 'copyfile', display: destination });
    if (target.node && options.exclusive) throw fsError('EEXIST', 'copyfile', source, destination);
    if (target.node?.type === 'dir') throw fsError('EISDIR', 'copyfile', source, destination);
    if (target.node) requireAccess(db, target.node, W_OK, 'copyfile', source, destination);
    if (from.type === 'dir') return openedThenFailed(db, m, from, target, source, destination);
    if (isSpecial(from.type)) throw specialContent('copyfile', source);
    if (target.node && isSpecial(target.node.type)) throw specialContent('copyfile', destination);
    if (target.node?.inode === from.inode) return undefined;
    if (!target.node) requireEntryChange(db, target.parent, undefined, 'copyfile', source, destination);
    const node = target.node ?? createNode(db, m, target.parent, target.name, 'file', from.mode);
    if (target.node) db.run('UPDATE vfs_nodes SET mode = ? WHERE inode = ?', [from.mode, node.inode]);
    checkFileSize(db, from.size, destination);
    shareChunks(db, m, from, node);
    m.note(target.node ? 'change' : 'rename', target.realPath);
    return undefined;
  });
}

/**
 * libuv's copyfile from a directory, on Linux: the destination was opened (created, through a
 * dangling symlink too), truncated and given the source's mode; reading the directory fails; the
 * destination's name is unlinked. Those changes are committed, and EISDIR returned to be thrown.
 */
function openedThenFailed(
  db: Database,
  m: Mutation,
  from: NodeRow,
  target: Location,
  source: string,
  destination: string,
): FsError {
  const failure = fsError('EISDIR', 'copyfile', source, destination, 'the source is a directory');
  const entry = locate(db, destination, { follow: false, syscall: 'copyfile' });
  // A free name would be created and unlinked again: nothing to do.
  if (!entry.node) return failure;
  if (target.node) {
    // Through a symlink or not, the file reached is emptied and takes the directory's permission bits.
    writeContent(db, m, target.node, 0, new Uint8Array(0), 0);
    db.run('UPDATE vfs_nodes SET mode = ?, ctime = ? WHERE inode = ?', [from.mode, m.now, target.node.inode]);
    m.note('change', target.realPath);
  } else {
    // A dangling symlink: its target is created, empty.
    requireEntryChange(db, target.parent, undefined, 'copyfile', source, destination);
    createNode(db, m, target.parent, target.name, 'file', from.mode);
    m.note('rename', target.realPath);
  }
  unlinkEntry(db, m, entry.parent.inode, entry.name, entry.node);
  m.tombstone(entry.realPath);
  m.note('rename', entry.realPath);
  return failure;
}
