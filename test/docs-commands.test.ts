/**
 * The commands the documentation tells a reader to type, checked so that a stale one fails CI:
 *
 * - every `npm run X`, `npx dofs X`, `node FILE` and `npx vitest run … FILE` in README.md and
 *   docs/*.md (fenced shell blocks and inline code) names a script, a command or a file that exists;
 * - the README's Durable Object session (its curl commands and `npx dofs … sync`) runs as written
 *   against the example Worker, only the host and port changed to the test's server;
 * - the README's first CLI line and docs/snapshots.md's CLI session run as written in a fresh
 *   directory.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DOC_FILES, fencedBlock } from './support/docs.ts';
import { authorizedFetch, DEV_API_TOKEN, type DevServer, ROOT, STARTUP_MS, startDev } from './support/wrangler-dev.ts';

const run = promisify(execFile);

/** Every command line a doc shows: lines of fenced shell blocks and inline code spans. */
function commandsOf(doc: string): string[] {
  const fenced = [...doc.matchAll(/^```(?:sh|bash|shell)\n([\s\S]*?)^```$/gm)].flatMap(([, body]) =>
    body
      .split('\n')
      .map((line) => line.replace(/\s+#.*$/, '').trim())
      .filter(Boolean),
  );
  const inline = [...doc.matchAll(/`((?:npm|npx|node) [^`]+)`/g)].map(([, code]) => code);
  return [...fenced, ...inline].flatMap((line) => line.split(/\s*&&\s*/));
}

const scripts = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts as Record<string, string>;

describe('commands in the docs', { timeout: 60_000 }, () => {
  const all = DOC_FILES.flatMap((path) =>
    commandsOf(readFileSync(join(ROOT, path), 'utf8')).map((command) => ({ path, command })),
  );

  it('finds the commands to check', () => {
    expect(all.length).toBeGreaterThan(20);
  });

  it('every `npm run X` (and npm start / npm test) names a script of package.json', () => {
    const wrong = all.filter(({ command }) => {
      const match = /^npm (?:run (\S+)|(start|test)\b)/.exec(command);
      return match && !scripts[match[1] ?? match[2]];
    });
    expect(wrong).toEqual([]);
  });

  it('every `node FILE` and `npx vitest run … FILE` names a file that exists', () => {
    const files = all.flatMap(({ path, command }) => {
      const node = /^node (?:--\S+ )*(\S+\.ts)/.exec(command);
      const vitest = /^npx vitest run\b(.*)$/.exec(command);
      const named = node ? [node[1]] : vitest ? vitest[1].split(/\s+/).filter((arg) => /\.test\.ts$/.test(arg)) : [];
      return named.map((file) => ({ path, file }));
    });
    expect(files.length).toBeGreaterThan(0);
    expect(files.filter(({ file }) => !existsSync(join(ROOT, file)))).toEqual([]);
  });

  it('every `npx dofs X` names a command the CLI has', async () => {
    const { stdout } = await run(process.execPath, [join(ROOT, 'adapters/cli/bin.ts'), '--help']);
    const commands = new Set([...stdout.matchAll(/^ {2}(\w[\w-]*)/gm)].map(([, name]) => name));
    const used = all.flatMap(({ path, command }) => {
      const match = /^npx dofs (?:--db \S+ )?([a-z][\w-]*)/.exec(command);
      return match ? [{ path, name: match[1] }] : [];
    });
    expect(used.length).toBeGreaterThan(0);
    expect(used.filter(({ name }) => !commands.has(name))).toEqual([]);
  });

  it("every command of `dofs --help` has a row in the README's command table", async () => {
    const { stdout } = await run(process.execPath, [join(ROOT, 'adapters/cli/bin.ts'), '--help']);
    const commands = [...stdout.matchAll(/^ {2}(\w[\w-]*)/gm)]
      .map(([, name]) => name)
      .filter((name) => name !== 'help');
    expect(commands.length).toBeGreaterThan(20);
    const rows = readFileSync(join(ROOT, 'README.md'), 'utf8')
      .split('\n')
      .filter((line) => line.startsWith('| `dofs '));
    const documented = new Set(
      rows.flatMap((row) => [...row.matchAll(/`dofs ([a-z][\w-]*)/g)].map(([, name]) => name)),
    );
    expect(commands.filter((name) => !documented.has(name))).toEqual([]);
  });

  it('`npx changeset status`, as .changeset/README.md gives it, accepts every pending changeset', async () => {
    expect(readFileSync(join(ROOT, '.changeset/README.md'), 'utf8')).toContain('`npx changeset status`');
    // A changeset naming another package (the name before the rename) fails it, and the release.
    const { stdout } = await run(join(ROOT, 'node_modules/.bin/changeset'), ['status'], { cwd: ROOT });
    expect(stdout).toContain(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).name);
  });

  it("the README's `npx dofs import … && npx dofs fsck` and docs/snapshots.md's CLI session run as written in a fresh directory", async () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const first = /`(npx dofs import \.\/some\/dir && npx dofs fsck)`/.exec(readme)?.[1];
    expect(first).toBeDefined();
    const session = fencedBlock(
      readFileSync(join(ROOT, 'docs/snapshots.md'), 'utf8'),
      'sh',
      'npx dofs snapshot create',
    );
    const dir = mkdtempSync(join(tmpdir(), 'dofs-docs-session-'));
    try {
      mkdirSync(join(dir, 'some/dir'), { recursive: true });
      writeFileSync(join(dir, 'some/dir/notes.txt'), 'hello');
      // `npx dofs` runs the package's bin; outside the repository npx would look on npm instead, so
      // an `npx` on the PATH stands in for it there (and refuses anything but dofs).
      mkdirSync(join(dir, 'bin'));
      const bin = join(ROOT, 'adapters/cli/bin.ts');
      writeFileSync(
        join(dir, 'bin/npx'),
        `#!/bin/sh\n[ "$1" = dofs ] || exit 127\nshift\nexec '${process.execPath}' '${bin}' "$@"\n`,
        { mode: 0o755 },
      );
      const { stdout } = await run('bash', ['-euo', 'pipefail', '-c', `${first}\n${session}`], {
        cwd: dir,
        env: { ...process.env, PATH: `${join(dir, 'bin')}:${process.env.PATH}` },
      });
      expect(stdout).toContain('fsck: ok');
      expect(stdout).toContain('snapshot before-refactor');
      expect(stdout).toMatch(/restored before-refactor; undo with: dofs snapshot restore before-restore-\d+/);
      expect(stdout).toMatch(/forked into copy\.db/);
      expect(stdout).toMatch(/merged 0 paths from copy\.db/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe("the README's Durable Object session, against the example Worker", () => {
    let server: DevServer | undefined;
    let state: string;
    beforeAll(async () => {
      state = mkdtempSync(join(tmpdir(), 'dofs-docs-commands-'));
      server = await startDev(state);
    }, STARTUP_MS + 10_000);
    afterAll(async () => {
      await server?.stop();
      rmSync(state, { recursive: true, force: true });
      for (const suffix of ['', '-wal', '-shm', '-reserve']) rmSync(join(ROOT, `replica.db${suffix}`), { force: true });
    }, 15_000);

    it('runs its curl commands and `npx dofs … sync` as written', async () => {
      const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
      const local = (block: string) => block.replaceAll('http://localhost:8787', server?.url as string);
      const curl = local(fencedBlock(readme, 'sh', 'curl -H'));
      const { stdout } = await run('bash', ['-euo', 'pipefail', '-c', curl], { cwd: ROOT });
      expect(stdout).toContain('hello, workspace');
      expect(stdout).toMatch(/"files": 1/);
      const sync = local(fencedBlock(readme, 'sh', 'npx dofs --db replica.db sync'));
      const synced = await run('bash', ['-euo', 'pipefail', '-c', sync], {
        cwd: ROOT,
        env: { ...process.env, PATH: `${join(ROOT, 'node_modules', '.bin')}:${process.env.PATH}` },
      });
      expect(synced.stdout).toMatch(/^synced with .*: pulled \d+, pushed 0 entries/);
      // What the README's token did is what the Worker's development token does.
      expect(readme).toContain(DEV_API_TOKEN);
      expect(await (await authorizedFetch()(`${server?.url}/ws/demo/fs/notes/hello.txt`)).text()).toBe(
        'hello, workspace',
      );
    });
  });
});
