/**
 * unlinkAt and rmdirAt: removing a name by its directory's inode (the FUSE mount's unlink and
 * rmdir): the same result as the path-level calls, at any depth (the tombstone names the whole
 * path), an open file kept until its last close, and the same refusals, which change nothing.
 * Identical on every backend.
 *
 * @module
 */
import { describe, expect } from 'vitest';
import { getNode, pinInode, rmdirAt, unlinkAt, unpinInode } from '../../core/index.ts';
import { defineCase, expectRefused } from '../harness.ts';
import { snapshot } from '../snapshot.ts';
import type { ConformanceTarget } from '../target.ts';

/** The tombstones of removed paths, in the order they were left. */
const tombstones = (db: Parameters<typeof unlinkAt>[0]) =>
  db.all<{ path: string }>("SELECT path FROM vfs_changes WHERE op = 'delete' ORDER BY rev, id").map((row) => row.path);

/** Cases for {@link unlinkAt} and {@link rmdirAt}. */
export function removeAtCases(target: ConformanceTarget): void {
  describe('unlinkAt and rmdirAt (by parent inode)', () => {
    defineCase(
      target,
      'remove as unlink and rmdir do, at the root and 40 directories deep: one revision, the directory times, the tombstone of the whole path',
      ({ ws, db, clock }) => {
        const deep = `/${Array.from({ length: 40 }, (_, i) => `d${i}`).join('/')}`;
        ws.mkdir(`${deep}/empty`, { recursive: true });
        ws.writeFile(`${deep}/f`, 'bytes');
        ws.symlink('f', `${deep}/l`);
        ws.writeFile('/top', 'x');
        ws.link(`${deep}/f`, '/hard');
        const dir = ws.stat(deep).ino;
        clock.advance(1000);
        const rev = ws.stat('/hard').rev; // the link was the last change
        const removed = unlinkAt(db, dir, 'f');
        expect(removed).toMatchObject({ type: 'file', nlink: 2 });
        expect(ws.exists(`${deep}/f`)).toBe(false);
        // The other name keeps the node and its bytes; its link count and ctime moved.
        expect(ws.readFile('/hard', 'utf8')).toBe('bytes');
        expect(ws.stat('/hard').nlink).toBe(1);
        const after = ws.stat(deep);
        expect(after.rev).toBe(rev + 1);
        expect(after.mtimeMs).toBe(clock.now());
        unlinkAt(db, dir, 'l');
        expect(ws.readdir(deep).map((entry) => entry.name)).toEqual(['empty']);
        expect(ws.stat(deep).nlink).toBe(3);
        rmdirAt(db, dir, 'empty');
        expect(ws.stat(deep).nlink).toBe(2);
        unlinkAt(db, 1, 'top');
        unlinkAt(db, 1, 'hard');
        expect(tombstones(db)).toEqual([`${deep}/f`, `${deep}/l`, `${deep}/empty`, '/top', '/hard']);
        expect(ws.readdir('/').map((entry) => entry.name)).toEqual(['d0']);
      },
    );
    defineCase(target, 'a name removed again leaves one tombstone, as unlink does', ({ ws, db }) => {
      ws.mkdir('/d');
      const d = ws.stat('/d').ino;
      for (let i = 0; i < 3; i++) {
        ws.writeFile('/d/f', `round ${i}`);
        unlinkAt(db, d, 'f');
      }
      expect(tombstones(db)).toEqual(['/d/f']);
    });
    defineCase(target, 'an open file removed stays, nameless, until its last unpin', ({ ws, db }) => {
      ws.mkdir('/d');
      ws.writeFile('/d/open', 'still here');
      const { ino } = ws.stat('/d/open');
      pinInode(db, ino);
      unlinkAt(db, ws.stat('/d').ino, 'open');
      expect(ws.exists('/d/open')).toBe(false);
      expect(getNode(db, ino)).toMatchObject({ nlink: 0 });
      unpinInode(db, ino);
      expect(getNode(db, ino)).toBeUndefined();
      expect(ws.fsck().ok).toBe(true);
    });
    defineCase(
      target,
      'refusals change nothing: directories, files, dot names, a non-empty directory, bad names, a missing name or parent',
      async ({ ws, db }) => {
        ws.mkdir('/d/sub/inner', { recursive: true });
        ws.mkdir('/d/empty');
        ws.writeFile('/d/f', 'x');
        const d = ws.stat('/d').ino;
        const f = ws.stat('/d/f').ino;
        await expectRefused(ws, () => unlinkAt(db, d, 'sub'), 'EISDIR');
        await expectRefused(ws, () => unlinkAt(db, d, '.'), 'EISDIR');
        await expectRefused(ws, () => unlinkAt(db, d, '..'), 'EISDIR');
        await expectRefused(ws, () => rmdirAt(db, d, 'f'), 'ENOTDIR');
        await expectRefused(ws, () => rmdirAt(db, d, 'sub'), 'ENOTEMPTY');
        await expectRefused(ws, () => rmdirAt(db, d, '.'), 'EINVAL');
        await expectRefused(ws, () => rmdirAt(db, d, '..'), 'ENOTEMPTY');
        await expectRefused(ws, () => unlinkAt(db, d, 'missing'), 'ENOENT');
        await expectRefused(ws, () => rmdirAt(db, d, 'missing'), 'ENOENT');
        await expectRefused(ws, () => unlinkAt(db, f, 'x'), 'ENOTDIR');
        await expectRefused(ws, () => unlinkAt(db, 999_999, 'x'), 'ENOENT');
        await expectRefused(ws, () => unlinkAt(db, d, 'n'.repeat(256)), 'ENAMETOOLONG');
        await expectRefused(ws, () => unlinkAt(db, d, ''), 'EINVAL');
        await expectRefused(ws, () => rmdirAt(db, d, 'a/b'), 'EINVAL');
        await expectRefused(ws, () => unlinkAt(db, d, 'a\0b'), 'EINVAL');
        const gone = ws.stat('/d/empty').ino;
        ws.rmdir('/d/empty');
        await expectRefused(ws, () => unlinkAt(db, gone, 'x'), 'ENOENT');
      },
    );
    defineCase(
      target,
      'with permission checks on: a directory the caller may not write is EACCES, another owner in a sticky one EPERM',
      ({ ws, db }) => {
        ws.mkdir('/locked', { mode: 0o755 });
        ws.mkdir('/sticky', { mode: 0o1777 });
        ws.writeFile('/locked/f', 'x');
        ws.writeFile('/sticky/f', 'x');
        ws.mkdir('/sticky/dir');
        const before = snapshot(ws);
        const caller = { uid: 2000, gid: 2000 };
        db.checkPermissions = true;
        try {
          const codes = db.withOwner(caller, () =>
            [
              () => unlinkAt(db, ws.stat('/locked').ino, 'f'),
              () => unlinkAt(db, ws.stat('/sticky').ino, 'f'),
              () => rmdirAt(db, ws.stat('/sticky').ino, 'dir'),
            ].map((fn) => {
              try {
                fn();
                return 'removed';
              } catch (error) {
                return (error as { code?: string }).code;
              }
            }),
          );
          expect(codes).toEqual(['EACCES', 'EPERM', 'EPERM']);
          expect(snapshot(ws)).toEqual(before);
        } finally {
          db.checkPermissions = false;
        }
        // The owner of the directory may.
        ws.chown('/sticky', caller.uid, caller.gid);
        db.checkPermissions = true;
        try {
          db.withOwner(caller, () => unlinkAt(db, ws.stat('/sticky').ino, 'f'));
        } finally {
          db.checkPermissions = false;
        }
        expect(ws.exists('/sticky/f')).toBe(false);
      },
      { owner: { uid: 0, gid: 0 } },
    );
  });
}
