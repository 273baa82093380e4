/**
 * One adapter for every `@platformatic/vfs` provider, so this engine's SQLiteWorkspaceProvider and
 * the library's own SqliteProvider and MemoryProvider run literally the same calls: path
 * operations through the `create(provider)` object, positional I/O through the handle the
 * provider's `openSync` returns (the VFS object has openSync/readSync but no writeSync, so a
 * user who writes through an fd holds that handle).
 */
import type { Buffer } from 'node:buffer';
import type { VirtualFileSystem } from '@platformatic/vfs';
import type { BenchFile, BenchFs } from '../lib/types.ts';

/** The part of a provider's file handle the bench uses (node's argument order). */
interface Handle {
  writeSync(buffer: Uint8Array, offset: number, length: number, position: number): number;
  readSync(buffer: Uint8Array, offset: number, length: number, position: number): number;
  closeSync(): void;
}

interface ProviderLike {
  openSync(path: string, flags: string): unknown;
  rmSync?(path: string, options: { recursive: boolean }): void;
}

export function handleFile(handle: Handle): BenchFile {
  return {
    write: (data, position) => {
      handle.writeSync(data, 0, data.byteLength, position);
    },
    read: (into, position) => handle.readSync(into, 0, into.byteLength, position),
    close: () => handle.closeSync(),
  };
}

/** A BenchFs over `vfs` (made by `create(provider)`); `extra` adds what only some systems have. */
export function vfsFs(vfs: VirtualFileSystem, extra: Partial<BenchFs> & Pick<BenchFs, 'close'>): BenchFs {
  const provider = vfs.provider as unknown as ProviderLike;
  const walkRemove = (path: string): void => {
    for (const entry of vfs.readdirSync(path, { withFileTypes: true }) as unknown as Array<{
      name: string;
      isDirectory(): boolean;
    }>) {
      const child = `${path}/${entry.name}`;
      if (entry.isDirectory()) walkRemove(child);
      else vfs.unlinkSync(child);
    }
    vfs.rmdirSync(path);
  };
  return {
    mkdirp: (path) => {
      vfs.mkdirSync(path, { recursive: true });
    },
    writeFile: (path, data) => vfs.writeFileSync(path, data as Buffer),
    readFile: (path) => vfs.readFileSync(path) as Buffer,
    stat: (path) => vfs.statSync(path).size,
    readdir: (path) => vfs.readdirSync(path) as string[],
    readdirTypes: (path) =>
      (
        vfs.readdirSync(path, { withFileTypes: true }) as unknown as Array<{ name: string; isDirectory(): boolean }>
      ).map((entry) => ({ name: entry.name, dir: entry.isDirectory() })),
    rename: (from, to) => vfs.renameSync(from, to),
    copyFile: (from, to) => vfs.copyFileSync(from, to),
    rmrf: (path) => {
      // The VFS object has no rm; a provider that has rmSync is asked directly, the others are walked.
      if (typeof provider.rmSync === 'function') provider.rmSync(path, { recursive: true });
      else walkRemove(path);
    },
    open: (path, flags) => handleFile(provider.openSync(path, flags) as Handle),
    ...extra,
  };
}
