/**
 * find, ls, grep.
 *
 * @module
 */
import { describe, expect } from 'vitest';
import { DEFAULT_GREP_LIMIT } from '../../core/fs/search.ts';
import type { Workspace } from '../../core/workspace.ts';
import { defineCase, expectRefused } from '../harness.ts';
import type { ConformanceTarget } from '../target.ts';

function seedProject(ws: Workspace): void {
  ws.mkdir('/p/src/lib', { recursive: true });
  ws.mkdir('/p/node_modules/dep', { recursive: true });
  ws.writeFile('/p/README.md', '# Title\nSome text\nTODO: write more\n');
  ws.writeFile('/p/src/main.ts', 'import x from "./lib/x";\n// TODO fix\nconsole.log(x);\n');
  ws.writeFile('/p/src/lib/x.ts', 'export default 42;\n');
  ws.writeFile('/p/src/.hidden.ts', 'secret TODO\n');
  ws.writeFile('/p/node_modules/dep/index.js', 'module.exports = "TODO";\n');
  ws.writeFile('/p/binary.bin', new Uint8Array([0x54, 0x4f, 0x44, 0x4f, 0, 1, 2]));
  ws.symlink('src', '/p/link-to-src');
}

/** Cases for searching. */
export function searchCases(target: ConformanceTarget): void {
  describe('find', () => {
    defineCase(target, 'matches globs relative to the directory, dotfiles included', ({ ws }) => {
      seedProject(ws);
      expect(ws.find('/p', '**/*.ts')).toEqual(['/p/src/.hidden.ts', '/p/src/lib/x.ts', '/p/src/main.ts']);
      expect(ws.find('/p', '*.md')).toEqual(['/p/README.md']);
      expect(ws.find('/p/src', '????.ts')).toEqual(['/p/src/main.ts']);
    });
    defineCase(target, 'does not descend symlinks', ({ ws }) => {
      seedProject(ws);
      expect(ws.find('/p', 'link-to-src/*')).toEqual([]);
      expect(ws.find('/p', 'link-*')).toEqual(['/p/link-to-src']);
    });
    defineCase(target, 'excludes whole subtrees', ({ ws }) => {
      seedProject(ws);
      expect(ws.find('/p', '**/*.{js,ts}', { exclude: ['node_modules'] })).not.toContain(
        '/p/node_modules/dep/index.js',
      );
      expect(ws.find('/p', '**', { exclude: ['node_modules', 'src'] })).toEqual([
        '/p/README.md',
        '/p/binary.bin',
        '/p/link-to-src',
      ]);
    });
    defineCase(target, 'pages with limit and offset', ({ ws }) => {
      seedProject(ws);
      const all = ws.find('/p', '**');
      expect(ws.find('/p', '**', { limit: 3 })).toEqual(all.slice(0, 3));
      expect(ws.find('/p', '**', { offset: 3, limit: 3 })).toEqual(all.slice(3, 6));
    });
    defineCase(target, 'refuses a glob longer than 1024 characters', async ({ ws }) => {
      seedProject(ws);
      await expectRefused(ws, () => ws.find('/p', `${'*/'.repeat(600)}x`), 'EINVAL');
    });
    defineCase(target, 'refuses an empty pattern', async ({ ws }) => {
      seedProject(ws);
      await expectRefused(ws, () => ws.find('/p', ''), 'EINVAL');
    });
    defineCase(target, 'of a file is ENOTDIR', async ({ ws }) => {
      seedProject(ws);
      await expectRefused(ws, () => ws.find('/p/README.md', '*'), 'ENOTDIR');
    });
  });

  describe('ls', () => {
    defineCase(target, 'lists every non-directory path below a prefix', ({ ws }) => {
      seedProject(ws);
      expect(ws.ls('/p/src')).toEqual(['/p/src/.hidden.ts', '/p/src/lib/x.ts', '/p/src/main.ts']);
      expect(ws.ls()).toContain('/p/link-to-src');
      expect(ws.ls('/p/README.md')).toEqual(['/p/README.md']);
    });
  });

  describe('grep', () => {
    defineCase(target, 'finds a literal in every text file below a path, skipping binaries', ({ ws }) => {
      seedProject(ws);
      const hits = ws.grep('TODO', '/p').map((m) => `${m.path}:${m.line}`);
      expect(hits).toEqual([
        '/p/README.md:3',
        '/p/node_modules/dep/index.js:1',
        '/p/src/.hidden.ts:1',
        '/p/src/main.ts:2',
      ]);
    });
    defineCase(target, 'treats regex characters literally unless asked', ({ ws }) => {
      ws.writeFile('/f', 'a.b\naxb\n');
      expect(ws.grep('a.b', '/f').map((m) => m.text)).toEqual(['a.b']);
      expect(ws.grep('a.b', '/f', { regex: true }).map((m) => m.text)).toEqual(['a.b', 'axb']);
    });
    defineCase(target, 'ignores case on request', ({ ws }) => {
      ws.writeFile('/f', 'Hello\nhello\nHELLO\nbye\n');
      expect(ws.grep('hello', '/f', { ignoreCase: true })).toHaveLength(3);
      expect(ws.grep('hello', '/f')).toHaveLength(1);
    });
    defineCase(target, 'returns context lines', ({ ws }) => {
      ws.writeFile('/f', 'one\ntwo\nthree\nfour\nfive\n');
      const [match] = ws.grep('three', '/f', { context: 1 });
      expect(match).toEqual({ path: '/f', line: 3, text: 'three', before: ['two'], after: ['four'] });
    });
    defineCase(target, 'filters files with include globs', ({ ws }) => {
      seedProject(ws);
      expect(ws.grep('TODO', '/p', { include: ['*.ts'] }).map((m) => m.path)).toEqual([
        '/p/src/.hidden.ts',
        '/p/src/main.ts',
      ]);
    });
    defineCase(target, 'pages matches with limit and offset', ({ ws }) => {
      ws.writeFile('/f', Array.from({ length: 10 }, (_, i) => `match ${i}`).join('\n'));
      expect(ws.grep('match', '/f', { offset: 2, limit: 3 }).map((m) => m.line)).toEqual([3, 4, 5]);
    });
    defineCase(target, 'refuses a bad regular expression', async ({ ws }) => {
      ws.writeFile('/f', 'x');
      await expectRefused(ws, () => ws.grep('(unclosed', '/f', { regex: true }), 'EINVAL');
    });
    defineCase(target, 'of a missing path is ENOENT', async ({ ws }) => {
      await expectRefused(ws, () => ws.grep('x', '/missing'), 'ENOENT');
    });
    defineCase(target, 'a pattern that backtracks catastrophically elsewhere runs in linear time', ({ ws }) => {
      ws.writeFile('/f', `${'a'.repeat(30_000)}!\n`);
      const started = Date.now();
      expect(ws.grep('(a+)+$', '/f', { regex: true })).toEqual([]);
      expect(ws.grep('^(a|aa)+!$', '/f', { regex: true })).toHaveLength(1);
      // A backtracking engine takes hours here; the bound is generous for a loaded machine.
      expect(Date.now() - started).toBeLessThan(5_000);
    });
    defineCase(target, 'lookaround and backreferences are refused, not run', async ({ ws }) => {
      ws.writeFile('/f', 'x');
      await expectRefused(ws, () => ws.grep('(?=x)', '/f', { regex: true }), 'EINVAL');
      await expectRefused(ws, () => ws.grep('(x)\\1', '/f', { regex: true }), 'EINVAL');
    });
    defineCase(target, 'without a limit, at most DEFAULT_GREP_LIMIT matches come back', ({ ws }) => {
      ws.writeFile('/f', 'm\n'.repeat(DEFAULT_GREP_LIMIT + 5));
      expect(ws.grep('m', '/f')).toHaveLength(DEFAULT_GREP_LIMIT);
      expect(ws.grep('m', '/f', { limit: DEFAULT_GREP_LIMIT + 100 })).toHaveLength(DEFAULT_GREP_LIMIT + 5);
    });
  });
}
