/**
 * just-bash's `IFileSystem` over a node:fs-shaped object, so an agent's shell (`ls`, `cat`, `grep`,
 * `sed`, `find`, `mv`, pipelines, redirections) runs against a workspace:
 *
 * ```ts
 * import { Bash } from 'just-bash';
 * const bash = new Bash({ fs: createJustBashFs(createNodeFs(workspace)), cwd: '/' });
 * await bash.exec('grep -rn TODO src | sort > /todo.txt');
 * ```
 *
 * It takes any node:fs-shaped object: this module's, or node's own with `root` set to a real
 * directory (which is how the tests compare the two). It follows the conventions of just-bash's
 * own filesystems: writes create missing parent directories, errors are `Error`s whose message
 * starts with the POSIX code and names the shell's path, paths are absolute and `/`-separated.
 * just-bash is not imported: the interface is declared here by the shape used.
 *
 * @module
 */

import { Buffer } from 'node:buffer';
import type * as nodeFs from 'node:fs';
import { dirname, normalize } from './paths.ts';

/** What just-bash's `stat` returns. */
export interface JustBashStat {
  /** True for a regular file. */
  isFile: boolean;
  /** True for a directory. */
  isDirectory: boolean;
  /** True for a symlink (from `lstat`; `stat` follows links). */
  isSymbolicLink: boolean;
  /** File type and permission bits, as `st_mode`. */
  mode: number;
  /** Size in bytes. */
  size: number;
  /** Last change of content. */
  mtime: Date;
  /** Device number of the filesystem holding the entry. */
  dev?: number | bigint;
  /** Inode number. */
  ino?: number | bigint;
  /** `dev:ino`: equal for two paths naming the same file (hard links), as just-bash compares them. */
  identity?: string;
}

/** One entry of just-bash's `readdirWithFileTypes`. */
export interface JustBashDirent {
  /** The entry's name within its directory. */
  name: string;
  /** True for a regular file. */
  isFile: boolean;
  /** True for a directory. */
  isDirectory: boolean;
  /** True for a symlink (not followed). */
  isSymbolicLink: boolean;
}

/** The encodings just-bash asks for. */
export type JustBashEncoding = 'utf8' | 'utf-8' | 'ascii' | 'binary' | 'base64' | 'hex' | 'latin1';
/** An encoding, or an object holding one, as just-bash passes it. */
export type EncodingOption =
  | JustBashEncoding
  | {
      /** The encoding; null or absent: UTF-8. */
      encoding?: JustBashEncoding | null;
    }
  | null
  | undefined;

/**
 * just-bash's `IFileSystem` (just-bash/dist/fs/interface.d.ts), by the shape it has. Its optional
 * `readFileBytes` is left out: it returns just-bash's opaque `ByteString`, and just-bash falls back
 * to `readFileBuffer` without it.
 */
export interface JustBashFileSystem {
  /** The file's content decoded as `options`' encoding (default UTF-8). */
  readFile(path: string, options?: EncodingOption): Promise<string>;
  /** The file's bytes. */
  readFileBuffer(path: string): Promise<Uint8Array>;
  /** Replaces the file's content, creating it and its missing parent directories. */
  writeFile(path: string, content: string | Uint8Array, options?: EncodingOption): Promise<void>;
  /** Appends to the file, creating it and its missing parent directories. */
  appendFile(path: string, content: string | Uint8Array, options?: EncodingOption): Promise<void>;
  /** True when the path exists (following symlinks); false for a path with a NUL byte. */
  exists(path: string): Promise<boolean>;
  /** What the path is, following symlinks. */
  stat(path: string): Promise<JustBashStat>;
  /** What the path itself is (a symlink is described, not followed). */
  lstat(path: string): Promise<JustBashStat>;
  /** Creates a directory (and its missing parents with `recursive`). */
  mkdir(path: string, options?: { recursive?: boolean }): Promise<void>;
  /** The names in a directory, sorted. */
  readdir(path: string): Promise<string[]>;
  /** The entries of a directory with their types, sorted by name. */
  readdirWithFileTypes(path: string): Promise<JustBashDirent[]>;
  /** Removes a file, symlink or (with `recursive`) a tree; `force` ignores a missing path. */
  rm(path: string, options?: { recursive?: boolean; force?: boolean }): Promise<void>;
  /** Copies a file (or, with `recursive`, a tree, symlinks as they are), creating missing parents of `dest`. */
  cp(src: string, dest: string, options?: { recursive?: boolean }): Promise<void>;
  /** Renames or moves `src` to `dest`. */
  mv(src: string, dest: string): Promise<void>;
  /** `path` resolved against the directory `base`, normalised, without a trailing slash. */
  resolvePath(base: string, path: string): string;
  /** Every path in the filesystem, walked from `/` (the shell's glob expansion uses it). */
  getAllPaths(): string[];
  /** Sets the permission bits. */
  chmod(path: string, mode: number): Promise<void>;
  /** Creates a symlink at `linkPath` pointing to `target` (an absolute target is the shell's path). */
  symlink(target: string, linkPath: string): Promise<void>;
  /** Creates a hard link `newPath` to `existingPath`. */
  link(existingPath: string, newPath: string): Promise<void>;
  /** A symlink's target, as the shell's path. */
  readlink(path: string): Promise<string>;
  /** The canonical path, every symlink resolved, as the shell's path. */
  realpath(path: string): Promise<string>;
  /** Sets the access and modification times. */
  utimes(path: string, atime: Date, mtime: Date): Promise<void>;
}

/** Options for {@link createJustBashFs}. */
export interface JustBashFsOptions {
  /** A directory of `fs` that stands for the shell's `/`. Default: the root of `fs` itself. */
  root?: string;
}

