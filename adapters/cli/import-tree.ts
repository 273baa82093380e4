/**
 * Copies a real directory tree (node:fs) into a workspace: files, directories, symlinks and hard
 * links, with their modes and times. Small files are written many to a transaction; large ones
 * are streamed chunk by chunk so they are never held in memory whole.
 *
 * @module
 */
import { createReadStream, lstatSync, readdirSync, readFileSync, readlinkSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { isFsError, normalizePath, type StatInfo, type Workspace } from '../../core/index.ts';
import { CliError } from './errors.ts';

/** Options for {@link importTree}. */
export interface ImportOptions {
  /** The workspace directory to import into (created with its parents). Default `/`. */
  to?: string;
  /** Called after each entry is written. */
  onProgress?: (progress: ImportSummary) => void;
  /** Called for each entry that cannot be imported (sockets, FIFOs, devices). */
  onSkip?: (localPath: string, reason: string) => void;
  /** Files at least this large are streamed outside the batches. Default 8 MiB. */
  streamThreshold?: number;
  /** Most entries written in one transaction. Default 500. */
  batchEntries?: number;
  /** Most file bytes written in one transaction. Default 32 MiB. */
  batchBytes?: number;
}

/** What {@link importTree} wrote. */
export interface ImportSummary {
  /** Regular files written (hard links counted once). */
  files: number;
  /** Directories created or merged into (the target excluded). */
  directories: number;
  /** Symbolic links. */
  symlinks: number;
  /** Extra names of files already imported through another hard link. */
  hardLinks: number;
  /** Bytes of file content read. */
  bytes: number;
  /** Entries left out (sockets, FIFOs, devices), as local paths. */
  skipped: string[];
}

type Kind = 'file' | 'dir' | 'symlink';

const seconds = (ms: number): number => ms / 1000;

/** The node at `path` without following a final symlink, or undefined. */
function peek(workspace: Workspace, path: string): StatInfo | undefined {
  try {
    return workspace.lstat(path);
  } catch (error) {
    if (isFsError(error, 'ENOENT')) return undefined;
    throw error;
  }
}

/**
 * Makes room at `path` for an incoming entry of kind `kind`: a directory merges into a directory
 * and a file overwrites a file in place; a symlink, or a node of a different kind, is unlinked.
 * A directory in the way of a non-directory is an error (as `cp -r`).
 */
function makeRoom(workspace: Workspace, path: string, kind: Kind | 'link'): void {
  const existing = peek(workspace, path);
  if (!existing) return;
  if (existing.type === 'dir') {
    if (kind === 'dir') return;
    throw new CliError('EISDIR', `cannot overwrite directory '${path}' with a non-directory`);
  }
  if (kind === 'dir') throw new CliError('ENOTDIR', `cannot overwrite non-directory '${path}' with a directory`);
  // A file keeps its inode when overwritten, unless it is shared with other names.
  if (kind === 'file' && existing.type === 'file' && existing.nlink === 1) return;
  workspace.unlink(path);
}

/** Writes the tree under local directory `source` into the workspace. */
export async function importTree(
  workspace: Workspace,
  source: string,
  options: ImportOptions = {},
): Promise<ImportSummary> {
  const to = normalizePath(options.to ?? '/', 'import');
  const streamThreshold = options.streamThreshold ?? 8 * 1024 * 1024;
  const batchEntries = options.batchEntries ?? 500;
  const batchBytes = options.batchBytes ?? 32 * 1024 * 1024;
  const summary: ImportSummary = { files: 0, directories: 0, symlinks: 0, hardLinks: 0, bytes: 0, skipped: [] };
  const progress = () => options.onProgress?.(summary);

  const top = lstatSync(source);
  if (!top.isDirectory()) throw new CliError('ENOTDIR', `not a directory: '${source}'`);

  // Pending writes, run in order in one transaction when the batch is full or before a stream.
  let pending: Array<() => void> = [];
  let pendingBytes = 0;
  const flush = (): void => {
    if (pending.length === 0) return;
    const ops = pending;
    pending = [];
    pendingBytes = 0;
    workspace.db.transaction(() => {
      for (const op of ops) op();
    });
  };
  const enqueue = (op: () => void, bytes = 0): void => {
    pending.push(op);
    pendingBytes += bytes;
    if (pending.length >= batchEntries || pendingBytes >= batchBytes) flush();
  };

  // First workspace path of every multiply-linked local inode.
  const linked = new Map<string, string>();

  const setAttributes = (path: string, stats: Stats): void => {
    workspace.chmod(path, stats.mode & 0o7777);
    workspace.utimes(path, seconds(stats.atimeMs), seconds(stats.mtimeMs));
  };

  const visit = async (localDir: string, wsDir: string): Promise<void> => {
    const names = readdirSync(localDir).sort();
    for (const name of names) {
      const local = join(localDir, name);
      const path = wsDir === '/' ? `/${name}` : `${wsDir}/${name}`;
      const stats = lstatSync(local);
      if (stats.isDirectory()) {
        enqueue(() => {
          makeRoom(workspace, path, 'dir');
          workspace.mkdir(path, { recursive: true });
          summary.directories++;
        });
        await visit(local, path);
        enqueue(() => {
          setAttributes(path, stats);
          progress();
        });
      } else if (stats.isSymbolicLink()) {
        const target = readlinkSync(local);
        enqueue(() => {
          makeRoom(workspace, path, 'symlink');
          workspace.symlink(target, path);
          workspace.lutimes(path, seconds(stats.atimeMs), seconds(stats.mtimeMs));
          summary.symlinks++;
          progress();
        });
      } else if (stats.isFile()) {
        const key = `${stats.dev}:${stats.ino}`;
        const first = stats.nlink > 1 ? linked.get(key) : undefined;
        if (first !== undefined) {
          enqueue(() => {
            makeRoom(workspace, path, 'link');
            workspace.link(first, path);
            summary.hardLinks++;
            progress();
          });
          continue;
        }
        if (stats.nlink > 1) linked.set(key, path);
        if (stats.size >= streamThreshold) {
          flush();
          makeRoom(workspace, path, 'file');
          await workspace.writeFile(path, createReadStream(local, { highWaterMark: 1024 * 1024 }), {
            mode: stats.mode & 0o7777,
          });
          workspace.utimes(path, seconds(stats.atimeMs), seconds(stats.mtimeMs));
          summary.files++;
          summary.bytes += stats.size;
          progress();
        } else {
          enqueue(() => {
            makeRoom(workspace, path, 'file');
            const bytes = readFileSync(local);
            workspace.writeFile(path, bytes, { mode: stats.mode & 0o7777 });
            workspace.utimes(path, seconds(stats.atimeMs), seconds(stats.mtimeMs));
            summary.files++;
            summary.bytes += bytes.byteLength;
            progress();
          }, stats.size);
        }
      } else {
        summary.skipped.push(local);
        options.onSkip?.(local, 'not a regular file, directory or symlink');
      }
    }
  };

  // The target may be (or pass through) a symlink to a directory, as for `cp -r`.
  if (to !== '/') workspace.mkdir(to, { recursive: true });
  await visit(source, to);
  if (to !== '/') enqueue(() => setAttributes(to, top));
  flush();
  return summary;
}
