/**
 * What the library tests do, written once for Node (test/node-fs-libraries.test.ts) and workerd
 * (test/workers/node-fs-libraries.test.ts): isomorphic-git's everyday workflow and a clone over an
 * in-process smart-HTTP server, a tarball extracted by a streaming tar parser, and shell scripts run
 * by just-bash. Nothing here touches the host's filesystem: each function takes a node:fs-shaped
 * object (this module's, or in Node the real one as the oracle).
 *
 * @module
 */
import { Buffer } from 'node:buffer';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import git, { type HttpClient } from 'isomorphic-git';
import tarStream from 'tar-stream';

/** Any node:fs-shaped object (isomorphic-git's own type for it). */
export type AnyFs = Parameters<typeof git.init>[0]['fs'];

type Fs = typeof import('node:fs');

const author = (seconds: number) => ({
  name: 'Dofs Test',
  email: 'test@dofs.dev',
  timestamp: seconds,
  timezoneOffset: 0,
});

/** What {@link gitWorkflow} observed, to compare between filesystems (commit ids are deterministic). */
export interface GitReport {
  commits: string[];
  log: Array<{ oid: string; message: string; parents: string[] }>;
  statusBefore: Array<[string, number, number, number]>;
  statuses: Record<string, string>;
  branches: string[];
  onFeature: string;
  onMain: string;
  currentBranch: string | undefined;
  statusAfter: Array<[string, number, number, number]>;
}

/**
 * init, add, commit, status, remove, log, branch, checkout, on `fs` at `dir` (which must exist).
 * Timestamps are fixed, so every object id is the same on any filesystem that behaves like node's.
 */
export async function gitWorkflow(fs: AnyFs, dir: string): Promise<GitReport> {
  const nodeFs = fs as unknown as Fs;
  await git.init({ fs, dir, defaultBranch: 'main' });
  nodeFs.mkdirSync(`${dir}/src/lib`, { recursive: true });
  nodeFs.writeFileSync(`${dir}/README.md`, '# project\n');
  nodeFs.writeFileSync(`${dir}/src/a.js`, 'export const a = 1;\n');
  nodeFs.writeFileSync(`${dir}/src/lib/b.js`, 'export const b = 2;\n');
  nodeFs.writeFileSync(`${dir}/run.sh`, '#!/bin/sh\necho run\n', { mode: 0o755 });
  nodeFs.writeFileSync(`${dir}/data.bin`, Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7) % 256)));
  const statusBefore = (await git.statusMatrix({ fs, dir })) as GitReport['statusBefore'];
  await git.add({ fs, dir, filepath: '.' });
  const first = await git.commit({ fs, dir, message: 'first', author: author(1_700_000_000) });

  nodeFs.writeFileSync(`${dir}/src/a.js`, 'export const a = 10;\n');
  nodeFs.writeFileSync(`${dir}/src/new.js`, 'export const n = 3;\n');
  nodeFs.unlinkSync(`${dir}/src/lib/b.js`);
  const statuses: Record<string, string> = {};
  for (const filepath of ['README.md', 'src/a.js', 'src/new.js', 'src/lib/b.js'])
    statuses[filepath] = await git.status({ fs, dir, filepath });
  await git.add({ fs, dir, filepath: 'src/a.js' });
  await git.add({ fs, dir, filepath: 'src/new.js' });
  await git.remove({ fs, dir, filepath: 'src/lib/b.js' });
  const second = await git.commit({ fs, dir, message: 'second', author: author(1_700_000_100) });

  await git.branch({ fs, dir, ref: 'feature' });
  await git.checkout({ fs, dir, ref: 'feature' });
  nodeFs.writeFileSync(`${dir}/src/a.js`, 'export const a = 100;\n');
  await git.add({ fs, dir, filepath: 'src/a.js' });
  const third = await git.commit({ fs, dir, message: 'on feature', author: author(1_700_000_200) });
  const onFeature = nodeFs.readFileSync(`${dir}/src/a.js`, 'utf8');
  await git.checkout({ fs, dir, ref: 'main' });
  const onMain = nodeFs.readFileSync(`${dir}/src/a.js`, 'utf8');

  const log = (await git.log({ fs, dir, ref: 'feature' })).map((entry) => ({
    oid: entry.oid,
    message: entry.commit.message,
    parents: entry.commit.parent,
  }));
  return {
    commits: [first, second, third],
    log,
    statusBefore,
    statuses,
    branches: await git.listBranches({ fs, dir }),
    onFeature,
    onMain,
    currentBranch: (await git.currentBranch({ fs, dir })) ?? undefined,
    statusAfter: (await git.statusMatrix({ fs, dir })) as GitReport['statusAfter'],
  };
}

