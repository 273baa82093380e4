/**
 * Model tests (fast-check): random operation sequences run on the workspace and on an in-memory
 * model that predicts every outcome (success, value, or the exact POSIX code), then the whole tree
 * is compared and fsck must be clean; and fsx-style random pwrite/truncate/append/read on one file
 * compared with a byte array. Tiny chunk sizes make every content operation cross chunk
 * boundaries.
 *
 * fast-check picks a fresh seed each run and prints it with the shrunk counterexample on failure;
 * set `DOFS_MODEL_SEED` (and `DOFS_MODEL_PATH`) in the environment to replay one.
 *
 * @module
 */
import fc from 'fast-check';
import { describe } from 'vitest';
import { writeContent } from '../../core/content.ts';
import { isFsError } from '../../core/errors.ts';
import { mutate } from '../../core/mutate.ts';
import { resolve } from '../../core/resolve.ts';
import type { Workspace } from '../../core/workspace.ts';
import { defineCase } from '../harness.ts';
import { type MNode, ModelError, TreeModel } from '../model/tree.ts';
import type { ConformanceTarget } from '../target.ts';
import { collect } from './files.ts';

// ---- shared ---------------------------------------------------------------------------------------

/** What an operation did: a rendered value, or an error code. */
type Outcome = { ok: true; value: string } | { ok: false; code: string };

/** An error as an outcome: its POSIX code, or the whole error when it is not a filesystem error. */
function failure(error: unknown): Outcome {
  if (error instanceof ModelError || isFsError(error)) return { ok: false, code: error.code };
  return { ok: false, code: `THROWN ${(error as Error)?.stack ?? String(error)}` };
}

function attempt(fn: () => unknown): Outcome {
  try {
    const value = fn();
    return { ok: true, value: value === undefined ? '' : String(value) };
  } catch (error) {
    return failure(error);
  }
}

const render = (outcome: Outcome): string => (outcome.ok ? `ok(${outcome.value})` : outcome.code);

const hex = (bytes: Uint8Array): string => {
  let out = '';
  for (const byte of bytes) out += byte.toString(16).padStart(2, '0');
  return out;
};

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean =>
  a.byteLength === b.byteLength && a.every((byte, i) => byte === b[i]);

/** The first difference between two byte arrays, for messages. */
function bytesDiff(actual: Uint8Array, expected: Uint8Array): string {
  let i = 0;
  while (i < actual.byteLength && i < expected.byteLength && actual[i] === expected[i]) i++;
  return `lengths ${actual.byteLength} vs ${expected.byteLength}, first difference at byte ${i}: engine ${hex(actual.subarray(i, i + 8))}, model ${hex(expected.subarray(i, i + 8))}`;
}

/** Content to write: `len` bytes of a pattern (`fill` -1 is zeros, which collide with holes). */
interface DataSpec {
  len: number;
  fill: number;
}

function bytesOf(spec: DataSpec): Uint8Array {
  const bytes = new Uint8Array(spec.len);
  if (spec.fill >= 0) for (let i = 0; i < spec.len; i++) bytes[i] = (spec.fill + i * 31) & 0xff;
  return bytes;
}

/** Sizes and offsets that sit on and around chunk boundaries, plus small random ones. */
function boundaryArb(chunk: number, far = 3): fc.Arbitrary<number> {
  const c = chunk;
  return fc.oneof(fc.constantFrom(0, 1, c - 1, c, c + 1, 2 * c - 1, 2 * c, 2 * c + 1, 3 * c + 1), fc.nat(far * c));
}

function dataArb(chunk: number): fc.Arbitrary<DataSpec> {
  return fc.record({
    len: boundaryArb(chunk),
    fill: fc.oneof({ weight: 1, arbitrary: fc.constant(-1) }, { weight: 4, arbitrary: fc.nat(255) }),
  });
}

