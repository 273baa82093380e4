/**
 * An in-memory model of a POSIX tree (Linux semantics, as node:fs reports them), for the model
 * tests: directories, files with bytes and mode, symlinks, hard links sharing one inode object.
 * Every operation either succeeds or throws a {@link ModelError} with the exact code, and a failed
 * operation changes nothing (except copyFile from a directory, which fails after what libuv did). Pure JavaScript: it runs in Node and inside workerd.
 *
 * Where Linux and node:fs leave room, the model follows the engine's documented choices: absolute
 * symlink targets resolve from the workspace root, `..` at the root stays there, `mkdir('/')` is
 * EEXIST even when recursive (node:fs succeeds), `rm('/')` is EPERM, `writeFile` with `mode` sets
 * the mode of an existing file (node:fs ignores it), modes are stored as given (no umask). `rm` with `force` ignores a path that cannot exist (a missing or
 * non-directory parent), as coreutils `rm -f` and node's recursive rm do.
 *
 * The model was checked against real Linux (node:fs in a chroot, thousands of random sequences).
 *
 * @module
 */
import type { ErrorCode } from '../../core/errors.ts';

/** Symlinks followed in one resolution before ELOOP (Linux's MAXSYMLINKS). */
export const MODEL_MAX_FOLLOWS = 40;

/** A failed model operation. */
export class ModelError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode) {
    super(code);
    this.code = code;
  }
}

function fail(code: ErrorCode): never {
  throw new ModelError(code);
}

/** A regular file. `data` is replaced, never mutated in place. */
export interface MFile {
  kind: 'file';
  id: number;
  mode: number;
  data: Uint8Array;
}
/** A directory. */
export interface MDir {
  kind: 'dir';
  id: number;
  mode: number;
  entries: Map<string, MNode>;
}
/** A symbolic link (mode is always 0o777). */
export interface MLink {
  kind: 'symlink';
  id: number;
  target: string;
}
/** Any node. */
export type MNode = MFile | MDir | MLink;

/** Where a path lands (see core/resolve.ts `locate`). */
export interface MLocation {
  parent: MDir;
  name: string;
  node: MNode | undefined;
  /** The physical path: names from the root, every followed symlink replaced. */
  real: string[];
}

/** One path of the tree, as {@link TreeModel.entries} lists it. */
export interface MEntry {
  node: MNode;
  /** Number of links: entries for files and symlinks, 2 + subdirectories for directories. */
  nlink: number;
}

const encoder = new TextEncoder();

/** Splits a normalised absolute path (no `.` or `..`) into names. */
export function namesOf(path: string): string[] {
  return path.split('/').filter((name) => name !== '');
}

const isStrictlyBelow = (path: readonly string[], ancestor: readonly string[]): boolean =>
  path.length > ancestor.length && ancestor.every((name, i) => path[i] === name);

const pathOf = (names: readonly string[]): string => `/${names.join('/')}`;

/** The model tree. */
export class TreeModel {
  private nextId = 2;
  readonly root: MDir = { kind: 'dir', id: 1, mode: 0o755, entries: new Map() };

  // ---- resolution ----------------------------------------------------------------------------

  /**
   * Resolves `names` to its parent and final node: intermediate symlinks always followed, the final
   * one only with `follow`; a missing final name is not an error, a missing or non-directory
   * intermediate is ENOENT or ENOTDIR; more than 40 symlinks is ELOOP.
   */
  locate(names: readonly string[], follow: boolean): MLocation {
    const queue = [...names];
    const stack: MDir[] = [this.root];
    const real: string[] = [];
    let follows = 0;
    let position = 0;
    if (queue.length === 0) return { parent: this.root, name: '', node: this.root, real: [] };
    while (position < queue.length) {
      const name = queue[position++];
      const dir = stack[stack.length - 1];
      if (name === '' || name === '.') continue;
      if (name === '..') {
        if (stack.length > 1) {
          stack.pop();
          real.pop();
        }
        continue;
      }
      const last = position === queue.length;
      const node = dir.entries.get(name);
      if (!node) {
        if (last) return { parent: dir, name, node: undefined, real: [...real, name] };
        fail('ENOENT');
      }
      if (node.kind === 'symlink' && (!last || follow)) {
        if (++follows > MODEL_MAX_FOLLOWS) fail('ELOOP');
        if (node.target.startsWith('/')) {
          stack.length = 1;
          real.length = 0;
        }
        queue.splice(0, position, ...node.target.split('/'));
        position = 0;
        continue;
      }
      if (last) return { parent: dir, name, node, real: [...real, name] };
      if (node.kind !== 'dir') fail('ENOTDIR');
      stack.push(node);
      real.push(name);
    }
    // The walk ended on `.` or `..` from a symlink target: it names a directory on the stack.
    const node = stack[stack.length - 1];
    return { parent: stack.length > 1 ? stack[stack.length - 2] : node, name: real[real.length - 1] ?? '', node, real };
  }

