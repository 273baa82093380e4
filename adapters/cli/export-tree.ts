/**
 * Copies a workspace directory out to a real directory (node:fs): files, directories, symlinks
 * and hard links, with their modes and times. Large files are streamed. FIFOs, sockets and
 * devices are left out and reported, as `importTree` does with local ones: node:fs cannot make
 * them, and they hold no content to copy.
 *
 * @module
 */
import { once } from 'node:events';
import {
  chmodSync,
  createWriteStream,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  readdirSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import type { StatInfo, Workspace } from '../../core/index.ts';
import { CliError } from './errors.ts';

/** Options for {@link exportTree}. */
export interface ExportOptions {
  /** The workspace directory to export. Default `/`. */
  from?: string;
  /** Allow a non-empty destination, replacing entries that are in the way. */
  force?: boolean;
  /** Called after each entry is written. */
  onProgress?: (progress: ExportSummary) => void;
  /** Called for each entry that cannot be exported (sockets, FIFOs, devices). */
  onSkip?: (path: string, reason: string) => void;
  /** Files at least this large are streamed. Default 8 MiB. */
  streamThreshold?: number;
}

/** What {@link exportTree} wrote. */
export interface ExportSummary {
  /** Regular files written (hard links counted once). */
  files: number;
  /** Directories created. */
  directories: number;
  /** Symbolic links. */
  symlinks: number;
  /** Extra names of files already written through another hard link. */
  hardLinks: number;
  /** Bytes of file content written. */
  bytes: number;
  /** Entries left out (sockets, FIFOs, devices), as workspace paths. */
  skipped: string[];
}

const PAGE = 1000;

const seconds = (ms: number): number => ms / 1000;

function localKind(path: string): 'dir' | 'other' | undefined {
  try {
    return lstatSync(path).isDirectory() ? 'dir' : 'other';
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Writes the workspace tree at `options.from` into local directory `destination`. */
export async function exportTree(
  workspace: Workspace,
  destination: string,
  options: ExportOptions = {},
): Promise<ExportSummary> {
  const from = options.from ?? '/';
  const streamThreshold = options.streamThreshold ?? 8 * 1024 * 1024;
  const summary: ExportSummary = { files: 0, directories: 0, symlinks: 0, hardLinks: 0, bytes: 0, skipped: [] };
  const progress = () => options.onProgress?.(summary);

  const top = workspace.stat(from);
  if (!top.isDirectory) throw new CliError('ENOTDIR', `not a directory in the workspace: '${from}'`);
  const existing = localKind(destination);
  if (existing === 'other') throw new CliError('EEXIST', `'${destination}' exists and is not a directory`);
  if (existing === 'dir' && !options.force && readdirSync(destination).length > 0) {
    throw new CliError('EEXIST', `'${destination}' is not empty (pass --force to write into it)`);
  }
  mkdirSync(destination, { recursive: true });

  // First local path of every multiply-linked workspace inode.
  const linked = new Map<number, string>();

  /** Clears the way for a new entry at `local` (only reachable with --force). */
  const makeRoom = (local: string, kind: 'dir' | 'other'): void => {
    const found = localKind(local);
    if (found === undefined || (found === 'dir' && kind === 'dir')) return;
    rmSync(local, { recursive: true, force: true });
  };

  const writeFile = async (path: string, local: string, info: StatInfo): Promise<void> => {
    if (info.size < streamThreshold) {
      writeFileSync(local, workspace.readFile(path));
    } else {
      const out = createWriteStream(local);
      try {
        for await (const chunk of workspace.readFileStream(path)) {
          if (!out.write(chunk)) await once(out, 'drain');
        }
      } finally {
        out.end();
        await once(out, 'close');
      }
    }
    chmodSync(local, info.mode & 0o7777);
    utimesSync(local, seconds(info.atimeMs), seconds(info.mtimeMs));
  };

  const visit = async (dir: string, localDir: string): Promise<void> => {
    for (let offset = 0; ; offset += PAGE) {
      const entries = workspace.readdir(dir, { limit: PAGE, offset });
      for (const entry of entries) {
        const local = join(localDir, entry.name);
        const info = workspace.lstat(entry.path);
        if (info.isDirectory) {
          makeRoom(local, 'dir');
          mkdirSync(local, { recursive: true });
          summary.directories++;
          await visit(entry.path, local);
          // Attributes last: writing the children changed the directory's mtime.
          chmodSync(local, info.mode & 0o7777);
          utimesSync(local, seconds(info.atimeMs), seconds(info.mtimeMs));
        } else if (info.isSymbolicLink) {
          makeRoom(local, 'other');
          symlinkSync(workspace.readlink(entry.path), local);
          lutimesSync(local, seconds(info.atimeMs), seconds(info.mtimeMs));
          summary.symlinks++;
        } else if (!info.isFile) {
          summary.skipped.push(entry.path);
          options.onSkip?.(entry.path, 'a FIFO, socket or device (node:fs cannot make one)');
        } else {
          makeRoom(local, 'other');
          const first = info.nlink > 1 ? linked.get(info.ino) : undefined;
          if (first !== undefined) {
            linkSync(first, local);
            summary.hardLinks++;
          } else {
            if (info.nlink > 1) linked.set(info.ino, local);
            await writeFile(entry.path, local, info);
            summary.files++;
            summary.bytes += info.size;
          }
        }
        progress();
      }
      if (entries.length < PAGE) break;
    }
  };

  await visit(from, destination);
  if (from !== '/') {
    chmodSync(destination, top.mode & 0o7777);
    utimesSync(destination, seconds(top.atimeMs), seconds(top.mtimeMs));
  }
  return summary;
}
