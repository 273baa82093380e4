/**
 * The @platformatic/vfs provider (`dofs-sqlite/adapters/vfs`): open flags, the fd table, positional and
 * current-position I/O, node-shaped Stats and Dirents, the path calls, watching, read-only mode,
 * and the buffered-write surface a FUSE driver uses. Runs on every backend, inside workerd too.
 *
 * @module
 */
import { create, VirtualFileSystem } from '@platformatic/vfs';
import { describe, expect } from 'vitest';
import {
  createWorkspaceVfs,
  O,
  SQLiteWorkspaceProvider,
  type SQLiteWorkspaceProviderOptions,
} from '../../adapters/vfs/index.ts';
import type { StorageBackend } from '../../core/backend.ts';
import type { Workspace } from '../../core/workspace.ts';
import { type CaseContext, defineCase, expectCode, expectRefused } from '../harness.ts';
import type { ConformanceTarget } from '../target.ts';
import { patternBytes } from './files.ts';
import { providerBufferCases } from './provider-buffers.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const text = (bytes: Uint8Array): string => decoder.decode(bytes);

/** A provider over the case's workspace. */
export function providerOf(ctx: CaseContext, options?: SQLiteWorkspaceProviderOptions): SQLiteWorkspaceProvider {
  return new SQLiteWorkspaceProvider(ctx.ws, options);
}

/** The workspace's revision counter. */
export function revision(ws: Workspace): number {
  return Number(ws.db.all<{ v: number }>("SELECT v FROM vfs_meta WHERE k = 'rev'")[0].v);
}

/** Reads `length` bytes at `position` through an fd. */
export function pread(p: SQLiteWorkspaceProvider, fd: number, position: number | null, length = 64): string {
  const buffer = new Uint8Array(length);
  const n = p.readSync(fd, buffer, 0, length, position);
  return text(buffer.subarray(0, n));
}

/** Asserts a node-style argument error (`ERR_*`) and that nothing changed. */
async function expectArgError(ws: Workspace, fn: () => unknown, code: string): Promise<void> {
  const before = revision(ws);
  let caught: unknown;
  try {
    await fn();
  } catch (error) {
    caught = error;
  }
  expect((caught as { code?: string })?.code, `expected ${code}`).toBe(code);
  expect(revision(ws)).toBe(before);
}

/**
 * A backend that counts blob insertions: one per chunk the engine hashed and stored (a row of the
 * catalogue's INSERT, which stores several chunks of one write in one statement).
 */
