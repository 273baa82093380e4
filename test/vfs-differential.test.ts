/**
 * Differential test: random sequences of filesystem operations applied both to the provider (on a
 * fresh node:sqlite workspace) and to the real node:fs in a fresh temporary directory. After every
 * operation the return values and error codes must match; after every sequence the whole tree must
 * match (names, types, sizes, contents, permission bits, link targets, nlink).
 * Half the sequences run the provider with `writeBack` (fd writes wait in a session until close or
 * a change by path; the final tree is read before the last fds close).
 *
 * Replaying a failure: fast-check prints `seed` and `path` in the failure message. Run
 *   DIFF_SEED=<seed> DIFF_PATH=<path> npx vitest run --project node test/vfs-differential.test.ts
 * to re-run exactly that (shrunk) counterexample. DIFF_RUNS=<n> runs more sequences.
 *
 * Allowed differences, and why (everything else must be identical):
 * - uid, gid, dev, ino, blksize, blocks and every timestamp: a workspace has one owner, its own
 *   inode numbers and its own clock; none of them are compared.
 * - directory `size`: the real filesystem reports its own block accounting; only files' and
 *   symlinks' sizes are compared.
 * - `access` is left out of the operations here; the node:fs differential covers it (the provider
 *   checks bits as the kernel does for the workspace's owner, root here as on disk).
 * - error messages and `path`/`dest` in errors: real errors name real absolute paths; only `code`
 *   is compared.
 * - fd numbers: the provider numbers its own fds from 3; fds are compared by the slot they were
 *   opened into.
 * - readdir order: the disk's order is its own; names are compared sorted.
 * - absolute symlink targets would point outside the temp dir on disk, so targets are relative;
 *   and `..` above the workspace root stays at the root (by design), while on disk it climbs out,
 *   so both sides work one directory down where one `..` climbs into an empty parent on both.
 */
import fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { SQLiteWorkspaceProvider } from '../adapters/vfs/index.ts';
import { createNodeSqliteBackend } from '../backends/node-sqlite/index.ts';
import { openWorkspace } from '../core/index.ts';

const NAMES = ['a', 'b', 'c'];
const FLAGS = ['r', 'r+', 'rs+', 'w', 'wx', 'w+', 'wx+', 'a', 'ax', 'a+', 'ax+'];
const MODES = [0o600, 0o644, 0o755, 0o700, 0o444, 0o640];
const TARGETS = ['a', 'b', 'c', 'a/b', '../a', '../b/c', 'missing', '.'];

const pathArb = fc.array(fc.constantFrom(...NAMES), { minLength: 1, maxLength: 3 }).map((names) => names.join('/'));
const bytesArb = fc.uint8Array({ minLength: 0, maxLength: 90 });
const positionArb = fc.option(fc.nat({ max: 200 }), { nil: null });
const slotArb = fc.nat({ max: 7 });

