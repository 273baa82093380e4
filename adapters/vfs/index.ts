/**
 * dofs/adapters/vfs: a workspace as a `@platformatic/vfs` provider.
 *
 * ```ts
 * import { create } from '@platformatic/vfs';
 * import { SQLiteWorkspaceProvider } from 'dofs/adapters/vfs';
 * const vfs = create(new SQLiteWorkspaceProvider(workspace)).mount('/ws');
 * require('/ws/mod.js');
 * ```
 *
 * @module dofs/adapters/vfs
 */
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