// ---- A smart-HTTP git server over a repository on any fs, in process ----

const encoder = new TextEncoder();
const pkt = (line: string): Uint8Array => encoder.encode(`${(line.length + 4).toString(16).padStart(4, '0')}${line}`);
const FLUSH = encoder.encode('0000');

function pktLines(body: Uint8Array): string[] {
  const lines: string[] = [];
  const text = new TextDecoder().decode(body);
  for (let at = 0; at < text.length; ) {
    const length = Number.parseInt(text.slice(at, at + 4), 16);
    lines.push(length === 0 ? '' : text.slice(at + 4, at + length));
    at += length === 0 ? 4 : length;
  }
  return lines;
}

async function collect(body: AsyncIterable<Uint8Array> | undefined): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  if (body) for await (const part of body) parts.push(part);
  return Buffer.concat(parts);
}

/** Every object reachable from `wants`: commits, their trees, sub-trees and blobs. */
async function reachable(fs: AnyFs, dir: string, wants: string[]): Promise<string[]> {
  const seen = new Set<string>();
  const trees: string[] = [];
  const commits = [...wants];
  while (commits.length > 0) {
    const oid = commits.pop() as string;
    if (seen.has(oid)) continue;
    seen.add(oid);
    const { commit } = await git.readCommit({ fs, dir, oid });
    trees.push(commit.tree);
    commits.push(...commit.parent);
  }
  while (trees.length > 0) {
    const oid = trees.pop() as string;
    if (seen.has(oid)) continue;
    seen.add(oid);
    const { tree } = await git.readTree({ fs, dir, oid });
    for (const entry of tree) {
      if (entry.type === 'tree') trees.push(entry.oid);
      else seen.add(entry.oid);
    }
  }
  return [...seen];
}

/**
 * An isomorphic-git `http` client that answers a clone or fetch itself, as `git-upload-pack`
 * behind smart HTTP would, from the repository at `dir` on `fs`: the ref advertisement, then a pack
 * (made by `git.packObjects` through that fs) of every object the wants reach, in side-band-64k.
 */
export function uploadPackServer(fs: AnyFs, dir: string): HttpClient {
  const respond = (url: string, method: string, type: string, chunks: Uint8Array[]) => ({
    url,
    method,
    statusCode: 200,
    statusMessage: 'OK',
    headers: { 'content-type': type },
    body: (async function* () {
      yield* chunks;
    })(),
  });
  return {
    async request({ url, method = 'GET', body }) {
      const path = new URL(url).pathname;
      if (method === 'GET' && path.endsWith('/info/refs')) {
        const branches = await git.listBranches({ fs, dir });
        const head = await git.resolveRef({ fs, dir, ref: 'HEAD' });
        const current = await git.currentBranch({ fs, dir, fullname: true });
        const lines = [pkt('# service=git-upload-pack\n'), FLUSH];
        lines.push(pkt(`${head} HEAD\0side-band-64k symref=HEAD:${current} agent=dofs-test\n`));
        for (const branch of branches.sort())
          lines.push(pkt(`${await git.resolveRef({ fs, dir, ref: branch })} refs/heads/${branch}\n`));
        lines.push(FLUSH);
        return respond(url, method, 'application/x-git-upload-pack-advertisement', lines);
      }
      if (method === 'POST' && path.endsWith('/git-upload-pack')) {
        const wants = pktLines(await collect(body))
          .filter((line) => line.startsWith('want '))
          .map((line) => line.slice(5, 45));
        const oids = await reachable(fs, dir, wants);
        const { packfile } = await git.packObjects({ fs, dir, oids, write: false });
        const pack = packfile as Uint8Array;
        const chunks = [pkt('NAK\n')];
        for (let at = 0; at < pack.byteLength; at += 65515) {
          const part = pack.subarray(at, at + 65515);
          const frame = new Uint8Array(part.byteLength + 5);
          frame.set(encoder.encode((part.byteLength + 5).toString(16).padStart(4, '0')));
          frame[4] = 1;
          frame.set(part, 5);
          chunks.push(frame);
        }
        chunks.push(FLUSH);
        return respond(url, method, 'application/x-git-upload-pack-result', chunks);
      }
      return { url, method, statusCode: 404, statusMessage: 'Not Found', headers: {}, body: undefined };
    },
  };
}

/** What a clone produced, to compare with its source. */
export interface CloneReport {
  log: string[];
  branches: string[];
  remoteBranches: string[];
  files: Record<string, string>;
  status: Array<[string, number, number, number]>;
}