  /** {@link locate}, and ENOENT when the final name is missing. */
  resolve(names: readonly string[], follow: boolean): MLocation & { node: MNode } {
    const location = this.locate(names, follow);
    if (!location.node) fail('ENOENT');
    return location as MLocation & { node: MNode };
  }

  private id(): number {
    return this.nextId++;
  }

  // ---- mutations ---------------------------------------------------------------------------------

  /** mkdir; returns the first directory created when recursive (node:fs), else undefined. */
  mkdir(path: string, options: { recursive?: boolean; mode?: number } = {}): string | undefined {
    const names = namesOf(path);
    const mode = options.mode ?? 0o755;
    if (names.length === 0) fail('EEXIST');
    if (!options.recursive) {
      const location = this.locate(names, false);
      if (location.node) fail('EEXIST');
      // A directory made inside a set-group-ID directory keeps the bit, as on Linux.
      const inherited = mode | (location.parent.mode & 0o2000);
      location.parent.entries.set(location.name, { kind: 'dir', id: this.id(), mode: inherited, entries: new Map() });
      return undefined;
    }
    // mkdir -p as node:fs does it: an existing name must be (or lead through symlinks to) a
    // directory; a dangling symlink is not created through (node reports ENOENT). Nothing is
    // created unless everything can be.
    let dir = this.root;
    let depth = 0;
    for (; depth < names.length; depth++) {
      const prefix = names.slice(0, depth + 1);
      const location = this.locate(prefix, false);
      if (!location.node) break;
      let node: MNode = location.node;
      if (node.kind === 'symlink') {
        const followed = this.locate(prefix, true);
        if (!followed.node) fail('ENOENT');
        node = followed.node as MNode;
      }
      if (node.kind !== 'dir') fail(depth === names.length - 1 ? 'EEXIST' : 'ENOTDIR');
      dir = node as MDir;
    }
    if (depth === names.length) return undefined;
    const first = pathOf(names.slice(0, depth + 1));
    for (; depth < names.length; depth++) {
      const created: MDir = { kind: 'dir', id: this.id(), mode: mode | (dir.mode & 0o2000), entries: new Map() };
      dir.entries.set(names[depth], created);
      dir = created;
    }
    return first;
  }

  /** Finds or creates the file a write goes to (open with O_CREAT, O_EXCL when `exclusive`). */
  private openForWrite(path: string, options: { mode?: number; exclusive?: boolean; modeOnCreate?: boolean }): MFile {
    const location = this.locate(namesOf(path), !options.exclusive);
    if (location.node) {
      if (options.exclusive) fail('EEXIST');
      if (location.node.kind === 'dir') fail('EISDIR');
      const file = location.node as MFile;
      if (options.mode !== undefined && !options.modeOnCreate) file.mode = options.mode;
      return file;
    }
    const file: MFile = { kind: 'file', id: this.id(), mode: options.mode ?? 0o644, data: new Uint8Array(0) };
    location.parent.entries.set(location.name, file);
    return file;
  }

  /** writeFile: whole content, following a trailing symlink (creating its target if it dangles). */
  writeFile(path: string, data: Uint8Array, options: { mode?: number; exclusive?: boolean } = {}): void {
    this.openForWrite(path, options).data = data.slice();
  }

  /** appendFile; `mode` applies only when the file is created. */
  appendFile(path: string, data: Uint8Array, options: { mode?: number } = {}): void {
    const file = this.openForWrite(path, { mode: options.mode, modeOnCreate: true });
    const grown = new Uint8Array(file.data.byteLength + data.byteLength);
    grown.set(file.data);
    grown.set(data, file.data.byteLength);
    file.data = grown;
  }

  /** truncate: cut, or extend with zeros. */
  truncate(path: string, length: number): void {
    if (!Number.isSafeInteger(length) || length < 0) fail('EINVAL');
    const { node } = this.resolve(namesOf(path), true);
    if (node.kind === 'dir') fail('EISDIR');
    const file = node as MFile;
    const resized = new Uint8Array(length);
    resized.set(file.data.subarray(0, Math.min(length, file.data.byteLength)));
    file.data = resized;
  }

