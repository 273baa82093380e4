/**
 * Libraries that take an `fs`, running on the node:fs module over node:sqlite workspaces, checked
 * against the same libraries on the real node:fs (and, for git, against the git CLI):
 * isomorphic-git (workflow and a clone between two workspaces), a real npm tarball and a
 * node-tar tarball extracted through tar-stream, and just-bash scripts.
 * The same scenarios run inside workerd in test/workers/node-fs-libraries.test.ts.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import realFs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Bash, InMemoryFs } from 'just-bash';
import * as tar from 'tar';
import { afterAll, describe, expect, it } from 'vitest';
import { createJustBashFs, createNodeFs, type NodeFs } from '../adapters/node-fs/index.ts';
import { createNodeSqliteBackend } from '../backends/node-sqlite/index.ts';
import { openWorkspace, type Workspace } from '../core/index.ts';
import { PICOMATCH_INTEGRITY, PICOMATCH_TGZ_BASE64, PICOMATCH_VERSION } from './fixtures/picomatch-tgz.ts';
import {
  type AnyFs,
  checkExtracted,
  cloneBetween,
  EXPECTED_COMMITS,
  extractTarball,
  gitWorkflow,
  readTarball,
  SHELL_FILES,
  SHELL_SCRIPTS,
  shellTree,
} from './node-fs-scenarios.ts';

type Fs = typeof realFs;

const opened: Workspace[] = [];
const temps: string[] = [];
afterAll(() => {
  for (const ws of opened) {
    expect(ws.fsck().problems).toEqual([]);
    ws.close();
  }
  for (const dir of temps) realFs.rmSync(dir, { recursive: true, force: true });
});

function workspaceFs(): NodeFs {
  const ws = openWorkspace(createNodeSqliteBackend(), { chunkSize: 4096 });
  opened.push(ws);
  return createNodeFs(ws);
}

function tempDir(): string {
  const dir = realFs.mkdtempSync(join(tmpdir(), 'dofs-libs-'));
  temps.push(dir);
  return dir;
}

/** Copies a tree from `fs` to the real disk (to hand it to the git CLI). */
function exportTree(fs: Fs, from: string, to: string): void {
  realFs.mkdirSync(to, { recursive: true });
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    const source = `${from}/${entry.name}`;
    const target = join(to, entry.name);
    if (entry.isDirectory()) exportTree(fs, source, target);
    else if (entry.isSymbolicLink()) realFs.symlinkSync(fs.readlinkSync(source), target);
    else realFs.writeFileSync(target, fs.readFileSync(source), { mode: fs.statSync(source).mode & 0o777 });
  }
}

const hasGit = (() => {
  try {
    execFileSync('git', ['--version']);
    return true;
  } catch {
    return false;
  }
})();

describe('isomorphic-git on the node:fs module', () => {
  it('init, add, status, commit, remove, log, branch, checkout: the same objects as on the real filesystem', async () => {
    const fs = workspaceFs();
    fs.mkdirSync('/repo');
    const mine = await gitWorkflow(fs as unknown as AnyFs, '/repo');
    const dir = tempDir();
    const theirs = await gitWorkflow(realFs as unknown as AnyFs, dir);
    expect(mine).toEqual(theirs);
    expect(mine.commits).toEqual(EXPECTED_COMMITS);
    expect(mine.statuses).toEqual({
      'README.md': 'unmodified',
      'src/a.js': '*modified',
      'src/new.js': '*added',
      'src/lib/b.js': '*deleted',
    });
    expect(mine.log.map((c) => c.message)).toEqual(['on feature\n', 'second\n', 'first\n']);
    expect([mine.onFeature, mine.onMain, mine.currentBranch]).toEqual([
      'export const a = 100;\n',
      'export const a = 10;\n',
      'main',
    ]);
    expect(fs.statSync('/repo/run.sh').mode & 0o777).toBe(0o755);
  });

  it.runIf(hasGit)('the git CLI finds the repository written through the module sound (needs git)', async () => {
    const fs = workspaceFs();
    fs.mkdirSync('/repo');
    const report = await gitWorkflow(fs as unknown as AnyFs, '/repo');
    const dir = join(tempDir(), 'exported');
    exportTree(fs as unknown as Fs, '/repo', dir);
    const run = (...args: string[]) => execFileSync('git', args, { cwd: dir, encoding: 'utf8' });
    run('fsck', '--strict', '--no-dangling');
    expect(run('log', '--format=%H', 'feature').trim().split('\n')).toEqual(report.log.map((c) => c.oid));
    expect(run('status', '--porcelain')).toBe('');
    expect(run('show', 'main:src/a.js')).toBe('export const a = 10;\n');
  });

  it('clones a repository from a second workspace through an in-process smart-HTTP upload-pack', async () => {
    const a = workspaceFs();
    const b = workspaceFs();
    a.mkdirSync('/repo');
    await gitWorkflow(a as unknown as AnyFs, '/repo');
    b.mkdirSync('/clone');
    const clone = await cloneBetween(a as unknown as AnyFs, '/repo', b as unknown as AnyFs, '/clone');
    expect(clone.log).toEqual(EXPECTED_COMMITS.slice(0, 2).reverse());
    expect(clone.branches).toEqual(['main']);
    expect(clone.remoteBranches.sort()).toEqual(['HEAD', 'feature', 'main']);
    expect(clone.status.every(([, head, workdir, stage]) => head === 1 && workdir === 1 && stage === 1)).toBe(true);
    for (const [path, base64] of Object.entries(clone.files))
      expect(Buffer.from(base64, 'base64').equals(a.readFileSync(`/repo/${path}`)), path).toBe(true);
    expect(Object.keys(clone.files).sort()).toEqual(['README.md', 'data.bin', 'run.sh', 'src/a.js', 'src/new.js']);
    // The same clone onto the real filesystem gives the same result.
    const dir = tempDir();
    expect(await cloneBetween(a as unknown as AnyFs, '/repo', realFs as unknown as AnyFs, dir)).toEqual(clone);
  });
});