function environment(): Record<string, string | undefined> {
  return (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env ?? {};
}

/** `DOFS_MODEL_RUNS` multiplies every numRuns, for a long soak. */
function runsFactor(): number {
  const factor = Number(environment().DOFS_MODEL_RUNS ?? 1);
  return Number.isFinite(factor) && factor > 0 ? factor : 1;
}

/** Reads the `DOFS_MODEL_SEED`/`DOFS_MODEL_PATH` replay settings, where there is an environment. */
function replayParameters(): { seed?: number; path?: string } {
  const env = environment();
  const seed = env.DOFS_MODEL_SEED;
  if (seed === undefined || seed === '') return {};
  return { seed: Number(seed), path: env.DOFS_MODEL_PATH || undefined };
}

/** Empties the workspace between runs of a property: every entry, the root's mode, unreferenced blobs. */
function reset(ws: Workspace): void {
  for (const entry of ws.readdir('/')) ws.rm(entry.path, { recursive: true });
  ws.chmod('/', 0o755);
  ws.gc({ safetyWindowMs: 0 });
}

function expectFsckOk(ws: Workspace, when: string): void {
  const report = ws.fsck();
  if (!report.ok) throw new Error(`fsck ${when}: ${JSON.stringify(report.problems)}`);
}

// ---- tree model -----------------------------------------------------------------------------------

type Query = 'stat' | 'lstat' | 'readFile' | 'readlink' | 'readdir' | 'realpath' | 'exists';

/** One random operation of the tree model. */
type TreeOp =
  | { op: 'mkdir'; path: string; recursive: boolean; mode: number | undefined }
  | { op: 'writeFile'; path: string; data: DataSpec; mode: number | undefined; exclusive: boolean; stream: boolean }
  | { op: 'copyFile'; from: string; to: string; exclusive: boolean }
  | { op: 'appendFile'; path: string; data: DataSpec; mode: number | undefined }
  | { op: 'truncate'; path: string; length: number }
  | { op: 'unlink'; path: string }
  | { op: 'rm'; path: string; recursive: boolean; force: boolean }
  | { op: 'rmdir'; path: string }
  | { op: 'rename'; from: string; to: string }
  | { op: 'link'; from: string; to: string }
  | { op: 'symlink'; target: string; path: string }
  | { op: 'chmod'; path: string; mode: number }
  | { op: 'gc' }
  | { op: Query; path: string };

/**
 * How a generated operation names a path: literally, as an existing path of the model (by index,
 * so that sequences stay plain data that fast-check can shrink and print), or as a name inside an
 * existing directory. Resolving against the model's current tree keeps most operations meaningful.
 */
type PathSpec = string | { pick: number } | { under: number; name: string };

type WithPathSpecs<T> = T extends unknown
  ? { [K in keyof T]: K extends 'path' | 'from' | 'to' ? PathSpec : T[K] }
  : never;
/** A {@link TreeOp} as generated, its paths still {@link PathSpec}s. */
type TreeOpSpec = WithPathSpecs<TreeOp>;

const NAMES = ['a', 'b', 'c'] as const;

const namesArb = (depth: number): fc.Arbitrary<string> =>
  fc.array(fc.constantFrom(...NAMES), { minLength: depth, maxLength: depth }).map((names) => `/${names.join('/')}`);

/** Paths of depth 1 to 3 over three names, shallow ones likelier (collisions are frequent), and rarely the root. */
const pathArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 1, arbitrary: fc.constant('/') },
  { weight: 16, arbitrary: namesArb(1) },
  { weight: 16, arbitrary: namesArb(2) },
  { weight: 8, arbitrary: namesArb(3) },
);

const pickArb = fc.record({ pick: fc.nat() });
const underArb = fc.record({ under: fc.nat(), name: fc.constantFrom(...NAMES) });
/** A path that should usually exist (what an operation reads, changes or removes). */
const sourceArb: fc.Arbitrary<PathSpec> = fc.oneof(
  { weight: 3, arbitrary: pathArb },
  { weight: 5, arbitrary: pickArb },
  { weight: 2, arbitrary: underArb },
);
/** A path that should usually be new (what an operation creates). */
const destinationArb: fc.Arbitrary<PathSpec> = fc.oneof(
  { weight: 3, arbitrary: pathArb },
  { weight: 2, arbitrary: pickArb },
  { weight: 5, arbitrary: underArb },
);