  /** Writes `data` at `offset` (pwrite): zero-fills any gap, never shrinks. */
  pwrite(path: string, offset: number, data: Uint8Array): void {
    const { node } = this.resolve(namesOf(path), true);
    if (node.kind === 'dir') fail('EISDIR');
    const file = node as MFile;
    const size = data.byteLength > 0 ? Math.max(file.data.byteLength, offset + data.byteLength) : file.data.byteLength;
    const next = new Uint8Array(size);
    next.set(file.data);
    if (data.byteLength > 0) next.set(data, offset);
    file.data = next;
  }

  /**
   * copyFile: the source (followed) must exist; the destination is followed unless `exclusive`,
   * keeps its inode if it exists and takes the source's mode (as libuv's copyfile); copying a file
   * onto itself (any of its names) does nothing. As libuv, the destination is opened before the
   * source is read: its errors come first, and a directory source is EISDIR only after libuv has
   * emptied an existing destination file, given it the directory's mode and unlinked its name (a
   * dangling symlink there: its target created empty, the link unlinked).
   */
  copyFile(from: string, to: string, options: { exclusive?: boolean } = {}): void {
    const { node } = this.resolve(namesOf(from), true);
    const location = this.locate(namesOf(to), !options.exclusive);
    if (location.node && options.exclusive) fail('EEXIST');
    if (location.node?.kind === 'dir') fail('EISDIR');
    if (node.kind === 'dir') {
      const entry = this.locate(namesOf(to), false);
      if (!entry.node) fail('EISDIR');
      if (location.node) Object.assign(location.node as MFile, { data: new Uint8Array(0), mode: node.mode });
      else
        location.parent.entries.set(location.name, {
          kind: 'file',
          id: this.id(),
          mode: node.mode,
          data: new Uint8Array(0),
        });
      entry.parent.entries.delete(entry.name);
      fail('EISDIR');
    }
    const source = node as MFile;
    if (location.node === source) return;
    if (location.node) {
      const target = location.node as MFile;
      target.data = source.data.slice();
      target.mode = source.mode;
      return;
    }
    location.parent.entries.set(location.name, {
      kind: 'file',
      id: this.id(),
      mode: source.mode,
      data: source.data.slice(),
    });
  }

  /** unlink: a file or symlink (not followed); a directory is EISDIR. */
  unlink(path: string): void {
    const { parent, name, node } = this.resolve(namesOf(path), false);
    if (node.kind === 'dir') fail('EISDIR');
    parent.entries.delete(name);
  }

  /** rm (node:fs): `force` ignores a missing path, `recursive` removes directories. */
  rm(path: string, options: { recursive?: boolean; force?: boolean } = {}): void {
    const names = namesOf(path);
    if (names.length === 0) fail('EPERM');
    let location: MLocation;
    try {
      location = this.locate(names, false);
    } catch (error) {
      // A path under a missing name or under a file does not exist either (coreutils `rm -f`).
      if (options.force && error instanceof ModelError && (error.code === 'ENOENT' || error.code === 'ENOTDIR')) return;
      throw error;
    }
    if (!location.node) {
      if (options.force) return;
      fail('ENOENT');
    }
    if (location.node?.kind === 'dir' && !options.recursive) fail('EISDIR');
    location.parent.entries.delete(location.name);
  }

  /** rmdir: an empty directory; a symlink is ENOTDIR, the root EBUSY. */
  rmdir(path: string): void {
    const names = namesOf(path);
    if (names.length === 0) fail('EBUSY');
    const { parent, name, node } = this.resolve(names, false);
    if (node.kind !== 'dir') fail('ENOTDIR');
    if ((node as MDir).entries.size > 0) fail('ENOTEMPTY');
    parent.entries.delete(name);
  }

  /**
   * rename, with Linux's order of checks (do_renameat2, vfs_rename): both parents are looked up
   * first, then the root is EBUSY, a missing source ENOENT, a target below the source EINVAL, a
   * target above the source ENOTEMPTY; two names of one inode is a no-op; then type mismatches
   * and a non-empty target directory.
   */
  rename(from: string, to: string): void {
    const fromNames = namesOf(from);
    const toNames = namesOf(to);
    const source = this.locate(fromNames, false);
    const target = this.locate(toNames, false);
    if (fromNames.length === 0 || toNames.length === 0) fail('EBUSY');
    if (!source.node) fail('ENOENT');
    const moving = source.node;
    if (isStrictlyBelow(target.real, source.real)) fail('EINVAL');
    if (isStrictlyBelow(source.real, target.real)) fail('ENOTEMPTY');
    if (target.node === moving) return;
    if (target.node) {
      if (moving.kind === 'dir' && target.node.kind !== 'dir') fail('ENOTDIR');
      if (moving.kind !== 'dir' && target.node.kind === 'dir') fail('EISDIR');
      if (target.node.kind === 'dir' && target.node.entries.size > 0) fail('ENOTEMPTY');
    }
    source.parent.entries.delete(source.name);
    target.parent.entries.set(target.name, moving);
  }

