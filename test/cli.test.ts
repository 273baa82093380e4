// Drives the `dofs` command as a user would: a spawned process on real temporary files,
// checked by exit status, stdout and stderr.
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNodeSqliteBackend } from '../backends/node-sqlite/index.ts';
import { openWorkspace } from '../core/index.ts';
import { runDofs } from './support/cli.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

const dofs = runDofs;

/** Every entry below `dir`, described for a byte-for-byte, mode and mtime comparison. */
function describeTree(
  dir: string,
): Record<string, { type: string; mode?: number; mtime?: number; data?: string; target?: string }> {
  const out: Record<string, { type: string; mode?: number; mtime?: number; data?: string; target?: string }> = {};
  const walk = (local: string, rel: string): void => {
    for (const name of readdirSync(local).sort()) {
      const path = join(local, name);
      const key = `${rel}/${name}`;
      const stats = lstatSync(path);
      if (stats.isSymbolicLink())
        out[key] = { type: 'symlink', target: readlinkSync(path), mtime: Math.round(stats.mtimeMs) };
      else if (stats.isDirectory()) {
        out[key] = { type: 'dir', mode: stats.mode & 0o7777, mtime: Math.round(stats.mtimeMs) };
        walk(path, key);
      } else {
        const data = readFileSync(path).toString('base64');
        out[key] = { type: 'file', mode: stats.mode & 0o7777, mtime: Math.round(stats.mtimeMs), data };
      }
    }
  };
  walk(dir, '');
  return out;
}

let base: string;
let src: string;
const BIG = randomBytes(9 * 1024 * 1024); // above the 8 MiB stream threshold of import and export
const BINARY = randomBytes(100_000);

beforeAll(() => {
  base = mkdtempSync(join(tmpdir(), 'dofs-cli-'));
  src = join(base, 'src');
  // A tree with nested dirs, symlinks (one dangling), an empty file, binary files, duplicates
  // (for dedup), a hard link, unusual modes and old mtimes, and enough files to span batches.
  mkdirSync(join(src, 'docs/deep/deeper'), { recursive: true });
  mkdirSync(join(src, 'empty-dir'));
  mkdirSync(join(src, 'many'));
  writeFileSync(join(src, 'docs/readme.md'), '# Title\nalpha\nbeta needle\ngamma\ndelta\nepsilon needle\n');
  writeFileSync(join(src, 'docs/deep/deeper/notes.txt'), 'Needle in caps\nnothing here\n');
  writeFileSync(join(src, 'empty.txt'), '');
  writeFileSync(join(src, 'binary.bin'), BINARY);
  writeFileSync(join(src, 'binary-copy.bin'), BINARY);
  writeFileSync(join(src, 'docs/deep/binary-again.bin'), BINARY);
  writeFileSync(join(src, 'big.bin'), BIG);
  writeFileSync(join(src, 'script.sh'), '#!/bin/sh\necho hi\n');
  for (let i = 0; i < 600; i++)
    writeFileSync(join(src, 'many', `f${String(i).padStart(3, '0')}.txt`), `file ${i % 7}\n`);
  symlinkSync('docs/readme.md', join(src, 'link-to-readme'));
  symlinkSync('/does/not/exist', join(src, 'dangling'));
  symlinkSync('docs', join(src, 'link-to-dir'));
  linkSync(join(src, 'script.sh'), join(src, 'script-hardlink.sh'));
  chmodSync(join(src, 'script.sh'), 0o755);
  chmodSync(join(src, 'empty.txt'), 0o600);
  chmodSync(join(src, 'empty-dir'), 0o700);
  const old = new Date('2021-03-04T05:06:07.123Z');
  utimesSync(join(src, 'docs/readme.md'), old, old);
  utimesSync(join(src, 'binary.bin'), old, new Date('2020-01-02T03:04:05.678Z'));
  utimesSync(join(src, 'docs/deep'), old, old);
  lutimesSync(join(src, 'link-to-readme'), old, old);
});

