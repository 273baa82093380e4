/**
 * Model test of snapshots (fast-check): random tree operations interleave with snapshot, read at a
 * snapshot, restore, diff, delete, and branch create, switch and merge; the model keeps a picture of the whole tree at each snapshot,
 * and every read at a snapshot, every restore and every diff must agree with those pictures, as
 * must every snapshot left after one is deleted. Up to four snapshots live at once and deletes
 * pick any of them, so they go in every order; existing nodes move into directories made after
 * some snapshots, and whole trees at the root are removed, so the attic holds trees of every age.
 *
 * @module
 */
import fc from 'fast-check';
import { describe } from 'vitest';
import { createNodeFs, type NodeFs } from '../../adapters/node-fs/index.ts';
import type { SnapshotDiffEntry } from '../../core/fs/diff.ts';
import type { Workspace } from '../../core/workspace.ts';
import {
  createBranch,
  currentBranch,
  deleteBranch,
  listBranches,
  MAIN_BRANCH,
  mergeBranch,
  switchBranch,
} from '../../sync/branches.ts';
import { defineCase } from '../harness.ts';
import { snapshot as picture, type Snapshot } from '../snapshot.ts';
import type { ConformanceTarget } from '../target.ts';
import { patternBytes } from './files.ts';

type Tree = Snapshot['tree'];

const PATHS = ['/a', '/b', '/a/c', '/b/c', '/a/c/d'];
/** At most this many snapshots at once (branch heads aside): enough for every order of deletes. */
const MAX_SNAPSHOTS = 4;

type Op =
  | { op: 'write' | 'append'; path: string; len: number; fill: number }
  | { op: 'truncate'; path: string; len: number }
  | { op: 'mkdir' | 'rm'; path: string }
  | { op: 'rename' | 'link' | 'symlink'; from: string; to: string }
  | { op: 'chmod'; path: string; mode: number }
  | { op: 'open'; path: string }
  | { op: 'close' }
  | { op: 'fdwrite'; len: number; fill: number; at: number }
  | { op: 'snapshot' }
  | { op: 'stash'; pick: number }
  | { op: 'rmTop'; pick: number }
  | { op: 'restore' | 'view' | 'delete'; pick: number }
  | { op: 'diff'; pick: number; to: number | undefined }
  | { op: 'branch' | 'switch' | 'mergeBranch' };

const path = fc.constantFrom(...PATHS);
// Which of the snapshots retained at the time (an index modulo their number): every such
// operation names one that exists.
const pick = fc.nat(MAX_SNAPSHOTS - 1);
const len = fc.oneof(fc.constantFrom(0, 1, 15, 16, 17, 33), fc.nat(80));
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ op: fc.constantFrom('write', 'append'), path, len, fill: fc.nat(255) }) },
  fc.record({ op: fc.constant('truncate'), path, len }),
  { weight: 3, arbitrary: fc.record({ op: fc.constant('mkdir'), path }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('rm'), path }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('rename'), from: path, to: path }) },
  fc.record({ op: fc.constantFrom('link', 'symlink'), from: path, to: path }),
  fc.record({ op: fc.constant('chmod'), path, mode: fc.constantFrom(0o600, 0o644, 0o755) }),
  { weight: 2, arbitrary: fc.record({ op: fc.constant('open'), path }) },
  fc.record({ op: fc.constant('close') }),
  fc.record({ op: fc.constant('fdwrite'), len, fill: fc.nat(255), at: fc.nat(40) }),
  { weight: 4, arbitrary: fc.record({ op: fc.constant('snapshot') }) },
  { weight: 5, arbitrary: fc.record({ op: fc.constant('stash'), pick: fc.nat(15) }) },
  { weight: 5, arbitrary: fc.record({ op: fc.constant('rmTop'), pick: fc.nat(7) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('restore'), pick }) },
  fc.record({ op: fc.constant('view'), pick }),
  { weight: 3, arbitrary: fc.record({ op: fc.constant('delete'), pick }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('diff'), pick, to: fc.option(pick, { nil: undefined }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constantFrom('branch', 'switch', 'mergeBranch') }) },
) as fc.Arbitrary<Op>;

