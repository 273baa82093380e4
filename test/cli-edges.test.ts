// The `dofs` command's rough edges, each driven as a user meets it: a spawned process, checked by
// exit status (1 for filesystem errors, 2 for usage errors), stdout, stderr and what is left on disk.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, runDofs, startDofs } from './support/cli.ts';

// Every run here has no sync token in its environment, whatever the caller's shell has.
const NO_TOKEN = { DOFS_SYNC_TOKEN: '' };
const start = (cwd: string, args: string[]) => startDofs(cwd, args, { env: NO_TOKEN });
const dofs = (cwd: string, args: string[], input = '') => runDofs(cwd, args, { input, env: NO_TOKEN });

let dir: string;
const db = () => join(dir, 'ws.db');

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dofs-cli-edges-'));
  expect((await dofs(dir, ['init', '--db', db()])).status).toBe(0);
  expect((await dofs(dir, ['put', '-', '/good.txt', '--db', db()], 'good\n')).status).toBe(0);
  expect((await dofs(dir, ['put', '-', '/d/line\nbreak', '--db', db()], 'x')).status).toBe(1); // /d does not exist
  expect((await dofs(dir, ['mkdir', '/d', '--db', db()])).status).toBe(0);
  expect((await dofs(dir, ['put', '-', '/d/line\nbreak', '--db', db()], 'x')).status).toBe(0);
  expect((await dofs(dir, ['put', '-', '/[x', '--db', db()], 'bracket')).status).toBe(0);
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('dofs CLI rough edges', { timeout: 60_000 }, () => {
  it('init with a chunk size out of range is a usage error (exit 2) and leaves no database behind', async () => {
    const path = join(dir, 'big.db');
    const result = await dofs(dir, ['init', '--db', path, '--chunk-size', '2m']);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^dofs: --chunk-size: expected 16 B to 1\.00 MiB, got '2m'/);
    expect(readdirSync(dir).filter((name) => name.startsWith('big.db'))).toEqual([]);
    // So a later init with a valid size creates it, rather than calling it read-only or existing.
    const again = await dofs(dir, ['init', '--db', path, '--chunk-size', '1m']);
    expect([again.status, again.stdout]).toEqual([0, `created workspace ${path} (chunk size 1.00 MiB)\n`]);
  });

  it('sync with something that is not a URL is a usage error saying what a URL looks like', async () => {
    const notUrl = await dofs(dir, ['sync', 'notaurl', '--token', 't', '--db', db()]);
    expect(notUrl.status).toBe(2);
    expect(notUrl.stderr).toMatch(/^dofs: sync: expected an http:\/\/, https:\/\/, ws:\/\/ or wss:\/\/ URL/);
    expect(notUrl.stderr).not.toMatch(/unexpected error|TypeError/);
    const noScheme = await dofs(dir, ['sync', 'localhost:8787/ws/demo/sync', '--token', 't', '--db', db()]);
    expect(noScheme.status).toBe(2);
    expect(noScheme.stderr).toMatch(/did you mean http:\/\/localhost:8787\/ws\/demo\/sync\?/);
  });

  it('mount --sync without a token is a usage error, not EBUSY', async () => {
    const result = await dofs(dir, ['mount', join(dir, 'never'), '--sync', 'http://127.0.0.1:9/ws/x/sync']);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^dofs: --sync needs --token \(or \$DOFS_SYNC_TOKEN\)/);
    expect(existsSync(join(dir, 'never'))).toBe(false);
  });

  it('grep -E with an invalid pattern exits 2 (grep does), a pattern with no match 1', async () => {
    const bad = await dofs(dir, ['grep', '-E', '(', '--db', db()]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^dofs: grep: bad regular expression/);
    const none = await dofs(dir, ['grep', 'absent', '--db', db()]);
    expect([none.status, none.stderr]).toEqual([1, '']);
  });

  it("find with an unclosed '[' is a usage error; an escaped one matches a literal '['", async () => {
    const bad = await dofs(dir, ['find', '/', '[x', '--db', db()]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^dofs: find: unclosed '\[' in '\[x'/);
    const literal = await dofs(dir, ['find', '/', '\\[x', '--db', db()]);
    expect([literal.status, literal.stdout]).toEqual([0, '/[x\n']);
  });

  it('cat reports each failing file and still writes the others, exit 1', async () => {
    const result = await dofs(dir, ['cat', '/missing', '/good.txt', '/d', '/good.txt', '--db', db()]);
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('good\ngood\n');
    expect(result.stderr).toBe(
      "dofs: ENOENT: no such file or directory, open '/missing'\ndofs: EISDIR: illegal operation on a directory, open '/d'\n",
    );
  });

  it('ls shows a name holding a newline escaped, so it cannot forge a line', async () => {
    const short = await dofs(dir, ['ls', '/d', '--db', db()]);
    expect(short.stdout).toBe('"line\\nbreak"\n');
    const long = await dofs(dir, ['ls', '-l', '/d', '--db', db()]);
    expect(long.stdout.split('\n')).toHaveLength(2);
    expect(long.stdout).toMatch(/ "line\\nbreak"\n$/);
  });

  it('export counts in the singular when there is one', async () => {
    const result = await dofs(dir, ['export', join(dir, 'out'), '--from', '/d', '--db', db()]);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^exported 1 file \(1 B\), 0 directories, 0 symlinks to /);
  });

  // util-linux's `script` gives the command a terminal, as a user's shell does; its output is the terminal's.
  it.runIf(existsSync('/usr/bin/script'))('import and export show their progress on a terminal', async () => {
    const tree = join(dir, 'progress-tree');
    mkdirSync(tree);
    writeFileSync(join(tree, 'a.txt'), 'a');
    const onTerminal = async (args: string[]) => {
      const command = [process.execPath, BIN, ...args].map((arg) => `'${arg.replaceAll("'", "'\\''")}'`).join(' ');
      const env = { ...process.env, ...NO_TOKEN, DOFS_NO_PROGRESS: '', DOFS_DEBUG: '' };
      return (await promisify(execFile)('script', ['-qec', command, '/dev/null'], { cwd: dir, env })).stdout;
    };
    // The progress line, then cleared (carriage return and erase-line) for the summary.
    const clear = '\r\x1b[K';
    const imported = await onTerminal(['import', tree, '--to', '/progress', '--db', db()]);
    const importing = `${clear}importing: 1 file, 0 dirs, 0 symlinks, 1 B${clear}imported 1 file `;
    expect(imported.slice(0, importing.length)).toBe(importing);
    const exported = await onTerminal(['export', join(dir, 'progress-out'), '--from', '/progress', '--db', db()]);
    const exporting = `${clear}exporting: 1 file, 0 dirs, 0 symlinks, 1 B${clear}exported 1 file `;
    expect(exported.slice(0, exporting.length)).toBe(exporting);
  });

  describe.runIf(existsSync('/dev/fuse'))('mount', () => {
    it('says when it creates the mountpoint and its missing parents', async () => {
      const mountpoint = join(dir, 'not', 'yet', 'mnt');
      const child = start(dir, ['mount', mountpoint, '--port', 'off', '--db', join(dir, 'mount.db')]);
      let stderr = '';
      child.stderr?.on('data', (chunk) => (stderr += chunk));
      const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
      for (let waited = 0; !/mounted /.test(stderr) && child.exitCode === null && waited < 30_000; waited += 100) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(stderr).toContain(
        `dofs: created the mountpoint ${mountpoint} and its missing parents, from ${join(dir, 'not')}`,
      );
    });

    it('names one entry in the singular when the mountpoint is not empty', async () => {
      const mountpoint = join(dir, 'occupied');
      mkdirSync(mountpoint);
      writeFileSync(join(mountpoint, 'here.txt'), 'x');
      const result = await dofs(dir, ['mount', mountpoint, '--port', 'off', '--db', join(dir, 'mount2.db')]);
      expect(result.status).toBe(1);
      expect(result.stderr).toMatch(/is not empty \(1 entry\)/);
    });
  });
});
