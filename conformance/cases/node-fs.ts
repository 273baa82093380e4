/**
 * The node:fs module (`dofs-sqlite/adapters/node-fs`): paths as node takes them, node's errors, Stats and
 * Dirents, every callback and promise form, FileHandle, streams, opendir, rm, cp, mkdtemp, glob,
 * readv/writev, access, realpath, watch, read-only mode. Runs on every backend, inside workerd too
 * (it touches no host filesystem: node:buffer and node:stream only).
 *
 * @module
 */
import { Buffer } from 'node:buffer';
import type { EventEmitter } from 'node:events';
import { promisify } from 'node:util';
import { describe, expect } from 'vitest';
import { createNodeFs, type NodeFs, type NodeFsOptions } from '../../adapters/node-fs/index.ts';
import { type CaseContext, defineCase } from '../harness.ts';
import { snapshot } from '../snapshot.ts';
import type { ConformanceTarget } from '../target.ts';

/** Makes /w/d holding a file and a subdirectory with a file (what the rmSync cases remove). */
function fillD(fs: NodeFs): void {
  fs.mkdirSync('/w/d/sub', { recursive: true });
  fs.writeFileSync('/w/d/x', 'x');
  fs.writeFileSync('/w/d/sub/y', 'y');
}

/** The module over the case's workspace. */
export function nodeFsOf(ctx: CaseContext, options?: NodeFsOptions): NodeFs {
  return createNodeFs(ctx.ws, options);
}

interface ErrorShape {
  code: string;
  syscall?: string;
  path?: string;
  dest?: string;
}

/** What a call threw (or rejected with), or fails the test. */
async function caught(fn: () => unknown): Promise<Error & Record<string, unknown>> {
  try {
    await fn();
  } catch (error) {
    return error as Error & Record<string, unknown>;
  }
  throw new Error('expected an error');
}

/**
 * Asserts node's error exactly: code, errno, syscall, path and dest as own properties and nothing
 * else, the message node would print, and no change at all to the workspace.
 */
async function expectNodeError(ctx: CaseContext, fn: () => unknown, shape: ErrorShape): Promise<void> {
  const before = snapshot(ctx.ws);
  const error = await caught(fn);
  expect(error).toBeInstanceOf(Error);
  const { code, syscall, path, dest } = shape;
  const keys = [
    'errno',
    'code',
    'syscall',
    ...(path === undefined ? [] : ['path']),
    ...(dest === undefined ? [] : ['dest']),
  ];
  expect({ ...error }).toMatchObject({ code, ...(syscall ? { syscall } : {}) });
  expect(Object.keys(error)).toEqual(keys);
  expect(typeof error.errno).toBe('number');
  expect(error.path).toBe(path);
  expect(error.dest).toBe(dest);
  const where = path === undefined ? '' : dest === undefined ? ` '${path}'` : ` '${path}' -> '${dest}'`;
  expect(error.message).toMatch(new RegExp(`^${code}: [a-z /-]+, ${error.syscall}${escapeRegExp(where)}$`));
  expect(snapshot(ctx.ws)).toEqual(before);
}

/** A copyfile error's shape. */
const shape4 = (code: string, path: string, dest: string): ErrorShape => ({ code, syscall: 'copyfile', path, dest });

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Calls a callback-form function and resolves its callback's arguments. */
function callback(fn: (...args: unknown[]) => unknown, ...args: unknown[]): Promise<unknown[]> {
  return new Promise((resolve) => {
    let sync = true;
    fn(...args, (...results: unknown[]) => {
      expect(sync, 'callbacks are never called synchronously').toBe(false);
      resolve(results);
    });
    sync = false;
  });
}

async function collect(stream: AsyncIterable<unknown>): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of stream)
    parts.push(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk as Uint8Array));
  return Buffer.concat(parts).toString();
}

function closed(stream: { on(event: string, fn: (...args: unknown[]) => void): unknown }): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.on('close', () => resolve());
    stream.on('error', reject);
  });
}