  /**
   * link, with Linux's order of checks (do_linkat): the existing path, then the new path's parent,
   * then EEXIST, then EPERM for a directory. A trailing symlink is linked, not followed.
   */
  link(existing: string, path: string): void {
    const { node } = this.resolve(namesOf(existing), false);
    const location = this.locate(namesOf(path), false);
    if (location.node) fail('EEXIST');
    if (node.kind === 'dir') fail('EPERM');
    location.parent.entries.set(location.name, node);
  }

  /** symlink: the target is stored verbatim and may dangle. */
  symlink(target: string, path: string): void {
    if (target.length === 0) fail('ENOENT');
    const location = this.locate(namesOf(path), false);
    if (location.node) fail('EEXIST');
    location.parent.entries.set(location.name, { kind: 'symlink', id: this.id(), target });
  }

  /** chmod, following symlinks. */
  chmod(path: string, mode: number): void {
    if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) fail('EINVAL');
    const { node } = this.resolve(namesOf(path), true);
    if (node.kind !== 'symlink') node.mode = mode;
  }

  // ---- queries -----------------------------------------------------------------------------------

  /** Link count of `node` (directories: 2 + subdirectories; others: entries naming it). */
  nlink(node: MNode): number {
    if (node.kind === 'dir') {
      let subdirs = 0;
      for (const child of node.entries.values()) if (child.kind === 'dir') subdirs++;
      return 2 + subdirs;
    }
    let count = 0;
    const walk = (dir: MDir): void => {
      for (const child of dir.entries.values()) {
        if (child === node) count++;
        if (child.kind === 'dir') walk(child);
      }
    };
    walk(this.root);
    return count;
  }

  /** Mode bits (without type bits): symlinks are 0o777. */
  static mode(node: MNode): number {
    return node.kind === 'symlink' ? 0o777 : node.mode;
  }

  /** Size: bytes of a file, UTF-8 bytes of a symlink's target; directories are not modelled (-1). */
  static size(node: MNode): number {
    if (node.kind === 'file') return node.data.byteLength;
    if (node.kind === 'symlink') return encoder.encode(node.target).byteLength;
    return -1;
  }

  /** stat (follow) or lstat. */
  stat(path: string, follow: boolean): MNode {
    return this.resolve(namesOf(path), follow).node;
  }

  /** readFile (whole, or a range). */
  readFile(path: string, range?: { byteOffset: number; byteLength: number }): Uint8Array {
    const { node } = this.resolve(namesOf(path), true);
    if (node.kind === 'dir') fail('EISDIR');
    const data = (node as MFile).data;
    if (!range) return data.slice();
    return data.slice(
      Math.min(range.byteOffset, data.byteLength),
      Math.min(range.byteOffset + range.byteLength, data.byteLength),
    );
  }

  /** readlink: EINVAL unless a symlink. */
  readlink(path: string): string {
    const { node } = this.resolve(namesOf(path), false);
    if (node.kind !== 'symlink') fail('EINVAL');
    return (node as MLink).target;
  }

  /** readdir: names and types in byte order (follows a symlink to a directory). */
  readdir(path: string): Array<{ name: string; type: MNode['kind'] }> {
    const { node } = this.resolve(namesOf(path), true);
    if (node.kind !== 'dir') fail('ENOTDIR');
    return [...(node as MDir).entries]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, child]) => ({ name, type: child.kind }));
  }

  /** realpath: the physical path with every symlink resolved. */
  realpath(path: string): string {
    return pathOf(this.resolve(namesOf(path), true).real);
  }

  /** exists: stat succeeds. */
  exists(path: string): boolean {
    try {
      this.stat(path, true);
      return true;
    } catch (error) {
      if (error instanceof ModelError) return false;
      throw error;
    }
  }

  /** Every path below the root (symlinks listed, not descended), in byte order, with its node. */
  entries(): Map<string, MEntry> {
    const out = new Map<string, MEntry>();
    const walk = (dir: MDir, prefix: string): void => {
      for (const [name, node] of dir.entries) {
        const path = `${prefix}/${name}`;
        out.set(path, { node, nlink: this.nlink(node) });
        if (node.kind === 'dir') walk(node, path);
      }
    };
    walk(this.root, '');
    return new Map([...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }
}