/** What a diff between two pictures must say. */
function modelDiff(from: Tree, to: Tree): SnapshotDiffEntry[] {
  const paths = [...new Set([...Object.keys(from), ...Object.keys(to)])].sort();
  const diff: SnapshotDiffEntry[] = [];
  for (const p of paths) {
    const a = from[p];
    const b = to[p];
    if (!a) diff.push({ path: p, status: 'added' });
    else if (!b) diff.push({ path: p, status: 'removed' });
    else if (a.type !== b.type) diff.push({ path: p, status: 'changed', changes: ['type'] });
    else {
      const changes: ('content' | 'mode')[] = [];
      if (a.content !== b.content || a.target !== b.target) changes.push('content');
      if ((a.mode & 0o7777) !== (b.mode & 0o7777)) changes.push('mode');
      if (changes.length > 0) diff.push({ path: p, status: 'changed', changes });
    }
  }
  return diff;
}

function fail(message: string, actual: unknown, expected: unknown): never {
  throw new Error(`${message}\nengine: ${JSON.stringify(actual)}\nmodel:  ${JSON.stringify(expected)}`);
}

function same(message: string, actual: unknown, expected: unknown): void {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) fail(message, actual, expected);
}

/** What a user sees of a path: its type, content or target, and permission bits. */
const stateOf = (entry: Tree[string] | undefined): string =>
  entry ? `${entry.type} ${entry.content ?? entry.target ?? ''} ${(entry.mode & 0o7777).toString(8)}` : 'absent';

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Paths whose state differs between two pictures. */
const changedPaths = (from: Tree, to: Tree): string[] =>
  [...new Set([...Object.keys(from), ...Object.keys(to)])].filter((p) => stateOf(from[p]) !== stateOf(to[p]));

/**
 * Checks a branch merge against the pictures of its base, of both branches before it, and of the
 * result: nothing is lost. Every file or symlink the other branch changed is there, at its path
 * or under a conflict name; every path this branch changed that the other did not keeps its state.
 */
function checkMerge(base: Tree, ours: Tree, theirs: Tree, result: Tree, other: string): void {
  const theirsChanged = changedPaths(base, theirs);
  for (const p of theirsChanged) {
    const entry = theirs[p];
    if (entry?.type !== 'file' && entry?.type !== 'symlink') continue;
    const names = p
      .split('/')
      .map((_, i, parts) => parts.slice(0, i + 1).join('/'))
      .filter((a) => a !== '');
    // A conflict copy takes the first free name: `<path>.conflict-<branch>`, then `-2`, `-3`, …
    const copies = (a: string) =>
      Object.keys(result).filter((key) => {
        const rest = key.startsWith(`${a}.conflict-${other}`) ? key.slice(`${a}.conflict-${other}`.length) : undefined;
        return rest !== undefined && new RegExp(`^(-\\d+)?${escapeRegExp(p.slice(a.length))}$`).test(rest);
      });
    const places = [p, ...names.flatMap(copies)];
    if (!places.some((place) => stateOf(result[place]) === stateOf(entry))) {
      fail(
        `merge of ${other} lost their ${p}`,
        places.map((place) => stateOf(result[place])),
        stateOf(entry),
      );
    }
  }
  for (const p of changedPaths(base, ours)) {
    if (theirsChanged.includes(p) || !ours[p]) continue;
    if (stateOf(result[p]) !== stateOf(ours[p]))
      fail(`merge of ${other} lost our ${p}`, stateOf(result[p]), stateOf(ours[p]));
  }
}

/** Fails unless fsck finds nothing (files open with no name left, unlinked or removed by a restore, are none). */
function expectClean(ws: Workspace, message: string): void {
  const { problems } = ws.fsck();
  if (problems.length > 0) fail(message, problems, []);
}