/** Turns the path specs of `op` into paths, against the model's current tree. */
function concrete(op: TreeOpSpec, model: TreeModel): TreeOp {
  const entries = model.entries();
  const existing = [...entries.keys()];
  const dirs = ['/', ...existing.filter((path) => entries.get(path)?.node.kind === 'dir')];
  const fix = (spec: PathSpec): string => {
    if (typeof spec === 'string') return spec;
    if ('pick' in spec) return existing.length === 0 ? '/a' : existing[spec.pick % existing.length];
    const dir = dirs[spec.under % dirs.length];
    return dir === '/' ? `/${spec.name}` : `${dir}/${spec.name}`;
  };
  const out: Record<string, unknown> = { ...op };
  for (const key of ['path', 'from', 'to'] as const)
    if (key in op) out[key] = fix((op as Record<string, PathSpec>)[key]);
  return out as TreeOp;
}

/** Symlink targets: relative or absolute, with `.` and `..`, often dangling, sometimes looping. */
const targetArb: fc.Arbitrary<string> = fc.oneof(
  fc.array(fc.constantFrom(...NAMES, '.', '..'), { minLength: 1, maxLength: 3 }).map((names) => names.join('/')),
  fc.array(fc.constantFrom(...NAMES, '.', '..'), { minLength: 0, maxLength: 3 }).map((names) => `/${names.join('/')}`),
);

const modeArb: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(0o644, 0o755, 0o600, 0o000, 0o777, 0o4755, 0o2750, 0o1777, 0o7777),
  fc.integer({ min: 0, max: 0o7777 }),
);

/** Mostly valid modes; sometimes one chmod must refuse (EINVAL, nothing changes). */
const chmodModeArb: fc.Arbitrary<number> = fc.oneof(
  { weight: 12, arbitrary: modeArb },
  { weight: 1, arbitrary: fc.constantFrom(-1, 0o10000, 1.5) },
);

/** A mode option: usually absent. */
const optionalModeArb: fc.Arbitrary<number | undefined> = fc.oneof(
  { weight: 3, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: modeArb },
);

function treeOpArb(chunk: number): fc.Arbitrary<TreeOpSpec> {
  const data = dataArb(chunk);
  const rarely = (weight: number) =>
    fc.oneof({ weight, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) });
  return fc.oneof(
    {
      weight: 10,
      arbitrary: fc.record({
        op: fc.constant('mkdir' as const),
        path: destinationArb,
        recursive: fc.boolean(),
        mode: optionalModeArb,
      }),
    },
    {
      weight: 12,
      arbitrary: fc.record({
        op: fc.constant('writeFile' as const),
        path: fc.oneof(destinationArb, sourceArb),
        data,
        mode: optionalModeArb,
        exclusive: rarely(5),
        stream: rarely(4),
      }),
    },
    {
      weight: 6,
      arbitrary: fc.record({
        op: fc.constant('appendFile' as const),
        path: fc.oneof(destinationArb, sourceArb),
        data,
        mode: optionalModeArb,
      }),
    },
    {
      weight: 5,
      arbitrary: fc.record({
        op: fc.constant('truncate' as const),
        path: sourceArb,
        length: fc.oneof({ weight: 15, arbitrary: boundaryArb(chunk) }, { weight: 1, arbitrary: fc.constant(-1) }),
      }),
    },
    {
      weight: 4,
      arbitrary: fc.record({
        op: fc.constant('copyFile' as const),
        from: sourceArb,
        to: destinationArb,
        exclusive: rarely(3),
      }),
    },
    { weight: 3, arbitrary: fc.record({ op: fc.constant('unlink' as const), path: sourceArb }) },
    {
      weight: 3,
      arbitrary: fc.record({
        op: fc.constant('rm' as const),
        path: sourceArb,
        recursive: rarely(2),
        force: fc.boolean(),
      }),
    },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('rmdir' as const), path: sourceArb }) },
    {
      weight: 9,
      arbitrary: fc.record({
        op: fc.constant('rename' as const),
        from: sourceArb,
        to: fc.oneof(destinationArb, sourceArb),
      }),
    },
    { weight: 5, arbitrary: fc.record({ op: fc.constant('link' as const), from: sourceArb, to: destinationArb }) },
    {
      weight: 6,
      arbitrary: fc.record({ op: fc.constant('symlink' as const), target: targetArb, path: destinationArb }),
    },
    { weight: 3, arbitrary: fc.record({ op: fc.constant('chmod' as const), path: sourceArb, mode: chmodModeArb }) },
    // gc with no safety window (the test clock stands still): it must never free a referenced blob.
    { weight: 1, arbitrary: fc.constant({ op: 'gc' as const }) },
    {
      weight: 7,
      arbitrary: fc.record({
        op: fc.constantFrom<Query>('stat', 'lstat', 'readFile', 'readlink', 'readdir', 'realpath', 'exists'),
        path: sourceArb,
      }),
    },
  );
}

