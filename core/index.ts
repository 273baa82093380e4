/**
 * dofs: a virtual filesystem whose authoritative copy lives in SQLite.
 *
 * The engine is backend-neutral: build a {@link Database} over any {@link StorageBackend}
 * (`dofs-sqlite/backends/node-sqlite`, `dofs-sqlite/backends/do-sql`), call {@link initializeSchema}, then use
 * the primitives as functions of that handle, or {@link openWorkspace} for the method facade.
 *
 * @module dofs-sqlite
 */
export {
  type BackendLimits,
  type HeldTransaction,
  type RunResult,
  type SqlRow,
  type SqlValue,
  STRICTEST_LIMITS,
  type StorageBackend,
} from './backend.ts';
export { hashBytes, holdStaged, isHash, isHeldStaged, markLinked, releaseStaged } from './blobs.ts';
export type { ChunkRef } from './content.ts';
export type { ByteSource, FileData } from './data.ts';
export {
  type ChangeEvent,
  type ChangeListener,
  checkId,
  Database,
  type DatabaseOptions,
  defaultOwner,
  type LastChange,
} from './database.ts';
export { type ErrorCode, FsError, fsError, isFsError } from './errors.ts';
export {
  BLOCK_SIZE,
  chmod,
  chown,
  chownAt,
  exists,
  lchown,
  lstat,
  lutimes,
  S_IFBLK,
  S_IFCHR,
  S_IFDIR,
  S_IFIFO,
  S_IFLNK,
  S_IFMT,
  S_IFREG,
  S_IFSOCK,
  S_ISGID,
  S_ISUID,
  type StatInfo,
  stat,
  type TimeLike,
  TYPE_BITS,
  typeOfMode,
  utimes,
} from './fs/attributes.ts';
export { type CreateAtOptions, type CreatedAt, createAt, linkAt } from './fs/create-at.ts';
export { type ChangeKind, diffSnapshots, type SnapshotDiffEntry } from './fs/diff.ts';
export { type DirEntry, type MkdirOptions, mkdir, type ReaddirOptions, readdir, rmdir } from './fs/directories.ts';
export {
  appendFile,
  type ByteRange,
  type CopyFileOptions,
  copyFile,
  readFile,
  readFileStream,
  truncate,
  tryCopyFile,
  type WriteFileOptions,
  writeFile,
} from './fs/files.ts';
export { link, readlink, realpath, symlink } from './fs/links.ts';
export {
  GC_SAFETY_WINDOW_MS,
  type GcOptions,
  type GcResult,
  type GcStepOptions,
  type GcStepResult,
  gc,
  gcStep,
  type SnapshotUsage,
  type Usage,
  usage,
} from './fs/maintenance.ts';
export { type RmOptions, rm, unlink } from './fs/remove.ts';
export { rmdirAt, unlinkAt } from './fs/remove-at.ts';
export { rename } from './fs/rename.ts';
export {
  DEFAULT_GREP_LIMIT,
  type FindOptions,
  find,
  type GrepMatch,
  type GrepOptions,
  grep,
  ls,
  type Page,
} from './fs/search.ts';
export {
  deleteSnapshot,
  listSnapshots,
  type RestoreResult,
  restore,
  type SnapshotInfo,
  snapshot,
  snapshotView,
} from './fs/snapshots.ts';
export {
  allocate,
  allocateAt,
  FALLOC_FL_KEEP_SIZE,
  FALLOC_FL_PUNCH_HOLE,
  FALLOC_FL_ZERO_RANGE,
  seekData,
  seekDataAt,
  seekHole,
  seekHoleAt,
} from './fs/sparse.ts';
export { mknod } from './fs/special.ts';
export { type WatchEvent, type Watcher, type WatchOptions, watch } from './fs/watch.ts';
export { type FsckCheck, type FsckOptions, type FsckProblem, type FsckReport, fsck } from './fsck.ts';
export {
  type BufferedCommit,
  type BufferedContent,
  chmodAt,
  commitBuffered,
  keepOpenFiles,
  type OpenedFile,
  type OpenFileOptions,
  openFile,
  pinInode,
  pinnedInodes,
  type ReadIntoOptions,
  readAt,
  readBlob,
  readChunk,
  readInto,
  reclaimOrphans,
  stageChunks,
  statInode,
  truncateAt,
  unpinInode,
  utimesAt,
  writeAt,
  writeWhole,
} from './handles.ts';
export {
  getNode,
  getWithPath,
  isSpecial,
  listDir,
  lookup,
  type NodeRow,
  type NodeType,
  type NodeWithPath,
  type Owner,
  type SpecialType,
} from './nodes.ts';
export {
  childPath,
  endsWithDot,
  joinPath,
  MAX_NAME_BYTES,
  MAX_PATH_BYTES,
  MAX_WORKSPACE_PATH_BYTES,
  normalizePath,
} from './paths.ts';
export { checkFileSize, MAX_FILE_SIZE, type Quotas, STORAGE_HEADROOM } from './quotas.ts';
export { withSpaceReserve } from './reserve.ts';
export { MAX_SYMLINK_FOLLOWS, pathsOf } from './resolve.ts';
export {
  DEFAULT_CHUNK_SIZE,
  initializeSchema,
  MAX_CHUNK_SIZE,
  MIN_CHUNK_SIZE,
  ROOT_INODE,
  SCHEMA_VERSION,
  type SchemaOptions,
} from './schema.ts';
export { openWorkspace, Workspace, type WorkspaceOptions } from './workspace.ts';
