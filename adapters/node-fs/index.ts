/**
 * dofs-sqlite/adapters/node-fs: the whole node:fs API over a workspace, for any library that takes an
 * `fs` (isomorphic-git, tar extractors, shells), in Node and inside workerd (a Durable Object).
 *
 * ```ts
 * import git from 'isomorphic-git';
 * import { createNodeFs } from 'dofs-sqlite/adapters/node-fs';
 * const fs = createNodeFs(workspace, { cwd: '/repo' });
 * await git.init({ fs, dir: '/repo' });
 * fs.writeFileSync('README.md', '# hello\n');
 * ```
 *
 * Every sync function, every callback form, `promises` with FileHandle, streams, opendir/Dir, rm,
 * cp, glob, watch and watchFile. Stats and Dirents are the runtime's own `fs.Stats` and `fs.Dirent`
 * where it has them; errors are node's (`code`, `errno`, `syscall`, `path` and `dest` as given).
 * Nothing touches the host's filesystem.
 *
 * @module dofs-sqlite/adapters/node-fs
 */
import type * as nodeFs from 'node:fs';
import type { Database, Workspace } from '../../core/index.ts';
import { deriveNodeFs, type NodeFsExtras } from './derive.ts';
import { type NodeFsOptions, NodeFsSync } from './sync.ts';

export { constants } from './classes.ts';
export type { CpOptions } from './cp.ts';
export type { NodeFsExtras } from './derive.ts';
export { type Callback, Dir, type DirItem } from './dir.ts';
export { FileHandle, type HandleFs } from './file-handle.ts';
export {
  createJustBashFs,
  type EncodingOption,
  type JustBashDirent,
  type JustBashEncoding,
  type JustBashFileSystem,
  type JustBashFsOptions,
  type JustBashStat,
  type NodeFsLike,
} from './just-bash.ts';
export {
  ReadStream,
  type ReadStreamOptions,
  type StreamFs,
  type StreamOptions,
  WriteStream,
  type WriteStreamOptions,
} from './streams.ts';
export type { NodeFsOptions } from './sync.ts';

/** A node:fs-shaped object over a workspace, typed as node's own module. */
export type NodeFs = typeof nodeFs & NodeFsExtras;

/**
 * The node:fs API over `workspace` (a {@link Workspace} or its {@link Database}). Relative paths
 * resolve against `options.cwd` (default `/`); created files and directories get `0o666`/`0o777`
 * less `options.umask` (default 0o022) unless a mode is given.
 */
export function createNodeFs(workspace: Workspace | Database, options: NodeFsOptions = {}): NodeFs {
  return deriveNodeFs(new NodeFsSync(workspace, options)) as unknown as NodeFs;
}