/** How stat and lstat results are compared: type, permission bits, size (not for directories), nlink. */
const renderStat = (type: string, mode: number, size: number, nlink: number): string =>
  `${type} ${(mode & 0o7777).toString(8)}${type === 'dir' ? '' : ` size=${size}`} nlink=${nlink}`;

const renderModelStat = (model: TreeModel, node: MNode): string =>
  renderStat(node.kind, TreeModel.mode(node), TreeModel.size(node), model.nlink(node));

const renderDir = (entries: Array<{ name: string; type: string }>): string =>
  entries.map((e) => `${e.name}:${e.type}`).join(',');

function applyToModel(model: TreeModel, op: TreeOp): Outcome {
  return attempt(() => {
    switch (op.op) {
      case 'mkdir':
        return model.mkdir(op.path, { recursive: op.recursive, mode: op.mode });
      case 'writeFile':
        return model.writeFile(op.path, bytesOf(op.data), { mode: op.mode, exclusive: op.exclusive });
      case 'copyFile':
        return model.copyFile(op.from, op.to, { exclusive: op.exclusive });
      case 'appendFile':
        return model.appendFile(op.path, bytesOf(op.data), { mode: op.mode });
      case 'truncate':
        return model.truncate(op.path, op.length);
      case 'unlink':
        return model.unlink(op.path);
      case 'rm':
        return model.rm(op.path, { recursive: op.recursive, force: op.force });
      case 'rmdir':
        return model.rmdir(op.path);
      case 'rename':
        return model.rename(op.from, op.to);
      case 'link':
        return model.link(op.from, op.to);
      case 'symlink':
        return model.symlink(op.target, op.path);
      case 'chmod':
        return model.chmod(op.path, op.mode);
      case 'gc':
        return undefined;
      case 'stat':
      case 'lstat':
        return renderModelStat(model, model.stat(op.path, op.op === 'stat'));
      case 'readFile':
        return hex(model.readFile(op.path));
      case 'readlink':
        return model.readlink(op.path);
      case 'readdir':
        return renderDir(model.readdir(op.path));
      case 'realpath':
        return model.realpath(op.path);
      case 'exists':
        return model.exists(op.path);
    }
  });
}

/** The bytes of `spec` as a stream of uneven pieces (the streaming writeFile path). */
async function* piecesOf(spec: DataSpec): AsyncIterable<Uint8Array> {
  const bytes = bytesOf(spec);
  const piece = 1 + (Math.max(spec.fill, 0) % 23);
  for (let at = 0; at < bytes.byteLength; at += piece) yield bytes.slice(at, at + piece);
}