/** Cases for the node:fs module. */
export function nodeFsCases(target: ConformanceTarget): void {
  describe('node:fs module: paths and errors', () => {
    defineCase(target, 'paths: relative to cwd, Buffers and file: URLs; `..` stays at the root', (ctx) => {
      const fs = nodeFsOf(ctx, { cwd: '/work' });
      ctx.ws.mkdir('/work');
      fs.writeFileSync('a.txt', 'rel');
      expect(ctx.ws.readFile('/work/a.txt', 'utf8')).toBe('rel');
      expect(fs.readFileSync(Buffer.from('/work/a.txt'), 'utf8')).toBe('rel');
      expect(fs.readFileSync(new URL('file:///work/a.txt') as never, 'utf8')).toBe('rel');
      fs.writeFileSync('a b.txt', 'spaced');
      expect(fs.readFileSync(new URL('file:///work/a%20b.txt') as never, 'utf8')).toBe('spaced');
      expect(fs.readFileSync('../../../work/./a.txt', 'utf8')).toBe('rel');
      expect(fs.existsSync('/../work')).toBe(true);
      // The first directory made, spelled as given.
      expect(fs.mkdirSync('x/y', { recursive: true })).toBe('x');
      expect(fs.mkdirSync('/work/x/y/z', { recursive: true })).toBe('/work/x/y/z');
      expect(fs.realpathSync('x/../a.txt')).toBe('/work/a.txt');
      expect(fs.cwd).toBe('/work');
      expect(() => fs.readFileSync({} as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
      // A number is an fd, as in node.
      expect(() => fs.readFileSync(42)).toThrow(expect.objectContaining({ code: 'EBADF' }));
      expect(() => fs.statSync('a\0b')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
      expect(fs.existsSync('a\0b')).toBe(false);
      expect(fs.existsSync('')).toBe(false);
      // A file: URL as node's fileURLToPath takes it: no other scheme, no host, no encoded slash;
      // a URL-like object ({ href, protocol, … }) is a URL too.
      const urlRefusals: Array<[unknown, string]> = [
        [new URL('http://x/work/a.txt'), 'ERR_INVALID_URL_SCHEME'],
        [new URL('file://host/work/a.txt'), 'ERR_INVALID_FILE_URL_HOST'],
        [new URL('file:///work%2fa.txt'), 'ERR_INVALID_FILE_URL_PATH'],
        [new URL('file:///work%2Fa.txt'), 'ERR_INVALID_FILE_URL_PATH'],
      ];
      for (const [url, code] of urlRefusals) {
        expect(() => fs.readFileSync(url as never), String(url)).toThrow(expect.objectContaining({ code }));
        expect(() => fs.writeFileSync(url as never, 'x'), String(url)).toThrow(expect.objectContaining({ code }));
      }
      expect(fs.readFileSync(new URL('file://localhost/work/a.txt') as never, 'utf8')).toBe('rel');
      const urlLike = { href: 'file:///work/a.txt', protocol: 'file:', hostname: '', pathname: '/work/a.txt' };
      expect(fs.readFileSync(urlLike as never, 'utf8')).toBe('rel');
      expect(fs.readdirSync('/work').sort()).toEqual(['a b.txt', 'a.txt', 'x']);
    });

    defineCase(
      target,
      '`..` as the kernel: ENOTDIR after a file, a link’s target’s parent, a final `..` no entry',
      async (ctx) => {
        const fs = nodeFsOf(ctx, { cwd: '/w' });
        ctx.ws.mkdir('/w/d/e', { recursive: true });
        ctx.ws.writeFile('/w/f', 'x');
        ctx.ws.writeFile('/w/d/g', 'y');
        ctx.ws.symlink('d/e', '/w/l');
        ctx.ws.symlink('f', '/w/lf');
        for (const path of ['/w/f/..', 'f/..', 'lf/..', 'f/../']) {
          await expectNodeError(ctx, () => fs.statSync(path), { code: 'ENOTDIR', syscall: 'stat', path });
          expect(fs.statSync(path, { throwIfNoEntry: false })).toBeUndefined();
          expect(fs.existsSync(path)).toBe(false);
        }
        await expectNodeError(ctx, () => fs.statSync('m/..'), { code: 'ENOENT', syscall: 'stat', path: 'm/..' });
        await expectNodeError(ctx, () => fs.writeFileSync('f/../x', 'z'), {
          code: 'ENOTDIR',
          syscall: 'open',
          path: 'f/../x',
        });
        await expectNodeError(ctx, () => fs.mkdirSync('f/../x', { recursive: true }), {
          code: 'ENOTDIR',
          syscall: 'mkdir',
          path: 'f/../x',
        });
        await expectNodeError(ctx, () => fs.renameSync('f/..', 'x'), {
          code: 'ENOTDIR',
          syscall: 'rename',
          path: 'f/..',
          dest: 'x',
        });
        await expectNodeError(ctx, () => fs.rmSync('f/..', { recursive: true }), {
          code: 'ENOTDIR',
          syscall: 'lstat',
          path: 'f/..',
        });
        // After a link, '..' is the parent of where it leads (/w/d), not of the link (/w).
        expect(fs.readdirSync('l/..').sort()).toEqual(['e', 'g']);
        expect(fs.readFileSync('l/../g', 'utf8')).toBe('y');
        // node's JavaScript realpath resolves '..' in the text first.
        expect(fs.realpathSync('f/..')).toBe('/w');
        expect(fs.readFileSync('d/../f', 'utf8')).toBe('x');
        // A final '..' is a directory, never an entry to make, remove or move.
        await expectNodeError(ctx, () => fs.rmdirSync('d/e/..'), {
          code: 'ENOTEMPTY',
          syscall: 'rmdir',
          path: 'd/e/..',
        });
        await expectNodeError(ctx, () => fs.unlinkSync('d/e/..'), {
          code: 'EISDIR',
          syscall: 'unlink',
          path: 'd/e/..',
        });
        await expectNodeError(ctx, () => fs.mkdirSync('d/e/..'), { code: 'EEXIST', syscall: 'mkdir', path: 'd/e/..' });
        await expectNodeError(ctx, () => fs.renameSync('d/e/..', 'x'), {
          code: 'EBUSY',
          syscall: 'rename',
          path: 'd/e/..',
          dest: 'x',
        });
        // mkdir -p walks each step as the kernel: 'n/..' makes n, then finds /w there.
        expect(fs.mkdirSync('n/../n/o', { recursive: true })).toBe('n');
        expect(fs.statSync('/w/n/o').isDirectory()).toBe(true);
        // rm -r of 'd/e/..' empties /w/d (node's rm takes the final rmdir's ENOTEMPTY as done).
        fs.rmSync('d/e/..', { recursive: true });
        expect(ctx.ws.readdir('/w/d')).toEqual([]);
      },
    );

    defineCase(target, 'errors are node’s: message, errno, code, syscall, and path and dest as given', async (ctx) => {
      const fs = nodeFsOf(ctx, { cwd: '/w' });
      ctx.ws.mkdir('/w');
      ctx.ws.mkdir('/w/d');
      ctx.ws.writeFile('/w/f', 'x');
      await expectNodeError(ctx, () => fs.readFileSync('nope'), { code: 'ENOENT', syscall: 'open', path: 'nope' });
      await expectNodeError(ctx, () => fs.statSync(''), { code: 'ENOENT', syscall: 'stat', path: '' });
      // PATH_MAX is the kernel's limit on one argument, NUL included: 4,095 bytes pass, 4,096 do not.
      const fits = `/${'n/'.repeat(2047)}`;
      await expectNodeError(ctx, () => fs.statSync(fits), { code: 'ENOENT', syscall: 'stat', path: fits });
      await expectNodeError(ctx, () => fs.statSync(`${fits}n`), {
        code: 'ENAMETOOLONG',
        syscall: 'stat',
        path: `${fits}n`,
      });
      const twoBytes = `${fits.slice(0, -1)}é`;
      await expectNodeError(ctx, () => fs.mkdirSync(twoBytes, { recursive: true }), {
        code: 'ENAMETOOLONG',
        syscall: 'mkdir',
        path: twoBytes,
      });
      await expectNodeError(ctx, () => fs.readFileSync(Buffer.from('nope')), {
        code: 'ENOENT',
        syscall: 'open',
        path: 'nope',
      });
      await expectNodeError(ctx, () => fs.renameSync('nope', 'z'), {
        code: 'ENOENT',
        syscall: 'rename',
        path: 'nope',
        dest: 'z',
      });
      await expectNodeError(ctx, () => fs.linkSync('nope', 'z'), {
        code: 'ENOENT',
        syscall: 'link',
        path: 'nope',
        dest: 'z',
      });
      await expectNodeError(ctx, () => fs.symlinkSync('f', 'f'), {
        code: 'EEXIST',
        syscall: 'symlink',
        path: 'f',
        dest: 'f',
      });
      await expectNodeError(ctx, () => fs.copyFileSync('nope', 'z'), {
        code: 'ENOENT',
        syscall: 'copyfile',
        path: 'nope',
        dest: 'z',
      });
      await expectNodeError(ctx, () => fs.mkdirSync('d'), { code: 'EEXIST', syscall: 'mkdir', path: 'd' });
      await expectNodeError(ctx, () => fs.readdirSync('f'), { code: 'ENOTDIR', syscall: 'scandir', path: 'f' });
      await expectNodeError(ctx, () => fs.openSync('d', 'w'), { code: 'EISDIR', syscall: 'open', path: 'd' });
      await expectNodeError(ctx, () => fs.closeSync(99), { code: 'EBADF', syscall: 'close' });
      await expectNodeError(ctx, () => fs.accessSync('nope'), { code: 'ENOENT', syscall: 'access', path: 'nope' });
      await expectNodeError(ctx, () => fs.readlinkSync('f'), { code: 'EINVAL', syscall: 'readlink', path: 'f' });
      await expectNodeError(ctx, () => fs.utimesSync('nope', 1, 1), { code: 'ENOENT', syscall: 'utime', path: 'nope' });
      await expectNodeError(ctx, () => fs.lutimesSync('nope', 1, 1), {
        code: 'ENOENT',
        syscall: 'lutime',
        path: 'nope',
      });
      await expectNodeError(ctx, () => fs.chownSync('nope', 0, 0), { code: 'ENOENT', syscall: 'chown', path: 'nope' });
      await expectNodeError(ctx, () => fs.truncateSync('d'), { code: 'EISDIR', syscall: 'open', path: 'd' });
      await expectNodeError(ctx, () => fs.rmSync('nope'), { code: 'ENOENT', syscall: 'lstat', path: 'nope' });
      await expectNodeError(ctx, () => fs.rmSync('f/x'), { code: 'ENOTDIR', syscall: 'lstat', path: 'f/x' });
      await expectNodeError(ctx, () => fs.rmdirSync('nope'), { code: 'ENOENT', syscall: 'rmdir', path: 'nope' });
      await expectNodeError(ctx, () => fs.opendirSync('nope'), { code: 'ENOENT', syscall: 'opendir' });
      // Its asynchronous forms name the path.
      await expectNodeError(ctx, () => fs.promises.opendir('nope/'), {
        code: 'ENOENT',
        syscall: 'opendir',
        path: 'nope/',
      });
      const [opendirError] = await callback(fs.opendir as never, 'f');
      expect({ ...(opendirError as object) }).toEqual({ errno: -20, code: 'ENOTDIR', syscall: 'opendir', path: 'f' });
      await expectNodeError(ctx, () => fs.mkdtempSync('nope/x'), {
        code: 'ENOENT',
        syscall: 'mkdtemp',
        path: 'nope/xXXXXXX',
      });
      await expectNodeError(ctx, () => fs.statfsSync('nope'), { code: 'ENOENT', syscall: 'statfs', path: 'nope' });
      await expectNodeError(ctx, () => fs.fchmodSync(99, 0o644), { code: 'EBADF', syscall: 'fchmod' });
      await expectNodeError(ctx, () => fs.futimesSync(99, 1, 1), { code: 'EBADF', syscall: 'futime' });
      // node's JS realpath names the absolute path of the component that failed; realpath(3) the path given.
      await expectNodeError(ctx, () => fs.realpathSync('d/nope/x'), {
        code: 'ENOENT',
        syscall: 'lstat',
        path: '/w/d/nope',
      });
      await expectNodeError(ctx, () => fs.realpathSync.native('d/nope/x'), {
        code: 'ENOENT',
        syscall: 'realpath',
        path: 'd/nope/x',
      });
      // Promise and callback forms fail the same way.
      await expectNodeError(ctx, () => fs.promises.readFile('nope'), { code: 'ENOENT', syscall: 'open', path: 'nope' });
      const [error] = await callback(fs.stat as never, 'nope');
      expect({ ...(error as object) }).toEqual({ errno: -2, code: 'ENOENT', syscall: 'stat', path: 'nope' });
    });

    defineCase(target, 'a trailing slash names a directory: node’s errors, and nothing removed', async (ctx) => {
      const fs = nodeFsOf(ctx, { cwd: '/w' });
      fs.mkdirSync('/w/d', { recursive: true });
      fs.writeFileSync('/w/d/x', 'kept');
      fs.writeFileSync('/w/f', 'data');
      fs.symlinkSync('d', '/w/l');
      fs.symlinkSync('f', '/w/lf');
      const shape = (code: string, syscall: string, path: string, dest?: string) => ({ code, syscall, path, dest });
      // rm lstats first (a slash follows the link): ENOTDIR, with or without force, in every form.
      await expectNodeError(ctx, () => fs.rmSync('f/'), shape('ENOTDIR', 'lstat', 'f/'));
      await expectNodeError(ctx, () => fs.rmSync('f/', { force: true }), shape('ENOTDIR', 'lstat', 'f/'));
      await expectNodeError(ctx, () => fs.rmSync('lf/', { recursive: true }), shape('ENOTDIR', 'lstat', 'lf/'));
      await expectNodeError(ctx, () => fs.promises.rm('f/', { force: true }), shape('ENOTDIR', 'lstat', 'f/'));
      await expectNodeError(
        ctx,
        () => fs.promises.rm('f/', { force: true, recursive: true }),
        shape('ENOTDIR', 'lstat', 'f/'),
      );
      const [cbError] = await callback(fs.rm as never, 'f/');
      expect({ ...(cbError as object) }).toEqual({ errno: -20, code: 'ENOTDIR', syscall: 'lstat', path: 'f/' });
      expect((cbError as Error).message).toBe("ENOTDIR: not a directory, lstat 'f/'");
      // node 24's native rmSync forgives it with recursive and force; nothing is removed either way.
      fs.rmSync('f/', { recursive: true, force: true });
      expect(await caught(() => fs.rmSync('l/'))).toMatchObject({ code: 'ERR_FS_EISDIR', path: 'l/' });
      await expectNodeError(ctx, () => fs.rmdirSync('l/'), shape('ENOTDIR', 'rmdir', 'l/'));
      await expectNodeError(ctx, () => fs.unlinkSync('l/'), shape('ENOTDIR', 'unlink', 'l/'));
      // node's JavaScript rm takes the failed rmdir of 'l/' as done.
      await fs.promises.rm('l/', { recursive: true });
      expect(fs.readFileSync('l/x', 'utf8')).toBe('kept');
      expect(fs.readFileSync('f', 'utf8')).toBe('data');
      await expectNodeError(ctx, () => fs.renameSync('f/', 'x'), shape('ENOTDIR', 'rename', 'f/', 'x'));
      await expectNodeError(ctx, () => fs.renameSync('f', 'f/'), shape('ENOTDIR', 'rename', 'f', 'f/'));
      await expectNodeError(ctx, () => fs.symlinkSync('x', 'new/'), shape('ENOENT', 'symlink', 'x', 'new/'));
      await expectNodeError(ctx, () => fs.linkSync('f', 'new/'), shape('ENOENT', 'link', 'f', 'new/'));
      await expectNodeError(ctx, () => fs.copyFileSync('f', 'new/'), shape('EISDIR', 'copyfile', 'f', 'new/'));
      await expectNodeError(ctx, () => fs.openSync('f/', 'w'), shape('EISDIR', 'open', 'f/'));
      await expectNodeError(ctx, () => fs.openSync('d/', 'wx'), shape('EISDIR', 'open', 'd/'));
      await expectNodeError(ctx, () => fs.openSync('f/', 'r'), shape('ENOTDIR', 'open', 'f/'));
      await expectNodeError(ctx, () => fs.writeFileSync('f/', 'x'), shape('EISDIR', 'open', 'f/'));
      await expectNodeError(ctx, () => fs.promises.appendFile('f/', 'x'), shape('EISDIR', 'open', 'f/'));
      await expectNodeError(ctx, () => fs.mkdirSync('f/', { recursive: true }), shape('ENOTDIR', 'mkdir', 'f/'));
      await expectNodeError(ctx, () => fs.realpathSync.native('f/'), shape('ENOTDIR', 'realpath', 'f/'));
      await expectNodeError(ctx, () => fs.promises.realpath('f/'), shape('ENOTDIR', 'realpath', 'f/'));
      // node's JavaScript realpath resolves the path first, which drops the slash.
      expect(fs.realpathSync('f/')).toBe('/w/f');
      expect(fs.realpathSync('lf/')).toBe('/w/f');
      // The first directory made, spelled as given, slash and all.
      expect(fs.mkdirSync('new/', { recursive: true })).toBe('new/');
      expect(await fs.promises.mkdir('/w/new2//', { recursive: true })).toBe('/w/new2//');
    });

    defineCase(
      target,
      'native rmSync of `link/` or `dir/.`: the directory is emptied, then the error; the async forms remove nothing',
      async (ctx) => {
        const fs = nodeFsOf(ctx, { cwd: '/w' });
        const fill = () => fillD(fs);
        fill();
        fs.symlinkSync('d', '/w/l');
        const shape = (code: string, syscall: string, path: string) => ({ code, syscall, path });
        // std::filesystem::remove_all removes what is inside before it fails on the name itself.
        const error = await caught(() => fs.rmSync('l/', { recursive: true }));
        expect({ ...error }).toEqual({ errno: -20, ...shape('ENOTDIR', 'rm', 'l/') });
        expect(fs.readdirSync('d')).toEqual([]);
        fill();
        const dot = await caught(() => fs.rmSync('d/.', { recursive: true, force: true }));
        expect({ ...dot }).toEqual({ errno: -22, ...shape('EINVAL', 'rm', 'd/.') });
        expect(fs.readdirSync('/w').sort()).toEqual(['d', 'l']);
        expect(fs.readdirSync('d')).toEqual([]);
        fill();
        // node's JavaScript rm: rmdir of 'd/.' is EINVAL and nothing is removed.
        await expectNodeError(ctx, () => fs.promises.rm('d/.', { recursive: true }), shape('EINVAL', 'rmdir', 'd/.'));
        const [cbError] = await callback(fs.rm as never, 'l/.', { recursive: true });
        expect({ ...(cbError as object) }).toEqual({ errno: -22, ...shape('EINVAL', 'rmdir', 'l/.') });
        await expectNodeError(ctx, () => fs.rmdirSync('d/.'), shape('EINVAL', 'rmdir', 'd/.'));
        await expectNodeError(ctx, () => fs.statSync('x/.'), shape('ENOENT', 'stat', 'x/.'));
        fs.writeFileSync('f', 'data');
        await expectNodeError(ctx, () => fs.readFileSync('f/.'), shape('ENOTDIR', 'open', 'f/.'));
        await expectNodeError(ctx, () => fs.rmSync('f/.', { recursive: true }), shape('ENOTDIR', 'lstat', 'f/.'));
        // A link to its own directory is removed with the rest: then nothing is left to fail on.
        fs.mkdirSync('/w/in');
        fs.symlinkSync('.', '/w/in/self');
        fs.writeFileSync('/w/in/z', 'z');
        fs.rmSync('in/self/', { recursive: true });
        expect(fs.readdirSync('in')).toEqual([]);
        fs.symlinkSync('.', '/w/in/self');
        fs.rmSync('in/self/.', { recursive: true });
        expect(fs.readdirSync('in')).toEqual([]);
        // A looping link: with recursive and force, remove_all goes on and fails on the name itself.
        fs.symlinkSync('loop', 'loop');
        await expectNodeError(
          ctx,
          () => fs.rmSync('loop/', { recursive: true, force: true }),
          shape('ENOTDIR', 'rm', 'loop/'),
        );
        await expectNodeError(ctx, () => fs.rmSync('loop/', { recursive: true }), shape('ELOOP', 'lstat', 'loop/'));
        // realpath in JavaScript resolves the path first, which drops the '.'.
        expect(fs.realpathSync('f/.')).toBe('/w/f');
        expect(fs.readdirSync('l/.').sort()).toEqual(['sub', 'x']);
      },
    );

    defineCase(
      target,
      'native rmSync of `a/b/../.`: emptying `a` takes `b`, so the last rmdir finds no path and the call succeeds',
      async (ctx) => {
        const fs = nodeFsOf(ctx, { cwd: '/w' });
        const fill = () => fillD(fs);
        // remove_all empties what the path names, then rmdirs the path as given, resolving its
        // '..' again: 'd/sub' is gone, so that is ENOENT, which remove_all takes as done.
        fill();
        fs.rmSync('d/sub/../.', { recursive: true });
        expect(fs.readdirSync('d')).toEqual([]);
        fill();
        fs.rmSync('d/../.', { recursive: true });
        expect(fs.readdirSync('/w')).toEqual([]);
        // Where the path still resolves after the emptying, the rmdir of a final '.' fails.
        fill();
        const again = await caught(() => fs.rmSync('d/../d/.', { recursive: true }));
        expect({ ...again }).toEqual({ errno: -22, code: 'EINVAL', syscall: 'rm', path: 'd/../d/.' });
        expect(fs.readdirSync('/w')).toEqual(['d']);
        expect(fs.readdirSync('d')).toEqual([]);
        // node's JavaScript rm: rmdir of the path is EINVAL before anything is removed.
        fill();
        await expectNodeError(ctx, () => fs.promises.rm('d/sub/../.', { recursive: true }), {
          code: 'EINVAL',
          syscall: 'rmdir',
          path: 'd/sub/../.',
        });
        expect(fs.readdirSync('d').sort()).toEqual(['sub', 'x']);
      },
    );

    defineCase(
      target,
      'recursive mkdir through a dangling symlink: the sync form as native mkdirSync, the async ones as libuv',
      async (ctx) => {
        const fs = nodeFsOf(ctx, { cwd: '/w' });
        fs.mkdirSync('/w');
        fs.symlinkSync('a', '/w/c');
        const shape = (code: string, path: string) => ({ code, syscall: 'mkdir', path });
        const recursive = { recursive: true };
        // The link itself, with or without slashes: ENOENT at the path, in every form.
        for (const path of ['c', 'c/', 'c//']) {
          await expectNodeError(ctx, () => fs.mkdirSync(path, recursive), shape('ENOENT', path));
          await expectNodeError(ctx, () => fs.promises.mkdir(path, recursive), shape('ENOENT', path));
          const [error] = await callback(fs.mkdir as never, path, recursive);
          expect({ ...(error as object) }).toEqual({ errno: -2, ...shape('ENOENT', path) });
        }
        // Through it: the native form says ENOENT at the path, libuv's mkdirp ENOTDIR at the step that failed.
        for (const [path, step] of [
          ['c/x', 'c'],
          ['c/x/', 'c'],
          ['c//x', 'c/'],
          ['./c/x/y', './c'],
        ]) {
          await expectNodeError(ctx, () => fs.mkdirSync(path, recursive), shape('ENOENT', path));
          await expectNodeError(ctx, () => fs.promises.mkdir(path, recursive), shape('ENOTDIR', step));
        }
        // A link to itself loops in every form.
        fs.symlinkSync('loop', '/w/loop');
        await expectNodeError(ctx, () => fs.promises.mkdir('loop/x', recursive), shape('ELOOP', 'loop/x'));
        expect(await fs.promises.mkdir('a/b/', recursive)).toBe('a');
      },
    );

    defineCase(
      target,
      'copyFile from a directory fails as Linux’s does, after removing the destination',
      async (ctx) => {
        const fs = nodeFsOf(ctx);
        fs.mkdirSync('/d');
        fs.writeFileSync('/f', 'data');
        fs.linkSync('/f', '/hard');
        await expectNodeError(ctx, () => fs.copyFileSync('/d', '/nope/x'), shape4('ENOENT', '/d', '/nope/x'));
        await expectNodeError(
          ctx,
          () => fs.copyFileSync('/d', '/f', fs.constants.COPYFILE_EXCL),
          shape4('EEXIST', '/d', '/f'),
        );
        await expectNodeError(ctx, () => fs.copyFileSync('/d', '/new'), shape4('EISDIR', '/d', '/new'));
        // With the destination open, too: the change is committed, the fd stays usable.
        const fd = fs.openSync('/f', 'r');
        const error = await caught(() => fs.copyFileSync('/d', '/f'));
        expect({ ...error }).toEqual({ errno: -21, code: 'EISDIR', syscall: 'copyfile', path: '/d', dest: '/f' });
        expect(error.message).toBe("EISDIR: illegal operation on a directory, copyfile '/d' -> '/f'");
        expect(fs.existsSync('/f')).toBe(false);
        expect(fs.readFileSync('/hard', 'utf8')).toBe('');
        expect([fs.fstatSync(fd).size, fs.fstatSync(fd).nlink]).toEqual([0, 1]);
        fs.closeSync(fd);
        // The last name of an open file removed so: the file lives on, nameless, until closed.
        const fd2 = fs.openSync('/hard', 'r');
        expect(await caught(() => fs.promises.copyFile('/d', '/hard'))).toMatchObject({
          code: 'EISDIR',
          dest: '/hard',
        });
        expect(fs.existsSync('/hard')).toBe(false);
        expect(fs.fstatSync(fd2).nlink).toBe(0);
        fs.closeSync(fd2);
        expect(fs.readdirSync('/')).toEqual(['d']);
      },
    );

    defineCase(
      target,
      'a directory removed while open: fstat, FileHandle.stat, fchmod and fchown work, reads are EISDIR',
      async (ctx) => {
        const fs = nodeFsOf(ctx);
        fs.mkdirSync('/d');
        const fd = fs.openSync('/d', 'r');
        const fh = await fs.promises.open('/d', 'r');
        fs.rmdirSync('/d');
        const stats = fs.fstatSync(fd);
        expect([stats.isDirectory(), stats.nlink, stats.size]).toEqual([true, 0, 0]);
        expect((await fh.stat()).nlink).toBe(0);
        await expectNodeError(ctx, () => fs.readFileSync(fd), { code: 'EISDIR', syscall: 'read' });
        await expectNodeError(ctx, () => fh.readFile(), { code: 'EISDIR', syscall: 'read' });
        fs.fchmodSync(fd, 0o700);
        expect(fs.fstatSync(fd).mode & 0o7777).toBe(0o700);
        // fchown too (it was ENOENT: the directory has no row left, only its open handles see it).
        fs.fchownSync(fd, -1, -1);
        fs.fchownSync(fd, 123, -1);
        await fh.chown(-1, 456);
        expect([fs.fstatSync(fd).uid, (await fh.stat()).gid]).toEqual([123, 456]);
        fs.closeSync(fd);
        await fh.close();
        expect(fs.existsSync('/d')).toBe(false);
      },
      { owner: { uid: 0, gid: 0 } },
    );

    defineCase(target, 'rm and cp refuse with node’s ERR_FS_* errors', async (ctx) => {
      const fs = nodeFsOf(ctx);
      fs.mkdirSync('/d/sub', { recursive: true });
      fs.writeFileSync('/f', 'x');
      fs.writeFileSync('/g', 'y');
      const rm = await caught(() => fs.rmSync('/d'));
      expect(rm).toMatchObject({ name: 'SystemError', code: 'ERR_FS_EISDIR', syscall: 'rm', path: '/d', errno: 21 });
      expect(rm.message).toBe('Path is a directory: rm returned EISDIR (is a directory) /d');
      expect(await caught(() => fs.promises.cp('/d', '/e'))).toMatchObject({ code: 'ERR_FS_EISDIR', path: '/d' });
      expect(await caught(() => fs.cpSync('/d', '/e'))).toMatchObject({ code: 'ERR_FS_EISDIR' });
      expect(await caught(() => fs.cpSync('/d', '/d/sub/x', { recursive: true }))).toMatchObject({
        code: 'ERR_FS_CP_EINVAL',
      });
      const same = await caught(() => fs.cpSync('/f', '/f'));
      expect({ ...same }).toEqual({ code: 'ERR_FS_CP_EINVAL' });
      expect(same.message).toBe('src and dest cannot be the same /f');
      // node's JavaScript cp (fs.cp, promises.cp) says the same as a SystemError naming the path.
      expect(await caught(() => fs.promises.cp('/f', '/f'))).toMatchObject({
        code: 'ERR_FS_CP_EINVAL',
        syscall: 'cp',
        path: '/f',
      });
      expect(await caught(() => fs.cpSync('/f', '/d'))).toMatchObject({ code: 'ERR_FS_CP_NON_DIR_TO_DIR' });
      expect(await caught(() => fs.cpSync('/d', '/f', { recursive: true }))).toMatchObject({
        code: 'ERR_FS_CP_DIR_TO_NON_DIR',
      });
      expect(await caught(() => fs.cpSync('/f', '/g', { force: false, errorOnExist: true }))).toMatchObject({
        code: 'ERR_FS_CP_EEXIST',
        info: { code: 'EEXIST', syscall: 'cp', path: '/g' },
      });
      expect(
        await caught(() => fs.cpSync('/d', '/e', { recursive: true, filter: (async () => true) as never })),
      ).toMatchObject({
        code: 'ERR_INVALID_RETURN_VALUE',
      });
      expect(await caught(() => fs.promises.rm('/d'))).toMatchObject({ code: 'ERR_FS_EISDIR' });
      expect(await caught(() => fs.promises.cp('/nope', '/z'))).toMatchObject({ code: 'ENOENT', syscall: 'lstat' });
      expect(fs.readFileSync('/g', 'utf8')).toBe('y');
    });
  });

  describe('node:fs module: Stats, Dirents, directories', () => {
    defineCase(target, 'stat, lstat and fstat are fs.Stats; bigint; throwIfNoEntry: false', async (ctx) => {
      const fs = nodeFsOf(ctx);
      fs.writeFileSync('/f', 'hello');
      fs.symlinkSync('f', '/l');
      const st = fs.statSync('/l');
      expect(st).toBeInstanceOf(fs.Stats);
      expect(st.isFile()).toBe(true);
      expect(st.size).toBe(5);
      expect(st.mtime).toBeInstanceOf(Date);
      expect(st.mtime.getTime()).toBe(st.mtimeMs);
      expect(Object.keys(st).slice(0, 14)).toEqual([
        'dev',
        'mode',
        'nlink',
        'uid',
        'gid',
        'rdev',
        'blksize',
        'ino',
        'size',
        'blocks',
        'atimeMs',
        'mtimeMs',
        'ctimeMs',
        'birthtimeMs',
      ]);
      const ls = fs.lstatSync('/l');
      expect(ls.isSymbolicLink()).toBe(true);
      expect(ls.size).toBe(1);
      const fd = fs.openSync('/f', 'r');
      expect(fs.fstatSync(fd).ino).toBe(st.ino);
      fs.closeSync(fd);
      const big = fs.statSync('/f', { bigint: true });
      expect(big.size).toBe(5n);
      expect(typeof big.mtimeNs).toBe('bigint');
      expect(fs.statSync('/nope', { throwIfNoEntry: false })).toBeUndefined();
      expect(fs.lstatSync('/nope', { throwIfNoEntry: false })).toBeUndefined();
      // stat forgives a path that cannot exist (ENOTDIR too), in every form; lstatSync only ENOENT,
      // and lstat's callback and promise forms ignore the option, as node's.
      const noEntry = { throwIfNoEntry: false };
      expect(fs.statSync('/f/x', noEntry)).toBeUndefined();
      expect(fs.statSync('/f/', noEntry)).toBeUndefined();
      expect(await fs.promises.stat('/f/x', noEntry as never)).toBeUndefined();
      expect(await callback(fs.stat as never, '/f/', noEntry)).toEqual([null, undefined]);
      await expectNodeError(ctx, () => fs.lstatSync('/f/x', noEntry), {
        code: 'ENOTDIR',
        syscall: 'lstat',
        path: '/f/x',
      });
      await expectNodeError(ctx, () => fs.promises.lstat('/nope', noEntry as never), {
        code: 'ENOENT',
        syscall: 'lstat',
        path: '/nope',
      });
      const [lstatError] = await callback(fs.lstat as never, '/nope', noEntry);
      expect(lstatError).toMatchObject({ code: 'ENOENT', syscall: 'lstat', path: '/nope' });
      await expectNodeError(ctx, () => fs.statSync('/f/x'), { code: 'ENOTDIR', syscall: 'stat', path: '/f/x' });
    });

    defineCase(target, 'readdir: names in byte order, Dirents with parentPath, recursive, Buffer names', (ctx) => {
      const fs = nodeFsOf(ctx, { cwd: '/' });
      fs.mkdirSync('/d/e', { recursive: true });
      fs.writeFileSync('/d/b', '');
      fs.writeFileSync('/d/e/a.js', '');
      fs.symlinkSync('e', '/d/le');
      expect(fs.readdirSync('d')).toEqual(['b', 'e', 'le']);
      const dirents = fs.readdirSync('d/', { withFileTypes: true });
      expect(dirents[0]).toBeInstanceOf(fs.Dirent);
      expect(dirents.map((d) => [d.name, d.parentPath, d.isFile(), d.isDirectory(), d.isSymbolicLink()])).toEqual([
        ['b', 'd/', true, false, false],
        ['e', 'd/', false, true, false],
        ['le', 'd/', false, false, true],
      ]);
      // Recursion descends symlinked directories too, breadth first, as node's readdir does.
      expect(fs.readdirSync('d', { recursive: true })).toEqual(['b', 'e', 'le', 'e/a.js', 'le/a.js']);
      expect(
        fs.readdirSync('d', { recursive: true, withFileTypes: true }).map((d) => `${d.parentPath}|${d.name}`),
      ).toEqual(['d|b', 'd|e', 'd|le', 'd/e|a.js', 'd/le|a.js']);
      const names = fs.readdirSync('/d', { encoding: 'buffer' });
      expect(Buffer.isBuffer(names[0])).toBe(true);
      expect(names.map(String)).toEqual(['b', 'e', 'le']);
    });

    defineCase(target, 'opendir: read, readSync, iteration that closes, recursive, ERR_DIR_CLOSED', async (ctx) => {
      const fs = nodeFsOf(ctx);
      fs.mkdirSync('/d/s', { recursive: true });
      fs.writeFileSync('/d/a', '');
      fs.writeFileSync('/d/s/b', '');
      const dir = fs.opendirSync('/d');
      expect(dir).toBeInstanceOf(fs.Dir);
      expect(dir.path).toBe('/d');
      expect(dir.readSync()?.name).toBe('a');
      expect((await dir.read())?.name).toBe('s');
      expect(await new Promise((resolve) => dir.read((_e, d) => resolve(d)))).toBeNull();
      dir.closeSync();
      expect(() => dir.readSync()).toThrow(expect.objectContaining({ code: 'ERR_DIR_CLOSED' }));
      expect(() => dir.closeSync()).toThrow(expect.objectContaining({ code: 'ERR_DIR_CLOSED' }));
      const seen: string[] = [];
      const recursive = await fs.promises.opendir('/d', { recursive: true });
      for await (const entry of recursive) seen.push(`${entry.parentPath}/${entry.name}`);
      expect(seen).toEqual(['/d/a', '/d/s', '/d/s/b']);
      await expect(recursive.close()).rejects.toMatchObject({ code: 'ERR_DIR_CLOSED' });
      const [error, viaCallback] = await callback(fs.opendir as never, '/d');
      expect(error).toBeNull();
      await (viaCallback as { close(): Promise<void> }).close();
    });

    defineCase(
      target,
      'Dir as node’s own opendir test: callbacks get errors, sync calls refuse while async ones wait',
      async (ctx) => {
        const fs = nodeFsOf(ctx);
        fs.mkdirSync('/d');
        for (const name of ['a', 'b', 'c']) fs.writeFileSync(`/d/${name}`, '');
        const closed = fs.opendirSync('/d');
        closed.closeSync();
        // A closed Dir's close(callback) reports ERR_DIR_CLOSED to the callback, later; the promise form rejects.
        const [error] = await callback(closed.close.bind(closed) as never);
        expect(error).toMatchObject({ code: 'ERR_DIR_CLOSED' });
        await expect(closed.close()).rejects.toMatchObject({ code: 'ERR_DIR_CLOSED' });
        await expect(closed.read()).rejects.toMatchObject({ code: 'ERR_DIR_CLOSED' });
        const dir = await fs.promises.opendir('/d');
        expect(() => dir.read('not a function' as never)).toThrow(
          expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
        );
        expect(() => dir.close('not a function' as never)).toThrow(
          expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
        );
        const pending = dir.read();
        expect(() => dir.readSync()).toThrow(expect.objectContaining({ code: 'ERR_DIR_CONCURRENT_OPERATION' }));
        expect(() => dir.closeSync()).toThrow(expect.objectContaining({ code: 'ERR_DIR_CONCURRENT_OPERATION' }));
        const [first, second] = await Promise.all([pending, dir.read()]);
        expect([first, second].map((d) => (d as { name: string }).name)).toEqual(['a', 'b']);
        const read = dir.read();
        const closing = dir.close();
        expect((await read)?.name).toBe('c');
        await closing;
        expect(() => (fs.opendir as unknown as (path: string) => void)('/d')).toThrow(
          expect.objectContaining({
            message: expect.stringContaining('The "callback" argument must be of type function'),
          }),
        );
        // node's errors print their code: `TypeError [ERR_INVALID_ARG_TYPE]: …`.
        expect(String(await caught(() => (fs.opendir as unknown as (path: string) => void)('/d')))).toMatch(
          /^TypeError \[ERR_INVALID_ARG_TYPE\]: /,
        );
        expect((await caught(() => closed.closeSync())).stack).toMatch(/^Error \[ERR_DIR_CLOSED\]: /);
      },
    );

    defineCase(target, 'mkdir modes follow the umask; mkdtemp makes unique 0o700 directories', async (ctx) => {
      const fs = nodeFsOf(ctx, { umask: 0o027 });
      fs.mkdirSync('/d');
      expect(ctx.ws.stat('/d').mode & 0o777).toBe(0o750);
      fs.writeFileSync('/f', '');
      expect(ctx.ws.stat('/f').mode & 0o777).toBe(0o640);
      const made = new Set<string>();
      for (let i = 0; i < 20; i++) made.add(fs.mkdtempSync('/d/tmp-'));
      expect(made.size).toBe(20);
      for (const path of made) {
        expect(path).toMatch(/^\/d\/tmp-[A-Za-z0-9]{6}$/);
        expect(ctx.ws.stat(path).mode & 0o777).toBe(0o700);
      }
      expect(await fs.promises.mkdtemp('/x')).toMatch(/^\/x[A-Za-z0-9]{6}$/);
      const disposable = fs.mkdtempDisposableSync('/gone-');
      fs.writeFileSync(`${disposable.path}/inside`, 'x');
      disposable[Symbol.dispose]();
      expect(fs.existsSync(disposable.path)).toBe(false);
      const asyncDisposable = await fs.promises.mkdtempDisposable('/gone-');
      await asyncDisposable.remove();
      expect(fs.existsSync(asyncDisposable.path)).toBe(false);
    });

    defineCase(target, 'readdir recursive through a link back up stops at ELOOP after 40 links, as node', (ctx) => {
      const fs = nodeFsOf(ctx);
      fs.mkdirSync('/r/a/b', { recursive: true });
      fs.symlinkSync('..', '/r/a/up');
      // node lists through the joined path ('a/up/a/up/…'): each level crosses one more link, and
      // the 41st is ELOOP, so the walk ends (it looped forever when each level was listed by its target).
      const names = fs.readdirSync('/r', { recursive: true }) as string[];
      expect(names.length).toBe(123);
      expect(names.slice(0, 5)).toEqual(['a', 'a/b', 'a/up', 'a/up/a', 'a/up/a/b']);
      expect(names.at(-1)).toBe(`a/${'up/a/'.repeat(40)}up`);
      const dirents = fs.readdirSync('/r', { recursive: true, withFileTypes: true });
      expect(dirents.length).toBe(123);
      expect(dirents.at(-1)?.parentPath).toBe(`/r/a/${'up/a/'.repeat(40)}`.slice(0, -1));
    });

    defineCase(
      target,
      'rm and rmdir refuse bad options before they look at the path, removing nothing',
      async (ctx) => {
        const fs = nodeFsOf(ctx);
        fs.mkdirSync('/d/e', { recursive: true });
        fs.writeFileSync('/f', 'kept');
        const before = snapshot(ctx.ws);
        const refusals: Array<[unknown, string]> = [
          [{ maxRetries: -1 }, 'ERR_OUT_OF_RANGE'],
          [{ maxRetries: 1.5 }, 'ERR_OUT_OF_RANGE'],
          [{ maxRetries: 2 ** 32 }, 'ERR_OUT_OF_RANGE'],
          [{ maxRetries: '1' }, 'ERR_INVALID_ARG_TYPE'],
          [{ retryDelay: -1 }, 'ERR_OUT_OF_RANGE'],
          [{ retryDelay: 2 ** 31 }, 'ERR_OUT_OF_RANGE'],
          [{ recursive: undefined }, 'ERR_INVALID_ARG_TYPE'],
          [{ force: 1, maxRetries: -1 }, 'ERR_OUT_OF_RANGE'],
          [null, 'ERR_INVALID_ARG_TYPE'],
          ['x', 'ERR_INVALID_ARG_TYPE'],
          [[], 'ERR_INVALID_ARG_TYPE'],
        ];
        for (const [options, code] of refusals) {
          expect(() => fs.rmSync('/f', options as never), JSON.stringify(options)).toThrow(
            expect.objectContaining({ code }),
          );
          expect(() => fs.rm('/f', options as never, () => {}), JSON.stringify(options)).toThrow(
            expect.objectContaining({ code }),
          );
          await expect(fs.promises.rm('/f', options as never)).rejects.toMatchObject({ code });
        }
        expect(() => fs.rmdirSync('/d/e', { maxRetries: -1 } as never)).toThrow(
          expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }),
        );
        expect(snapshot(ctx.ws)).toEqual(before);
        fs.rmSync('/f', { maxRetries: 0, retryDelay: 0 });
        expect(fs.existsSync('/f')).toBe(false);
        // The deprecated recursive rmdir looks first, as node: a missing path is lstat's ENOENT.
        expect(() => fs.rmdirSync('/nope', { recursive: true })).toThrow(
          expect.objectContaining({ code: 'ENOENT', syscall: 'lstat', path: '/nope' }),
        );
      },
    );

    defineCase(
      target,
      'option values node refuses are refused, changing nothing; bigint only when true',
      async (ctx) => {
        const fs = nodeFsOf(ctx);
        fs.mkdirSync('/d');
        fs.writeFileSync('/f', 'x');
        const fd = fs.openSync('/f', 'r+');
        const before = snapshot(ctx.ws);
        const refusals: Array<[() => unknown, string]> = [
          // An ignored recursive would make one level where node makes none.
          [() => fs.mkdirSync('/m', { recursive: 1 } as never), 'ERR_INVALID_ARG_TYPE'],
          [() => fs.promises.mkdir('/m', { recursive: 'yes' } as never), 'ERR_INVALID_ARG_TYPE'],
          [() => fs.mkdirSync('/m', { recursive: null } as never), 'ERR_INVALID_ARG_TYPE'],
          [() => fs.readdirSync('/', { recursive: 1 } as never), 'ERR_INVALID_ARG_TYPE'],
          [() => fs.opendirSync('/', { bufferSize: 0 }), 'ERR_OUT_OF_RANGE'],
          [() => fs.opendirSync('/', { bufferSize: 1.5 }), 'ERR_OUT_OF_RANGE'],
          [() => fs.opendirSync('/', { bufferSize: 'x' } as never), 'ERR_INVALID_ARG_TYPE'],
          [() => fs.writeFileSync('/n', 'x', { flush: 'x' } as never), 'ERR_INVALID_ARG_TYPE'],
          [() => fs.appendFileSync('/n', 'x', { flush: 1 } as never), 'ERR_INVALID_ARG_TYPE'],
          [() => fs.writeFileSync('/n', 'x', { encoding: 'bogus' } as never), 'ERR_INVALID_ARG_VALUE'],
          [() => fs.readFileSync('/f', 'bogus' as never), 'ERR_INVALID_ARG_VALUE'],
          [() => fs.readdirSync('/', 'bogus' as never), 'ERR_INVALID_ARG_VALUE'],
          // Options before the path: not EINVAL for a file that is no link.
          [() => fs.readlinkSync('/f', 'bogus' as never), 'ERR_INVALID_ARG_VALUE'],
          [() => fs.realpathSync('/nope', 'bogus' as never), 'ERR_INVALID_ARG_VALUE'],
          [() => fs.symlinkSync('f', '/s', 'bogus' as never), 'ERR_INVALID_ARG_VALUE'],
          [() => fs.cpSync('/f', '/c', { mode: -1 }), 'ERR_OUT_OF_RANGE'],
          [() => fs.cpSync('/f', '/c', { mode: 8 }), 'ERR_OUT_OF_RANGE'],
          // A null length is refused: taken as 0, it emptied the file (node's own test-fs-truncate).
          [() => fs.truncateSync('/f', null as never), 'ERR_INVALID_ARG_TYPE'],
          [() => fs.ftruncateSync(fd, null as never), 'ERR_INVALID_ARG_TYPE'],
          [() => fs.promises.truncate('/f', null as never), 'ERR_INVALID_ARG_TYPE'],
          // An odd-length hex string would write its whole pairs only, silently short.
          [() => fs.writeSync(fd, 'abc', 0, 'hex'), 'ERR_INVALID_ARG_VALUE'],
          // node opens first: a flag that cannot write fails at open when the file is missing.
          [() => fs.appendFileSync('/n', 'x', { flag: 'r' }), 'ENOENT'],
          [() => fs.writeFileSync('/n', 'x', { flag: 'r' }), 'ENOENT'],
          [() => fs.writeFileSync('/f', 'y', { flag: 'r' }), 'EBADF'],
        ];
        for (const [call, code] of refusals) {
          const error = await caught(call);
          expect(error.code, String(call)).toBe(code);
        }
        expect((await caught(() => fs.appendFileSync('/n', 'x', { flag: 'r' }))).syscall).toBe('open');
        // node's words: a dotted name is a property, and what was received is described by its type.
        expect((await caught(() => fs.mkdirSync('/m', { recursive: 1 } as never))).message).toBe(
          'The "options.recursive" property must be of type boolean. Received type number (1)',
        );
        expect((await caught(() => fs.mkdirSync({} as never))).message).toBe(
          'The "path" argument must be of type string or an instance of Buffer or URL. Received an instance of Object',
        );
        expect((await caught(() => fs.writeFileSync('/n', 5 as never))).message).toBe(
          'The "data" argument must be of type string or an instance of Buffer, TypedArray, or DataView. Received type number (5)',
        );
        fs.closeSync(fd);
        expect(snapshot(ctx.ws)).toEqual(before);
        // node's promises.readdir alone does not validate `recursive`: any truthy value recurses.
        fs.writeFileSync('/d/x', '');
        expect(await fs.promises.readdir('/d', { recursive: 'yes' } as never)).toEqual(['x']);
        expect(await fs.promises.readdir('/', { recursive: 1 } as never)).toContain('d/x');
        // writeFile from an iterable refuses a chunk that is neither a string nor bytes (null crashed).
        for (const chunk of [null, undefined, 42]) {
          const chunks = function* () {
            yield 'ok';
            yield chunk;
          };
          await expect(fs.promises.writeFile('/it', chunks() as never)).rejects.toMatchObject({
            code: 'ERR_INVALID_ARG_TYPE',
          });
        }
        // As node's binding, only true asks for bigints; BigIntStats' Dates are not own keys, as node's.
        expect(typeof fs.statSync('/f', { bigint: 1 } as never).size).toBe('number');
        expect(typeof fs.statSync('/f', { bigint: true }).size).toBe('bigint');
        expect(Object.keys(fs.statSync('/f', { bigint: true }))).not.toContain('mtime');
        expect(fs.statSync('/f', { bigint: true }).mtime).toBeInstanceOf(Date);
        expect(typeof fs.statfsSync('/', { bigint: 'x' } as never).bsize).toBe('number');
      },
    );

    defineCase(target, 'rm: files, symlinks, trees with recursive, missing paths with force', async (ctx) => {
      const fs = nodeFsOf(ctx);
      fs.mkdirSync('/t/a/b', { recursive: true });
      fs.writeFileSync('/t/a/b/f', 'x');
      fs.symlinkSync('/t/a', '/link');
      fs.rmSync('/link');
      expect(fs.existsSync('/t/a/b/f')).toBe(true);
      fs.rmSync('/nope', { force: true });
      fs.rmSync('/nope/deeper', { force: true });
      fs.rmSync('/t', { recursive: true });
      expect(fs.readdirSync('/')).toEqual([]);
      fs.writeFileSync('/f', '');
      await fs.promises.rm('/f');
      const [error] = await callback(fs.rm as never, '/f', { force: true });
      expect(error).toBeNull();
    });

    defineCase(
      target,
      'cp: trees, filters (sync and async), force, errorOnExist, symlinks, modes, times',
      async (ctx) => {
        const fs = nodeFsOf(ctx);
        fs.mkdirSync('/src/sub', { recursive: true });
        fs.writeFileSync('/src/a.txt', 'A', { mode: 0o600 });
        fs.writeFileSync('/src/sub/b.log', 'B');
        fs.symlinkSync('a.txt', '/src/rel');
        fs.chmodSync('/src/sub', 0o700);
        fs.utimesSync('/src/a.txt', 1000, 2000);
        fs.cpSync('/src', '/dst', { recursive: true, preserveTimestamps: true });
        expect(fs.readdirSync('/dst', { recursive: true })).toEqual(['a.txt', 'rel', 'sub', 'sub/b.log']);
        expect(fs.statSync('/dst/a.txt').mode & 0o777).toBe(0o600);
        // As node 24's native cpSync: directories it creates keep the default mode (the async forms copy it).
        expect(fs.statSync('/dst/sub').mode & 0o777).toBe(0o755);
        expect(fs.statSync('/dst/a.txt').mtimeMs).toBe(2_000_000);
        // A relative link is made absolute, unless verbatimSymlinks.
        expect(fs.readlinkSync('/dst/rel')).toBe('/src/a.txt');
        fs.cpSync('/src', '/verbatim', { recursive: true, verbatimSymlinks: true });
        expect(fs.readlinkSync('/verbatim/rel')).toBe('a.txt');
        // Filters see every path; false skips a subtree; async filters work in the async forms.
        const seen: string[] = [];
        fs.cpSync('/src', '/filtered', {
          recursive: true,
          filter: (src) => {
            seen.push(src);
            return !src.endsWith('sub');
          },
        });
        expect(seen.sort()).toEqual(['/src', '/src/a.txt', '/src/rel', '/src/sub']);
        expect(fs.readdirSync('/filtered')).toEqual(['a.txt', 'rel']);
        await fs.promises.cp('/src', '/async', { recursive: true, filter: async (src) => !src.endsWith('.log') });
        expect(fs.readdirSync('/async', { recursive: true })).toEqual(['a.txt', 'rel', 'sub']);
        expect(fs.statSync('/async/sub').mode & 0o777).toBe(0o700);
        const [error] = await callback(fs.cp as never, '/src/a.txt', '/deep/er/copy.txt');
        expect(error).toBeNull();
        expect(fs.readFileSync('/deep/er/copy.txt', 'utf8')).toBe('A');
        // An existing file is replaced (force), kept (force: false), or refused (errorOnExist).
        fs.writeFileSync('/dst/a.txt', 'changed');
        fs.cpSync('/src/a.txt', '/dst/a.txt', { force: false });
        expect(fs.readFileSync('/dst/a.txt', 'utf8')).toBe('changed');
        fs.cpSync('/src/a.txt', '/dst/a.txt');
        expect(fs.readFileSync('/dst/a.txt', 'utf8')).toBe('A');
      },
    );
    defineCase(
      target,
      'cpSync is node 24’s native cpSync: checks before it creates, merges, follows its source, no syscall on ERR_*',
      async (ctx) => {
        const fs = nodeFsOf(ctx);
        fs.mkdirSync('/d/sub', { recursive: true });
        fs.writeFileSync('/f', 'x');
        // dereference with verbatimSymlinks is refused in every form, the callback form at once.
        const pair = { dereference: true, verbatimSymlinks: true };
        expect(await caught(() => fs.cpSync('/f', '/g', pair))).toMatchObject({ code: 'ERR_INCOMPATIBLE_OPTION_PAIR' });
        expect(await caught(() => fs.cp('/f', '/g', pair, () => {}))).toMatchObject({
          code: 'ERR_INCOMPATIBLE_OPTION_PAIR',
        });
        expect(await caught(() => fs.promises.cp('/f', '/g', pair))).toMatchObject({
          code: 'ERR_INCOMPATIBLE_OPTION_PAIR',
        });
        // A directory without recursive fails before the destination's parent is made.
        const eisdir = await caught(() => fs.cpSync('/d', '/new/x'));
        expect(eisdir).toMatchObject({ code: 'ERR_FS_EISDIR' });
        expect([eisdir.syscall, eisdir.path]).toEqual([undefined, undefined]);
        expect(fs.existsSync('/new')).toBe(false);
        // Directories merge: errorOnExist refuses only a file that exists.
        fs.mkdirSync('/m1');
        fs.writeFileSync('/m1/one', '1');
        fs.mkdirSync('/m2');
        fs.writeFileSync('/m2/two', '2');
        fs.cpSync('/m1', '/m2', { recursive: true, force: false, errorOnExist: true });
        expect(fs.readdirSync('/m2')).toEqual(['one', 'two']);
        expect(
          await caught(() => fs.cpSync('/m1', '/m2', { recursive: true, force: false, errorOnExist: true })),
        ).toMatchObject({ code: 'ERR_FS_CP_EEXIST' });
        // The source is followed when checking: a looping, dangling or impossible link is lstat's error.
        fs.symlinkSync('loop', '/loop');
        fs.symlinkSync('nowhere', '/dangling');
        fs.symlinkSync('f/x', '/through');
        expect(await caught(() => fs.cpSync('/loop', '/c1'))).toMatchObject({ code: 'ELOOP', syscall: 'lstat' });
        expect(await caught(() => fs.cpSync('/dangling', '/c2'))).toMatchObject({
          code: 'ENOENT',
          syscall: 'lstat',
          path: '/dangling',
        });
        expect(await caught(() => fs.cpSync('/through', '/c3'))).toMatchObject({ code: 'ENOTDIR', syscall: 'lstat' });
        expect(fs.existsSync('/c1') || fs.existsSync('/c2') || fs.existsSync('/c3')).toBe(false);
        // A directory copied below a dangling link: create_directories finds a name there, EEXIST.
        for (const dest of ['/dangling/x/', '/dangling/', '/dangling/x/y'])
          expect({ ...(await caught(() => fs.cpSync('/m1', dest, { recursive: true }))) }).toEqual({
            errno: -17,
            code: 'EEXIST',
            syscall: 'cp',
            path: dest,
          });
        // A destination below the source file itself is "a subdirectory of self".
        expect(await caught(() => fs.cpSync('/f', '/f/sub'))).toMatchObject({ code: 'ERR_FS_CP_EINVAL' });
        // Links inside a copied directory point at the canonical absolute target.
        fs.symlinkSync('../sub', '/d/sub/up');
        fs.cpSync('/d', '/copy', { recursive: true });
        expect(fs.readlinkSync('/copy/sub/up')).toBe('/d/sub');
      },
    );
  });

  describe('node:fs module: callback and promise forms', () => {
    defineCase(target, 'callbacks run later with node’s arguments; argument errors throw at once', async (ctx) => {
      const fs = nodeFsOf(ctx);
      fs.writeFileSync('/f', 'hello world');
      expect(await callback(fs.readFile as never, '/f', 'utf8')).toEqual([null, 'hello world']);
      expect(await callback(fs.writeFile as never, '/g', 'x')).toEqual([null]);
      expect(await callback(fs.exists as never, '/g')).toEqual([true]);
      expect(await callback(fs.exists as never, '/nope')).toEqual([false]);
      const [, fd] = (await callback(fs.open as never, '/f', 'r+')) as [null, number];
      const buffer = Buffer.alloc(5);
      expect(await callback(fs.read as never, fd, buffer, 0, 5, 0)).toEqual([null, 5, buffer]);
      expect(buffer.toString()).toBe('hello');
      const [, n, own] = (await callback(fs.read as never, fd, { position: 6 })) as [null, number, Buffer];
      expect([n, own.byteLength, own.subarray(0, n).toString()]).toEqual([5, 16384, 'world']);
      expect(await callback(fs.write as never, fd, 'J', 0)).toEqual([null, 1, 'J']);
      const parts = [Buffer.alloc(2), Buffer.alloc(3)];
      expect(await callback(fs.readv as never, fd, parts, 0)).toEqual([null, 5, parts]);
      expect(parts.map(String)).toEqual(['Je', 'llo']);
      const out = [Buffer.from('ab'), Buffer.from('cd')];
      expect(await callback(fs.writev as never, fd, out, 11)).toEqual([null, 4, out]);
      expect(await callback(fs.fstat as never, fd)).toEqual([null, expect.objectContaining({ size: 15 })]);
      expect(await callback(fs.close as never, fd)).toEqual([null]);
      expect(fs.readFileSync('/f', 'utf8')).toBe('Jello worldabcd');
      expect(await callback(fs.realpath.native as never, '/f')).toEqual([null, '/f']);
      expect(() => (fs.stat as (p: unknown, cb: unknown) => void)(42, () => {})).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
      );
      expect(() => (fs.stat as unknown as (p: unknown) => void)('/f')).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
      );
    });

    defineCase(target, 'util.promisify of exists, read, write, readv and writev resolves as node’s', async (ctx) => {
      const fs = nodeFsOf(ctx);
      fs.writeFileSync('/f', 'hello');
      // Libraries promisify these themselves: exists resolves a boolean, the fd calls both values by name.
      expect(await promisify(fs.exists)('/f')).toBe(true);
      expect(await promisify(fs.exists)('/nope')).toBe(false);
      const fd = fs.openSync('/f', 'r+');
      const read = await promisify(fs.read)(fd, Buffer.alloc(5), 0, 5, 0);
      expect([read.bytesRead, read.buffer.toString()]).toEqual([5, 'hello']);
      const written = await promisify(fs.write)(fd, Buffer.from('J'), 0, 1, 0);
      expect([written.bytesWritten, written.buffer.toString()]).toEqual([1, 'J']);
      const gathered = await promisify(fs.writev)(fd, [Buffer.from('a')], 1);
      expect(gathered.bytesWritten).toBe(1);
      const scattered = await promisify(fs.readv)(fd, [Buffer.alloc(2), Buffer.alloc(3)], 0);
      expect([scattered.bytesRead, Buffer.concat(scattered.buffers).toString()]).toEqual([5, 'Jallo']);
      await expect(promisify(fs.read)(999, Buffer.alloc(1), 0, 1, 0)).rejects.toMatchObject({ code: 'EBADF' });
      fs.closeSync(fd);
    });

    defineCase(target, 'promises: each resolves like its sync form and rejects with the same error', async (ctx) => {
      const fs = nodeFsOf(ctx);
      const p = fs.promises;
      await p.mkdir('/d/e', { recursive: true });
      await p.writeFile('/d/f', 'one');
      await p.appendFile('/d/f', '+two');
      expect(await p.readFile('/d/f', 'utf8')).toBe('one+two');
      await p.copyFile('/d/f', '/d/g');
      await p.rename('/d/g', '/d/h');
      await p.link('/d/h', '/d/i');
      await p.symlink('f', '/d/l');
      expect(await p.readlink('/d/l')).toBe('f');
      expect(await p.realpath('/d/l')).toBe('/d/f');
      expect((await p.lstat('/d/l')).isSymbolicLink()).toBe(true);
      expect((await p.stat('/d/i')).nlink).toBe(2);
      await p.chmod('/d/f', 0o600);
      await p.utimes('/d/f', 1, 2);
      await p.lutimes('/d/l', 3, 4);
      expect((await p.lstat('/d/l')).mtimeMs).toBe(4000);
      await p.truncate('/d/f', 3);
      await p.access('/d/f', fs.constants.R_OK | fs.constants.W_OK);
      await p.chown('/d/f', 0, 0);
      await p.lchown('/d/l', 0, 0);
      expect((await p.statfs('/')).bsize).toBe(4096);
      expect(await p.readdir('/d')).toEqual(['e', 'f', 'h', 'i', 'l']);
      await p.unlink('/d/i');
      await p.rmdir('/d/e');
      expect(fs.readdirSync('/d')).toEqual(['f', 'h', 'l']);
      expect(await p.readFile('/d/f', 'utf8')).toBe('one');
      await p.writeFile(
        '/stream',
        (async function* () {
          yield 'a';
          yield Buffer.from('b');
          yield 'c';
        })(),
      );
      expect(fs.readFileSync('/stream', 'utf8')).toBe('abc');
      await expect(p.unlink('/nope')).rejects.toMatchObject({ code: 'ENOENT', syscall: 'unlink', path: '/nope' });
      await expect(p.stat(42 as never)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
      expect(p.constants).toBe(fs.constants);
      const aliases = fs as unknown as Record<string, number>;
      expect([aliases.F_OK, aliases.R_OK, aliases.W_OK, aliases.X_OK]).toEqual([0, 4, 2, 1]);
      // An aborted signal stops readFile and writeFile before they start, in both async forms.
      const aborted = new AbortController();
      aborted.abort();
      await expect(p.readFile('/d/f', { signal: aborted.signal })).rejects.toMatchObject({
        name: 'AbortError',
        code: 'ABORT_ERR',
      });
      await expect(p.writeFile('/d/f', 'lost', { signal: aborted.signal })).rejects.toMatchObject({
        name: 'AbortError',
      });
      const [abortError] = await callback(fs.readFile as never, '/d/f', { signal: aborted.signal });
      expect(abortError).toMatchObject({ name: 'AbortError' });
      const blob = await fs.openAsBlob('/d/f', { type: 'text/plain' });
      expect([blob.type, await blob.text()]).toEqual(['text/plain', 'one']);
    });

    defineCase(target, 'FileHandle: every method, fd, close event, EBADF once closed, asyncDispose', async (ctx) => {
      const fs = nodeFsOf(ctx);
      const fh = await fs.promises.open('/f', 'w+', 0o640);
      expect(fh.fd).toBeGreaterThanOrEqual(3);
      expect(await fh.write('hello world')).toEqual({ bytesWritten: 11, buffer: 'hello world' });
      const target = Buffer.alloc(5);
      expect(await fh.read(target, 0, 5, 6)).toEqual({ bytesRead: 5, buffer: target });
      expect(target.toString()).toBe('world');
      expect((await fh.read({ buffer: Buffer.alloc(3), position: 0 })).buffer.toString()).toBe('hel');
      const [a, b] = [Buffer.alloc(3), Buffer.alloc(3)];
      expect((await fh.readv([a, b], 0)).bytesRead).toBe(6);
      expect(`${a}${b}`).toBe('hello ');
      expect((await fh.writev([Buffer.from('1'), Buffer.from('2')], 11)).bytesWritten).toBe(2);
      expect((await fh.stat()).size).toBe(13);
      await fh.truncate(5);
      await fh.sync();
      await fh.datasync();
      await fh.chmod(0o600);
      await fh.chown(0, 0);
      await fh.utimes(10, 20);
      expect(fs.statSync('/f')).toMatchObject({ size: 5, mtimeMs: 20_000 });
      expect(fs.statSync('/f').mode & 0o777).toBe(0o600);
      // writeFile and appendFile write at the handle's position (11, past the cut): a hole, as in node.
      await fh.writeFile(' there');
      await fh.appendFile('!');
      const expected = `hello${'\0'.repeat(6)} there!`;
      expect(fs.readFileSync('/f', 'utf8')).toBe(expected);
      const reader = await fs.promises.open('/f');
      expect(await reader.readFile('utf8')).toBe(expected);
      expect(await fs.promises.readFile(reader, 'utf8')).toBe('');
      const events: string[] = [];
      (reader as unknown as EventEmitter).on('close', () => events.push('close'));
      await reader.close();
      await reader.close();
      expect(events).toEqual(['close']);
      expect(reader.fd).toBe(-1);
      await expect(reader.stat()).rejects.toMatchObject({ code: 'EBADF', syscall: 'fstat' });
      await fh[Symbol.asyncDispose]();
      expect(fs.openFds).toBe(0);
    });

    defineCase(target, 'FileHandle.readableWebStream and readLines read from the current position', async (ctx) => {
      const fs = nodeFsOf(ctx);
      const lines = Array.from({ length: 500 }, (_, i) => `line ${i}`);
      fs.writeFileSync('/f', `${lines.join('\n')}\n`);
      const fh = await fs.promises.open('/f');
      let text = '';
      const decoder = new TextDecoder();
      for await (const chunk of fh.readableWebStream() as unknown as AsyncIterable<Uint8Array>)
        text += decoder.decode(chunk, { stream: true });
      expect(text).toBe(`${lines.join('\n')}\n`);
      await fh.close();
      const again = await fs.promises.open('/f');
      const seen: string[] = [];
      for await (const line of again.readLines()) seen.push(line);
      expect(seen).toEqual(lines);
      expect(fs.openFds).toBe(0);
    });
  });

  describe('node:fs module: streams', () => {
    defineCase(
      target,
      "a write stream writes its buffered chunks as one writev, as node's: on a FileHandle opened for reading that is EBADF, even with no bytes",
      async (ctx) => {
        const fs = nodeFsOf(ctx);
        fs.writeFileSync('/a', 'x');
        const written = (stream: NodeJS.WritableStream & { bytesWritten: number }, chunks: Buffer[]) =>
          new Promise((resolve) => {
            stream.on('error', (error: { code?: string }) => resolve(error.code));
            for (const chunk of chunks) stream.write(chunk);
            stream.end();
            stream.on('close', () => resolve(stream.bytesWritten));
          });
        const reading = await fs.promises.open('/a', 'r');
        // One empty chunk is one write of nothing (no call reaches the file); two are one writev.
        expect(await written(reading.createWriteStream(), [Buffer.alloc(0)])).toBe(0);
        const again = await fs.promises.open('/a', 'r');
        expect(await written(again.createWriteStream(), [Buffer.alloc(0), Buffer.alloc(0)])).toBe('EBADF');
        const writing = await fs.promises.open('/a', 'r+');
        expect(await written(writing.createWriteStream(), [Buffer.from('ab'), Buffer.alloc(0), Buffer.from('c')])).toBe(
          3,
        );
        expect(fs.readFileSync('/a', 'utf8')).toBe('abc');
        expect(await written(fs.createWriteStream('/b'), [Buffer.from('12'), Buffer.from('3')])).toBe(3);
        expect(fs.readFileSync('/b', 'utf8')).toBe('123');
      },
    );

    defineCase(
      target,
      'a write stream on a read-only FileHandle takes an empty chunk, as handle.write does',
      async (ctx) => {
        const fs = nodeFsOf(ctx);
        fs.writeFileSync('/f', 'abc');
        const fh = await fs.promises.open('/f', 'r');
        const stream = fh.createWriteStream();
        stream.write(Buffer.alloc(0));
        stream.end();
        await new Promise<void>((resolve, reject) => {
          stream.on('error', reject);
          stream.on('close', () => resolve());
        });
        expect(stream.bytesWritten).toBe(0);
        expect(fs.readFileSync('/f', 'utf8')).toBe('abc');
        // A byte is refused: the handle was opened for reading.
        const again = await fs.promises.open('/f', 'r');
        const refused = again.createWriteStream();
        const error = await new Promise<Error & { code?: string }>((resolve) => {
          refused.on('error', resolve);
          refused.end(Buffer.from('x'));
        });
        expect(error.code).toBe('EBADF');
        expect(fs.readFileSync('/f', 'utf8')).toBe('abc');
      },
    );

    defineCase(
      target,
      'small fidelities: close without a callback, exact stream chunks, closed FileHandle, names as given',
      async (ctx) => {
        const fs = nodeFsOf(ctx);
        fs.writeFileSync('/f', Buffer.alloc(200_000, 7));
        // fs.close's callback is optional.
        const fd = fs.openSync('/f', 'r');
        fs.close(fd);
        await new Promise((resolve) => setTimeout(resolve, 0));
        expect(fs.openFds).toBe(0);
        // A read stream yields chunks of exactly highWaterMark bytes (the last one shorter).
        const sizes: number[] = [];
        for await (const chunk of fs.createReadStream('/f', { highWaterMark: 65_536 })) sizes.push(chunk.length);
        expect(sizes).toEqual([65_536, 65_536, 65_536, 3392]);
        // A closed FileHandle's readFile and appendFile reject naming readFile and writeFile.
        const fh = await fs.promises.open('/f', 'r+');
        await fh.close();
        expect(await caught(() => fh.readFile())).toMatchObject({ code: 'EBADF', syscall: 'readFile' });
        expect(await caught(() => fh.appendFile('x'))).toMatchObject({ code: 'EBADF', syscall: 'writeFile' });
        expect(await caught(() => fh.writeFile('x'))).toMatchObject({ code: 'EBADF', syscall: 'writeFile' });
        // Two arguments naming one path: each is named as it was given.
        await expectNodeError(ctx, () => fs.linkSync('f', '/f'), {
          code: 'EEXIST',
          syscall: 'link',
          path: 'f',
          dest: '/f',
        });
        await expectNodeError(ctx, () => fs.renameSync('/f', 'f/'), {
          code: 'ENOTDIR',
          syscall: 'rename',
          path: '/f',
          dest: 'f/',
        });
      },
    );
    defineCase(
      target,
      'createReadStream: start and end (inclusive), highWaterMark, encoding, open and ready, closes its fd',
      async (ctx) => {
        const fs = nodeFsOf(ctx);
        const body = 'abcdefghijklmnopqrstuvwxyz'.repeat(100);
        fs.writeFileSync('/f', body);
        const stream = fs.createReadStream('/f', { start: 10, end: 1009, highWaterMark: 64 });
        expect(stream).toBeInstanceOf(fs.ReadStream);
        expect(stream.pending).toBe(true);
        const events: string[] = [];
        stream.on('open', () => events.push('open'));
        stream.on('ready', () => events.push('ready'));
        expect(stream.readableHighWaterMark).toBe(64);
        const text = await collect(stream);
        expect(text).toBe(body.slice(10, 1010));
        expect(stream.bytesRead).toBe(1000);
        expect(events).toEqual(['open', 'ready']);
        expect(await collect(fs.createReadStream('/f', { encoding: 'utf8', end: 2 }))).toBe('abc');
        expect(() => fs.createReadStream('/f', { start: 5, end: 2 })).toThrow(
          expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }),
        );
        const missing = fs.createReadStream('/nope');
        const error = await new Promise((resolve) => missing.on('error', resolve));
        expect(error).toMatchObject({ code: 'ENOENT', syscall: 'open', path: '/nope' });
        await new Promise((resolve) => setTimeout(resolve, 0));
        expect(fs.openFds).toBe(0);
      },
      { chunkSize: 256 },
    );

    defineCase(target, 'createWriteStream: flags, start, writev, bytesWritten, close; pipes through', async (ctx) => {
      const fs = nodeFsOf(ctx);
      const out = fs.createWriteStream('/w');
      expect(out).toBeInstanceOf(fs.WriteStream);
      out.cork();
      out.write('ab');
      out.write(Buffer.from('cd'));
      out.uncork();
      out.end('ef');
      await closed(out);
      expect([fs.readFileSync('/w', 'utf8'), out.bytesWritten]).toEqual(['abcdef', 6]);
      const patch = fs.createWriteStream('/w', { flags: 'r+', start: 2 });
      patch.end('XY');
      await closed(patch);
      expect(fs.readFileSync('/w', 'utf8')).toBe('abXYef');
      const append = fs.createWriteStream('/w', { flags: 'a' });
      append.end('!');
      await closed(append);
      expect(fs.readFileSync('/w', 'utf8')).toBe('abXYef!');
      // A read stream piped into a write stream copies a file larger than a chunk.
      const big = Buffer.alloc(10_000, 7);
      big.write('head');
      fs.writeFileSync('/big', big);
      const copy = fs.createWriteStream('/copy');
      fs.createReadStream('/big', { highWaterMark: 1000 }).pipe(copy);
      await closed(copy);
      expect(Buffer.compare(fs.readFileSync('/copy'), big)).toBe(0);
      // Streams over a FileHandle close the handle.
      const fh = await fs.promises.open('/fh', 'w');
      const viaHandle = fh.createWriteStream();
      viaHandle.end('handle');
      await closed(viaHandle);
      expect(fh.fd).toBe(-1);
      expect(fs.readFileSync('/fh', 'utf8')).toBe('handle');
      const bad = fs.createWriteStream('/missing/dir/x');
      expect(await new Promise((resolve) => bad.on('error', resolve))).toMatchObject({ code: 'ENOENT' });
      await new Promise((resolve) => setTimeout(resolve, 0));
      expect(fs.openFds).toBe(0);
    });
  });

  describe('node:fs module: descriptors, access, links, watching', () => {
    defineCase(
      target,
      "two node:fs modules over one workspace: each sees the other's fd writes at once, and their changes land in the order made",
      (ctx) => {
        // Two libraries given a module each, as two processes on one disk: fd writes wait in a
        // write-back session of the module that made them, which the other's calls commit first.
        const a = nodeFsOf(ctx);
        const b = nodeFsOf(ctx);
        const fd = a.openSync('/f', 'w');
        a.writeSync(fd, 'AAAA');
        expect(b.readFileSync('/f', 'utf8')).toBe('AAAA');
        a.writeSync(fd, 'C', 5);
        // fd I/O through the other module sees the bytes too (fstat, read), and writes after them.
        const other = b.openSync('/f', 'r+');
        a.writeSync(fd, 'E', 4);
        expect(b.fstatSync(other).size).toBe(6);
        const got = Buffer.alloc(8);
        expect(b.readSync(other, got, 0, 8, 0)).toBe(6);
        expect(got.subarray(0, 6).toString('latin1')).toBe('AAAAEC');
        b.writeSync(other, 'BB', 0, 'latin1');
        a.writeSync(fd, 'D', 1);
        expect(a.readFileSync('/f', 'latin1')).toBe('BDAAEC');
        b.ftruncateSync(other, 3);
        expect(a.fstatSync(fd).size).toBe(3);
        // A whole-file write after them replaces them all, whichever module made them.
        a.writeSync(fd, 'XYZ', 0);
        b.writeSync(other, 'Q', 5);
        b.writeFileSync('/f', 'Z');
        a.closeSync(fd);
        b.closeSync(other);
        expect(ctx.ws.readFile('/f', 'utf8')).toBe('Z');
      },
    );

    defineCase(target, 'readv and writev scatter and gather; an fd of a removed file still works', (ctx) => {
      const fs = nodeFsOf(ctx);
      const fd = fs.openSync('/f', 'w+');
      expect(fs.writevSync(fd, [Buffer.from('abc'), new Uint8Array([100, 101])])).toBe(5);
      expect(fs.writevSync(fd, [Buffer.from('Z')], 0)).toBe(1);
      const parts = [Buffer.alloc(2), Buffer.alloc(10)];
      expect(fs.readvSync(fd, parts, 0)).toBe(5);
      expect([parts[0].toString(), parts[1].subarray(0, 3).toString()]).toEqual(['Zb', 'cde']);
      fs.unlinkSync('/f');
      fs.writeSync(fd, 'more', 5);
      fs.fchmodSync(fd, 0o600);
      fs.futimesSync(fd, 1, 2);
      expect(fs.fstatSync(fd)).toMatchObject({ size: 9, nlink: 0, mtimeMs: 2000 });
      // From the fd's position (5: positional writes leave it), as node reads an fd.
      expect(fs.readFileSync(fd, 'utf8')).toBe('more');
      fs.closeSync(fd);
      expect(fs.readdirSync('/')).toEqual([]);
    });

    defineCase(
      target,
      'permissions are the kernel’s for the calling identity: owner, group or other bits; W_OK read-only is EROFS',
      async (ctx) => {
        const fs = nodeFsOf(ctx);
        const { R_OK, W_OK, X_OK, F_OK } = fs.constants;
        const denied = (syscall: string, path: string) => ({ code: 'EACCES', syscall, path });
        fs.writeFileSync('/f', 'data', { mode: 0o640 });
        fs.accessSync('/f');
        fs.accessSync('/f', R_OK | W_OK);
        await expectNodeError(ctx, () => fs.accessSync('/f', X_OK), denied('access', '/f'));
        fs.chmodSync('/f', 0o500);
        fs.accessSync('/f', R_OK | X_OK);
        // The owner's bits rule what its owner may do, whatever the call.
        await expectNodeError(ctx, () => fs.accessSync('/f', W_OK), denied('access', '/f'));
        await expectNodeError(ctx, () => fs.writeFileSync('/f', 'x'), denied('open', '/f'));
        await expectNodeError(ctx, () => fs.appendFileSync('/f', 'x'), denied('open', '/f'));
        await expectNodeError(ctx, () => fs.openSync('/f', 'r+'), denied('open', '/f'));
        await expectNodeError(ctx, () => fs.truncateSync('/f', 0), denied('open', '/f'));
        await expectNodeError(ctx, () => fs.promises.writeFile('/f', 'x'), denied('open', '/f'));
        expect(fs.readFileSync('/f', 'utf8')).toBe('data');
        fs.chmodSync('/f', 0o040);
        await expectNodeError(ctx, () => fs.readFileSync('/f'), denied('open', '/f'));
        await expectNodeError(ctx, () => fs.copyFileSync('/f', '/g'), { ...denied('copyfile', '/f'), dest: '/g' });
        // Someone else's file: the group's bits for its group, the others' for anyone else (only
        // root may give it away, and only its owner may chmod it).
        const asRoot = (fn: () => void) => ctx.db.withOwner({ uid: 0, gid: 0 }, fn);
        asRoot(() => ctx.ws.chown('/f', 2000, 1000));
        fs.accessSync('/f', R_OK);
        asRoot(() => ctx.ws.chown('/f', 2000, 2000));
        await expectNodeError(ctx, () => fs.accessSync('/f', R_OK), denied('access', '/f'));
        await expectNodeError(ctx, () => fs.chmodSync('/f', 0o604), { code: 'EPERM', syscall: 'chmod', path: '/f' });
        asRoot(() => fs.chmodSync('/f', 0o604));
        expect(fs.readFileSync('/f', 'utf8')).toBe('data');
        // Root reads and writes anything, and executes what has an execute bit anywhere.
        ctx.db.withOwner({ uid: 0, gid: 0 }, () => {
          fs.chmodSync('/f', 0o000);
          fs.accessSync('/f', R_OK | W_OK);
          fs.writeFileSync('/f', 'root');
          expect(fs.readFileSync('/f', 'utf8')).toBe('root');
          expect(() => fs.accessSync('/f', X_OK)).toThrow(expect.objectContaining({ code: 'EACCES' }));
          fs.chmodSync('/f', 0o001);
          fs.accessSync('/f', X_OK);
          fs.accessSync('/', X_OK);
        });
        const ro = nodeFsOf(ctx, { readOnly: true });
        asRoot(() => fs.chmodSync('/f', 0o666));
        ro.accessSync('/f', F_OK | R_OK);
        await expectNodeError(ctx, () => ro.accessSync('/f', W_OK), { code: 'EROFS', syscall: 'access', path: '/f' });
      },
      { owner: { uid: 1000, gid: 1000 } },
    );

    defineCase(target, 'a read-only module refuses every change with EROFS and changes nothing', async (ctx) => {
      const fs = nodeFsOf(ctx, { readOnly: true });
      ctx.ws.writeFile('/f', 'x');
      ctx.ws.mkdir('/d');
      const before = snapshot(ctx.ws);
      for (const call of [
        () => fs.writeFileSync('/f', 'y'),
        () => fs.appendFileSync('/f', 'y'),
        () => fs.mkdirSync('/e'),
        () => fs.rmSync('/f'),
        () => fs.unlinkSync('/f'),
        () => fs.renameSync('/f', '/g'),
        () => fs.chmodSync('/f', 0o600),
        () => fs.utimesSync('/f', 1, 1),
        () => fs.lutimesSync('/f', 1, 1),
        () => fs.truncateSync('/f'),
        () => fs.symlinkSync('f', '/l'),
        () => fs.linkSync('/f', '/h'),
        () => fs.copyFileSync('/f', '/c'),
        () => fs.cpSync('/f', '/c'),
        () => fs.openSync('/f', 'w'),
        () => fs.rmdirSync('/d'),
        () => fs.mkdtempSync('/t'),
        () => fs.chownSync('/f', 0, 0),
      ]) {
        expect((await caught(call)).code).toBe('EROFS');
      }
      const fd = fs.openSync('/f', 'r');
      expect((await caught(() => fs.fchmodSync(fd, 0o600))).code).toBe('EROFS');
      expect((await caught(() => fs.futimesSync(fd, 1, 1))).code).toBe('EROFS');
      fs.closeSync(fd);
      expect(fs.readFileSync('/f', 'utf8')).toBe('x');
      expect(snapshot(ctx.ws)).toEqual(before);
    });

    defineCase(target, 'realpath and realpath.native resolve every link; encodings; Buffer results', (ctx) => {
      const fs = nodeFsOf(ctx);
      fs.mkdirSync('/real/dir', { recursive: true });
      fs.symlinkSync('/real', '/a');
      fs.symlinkSync('a/dir', '/b');
      expect(fs.realpathSync('/b')).toBe('/real/dir');
      expect(fs.realpathSync.native('/b')).toBe('/real/dir');
      expect(String(fs.realpathSync('/b', { encoding: 'buffer' }))).toBe('/real/dir');
      expect(Buffer.isBuffer(fs.readlinkSync('/b', 'buffer'))).toBe(true);
    });

    defineCase(target, 'watch, promises.watch and watchFile report committed changes', async (ctx) => {
      const fs = nodeFsOf(ctx);
      fs.mkdirSync('/d');
      const events: string[] = [];
      const watcher = fs.watch('/d', (eventType, filename) => events.push(`${eventType}:${filename}`));
      const iterator = fs.promises.watch('/d')[Symbol.asyncIterator]();
      const stats: Array<[number, number]> = [];
      const listener = (curr: { size: number }, prev: { size: number }) => stats.push([curr.size, prev.size]);
      fs.watchFile('/d/f', listener);
      fs.writeFileSync('/d/f', 'abc');
      await new Promise((resolve) => setTimeout(resolve, 10));
      expect(events[0]).toBe('rename:f');
      const seen = events.length;
      expect(await iterator.next()).toEqual({ value: { eventType: 'rename', filename: 'f' }, done: false });
      expect(stats).toEqual([[3, 0]]);
      fs.unwatchFile('/d/f', listener);
      watcher.close();
      await iterator.return?.();
      fs.appendFileSync('/d/f', 'more');
      await new Promise((resolve) => setTimeout(resolve, 10));
      expect(events.length).toBe(seen);
      expect(stats).toEqual([[3, 0]]);
    });

    defineCase(
      target,
      'watch: filenames in the encoding asked for; watchFile of a missing path; promises.watch errors',
      async (ctx) => {
        const fs = nodeFsOf(ctx);
        fs.mkdirSync('/d');
        const tick = () => new Promise((resolve) => setTimeout(resolve, 10));
        const names: unknown[] = [];
        const asBuffer = fs.watch('/d', { encoding: 'buffer' }, (_event, name) => names.push(name));
        const asHex = fs.watch('/d', 'hex', (_event, name) => names.push(name));
        fs.mkdirSync('/d/ab');
        await tick();
        asBuffer.close();
        asHex.close();
        expect(names).toEqual([Buffer.from('ab'), '6162']);
        expect(() => fs.watch('/d', { encoding: 'bogus' as never })).toThrow(
          expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }),
        );
        // node: a watched path missing at the start is reported once, zeroed stats for both.
        const stats: Array<[number, number, number]> = [];
        const listener = (curr: { size: number; mtimeMs: number }, prev: { size: number }) =>
          stats.push([curr.size, curr.mtimeMs, prev.size]);
        fs.watchFile('/d/late', listener);
        await tick();
        expect(stats).toEqual([[0, 0, 0]]);
        fs.writeFileSync('/d/late', 'abc');
        await tick();
        expect(stats.length).toBe(2);
        expect(stats[1][0]).toBe(3);
        fs.unwatchFile('/d/late', listener);
        // promises.watch is an async generator: a missing path rejects the first next(), not the call;
        // aborting rejects with an AbortError.
        const missing = fs.promises.watch('/nope');
        await expect(missing[Symbol.asyncIterator]().next()).rejects.toMatchObject({
          code: 'ENOENT',
          syscall: 'watch',
        });
        const controller = new AbortController();
        const iterator = fs.promises.watch('/d', { signal: controller.signal })[Symbol.asyncIterator]();
        const pending = iterator.next();
        controller.abort();
        await expect(pending).rejects.toMatchObject({ name: 'AbortError', code: 'ABORT_ERR' });
      },
    );

    defineCase(
      target,
      'glob: wildcards skip dotfiles, ** does not follow links, cwd, exclude, withFileTypes',
      async (ctx) => {
        const fs = nodeFsOf(ctx, { cwd: '/p' });
        fs.mkdirSync('/p/d/e', { recursive: true });
        fs.mkdirSync('/p/d/.hd');
        for (const f of ['/p/d/f', '/p/d/.h', '/p/d/e/a.js', '/p/d/.hd/z.js']) fs.writeFileSync(f, '');
        fs.symlinkSync('e', '/p/d/le');
        const sorted = (list: unknown[]) => list.map(String).sort();
        expect(sorted(fs.globSync('d/**'))).toEqual(['d', 'd/e', 'd/e/a.js', 'd/f', 'd/le']);
        expect(sorted(fs.globSync('**/*.js', { cwd: 'd' }))).toEqual(['e/a.js']);
        expect(sorted(fs.globSync('d/.*'))).toEqual(['d/.h', 'd/.hd']);
        expect(sorted(fs.globSync('d/le/*'))).toEqual(['d/le/a.js']);
        expect(sorted(fs.globSync('/p/d/*'))).toEqual(['/p/d/e', '/p/d/f', '/p/d/le']);
        expect(sorted(fs.globSync(['d/*', 'd/e/*'], { exclude: (p) => String(p).endsWith('f') }))).toEqual([
          'd/e',
          'd/e/a.js',
          'd/le',
        ]);
        expect(fs.globSync('d/*', { withFileTypes: true }).map((d) => [d.name, d.parentPath, d.isDirectory()])).toEqual(
          [
            ['e', 'd', true],
            ['f', 'd', false],
            ['le', 'd', false],
          ],
        );
        // With an absolute cwd, node's Dirents name absolute parents (its root joined to the result).
        expect(
          sorted(fs.globSync('**', { cwd: '/p/d', withFileTypes: true }).map((d) => `${d.parentPath}|${d.name}`)),
        ).toEqual(['/p/d/e|a.js', '/p/d|e', '/p/d|f', '/p/d|le', '/p|d']);
        // A trailing slash: directories only (a link to one is not, unless named literally, as node).
        fs.symlinkSync('f', '/p/d/lf');
        expect(sorted(fs.globSync('d/*/'))).toEqual(['d/e']);
        expect(sorted(fs.globSync('**/'))).toEqual(['.', 'd', 'd/e']);
        expect(sorted(fs.globSync('d/**/e/'))).toEqual(['d/e']);
        expect(sorted(fs.globSync(['d/f/', 'd/le/', 'd/lf/', 'd/nope/']))).toEqual(['d/le', 'd/lf']);
        // A literal '..' is joined away, as node's path.join.
        expect(fs.globSync('d/e/../f')).toEqual(['d/f']);
        const viaPromise: string[] = [];
        for await (const path of fs.promises.glob('d/*.js', {})) viaPromise.push(String(path));
        expect(viaPromise).toEqual([]);
        expect(await callback(fs.glob as never, 'd/f')).toEqual([null, ['d/f']]);
      },
    );

    defineCase(target, 'constants: the flags open accepts; fs.constants and promises.constants agree', (ctx) => {
      const fs = nodeFsOf(ctx);
      const { O_CREAT, O_EXCL, O_WRONLY, O_RDWR, O_APPEND, O_TRUNC, COPYFILE_EXCL } = fs.constants;
      const fd = fs.openSync('/n', O_CREAT | O_EXCL | O_WRONLY, 0o600);
      fs.writeSync(fd, 'abc');
      fs.closeSync(fd);
      expect(
        (() => {
          try {
            fs.openSync('/n', O_CREAT | O_EXCL | O_WRONLY);
          } catch (error) {
            return (error as { code: string }).code;
          }
        })(),
      ).toBe('EEXIST');
      const rw = fs.openSync('/n', O_RDWR | O_APPEND);
      fs.writeSync(rw, 'd', 0);
      fs.closeSync(rw);
      expect(fs.readFileSync('/n', 'utf8')).toBe('abcd');
      fs.closeSync(fs.openSync('/n', O_WRONLY | O_TRUNC));
      expect(fs.readFileSync('/n', 'utf8')).toBe('');
      expect(() => fs.copyFileSync('/n', '/n', COPYFILE_EXCL)).toThrow(expect.objectContaining({ code: 'EEXIST' }));
      expect(fs.promises.constants).toBe(fs.constants);
      expect(fs.constants.S_IFMT & fs.statSync('/n').mode).toBe(fs.constants.S_IFREG);
    });
  });
}
