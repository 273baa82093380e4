/**
 * Paths of any depth: Linux limits each argument of a system call to 4,096 bytes, not the depth
 * of a tree, so a workspace path may be far longer (up to 1 MiB), through the engine and the
 * provider the mount uses.
 *
 * @module
 */
import { describe, expect } from 'vitest';
import { SQLiteWorkspaceProvider } from '../../adapters/vfs/index.ts';
import { defineCase } from '../harness.ts';
import type { ConformanceTarget } from '../target.ts';

const NAME = 'n'.repeat(200);
/** A directory path `levels` names deep, each name 200 bytes. */
const deep = (levels: number, prefix = ''): string => `${prefix}/${Array(levels).fill(NAME).join('/')}`;

/** Cases for deep paths. */
export function depthCases(target: ConformanceTarget): void {
  describe('paths of any depth', () => {
    defineCase(
      target,
      'paths of 1, 2, 31, 32, 33 and 64 names, across one walk statement (32 names): found, missing, through a link',
      ({ ws }) => {
        for (const names of [1, 2, 31, 32, 33, 64]) {
          // `names` names in all: t<names>, then names - 2 directories, then the file.
          const dirs = Array.from({ length: Math.max(0, names - 2) }, (_, i) => `/d${i}`).join('');
          const parentDirs = `/t${names}${dirs}`;
          const file = names === 1 ? `/f${names}` : `${parentDirs}/f`;
          if (names > 1) ws.mkdir(parentDirs, { recursive: true });
          ws.writeFile(file, `at ${names}`);
          expect(file.split('/').length - 1).toBe(names);
          expect(ws.readFile(file, 'utf8')).toBe(`at ${names}`);
          expect(ws.stat(file).size).toBe(`at ${names}`.length);
          ws.writeFile(file, `again ${names}`);
          expect(ws.readFile(file, 'utf8')).toBe(`again ${names}`);
          expect(ws.exists(`${file}.missing`)).toBe(false);
          if (names > 1) {
            // A missing directory at the start of the path, and just before its last name.
            expect(() => ws.stat(`/nope${file}`)).toThrow(expect.objectContaining({ code: 'ENOENT' }));
            expect(() => ws.writeFile(`${parentDirs}/nope/f`, 'x')).toThrow(
              expect.objectContaining({ code: 'ENOENT' }),
            );
            // A file on the way is ENOTDIR; a link on the way is followed.
            expect(() => ws.stat(`${file}/x`)).toThrow(expect.objectContaining({ code: 'ENOTDIR' }));
            ws.symlink(parentDirs, `/l${names}`);
            expect(ws.readFile(`/l${names}/f`, 'utf8')).toBe(`again ${names}`);
            ws.writeFile(`/l${names}/g`, 'via link');
            expect(ws.readFile(`${parentDirs}/g`, 'utf8')).toBe('via link');
            ws.unlink(`/l${names}/g`);
            expect(ws.exists(`${parentDirs}/g`)).toBe(false);
          }
          ws.unlink(file);
          expect(ws.exists(file)).toBe(false);
        }
      },
    );
    defineCase(
      target,
      'mkdir -p of a new directory whose parent exists walks the path twice: to see it is no directory, then to its parent',
      ({ ws, guard }) => {
        ws.mkdir('/a/b', { recursive: true });
        const counted = (fn: () => void): number => {
          const before = guard.statements;
          fn();
          return guard.statements - before;
        };
        const plain = counted(() => ws.mkdir('/a/b/plain'));
        // One walk more than a plain mkdir (to see the path is no directory yet): 9 statements
        // against a plain 6 on node:sqlite before the walk that finds the parent was kept for the create.
        expect(counted(() => expect(ws.mkdir('/a/b/new', { recursive: true })).toBe('/a/b/new'))).toBe(plain + 1);
        expect(ws.stat('/a/b/new').isDirectory).toBe(true);
        // What the kept walk saw decides as a fresh one did: an existing file, a link to a directory.
        ws.writeFile('/a/b/file', 'x');
        expect(() => ws.mkdir('/a/b/file', { recursive: true })).toThrow(
          expect.objectContaining({ code: 'EEXIST', syscall: 'mkdir' }),
        );
        expect(() => ws.mkdir('/a/b/file/', { recursive: true })).toThrow(
          expect.objectContaining({ code: 'ENOTDIR', syscall: 'mkdir' }),
        );
        ws.symlink('/a/b/new', '/a/b/link');
        expect(ws.mkdir('/a/b/link', { recursive: true })).toBeUndefined();
        expect(ws.mkdir('/a/b/link/c', { recursive: true })).toBe('/a/b/link/c');
        expect(ws.stat('/a/b/new/c').isDirectory).toBe(true);
        expect(ws.fsck().ok).toBe(true);
      },
    );
    defineCase(
      target,
      'mkdir -p below a tree 600 levels deep walks a few times, not once per level, and stops where the old walk did',
      ({ ws, guard }) => {
        const levels = (count: number, prefix = '/t'): string =>
          `${prefix}/${Array.from({ length: count }, (_, i) => `d${i}`).join('/')}`;
        expect(ws.mkdir(levels(600), { recursive: true })).toBe('/t');
        // One level more under the 600: it was a walk of every prefix, 5,992 statements in all (rows
        // read quadratic in the depth); now it is a few walks of the path (19 statements each, 32 names
        // per statement) and the create.
        const before = guard.statements;
        expect(ws.mkdir(`${levels(600)}/new`, { recursive: true })).toBe(`${levels(600)}/new`);
        expect(guard.statements - before).toBeLessThan(120);
        // Missing levels from the middle down: the first created is the one after the deepest existing.
        expect(ws.mkdir(`${levels(300)}/x/y/z`, { recursive: true })).toBe(`${levels(300)}/x`);
        expect(ws.stat(`${levels(300)}/x/y/z`).isDirectory).toBe(true);
        // Through a symlink to a directory, and the errors on the way: a file, a dangling link, EEXIST.
        ws.symlink(levels(400), '/link');
        expect(ws.mkdir('/link/a/b', { recursive: true })).toBe('/link/a');
        expect(ws.stat(`${levels(400)}/a/b`).isDirectory).toBe(true);
        ws.writeFile(`${levels(500)}/file`, 'x');
        expect(() => ws.mkdir(`${levels(500)}/file/a/b`, { recursive: true })).toThrow(
          expect.objectContaining({ code: 'ENOTDIR', syscall: 'mkdir' }),
        );
        expect(() => ws.mkdir(`${levels(500)}/file`, { recursive: true })).toThrow(
          expect.objectContaining({ code: 'EEXIST', syscall: 'mkdir' }),
        );
        ws.symlink('/nowhere', `${levels(200)}/dangling`);
        expect(() => ws.mkdir(`${levels(200)}/dangling/a`, { recursive: true })).toThrow(
          expect.objectContaining({ code: 'ENOENT', syscall: 'mkdir' }),
        );
        expect(ws.exists('/nowhere')).toBe(false);
        expect(ws.exists(`${levels(500)}/file/a`)).toBe(false);
        expect(ws.fsck().ok).toBe(true);
      },
      { timeout: 120_000 },
    );
    defineCase(target, 'a tree 40 levels of 200-byte names deep (8 KiB paths) works with every primitive', (ctx) => {
      const { ws } = ctx;
      const dir = deep(40);
      expect(new TextEncoder().encode(dir).length).toBeGreaterThan(8000);
      ws.mkdir(dir, { recursive: true });
      ws.writeFile(`${dir}/f`, 'deep');
      expect(ws.readFile(`${dir}/f`, 'utf8')).toBe('deep');
      expect(ws.stat(`${dir}/f`).size).toBe(4);
      expect(ws.readdir(dir).map((entry) => entry.name)).toEqual(['f']);
      ws.symlink('f', `${dir}/l`);
      expect(ws.realpath(`${dir}/l`)).toBe(`${dir}/f`);
      ws.link(`${dir}/f`, `${dir}/h`);
      ws.copyFile(`${dir}/f`, `${dir}/c`);
      ws.appendFile(`${dir}/c`, '!');
      ws.truncate(`${dir}/c`, 2);
      ws.chmod(`${dir}/c`, 0o600);
      expect(ws.find('/', '**/c')).toEqual([`${dir}/c`]);
      expect(ws.grep('deep', '/').map((match) => match.path)).toEqual([`${dir}/f`, `${dir}/h`]);
      ws.rm(`${dir}/c`);
      ws.unlink(`${dir}/h`);
      ws.rm('/' + NAME, { recursive: true });
      expect(ws.readdir('/')).toEqual([]);
    });

    defineCase(target, 'a rename that makes a path longer than 4 KiB leaves it usable', (ctx) => {
      const { ws } = ctx;
      ws.mkdir(deep(15), { recursive: true });
      ws.mkdir(deep(15, '/b'), { recursive: true });
      ws.writeFile(`${deep(15, '/b')}/f`, 'moved');
      // /n…/n (15 levels) gets /b's tree below it: 30 levels, about 6 KiB.
      ws.rename('/b', `${deep(15)}/b`);
      const moved = `${deep(15)}/b${deep(15)}/f`;
      expect(ws.stat(moved).size).toBe(5);
      expect(ws.readFile(moved, 'utf8')).toBe('moved');
    });

    defineCase(target, 'the provider (what the mount uses) creates, writes and reads at 8 KiB paths', (ctx) => {
      const p = new SQLiteWorkspaceProvider(ctx.ws);
      const dir = deep(40);
      p.mkdirSync(dir, { recursive: true });
      p.openWriteBufferForCreateSync(`${dir}/f`);
      p.writeRangeSync(`${dir}/f`, new TextEncoder().encode('buffered'), 0);
      p.releaseWriteBufferSync(`${dir}/f`);
      expect(p.readFileSync(`${dir}/f`, 'utf8')).toBe('buffered');
      p.renameSync(`${dir}/f`, `${dir}/g`);
      expect(p.statSync(`${dir}/g`).size).toBe(8);
      p.rmSync(`/${NAME}`, { recursive: true });
    });
  });
}