describe('tarballs extracted through the node:fs module by a streaming tar parser', () => {
  it(`npm's own tarball of picomatch ${PICOMATCH_VERSION}: every file byte-identical, with its mode and time`, async () => {
    const tgz = Buffer.from(PICOMATCH_TGZ_BASE64, 'base64');
    // It is the registry's tarball: its hash is what package-lock.json recorded.
    const lock = JSON.parse(realFs.readFileSync('package-lock.json', 'utf8'));
    expect(lock.packages['node_modules/picomatch'].integrity).toBe(PICOMATCH_INTEGRITY);
    expect(`sha512-${createHash('sha512').update(tgz).digest('base64')}`).toBe(PICOMATCH_INTEGRITY);
    const entries = await readTarball(tgz);
    const fs = workspaceFs();
    expect(await extractTarball(fs as unknown as Fs, tgz, '/pkg')).toBe(entries.size);
    expect(checkExtracted(fs as unknown as Fs, '/pkg', entries)).toEqual([]);
    // And the extracted package is the one npm installed.
    for (const [name, entry] of entries) {
      if (entry.type !== 'file') continue;
      const installed = realFs.readFileSync(join('node_modules/picomatch', name.replace(/^package\//, '')));
      expect(Buffer.compare(fs.readFileSync(`/pkg/${name}`), installed), name).toBe(0);
    }
  });

  it('a tarball node-tar makes of an installed package (directories, executables): identical to the source tree', async () => {
    const dir = tempDir();
    const file = join(dir, 'semver.tgz');
    await tar.create({ gzip: true, cwd: 'node_modules', file, portable: true }, ['semver']);
    const tgz = realFs.readFileSync(file);
    const entries = await readTarball(tgz);
    expect([...entries.values()].some((e) => e.type === 'directory')).toBe(true);
    expect([...entries.values()].some((e) => e.mode & 0o111 && e.type === 'file')).toBe(true);
    const fs = workspaceFs();
    await extractTarball(fs as unknown as Fs, tgz, '/x');
    expect(checkExtracted(fs as unknown as Fs, '/x', entries)).toEqual([]);
    // Every file and directory, compared with node_modules itself: bytes and permission bits.
    const walk = (path: string): void => {
      for (const entry of realFs.readdirSync(join('node_modules', path), { withFileTypes: true })) {
        const rel = `${path}/${entry.name}`;
        const source = realFs.statSync(join('node_modules', rel));
        const copy = fs.statSync(`/x/${rel}`);
        expect(copy.mode & 0o777, rel).toBe(source.mode & 0o777);
        if (entry.isDirectory()) walk(rel);
        else
          expect(fs.readFileSync(`/x/${rel}`).equals(realFs.readFileSync(join('node_modules', rel))), rel).toBe(true);
      }
    };
    walk('semver');
  });
});

describe('just-bash on the node:fs module', () => {
  /** Runs every script in order on a fresh shell per script over `fs`, from files seeded through `seed`. */
  async function runScripts(fs: Parameters<typeof createJustBashFs>[0] | InMemoryFs, root?: string) {
    const shellFs = fs instanceof InMemoryFs ? fs : createJustBashFs(fs, { root });
    for (const [path, content] of Object.entries(SHELL_FILES)) await shellFs.writeFile(path, content);
    const results: Array<{ script: string; stdout: string; stderr: string; exitCode: number }> = [];
    for (const script of SHELL_SCRIPTS) {
      const bash = new Bash({ fs: shellFs, cwd: '/work' });
      const { stdout, stderr, exitCode } = await bash.exec(script);
      results.push({ script, stdout, stderr, exitCode });
    }
    return results;
  }

  it('runs ls, cat, grep, sed, find, mkdir, mv, rm, pipelines and redirections as on a real directory and on just-bash’s own fs', async () => {
    const fs = workspaceFs();
    const mine = await runScripts(fs as unknown as Fs);
    const dir = tempDir();
    const onDisk = await runScripts(realFs, dir);
    const inMemory = await runScripts(new InMemoryFs());
    for (const [i, result] of mine.entries()) {
      expect(result, `on a real directory: ${result.script}`).toEqual(onDisk[i]);
      expect(result, `on just-bash's InMemoryFs: ${result.script}`).toEqual(inMemory[i]);
    }
    expect(shellTree(fs as unknown as Fs, '/work')).toEqual(shellTree(realFs, join(dir, 'work')));
  });
});