/** `git clone` of the repository at `fromDir` on `from` into `toDir` on `to` (which must exist). */
export function cloneBetween(from: AnyFs, fromDir: string, to: AnyFs, toDir: string): Promise<CloneReport> {
  return cloneWith(uploadPackServer(from, fromDir), to, toDir);
}

/** `git clone` through `http` (an upload-pack server) into `toDir` on `to`. */
export async function cloneWith(http: HttpClient, to: AnyFs, toDir: string): Promise<CloneReport> {
  await git.clone({ fs: to, http, dir: toDir, url: 'http://workspace-a.invalid/repo.git' });
  const files: Record<string, string> = {};
  for (const filepath of await git.listFiles({ fs: to, dir: toDir }))
    files[filepath] = Buffer.from((to as unknown as Fs).readFileSync(`${toDir}/${filepath}`)).toString('base64');
  return {
    log: (await git.log({ fs: to, dir: toDir })).map((entry) => entry.oid),
    branches: await git.listBranches({ fs: to, dir: toDir }),
    remoteBranches: await git.listBranches({ fs: to, dir: toDir, remote: 'origin' }),
    files,
    status: (await git.statusMatrix({ fs: to, dir: toDir })) as CloneReport['status'],
  };
}

// ---- Tarballs ----

/** One entry of a tarball, as its header says and with its bytes. */
export interface TarEntry {
  type: string;
  mode: number;
  mtimeMs: number;
  bytes?: Uint8Array;
  linkname?: string;
}

/** Every entry of a gzipped tarball, parsed in memory (the oracle). */
export async function readTarball(tgz: Uint8Array): Promise<Map<string, TarEntry>> {
  const entries = new Map<string, TarEntry>();
  const extract = tarStream.extract();
  const reading = (async () => {
    for await (const entry of extract) {
      const parts: Uint8Array[] = [];
      for await (const part of entry) parts.push(part as Uint8Array);
      const { name, type, mode, mtime, linkname } = entry.header;
      entries.set(name.replace(/\/$/, ''), {
        type: type ?? 'file',
        mode: (mode ?? 0) & 0o7777,
        mtimeMs: mtime ? mtime.getTime() : 0,
        bytes: type === 'file' ? Buffer.concat(parts) : undefined,
        linkname: linkname ?? undefined,
      });
    }
  })();
  await pipeline(Readable.from([tgz]), createGunzip(), extract);
  await reading;
  return entries;
}

/**
 * Extracts a gzipped tarball below `dest` on `fs`, streaming: gunzip, then tar-stream's parser, each
 * file's bytes piped into `fs.createWriteStream`, directories, links, modes and times as the headers
 * say. Returns how many entries were written.
 */
export async function extractTarball(fs: Fs, tgz: Uint8Array, dest: string): Promise<number> {
  const extract = tarStream.extract();
  let count = 0;
  const writing = (async () => {
    for await (const entry of extract) {
      const { name, type, mode, mtime, linkname } = entry.header;
      const path = `${dest}/${name}`.replace(/\/$/, '');
      const parent = path.slice(0, path.lastIndexOf('/'));
      await fs.promises.mkdir(parent, { recursive: true });
      if (type === 'directory') {
        await fs.promises.mkdir(path, { recursive: true });
        entry.resume();
      } else if (type === 'symlink') {
        await fs.promises.symlink(linkname as string, path);
        entry.resume();
      } else if (type === 'link') {
        await fs.promises.link(`${dest}/${linkname}`, path);
        entry.resume();
      } else {
        await pipeline(entry, fs.createWriteStream(path, { mode: mode ?? 0o644 }));
      }
      if (type !== 'symlink') {
        await fs.promises.chmod(path, (mode ?? 0o644) & 0o7777);
        if (mtime) await fs.promises.utimes(path, mtime, mtime);
      }
      count++;
    }
  })();
  await pipeline(Readable.from([tgz]), createGunzip(), extract);
  await writing;
  return count;
}

/** Compares what `fs` holds below `dest` with the tarball's entries: bytes, modes, times, link targets. */
export function checkExtracted(fs: Fs, dest: string, entries: Map<string, TarEntry>): string[] {
  const problems: string[] = [];
  for (const [name, entry] of entries) {
    const path = `${dest}/${name}`;
    const st = fs.lstatSync(path, { throwIfNoEntry: false });
    if (!st) {
      problems.push(`${name}: missing`);
      continue;
    }
    if (entry.type === 'symlink') {
      if (!st.isSymbolicLink() || fs.readlinkSync(path) !== entry.linkname) problems.push(`${name}: link differs`);
      continue;
    }
    if ((st.mode & 0o7777) !== entry.mode)
      problems.push(`${name}: mode ${st.mode.toString(8)} != ${entry.mode.toString(8)}`);
    if (entry.mtimeMs && Math.trunc(st.mtimeMs / 1000) !== Math.trunc(entry.mtimeMs / 1000))
      problems.push(`${name}: mtime ${st.mtimeMs} != ${entry.mtimeMs}`);
    if (entry.type === 'file' && Buffer.compare(fs.readFileSync(path), entry.bytes as Uint8Array) !== 0)
      problems.push(`${name}: bytes differ`);
    if (entry.type === 'directory' && !st.isDirectory()) problems.push(`${name}: not a directory`);
  }
  return problems;
}

