/**
 * Bad input: every entry point refuses bad paths, offsets, lengths and modes with its POSIX code
 * and changes nothing.
 *
 * @module
 */
import { describe } from 'vitest';
import type { ErrorCode } from '../../core/errors.ts';
import type { Workspace } from '../../core/workspace.ts';
import { defineCase, expectRefused } from '../harness.ts';
import type { ConformanceTarget } from '../target.ts';

/** Paths no operation accepts, with the code each earns. */
const BAD_PATHS: ReadonlyArray<[label: string, path: string, code: ErrorCode]> = [
  ['an empty path', '', 'EINVAL'],
  ['a relative path', 'a/b', 'EINVAL'],
  ['a NUL byte', '/a\0b', 'EINVAL'],
  ['a name over 255 bytes', `/${'n'.repeat(256)}`, 'ENAMETOOLONG'],
  ['a multi-byte name over 255 bytes', `/${'é'.repeat(128)}`, 'ENAMETOOLONG'],
  ['a path over 1 MiB', `/${'d/'.repeat(512 * 1024 + 1)}f`, 'ENAMETOOLONG'],
  ["'..' above the root", '/a/../../b', 'EINVAL'],
];

/** One operation taking a path, applied to the bad path. */
const OPERATIONS: ReadonlyArray<[name: string, apply: (ws: Workspace, path: string) => unknown]> = [
  ['mkdir', (ws, p) => ws.mkdir(p)],
  ['mkdir recursive', (ws, p) => ws.mkdir(p, { recursive: true })],
  ['writeFile', (ws, p) => ws.writeFile(p, 'x')],
  ['appendFile', (ws, p) => ws.appendFile(p, 'x')],
  ['readFile', (ws, p) => ws.readFile(p)],
  ['stat', (ws, p) => ws.stat(p)],
  ['lstat', (ws, p) => ws.lstat(p)],
  ['readdir', (ws, p) => ws.readdir(p)],
  ['rm', (ws, p) => ws.rm(p, { recursive: true, force: true })],
  ['rmdir', (ws, p) => ws.rmdir(p)],
  ['unlink', (ws, p) => ws.unlink(p)],
  ['rename from', (ws, p) => ws.rename(p, '/dir/moved')],
  ['rename to', (ws, p) => ws.rename('/dir/file', p)],
  ['copyFile to', (ws, p) => ws.copyFile('/dir/file', p)],
  ['link to', (ws, p) => ws.link('/dir/file', p)],
  ['symlink at', (ws, p) => ws.symlink('/dir/file', p)],
  ['readlink', (ws, p) => ws.readlink(p)],
  ['realpath', (ws, p) => ws.realpath(p)],
  ['chmod', (ws, p) => ws.chmod(p, 0o600)],
  ['utimes', (ws, p) => ws.utimes(p, 1, 2)],
  ['truncate', (ws, p) => ws.truncate(p, 1)],
];

function seed(ws: Workspace): void {
  ws.mkdir('/dir');
  ws.writeFile('/dir/file', 'content');
}