afterAll(() => {
  if (base) rmSync(base, { recursive: true, force: true });
});

describe('dofs CLI', { timeout: 90_000 }, () => {
  it('prints help and its version, and exits 2 on usage errors', async () => {
    const [help, version, unknown, missingArgument, badValue, bare] = await Promise.all([
      dofs(base, ['--help']),
      dofs(base, ['--version']),
      dofs(base, ['frobnicate']),
      dofs(base, ['cat']),
      dofs(base, ['gc', '--safety-window-ms', 'soon']),
      dofs(base, []),
    ]);
    expect(help.status).toBe(0);
    for (const command of [
      'init',
      'import',
      'export',
      'ls',
      'cat',
      'put',
      'rm',
      'mv',
      'stat',
      'find',
      'grep',
      'du',
      'fsck',
      'gc',
    ]) {
      expect(help.stdout).toMatch(new RegExp(`^  ${command} `, 'm'));
    }
    expect(version.status).toBe(0);
    expect(version.stdout.trim()).toBe(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/^dofs: unknown command 'frobnicate'/);
    expect(missingArgument.status).toBe(2);
    expect(missingArgument.stderr).toMatch(/^dofs: missing required argument/);
    expect(badValue.status).toBe(2);
    expect(badValue.stderr).toMatch(/^dofs: --safety-window-ms must be a non-negative integer/);
    expect(bare.status).toBe(2);
    expect(bare.stderr).toContain('Usage: dofs');
  });

  it('refuses an old Node before loading anything that needs node:sqlite', async () => {
    const fake = 'Object.defineProperty(process, "versions", { value: { ...process.versions, node: "20.11.1" } });';
    const result = await dofs(base, ['--help'], {
      nodeArgs: ['--import', `data:text/javascript,${encodeURIComponent(fake)}`],
    });
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^dofs: Node 22\.13\.0 or newer is required .*this is Node 20\.11\.1/);
  });

  it('reports a missing workspace database as ENOENT with exit 1', async () => {
    const result = await dofs(base, ['ls', '--db', join(base, 'missing.db')]);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^dofs: ENOENT: no workspace database at /);
    expect(existsSync(join(base, 'missing.db'))).toBe(false);
  });

  describe('on an imported tree', () => {
    let work: string;
    const db = () => join(work, 'ws.db');
    const run = (args: string[], options?: { input?: string }) => dofs(work, [...args, '--db', db()], options);

    beforeAll(() => {
      work = mkdtempSync(join(base, 'work-'));
    });

    it('initialises, imports with dedup, and passes fsck', async () => {
      const init = await run(['init', '--chunk-size', '16k']);
      expect(init.status).toBe(0);
      expect(init.stdout).toContain('created workspace');
      const reinit = await run(['init', '--chunk-size', '32k']);
      expect(reinit.status).toBe(1);
      expect(reinit.stderr).toMatch(/^dofs: EEXIST: .*chunk size 16384/);

      const imported = await run(['import', src, '--to', '/project']);
      expect(imported.stderr).toBe('');
      expect(imported.status).toBe(0);
      expect(imported.stdout).toMatch(/imported 608 files .*, 5 directories, 3 symlinks, 1 hard link/);

      const [fsck, du, human] = await Promise.all([run(['fsck']), run(['du', '--json']), run(['du'])]);
      expect(fsck.status).toBe(0);
      expect(fsck.stdout).toMatch(/^fsck: ok/);
      expect(du.status).toBe(0);
      const usage = JSON.parse(du.stdout);
      expect(usage).toMatchObject({ files: 608, directories: 7, symlinks: 3, chunkSize: 16 * 1024 });
      // Three copies of BINARY and 600 files of seven distinct contents are each stored once.
      expect(usage.storedBytes).toBeLessThan(usage.logicalBytes - 2 * BINARY.length + 1);
      expect(usage.dedupRatio).toBeGreaterThan(1);
      expect(human.stdout).toMatch(/dedup ratio\s+\d+\.\d\dx/);
      expect(human.stdout).toMatch(/stored\s+\S+ \S+ \([\d,]+ bytes\)/);
    });

    it('exports the tree back byte for byte, with modes, mtimes and hard links', async () => {
      const out = join(work, 'out');
      const exported = await run(['export', out, '--from', '/project']);
      expect(exported.stderr).toBe('');
      expect(exported.status).toBe(0);
      expect(describeTree(out)).toEqual(describeTree(src));
      expect(lstatSync(join(out, 'script.sh')).ino).toBe(lstatSync(join(out, 'script-hardlink.sh')).ino);
      expect(Math.round(lstatSync(join(out, 'binary.bin')).mtimeMs)).toBe(Date.parse('2020-01-02T03:04:05.678Z'));

      const again = await run(['export', out, '--from', '/project']);
      expect(again.status).toBe(1);
      expect(again.stderr).toMatch(/^dofs: EEXIST: .* is not empty/);
      expect((await run(['export', out, '--from', '/project', '--force'])).status).toBe(0);
      expect(describeTree(out)).toEqual(describeTree(src));
    });

    it('exports a tree holding a FIFO, a socket and a device, leaving them out with a warning', async () => {
      const ws = openWorkspace(createNodeSqliteBackend({ path: db() }));
      try {
        ws.mkdir('/special/sub', { recursive: true });
        ws.writeFile('/special/sub/kept.txt', 'kept');
        ws.mknod('/special/pipe', 0o10644);
        ws.mknod('/special/sub/sock', 0o140755);
        ws.mknod('/special/tty', 0o20620, 0x0501);
      } finally {
        ws.close();
      }
      const out = join(work, 'special-out');
      const exported = await run(['export', out, '--from', '/special']);
      expect(exported.status).toBe(0);
      expect(exported.stdout).toMatch(/exported 1 file .*; skipped 3 special file\(s\)$/m);
      expect(exported.stderr.trim().split('\n').sort()).toEqual(
        ['/special/pipe', '/special/sub/sock', '/special/tty'].map(
          (path) => `dofs: skipping ${path}: a FIFO, socket or device (node:fs cannot make one)`,
        ),
      );
      expect(readdirSync(out).sort()).toEqual(['sub']);
      expect(readdirSync(join(out, 'sub'))).toEqual(['kept.txt']);
      expect(readFileSync(join(out, 'sub/kept.txt'), 'utf8')).toBe('kept');
    });

    it('lists, reads and describes paths', async () => {
      const [long, cat, stat, followed] = await Promise.all([
        run(['ls', '-l', 'project']),
        run(['cat', '/project/binary.bin', '/project/big.bin']),
        run(['stat', '/project/link-to-readme']),
        run(['stat', '-L', '/project/link-to-readme']),
      ]);
      expect(long.status).toBe(0);
      expect(long.stdout).toMatch(/^-rwxr-xr-x +2 +18 .* script\.sh$/m);
      expect(long.stdout).toMatch(/^drwx------ .* empty-dir$/m);
      expect(long.stdout).toMatch(/^lrwxrwxrwx .* link-to-readme -> docs\/readme\.md$/m);
      expect(long.stdout.trim().split('\n')).toHaveLength(12);
      expect(cat.status).toBe(0);
      expect(Buffer.compare(cat.bytes, Buffer.concat([BINARY, BIG]))).toBe(0);
      expect(JSON.parse(stat.stdout)).toMatchObject({
        path: '/project/link-to-readme',
        type: 'symlink',
        target: 'docs/readme.md',
      });
      expect(JSON.parse(followed.stdout)).toMatchObject({
        type: 'file',
        permissions: '0644',
        mtimeMs: Date.parse('2021-03-04T05:06:07.123Z'),
      });
    });

    it('finds and greps', async () => {
      const [find, many, grep, context, regex, none, bad] = await Promise.all([
        run(['find', '/project', '**/*.md', '--exclude', 'many']),
        run(['find', '/project', 'many/*.txt']),
        run(['grep', 'needle', '/project/docs']),
        run(['grep', '-i', '-C', '1', 'NEEDLE', '/project/docs', '--include', '*.md']),
        run(['grep', '-E', '^N\\w+ in', '/project', '--json']),
        run(['grep', 'absent-text', '/project/docs']),
        run(['grep', '-E', '(', '/project']),
      ]);
      expect(find.status).toBe(0);
      expect(find.stdout).toBe('/project/docs/readme.md\n');
      expect(many.stdout.trim().split('\n')).toHaveLength(600);
      expect(grep.status).toBe(0);
      expect(grep.stdout).toBe('/project/docs/readme.md:3:beta needle\n/project/docs/readme.md:6:epsilon needle\n');
      expect(context.stdout).toBe(
        [
          '/project/docs/readme.md-2-alpha',
          '/project/docs/readme.md:3:beta needle',
          '/project/docs/readme.md-4-gamma',
          '/project/docs/readme.md-5-delta',
          '/project/docs/readme.md:6:epsilon needle',
          '',
        ].join('\n'),
      );
      expect(JSON.parse(regex.stdout)).toMatchObject([{ path: '/project/docs/deep/deeper/notes.txt', line: 1 }]);
      expect(none.status).toBe(1);
      expect(none.stdout + none.stderr).toBe('');
      expect(bad.status).toBe(2); // a usage error, as grep's own bad pattern is; not "no match"
      expect(bad.stderr).toMatch(/^dofs: grep: bad regular expression/);
    });

    it('puts, moves and removes', async () => {
      const local = join(work, 'local.txt');
      writeFileSync(local, 'from a local file\n');
      chmodSync(local, 0o640);
      const [fromFile, fromStdin, mkdir] = await Promise.all([
        run(['put', local, '/project/docs']),
        run(['put', '-', '/project/stdin.txt'], { input: 'piped\n' }),
        run(['mkdir', '-p', '/scratch/a/b']),
      ]);
      expect([fromFile.status, fromStdin.status, mkdir.status]).toEqual([0, 0, 0]);
      const [cat, stat] = await Promise.all([
        run(['cat', '/project/docs/local.txt', 'project/stdin.txt']),
        run(['stat', '/project/docs/local.txt']),
      ]);
      expect(cat.stdout).toBe('from a local file\npiped\n');
      expect(JSON.parse(stat.stdout).permissions).toBe('0640');

      expect((await run(['mv', '/project/stdin.txt', '/scratch'])).status).toBe(0);
      expect((await run(['mv', '/scratch/stdin.txt', '/scratch/renamed.txt'])).status).toBe(0);
      expect((await run(['ls', '/scratch'])).stdout).toBe('a\nrenamed.txt\n');

      const notRecursive = await run(['rm', '/scratch']);
      expect(notRecursive.status).toBe(1);
      expect(notRecursive.stderr).toMatch(/^dofs: EISDIR/);
      expect((await run(['rm', '-r', '/scratch'])).status).toBe(0);
      expect((await run(['rm', '-f', '/scratch/never', '/never'])).status).toBe(0);
    });

    it('applies mkdir and rm with several paths all or nothing', async () => {
      const mkdir = await run(['mkdir', '/all-or-nothing', '/no/parent']);
      expect(mkdir.status).toBe(1);
      expect(mkdir.stderr).toMatch(/^dofs: ENOENT/);
      expect((await run(['stat', '/all-or-nothing'])).status).toBe(1);

      expect((await run(['mkdir', '/kept'])).status).toBe(0);
      const rm = await run(['rm', '-r', '/kept', '/missing']);
      expect(rm.status).toBe(1);
      expect((await run(['stat', '/kept'])).status).toBe(0);
      expect((await run(['rm', '-r', '/kept'])).status).toBe(0);
    });

    it('reports errors with their code, exit 1 and no stack trace', async () => {
      const cases = [
        ['cat', '/nope'],
        ['ls', '/project/nope'],
        ['stat', 'nope'],
        ['rm', '/nope'],
        ['mv', '/nope', '/x'],
      ];
      const results = await Promise.all(cases.map((args) => run(args)));
      results.forEach((result, i) => {
        expect(result.status, cases[i].join(' ')).toBe(1);
        expect(result.stderr).toMatch(
          /^dofs: ENOENT: no such file or directory, \w+ '\/(project\/)?nope'( -> '\/x')?\n$/,
        );
      });
      const [intoFile, missingLocal] = await Promise.all([
        run(['mkdir', '/project/empty.txt/sub']),
        run(['import', join(work, 'no-such-dir')]),
      ]);
      expect(intoFile.status).toBe(1);
      expect(intoFile.stderr).toMatch(/^dofs: ENOTDIR/);
      expect(missingLocal.status).toBe(1);
      expect(missingLocal.stderr).toMatch(/^dofs: ENOENT/);
    });

    it('collects garbage after removals by itself', async () => {
      const before = JSON.parse((await run(['du', '--json'])).stdout);
      expect((await run(['rm', '/project/big.bin'])).status).toBe(0);
      // The rm collected what it freed (a bounded step after every change): nothing is left for gc.
      const du = JSON.parse((await run(['du', '--json'])).stdout);
      expect(du.garbageBytes).toBe(0);
      expect(before.storedBytes - du.storedBytes).toBeGreaterThanOrEqual(BIG.length);
      // Deletion rows go with the first gc (no sync peer needs them); a second finds none.
      expect((await run(['gc'])).stdout).toMatch(/^gc: freed 0 blobs \(0 B\); compacted [1-9]\d* change-log rows/);
      expect((await run(['gc'])).stdout).toBe('gc: freed 0 blobs (0 B); compacted 0 change-log rows\n');
      const gc = await run(['gc', '--safety-window-ms', '0', '--json']);
      expect(gc.status).toBe(0);
      expect(JSON.parse(gc.stdout).bytes).toBe(0);
      expect((await run(['fsck'])).status).toBe(0);
    });

    it('exits 1 when fsck finds a problem', async () => {
      const sqlite = new DatabaseSync(db());
      sqlite.exec(
        "UPDATE vfs_blob_bytes SET bytes = x'00' WHERE rowid = (SELECT id FROM vfs_blobs WHERE hash = (SELECT hash FROM vfs_chunks LIMIT 1))",
      );
      sqlite.close();
      const [fsck, json] = await Promise.all([run(['fsck']), run(['fsck', '--json'])]);
      expect(fsck.status).toBe(1);
      expect(fsck.stdout).toMatch(/^blobs: /m);
      expect(fsck.stdout).toMatch(/^fsck: \d+ problems? /m);
      expect(json.status).toBe(1);
      expect(JSON.parse(json.stdout).ok).toBe(false);
    });
  });

  it('start imports a directory into ./workspace.db and prints a summary', async () => {
    const cwd = mkdtempSync(join(base, 'start-'));
    const result = await dofs(cwd, ['start', src]);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(existsSync(join(cwd, 'workspace.db'))).toBe(true);
    expect(result.stdout).toMatch(/imported 608 files/);
    expect(result.stdout).toMatch(/^ {2}files +608$/m);
    expect(result.stdout).toMatch(/^ {2}bytes +\S+ \S+ \([\d,]+ bytes\)$/m);
    expect(result.stdout).toMatch(/^ {2}stored +\S+ \S+ \([\d,]+ bytes\)$/m);
    expect(result.stdout).toMatch(/^ {2}dedup ratio +\d+\.\d\dx$/m);
    expect(result.stdout).toMatch(/^ {2}fsck +ok \(/m);
  });
});