/** Runs one sequence, checking every snapshot operation against the pictures. */
function run(ws: Workspace, ops: readonly Op[]): void {
  // Files open through the node:fs adapter, whose removals (rm, rename over) honour open handles.
  const fs = createNodeFs(ws);
  const fds: number[] = [];
  try {
    steps(ws, ops, fs, fds);
    // A handle's close must work whatever happened to its file (removed, restored away).
    for (let fd = fds.pop(); fd !== undefined; fd = fds.pop()) fs.closeSync(fd);
  } finally {
    for (const fd of fds) fs.closeSync(fd);
  }
  const report = ws.fsck();
  if (!report.ok) fail('fsck once every handle is closed', report.problems, []);
}

function steps(ws: Workspace, ops: readonly Op[], fs: NodeFs, fds: number[]): void {
  const pictures = new Map<string, Tree>();
  let taken = 0;
  let made = 0;
  const named = (i: number): string | undefined => [...pictures.keys()][i % Math.max(pictures.size, 1)];
  // Branch 'b' once made: the tree both branches last agreed on (where it started, then the head
  // merged last), and each branch's tree when it was left.
  let base: Tree | undefined;
  const left = new Map<string, Tree>();
  const quiet = (fn: () => unknown) => {
    try {
      fn();
    } catch {
      // Tree operations may fail (missing parents, wrong types); what matters is the state after.
    }
  };
  for (const op of ops) {
    switch (op.op) {
      case 'write':
        quiet(() => ws.writeFile(op.path, patternBytes(op.len, op.fill)));
        break;
      case 'append':
        quiet(() => ws.appendFile(op.path, patternBytes(op.len, op.fill)));
        break;
      case 'truncate':
        quiet(() => ws.truncate(op.path, op.len));
        break;
      case 'mkdir':
        quiet(() => ws.mkdir(op.path, { recursive: true }));
        break;
      case 'rm':
        quiet(() => fs.rmSync(op.path, { recursive: true }));
        break;
      case 'open':
        if (fds.length < 2) quiet(() => fds.push(fs.openSync(op.path, 'r+')));
        break;
      case 'fdwrite': {
        // Through a handle, whatever happened to its file since it was opened (no name, restored
        // or merged away): that must work, and read back through the handle.
        const fd = fds[0];
        if (fd === undefined) break;
        const bytes = patternBytes(op.len, op.fill);
        fs.writeSync(fd, bytes, 0, op.len, op.at);
        const back = new Uint8Array(op.len);
        const read = fs.readSync(fd, back, 0, op.len, op.at);
        same('bytes read back through the handle', [...back.subarray(0, read)], [...bytes]);
        break;
      }
      case 'close': {
        const fd = fds.shift();
        if (fd !== undefined) fs.closeSync(fd);
        break;
      }
      case 'rename':
        // Into a directory made for it, if need be: an old node into a new tree.
        quiet(() => ws.mkdir(op.to.slice(0, op.to.lastIndexOf('/')) || '/', { recursive: true }));
        quiet(() => fs.renameSync(op.from, op.to));
        break;
      case 'link':
        quiet(() => ws.link(op.from, op.to));
        break;
      case 'symlink':
        quiet(() => ws.symlink(op.from, op.to));
        break;
      case 'chmod':
        quiet(() => ws.chmod(op.path, op.mode));
        break;
      case 'stash': {
        // An existing node into a directory made now, younger than every snapshot: removed and
        // its snapshots deleted, that tree must not take the older node with it (the attic bug
        // CI's crash test found, which uniform paths alone reached about once in 300 runs).
        const paths = ws.find('/', '**');
        const from = paths[op.pick % Math.max(paths.length, 1)];
        if (from === undefined) break;
        const dir = `/n${++made}`;
        ws.mkdir(dir);
        ws.rename(from, `${dir}/x`);
        break;
      }
      case 'rmTop': {
        // Any tree at the root, those `stash` made included: trees younger than some snapshots.
        const top = ws.readdir('/')[op.pick % Math.max(ws.readdir('/').length, 1)];
        if (top) fs.rmSync(top.path, { recursive: true });
        break;
      }
      case 'snapshot': {
        if (pictures.size >= MAX_SNAPSHOTS) break;
        const name = `s${++taken}`;
        ws.snapshot(name);
        pictures.set(name, picture(ws).tree);
        break;
      }
      case 'view': {
        const name = named(op.pick);
        if (name) same(`tree at ${name}`, picture(ws.atSnapshot(name)).tree, pictures.get(name));
        break;
      }
      case 'restore': {
        const name = named(op.pick);
        if (!name) break;
        const before = picture(ws).tree;
        const result = ws.restore(name);
        same(`tree after restoring ${name}`, picture(ws).tree, pictures.get(name));
        same(`tree at ${result.before.name}`, picture(ws.atSnapshot(result.before.name)).tree, before);
        ws.deleteSnapshot(result.before.name);
        expectClean(ws, `fsck after restoring ${name}`);
        break;
      }
      case 'diff': {
        const name = named(op.pick);
        const other = op.to === undefined ? undefined : named(op.to);
        const from = name === undefined ? undefined : pictures.get(name);
        const to = other === undefined ? picture(ws).tree : pictures.get(other);
        if (name && from && to) same(`diff ${name} ${other ?? 'now'}`, ws.diff(name, other), modelDiff(from, to));
        break;
      }
      case 'delete': {
        const name = named(op.pick);
        if (!name) break;
        pictures.delete(name);
        ws.deleteSnapshot(name);
        // What only it saw (trees removed under it, too) goes now, and nothing the others see.
        expectClean(ws, `fsck after deleting ${name}`);
        for (const [other, then] of pictures)
          same(`tree at ${other} after deleting ${name}`, picture(ws.atSnapshot(other)).tree, then);
        break;
      }
      case 'branch':
        if (base) break;
        createBranch(ws.db, 'b');
        base = picture(ws).tree;
        left.set('b', base);
        break;
      case 'switch': {
        if (!base) break;
        const current = currentBranch(ws.db);
        const other = current === MAIN_BRANCH ? 'b' : MAIN_BRANCH;
        left.set(current, picture(ws).tree);
        switchBranch(ws.db, other);
        same(`tree after switching to ${other}`, picture(ws).tree, left.get(other));
        break;
      }
      case 'mergeBranch': {
        if (!base) break;
        const other = currentBranch(ws.db) === MAIN_BRANCH ? 'b' : MAIN_BRANCH;
        const ours = picture(ws).tree;
        mergeBranch(ws.db, other);
        checkMerge(base, ours, left.get(other) as Tree, picture(ws).tree, other);
        // The head merged is the next merge's base, either way (as Git's merge base).
        base = left.get(other) as Tree;
        expectClean(ws, `fsck after merging ${other}`);
        break;
      }
    }
  }
  for (const [name, then] of pictures) same(`tree at ${name} at the end`, picture(ws.atSnapshot(name)).tree, then);
}

/** Empties the workspace between runs: snapshots, every entry, unreferenced blobs. */
function reset(ws: Workspace): void {
  if (currentBranch(ws.db) !== MAIN_BRANCH) switchBranch(ws.db, MAIN_BRANCH);
  for (const branch of listBranches(ws.db)) if (!branch.current) deleteBranch(ws.db, branch.name);
  for (const { name } of ws.snapshots()) ws.deleteSnapshot(name);
  for (const entry of ws.readdir('/')) ws.rm(entry.path, { recursive: true });
  ws.gc({ safetyWindowMs: 0 });
}

export function snapshotModelCases(target: ConformanceTarget): void {
  describe('snapshot model (fast-check)', () => {
    defineCase(
      target,
      'random operations with snapshot, read at a snapshot, restore, diff, delete and branch merges match pictures of the tree',
      ({ ws }) => {
        fc.assert(
          fc.property(fc.array(opArb, { minLength: 40, maxLength: 80, size: 'max' }), (ops) => {
            reset(ws);
            run(ws, ops);
          }),
          { numRuns: 30 },
        );
      },
      { chunkSize: 16, timeout: 120_000 },
    );
  });
}
