/**
 * The mount sessions the docs show, run as written, so a stale command line fails CI:
 *
 * - README.md's quick start: `npm start` in a fresh checkout, the commands it gives for another
 *   shell while it runs (git on the mount), Ctrl-C, then the commands that read `./workspace.db`;
 * - docs/fuse.md's first session (`npm start &`, the status endpoint, a second mount, `df`) and
 *   its snapshot session (a mount with --shared, the CLI beside it, diff and cp on /.snapshots).
 *
 * "A fresh checkout" is a new directory holding links to the repository's files (node_modules and
 * the built dist/ included): the mount's defaults, `./workspace.db` at `./workspace`, land there.
 * `npm install` is the one command not run (the links stand for its result; it would rewrite the
 * repository's node_modules through them). Lines run one at a time, as typed into a shell: a line
 * ending in `&` starts a job, and the next line waits until the job's mount is up, as a user waits
 * for its "mounted" line. Each line must exit 0, or with the status its comment names ("exit 1").
 * At the end every job gets Ctrl-C (SIGINT to its process group), must exit 0 and leave no mount.
 * docs/fuse.md's pjdfstest lines are not run here: they clone pjdfstest and take five minutes.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { fencedBlock } from '../support/docs.ts';
import { collectOutput, ensureUnmounted, isMounted, ROOT, sh } from './helpers.ts';

vi.setConfig({ testTimeout: 180_000 });

/** A user's shell: this Node first on PATH, nothing of the running vitest, git knows who commits. */
const USER_ENV: NodeJS.ProcessEnv = {
  ...Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !/^(VITEST|TEST$|NODE_OPTIONS$|NODE_ENV$|npm_)/.test(key)),
  ),
  PATH: `${dirname(process.execPath)}:${process.env.PATH}`,
  GIT_AUTHOR_NAME: 'A User',
  GIT_AUTHOR_EMAIL: 'user@example.com',
  GIT_COMMITTER_NAME: 'A User',
  GIT_COMMITTER_EMAIL: 'user@example.com',
  npm_config_update_notifier: 'false',
};

const readDoc = (path: string) => readFileSync(join(ROOT, path), 'utf8');

/** The command lines of a fenced block, comments kept apart (they may name an exit status). */
function linesOf(block: string): Array<{ command: string; comment: string }> {
  return block
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const [, command, comment = ''] = /^(.*?)(?:\s+#\s*(.*))?$/.exec(line) as RegExpExecArray;
      return { command: command.trim(), comment };
    });
}

/** A new directory with the repository's files linked in, none of its databases or mounts. */
function freshCheckout(): string {
  const dir = mkdtempSync(join(tmpdir(), 'dofs-docs-session-'));
  for (const name of readdirSync(ROOT)) {
    if (name === '.git' || name === 'workspace' || name === '.wrangler' || /\.db(-\w+)?$/.test(name)) continue;
    symlinkSync(join(ROOT, name), join(dir, name));
  }
  return dir;
}

/** The status port the docs' mounts use, as they give no --port. */
const STATUS_PORT = 45678;

/** Whether `port` can be listened on at 127.0.0.1 now. */
function portFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const server = createServer()
      .once('error', () => done(false))
      .listen(port, '127.0.0.1', () => server.close(() => done(true)));
  });
}

/** A job started by a line ending in `&`: the mount it made, once up. */
interface Job {
  command: string;
  child: ChildProcess;
  output(): string;
  /** The job's exit (code or signal), once every process holding its output closed it. */
  exited: Promise<number | NodeJS.Signals | null>;
  mountpoint: string;
}

/** Starts `command` as a shell job in its own process group and waits for its mount. */
async function startJob(command: string, cwd: string): Promise<Job> {
  const child = spawn('bash', ['-c', command], {
    cwd,
    env: USER_ENV,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = collectOutput(child);
  const exited = new Promise<number | NodeJS.Signals | null>((done) =>
    child.on('close', (code, signal) => done(code ?? signal)),
  );
  const mountpoint = await new Promise<string>((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`\`${command}\` did not mount within 60 s:\n${output()}`)), 60_000);
    const check = () => {
      const match = /^dofs: mounted \S+ (?:\(new\) )?at (\S+)/m.exec(output());
      if (match) {
        clearTimeout(timer);
        done(match[1]);
      }
    };
    child.stdout?.on('data', check);
    child.stderr?.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      fail(new Error(`\`${command}\` exited (${code}) before mounting:\n${output()}`));
    });
  });
  return { command, child, output, exited, mountpoint };
}

/** Sends `signal` to the job's process group (every process of it may have exited already). */
function killGroup(job: Job, signal: NodeJS.Signals): void {
  try {
    process.kill(-(job.child.pid as number), signal);
  } catch {
    // ESRCH: nothing left in the group
  }
}

/** Ctrl-C: SIGINT to the job's process group, as a terminal sends it; resolves to how it ended. */
async function interrupt(job: Job): Promise<number | NodeJS.Signals | null> {
  killGroup(job, 'SIGINT');
  const timer = setTimeout(() => killGroup(job, 'SIGKILL'), 30_000);
  const code = await job.exited;
  clearTimeout(timer);
  return code;
}

