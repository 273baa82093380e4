/**
 * dofs-sqlite/adapters/vfs: a workspace as a `@platformatic/vfs` provider.
 *
 * ```ts
 * import { createWorkspaceVfs } from 'dofs-sqlite/adapters/vfs';
 * const vfs = createWorkspaceVfs(workspace).mount('/ws');
 * require('/ws/mod.js');
 * ```
 *
 * `createWorkspaceVfs` builds the VirtualFileSystem with dofs's own copy of @platformatic/vfs;
 * `create(new SQLiteWorkspaceProvider(workspace))` works too when your project resolves the same
 * copy (another copy's `create` throws a TypeError saying so, rather than writing to memory).
 *
 * @module dofs-sqlite/adapters/vfs
 */
import { create, type VirtualFileSystem } from './platformatic.ts';

export {
  type CreateVfs,
  create,
  type VFSOptions,
  type VFSPromisesAPI,
  type VFSStatWatcher,
  type VFSWatchAsyncIterable,
  type VFSWatcher,
  type VfsCallback,
  type VfsEmitterListener,
  type VfsMkdirOptions,
  type VfsReaddirOptions,
  type VfsReadStreamOptions,
  type VfsStatListener,
  type VfsStatOptions,
  type VfsWatchAsyncEvent,
  type VfsWatchFileOptions,
  type VfsWatchOptions,
  type VirtualDirent,
  type VirtualFileSystem,
  type VirtualProvider,
  type VirtualReadStream,
  type VirtualStats,
} from './platformatic.ts';

import type { Database, Workspace } from '../../core/index.ts';
import { SQLiteWorkspaceProvider, type SQLiteWorkspaceProviderOptions } from './provider.ts';

/** Options of {@link createWorkspaceVfs}: the provider's, and @platformatic/vfs's own. */
export interface WorkspaceVfsOptions extends SQLiteWorkspaceProviderOptions {
  /** Hook `require` and `import` when mounted (@platformatic/vfs's option; default true). */
  moduleHooks?: boolean;
  /** Resolve relative paths against a virtual working directory (@platformatic/vfs's option). */
  virtualCwd?: boolean;
  /** Fall through to the real filesystem for paths the workspace lacks (@platformatic/vfs's option). */
  overlay?: boolean;
}

/**
 * A @platformatic/vfs VirtualFileSystem over `workspace` (or over a provider already made), built
 * with dofs's own copy of @platformatic/vfs, so no `instanceof` check can mistake the provider.
 */
export function createWorkspaceVfs(
  workspace: Workspace | Database | SQLiteWorkspaceProvider,
  options: WorkspaceVfsOptions = {},
): VirtualFileSystem {
  const { moduleHooks, virtualCwd, overlay, ...providerOptions } = options;
  const provider =
    workspace instanceof SQLiteWorkspaceProvider ? workspace : new SQLiteWorkspaceProvider(workspace, providerOptions);
  const vfsOptions = Object.fromEntries(
    Object.entries({ moduleHooks, virtualCwd, overlay }).filter(([, value]) => value !== undefined),
  );
  return create(provider, vfsOptions);
}

export type { ArgError, PathLike } from './args.ts';
export type { AsyncForms, ReadResult, WriteResult } from './async.ts';
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
export {
  type StatFields,
  type StatOptions,
  type StatSource,
  statFields,
  WORKSPACE_DEV,
  WorkspaceBigIntStats,
  WorkspaceStats,
} from './stats.ts';
export {
  type StatListener,
  type WatchAsyncEvent,
  type WatchOptions,
  WorkspaceStatWatcher,
  WorkspaceWatcher,
  WorkspaceWatchIterable,
} from './watch.ts';
export { type BufferBase, WriteBuffer } from './write-buffer.ts';
