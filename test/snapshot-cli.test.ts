// `dofs snapshot …`, `dofs fork` and `dofs merge` as a user runs them: spawned processes on real
// temporary database files, checked by exit status, stdout and stderr.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDofs } from './support/cli.ts';

let dir: string;
const dofs = (db: string, args: string[], input?: string) => runDofs(dir, ['--db', db, ...args], { input });

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'dofs-snapshot-cli-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('dofs snapshot', { timeout: 60_000 }, () => {
  it('create, list, diff, restore and delete, with the undo snapshot a restore names', async () => {
    const db = 'snap.db';
    expect((await dofs(db, ['put', '-', '/a.txt'], 'one\n')).status).toBe(0);
    expect((await dofs(db, ['put', '-', '/b.txt'], 'bee\n')).status).toBe(0);
    const created = await dofs(db, ['snapshot', 'create', 'first']);
    expect(created).toMatchObject({ status: 0, stderr: '' });
    expect(created.stdout).toMatch(/^snapshot first \(revision \d+\)\n$/);
    await dofs(db, ['put', '-', '/a.txt'], 'two\n');
    await dofs(db, ['rm', '/b.txt']);
    await dofs(db, ['put', '-', '/c.txt'], 'sea\n');
    const unnamed = JSON.parse((await dofs(db, ['snapshot', 'create', '--json'])).stdout);
    expect(unnamed.name).toBe(`snapshot-${unnamed.id}`);

    expect((await dofs(db, ['snapshot', 'diff', 'first'])).stdout).toBe('M /a.txt (content)\nD /b.txt\nA /c.txt\n');
    expect((await dofs(db, ['snapshot', 'diff', unnamed.name, 'first'])).stdout).toBe(
      'M /a.txt (content)\nA /b.txt\nD /c.txt\n',
    );
    const listed = JSON.parse((await dofs(db, ['snapshot', 'list', '--json'])).stdout);
    expect(listed.map((row: { name: string }) => row.name)).toEqual(['first', unnamed.name]);
    expect((await dofs(db, ['snapshot', 'list'])).stdout).toMatch(
      /^first\t\d{4}-\d\d-\d\dT.*\trevision \d+\t\d+ bytes alone\n/,
    );

    const restored = await dofs(db, ['snapshot', 'restore', 'first']);
    expect(restored.status).toBe(0);
    const undo = /undo with: dofs snapshot restore (\S+)/.exec(restored.stdout)?.[1];
    expect(undo).toMatch(/^before-restore-\d+$/);
    expect((await dofs(db, ['cat', '/a.txt'])).stdout).toBe('one\n');
    expect((await dofs(db, ['cat', '/b.txt'])).stdout).toBe('bee\n');
    expect((await dofs(db, ['snapshot', 'diff', 'first'])).stdout).toBe('');
    await dofs(db, ['snapshot', 'restore', String(undo)]);
    expect((await dofs(db, ['cat', '/c.txt'])).stdout).toBe('sea\n');

    expect((await dofs(db, ['snapshot', 'delete', 'first'])).stdout).toBe('deleted snapshot first\n');
    const names = JSON.parse((await dofs(db, ['snapshot', 'list', '--json'])).stdout).map(
      (row: { name: string }) => row.name,
    );
    expect(names).toEqual([unnamed.name, undo, expect.stringMatching(/^before-restore-/)]);
    expect((await dofs(db, ['fsck'])).status).toBe(0);
  });

  it('a missing or taken name is exit 1 with the code, a bad one too, and nothing changes', async () => {
    const db = 'errors.db';
    await dofs(db, ['put', '-', '/f'], 'x');
    await dofs(db, ['snapshot', 'create', 's']);
    for (const [args, code] of [
      [['snapshot', 'create', 's'], 'EEXIST'],
      [['snapshot', 'create', 'a/b'], 'EINVAL'],
      [['snapshot', 'restore', 'nope'], 'ENOENT'],
      [['snapshot', 'diff', 'nope'], 'ENOENT'],
      [['snapshot', 'delete', 'nope'], 'ENOENT'],
    ] as const) {
      const result = await dofs(db, [...args]);
      expect(result.status, args.join(' ')).toBe(1);
      expect(result.stderr).toContain(code);
    }
    expect((await dofs(db, ['snapshot', 'restore'])).status).toBe(2);
    expect(JSON.parse((await dofs(db, ['snapshot', 'list', '--json'])).stdout)).toHaveLength(1);
  });
});