async function applyToWorkspace(ws: Workspace, op: TreeOp): Promise<Outcome> {
  if (op.op === 'writeFile' && op.stream) {
    try {
      await ws.writeFile(op.path, piecesOf(op.data), { mode: op.mode, exclusive: op.exclusive });
      return { ok: true, value: '' };
    } catch (error) {
      return failure(error);
    }
  }
  return attempt(() => {
    switch (op.op) {
      case 'mkdir':
        return ws.mkdir(
          op.path,
          op.mode === undefined ? { recursive: op.recursive } : { recursive: op.recursive, mode: op.mode },
        );
      case 'writeFile':
        return ws.writeFile(op.path, bytesOf(op.data), { mode: op.mode, exclusive: op.exclusive });
      case 'copyFile':
        return ws.copyFile(op.from, op.to, { exclusive: op.exclusive });
      case 'appendFile':
        return ws.appendFile(op.path, bytesOf(op.data), op.mode === undefined ? {} : { mode: op.mode });
      case 'truncate':
        return ws.truncate(op.path, op.length);
      case 'unlink':
        return ws.unlink(op.path);
      case 'rm':
        return ws.rm(op.path, { recursive: op.recursive, force: op.force });
      case 'rmdir':
        return ws.rmdir(op.path);
      case 'rename':
        return ws.rename(op.from, op.to);
      case 'link':
        return ws.link(op.from, op.to);
      case 'symlink':
        return ws.symlink(op.target, op.path);
      case 'chmod':
        return ws.chmod(op.path, op.mode);
      case 'gc':
        return void ws.gc({ safetyWindowMs: 0 });
      case 'stat':
      case 'lstat': {
        const info = op.op === 'stat' ? ws.stat(op.path) : ws.lstat(op.path);
        return renderStat(info.type, info.mode, info.size, info.nlink);
      }
      case 'readFile':
        return hex(ws.readFile(op.path));
      case 'readlink':
        return ws.readlink(op.path);
      case 'readdir':
        return renderDir(ws.readdir(op.path));
      case 'realpath':
        return ws.realpath(op.path);
      case 'exists':
        return ws.exists(op.path);
    }
  });
}

/** Compares the whole tree: paths, types, modes, sizes, bytes, link targets, nlink, shared inodes. */
function compareTree(ws: Workspace, model: TreeModel): void {
  const expected = model.entries();
  const actualPaths = [...ws.find('/', '**')].sort();
  const expectedPaths = [...expected.keys()];
  if (actualPaths.join('\n') !== expectedPaths.join('\n')) {
    throw new Error(`tree differs: engine has [${actualPaths.join(' ')}], model has [${expectedPaths.join(' ')}]`);
  }
  const root = ws.lstat('/');
  const rootExpected = renderModelStat(model, model.root);
  const rootActual = renderStat(root.type, root.mode, root.size, root.nlink);
  if (rootActual !== rootExpected) throw new Error(`/ differs: engine ${rootActual}, model ${rootExpected}`);
  const inodes = new Map<number, number>(); // model id -> engine ino
  const seen = new Map<number, number>(); // engine ino -> model id
  for (const [path, { node, nlink }] of expected) {
    const info = ws.lstat(path);
    const actual = renderStat(info.type, info.mode, info.size, info.nlink);
    const wanted = renderStat(node.kind, TreeModel.mode(node), TreeModel.size(node), nlink);
    if (actual !== wanted) throw new Error(`${path} differs: engine ${actual}, model ${wanted}`);
    if ((inodes.get(node.id) ?? info.ino) !== info.ino || (seen.get(info.ino) ?? node.id) !== node.id) {
      throw new Error(`${path}: inode sharing differs from the model (hard links)`);
    }
    inodes.set(node.id, info.ino);
    seen.set(info.ino, node.id);
    if (node.kind === 'file') {
      const bytes = ws.readFile(path);
      if (!sameBytes(bytes, node.data)) throw new Error(`${path} content differs: ${bytesDiff(bytes, node.data)}`);
    }
    if (node.kind === 'symlink' && ws.readlink(path) !== node.target) {
      throw new Error(`${path} target differs: engine ${ws.readlink(path)}, model ${node.target}`);
    }
  }
}

