/**
 * Several processes on one workspace file (node:sqlite, WAL, busy timeout): writers take turns,
 * nothing is lost, and readers only ever see committed states.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { SQLiteWorkspaceProvider } from '../adapters/vfs/index.ts';
import { createNodeSqliteBackend } from '../backends/node-sqlite/index.ts';
import { openWorkspace } from '../core/workspace.ts';
import { recordFigure } from './support/reliability-report.ts';
import { ROOT } from './support/wrangler-dev.ts';

const run = promisify(execFile);
const CHILD = join(ROOT, 'test', 'support', 'concurrent-child.ts');

describe('several processes on one workspace file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dofs-concurrency-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('three writers, a replacer and a reader: every write lands, no read is torn', async () => {
    const db = join(dir, 'shared.db');
    const setup = openWorkspace(createNodeSqliteBackend({ path: db }), { chunkSize: 1024 });
    setup.writeFile('/shared', '0'.repeat(5000));
    setup.writeFile('/log', '');
    for (const id of [1, 2, 3]) setup.mkdir(`/w${id}`);
    setup.close();

    const STEPS = 150;
    const spawnChild = (role: string, id: number) =>
      run(process.execPath, [CHILD, db, role, String(id), String(STEPS)]).then(({ stdout }) => JSON.parse(stdout));
    const results = await Promise.all([
      spawnChild('writer', 1),
      spawnChild('writer', 2),
      spawnChild('writer', 3),
      spawnChild('replacer', 0),
      spawnChild('reader', 0),
    ]);

    const ws = openWorkspace(createNodeSqliteBackend({ path: db }));
    expect(ws.fsck().problems).toEqual([]);
    const log = ws.readFile('/log', 'utf8').trim().split('\n');
    expect(log).toHaveLength(3 * STEPS);
    for (const id of [1, 2, 3]) {
      const mine = log.filter((line) => line.startsWith(`${id}:`)).map((line) => Number(line.split(':')[1]));
      expect(mine).toEqual(Array.from({ length: STEPS }, (_, i) => i)); // in order, none lost, none twice
      expect(ws.readdir(`/w${id}`)).toHaveLength(STEPS);
    }
    const last = (STEPS - 1) % 10;
    expect(ws.readFile('/shared', 'utf8')).toBe(String(last).repeat(5000 + 1000 * last));
    const reader = results.find((r) => r.role === 'reader');
    expect(reader.reads).toBeGreaterThan(0);
    expect(reader.torn).toBe(0);
    recordFigure(
      'concurrency',
      `5 processes on one file: ${3 * STEPS} creates and ${3 * STEPS} appends from 3 writers all present and in order, ` +
        `${STEPS} whole-file replacements, ${reader.reads} concurrent reads, 0 torn`,
    );
    ws.close();
  }, 120_000);

  it('a buffered session (the mount) and `dofs put` of the same file in another process: merged, fsck clean', async () => {
    // The repro without FUSE: the mount's session writes 256 KiB, the CLI puts 192 KiB meanwhile.
    const db = join(dir, 'two-writers.db');
    const ws = openWorkspace(createNodeSqliteBackend({ path: db }));
    const provider = new SQLiteWorkspaceProvider(ws);
    const KiB = 1024;
    const mine = Buffer.alloc(256 * KiB, 'm');
    provider.openWriteBufferForCreateSync('/f');
    provider.writeRangeSync('/f', mine, 0);
    provider.releaseWriteBufferSync('/f');
    provider.openWriteBufferSync('/f');
    provider.writeRangeSync('/f', Buffer.alloc(64 * KiB, 'x'), 128 * KiB);
    const theirs = join(dir, 'theirs');
    writeFileSync(theirs, Buffer.alloc(192 * KiB, 'c'));
    await run(process.execPath, [join(ROOT, 'adapters/cli/bin.ts'), '--db', db, 'put', theirs, '/f']);
    provider.releaseWriteBufferSync('/f');
    const expected = Buffer.alloc(192 * KiB, 'c');
    expected.fill('x', 128 * KiB);
    expect(ws.fsck().problems).toEqual([]);
    expect(Buffer.from(ws.readFile('/f'))).toEqual(expected);
    const { stdout } = await run(process.execPath, [join(ROOT, 'adapters/cli/bin.ts'), '--db', db, 'cat', '/f'], {
      encoding: 'buffer',
      maxBuffer: 1 << 24,
    });
    expect(stdout).toEqual(expected);
    ws.close();
  }, 60_000);
});
