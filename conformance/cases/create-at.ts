/**
 * createAt and linkAt: creating a node or a hard link by the directory's inode and a name (the
 * FUSE mount's create, mkdir, symlink and link): the same node, owner, group, times and revision as
 * the path-level calls, and the same refusals, which change nothing. Identical on every backend.
 *
 * @module
 */
import { describe, expect } from 'vitest';
import { S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFREG } from '../../core/fs/attributes.ts';
import { createAt, getWithPath, linkAt } from '../../core/index.ts';
import { defineCase, expectRefused } from '../harness.ts';
import { snapshot } from '../snapshot.ts';
import type { ConformanceTarget } from '../target.ts';

const OWNER = { uid: 1000, gid: 100 };

/** Cases for {@link createAt}. */
export function createAtCases(target: ConformanceTarget): void {
  describe('createAt (by parent inode)', () => {
    defineCase(
      target,
      'makes files, directories, symlinks and special files as the path-level creators do, one revision each',
      ({ ws, db, clock }) => {
        ws.mkdir('/d', { mode: 0o2775 });
        const d = ws.stat('/d').ino;
        clock.advance(1000);
        const rev = ws.stat('/d').rev;
        const file = createAt(db, d, 'f', { type: 'file', mode: 0o640, exclusive: true });
        expect(file).toMatchObject({ created: true, path: '/d/f' });
        const stat = ws.stat('/d/f');
        expect(stat).toMatchObject({ ino: file.node.inode, mode: S_IFREG | 0o640, size: 0, nlink: 1, ...OWNER });
        expect(stat.mtimeMs).toBe(file.node.mtime);
        expect(stat.rev).toBe(rev + 1);
        // The directory's times moved with the entry.
        expect(ws.stat('/d').mtimeMs).toBe(stat.mtimeMs);
        const dir = createAt(db, d, 'sub', { type: 'dir', mode: 0o755 });
        // A directory inherits the set-group-ID bit of its parent.
        expect(ws.stat('/d/sub')).toMatchObject({ ino: dir.node.inode, mode: S_IFDIR | 0o2755, nlink: 2 });
        expect(ws.stat('/d').nlink).toBe(3);
        createAt(db, d, 'l', { type: 'symlink', mode: 0o777, target: 'f' });
        expect(ws.lstat('/d/l').mode).toBe(S_IFLNK | 0o777);
        expect(ws.readlink('/d/l')).toBe('f');
        createAt(db, d, 'p', { type: 'fifo', mode: 0o600 });
        createAt(db, d, 'tty', { type: 'chardev', mode: 0o620, rdev: (4 << 8) | 1 });
        expect(ws.lstat('/d/p').mode).toBe(S_IFIFO | 0o600);
        expect(ws.lstat('/d/tty')).toMatchObject({ mode: S_IFCHR | 0o620, rdev: (4 << 8) | 1 });
        expect(
          ws
            .readdir('/d')
            .map((entry) => entry.name)
            .sort(),
        ).toEqual(['f', 'l', 'p', 'sub', 'tty']);
        // A name of 255 bytes is fine, at the root too.
        createAt(db, 1, 'n'.repeat(255), { type: 'file', mode: 0o644 });
        expect(ws.stat(`/${'n'.repeat(255)}`).size).toBe(0);
      },
      { owner: OWNER },
    );
    defineCase(
      target,
      "getWithPath reads a directory's row and its one path, which follows renames above it",
      ({ ws, db }) => {
        ws.mkdir('/a/b/c', { recursive: true });
        const c = ws.stat('/a/b/c').ino;
        expect(getWithPath(db, 1)).toMatchObject({ node: { inode: 1, type: 'dir' }, path: '/' });
        expect(getWithPath(db, c)).toMatchObject({ node: { inode: c, type: 'dir' }, path: '/a/b/c' });
        // The path follows a rename of any directory above.
        ws.rename('/a', '/x');
        expect(getWithPath(db, c).path).toBe('/x/b/c');
        // Gone: neither row nor path.
        ws.rmdir('/x/b/c');
        expect(getWithPath(db, c)).toEqual({ node: undefined, path: undefined });
      },
    );
    defineCase(target, 'a create without exclusive returns a file that exists, unchanged', ({ ws, db }) => {
      ws.mkdir('/d');
      ws.writeFile('/d/f', 'kept');
      const before = ws.stat('/d/f');
      const found = createAt(db, ws.stat('/d').ino, 'f', { type: 'file', mode: 0o600 });
      expect(found.created).toBe(false);
      expect(found.node.inode).toBe(before.ino);
      expect(ws.stat('/d/f')).toEqual(before);
      expect(ws.readFile('/d/f', 'utf8')).toBe('kept');
    });
    defineCase(
      target,
      'refusals change nothing: taken names, bad names, a missing or non-directory parent',
      async ({ ws, db }) => {
        ws.mkdir('/d/sub', { recursive: true });
        ws.writeFile('/d/f', 'x');
        ws.symlink('f', '/d/l');
        const d = ws.stat('/d').ino;
        const fileInode = ws.stat('/d/f').ino;
        const at = (parent: number, name: string, options: Parameters<typeof createAt>[3]) => () =>
          createAt(db, parent, name, options);
        await expectRefused(ws, at(d, 'f', { type: 'file', mode: 0o644, exclusive: true }), 'EEXIST');
        await expectRefused(ws, at(d, 'sub', { type: 'file', mode: 0o644 }), 'EISDIR');
        await expectRefused(ws, at(d, 'l', { type: 'file', mode: 0o644 }), 'EEXIST');
        for (const type of ['dir', 'symlink', 'fifo'] as const) {
          await expectRefused(ws, at(d, 'f', { type, mode: 0o755, target: 'x' }), 'EEXIST');
        }
        await expectRefused(ws, at(d, '.', { type: 'dir', mode: 0o755 }), 'EEXIST');
        await expectRefused(ws, at(d, '..', { type: 'dir', mode: 0o755 }), 'EEXIST');
        await expectRefused(ws, at(d, 'n'.repeat(256), { type: 'file', mode: 0o644 }), 'ENAMETOOLONG');
        await expectRefused(ws, at(d, 'é'.repeat(128), { type: 'dir', mode: 0o755 }), 'ENAMETOOLONG');
        await expectRefused(ws, at(d, '', { type: 'file', mode: 0o644 }), 'EINVAL');
        await expectRefused(ws, at(d, 'a/b', { type: 'file', mode: 0o644 }), 'EINVAL');
        await expectRefused(ws, at(d, 'a\0b', { type: 'file', mode: 0o644 }), 'EINVAL');
        await expectRefused(ws, at(d, 's', { type: 'symlink', mode: 0o777, target: '' }), 'ENOENT');
        await expectRefused(ws, at(d, 's', { type: 'symlink', mode: 0o777, target: 'a\0b' }), 'EINVAL');
        await expectRefused(ws, at(d, 's', { type: 'symlink', mode: 0o777, target: 'x'.repeat(4096) }), 'ENAMETOOLONG');
        await expectRefused(ws, at(fileInode, 'g', { type: 'file', mode: 0o644 }), 'ENOTDIR');
        const gone = ws.stat('/d/sub').ino;
        ws.rmdir('/d/sub');
        await expectRefused(ws, at(gone, 'g', { type: 'file', mode: 0o644 }), 'ENOENT');
        await expectRefused(ws, at(999_999, 'g', { type: 'dir', mode: 0o755 }), 'ENOENT');
      },
    );
    defineCase(
      target,
      'with permission checks on, a parent the caller may not write is EACCES and a device is EPERM',
      ({ ws, db }) => {
        ws.mkdir('/locked', { mode: 0o755 });
        ws.mkdir('/open', { mode: 0o777 });
        const locked = ws.stat('/locked').ino;
        const open = ws.stat('/open').ino;
        const before = snapshot(ws);
        const caller = { uid: 2000, gid: 2000 };
        db.checkPermissions = true;
        try {
          const codes = db.withOwner(caller, () =>
            [
              () => createAt(db, locked, 'f', { type: 'file', mode: 0o644 }),
              () => createAt(db, open, 'tty', { type: 'chardev', mode: 0o600, rdev: 1 }),
            ].map((fn) => {
              try {
                fn();
                return 'created';
              } catch (error) {
                return (error as { code?: string }).code;
              }
            }),
          );
          expect(codes).toEqual(['EACCES', 'EPERM']);
          expect(snapshot(ws)).toEqual(before);
          const made = db.withOwner(caller, () => createAt(db, open, 'f', { type: 'file', mode: 0o644 }));
          expect(made.node).toMatchObject(caller);
        } finally {
          db.checkPermissions = false;
        }
      },
      { owner: { uid: 0, gid: 0 } },
    );
    defineCase(
      target,
      'linkAt gives a node another name: one revision, nlink and ctime move, the row says so',
      ({ ws, db, clock }) => {
        ws.mkdir('/a');
        ws.mkdir('/b');
        ws.writeFile('/a/f', 'bytes');
        const { ino } = ws.stat('/a/f');
        clock.advance(1000);
        const row = linkAt(db, ino, ws.stat('/b').ino, 'g');
        const stat = ws.stat('/b/g');
        expect(stat.ino).toBe(ino);
        expect(stat.nlink).toBe(2);
        expect(ws.stat('/a/f').nlink).toBe(2);
        expect(row).toMatchObject({ inode: ino, nlink: 2, ctime: stat.ctimeMs, rev: stat.rev });
        expect(ws.stat('/b').mtimeMs).toBe(stat.ctimeMs);
        expect(ws.readFile('/b/g', 'utf8')).toBe('bytes');
        ws.unlink('/a/f');
        expect(ws.stat('/b/g').nlink).toBe(1);
      },
    );
    defineCase(target, 'linkAt refusals change nothing', async ({ ws, db }) => {
      ws.mkdir('/d/sub', { recursive: true });
      ws.writeFile('/d/f', 'x');
      const d = ws.stat('/d').ino;
      const f = ws.stat('/d/f').ino;
      await expectRefused(ws, () => linkAt(db, f, d, 'f'), 'EEXIST');
      await expectRefused(ws, () => linkAt(db, f, d, '.'), 'EEXIST');
      await expectRefused(ws, () => linkAt(db, ws.stat('/d/sub').ino, d, 'again'), 'EPERM');
      await expectRefused(ws, () => linkAt(db, f, f, 'g'), 'ENOTDIR');
      await expectRefused(ws, () => linkAt(db, f, d, 'n'.repeat(256)), 'ENAMETOOLONG');
      await expectRefused(ws, () => linkAt(db, f, d, 'a/b'), 'EINVAL');
      await expectRefused(ws, () => linkAt(db, 999_999, d, 'g'), 'ENOENT');
      const gone = ws.stat('/d/sub').ino;
      ws.rmdir('/d/sub');
      await expectRefused(ws, () => linkAt(db, f, gone, 'g'), 'ENOENT');
    });
    defineCase(
      target,
      "with permission checks on, linkAt follows protected_hardlinks: another's file the caller may not write is EPERM",
      ({ ws, db }) => {
        ws.mkdir('/open', { mode: 0o777 });
        ws.writeFile('/secret', 'x', { mode: 0o644 });
        const secret = ws.stat('/secret').ino;
        const open = ws.stat('/open').ino;
        const before = snapshot(ws);
        db.checkPermissions = true;
        try {
          const code = db.withOwner({ uid: 2000, gid: 2000 }, () => {
            try {
              linkAt(db, secret, open, 'mine');
              return 'linked';
            } catch (error) {
              return (error as { code?: string }).code;
            }
          });
          expect(code).toBe('EPERM');
          expect(snapshot(ws)).toEqual(before);
        } finally {
          db.checkPermissions = false;
        }
      },
      { owner: { uid: 0, gid: 0 } },
    );
  });
}