/**
 * Runs `numRuns` random sequences of up to `maxOps` operations. `long` draws lengths uniformly
 * (no bias towards short sequences), for the case that wants deep histories.
 */
async function runTreeProperty(
  ws: Workspace,
  chunk: number,
  numRuns: number,
  maxOps: number,
  long = false,
): Promise<void> {
  const sequences = fc.array(treeOpArb(chunk), { maxLength: maxOps, size: 'max' });
  const property = fc.asyncProperty(long ? fc.noBias(sequences) : sequences, async (ops) => {
    reset(ws);
    const model = new TreeModel();
    // The operations with their paths resolved, printed on failure: a ready-made repro.
    const history: string[] = [];
    const fail = (message: string): never => {
      throw new Error(`${message}\nafter these operations on an empty workspace:\n  ${history.join('\n  ')}`);
    };
    for (let i = 0; i < ops.length; i++) {
      const op = concrete(ops[i], model);
      history.push(JSON.stringify(op));
      const wanted = applyToModel(model, op);
      const actual = await applyToWorkspace(ws, op);
      if (render(actual) !== render(wanted))
        fail(`op #${i} ${JSON.stringify(op)}: engine ${render(actual)}, model ${render(wanted)}`);
    }
    try {
      compareTree(ws, model);
      expectFsckOk(ws, 'after the sequence');
    } catch (error) {
      fail((error as Error).message);
    }
  });
  await fc.assert(property, { numRuns: numRuns * runsFactor(), ...replayParameters() });
}

// ---- fsx-style single file ---------------------------------------------------------------------

/** The names the file is reached by: itself, a hard link, a symlink to it. */
const FILE_NAMES = ['/f', '/hard', '/sym'] as const;

type FileOp =
  | { op: 'write'; via: string; data: DataSpec }
  | { op: 'append'; via: string; data: DataSpec }
  | { op: 'truncate'; via: string; length: number }
  | { op: 'pwrite'; via: string; offset: number; data: DataSpec }
  | { op: 'read'; via: string; offset: number; length: number | undefined }
  | { op: 'stream'; via: string; offset: number; length: number | undefined }
  | { op: 'gc' };

function fileOpArb(chunk: number): fc.Arbitrary<FileOp> {
  const via = fc.constantFrom(...FILE_NAMES);
  const far = boundaryArb(chunk, 8);
  const data = dataArb(chunk);
  const length = fc.option(boundaryArb(chunk, 4), { nil: undefined, freq: 5 });
  return fc.oneof(
    { weight: 2, arbitrary: fc.record({ op: fc.constant('write' as const), via, data }) },
    { weight: 3, arbitrary: fc.record({ op: fc.constant('append' as const), via, data }) },
    { weight: 4, arbitrary: fc.record({ op: fc.constant('truncate' as const), via, length: far }) },
    { weight: 10, arbitrary: fc.record({ op: fc.constant('pwrite' as const), via, offset: far, data }) },
    { weight: 4, arbitrary: fc.record({ op: fc.constant('read' as const), via, offset: far, length }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('stream' as const), via, offset: far, length }) },
    { weight: 1, arbitrary: fc.constant({ op: 'gc' as const }) },
  );
}

/** A positional write through the engine's partial-write path (one mutation, as a write(2) would be). */
function pwrite(ws: Workspace, path: string, offset: number, bytes: Uint8Array): void {
  const db = ws.db;
  mutate(db, 'write', path, (m) => {
    const { node } = resolve(db, path, { follow: true, syscall: 'write' });
    if (node.type !== 'file') throw new Error(`pwrite: ${path} is a ${node.type}`);
    writeContent(db, m, node, offset, bytes);
  });
}

