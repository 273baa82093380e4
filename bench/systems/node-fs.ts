/**
 * node:fs-shaped systems: `node:fs` on tmpfs (/dev/shm: the filesystem limit, no persistence
 * cost) and `memfs` (a pure-JS in-memory node:fs), through the same adapter.
 */
import realFs from 'node:fs';
import { join } from 'node:path';
import { createFsFromVolume, Volume } from 'memfs';
import type { BenchFs, SystemDef } from '../lib/types.ts';

type FsLike = Pick<
  typeof realFs,
  | 'mkdirSync'
  | 'writeFileSync'
  | 'readFileSync'
  | 'statSync'
  | 'readdirSync'
  | 'renameSync'
  | 'copyFileSync'
  | 'rmSync'
  | 'openSync'
  | 'writeSync'
  | 'readSync'
  | 'closeSync'
>;

function nodeFs(fs: FsLike, root: string, extra: Partial<BenchFs> & Pick<BenchFs, 'close'>): BenchFs {
  const at = (path: string) => root + path;
  return {
    mkdirp: (path) => {
      fs.mkdirSync(at(path), { recursive: true });
    },
    writeFile: (path, data) => fs.writeFileSync(at(path), data),
    readFile: (path) => fs.readFileSync(at(path)),
    stat: (path) => fs.statSync(at(path)).size,
    readdir: (path) => fs.readdirSync(at(path)) as string[],
    readdirTypes: (path) =>
      fs.readdirSync(at(path), { withFileTypes: true }).map((entry) => ({
        name: String(entry.name),
        dir: entry.isDirectory(),
      })),
    rename: (from, to) => fs.renameSync(at(from), at(to)),
    copyFile: (from, to) => fs.copyFileSync(at(from), at(to)),
    rmrf: (path) => fs.rmSync(at(path), { recursive: true, force: true }),
    open: (path, flags) => {
      const fd = fs.openSync(at(path), flags);
      return {
        write: (data, position) => {
          fs.writeSync(fd, data, 0, data.byteLength, position);
        },
        read: (into, position) => fs.readSync(fd, into, 0, into.byteLength, position),
        close: () => fs.closeSync(fd),
      };
    },
    ...extra,
  };
}

/** Bytes the files under `dir` occupy (st_blocks), i.e. what tmpfs really holds. */
function allocated(dir: string): number {
  let total = 0;
  for (const entry of realFs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += realFs.statSync(join(entry.parentPath, entry.name)).blocks * 512;
  }
  return total;
}

export const tmpfs: SystemDef = {
  id: 'tmpfs',
  label: 'node:fs on tmpfs (/dev/shm): the filesystem limit',
  role: 'fs-limit',
  open() {
    const root = realFs.mkdtempSync('/dev/shm/dofs-bench-');
    return nodeFs(realFs, root, {
      storedBytes: () => ({ stored: allocated(root) }),
      close: () => realFs.rmSync(root, { recursive: true, force: true }),
    });
  },
};

export const memfs: SystemDef = {
  id: 'memfs',
  label: 'memfs (in-memory node:fs in JS)',
  role: 'peer',
  open() {
    const fs = createFsFromVolume(new Volume()) as unknown as FsLike;
    return nodeFs(fs, '', { close: () => {} });
  },
};