/** The part of node:fs the adapter uses. */
export type NodeFsLike = Pick<typeof nodeFs, 'promises' | 'readdirSync' | 'existsSync'>;

const encodingOf = (options: EncodingOption): BufferEncoding => {
  const encoding = typeof options === 'string' ? options : options?.encoding;
  return (encoding ?? 'utf8') as BufferEncoding;
};

const byName = (a: { name: string }, b: { name: string }): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** just-bash's filesystem interface over `fs`. */
export function createJustBashFs(fs: NodeFsLike, options: JustBashFsOptions = {}): JustBashFileSystem {
  const root = options.root ? normalize(options.root).replace(/\/$/, '') : '';
  const p = fs.promises;
  const real = (path: string): string => (root === '' ? path : path === '/' ? root : `${root}${path}`);
  const virtual = (path: string): string =>
    root !== '' && (path === root || path.startsWith(`${root}/`)) ? path.slice(root.length) || '/' : path;

  /** Node's errors as just-bash's filesystems raise them: `CODE: description, syscall 'path'`, with the shell's paths. */
  const fail = (error: unknown, syscall: string, path: string): never => {
    const e = error as { code?: string; info?: { code: string; message: string }; message?: string };
    if (e?.info && typeof e.code === 'string' && e.code.startsWith('ERR_FS_'))
      throw Object.assign(new Error(`${e.info.code}: ${e.info.message}, ${syscall} '${path}'`), { code: e.info.code });
    if (typeof e?.message === 'string' && root !== '')
      throw Object.assign(new Error(e.message.split(root).join('')), { code: e.code });
    throw error;
  };
  const run = async <T>(syscall: string, path: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (error) {
      return fail(error, syscall, path);
    }
  };
  const toStat = (s: nodeFs.Stats): JustBashStat => ({
    isFile: s.isFile(),
    isDirectory: s.isDirectory(),
    isSymbolicLink: s.isSymbolicLink(),
    mode: s.mode,
    size: s.size,
    mtime: s.mtime,
    dev: s.dev,
    ino: s.ino,
    identity: `${s.dev}:${s.ino}`,
  });
  const parentsOf = async (path: string): Promise<void> => {
    const parent = dirname(path);
    if (parent !== '/') await p.mkdir(real(parent), { recursive: true });
  };

  return {
    readFile: (path, opts) =>
      run('open', path, async () => Buffer.from(await p.readFile(real(path))).toString(encodingOf(opts))),
    readFileBuffer: (path) => run('open', path, async () => new Uint8Array(await p.readFile(real(path)))),
    writeFile: (path, content, opts) =>
      run('open', path, async () => {
        await parentsOf(path);
        await p.writeFile(real(path), typeof content === 'string' ? Buffer.from(content, encodingOf(opts)) : content);
      }),
    appendFile: (path, content, opts) =>
      run('open', path, async () => {
        await parentsOf(path);
        await p.appendFile(real(path), typeof content === 'string' ? Buffer.from(content, encodingOf(opts)) : content);
      }),
    exists: async (path) => !path.includes('\0') && fs.existsSync(real(path)),
    stat: (path) => run('stat', path, async () => toStat(await p.stat(real(path)))),
    lstat: (path) => run('lstat', path, async () => toStat(await p.lstat(real(path)))),
    mkdir: (path, opts) =>
      run('mkdir', path, async () => {
        await p.mkdir(real(path), { recursive: opts?.recursive === true });
      }),
    readdir: (path) => run('scandir', path, async () => (await p.readdir(real(path))).sort()),
    readdirWithFileTypes: (path) =>
      run('scandir', path, async () =>
        (await p.readdir(real(path), { withFileTypes: true }))
          .map((d) => ({
            name: d.name,
            isFile: d.isFile(),
            isDirectory: d.isDirectory(),
            isSymbolicLink: d.isSymbolicLink(),
          }))
          .sort(byName),
      ),
    rm: (path, opts) =>
      run('rm', path, () => p.rm(real(path), { recursive: opts?.recursive === true, force: opts?.force === true })),
    cp: (src, dest, opts) =>
      run('cp', src, async () => {
        await parentsOf(dest);
        await p.cp(real(src), real(dest), { recursive: opts?.recursive === true, verbatimSymlinks: true });
      }),
    mv: (src, dest) => run('mv', src, () => p.rename(real(src), real(dest))),
    resolvePath: (base, path) => {
      const resolved = normalize(path.startsWith('/') ? path : `${base}/${path}`);
      return resolved.length > 1 && resolved.endsWith('/') ? resolved.slice(0, -1) : resolved;
    },
    getAllPaths: () => {
      const out: string[] = [];
      const walk = (dir: string): void => {
        let entries: nodeFs.Dirent[];
        try {
          entries = fs.readdirSync(real(dir), { withFileTypes: true });
        } catch {
          return;
        }
        for (const entry of entries) {
          const path = dir === '/' ? `/${entry.name}` : `${dir}/${entry.name}`;
          out.push(path);
          if (entry.isDirectory()) walk(path);
        }
      };
      walk('/');
      return out;
    },
    chmod: (path, mode) => run('chmod', path, () => p.chmod(real(path), mode)),
    symlink: (target, linkPath) =>
      run('symlink', linkPath, () => p.symlink(target.startsWith('/') ? real(target) : target, real(linkPath))),
    link: (existingPath, newPath) => run('link', existingPath, () => p.link(real(existingPath), real(newPath))),
    readlink: (path) => run('readlink', path, async () => virtual(await p.readlink(real(path)))),
    realpath: (path) => run('realpath', path, async () => virtual(await p.realpath(real(path)))),
    utimes: (path, atime, mtime) => run('utimes', path, () => p.utimes(real(path), atime, mtime)),
  };
}
