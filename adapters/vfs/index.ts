/**
 * dofs/adapters/vfs: a workspace as a `@platformatic/vfs` provider.
 *
 * ```ts
 * import { create, SQLiteWorkspaceProvider } from 'dofs/adapters/vfs';
 * const vfs = create(new SQLiteWorkspaceProvider(workspace)).mount('/ws');
 * require('/ws/mod.js');
 * ```
 *
 * `create` and the `VirtualFileSystem` type are `@platformatic/vfs`'s own, re-exported so that a
 * project needs no direct dependency on it (dofs depends on it; a project that imports it itself
 * would resolve it only through hoisting).
 *
 * @module dofs/adapters/vfs
 */
export { create, type VirtualFileSystem } from '@platformatic/vfs';
export type { ArgError, PathLike } from './args.ts';
export { WorkspaceDirent } from './dirent.ts';
export type { FileOptions, HandleInit, WorkspaceFileHandle } from './file-handle.ts';
export { O, type OpenFlags, parseFlags } from './flags.ts';
export type { IoRequest } from './io-args.ts';
export {
  type CreateFileOptions,
  type Encoding,
  type MkdirOptions,
  type ReaddirOptions,
  type ReadFileOptions,
  SQLiteWorkspaceProvider,
  type SQLiteWorkspaceProviderOptions,
  type TimeArg,
  type WriteFileOptions,
} from './provider.ts';
export { type StatOptions, WORKSPACE_DEV, WorkspaceBigIntStats, WorkspaceStats } from './stats.ts';
export {
  type WatchAsyncEvent,
  type WatchOptions,
  WorkspaceStatWatcher,
  WorkspaceWatcher,
  WorkspaceWatchIterable,
} from './watch.ts';
export { WriteBuffer } from './write-buffer.ts';