type Op =
  | { op: 'open'; path: string; flag: string; mode: number }
  | { op: 'close' | 'fstat'; slot: number }
  | { op: 'write'; slot: number; data: Uint8Array; position: number | null }
  | { op: 'read'; slot: number; length: number; position: number | null }
  | { op: 'ftruncate'; slot: number; length: number }
  | { op: 'truncate'; path: string; length: number }
  | { op: 'mkdir'; path: string; recursive: boolean; mode: number }
  | { op: 'rename' | 'link'; from: string; to: string }
  | { op: 'symlink'; target: string; path: string }
  | { op: 'unlink' | 'rmdir' | 'readdir' | 'stat' | 'lstat' | 'readlink' | 'readFile'; path: string }
  | { op: 'chmod'; path: string; mode: number }
  | { op: 'writeFile' | 'appendFile'; path: string; data: Uint8Array };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constant('open' as const),
      path: pathArb,
      flag: fc.constantFrom(...FLAGS),
      mode: fc.constantFrom(...MODES),
    }),
  },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('close' as const), slot: slotArb }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('fstat' as const), slot: slotArb }) },
  {
    weight: 5,
    arbitrary: fc.record({ op: fc.constant('write' as const), slot: slotArb, data: bytesArb, position: positionArb }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant('read' as const),
      slot: slotArb,
      length: fc.nat({ max: 120 }),
      position: positionArb,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ op: fc.constant('ftruncate' as const), slot: slotArb, length: fc.nat({ max: 150 }) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant('truncate' as const), path: pathArb, length: fc.nat({ max: 150 }) }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('mkdir' as const),
      path: pathArb,
      recursive: fc.boolean(),
      mode: fc.constantFrom(0o755, 0o700, 0o777),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ op: fc.constantFrom('rename' as const, 'link' as const), from: pathArb, to: pathArb }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ op: fc.constant('symlink' as const), target: fc.constantFrom(...TARGETS), path: pathArb }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constantFrom(
        'unlink' as const,
        'rmdir' as const,
        'readdir' as const,
        'stat' as const,
        'lstat' as const,
        'readlink' as const,
        'readFile' as const,
      ),
      path: pathArb,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant('chmod' as const), path: pathArb, mode: fc.constantFrom(...MODES) }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constantFrom('writeFile' as const, 'appendFile' as const),
      path: pathArb,
      data: bytesArb,
    }),
  },
);

/** What both sides can be compared on: a value, or an error code. */
type Outcome = { ok: unknown } | { code: string };

function outcome(fn: () => unknown): Outcome {
  try {
    return { ok: fn() };
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (typeof code !== 'string') throw error;
    return { code };
  }
}

/** The comparable part of a Stats (see the allowed differences above). */
function statShape(st: fs.Stats | { mode: number; size: number; nlink: number; isDirectory(): boolean }): object {
  const dir = st.isDirectory();
  return { mode: st.mode, size: dir ? 'dir' : st.size, nlink: st.nlink };
}

/** One side of the comparison: the same operations over node:fs or over the provider. */
interface Side {
  open(path: string, flag: string, mode: number): number;
  close(fd: number): void;
  fstat(fd: number): fs.Stats;
  read(fd: number, buffer: Uint8Array, length: number, position: number | null): number;
  write(fd: number, data: Uint8Array, position: number | null): number;
  ftruncate(fd: number, length: number): void;
  truncate(path: string, length: number): void;
  mkdir(path: string, options: { recursive: boolean; mode: number }): string | undefined;
  rename(from: string, to: string): void;
  link(from: string, to: string): void;
  symlink(target: string, path: string): void;
  unlink(path: string): void;
  rmdir(path: string): void;
  readdir(path: string): string[];
  stat(path: string): fs.Stats;
  lstat(path: string): fs.Stats;
  readlink(path: string): string;
  readFile(path: string): Uint8Array;
  chmod(path: string, mode: number): void;
  writeFile(path: string, data: Uint8Array): void;
  appendFile(path: string, data: Uint8Array): void;
}

// Both sides work one level down (`r/`), so a relative target climbing above the top directory
// lands, on both, in a parent that holds nothing else.
function realSide(root: string): Side {
  fs.mkdirSync(join(root, 'r'));
  const at = (p: string) => join(root, 'r', p);
  return {
    open: (p, flag, mode) => fs.openSync(at(p), flag, mode),
    close: (fd) => fs.closeSync(fd),
    fstat: (fd) => fs.fstatSync(fd),
    read: (fd, buffer, length, position) => fs.readSync(fd, buffer, 0, length, position),
    write: (fd, data, position) => fs.writeSync(fd, data, 0, data.byteLength, position),
    ftruncate: (fd, length) => fs.ftruncateSync(fd, length),
    truncate: (p, length) => fs.truncateSync(at(p), length),
    mkdir: (p, options) => {
      const first = fs.mkdirSync(at(p), options);
      return first === undefined ? undefined : first.slice(join(root, 'r').length);
    },
    rename: (a, b) => fs.renameSync(at(a), at(b)),
    link: (a, b) => fs.linkSync(at(a), at(b)),
    symlink: (target, p) => fs.symlinkSync(target, at(p)),
    unlink: (p) => fs.unlinkSync(at(p)),
    rmdir: (p) => fs.rmdirSync(at(p)),
    readdir: (p) => fs.readdirSync(at(p)),
    stat: (p) => fs.statSync(at(p)),
    lstat: (p) => fs.lstatSync(at(p)),
    readlink: (p) => fs.readlinkSync(at(p)),
    readFile: (p) => fs.readFileSync(at(p)),
    chmod: (p, mode) => fs.chmodSync(at(p), mode),
    writeFile: (p, data) => fs.writeFileSync(at(p), data),
    appendFile: (p, data) => fs.appendFileSync(at(p), data),
  };
}

