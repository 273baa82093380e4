/**
 * Owners, groups and special files: what nodes belong to, chown and its ctime, the set-ID bits,
 * set-group-ID directories, mknod of FIFOs, sockets and devices, and the same through the
 * provider and the node:fs module. Identical on every backend.
 *
 * @module
 */
import { describe, expect } from 'vitest';
import { createNodeFs } from '../../adapters/node-fs/index.ts';
import { SQLiteWorkspaceProvider } from '../../adapters/vfs/index.ts';
import { S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT, S_IFREG, S_IFSOCK } from '../../core/fs/attributes.ts';
import { chownAt } from '../../core/index.ts';
import { openWorkspace } from '../../core/workspace.ts';
import { defineCase, expectCode, expectRefused } from '../harness.ts';
import type { ConformanceTarget } from '../target.ts';

const OWNER = { uid: 1000, gid: 100 };
const owned = { owner: OWNER };

/** What a call threw, or fails the test. */
async function thrown(fn: () => unknown): Promise<Error & Record<string, unknown>> {
  try {
    await fn();
  } catch (error) {
    return error as Error & Record<string, unknown>;
  }
  throw new Error('expected a failure');
}

/** Cases for ownership and special files. */
export function ownerCases(target: ConformanceTarget): void {
  describe('owners and groups', () => {
    defineCase(
      target,
      "new nodes belong to the workspace's owner, and stat says so",
      ({ ws }) => {
        ws.mkdir('/d');
        ws.writeFile('/d/f', 'x');
        ws.symlink('f', '/d/l');
        for (const path of ['/', '/d', '/d/f']) expect(ws.stat(path)).toMatchObject(OWNER);
        expect(ws.lstat('/d/l')).toMatchObject({ uid: 1000, gid: 100, rdev: 0 });
        expect(ws.db.owner).toEqual(OWNER);
      },
      owned,
    );
    defineCase(
      target,
      'withOwner gives what is created inside it another owner, and restores the default after a failure',
      async ({ ws, db }) => {
        db.withOwner({ uid: 7, gid: 8 }, () => {
          ws.mkdir('/seven');
          ws.writeFile('/seven/f', 'x');
        });
        await expectCode(
          () =>
            db.withOwner({ uid: 9, gid: 9 }, () => {
              ws.mkdir('/seven');
            }),
          'EEXIST',
        );
        ws.writeFile('/mine', 'y');
        expect(ws.stat('/seven')).toMatchObject({ uid: 7, gid: 8 });
        expect(ws.stat('/seven/f')).toMatchObject({ uid: 7, gid: 8 });
        expect(ws.stat('/mine')).toMatchObject(OWNER);
        await expectCode(() => db.withOwner({ uid: -5, gid: 0 }, () => undefined), 'EINVAL');
      },
      owned,
    );
    defineCase(
      target,
      'chown sets owner and group, -1 keeps one, and bumps ctime with one revision',
      ({ ws, clock }) => {
        ws.writeFile('/f', 'x');
        const before = ws.stat('/f');
        clock.advance(1000);
        ws.chown('/f', 42, -1);
        expect(ws.stat('/f')).toMatchObject({ uid: 42, gid: before.gid, mtimeMs: before.mtimeMs });
        expect(ws.stat('/f').ctimeMs).toBe(before.ctimeMs + 1000);
        expect(ws.stat('/f').rev).toBeGreaterThan(before.rev);
        clock.advance(1000);
        ws.chown('/f', -1, 43);
        expect(ws.stat('/f')).toMatchObject({ uid: 42, gid: 43 });
        clock.advance(1000);
        // Nothing to change still stamps ctime, as Linux does.
        ws.chown('/f', -1, -1);
        expect(ws.stat('/f').ctimeMs).toBe(before.ctimeMs + 3000);
        ws.chown('/f', 4294967294, 0);
        expect(ws.stat('/f')).toMatchObject({ uid: 4294967294, gid: 0 });
      },
    );
    defineCase(target, 'chown follows symlinks; lchown changes the link itself', ({ ws }) => {
      ws.writeFile('/f', 'x');
      ws.symlink('f', '/l');
      ws.chown('/l', 5, 6);
      expect(ws.stat('/f')).toMatchObject({ uid: 5, gid: 6 });
      ws.lchown('/l', 7, 8);
      expect(ws.lstat('/l')).toMatchObject({ uid: 7, gid: 8 });
      expect(ws.stat('/f')).toMatchObject({ uid: 5, gid: 6 });
      ws.symlink('/nowhere', '/dangling');
      ws.lchown('/dangling', 1, 1);
      expect(ws.lstat('/dangling')).toMatchObject({ uid: 1, gid: 1 });
    });
    defineCase(
      target,
      'chown clears set-user-ID, and set-group-ID when the group may execute, on non-directories',
      ({ ws }) => {
        ws.writeFile('/exec', 'x', { mode: 0o6755 });
        ws.writeFile('/lock', 'x', { mode: 0o6644 });
        ws.mkdir('/d', { mode: 0o6755 });
        ws.chown('/exec', 1, 1);
        ws.chown('/lock', 1, 1);
        ws.chown('/d', 1, 1);
        expect(ws.stat('/exec').mode & 0o7777).toBe(0o755);
        // Without group execute, set-group-ID means mandatory locking: Linux keeps it.
        expect(ws.stat('/lock').mode & 0o7777).toBe(0o2644);
        expect(ws.stat('/d').mode & 0o7777).toBe(0o6755);
      },
    );
    defineCase(
      target,
      'chown refuses a missing path, bad ids and a read-only workspace, changing nothing',
      async ({ ws, backend }) => {
        ws.writeFile('/f', 'x');
        await expectRefused(ws, () => ws.chown('/missing', 1, 1), 'ENOENT');
        await expectRefused(ws, () => ws.chown('/f', 1.5, 1), 'EINVAL');
        await expectRefused(ws, () => ws.chown('/f', 1, -2), 'EINVAL');
        await expectRefused(ws, () => ws.lchown('/f/x', 1, 1), 'ENOTDIR');
        const readOnly = openWorkspace(backend, { readOnly: true });
        await expectCode(() => readOnly.chown('/f', 1, 1), 'EROFS');
      },
    );
    defineCase(
      target,
      'chownAt (fchown) changes an open file under every name, and after its last name is gone',
      async ({ ws, db }) => {
        ws.writeFile('/f', 'x');
        ws.link('/f', '/g');
        chownAt(db, ws.stat('/f').ino, 11, 12);
        expect(ws.stat('/g')).toMatchObject({ uid: 11, gid: 12 });
        const provider = new SQLiteWorkspaceProvider(ws);
        const fd = provider.openFdSync('/f', 'r');
        provider.unlinkSync('/f');
        provider.unlinkSync('/g');
        provider.fchownSync(fd, 13, -1);
        expect(provider.fstatSync(fd)).toMatchObject({ uid: 13, gid: 12, nlink: 0 });
        provider.closeSync(fd);
        await expectCode(() => chownAt(db, 999_999, 1, 1), 'ENOENT');
      },
    );
    defineCase(
      target,
      'a set-group-ID directory gives new nodes its group, and new directories its bit',
      ({ ws, db }) => {
        ws.mkdir('/shared', { mode: 0o2775 });
        ws.chown('/shared', -1, 500);
        db.withOwner({ uid: 7, gid: 8 }, () => {
          ws.writeFile('/shared/f', 'x');
          ws.mkdir('/shared/sub', { mode: 0o755 });
          ws.symlink('f', '/shared/l');
        });
        expect(ws.stat('/shared/f')).toMatchObject({ uid: 7, gid: 500 });
        expect(ws.lstat('/shared/l')).toMatchObject({ uid: 7, gid: 500 });
        expect(ws.stat('/shared/sub')).toMatchObject({ uid: 7, gid: 500, mode: S_IFDIR | 0o2755 });
        expect(ws.stat('/shared/f').mode).toBe(S_IFREG | 0o644);
        ws.mkdir('/plain');
        expect(ws.stat('/plain')).toMatchObject(OWNER);
      },
      owned,
    );
  });

  describe('special files', () => {
    defineCase(
      target,
      'mknod makes FIFOs, sockets and devices: type bits, rdev for devices, owner, no content',
      ({ ws }) => {
        ws.mknod('/fifo', S_IFIFO | 0o640);
        ws.mknod('/sock', S_IFSOCK | 0o755, 99);
        ws.mknod('/tty', S_IFCHR | 0o620, (4 << 8) | 1);
        ws.mknod('/disk', S_IFBLK | 0o660, (8 << 8) | 16);
        ws.mknod('/empty', 0o600);
        const fifo = ws.stat('/fifo');
        expect(fifo).toMatchObject({ type: 'fifo', mode: S_IFIFO | 0o640, rdev: 0, size: 0, nlink: 1, isFIFO: true });
        expect(fifo).toMatchObject({ isFile: false, isSocket: false, isCharacterDevice: false, isBlockDevice: false });
        expect(fifo).toMatchObject(OWNER);
        expect(ws.stat('/sock')).toMatchObject({ type: 'socket', mode: S_IFSOCK | 0o755, rdev: 0, isSocket: true });
        expect(ws.stat('/tty')).toMatchObject({ type: 'chardev', rdev: (4 << 8) | 1, isCharacterDevice: true });
        expect(ws.stat('/disk')).toMatchObject({ type: 'blockdev', rdev: 2064, isBlockDevice: true, blocks: 0 });
        expect(ws.stat('/empty')).toMatchObject({ type: 'file', mode: S_IFREG | 0o600, size: 0 });
        expect(ws.usage()).toMatchObject({ specials: 4, files: 1, inodes: 6 });
      },
      owned,
    );
    defineCase(
      target,
      'special nodes are listed with their types, linked, renamed, chowned and removed like files',
      ({ ws }) => {
        ws.mkdir('/d');
        ws.mknod('/d/p', S_IFIFO | 0o644);
        ws.mknod('/d/c', S_IFCHR | 0o644, 259);
        expect(ws.readdir('/d').map((entry) => [entry.name, entry.type])).toEqual([
          ['c', 'chardev'],
          ['p', 'fifo'],
        ]);
        ws.link('/d/p', '/d/q');
        expect(ws.stat('/d/q')).toMatchObject({ nlink: 2, type: 'fifo' });
        ws.rename('/d/c', '/c');
        ws.chown('/c', 3, 4);
        ws.chmod('/c', 0o600);
        expect(ws.stat('/c')).toMatchObject({ uid: 3, gid: 4, mode: S_IFCHR | 0o600, rdev: 259 });
        ws.unlink('/d/p');
        ws.rm('/d', { recursive: true });
        ws.unlink('/c');
        expect(ws.readdir('/')).toEqual([]);
      },
    );
    defineCase(target, 'mknod refuses what Linux refuses, changing nothing', async ({ ws }) => {
      ws.mknod('/p', S_IFIFO | 0o644);
      await expectRefused(ws, () => ws.mknod('/p', S_IFIFO | 0o644), 'EEXIST');
      await expectRefused(ws, () => ws.mknod('/missing/p', S_IFIFO | 0o644), 'ENOENT');
      await expectRefused(ws, () => ws.mknod('/q/', S_IFIFO | 0o644), 'ENOENT');
      await expectRefused(ws, () => ws.mknod('/d', S_IFDIR | 0o755), 'EPERM');
      await expectRefused(ws, () => ws.mknod('/l', S_IFLNK | 0o777), 'EINVAL');
      await expectRefused(ws, () => ws.mknod('/x', 0o170000 | 0o644), 'EINVAL');
      await expectRefused(ws, () => ws.mknod('/x', -1), 'EINVAL');
      await expectRefused(ws, () => ws.mknod('/x', S_IFCHR | 0o644, 2 ** 32), 'EINVAL');
    });
    defineCase(
      target,
      'the content of a special file is not the workspace’s: reads, writes and copies are ENXIO',
      async ({ ws }) => {
        ws.mknod('/p', S_IFIFO | 0o666);
        ws.writeFile('/f', 'data');
        await expectRefused(ws, () => ws.readFile('/p'), 'ENXIO');
        await expectRefused(ws, () => ws.writeFile('/p', 'x'), 'ENXIO');
        await expectRefused(ws, () => ws.appendFile('/p', 'x'), 'ENXIO');
        await expectRefused(ws, () => ws.truncate('/p', 3), 'ENXIO');
        await expectRefused(ws, () => ws.copyFile('/f', '/p'), 'ENXIO');
        await expectRefused(ws, () => ws.copyFile('/p', '/g'), 'ENXIO');
      },
    );
    defineCase(
      target,
      'the inode quota counts special files',
      async ({ ws }) => {
        ws.mknod('/a', S_IFIFO | 0o644);
        await expectRefused(ws, () => ws.mknod('/b', S_IFSOCK | 0o644), 'ENOSPC');
      },
      { quotas: { maxInodes: 2 } },
    );
  });

  describe('owners and special files through the provider and node:fs', () => {
    defineCase(
      target,
      'node:fs chown, lchown, fchown and their promise forms change owners; Stats report them',
      async (ctx) => {
        // Giving files away is root's: this identity is trusted here (checks off), as the mount's daemon.
        const fs = createNodeFs(ctx.ws, { checkPermissions: false });
        fs.writeFileSync('/f', 'x');
        fs.symlinkSync('f', '/l');
        expect(fs.statSync('/f')).toMatchObject({ uid: 1000, gid: 100 });
        fs.chownSync('/f', 1, 2);
        expect(fs.statSync('/f')).toMatchObject({ uid: 1, gid: 2 });
        fs.lchownSync('/l', 3, 4);
        expect(fs.lstatSync('/l')).toMatchObject({ uid: 3, gid: 4 });
        const fd = fs.openSync('/f', 'r');
        fs.fchownSync(fd, 5, -1);
        expect(fs.fstatSync(fd)).toMatchObject({ uid: 5, gid: 2 });
        fs.closeSync(fd);
        await fs.promises.chown('/f', 6, 7);
        await fs.promises.lchown('/l', 8, 9);
        const handle = await fs.promises.open('/f', 'r');
        await handle.chown(10, 11);
        await handle.close();
        await new Promise<void>((done, fail) => fs.chown('/l', 12, 13, (error) => (error ? fail(error) : done())));
        expect(fs.statSync('/f')).toMatchObject({ uid: 12, gid: 13 });
        expect(fs.lstatSync('/l')).toMatchObject({ uid: 8, gid: 9 });
        expect(fs.statSync('/f', { bigint: true })).toMatchObject({ uid: 12n, gid: 13n });
        expect((await thrown(() => fs.chownSync('/f', -2, 0))).code).toBe('ERR_OUT_OF_RANGE');
        expect((await thrown(() => fs.chownSync('/f', '1' as never, 0))).code).toBe('ERR_INVALID_ARG_TYPE');
        expect(await thrown(() => fs.chownSync('/missing', 1, 1))).toMatchObject({ code: 'ENOENT', syscall: 'chown' });
      },
      owned,
    );
    defineCase(target, 'node:fs Stats and Dirents tell FIFOs, sockets and devices apart', (ctx) => {
      const provider = new SQLiteWorkspaceProvider(ctx.ws);
      provider.mknodSync('/p', S_IFIFO | 0o666);
      provider.mknodSync('/s', S_IFSOCK | 0o777);
      provider.mknodSync('/c', S_IFCHR | 0o666, 0x0103);
      provider.mknodSync('/b', S_IFBLK | 0o666, 0x0810);
      const fs = createNodeFs(ctx.ws);
      const p = fs.statSync('/p');
      expect([p.isFIFO(), p.isFile(), p.isSocket(), p.isCharacterDevice(), p.isBlockDevice()]).toEqual([
        true,
        false,
        false,
        false,
        false,
      ]);
      // The provider applies its umask (0o022) as mkdir does.
      expect(p.mode).toBe(S_IFIFO | 0o644);
      expect(fs.statSync('/s').isSocket()).toBe(true);
      expect(fs.statSync('/c')).toMatchObject({ rdev: 0x0103 });
      expect(fs.statSync('/c').isCharacterDevice()).toBe(true);
      expect(fs.statSync('/b').isBlockDevice()).toBe(true);
      expect(provider.statSync('/b').mode & S_IFMT).toBe(S_IFBLK);
      const kinds = fs
        .readdirSync('/', { withFileTypes: true })
        .map((d) => [d.name, d.isBlockDevice(), d.isCharacterDevice(), d.isFIFO(), d.isSocket(), d.isFile()]);
      expect(kinds).toEqual([
        ['b', true, false, false, false, false],
        ['c', false, true, false, false, false],
        ['p', false, false, true, false, false],
        ['s', false, false, false, true, false],
      ]);
      const dirents = provider.readdirSync('/', { withFileTypes: true }) as Array<{ name: string; isFIFO(): boolean }>;
      expect(dirents.filter((d) => d.isFIFO()).map((d) => d.name)).toEqual(['p']);
      expect(fs.readdirSync('/', { recursive: true })).toEqual(['b', 'c', 'p', 's']);
    });
    defineCase(target, 'the provider chowns, and refuses to open a special file with ENXIO', async (ctx) => {
      const provider = new SQLiteWorkspaceProvider(ctx.ws);
      provider.writeFileSync('/f', 'x');
      provider.chownSync('/f', 20, 21);
      provider.symlinkSync('f', '/l');
      provider.lchownSync('/l', 22, 23);
      expect(provider.statSync('/f')).toMatchObject({ uid: 20, gid: 21 });
      expect(provider.lstatSync('/l')).toMatchObject({ uid: 22, gid: 23 });
      const fd = provider.openFdSync('/f', 'r');
      provider.fchownSync(fd, 24, 25);
      provider.closeSync(fd);
      await provider.chown('/f', 26, -1);
      expect(provider.statSync('/f')).toMatchObject({ uid: 26, gid: 25 });
      provider.mknodSync('/p', S_IFIFO | 0o644);
      expect((await thrown(() => provider.openSync('/p', 'r'))).code).toBe('ENXIO');
      expect((await thrown(() => provider.readFileSync('/p'))).code).toBe('ENXIO');
      const readOnly = new SQLiteWorkspaceProvider(ctx.ws, { readOnly: true });
      expect((await thrown(() => readOnly.chownSync('/f', 1, 1))).code).toBe('EROFS');
      expect((await thrown(() => readOnly.mknodSync('/q', S_IFIFO))).code).toBe('EROFS');
    });
  });
}