/** One session in `cwd`: runs each line, collecting what it printed; jobs are left running. */
async function runLines(block: string, cwd: string, jobs: Job[]): Promise<string> {
  let transcript = '';
  for (const { command, comment } of linesOf(block)) {
    if (command.endsWith('&')) {
      const job = await startJob(command.slice(0, -1).trim(), cwd);
      jobs.push(job);
      continue;
    }
    const expected = Number(/\bexit (\d+)/.exec(comment)?.[1] ?? 0);
    const { code, stdout, stderr } = await sh(command, { cwd, env: USER_ENV, allowFail: true });
    expect({ command, code, stderr: code === expected ? '' : stderr }).toEqual({ command, code: expected, stderr: '' });
    transcript += `$ ${command}\n${stdout}${stdout.endsWith('\n') || stdout === '' ? '' : '\n'}`;
  }
  return transcript;
}

describe('the mount sessions of the docs, run as written in a fresh checkout', () => {
  let dir: string | undefined;
  let jobs: Job[] = [];

  /**
   * Ctrl-C to every job, newest first: each ends cleanly and leaves its mountpoint unmounted. npm
   * (`npm start`, `npx`) ends by the signal itself, as it does in a terminal, once the daemon it
   * ran has unmounted; the daemon's own status is 0 (a failure would make npm exit 1).
   */
  async function stopJobs(): Promise<void> {
    for (const job of jobs.reverse()) {
      const ended = await interrupt(job);
      expect({ command: job.command, ended: ended === 'SIGINT' ? 0 : ended }).toEqual({
        command: job.command,
        ended: 0,
      });
      expect(job.output()).toContain(`dofs: unmounted ${job.mountpoint}`);
      expect(await isMounted(job.mountpoint)).toBe(false);
    }
    jobs = [];
  }

  // Every session mounts on the default status port: another program holding it (on a shared
  // machine, someone's own mount) would fail the session for a reason that is not the docs'.
  beforeEach(async () => {
    for (let waited = 0; !(await portFree(STATUS_PORT)); waited += 500) {
      if (waited >= 30_000) throw new Error(`port ${STATUS_PORT} stayed in use for 30 s: see \`ss -ltnp\``);
      await new Promise((done) => setTimeout(done, 500));
    }
  });

  afterEach(async () => {
    for (const job of jobs) {
      killGroup(job, 'SIGKILL');
      await ensureUnmounted(job.mountpoint);
    }
    jobs = [];
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it("README.md's quick start: npm start, git on ./workspace from another shell, Ctrl-C, the workspace in ./workspace.db", async () => {
    dir = freshCheckout();
    const readme = readDoc('README.md');
    const quickStart = linesOf(fencedBlock(readme, 'sh', 'npm start')).map(({ command }) => command);
    expect(quickStart).toContain('npm install && npm start');
    const job = await startJob('npm start', dir);
    jobs.push(job);
    expect(job.mountpoint).toBe(join(dir, 'workspace'));
    const during = await runLines(fencedBlock(readme, 'sh', 'git init'), dir, jobs);
    expect(during).toContain('git init');
    await stopJobs();
    const after = await runLines(fencedBlock(readme, 'sh', 'npx dofs cat /notes.md'), dir, jobs);
    expect(after).toContain('$ npx dofs ls /\n.git\nnotes.md\n');
    expect(after).toContain('$ npx dofs cat /notes.md\nhello\n');
    expect(after).toMatch(/\$ npx dofs fsck\nfsck: ok/);
  });

  it("docs/fuse.md's first session: npm start &, its status, a second mount, df", async () => {
    dir = freshCheckout();
    const block = fencedBlock(readDoc('docs/fuse.md'), 'sh', 'npm start');
    const transcript = await runLines(block, dir, jobs);
    expect(jobs.map((job) => job.mountpoint)).toEqual([join(dir, 'workspace'), join(dir, 'mnt/other')]);
    expect(jobs[1].output()).toContain(`dofs: created the mountpoint ${join(dir, 'mnt/other')}`);
    const stats =
      new RegExp(`\\$ curl -s 127\\.0\\.0\\.1:${STATUS_PORT}/stats\\n([\\s\\S]*?)\\n\\$ `).exec(transcript)?.[1] ?? '';
    expect(JSON.parse(stats)).toMatchObject({ db: resolve(dir, 'workspace.db'), mountpoint: join(dir, 'workspace') });
    expect(transcript).toMatch(/workspace\.db .* \/.*\/workspace\n/);
    expect(transcript).toMatch(/other\.db .* \/.*\/mnt\/other\n/);
    await stopJobs();
  });

  it("docs/fuse.md's snapshot session: the CLI beside a --shared mount, diff and cp on /.snapshots", async () => {
    dir = freshCheckout();
    // The section's premise: a workspace ws.db holding src/a.ts.
    await sh(`npx dofs --db ws.db mkdir -p /src && echo 'export const a = 1;' | npx dofs --db ws.db put - /src/a.ts`, {
      cwd: dir,
      env: USER_ENV,
    });
    const transcript = await runLines(fencedBlock(readDoc('docs/fuse.md'), 'sh', '.snapshots/'), dir, jobs);
    expect(transcript).toContain('snapshot before-refactor');
    expect(transcript).toContain('< export const a = 1;\n---\n> export const a = 2;\n');
    await stopJobs();
    const { stdout } = await sh('npx dofs --db ws.db cat /src/a.ts && npx dofs --db ws.db fsck', {
      cwd: dir,
      env: USER_ENV,
    });
    expect(stdout).toMatch(/^export const a = 1;\nfsck: ok/);
  });
});