function providerSide(p: SQLiteWorkspaceProvider): Side {
  p.mkdirSync('/r');
  const at = (path: string) => `/r/${path}`;
  return {
    open: (path, flag, mode) => p.openFdSync(at(path), flag, mode),
    close: (fd) => p.closeSync(fd),
    fstat: (fd) => p.fstatSync(fd) as unknown as fs.Stats,
    read: (fd, buffer, length, position) => p.readSync(fd, buffer, 0, length, position),
    write: (fd, data, position) => p.writeSync(fd, data, 0, data.byteLength, position),
    ftruncate: (fd, length) => p.ftruncateSync(fd, length),
    truncate: (path, length) => p.truncateSync(at(path), length),
    mkdir: (path, options) => p.mkdirSync(at(path), options)?.slice('/r'.length),
    rename: (a, b) => p.renameSync(at(a), at(b)),
    link: (a, b) => p.linkSync(at(a), at(b)),
    symlink: (target, path) => p.symlinkSync(target, at(path)),
    unlink: (path) => p.unlinkSync(at(path)),
    rmdir: (path) => p.rmdirSync(at(path)),
    readdir: (path) => p.readdirSync(at(path)) as string[],
    stat: (path) => p.statSync(at(path)) as unknown as fs.Stats,
    lstat: (path) => p.lstatSync(at(path)) as unknown as fs.Stats,
    readlink: (path) => p.readlinkSync(at(path)),
    readFile: (path) => p.readFileSync(at(path)) as Uint8Array,
    chmod: (path, mode) => p.chmodSync(at(path), mode),
    writeFile: (path, data) => p.writeFileSync(at(path), data),
    appendFile: (path, data) => p.appendFileSync(at(path), data),
  };
}

/** Applies `op` to `side`, whose open fds are `fds` (slot → fd), and returns what can be compared. */
function apply(side: Side, fds: number[], op: Op): Outcome {
  const fdOf = (slot: number): number => fds[slot % Math.max(1, fds.length)] ?? 1_000_000;
  switch (op.op) {
    case 'open':
      return outcome(() => {
        if (fds.length >= 8) return 'full';
        fds.push(side.open(op.path, op.flag, op.mode));
        return 'opened';
      });
    case 'close':
      return outcome(() => {
        if (fds.length === 0) return 'none';
        const index = op.slot % fds.length;
        side.close(fds[index]);
        fds.splice(index, 1);
        return 'closed';
      });
    case 'fstat':
      return outcome(() => statShape(side.fstat(fdOf(op.slot))));
    case 'read':
      return outcome(() => {
        const buffer = new Uint8Array(op.length);
        const n = side.read(fdOf(op.slot), buffer, op.length, op.position);
        return [...buffer.subarray(0, n)];
      });
    case 'write':
      return outcome(() => side.write(fdOf(op.slot), op.data, op.position));
    case 'ftruncate':
      return outcome(() => side.ftruncate(fdOf(op.slot), op.length));
    case 'truncate':
      return outcome(() => side.truncate(op.path, op.length));
    case 'mkdir':
      return outcome(() => side.mkdir(op.path, { recursive: op.recursive, mode: op.mode }));
    case 'rename':
      return outcome(() => side.rename(op.from, op.to));
    case 'link':
      return outcome(() => side.link(op.from, op.to));
    case 'symlink':
      return outcome(() => side.symlink(op.target, op.path));
    case 'unlink':
      return outcome(() => side.unlink(op.path));
    case 'rmdir':
      return outcome(() => side.rmdir(op.path));
    case 'readdir':
      return outcome(() => side.readdir(op.path).sort());
    case 'stat':
      return outcome(() => statShape(side.stat(op.path)));
    case 'lstat':
      return outcome(() => statShape(side.lstat(op.path)));
    case 'readlink':
      return outcome(() => side.readlink(op.path));
    case 'readFile':
      return outcome(() => [...side.readFile(op.path)]);
    case 'chmod':
      return outcome(() => side.chmod(op.path, op.mode));
    case 'writeFile':
      return outcome(() => side.writeFile(op.path, op.data));
    case 'appendFile':
      return outcome(() => side.appendFile(op.path, op.data));
  }
}