export function countingBlobs(backend: StorageBackend): StorageBackend & { blobPuts: number } {
  const count = (sql: string) => {
    if (sql.startsWith('INSERT INTO vfs_blobs ')) counted.blobPuts += sql.match(/\(\?/g)?.length ?? 0;
  };
  const counted = {
    name: backend.name,
    limits: backend.limits,
    blobPuts: 0,
    all: <T extends object>(sql: string, params?: readonly unknown[]) => {
      count(sql);
      return backend.all<T>(sql, params as never);
    },
    run: (sql: string, params?: readonly unknown[]) => {
      count(sql);
      return backend.run(sql, params as never);
    },
    transaction: <T>(fn: () => T) => backend.transaction(fn),
    close: () => backend.close(),
  };
  return counted as StorageBackend & { blobPuts: number };
}

interface FlagCase {
  flag: string;
  missing: 'create' | 'ENOENT';
  exclusive?: boolean;
  truncates?: boolean;
  read: boolean;
  write: boolean;
  append?: boolean;
}

const FLAGS: FlagCase[] = [
  { flag: 'r', missing: 'ENOENT', read: true, write: false },
  { flag: 'r+', missing: 'ENOENT', read: true, write: true },
  { flag: 'rs+', missing: 'ENOENT', read: true, write: true },
  { flag: 'w', missing: 'create', truncates: true, read: false, write: true },
  { flag: 'wx', missing: 'create', exclusive: true, read: false, write: true },
  { flag: 'w+', missing: 'create', truncates: true, read: true, write: true },
  { flag: 'wx+', missing: 'create', exclusive: true, read: true, write: true },
  { flag: 'a', missing: 'create', read: false, write: true, append: true },
  { flag: 'ax', missing: 'create', exclusive: true, read: false, write: true, append: true },
  { flag: 'a+', missing: 'create', read: true, write: true, append: true },
  { flag: 'ax+', missing: 'create', exclusive: true, read: true, write: true, append: true },
];

/** Cases for the provider. */
export function providerCases(target: ConformanceTarget): void {
  describe('vfs provider: open flags and the fd table', () => {
    for (const c of FLAGS) {
      defineCase(target, `flag ${c.flag}: create, exclusive, truncate, read, write and append as node`, async (ctx) => {
        const p = providerOf(ctx);
        ctx.ws.writeFile('/f', 'hello');
        // On an existing file.
        if (c.exclusive) {
          await expectRefused(ctx.ws, () => p.openFdSync('/f', c.flag), 'EEXIST');
        } else {
          const fd = p.openFdSync('/f', c.flag);
          expect(ctx.ws.readFile('/f', 'utf8')).toBe(c.truncates ? '' : 'hello');
          if (c.read) expect(pread(p, fd, 0)).toBe(c.truncates ? '' : 'hello');
          else await expectCode(() => p.readSync(fd, new Uint8Array(4), 0, 4, 0), 'EBADF');
          if (c.write) {
            expect(p.writeSync(fd, encoder.encode('XY'), 0, 2, 0)).toBe(2);
            const base = c.truncates ? '' : 'hello';
            expect(ctx.ws.readFile('/f', 'utf8')).toBe(c.append ? `${base}XY` : `XY${base.slice(2)}`);
          } else {
            await expectRefused(ctx.ws, () => p.writeSync(fd, encoder.encode('XY')), 'EBADF');
          }
          p.closeSync(fd);
        }
        // On a missing file.
        if (c.missing === 'ENOENT') {
          await expectRefused(ctx.ws, () => p.openFdSync('/new', c.flag), 'ENOENT');
        } else {
          p.closeSync(p.openFdSync('/new', c.flag, 0o640));
          expect(ctx.ws.stat('/new').size).toBe(0);
          expect(ctx.ws.stat('/new').mode & 0o777).toBe(0o640);
        }
        expect(p.openFds).toBe(0);
      });
    }

    defineCase(target, 'numeric O_* flags mean what the strings mean', async (ctx) => {
      const p = providerOf(ctx);
      const fd = p.openFdSync('/n', O.WRONLY | O.CREAT | O.EXCL, 0o600);
      p.writeSync(fd, 'abc');
      p.closeSync(fd);
      await expectRefused(ctx.ws, () => p.openFdSync('/n', O.WRONLY | O.CREAT | O.EXCL), 'EEXIST');
      const rw = p.openFdSync('/n', O.RDWR | O.APPEND);
      p.writeSync(rw, 'd', 0);
      expect(pread(p, rw, 0)).toBe('abcd');
      p.closeSync(rw);
      p.closeSync(p.openFdSync('/n', O.RDONLY | O.TRUNC));
      expect(ctx.ws.stat('/n').size).toBe(0);
      expect(ctx.ws.stat('/n').mode & 0o777).toBe(0o600);
    });

    defineCase(
      target,
      '`w` on an existing file keeps its inode and its mode; a new file gets 0o666 less the umask',
      (ctx) => {
        const p = providerOf(ctx);
        ctx.ws.writeFile('/f', 'old', { mode: 0o600 });
        const ino = ctx.ws.stat('/f').ino;
        p.writeFileSync('/f', 'new', { mode: 0o777 });
        expect(ctx.ws.stat('/f').mode & 0o777).toBe(0o600);
        expect(ctx.ws.stat('/f').ino).toBe(ino);
        p.writeFileSync('/g', 'x');
        expect(ctx.ws.stat('/g').mode & 0o777).toBe(0o644);
        p.closeSync(p.openFdSync('/h', 'w', 0o777));
        expect(ctx.ws.stat('/h').mode & 0o777).toBe(0o755);
        expect(providerOf(ctx, { umask: 0 }).mkdirSync('/d', { mode: 0o777 })).toBeUndefined();
        expect(ctx.ws.stat('/d').mode & 0o777).toBe(0o777);
      },
    );

    defineCase(target, 'fds count from 3 and reuse the lowest free number', (ctx) => {
      const p = providerOf(ctx);
      ctx.ws.writeFile('/f', 'x');
      const [a, b, c] = [p.openFdSync('/f'), p.openFdSync('/f'), p.openFdSync('/f')];
      expect([a, b, c]).toEqual([3, 4, 5]);
      p.closeSync(b);
      expect(p.openFdSync('/f')).toBe(4);
      for (const fd of [a, 4, c]) p.closeSync(fd);
    });

    defineCase(target, 'positional reads and writes leave the position; null and -1 use and advance it', (ctx) => {
      const p = providerOf(ctx);
      const fd = p.openFdSync('/f', 'w+');
      expect(p.writeSync(fd, 'hello')).toBe(5); // position 5
      expect(p.writeSync(fd, 'XX', 0)).toBe(2); // pwrite: position stays 5
      expect(p.writeSync(fd, ' world')).toBe(6); // position 11
      expect(pread(p, fd, 0)).toBe('XXllo world');
      expect(pread(p, fd, null)).toBe(''); // at the end
      expect(pread(p, fd, 6, 3)).toBe('wor');
      const handle = p.openSync('/f', 'r');
      const buffer = new Uint8Array(4);
      expect(handle.readSync(buffer, 0, 4, -1)).toBe(4);
      expect(handle.readSync(buffer, 0, 4, null)).toBe(4);
      expect(text(buffer)).toBe('o wo');
      expect(handle.position).toBe(8);
      expect(p.readSync(handle.fd, buffer, { offset: 1, length: 2, position: 0 })).toBe(2);
      expect(text(buffer)).toBe('oXXo');
      handle.closeSync();
      p.closeSync(fd);
    });

    defineCase(
      target,
      'writes past the end leave a hole that reads as zeros; fstat sees every write',
      (ctx) => {
        const p = providerOf(ctx);
        const fd = p.openFdSync('/f', 'w+');
        p.writeSync(fd, 'ab');
        p.writeSync(fd, 'z', 40);
        const st = p.fstatSync(fd);
        expect(st.size).toBe(41);
        const bytes = new Uint8Array(41);
        expect(p.readSync(fd, bytes, 0, 41, 0)).toBe(41);
        expect(text(bytes.subarray(0, 2))).toBe('ab');
        expect([...bytes.subarray(2, 40)].every((b) => b === 0)).toBe(true);
        expect(bytes[40]).toBe('z'.charCodeAt(0));
        expect(p.fstatSync(fd).ino).toBe(ctx.ws.stat('/f').ino);
        p.closeSync(fd);
      },
      { chunkSize: 16 },
    );

    defineCase(
      target,
      'ftruncate cuts and extends; it needs a writable fd (EINVAL) and clamps negative lengths to 0',
      async (ctx) => {
        const p = providerOf(ctx);
        const fd = p.openFdSync('/f', 'w+');
        p.writeSync(fd, 'hello world');
        p.ftruncateSync(fd, 5);
        expect(ctx.ws.readFile('/f', 'utf8')).toBe('hello');
        p.ftruncateSync(fd, 8);
        expect([...ctx.ws.readFile('/f')]).toEqual([...encoder.encode('hello'), 0, 0, 0]);
        p.ftruncateSync(fd, -3);
        expect(ctx.ws.stat('/f').size).toBe(0);
        const ro = p.openFdSync('/f', 'r');
        await expectRefused(ctx.ws, () => p.ftruncateSync(ro, 0), 'EINVAL');
        p.fsyncSync(ro);
        p.fdatasyncSync(fd);
        p.closeSync(ro);
        p.closeSync(fd);
      },
      { chunkSize: 16 },
    );

    defineCase(target, 'bad fds are EBADF; bad arguments are node’s own errors; nothing changes', async (ctx) => {
      const p = providerOf(ctx);
      ctx.ws.writeFile('/f', 'data');
      const fd = p.openFdSync('/f', 'r+');
      const buffer = new Uint8Array(4);
      for (const call of [
        () => p.readSync(99, buffer, 0, 1, 0),
        () => p.writeSync(99, 'x'),
        () => p.fstatSync(99),
        () => p.ftruncateSync(99, 0),
        () => p.fsyncSync(99),
        () => p.closeSync(99),
      ]) {
        await expectRefused(ctx.ws, call, 'EBADF');
      }
      await expectArgError(ctx.ws, () => p.readSync(-1, buffer, 0, 1, 0), 'ERR_OUT_OF_RANGE');
      await expectArgError(ctx.ws, () => p.readSync('3' as never, buffer, 0, 1, 0), 'ERR_INVALID_ARG_TYPE');
      await expectArgError(ctx.ws, () => p.readSync(fd, buffer, 0, 1, -2), 'ERR_OUT_OF_RANGE');
      await expectArgError(ctx.ws, () => p.readSync(fd, buffer, 0, 1, 1.5), 'ERR_OUT_OF_RANGE');
      await expectArgError(ctx.ws, () => p.readSync(fd, buffer, 0, 5, 0), 'ERR_OUT_OF_RANGE');
      await expectArgError(ctx.ws, () => p.readSync(fd, buffer, -1, 1, 0), 'ERR_OUT_OF_RANGE');
      await expectArgError(ctx.ws, () => p.writeSync(fd, 42 as never), 'ERR_INVALID_ARG_TYPE');
      await expectArgError(ctx.ws, () => p.openFdSync('/f', 'rw'), 'ERR_INVALID_ARG_VALUE');
      await expectArgError(ctx.ws, () => p.openFdSync('/f', {} as never), 'ERR_INVALID_ARG_VALUE');
      await expectArgError(ctx.ws, () => p.accessSync('/f', 8), 'ERR_OUT_OF_RANGE');
      await expectArgError(ctx.ws, () => p.copyFileSync('/f', '/g', 8), 'ERR_OUT_OF_RANGE');
      p.closeSync(fd);
      await expectRefused(ctx.ws, () => p.readSync(fd, buffer, 0, 1, 0), 'EBADF');
      await expectRefused(ctx.ws, () => p.closeSync(fd), 'EBADF');
      // A negative write position means the current one, as node (libuv) treats it.
      const w = p.openFdSync('/f', 'r+');
      p.writeSync(w, 'X', -5);
      expect(ctx.ws.readFile('/f', 'utf8')).toBe('Xata');
      p.closeSync(w);
    });

    defineCase(
      target,
      'a directory opens read-only: fstat works, read is EISDIR, write access is EISDIR',
      async (ctx) => {
        const p = providerOf(ctx);
        ctx.ws.mkdir('/d');
        const fd = p.openFdSync('/d', 'r');
        expect(p.fstatSync(fd).isDirectory()).toBe(true);
        await expectCode(() => p.readSync(fd, new Uint8Array(1), 0, 1, 0), 'EISDIR');
        p.closeSync(fd);
        for (const flag of ['r+', 'w', 'a']) await expectRefused(ctx.ws, () => p.openFdSync('/d', flag), 'EISDIR');
        await expectRefused(ctx.ws, () => p.openFdSync('/d', 'wx'), 'EEXIST');
        await expectRefused(ctx.ws, () => p.openFdSync('/nope/', 'w'), 'EISDIR');
        ctx.ws.writeFile('/f', '');
        await expectRefused(ctx.ws, () => p.openFdSync('/f/', 'r'), 'ENOTDIR');
      },
    );

    defineCase(
      target,
      'an open file outlives unlink, rename over it and rm: readable, writable, nlink 0, freed at close',
      (ctx) => {
        const p = providerOf(ctx);
        for (const [name, remove] of [
          ['/u', () => p.unlinkSync('/u')],
          [
            '/r',
            () => {
              ctx.ws.writeFile('/other', 'other');
              p.renameSync('/other', '/r');
            },
          ],
          ['/t/f', () => p.rmSync('/t', { recursive: true })],
        ] as const) {
          if (name === '/t/f') ctx.ws.mkdir('/t');
          ctx.ws.writeFile(name, 'kept');
          const fd = p.openFdSync(name, 'r+');
          const ino = p.fstatSync(fd).ino;
          remove();
          expect(pread(p, fd, 0)).toBe('kept');
          p.writeSync(fd, '!', 4);
          expect(pread(p, fd, 0)).toBe('kept!');
          expect(p.fstatSync(fd).nlink).toBe(0);
          p.closeSync(fd);
          expect(ctx.db.all('SELECT 1 FROM vfs_nodes WHERE inode = ?', [ino])).toHaveLength(0);
        }
        expect(ctx.ws.readFile('/r', 'utf8')).toBe('other');
      },
    );

    defineCase(
      target,
      'an open directory outlives rmdir, rm and rename over it: fstat (nlink 0, size 0), read EISDIR, fchmod',
      async (ctx) => {
        const p = providerOf(ctx);
        for (const [name, remove] of [
          ['/d', () => p.rmdirSync('/d')],
          ['/t/d', () => p.rmSync('/t', { recursive: true })],
          [
            '/r',
            () => {
              ctx.ws.mkdir('/other');
              p.renameSync('/other', '/r');
            },
          ],
        ] as const) {
          if (name === '/t/d') ctx.ws.mkdir('/t');
          ctx.ws.mkdir(name, { mode: 0o750 });
          const handle = p.openSync(name, 'r');
          const ino = p.fstatSync(handle.fd).ino;
          remove();
          const stats = p.fstatSync(handle.fd);
          expect([stats.isDirectory(), stats.nlink, stats.size, stats.ino, stats.mode & 0o7777]).toEqual([
            true,
            0,
            0,
            ino,
            0o750,
          ]);
          expect((await handle.stat()).nlink).toBe(0);
          await expectCode(() => handle.readFileSync(), 'EISDIR');
          await expectCode(() => p.readSync(handle.fd, new Uint8Array(1), 0, 1, null), 'EISDIR');
          await expectCode(() => p.ftruncateSync(handle.fd, 0), 'EINVAL');
          handle.closeSync();
          await expectCode(() => p.fstatSync(handle.fd), 'EBADF');
        }
        // What was removed stays removed; an open directory that is not removed is not affected.
        expect(ctx.ws.exists('/d')).toBe(false);
        expect(ctx.ws.exists('/t')).toBe(false);
        expect(ctx.ws.stat('/r').nlink).toBe(2);
      },
    );
  });

  describe('vfs provider: stats, dirents and paths', () => {
    defineCase(target, 'Stats and BigIntStats are shaped like node’s', (ctx) => {
      const p = providerOf(ctx);
      ctx.clock.advance(1234);
      p.writeFileSync('/f', 'hello');
      p.mkdirSync('/d');
      p.symlinkSync('f', '/l');
      const st = p.statSync('/f');
      for (const key of [
        'dev',
        'ino',
        'mode',
        'nlink',
        'uid',
        'gid',
        'rdev',
        'size',
        'blksize',
        'blocks',
        'atimeMs',
        'mtimeMs',
        'ctimeMs',
        'birthtimeMs',
      ] as const) {
        expect(typeof st[key], key).toBe('number');
      }
      expect(st.mtime).toBeInstanceOf(Date);
      expect(st.mtime.getTime()).toBe(st.mtimeMs);
      expect(st.mtimeMs).toBe(ctx.clock.now());
      expect([st.size, st.nlink, st.blksize, st.blocks, st.mode]).toEqual([5, 1, 4096, 8, 0o100644]);
      expect(st.isFile() && !st.isDirectory() && !st.isSymbolicLink() && !st.isFIFO()).toBe(true);
      const dir = p.statSync('/d');
      expect([dir.isDirectory(), dir.size, dir.blocks, dir.nlink]).toEqual([true, 4096, 8, 2]);
      const link = p.lstatSync('/l');
      expect([link.isSymbolicLink(), link.size, link.mode]).toEqual([true, 1, 0o120777]);
      expect(p.statSync('/l').ino).toBe(st.ino);
      const big = p.statSync('/f', { bigint: true }) as unknown as Record<string, unknown>;
      expect(big.size).toBe(5n);
      expect(big.mtimeNs).toBe(BigInt(st.mtimeMs) * 1_000_000n);
      expect(p.statSync('/missing', { throwIfNoEntry: false })).toBeUndefined();
      expect(p.statSync('/f/x', { throwIfNoEntry: false })).toBeUndefined();
      expect(p.lstatSync('/missing', { throwIfNoEntry: false })).toBeUndefined();
      expect(() => p.lstatSync('/f/x', { throwIfNoEntry: false })).toThrow(
        expect.objectContaining({ code: 'ENOTDIR' }),
      );
    });

    defineCase(target, 'readdir lists names; withFileTypes Dirents report symlinks; recursive descends', (ctx) => {
      const p = providerOf(ctx);
      p.mkdirSync('/d/sub', { recursive: true });
      p.writeFileSync('/d/file', '');
      p.symlinkSync('sub', '/d/link');
      p.writeFileSync('/d/sub/deep', '');
      expect(p.readdirSync('/d')).toEqual(['file', 'link', 'sub']);
      const dirents = p.readdirSync('/d', {
        withFileTypes: true,
      }) as import('../../adapters/vfs/index.ts').WorkspaceDirent[];
      expect(dirents.map((d) => [d.name, d.isFile(), d.isDirectory(), d.isSymbolicLink(), d.parentPath])).toEqual([
        ['file', true, false, false, '/d'],
        ['link', false, false, true, '/d'],
        ['sub', false, true, false, '/d'],
      ]);
      expect(p.readdirSync('/d', { recursive: true })).toEqual(['file', 'link', 'sub', 'sub/deep']);
    });

    defineCase(
      target,
      'async mkdir through a dangling link is ENOTDIR at the link (libuv); stat of an empty path is ENOENT',
      async (ctx) => {
        const p = providerOf(ctx);
        p.symlinkSync('/nowhere', '/dl');
        await expect(p.mkdir('/dl/x', { recursive: true })).rejects.toMatchObject({
          code: 'ENOTDIR',
          syscall: 'mkdir',
          path: '/dl',
        });
        expectCode(() => p.mkdirSync('/dl/x', { recursive: true }), 'ENOENT');
        // The last name being the dangling link itself stays ENOENT, as node's.
        await expect(p.mkdir('/dl', { recursive: true })).rejects.toMatchObject({ code: 'ENOENT' });
        // So does a trailing slash on it, and each step is named as derived from the path given.
        await expect(p.mkdir('/dl/', { recursive: true })).rejects.toMatchObject({ code: 'ENOENT', path: '/dl/' });
        await expect(p.mkdir('/dl//x', { recursive: true })).rejects.toMatchObject({ code: 'ENOTDIR', path: '/dl/' });
        expect(await p.mkdir('/ok/x', { recursive: true })).toBe('/ok');
        for (const call of [() => p.statSync(''), () => p.lstatSync('')])
          expect(() => call()).toThrow(expect.objectContaining({ code: 'ENOENT', path: '' }));
        await expect(p.stat('')).rejects.toMatchObject({ code: 'ENOENT', syscall: 'stat' });
        expect(p.statSync('', { throwIfNoEntry: false })).toBeUndefined();
      },
    );

    defineCase(
      target,
      'another copy of @platformatic/vfs cannot silently take the provider for options; createWorkspaceVfs writes through',
      async (ctx) => {
        const provider = providerOf(ctx);
        // What another copy's create() does when its instanceof check fails: the provider becomes the options.
        expect(() => new VirtualFileSystem(undefined as never, provider as never)).toThrow(
          /another copy of @platformatic\/vfs.*createWorkspaceVfs/s,
        );
        // Any copy's VirtualFileSystem takes the provider itself (it checks for openSync), and so does createWorkspaceVfs.
        const direct = new VirtualFileSystem(provider, { moduleHooks: false });
        direct.writeFileSync('/direct.txt', 'one');
        const vfs = createWorkspaceVfs(ctx.ws, { moduleHooks: false });
        vfs.writeFileSync('/made.txt', 'two');
        expect(ctx.ws.readFile('/direct.txt', 'utf8')).toBe('one');
        expect(ctx.ws.readFile('/made.txt', 'utf8')).toBe('two');
        expect(createWorkspaceVfs(provider, { moduleHooks: false }).readFileSync('/made.txt', 'utf8')).toBe('two');
      },
    );

    defineCase(target, 'mkdir recursive returns the first directory created', async (ctx) => {
      const p = providerOf(ctx);
      expect(p.mkdirSync('/a/b/c', { recursive: true })).toBe('/a');
      expect(p.mkdirSync('/a/b/c/d/e', { recursive: true })).toBe('/a/b/c/d');
      expect(p.mkdirSync('/a/b', { recursive: true })).toBeUndefined();
      await expectRefused(ctx.ws, () => p.mkdirSync('/a'), 'EEXIST');
      expect(await p.mkdir('/x', { recursive: true })).toBe('/x');
    });

    defineCase(
      target,
      'access, open, readFile and writeFile check the calling identity’s permission bits',
      async (ctx) => {
        const p = providerOf(ctx);
        p.writeFileSync('/f', 'x', { mode: 0o640 });
        p.accessSync('/f');
        p.accessSync('/f', 4 | 2);
        await expectCode(() => p.accessSync('/f', 1), 'EACCES');
        p.chmodSync('/f', 0o400);
        await expectCode(() => p.accessSync('/f', 2), 'EACCES');
        await expectCode(() => p.writeFileSync('/f', 'y'), 'EACCES');
        await expectCode(() => p.openSync('/f', 'w'), 'EACCES');
        expect(p.readFileSync('/f', 'utf8')).toBe('x');
        p.chmodSync('/f', 0o100);
        p.accessSync('/f', 1);
        await expectCode(() => p.readFileSync('/f'), 'EACCES');
        await expectCode(() => p.accessSync('/missing'), 'ENOENT');
        await expect(p.access('/f', 4)).rejects.toMatchObject({ code: 'EACCES', syscall: 'access' });
        // As root: everything but executing a file without an execute bit.
        ctx.db.withOwner({ uid: 0, gid: 0 }, () => {
          p.chmodSync('/f', 0o000);
          p.writeFileSync('/f', 'y');
          expect(p.readFileSync('/f', 'utf8')).toBe('y');
          expect(() => p.accessSync('/f', 1)).toThrow(expect.objectContaining({ code: 'EACCES' }));
        });
      },
      { owner: { uid: 1000, gid: 1000 } },
    );

    defineCase(target, 'chmod follows symlinks and bumps ctime; utimes sets times', (ctx) => {
      const p = providerOf(ctx);
      p.writeFileSync('/f', 'x');
      p.symlinkSync('f', '/l');
      const before = p.statSync('/f').ctimeMs;
      ctx.clock.advance(5000);
      p.chmodSync('/l', '600');
      expect(p.statSync('/f').mode & 0o777).toBe(0o600);
      expect(p.lstatSync('/l').mode & 0o777).toBe(0o777);
      expect(p.statSync('/f').ctimeMs).toBe(before + 5000);
      p.utimesSync('/l', 1000, new Date(2_000_000));
      const st = p.statSync('/f');
      expect([st.atimeMs, st.mtimeMs]).toEqual([1_000_000, 2_000_000]);
    });

    defineCase(
      target,
      'copyFile shares chunks and honours COPYFILE_EXCL; appendFile appends',
      async (ctx) => {
        const p = providerOf(ctx);
        p.writeFileSync('/src', patternBytes(100), { mode: 0o600 });
        p.writeFileSync('/dst', 'old');
        const blobs = Number(ctx.db.all<{ n: number }>('SELECT count(*) AS n FROM vfs_blobs')[0].n);
        await expectRefused(ctx.ws, () => p.copyFileSync('/src', '/dst', 1), 'EEXIST');
        p.copyFileSync('/src', '/dst');
        expect(ctx.ws.readFile('/dst')).toEqual(patternBytes(100));
        expect(ctx.ws.stat('/dst').mode & 0o777).toBe(0o600);
        expect(Number(ctx.db.all<{ n: number }>('SELECT count(*) AS n FROM vfs_blobs')[0].n)).toBe(blobs);
        p.appendFileSync('/log', 'one\n');
        await p.appendFile('/log', 'two\n');
        expect(ctx.ws.readFile('/log', 'utf8')).toBe('one\ntwo\n');
        await expectRefused(ctx.ws, () => p.writeFileSync('/log', 'x', { flag: 'wx' }), 'EEXIST');
        p.writeFileSync('/log', 'ONE', { flag: 'r+' });
        expect(ctx.ws.readFile('/log', 'utf8')).toBe('ONE\ntwo\n');
        expect(p.readFileSync('/log', 'utf8')).toBe('ONE\ntwo\n');
        expect(await p.readFile('/log', { encoding: 'utf8' })).toBe('ONE\ntwo\n');
      },
      { chunkSize: 16 },
    );

    defineCase(target, 'rm, rename, link, symlink, readlink, realpath, exists through the provider', async (ctx) => {
      const p = providerOf(ctx);
      p.mkdirSync('/a/b', { recursive: true });
      p.writeFileSync('/a/b/f', 'x');
      p.linkSync('/a/b/f', '/hard');
      expect(p.statSync('/hard').nlink).toBe(2);
      p.symlinkSync('a/b', '/sym');
      expect(p.readlinkSync('/sym')).toBe('a/b');
      expect(p.realpathSync('/sym/f')).toBe('/a/b/f');
      p.renameSync('/a', '/z');
      expect(p.existsSync('/z/b/f')).toBe(true);
      expect(p.existsSync('/sym/f')).toBe(false);
      expect(p.existsSync('relative')).toBe(false);
      await expectRefused(ctx.ws, () => p.rmSync('/z'), 'EISDIR');
      await expectRefused(ctx.ws, () => p.rmdirSync('/z'), 'ENOTEMPTY');
      await expectRefused(ctx.ws, () => p.linkSync('/z', '/z2'), 'EPERM');
      p.rmSync('/z', { recursive: true });
      expect(p.statSync('/hard').nlink).toBe(1);
      p.unlinkSync('/sym');
      await p.rm('/missing', { force: true });
      await expect(p.unlink('/missing')).rejects.toMatchObject({ code: 'ENOENT', syscall: 'unlink' });
      expect(p.readdirSync('/')).toEqual(['hard']);
    });

    defineCase(target, 'async forms resolve and reject like the sync ones', async (ctx) => {
      const p = providerOf(ctx);
      await p.writeFile('/f', 'abc');
      expect((await p.stat('/f')).size).toBe(3);
      const handle = await p.open('/f', 'r+');
      const { bytesRead, buffer } = await handle.read(new Uint8Array(3), 0, 3, 0);
      expect([bytesRead, text(buffer)]).toEqual([3, 'abc']);
      expect((await handle.write(encoder.encode('Z'), 0, 1, 1)).bytesWritten).toBe(1);
      expect((await handle.stat()).size).toBe(3);
      await handle.truncate(2);
      await handle.close();
      await expect(handle.close()).rejects.toMatchObject({ code: 'EBADF' });
      expect(ctx.ws.readFile('/f', 'utf8')).toBe('aZ');
      const fd = await p.openFd('/f', 'r');
      expect((await p.read(fd, new Uint8Array(2), 0, 2, 0)).bytesRead).toBe(2);
      await p.close(fd);
      await expect(p.stat('/missing')).rejects.toMatchObject({ code: 'ENOENT' });
    });

    defineCase(target, 'works under @platformatic/vfs create() without mounting', (ctx) => {
      const vfs = create(providerOf(ctx), { moduleHooks: false });
      vfs.writeFileSync('/x.txt', 'through vfs');
      expect(vfs.readFileSync('/x.txt', 'utf8')).toBe('through vfs');
      const fd = vfs.openSync('/x.txt');
      const buffer = new Uint8Array(7);
      expect(vfs.readSync(fd, buffer as never, 0, 7, 8)).toBe(3);
      expect(vfs.fstatSync(fd).size).toBe(11);
      vfs.closeSync(fd);
      expect((vfs.readdirSync('/', { withFileTypes: true }) as { name: string }[]).map((d) => d.name)).toEqual([
        'x.txt',
      ]);
      expect(ctx.ws.readFile('/x.txt', 'utf8')).toBe('through vfs');
    });
  });
  providerBufferCases(target);
}