async function runFileProperty(ws: Workspace, chunk: number, numRuns: number, maxOps: number): Promise<void> {
  const property = fc.asyncProperty(
    fc.array(fileOpArb(chunk), { minLength: 1, maxLength: maxOps, size: 'max' }),
    async (ops) => {
      reset(ws);
      ws.writeFile('/f', new Uint8Array(0));
      ws.link('/f', '/hard');
      ws.symlink('f', '/sym');
      const model = new TreeModel();
      model.writeFile('/f', new Uint8Array(0));
      for (let i = 0; i < ops.length; i++) {
        const op = ops[i];
        const where = `op #${i} ${JSON.stringify(op)}`;
        let expected: Uint8Array | undefined;
        let actual: Uint8Array | undefined;
        switch (op.op) {
          case 'write':
            ws.writeFile(op.via, bytesOf(op.data));
            model.writeFile('/f', bytesOf(op.data));
            break;
          case 'append':
            ws.appendFile(op.via, bytesOf(op.data));
            model.appendFile('/f', bytesOf(op.data));
            break;
          case 'truncate':
            ws.truncate(op.via, op.length);
            model.truncate('/f', op.length);
            break;
          case 'gc':
            ws.gc({ safetyWindowMs: 0 });
            break;
          case 'pwrite':
            pwrite(ws, op.via, op.offset, bytesOf(op.data));
            model.pwrite('/f', op.offset, bytesOf(op.data));
            break;
          case 'read':
          case 'stream': {
            const range =
              op.length === undefined ? { byteOffset: op.offset } : { byteOffset: op.offset, byteLength: op.length };
            actual =
              op.op === 'read' ? ws.readFile(op.via, range) : (await collect(ws.readFileStream(op.via, range))).bytes;
            const all = model.readFile('/f');
            expected = all.slice(
              Math.min(op.offset, all.byteLength),
              op.length === undefined ? all.byteLength : op.offset + op.length,
            );
            break;
          }
        }
        if (actual && expected && !sameBytes(actual, expected))
          throw new Error(`${where}: range read differs: ${bytesDiff(actual, expected)}`);
        const want = model.readFile('/f');
        const size = ws.stat('/f').size;
        if (size !== want.byteLength) throw new Error(`${where}: size is ${size}, model ${want.byteLength}`);
        const got = ws.readFile(FILE_NAMES[i % FILE_NAMES.length]);
        if (!sameBytes(got, want)) throw new Error(`${where}: content differs: ${bytesDiff(got, want)}`);
        if (ws.stat('/hard').nlink !== 2) throw new Error(`${where}: nlink is ${ws.stat('/hard').nlink}, expected 2`);
      }
      expectFsckOk(ws, 'after the sequence');
    },
  );
  await fc.assert(property, { numRuns: numRuns * runsFactor(), ...replayParameters() });
}

// ---- cases ----------------------------------------------------------------------------------------

/** The model cases. */
export function modelCases(target: ConformanceTarget): void {
  describe('model tests (fast-check)', () => {
    defineCase(
      target,
      'model: random tree operations match an in-memory model (chunk 16)',
      ({ ws }) => runTreeProperty(ws, 16, 200, 40),
      { chunkSize: 16, timeout: 120_000 },
    );
    defineCase(
      target,
      'model: long random tree operation sequences match an in-memory model (chunk 32)',
      ({ ws }) => runTreeProperty(ws, 32, 30, 300, true),
      { chunkSize: 32, timeout: 120_000 },
    );
    defineCase(
      target,
      'model: random pwrite, truncate, append and range reads on one file match a byte array (chunk 16)',
      ({ ws }) => runFileProperty(ws, 16, 100, 60),
      { chunkSize: 16, timeout: 120_000 },
    );
    defineCase(
      target,
      'model: random pwrite, truncate, append and range reads on one file match a byte array (chunk 64)',
      ({ ws }) => runFileProperty(ws, 64, 100, 60),
      { chunkSize: 64, timeout: 120_000 },
    );
  });
}
