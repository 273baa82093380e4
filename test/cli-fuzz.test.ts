/**
 * Hostile command lines: random commands, options and arguments (unicode, NUL-free junk, `..`,
 * huge numbers, negative counts, unknown flags) given to the real `dofs` binary on a workspace.
 * Every run must end with exit 0, 1 (a filesystem error, or grep finding nothing) or 2 (a usage
 * error), print errors as one `dofs:` line with no stack trace, and leave the workspace unchanged
 * when it fails.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { createNodeSqliteBackend } from '../backends/node-sqlite/index.ts';
import { snapshot } from '../conformance/snapshot.ts';
import { openWorkspace } from '../core/workspace.ts';
import { ROOT } from './support/wrangler-dev.ts';

const BIN = join(ROOT, 'adapters', 'cli', 'bin.ts');

function dofs(args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { timeout: 30_000, env: { ...process.env, DOFS_NO_PROGRESS: '1' } },
      (error, _stdout, stderr) => {
        resolve({ code: error ? Number((error as { code?: unknown }).code ?? -1) : 0, stderr });
      },
    );
  });
}

const word = fc.oneof(
  fc.constantFrom(
    '/',
    '/a',
    '/d/f',
    '..',
    '/../..',
    '-1',
    '99999999999999999999',
    'NaN',
    '*',
    '**/*',
    '(',
    '[',
    '-',
    '--',
    '',
  ),
  fc.string({ minLength: 1, maxLength: 12 }).filter((s) => !s.includes('\0')),
);
const command = fc.constantFrom(
  'ls',
  'cat',
  'stat',
  'find',
  'grep',
  'rm',
  'mv',
  'mkdir',
  'put',
  'du',
  'fsck',
  'gc',
  'init',
  'bogus',
);
const flag = fc.constantFrom(
  '-r',
  '-f',
  '-p',
  '-l',
  '-E',
  '-i',
  '-C',
  '--limit',
  '--json',
  '--mode',
  '--chunk-size',
  '--exclude',
  '--unknown',
);

describe('dofs with hostile command lines', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dofs-cli-fuzz-'));
  const db = join(dir, 'ws.db');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('exits 0, 1 or 2 with a one-line message, and a failure changes nothing', async () => {
    const ws = openWorkspace(createNodeSqliteBackend({ path: db }));
    ws.mkdir('/d');
    ws.writeFile('/d/f', 'content\n');
    ws.close();
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(command, fc.array(fc.oneof(word, flag), { maxLength: 4 }), async (name, rest) => {
        const read = () => {
          const workspace = openWorkspace(createNodeSqliteBackend({ path: db }), { readOnly: true });
          try {
            return snapshot(workspace);
          } finally {
            workspace.close();
          }
        };
        const before = read();
        const { code, stderr } = await dofs(['--db', db, name, ...rest]);
        runs++;
        expect([0, 1, 2], `exit ${code} for ${JSON.stringify([name, ...rest])}: ${stderr}`).toContain(code);
        expect(stderr, 'no stack traces').not.toMatch(/\n\s+at .+:\d+:\d+/);
        if (code !== 0) {
          // grep without a match exits 1 silently, as grep does; any message is one `dofs:` line.
          if (stderr.trim() !== '') expect(stderr.trim().split('\n')[0]).toMatch(/^dofs: /);
          else expect(name).toBe('grep');
          expect(read()).toEqual(before);
        }
      }),
      { numRuns: 40 },
    );
    expect(runs).toBe(40);
  }, 240_000);
});
