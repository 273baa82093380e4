// The durability level a user chooses (`--synchronous full`) reaches SQLite's connection.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openCliWorkspace, parseSynchronous } from '../adapters/cli/context.ts';
import { UsageError } from '../adapters/cli/errors.ts';
import { buildProgram } from '../adapters/cli/program.ts';

/** PRAGMA synchronous as SQLite reports it: 1 NORMAL, 2 FULL. */
const level = (ws: ReturnType<typeof openCliWorkspace>): number =>
  Number(ws.db.backend.all<{ synchronous: number }>('PRAGMA synchronous')[0].synchronous);

describe('--synchronous', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'dofs-sync-level-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('sets PRAGMA synchronous on the connection the CLI opens (normal by default)', () => {
    const db = join(dir, 'ws.db');
    for (const [synchronous, expected] of [
      [undefined, 1],
      [parseSynchronous('full'), 2],
      [parseSynchronous('NORMAL'), 1],
    ] as const) {
      const ws = openCliWorkspace(db, { create: true, synchronous });
      try {
        expect(level(ws)).toBe(expected);
      } finally {
        ws.close();
      }
    }
  });

  it('is a global option of every command, parsed before anything is opened', async () => {
    const program = buildProgram({ writeOut: () => {}, writeErr: () => {} });
    const db = join(dir, 'never.db');
    await expect(program.parseAsync(['node', 'dofs', '--db', db, '--synchronous', 'sometimes', 'ls'])).rejects.toThrow(
      UsageError,
    );
    expect(existsSync(db)).toBe(false);
    expect(() => parseSynchronous('off')).toThrow("--synchronous: expected 'normal' or 'full', got 'off'");
  });
});
