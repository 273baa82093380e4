/**
 * Libraries that take an `fs`, on the node:fs module inside workerd, over real SQLite-backed Durable
 * Objects: isomorphic-git (its workflow, and a clone from a workspace in another Durable Object
 * served over an in-process smart-HTTP upload-pack), npm's tarball of picomatch extracted by
 * tar-stream, and just-bash scripts compared with just-bash's own in-memory filesystem. The same
 * scenarios run in Node against the real filesystem in test/node-fs-libraries.test.ts.
 */
import { Buffer } from 'node:buffer';
import type { HttpClient } from 'isomorphic-git';
import { Bash, InMemoryFs } from 'just-bash';
import { describe, expect, it } from 'vitest';
import { createJustBashFs, createNodeFs } from '../../adapters/node-fs/index.ts';
import type { StorageBackend } from '../../core/backend.ts';
import { openWorkspace } from '../../core/index.ts';
import { PICOMATCH_TGZ_BASE64 } from '../fixtures/picomatch-tgz.ts';
import {
  type AnyFs,
  checkExtracted,
  cloneWith,
  EXPECTED_COMMITS,
  extractTarball,
  gitWorkflow,
  readTarball,
  SHELL_FILES,
  SHELL_SCRIPTS,
  uploadPackServer,
} from '../node-fs-scenarios.ts';
import { doSqlTarget as target } from './do-target.ts';

type Fs = typeof import('node:fs');

/** The module over a workspace on `backend`, and a check that the workspace is sound at the end. */
function open(backend: StorageBackend) {
  const ws = openWorkspace(backend, { chunkSize: 4096 });
  return {
    fs: createNodeFs(ws),
    done: () => {
      expect(ws.fsck().problems).toEqual([]);
      ws.close();
    },
  };
}

async function bytesOf(body: AsyncIterable<Uint8Array> | undefined): Promise<Uint8Array[]> {
  const parts: Uint8Array[] = [];
  if (body) for await (const part of body) parts.push(part);
  return parts;
}

async function* replay(parts: Uint8Array[]): AsyncIterableIterator<Uint8Array> {
  yield* parts;
}

describe('libraries on the node:fs module inside a Durable Object', () => {
  it('isomorphic-git: init, add, status, commit, remove, log, branch, checkout make the same objects as in Node', () =>
    target.withBackend(async (backend) => {
      const { fs, done } = open(backend);
      fs.mkdirSync('/repo');
      const report = await gitWorkflow(fs as unknown as AnyFs, '/repo');
      expect(report.commits).toEqual(EXPECTED_COMMITS);
      expect(report.statuses).toEqual({
        'README.md': 'unmodified',
        'src/a.js': '*modified',
        'src/new.js': '*added',
        'src/lib/b.js': '*deleted',
      });
      expect(report.log.map((c) => c.oid)).toEqual([...EXPECTED_COMMITS].reverse());
      expect(report.branches).toEqual(['feature', 'main']);
      expect([report.onFeature, report.onMain, report.currentBranch]).toEqual([
        'export const a = 100;\n',
        'export const a = 10;\n',
        'main',
      ]);
      expect(report.statusAfter.every(([, head, workdir, stage]) => head === 1 && workdir === 1 && stage === 1)).toBe(
        true,
      );
      done();
    }));

  it('isomorphic-git: clones from a workspace in another Durable Object over smart HTTP', () =>
    target.withStorages(2, async ([a, b]) => {
      await a.use(async (backend) => {
        const { fs, done } = open(backend);
        fs.mkdirSync('/repo');
        await gitWorkflow(fs as unknown as AnyFs, '/repo');
        done();
      });
      // Each request is served inside the first object, as if it came over the network.
      const http: HttpClient = {
        async request(request) {
          const body = request.body ? replay(await bytesOf(request.body)) : undefined;
          return a.use(async (backend) => {
            const { fs, done } = open(backend);
            const response = await uploadPackServer(fs as unknown as AnyFs, '/repo').request({ ...request, body });
            const parts = await bytesOf(response.body);
            done();
            return { ...response, body: replay(parts) };
          });
        },
      };
      const clone = await b.use(async (backend) => {
        const { fs, done } = open(backend);
        fs.mkdirSync('/clone');
        const report = await cloneWith(http, fs as unknown as AnyFs, '/clone');
        expect(fs.readFileSync('/clone/src/a.js', 'utf8')).toBe('export const a = 10;\n');
        expect(fs.statSync('/clone/run.sh').mode & 0o777).toBe(0o755);
        done();
        return report;
      });
      expect(clone.log).toEqual(EXPECTED_COMMITS.slice(0, 2).reverse());
      expect(clone.branches).toEqual(['main']);
      expect(clone.remoteBranches.sort()).toEqual(['HEAD', 'feature', 'main']);
      expect(Object.keys(clone.files).sort()).toEqual(['README.md', 'data.bin', 'run.sh', 'src/a.js', 'src/new.js']);
      expect(clone.status.every(([, head, workdir, stage]) => head === 1 && workdir === 1 && stage === 1)).toBe(true);
    }));

  it("tar-stream: npm's tarball of picomatch extracted byte-identical, with modes and times", () =>
    target.withBackend(async (backend) => {
      const { fs, done } = open(backend);
      const tgz = Buffer.from(PICOMATCH_TGZ_BASE64, 'base64');
      const entries = await readTarball(tgz);
      expect(entries.size).toBeGreaterThan(5);
      expect(await extractTarball(fs as unknown as Fs, tgz, '/node_modules/picomatch')).toBe(entries.size);
      expect(checkExtracted(fs as unknown as Fs, '/node_modules/picomatch', entries)).toEqual([]);
      const pkg = JSON.parse(fs.readFileSync('/node_modules/picomatch/package/package.json', 'utf8'));
      expect(pkg.name).toBe('picomatch');
      done();
    }));

  it('just-bash: ls, cat, grep, sed, find, mkdir, mv, rm, pipelines and redirections as on its own in-memory fs', () =>
    target.withBackend(async (backend) => {
      const { fs, done } = open(backend);
      const run = async (shellFs: InMemoryFs | ReturnType<typeof createJustBashFs>) => {
        for (const [path, content] of Object.entries(SHELL_FILES)) await shellFs.writeFile(path, content);
        const results = [];
        for (const script of SHELL_SCRIPTS) {
          const { stdout, stderr, exitCode } = await new Bash({ fs: shellFs, cwd: '/work' }).exec(script);
          results.push({ script, stdout, stderr, exitCode });
        }
        return results;
      };
      const mine = await run(createJustBashFs(fs));
      const reference = await run(new InMemoryFs());
      for (const [i, result] of mine.entries()) expect(result, result.script).toEqual(reference[i]);
      expect(mine.find((r) => r.script.startsWith('grep -rn'))?.stdout).toBe(
        'src/helper.ts:2:  return x * 2; // TODO: tune\nsrc/main.ts:2:// TODO: remove\n',
      );
      done();
    }));
});