/** The whole tree below `dir`, by relative path, in comparable form. */
function tree(side: Side, dir = ''): Record<string, object> {
  const out: Record<string, object> = {};
  for (const name of side.readdir(dir).sort()) {
    const path = dir === '' ? name : `${dir}/${name}`;
    const st = side.lstat(path);
    const entry: Record<string, unknown> = { ...statShape(st) };
    if (st.isSymbolicLink()) entry.target = side.readlink(path);
    else if (st.isFile()) entry.content = Buffer.from(side.readFile(path)).toString('hex');
    out[path] = entry;
    if (st.isDirectory()) Object.assign(out, tree(side, path));
  }
  return out;
}

let operations = 0;
const runs = Number(process.env.DIFF_RUNS ?? 60);

describe('the provider against the real node:fs', () => {
  afterAll(() => {
    // The CI budget: at least 1,000 operations per run (unless replaying one counterexample).
    if (!process.env.DIFF_SEED) expect(operations).toBeGreaterThanOrEqual(1000);
  });

  it('agrees on every return value, error code and the final tree', () => {
    const umask = process.umask();
    // Half the sequences with write-back: fd writes wait in a session while path calls change the file.
    const property = fc.property(fc.boolean(), fc.array(opArb, { minLength: 20, maxLength: 40 }), (writeBack, ops) => {
      const root = fs.mkdtempSync(join(tmpdir(), 'dofs-diff-'));
      const ws = openWorkspace(createNodeSqliteBackend(), { chunkSize: 32 });
      const provider = new SQLiteWorkspaceProvider(ws, { umask, writeBack });
      const real = realSide(root);
      const virtual = providerSide(provider);
      const realFds: number[] = [];
      const virtualFds: number[] = [];
      try {
        for (const [step, op] of ops.entries()) {
          operations++;
          const expected = apply(real, realFds, op);
          const actual = apply(virtual, virtualFds, op);
          expect(
            actual,
            `step ${step}: ${JSON.stringify(op, (_k, v) => (v instanceof Uint8Array ? `<${v.byteLength} bytes>` : v))}`,
          ).toEqual(expected);
        }
        expect(tree(virtual)).toEqual(tree(real));
        for (const fd of virtualFds) provider.closeSync(fd);
        expect(provider.openFds).toBe(0);
        expect(ws.fsck().problems).toEqual([]);
      } finally {
        for (const fd of realFds) fs.closeSync(fd);
        fs.rmSync(root, { recursive: true, force: true });
        ws.close();
      }
    });
    fc.assert(property, {
      numRuns: process.env.DIFF_SEED ? 1 : runs,
      seed: process.env.DIFF_SEED ? Number(process.env.DIFF_SEED) : undefined,
      path: process.env.DIFF_PATH,
      endOnFailure: !!process.env.DIFF_SEED,
    });
  }, 60_000);
});