describe('dofs fork and merge', { timeout: 60_000 }, () => {
  it('fork copies the workspace; merge brings the fork back, conflicts kept beside', async () => {
    const main = 'main.db';
    await dofs(main, ['put', '-', '/shared.txt'], 'base\n');
    await dofs(main, ['put', '-', '/both.txt'], 'base\n');
    await dofs(main, ['put', '-', '/gone.txt'], 'base\n');
    const forked = await dofs(main, ['fork', 'copy.db']);
    expect(forked.status).toBe(0);
    expect(forked.stdout).toMatch(/^forked into copy\.db: \d+ nodes, \d+ blobs .* merge base fork-[0-9a-f]+\n$/);
    expect((await dofs('copy.db', ['cat', '/shared.txt'])).stdout).toBe('base\n');
    expect((await dofs(main, ['fork', 'copy.db'])).status).toBe(1);

    await dofs('copy.db', ['put', '-', '/shared.txt'], 'from the fork\n');
    await dofs('copy.db', ['put', '-', '/both.txt'], 'fork version\n');
    await dofs('copy.db', ['rm', '/gone.txt']);
    await dofs('copy.db', ['put', '-', '/added.txt'], 'new\n');
    await dofs(main, ['put', '-', '/both.txt'], 'main version\n');

    const merged = await dofs(main, ['merge', 'copy.db', '--json']);
    expect(merged.status).toBe(0);
    const result = JSON.parse(merged.stdout);
    expect(result.applied).toEqual(['/added.txt', '/gone.txt', '/shared.txt']);
    expect(result.conflicts).toEqual([{ path: '/both.txt', copy: expect.stringMatching(/^\/both\.txt\.conflict-/) }]);
    expect((await dofs(main, ['cat', '/shared.txt'])).stdout).toBe('from the fork\n');
    expect((await dofs(main, ['cat', '/both.txt'])).stdout).toBe('main version\n');
    expect((await dofs(main, ['cat', result.conflicts[0].copy])).stdout).toBe('fork version\n');
    expect((await dofs(main, ['cat', '/gone.txt'])).status).toBe(1);
    expect((await dofs(main, ['fsck'])).status).toBe(0);
    expect((await dofs('copy.db', ['fsck'])).status).toBe(0);
  });

  it('branches: create, list, switch, merge and delete', async () => {
    const db = 'branches.db';
    await dofs(db, ['put', '-', '/a.txt'], 'base\n');
    expect((await dofs(db, ['branch', 'create', 'try'])).stdout).toBe('created branch try\n');
    expect((await dofs(db, ['branch'])).stdout).toBe('* main\n  try\n');
    expect((await dofs(db, ['branch', 'switch', 'try'])).stdout).toBe('switched to branch try\n');
    await dofs(db, ['put', '-', '/b.txt'], 'tried\n');
    await dofs(db, ['branch', 'switch', 'main']);
    expect((await dofs(db, ['cat', '/b.txt'])).status).toBe(1);
    const merged = await dofs(db, ['branch', 'merge', 'try']);
    expect(merged.stdout).toBe('merged 1 path from branch try (base branch-base:try)\n');
    expect((await dofs(db, ['cat', '/b.txt'])).stdout).toBe('tried\n');
    expect((await dofs(db, ['branch', 'delete', 'try'])).status).toBe(0);
    expect((await dofs(db, ['branch', 'switch', 'try'])).status).toBe(1);
    expect((await dofs(db, ['branch', 'list'])).stdout).toBe('* main\n');
  });

  it('merging a workspace that was never forked is exit 1 and changes nothing', async () => {
    await dofs('alone.db', ['put', '-', '/f'], 'x');
    await dofs('other.db', ['put', '-', '/g'], 'y');
    const result = await dofs('alone.db', ['merge', 'other.db']);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('EINVAL');
    expect((await dofs('alone.db', ['ls'])).stdout).toBe('f\n');
    expect(existsSync(join(dir, 'alone.db'))).toBe(true);
  });
});
