/**
 * dofs-sqlite/adapters/fuse: a workspace mounted as a real directory with FUSE, so unmodified programs
 * (git, tar, sqlite3, editors, compilers) work on it. The daemon behind `dofs mount` and
 * `npm start`, over libfuse 3's low-level API through dofs's own small addon; see docs/fuse.md.
 *
 * ```ts
 * import { startMount } from 'dofs-sqlite/adapters/fuse';
 * const mount = await startMount({ db: 'workspace.db', mountpoint: 'workspace', port: 0 });
 * // … other processes use ./workspace …
 * await mount.stop();
 * ```
 *
 * Never touch the mount synchronously from the process that serves it: the kernel request would
 * wait for the very thread that is blocked on it.
 *
 * @module dofs-sqlite/adapters/fuse
 */
export {
  DEFAULT_BUSY_WAIT_MICROSECONDS,
  DEFAULT_CACHE_TIMEOUT,
  DEFAULT_STATUS_PORT,
  type MountDaemonOptions,
  type RunningMount,
  removeHiddenLeftovers,
  rowCounts,
  startMount,
} from './daemon.ts';
export {
  ADDON_PATH,
  APT_INSTALL,
  ATTR_FIELDS,
  type Fuse3Addon,
  type FuseStatfs,
  FuseUnavailableError,
  type LowLevelRequest,
  loadFuse3,
  OPS,
  type OpName,
} from './fuse3.ts';
export { type Fuse3Mount, type Fuse3MountOptions, mountFuse3 } from './fuse3-mount.ts';
export {
  createLowLevelFs,
  type LowLevelFs,
  type LowLevelFsOptions,
  type LowLevelState,
} from './lowlevel.ts';
export { FUSE_MAX_IO, type MountOptionsInput, mountOptions } from './options.ts';
export {
  checkFuse,
  clearStaleMount,
  forceUnmount,
  isAlive,
  type MountEntry,
  MountpointError,
  type MountRecord,
  mountAt,
  parseMountinfo,
  readMounts,
  readRecord,
  recordPath,
} from './preflight.ts';
export { statfsOf } from './statfs.ts';
export { reply, type StatusReply, type StatusServer, type StatusServerOptions, startStatusServer } from './status.ts';
export { type SyncSession, type SyncSessionContext, startSyncSession } from './sync-session.ts';
