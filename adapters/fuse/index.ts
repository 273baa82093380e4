/**
 * dofs/adapters/fuse: a workspace mounted as a real directory with FUSE, so unmodified programs
 * (git, tar, sqlite3, editors, compilers) work on it. The daemon behind `dofs mount` and
 * `npm start`; see docs/fuse.md.
 *
 * ```ts
 * import { startMount } from 'dofs/adapters/fuse';
 * const mount = await startMount({ db: 'workspace.db', mountpoint: 'workspace', port: 0 });
 * // … other processes use ./workspace …
 * await mount.stop();
 * ```
 *
 * Never touch the mount synchronously from the process that serves it: the kernel request would
 * wait for the very thread that is blocked on it.
 *
 * @module dofs/adapters/fuse
 */
export {
  DEFAULT_STATUS_PORT,
  MOUNT_TRANSPORTS,
  type MountDaemonOptions,
  type MountTransport,
  type RunningMount,
  removeHiddenLeftovers,
  rowCounts,
  startMount,
} from './daemon.ts';
export {
  APT_INSTALL,
  type FuseCallback,
  type FuseCaller,
  type FuseInstance,
  type FuseOperations,
  type FuseStat,
  type FuseStatfs,
  FuseUnavailableError,
  type LoadedFuse,
  loadFuseNative,
  UTIME_NOW_MS,
  UTIME_OMIT_MS,
} from './fuse-native.ts';
export {
  createFuseOperations,
  type DofsFuseOperations,
  type FuseOperationsOptions,
  type FuseOperationsState,
  fuseStat,
} from './ops.ts';
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
export { reply, type StatusReply, type StatusServer, type StatusServerOptions, startStatusServer } from './status.ts';
export { type SyncSession, type SyncSessionContext, startSyncSession } from './sync-session.ts';