// ---- just-bash ----

/** The files every shell run starts from. */
export const SHELL_FILES: Record<string, string> = {
  '/work/notes/todo.md': '- write tests\n- fix bug 42\n- ship\n',
  '/work/src/main.ts': 'import { helper } from "./helper";\n// TODO: remove\nconsole.log(helper(2));\n',
  '/work/src/helper.ts': 'export function helper(x: number) {\n  return x * 2; // TODO: tune\n}\n',
  '/work/data/numbers.txt': '10\n3\n7\n3\n42\n',
};

/** Shell scripts an agent would run: listing, reading, searching, editing, moving, removing, pipes, redirections. */
export const SHELL_SCRIPTS: string[] = [
  'ls; ls src; ls -a notes',
  'ls -R',
  'cat notes/todo.md src/helper.ts',
  'cat data/numbers.txt | sort -n | uniq | tr "\\n" " "; echo',
  'sort -n data/numbers.txt | tail -2 | head -1',
  'grep -rn TODO src | sort',
  'grep -c 3 data/numbers.txt; grep -l helper -r . | sort',
  'sed -i "s/fix bug 42/fixed bug 42/" notes/todo.md && cat notes/todo.md',
  'sed -n "2p" src/main.ts',
  'find . -type f | sort',
  'find . -name "*.ts" -newer /nonexistent 2>/dev/null | sort; find . -type d | sort',
  'mkdir -p build/out && echo built > build/out/app.js && ls -R build',
  'mkdir build 2>&1; echo "status $?"',
  'mv src/helper.ts src/util.ts && ls src && sed -i "s/helper\\"/util\\"/" src/main.ts && head -1 src/main.ts',
  'cp -r src backup && ls backup && diff src/main.ts backup/main.ts && echo same',
  'rm -r backup && ls',
  'echo appended >> notes/todo.md; wc -l notes/todo.md; tail -n 2 notes/todo.md',
  'cat missing.txt; echo "exit=$?"',
  'cat missing.txt 2> err.txt; cat err.txt | wc -l',
  'for f in $(find . -name "*.ts" | sort); do echo "$f $(wc -c < $f)"; done',
  'ls src > listing.txt && cat listing.txt && rm listing.txt',
  'ln -s notes/todo.md todo && cat todo | head -1 && readlink todo',
  'rmdir src 2>&1; echo "rc=$?"',
  'touch empty.txt && test -f empty.txt && test ! -s empty.txt && echo empty',
  'chmod 755 src/main.ts && test -x src/main.ts && echo executable',
  'echo one > a.txt; echo two > b.txt; cat a.txt b.txt > ab.txt; cat ab.txt; rm a.txt b.txt',
  'printf "x\\ny\\n" | while read line; do echo "[$line]" >> lines.txt; done; cat lines.txt',
  'head -c 12 src/main.ts; echo; basename $(pwd); dirname src/main.ts',
  'cd src && pwd && ls .. | wc -l',
  'find . -name "*.txt" -exec cat {} \\; | sort | head -3',
  'rm -rf notes data && ls',
];

/** Every path below `root` of `fs` with its type and content (files) or target (links), for comparison. */
export function shellTree(fs: Fs, root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string): void => {
    for (const name of (fs.readdirSync(dir) as string[]).sort()) {
      const path = `${dir}/${name}`;
      const st = fs.lstatSync(path);
      const rel = path.slice(root.length);
      if (st.isSymbolicLink()) out[rel] = `link ${fs.readlinkSync(path)}`;
      else if (st.isDirectory()) {
        out[rel] = 'dir';
        walk(path);
      } else out[rel] = `file ${(st.mode & 0o777).toString(8)} ${fs.readFileSync(path, 'utf8')}`;
    }
  };
  walk(root);
  return out;
}

/** The commit ids {@link gitWorkflow} makes on a filesystem that behaves like node's (checked on the real one in Node). */
export const EXPECTED_COMMITS: string[] = [
  '57993484149e22acff650445e564507369ca8544',
  '37ad0d869029cd7331e592628d8135cb49347111',
  'f1246f2626cbc94661b54ab946a9ed5442d2a028',
];