/** Cases for bad input. */
export function badInputCases(target: ConformanceTarget): void {
  describe('bad paths', () => {
    for (const [operation, apply] of OPERATIONS) {
      for (const [label, path, code] of BAD_PATHS) {
        // A NUL in a path is the same check everywhere; one operation per group keeps the count honest.
        defineCase(target, `${operation} refuses ${label} with ${code}`, async ({ ws }) => {
          seed(ws);
          await expectRefused(ws, () => apply(ws, path), code);
        });
      }
    }
  });

  describe('bad offsets, lengths and modes', () => {
    const numbers: ReadonlyArray<[string, number]> = [
      ['negative', -1],
      ['fractional', 1.5],
      ['NaN', Number.NaN],
      ['infinite', Number.POSITIVE_INFINITY],
    ];
    for (const [label, value] of numbers) {
      defineCase(target, `truncate refuses a ${label} length`, async ({ ws }) => {
        seed(ws);
        await expectRefused(ws, () => ws.truncate('/dir/file', value), 'EINVAL');
      });
      defineCase(target, `readFile refuses a ${label} byteOffset`, async ({ ws }) => {
        seed(ws);
        await expectRefused(ws, () => ws.readFile('/dir/file', { byteOffset: value }), 'EINVAL');
      });
      defineCase(target, `readFile refuses a ${label} byteLength`, async ({ ws }) => {
        seed(ws);
        await expectRefused(ws, () => ws.readFile('/dir/file', { byteLength: value }), 'EINVAL');
      });
      defineCase(target, `readdir refuses a ${label} limit`, async ({ ws }) => {
        seed(ws);
        await expectRefused(ws, () => ws.readdir('/dir', { limit: value }), 'EINVAL');
      });
    }
    defineCase(target, 'readdir refuses an after that is not a string', async ({ ws }) => {
      seed(ws);
      await expectRefused(ws, () => ws.readdir('/dir', { after: 5 as unknown as string }), 'EINVAL');
    });
    const modes: ReadonlyArray<[string, number]> = [
      ['negative', -1],
      ['above 0o7777', 0o10000],
      ['fractional', 0.5],
    ];
    for (const [label, mode] of modes) {
      defineCase(target, `chmod refuses a ${label} mode`, async ({ ws }) => {
        seed(ws);
        await expectRefused(ws, () => ws.chmod('/dir/file', mode), 'EINVAL');
      });
      defineCase(target, `mkdir refuses a ${label} mode`, async ({ ws }) => {
        seed(ws);
        await expectRefused(ws, () => ws.mkdir('/dir/sub', { mode }), 'EINVAL');
      });
      defineCase(target, `writeFile refuses a ${label} mode`, async ({ ws }) => {
        seed(ws);
        await expectRefused(ws, () => ws.writeFile('/dir/file', 'new', { mode }), 'EINVAL');
      });
    }
    defineCase(target, 'utimes refuses a NaN time', async ({ ws }) => {
      seed(ws);
      await expectRefused(ws, () => ws.utimes('/dir/file', Number.NaN, 1), 'EINVAL');
    });
    defineCase(target, 'readFile refuses an unknown encoding', async ({ ws }) => {
      seed(ws);
      await expectRefused(ws, () => ws.readFile('/dir/file', 'latin1' as 'utf8'), 'EINVAL');
    });
    defineCase(target, 'writeFile refuses data that is not bytes or a string', async ({ ws }) => {
      seed(ws);
      await expectRefused(ws, () => ws.writeFile('/dir/file', 42 as unknown as string), 'EINVAL');
    });
    defineCase(target, 'symlink refuses an empty target with ENOENT', async ({ ws }) => {
      seed(ws);
      await expectRefused(ws, () => ws.symlink('', '/dir/link'), 'ENOENT');
    });
    defineCase(target, 'symlink refuses a target with a NUL byte', async ({ ws }) => {
      seed(ws);
      await expectRefused(ws, () => ws.symlink('a\0b', '/dir/link'), 'EINVAL');
    });
  });

  describe('operations on the wrong kind of node', () => {
    const wrongKind: ReadonlyArray<[string, (ws: Workspace) => unknown, ErrorCode]> = [
      ['writeFile to a directory', (ws) => ws.writeFile('/dir', 'x'), 'EISDIR'],
      ['appendFile to a directory', (ws) => ws.appendFile('/dir', 'x'), 'EISDIR'],
      ['readFile of a directory', (ws) => ws.readFile('/dir'), 'EISDIR'],
      ['truncate of a directory', (ws) => ws.truncate('/dir', 0), 'EISDIR'],
      ['mkdir over a file', (ws) => ws.mkdir('/dir/file'), 'EEXIST'],
      ['mkdir recursive over a file', (ws) => ws.mkdir('/dir/file', { recursive: true }), 'EEXIST'],
      ['mkdir recursive through a file', (ws) => ws.mkdir('/dir/file/sub', { recursive: true }), 'ENOTDIR'],
      ['mkdir of the root', (ws) => ws.mkdir('/', { recursive: true }), 'EEXIST'],
      ['mkdir without its parent', (ws) => ws.mkdir('/missing/sub'), 'ENOENT'],
      ['rmdir of a non-empty directory', (ws) => ws.rmdir('/dir'), 'ENOTEMPTY'],
      ['rmdir of a file', (ws) => ws.rmdir('/dir/file'), 'ENOTDIR'],
      ['rmdir of the root', (ws) => ws.rmdir('/'), 'EBUSY'],
      ['unlink of a directory', (ws) => ws.unlink('/dir'), 'EISDIR'],
      ['rm of a directory without recursive', (ws) => ws.rm('/dir'), 'EISDIR'],
      ['rm of the root', (ws) => ws.rm('/', { recursive: true, force: true }), 'EPERM'],
      ['rm of a missing path', (ws) => ws.rm('/missing'), 'ENOENT'],
      ['readdir of a file', (ws) => ws.readdir('/dir/file'), 'ENOTDIR'],
      ['readlink of a file', (ws) => ws.readlink('/dir/file'), 'EINVAL'],
      ['link to a directory', (ws) => ws.link('/dir', '/dir2'), 'EPERM'],
      ['link over an existing name', (ws) => ws.link('/dir/file', '/dir'), 'EEXIST'],
      ['symlink over an existing name', (ws) => ws.symlink('x', '/dir/file'), 'EEXIST'],
      ['a file used as a directory', (ws) => ws.stat('/dir/file/x'), 'ENOTDIR'],
      ['writeFile exclusive over a file', (ws) => ws.writeFile('/dir/file', 'x', { exclusive: true }), 'EEXIST'],
      ['writeFile under a missing directory', (ws) => ws.writeFile('/missing/file', 'x'), 'ENOENT'],
      ['copyFile of a directory', (ws) => ws.copyFile('/dir', '/copy'), 'EISDIR'],
      ['copyFile onto a directory', (ws) => ws.copyFile('/dir/file', '/dir'), 'EISDIR'],
      ['copyFile exclusive over a file', (ws) => ws.copyFile('/dir/file', '/dir/file2', { exclusive: true }), 'EEXIST'],
      ['copyFile of a missing file', (ws) => ws.copyFile('/missing', '/copy'), 'ENOENT'],
      ['rename of a directory into itself', (ws) => ws.rename('/dir', '/dir/inner'), 'EINVAL'],
      ['rename of a directory over a file', (ws) => ws.rename('/dir', '/top'), 'ENOTDIR'],
      ['rename of a file over a directory', (ws) => ws.rename('/top', '/dir'), 'EISDIR'],
      ['rename of a directory over a non-empty one', (ws) => ws.rename('/empty', '/dir'), 'ENOTEMPTY'],
      ['rename of a missing path', (ws) => ws.rename('/missing', '/x'), 'ENOENT'],
      ['rename into a missing directory', (ws) => ws.rename('/top', '/missing/x'), 'ENOENT'],
      ['rename of the root', (ws) => ws.rename('/', '/x'), 'EBUSY'],
      ['chmod of a missing path', (ws) => ws.chmod('/missing', 0o600), 'ENOENT'],
      ['a symlink loop', (ws) => ws.readFile('/loop1'), 'ELOOP'],
      ['a symlink loop as a directory', (ws) => ws.stat('/loop1/x'), 'ELOOP'],
    ];
    for (const [label, apply, code] of wrongKind) {
      defineCase(target, `${label} is ${code}`, async ({ ws }) => {
        seed(ws);
        ws.writeFile('/dir/file2', 'second');
        ws.writeFile('/top', 'top');
        ws.mkdir('/empty');
        ws.symlink('/loop2', '/loop1');
        ws.symlink('/loop1', '/loop2');
        await expectRefused(ws, () => apply(ws), code);
      });
    }
  });
}
