/**
 * The namespace: directories, symlinks, hard links, rename, removal, attributes and times.
 *
 * @module
 */
import { describe, expect } from 'vitest';
import { openFile } from '../../core/handles.ts';
import type { Workspace } from '../../core/workspace.ts';
import { defineCase, expectCode, expectRefused } from '../harness.ts';
import type { ConformanceTarget } from '../target.ts';

/** Cases for the tree. */
export function treeCases(target: ConformanceTarget): void {
  describe('mkdir and readdir', () => {
    defineCase(target, 'mkdir creates a directory with mode 0o755 by default', ({ ws }) => {
      ws.mkdir('/d');
      const info = ws.stat('/d');
      expect(info.isDirectory).toBe(true);
      expect(info.mode).toBe(0o040755);
      expect(info.nlink).toBe(2);
    });
    defineCase(target, 'mkdir honours a mode', ({ ws }) => {
      ws.mkdir('/d', { mode: 0o700 });
      expect(ws.stat('/d').mode & 0o7777).toBe(0o700);
    });
    defineCase(target, 'mkdir of an existing directory is EEXIST', async ({ ws }) => {
      ws.mkdir('/d');
      await expectCode(() => ws.mkdir('/d'), 'EEXIST');
    });
    defineCase(target, 'mkdir recursive returns the first directory it created', ({ ws }) => {
      ws.mkdir('/a');
      expect(ws.mkdir('/a/b/c/d', { recursive: true })).toBe('/a/b');
      expect(ws.stat('/a/b/c/d').isDirectory).toBe(true);
      expect(ws.mkdir('/a/b/c', { recursive: true })).toBeUndefined();
    });
    defineCase(target, 'mkdir recursive goes through a symlink to a directory', ({ ws }) => {
      ws.mkdir('/real');
      ws.symlink('/real', '/link');
      ws.mkdir('/link/x/y', { recursive: true });
      expect(ws.stat('/real/x/y').isDirectory).toBe(true);
    });
    defineCase(target, 'a directory nlink counts its subdirectories', ({ ws }) => {
      ws.mkdir('/d');
      ws.mkdir('/d/a');
      ws.mkdir('/d/b');
      ws.writeFile('/d/f', 'x');
      expect(ws.stat('/d').nlink).toBe(4);
      ws.rmdir('/d/a');
      expect(ws.stat('/d').nlink).toBe(3);
      expect(ws.stat('/').nlink).toBe(3);
    });
    defineCase(target, 'readdir lists names in byte order with types, symlinks included', ({ ws }) => {
      ws.mkdir('/d');
      ws.writeFile('/d/b', '');
      ws.mkdir('/d/a');
      ws.symlink('b', '/d/c');
      ws.writeFile('/d/B', '');
      ws.writeFile('/d/é', '');
      const entries = ws.readdir('/d');
      expect(entries.map((e) => e.name)).toEqual(['B', 'a', 'b', 'c', 'é']);
      expect(entries.map((e) => e.type)).toEqual(['file', 'dir', 'file', 'symlink', 'file']);
      expect(entries[1].path).toBe('/d/a');
    });
    defineCase(target, 'readdir pages are stable', ({ ws }) => {
      ws.mkdir('/d');
      for (let i = 0; i < 25; i++) ws.writeFile(`/d/f${String(i).padStart(2, '0')}`, '');
      const pages = [0, 10, 20].map((offset) => ws.readdir('/d', { offset, limit: 10 }).map((e) => e.name));
      expect(pages.map((p) => p.length)).toEqual([10, 10, 5]);
      expect(pages.flat()).toEqual(ws.readdir('/d').map((e) => e.name));
    });
    defineCase(target, 'readdir after a name pages by key, in byte order, from any name present or not', ({ ws }) => {
      ws.mkdir('/d');
      for (const name of ['B', 'a', 'b', 'c', 'é', 'a b']) ws.writeFile(`/d/${name}`, '');
      const names = (options: { after?: string; limit?: number; offset?: number }) =>
        ws.readdir('/d', options).map((e) => e.name);
      expect(names({ after: 'a' })).toEqual(['a b', 'b', 'c', 'é']);
      expect(names({ after: 'a', limit: 2 })).toEqual(['a b', 'b']);
      expect(names({ after: 'a', offset: 1, limit: 2 })).toEqual(['b', 'c']);
      expect(names({ after: 'bb' })).toEqual(['c', 'é']); // not an entry: the names past it
      expect(names({ after: '' })).toEqual(names({}));
      expect(names({ after: 'é' })).toEqual([]);
      expect(names({ after: 'z' })).toEqual(['é']); // byte order: é (0xC3 0xA9) sorts after z
      // Walking by the last name of each page lists the directory once, whatever the page size.
      const walked: string[] = [];
      for (let page = names({ limit: 4 }); page.length > 0; page = names({ after: page.at(-1), limit: 4 })) {
        walked.push(...page);
      }
      expect(walked).toEqual(names({}));
    });
    defineCase(target, 'readdir follows a symlink to a directory', ({ ws }) => {
      ws.mkdir('/d');
      ws.writeFile('/d/x', '');
      ws.symlink('/d', '/l');
      expect(ws.readdir('/l').map((e) => e.path)).toEqual(['/d/x']);
    });
    defineCase(target, 'paths are normalised: dot, double slash and inner dot-dot', ({ ws }) => {
      ws.mkdir('/a/b', { recursive: true });
      ws.writeFile('//a/./b/../b//f', 'x');
      expect(ws.readFile('/a/b/f', 'utf8')).toBe('x');
      expect(ws.exists('/a/b/f/')).toBe(false);
    });
    defineCase(target, 'names may hold any byte but slash and NUL', ({ ws }) => {
      const names = ['with space', 'ü', '日本', 'emoji🙂', '-dash', '.hidden', 'a\\b', 'x'.repeat(255)];
      for (const name of names) ws.writeFile(`/${name}`, name);
      for (const name of names) expect(ws.readFile(`/${name}`, 'utf8')).toBe(name);
    });
    defineCase(target, 'rmdir removes an empty directory', ({ ws }) => {
      ws.mkdir('/d');
      ws.rmdir('/d');
      expect(ws.exists('/d')).toBe(false);
    });
    defineCase(target, 'rmdir of a symlink to a directory is ENOTDIR', async ({ ws }) => {
      ws.mkdir('/d');
      ws.symlink('/d', '/l');
      await expectCode(() => ws.rmdir('/l'), 'ENOTDIR');
    });
  });

  describe('symlinks', () => {
    defineCase(target, 'stores the target verbatim and may dangle', ({ ws }) => {
      ws.symlink('../nowhere/./x', '/l');
      expect(ws.readlink('/l')).toBe('../nowhere/./x');
      expect(ws.lstat('/l').isSymbolicLink).toBe(true);
      expect(ws.lstat('/l').size).toBe('../nowhere/./x'.length);
      expect(ws.exists('/l')).toBe(false);
    });
    defineCase(target, 'relative targets resolve from the link directory', ({ ws }) => {
      ws.mkdir('/a/b', { recursive: true });
      ws.writeFile('/a/target', 'hit');
      ws.symlink('../target', '/a/b/l');
      expect(ws.readFile('/a/b/l', 'utf8')).toBe('hit');
      expect(ws.realpath('/a/b/l')).toBe('/a/target');
    });
    defineCase(target, 'dot-dot at the root stays at the root', ({ ws }) => {
      ws.writeFile('/f', 'root file');
      ws.symlink('../../f', '/l');
      expect(ws.readFile('/l', 'utf8')).toBe('root file');
    });
    defineCase(target, 'chains of links resolve', ({ ws }) => {
      ws.writeFile('/f', 'end');
      ws.symlink('/f', '/l1');
      for (let i = 2; i <= 10; i++) ws.symlink(`/l${i - 1}`, `/l${i}`);
      expect(ws.readFile('/l10', 'utf8')).toBe('end');
      expect(ws.realpath('/l10')).toBe('/f');
    });
    defineCase(target, 'forty links resolve and the forty-first is ELOOP', async ({ ws }) => {
      ws.writeFile('/f', 'end');
      ws.symlink('/f', '/l1');
      for (let i = 2; i <= 41; i++) ws.symlink(`/l${i - 1}`, `/l${i}`);
      expect(ws.readFile('/l40', 'utf8')).toBe('end');
      await expectCode(() => ws.readFile('/l41'), 'ELOOP');
    });
    defineCase(target, 'a link to a directory works in the middle of a path', ({ ws }) => {
      ws.mkdir('/real/deep', { recursive: true });
      ws.writeFile('/real/deep/f', 'x');
      ws.symlink('real', '/l');
      expect(ws.readFile('/l/deep/f', 'utf8')).toBe('x');
      expect(ws.realpath('/l/deep')).toBe('/real/deep');
    });
    defineCase(target, 'stat follows and lstat does not', ({ ws }) => {
      ws.writeFile('/f', 'abc');
      ws.symlink('/f', '/l');
      expect(ws.stat('/l').isFile).toBe(true);
      expect(ws.stat('/l').ino).toBe(ws.stat('/f').ino);
      expect(ws.lstat('/l').isSymbolicLink).toBe(true);
      expect(ws.lstat('/l').mode).toBe(0o120777);
    });
    defineCase(target, 'unlink and rm remove the link, not the target', ({ ws }) => {
      ws.writeFile('/f', 'keep');
      ws.mkdir('/d');
      ws.writeFile('/d/x', 'keep');
      ws.symlink('/f', '/l1');
      ws.symlink('/d', '/l2');
      ws.unlink('/l1');
      ws.rm('/l2', { recursive: true });
      expect(ws.readFile('/f', 'utf8')).toBe('keep');
      expect(ws.readFile('/d/x', 'utf8')).toBe('keep');
      expect(ws.exists('/l1') || ws.exists('/l2')).toBe(false);
    });
  });

  describe('hard links', () => {
    defineCase(target, 'link shares the inode and counts links', ({ ws }) => {
      ws.writeFile('/a', 'shared');
      ws.link('/a', '/b');
      expect(ws.stat('/b').ino).toBe(ws.stat('/a').ino);
      expect(ws.stat('/a').nlink).toBe(2);
      ws.appendFile('/b', '!');
      expect(ws.readFile('/a', 'utf8')).toBe('shared!');
    });
    defineCase(target, 'unlinking one name keeps the other', ({ ws }) => {
      ws.writeFile('/a', 'shared');
      ws.link('/a', '/b');
      ws.unlink('/a');
      expect(ws.readFile('/b', 'utf8')).toBe('shared');
      expect(ws.stat('/b').nlink).toBe(1);
    });
    defineCase(target, 'rm -r of a tree keeps files hard-linked from outside it', ({ ws }) => {
      ws.mkdir('/t/sub', { recursive: true });
      ws.writeFile('/t/sub/f', 'survivor');
      ws.link('/t/sub/f', '/outside');
      ws.link('/t/sub/f', '/t/again');
      ws.rm('/t', { recursive: true });
      expect(ws.readFile('/outside', 'utf8')).toBe('survivor');
      expect(ws.stat('/outside').nlink).toBe(1);
    });
    defineCase(target, 'link does not follow a trailing symlink', ({ ws }) => {
      ws.writeFile('/f', 'x');
      ws.symlink('/f', '/l');
      ws.link('/l', '/l2');
      expect(ws.lstat('/l2').isSymbolicLink).toBe(true);
      expect(ws.lstat('/l').nlink).toBe(2);
    });
  });

  describe('a trailing slash names a directory', () => {
    /** /f a file, /d a directory holding /d/x, /e an empty directory, links to each and a dangling one. */
    const setUp = (ws: Workspace): void => {
      ws.writeFile('/f', 'data');
      ws.mkdir('/d');
      ws.writeFile('/d/x', 'kept');
      ws.mkdir('/e');
      ws.symlink('d', '/l');
      ws.symlink('f', '/lf');
      ws.symlink('nowhere', '/ld');
    };

    defineCase(target, 'lookups follow a final symlink and need a directory', async ({ ws }) => {
      setUp(ws);
      for (const path of ['/f/', '/lf/']) {
        await expectRefused(ws, () => ws.stat(path), 'ENOTDIR');
        await expectRefused(ws, () => ws.lstat(path), 'ENOTDIR');
        await expectRefused(ws, () => ws.readFile(path), 'ENOTDIR');
        await expectRefused(ws, () => ws.readlink(path), 'ENOTDIR');
        await expectRefused(ws, () => ws.chmod(path, 0o600), 'ENOTDIR');
        await expectRefused(ws, () => ws.truncate(path, 1), 'ENOTDIR');
        await expectRefused(ws, () => ws.realpath(path), 'ENOTDIR');
      }
      await expectRefused(ws, () => ws.lstat('/ld/'), 'ENOENT');
      await expectRefused(ws, () => ws.readlink('/l/'), 'EINVAL');
      expect(ws.lstat('/l/').isDirectory).toBe(true);
      expect(ws.realpath('/l/')).toBe('/d');
      expect(ws.exists('/f/')).toBe(false);
      expect(ws.exists('/d/')).toBe(true);
      const error = (await expectCode(() => ws.stat('/f/'), 'ENOTDIR')) as Error & Record<string, unknown>;
      expect(error.message).toBe("ENOTDIR: not a directory, stat '/f/'");
      expect(error.path).toBe('/f/');
    });

    defineCase(target, 'unlink, rmdir and rm remove nothing but a directory so named', async ({ ws }) => {
      setUp(ws);
      for (const path of ['/f/', '/lf/', '/l/', '/ld/']) await expectRefused(ws, () => ws.unlink(path), 'ENOTDIR');
      await expectRefused(ws, () => ws.unlink('/d/'), 'EISDIR');
      await expectRefused(ws, () => ws.unlink('/nope/'), 'ENOENT');
      // rmdir looks at the entry itself: a symlink to a directory is not one, and its target stays.
      for (const path of ['/l/', '/f/', '/ld/']) await expectRefused(ws, () => ws.rmdir(path), 'ENOTDIR');
      for (const options of [{}, { force: true }, { recursive: true }, { recursive: true, force: true }]) {
        await expectRefused(ws, () => ws.rm('/f/', options), 'ENOTDIR');
        await expectRefused(ws, () => ws.rm('/lf/', options), 'ENOTDIR');
      }
      await expectRefused(ws, () => ws.rm('/l/'), 'EISDIR');
      await expectRefused(ws, () => ws.rm('/l/', { recursive: true }), 'ENOTDIR');
      await expectRefused(ws, () => ws.rm('/l/', { recursive: true, force: true }), 'ENOTDIR');
      await expectRefused(ws, () => ws.rm('/ld/'), 'ENOENT');
      await expectRefused(ws, () => ws.rm('/nope/'), 'ENOENT');
      const error = (await expectCode(() => ws.rm('/f/'), 'ENOTDIR')) as Error & Record<string, unknown>;
      expect(error.message).toBe("ENOTDIR: not a directory, rm '/f/'");
      // With force, what is missing is simply absent.
      ws.rm('/ld/', { force: true });
      ws.rm('/nope/', { force: true });
      expect(ws.readFile('/f', 'utf8')).toBe('data');
      expect(ws.readFile('/l/x', 'utf8')).toBe('kept');
      ws.rmdir('/e/');
      ws.rm('/d/', { recursive: true });
      expect(ws.readdir('/').map((e) => e.name)).toEqual(['f', 'l', 'ld', 'lf']);
    });

    defineCase(
      target,
      'rename: unless the source is a directory, a slash on either path is ENOTDIR',
      async ({ ws }) => {
        setUp(ws);
        for (const [from, to] of [
          ['/f/', '/x'],
          ['/f', '/f/'],
          ['/f', '/new/'],
          ['/f', '/d/'],
          ['/l/', '/x'],
          ['/l', '/x/'],
          ['/ld/', '/x'],
          ['/d', '/l/'],
          ['/d', '/f/'],
        ])
          await expectRefused(ws, () => ws.rename(from, to), 'ENOTDIR');
        await expectRefused(ws, () => ws.rename('/nope/', '/x'), 'ENOENT');
        const error = (await expectCode(() => ws.rename('/f', '/f/'), 'ENOTDIR')) as Error & Record<string, unknown>;
        expect(error.message).toBe("ENOTDIR: not a directory, rename '/f' -> '/f/'");
        ws.rename('/d/', '/moved/');
        ws.rename('/e', '/moved2/');
        expect(ws.readFile('/moved/x', 'utf8')).toBe('kept');
        expect(ws.stat('/moved2').isDirectory).toBe(true);
      },
    );

    defineCase(target, 'a final `.` is the directory itself: looked up as one, never an entry', async ({ ws }) => {
      setUp(ws);
      // Looked up as a directory, following a link, and it must exist: for creators too.
      for (const path of ['/f/.', '/f/./']) {
        for (const call of [
          () => ws.stat(path),
          () => ws.lstat(path),
          () => ws.readFile(path),
          () => ws.chmod(path, 0o600),
          () => ws.mkdir(path),
          () => ws.rmdir(path),
          () => ws.unlink(path),
          () => ws.rm(path, { recursive: true }),
          () => ws.rename(path, '/x'),
          () => ws.writeFile(path, 'x'),
        ])
          await expectRefused(ws, call, 'ENOTDIR');
      }
      for (const path of ['/nope/.', '/ld/.']) {
        for (const call of [
          () => ws.stat(path),
          () => ws.mkdir(path),
          () => ws.symlink('x', path),
          () => ws.link('/f', path),
          () => ws.writeFile(path, 'x'),
          () => ws.copyFile('/f', path),
          () => ws.rmdir(path),
        ])
          await expectRefused(ws, call, 'ENOENT');
      }
      expect(ws.exists('/f/.')).toBe(false);
      expect(ws.lstat('/l/.').isDirectory).toBe(true);
      expect(ws.realpath('/l/.')).toBe('/d');
      // Then the call acts on the directory itself, which is no entry to create, remove or move.
      for (const path of ['/d/.', '/e/.', '/l/.']) {
        await expectRefused(ws, () => ws.mkdir(path), 'EEXIST');
        await expectRefused(ws, () => ws.symlink('x', path), 'EEXIST');
        await expectRefused(ws, () => ws.link('/f', path), 'EEXIST');
        await expectRefused(ws, () => ws.writeFile(path, 'x'), 'EISDIR');
        await expectRefused(ws, () => ws.copyFile('/f', path), 'EISDIR');
        // It exists, so O_EXCL says so first.
        await expectRefused(ws, () => ws.writeFile(path, 'x', { exclusive: true }), 'EEXIST');
        await expectRefused(ws, () => ws.copyFile('/f', path, { exclusive: true }), 'EEXIST');
        await expectRefused(ws, () => ws.unlink(path), 'EISDIR');
        await expectRefused(ws, () => ws.rmdir(path), 'EINVAL');
        await expectRefused(ws, () => ws.rm(path), 'EISDIR');
        await expectRefused(ws, () => ws.rm(path, { recursive: true, force: true }), 'EINVAL');
        await expectRefused(ws, () => ws.rename(path, '/x'), 'EBUSY');
        await expectRefused(ws, () => ws.rename('/f', path), 'EBUSY');
      }
      ws.rm('/nope/.', { force: true });
      ws.mkdir('/made/.', { recursive: true });
      expect(ws.stat('/made').isDirectory).toBe(true);
    });

    defineCase(target, 'creators make nothing but a directory at a path ending in a slash', async ({ ws }) => {
      setUp(ws);
      await expectRefused(ws, () => ws.symlink('x', '/new/'), 'ENOENT');
      await expectRefused(ws, () => ws.symlink('x', '/f/'), 'EEXIST');
      await expectRefused(ws, () => ws.symlink('x', '/ld/'), 'EEXIST');
      await expectRefused(ws, () => ws.link('/f', '/new/'), 'ENOENT');
      await expectRefused(ws, () => ws.link('/f', '/d/'), 'EEXIST');
      await expectRefused(ws, () => ws.link('/f/', '/new'), 'ENOTDIR');
      await expectRefused(ws, () => ws.link('/l/', '/new'), 'EPERM');
      await expectRefused(ws, () => ws.link('/ld/', '/new'), 'ENOENT');
      for (const path of ['/f/', '/new/', '/d/', '/lf/', '/ld/', '/l/']) {
        await expectRefused(ws, () => ws.writeFile(path, 'x'), 'EISDIR');
        await expectRefused(ws, () => ws.writeFile(path, 'x', { exclusive: true }), 'EISDIR');
        await expectRefused(ws, () => ws.appendFile(path, 'x'), 'EISDIR');
        await expectRefused(ws, () => ws.copyFile('/f', path), 'EISDIR');
        await expectRefused(ws, () => ws.copyFile('/f', path, { exclusive: true }), 'EISDIR');
        await expectRefused(ws, () => openFile(ws.db, path, { create: true, write: true }), 'EISDIR');
      }
      // The directories leading there are found first.
      await expectRefused(ws, () => ws.writeFile('/nope/x/', 'x'), 'ENOENT');
      await expectRefused(ws, () => ws.writeFile('/f/x/', 'x'), 'ENOTDIR');
      await expectRefused(ws, () => ws.copyFile('/f/', '/new'), 'ENOTDIR');
      await expectRefused(ws, () => openFile(ws.db, '/f/', { write: true }), 'ENOTDIR');
      await expectRefused(ws, () => openFile(ws.db, '/nope/', {}), 'ENOENT');
      expect(openFile(ws.db, '/l/', {}).type).toBe('dir');
      const error = (await expectCode(() => ws.writeFile('/f/', 'x'), 'EISDIR')) as Error & Record<string, unknown>;
      expect(error.path).toBe('/f/');
      expect(error.syscall).toBe('open');
    });

    defineCase(
      target,
      'mkdir: a slash is fine on a new name; an existing non-directory is ENOTDIR when recursive',
      async ({ ws }) => {
        setUp(ws);
        await expectRefused(ws, () => ws.mkdir('/f/'), 'EEXIST');
        await expectRefused(ws, () => ws.mkdir('/ld/'), 'EEXIST');
        await expectRefused(ws, () => ws.mkdir('/f', { recursive: true }), 'EEXIST');
        await expectRefused(ws, () => ws.mkdir('/f/', { recursive: true }), 'ENOTDIR');
        await expectRefused(ws, () => ws.mkdir('/lf/', { recursive: true }), 'ENOTDIR');
        await expectRefused(ws, () => ws.mkdir('/ld/', { recursive: true }), 'ENOENT');
        expect(ws.mkdir('/l/', { recursive: true })).toBeUndefined();
        expect(ws.mkdir('/n1/', { recursive: true })).toBe('/n1');
        expect(ws.mkdir('/n2/a/', { recursive: true })).toBe('/n2');
        ws.mkdir('/n3/');
        expect(ws.stat('/n3').isDirectory).toBe(true);
        expect(ws.stat('/n2/a').isDirectory).toBe(true);
      },
    );
  });

  describe('rename', () => {
    defineCase(target, 'moves a file and keeps its inode', ({ ws }) => {
      ws.writeFile('/a', 'x');
      const ino = ws.stat('/a').ino;
      ws.mkdir('/d');
      ws.rename('/a', '/d/b');
      expect(ws.exists('/a')).toBe(false);
      expect(ws.stat('/d/b').ino).toBe(ino);
    });
    defineCase(target, 'replaces an existing file atomically', ({ ws }) => {
      ws.writeFile('/a', 'new');
      ws.writeFile('/b', 'old');
      ws.rename('/a', '/b');
      expect(ws.readFile('/b', 'utf8')).toBe('new');
      expect(ws.readdir('/').map((e) => e.name)).toEqual(['b']);
    });
    defineCase(target, 'a directory replaces an empty directory', ({ ws }) => {
      ws.mkdir('/a');
      ws.writeFile('/a/f', 'x');
      ws.mkdir('/b');
      ws.rename('/a', '/b');
      expect(ws.readFile('/b/f', 'utf8')).toBe('x');
      expect(ws.stat('/').nlink).toBe(3);
    });
    defineCase(target, 'moves a whole subtree and every path under it follows', ({ ws }) => {
      ws.mkdir('/src/a/b', { recursive: true });
      for (let i = 0; i < 20; i++) ws.writeFile(`/src/a/b/f${i}`, `${i}`);
      ws.symlink('b/f0', '/src/a/l');
      ws.mkdir('/dst');
      ws.rename('/src', '/dst/moved');
      expect(ws.find('/dst/moved', '**')).toHaveLength(23);
      expect(ws.readFile('/dst/moved/a/b/f7', 'utf8')).toBe('7');
      expect(ws.readFile('/dst/moved/a/l', 'utf8')).toBe('0');
      expect(ws.exists('/src')).toBe(false);
    });
    defineCase(target, 'renaming onto itself or onto a hard link of itself changes nothing', ({ ws }) => {
      ws.writeFile('/a', 'x');
      ws.link('/a', '/b');
      ws.rename('/a', '/a');
      ws.rename('/a', '/b');
      expect(ws.readFile('/a', 'utf8')).toBe('x');
      expect(ws.readFile('/b', 'utf8')).toBe('x');
    });
    defineCase(target, 'renames a symlink itself, not its target', ({ ws }) => {
      ws.writeFile('/f', 'x');
      ws.symlink('/f', '/l');
      ws.rename('/l', '/m');
      expect(ws.readlink('/m')).toBe('/f');
      expect(ws.exists('/f')).toBe(true);
    });
    defineCase(target, 'updates the parents times and the moved node ctime', ({ ws, clock }) => {
      ws.mkdir('/a');
      ws.mkdir('/b');
      ws.writeFile('/a/f', 'x');
      clock.advance(1000);
      ws.rename('/a/f', '/b/f');
      const now = clock.now();
      expect(ws.stat('/a').mtimeMs).toBe(now);
      expect(ws.stat('/b').mtimeMs).toBe(now);
      expect(ws.stat('/b/f').ctimeMs).toBe(now);
      expect(ws.stat('/b/f').mtimeMs).toBe(now - 1000);
    });
  });

  describe('rm and unlink', () => {
    defineCase(target, 'rm removes a file', ({ ws }) => {
      ws.writeFile('/f', 'x');
      ws.rm('/f');
      expect(ws.exists('/f')).toBe(false);
    });
    defineCase(target, 'rm force ignores a missing path', ({ ws }) => {
      ws.rm('/missing', { force: true });
      expect(ws.readdir('/')).toEqual([]);
    });
    defineCase(target, 'rm recursive removes a deep tree and its content', ({ ws }) => {
      let path = '/t';
      for (let depth = 0; depth < 30; depth++) {
        ws.mkdir(path, { recursive: true });
        ws.writeFile(`${path}/file`, `depth ${depth}`);
        path += '/d';
      }
      ws.rm('/t', { recursive: true });
      expect(ws.readdir('/')).toEqual([]);
      expect(ws.usage().inodes).toBe(1);
      expect(ws.db.all('SELECT * FROM vfs_chunks')).toEqual([]);
    });
    defineCase(target, 'rm leaves one tombstone per removed path', ({ ws }) => {
      ws.mkdir('/t/a', { recursive: true });
      ws.writeFile('/t/a/f', 'x');
      ws.writeFile('/t/g', 'y');
      ws.rm('/t', { recursive: true });
      const paths = ws.db
        .all<{ path: string }>("SELECT path FROM vfs_changes WHERE op = 'delete' ORDER BY path")
        .map((r) => r.path);
      expect(paths).toEqual(['/t', '/t/a', '/t/a/f', '/t/g']);
    });
    defineCase(target, 'unlink removes a file and its content once unreferenced', ({ ws }) => {
      ws.writeFile('/f', 'bytes');
      ws.unlink('/f');
      expect(ws.exists('/f')).toBe(false);
      expect(ws.usage().storedBytes).toBe(0);
      expect(ws.usage().garbageBytes).toBe(5);
    });
  });

  describe('attributes and times', () => {
    defineCase(target, 'stat reports sizes, blocks and times', ({ ws, clock }) => {
      ws.writeFile('/f', 'x'.repeat(5000));
      const info = ws.stat('/f');
      expect(info.size).toBe(5000);
      expect(info.blocks).toBe(16);
      expect(info.mtimeMs).toBe(clock.now());
      expect(info.ctimeMs).toBe(clock.now());
      expect(info.birthtimeMs).toBe(clock.now());
      expect(info.nlink).toBe(1);
      expect(info.name).toBe('f');
    });
    defineCase(target, 'writing bumps mtime and ctime but not birthtime', ({ ws, clock }) => {
      ws.writeFile('/f', 'a');
      const born = clock.now();
      clock.advance(5000);
      ws.appendFile('/f', 'b');
      const info = ws.stat('/f');
      expect(info.mtimeMs).toBe(born + 5000);
      expect(info.ctimeMs).toBe(born + 5000);
      expect(info.birthtimeMs).toBe(born);
    });
    defineCase(target, 'chmod sets permission bits, follows links and bumps ctime only', ({ ws, clock }) => {
      ws.writeFile('/f', 'x');
      ws.symlink('/f', '/l');
      clock.advance(1000);
      ws.chmod('/l', 0o4751);
      const info = ws.stat('/f');
      expect(info.mode).toBe(0o104751);
      expect(info.ctimeMs).toBe(clock.now());
      expect(info.mtimeMs).toBe(clock.now() - 1000);
      expect(ws.lstat('/l').mode).toBe(0o120777);
    });
    defineCase(target, 'utimes sets access and modification times from seconds or Dates', ({ ws }) => {
      ws.writeFile('/f', 'x');
      ws.utimes('/f', 1_000_000, new Date(2_000_000_500));
      const info = ws.stat('/f');
      expect(info.atimeMs).toBe(1_000_000_000);
      expect(info.mtimeMs).toBe(2_000_000_500);
    });
    defineCase(target, 'creating an entry bumps the parent directory times', ({ ws, clock }) => {
      ws.mkdir('/d');
      clock.advance(700);
      ws.writeFile('/d/f', 'x');
      expect(ws.stat('/d').mtimeMs).toBe(clock.now());
    });
    defineCase(target, 'exists is false for missing paths and bad paths alike', ({ ws }) => {
      ws.writeFile('/f', 'x');
      expect(ws.exists('/f')).toBe(true);
      expect(ws.exists('/')).toBe(true);
      expect(ws.exists('/g')).toBe(false);
      expect(ws.exists('relative')).toBe(false);
      expect(ws.exists('/f/under-a-file')).toBe(false);
    });
    defineCase(target, 'errors are Node-shaped', async ({ ws }) => {
      const error = (await expectCode(() => ws.readFile('/missing/file'), 'ENOENT')) as Error & Record<string, unknown>;
      expect(error.errno).toBe(-2);
      expect(error.syscall).toBe('open');
      expect(error.path).toBe('/missing/file');
      expect(error.message).toBe("ENOENT: no such file or directory, open '/missing/file'");
      const renameError = (await expectCode(() => ws.rename('/x', '/y'), 'ENOENT')) as Error & Record<string, unknown>;
      expect(renameError.dest).toBe('/y');
    });
  });
}
