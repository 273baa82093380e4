/**
 * Model test of snapshots (fast-check): random tree operations interleave with snapshot, read at a
 * snapshot, restore, diff, delete, and branch create, switch and merge; the model keeps a picture of the whole tree at each snapshot,
 * and every read at a snapshot, every restore and every diff must agree with those pictures.
 *
 * @module
 */
import fc from 'fast-check';
import { describe } from 'vitest';
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

const PATHS = ['/a', '/b', '/a/c', '/b/d', '/a/c/e', '/a/f'];
const NAMES = ['s1', 's2'];

type Op =
  | { op: 'write' | 'append'; path: string; len: number; fill: number }
  | { op: 'truncate'; path: string; len: number }
  | { op: 'mkdir' | 'rm'; path: string }
  | { op: 'rename' | 'link' | 'symlink'; from: string; to: string }
  | { op: 'chmod'; path: string; mode: number }
  | { op: 'snapshot' | 'restore' | 'view' | 'delete'; name: string }
  | { op: 'diff'; name: string; to: string | undefined }
  | { op: 'branch' | 'switch' | 'mergeBranch' };

const path = fc.constantFrom(...PATHS);
const name = fc.constantFrom(...NAMES);
const len = fc.oneof(fc.constantFrom(0, 1, 15, 16, 17, 33), fc.nat(80));
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constantFrom('write', 'append'), path, len, fill: fc.nat(255) }) },
  fc.record({ op: fc.constant('truncate'), path, len }),
  { weight: 2, arbitrary: fc.record({ op: fc.constantFrom('mkdir', 'rm'), path }) },
  fc.record({ op: fc.constantFrom('rename', 'link', 'symlink'), from: path, to: path }),
  fc.record({ op: fc.constant('chmod'), path, mode: fc.constantFrom(0o600, 0o644, 0o755) }),
  { weight: 3, arbitrary: fc.record({ op: fc.constantFrom('snapshot', 'restore'), name }) },
  fc.record({ op: fc.constantFrom('view', 'delete'), name }),
  { weight: 2, arbitrary: fc.record({ op: fc.constant('diff'), name, to: fc.option(name, { nil: undefined }) }) },
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

/** Runs one sequence, checking every snapshot operation against the pictures. */
function run(ws: Workspace, ops: readonly Op[]): void {
  const pictures = new Map<string, Tree>();
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
        quiet(() => ws.mkdir(op.path));
        break;
      case 'rm':
        quiet(() => ws.rm(op.path, { recursive: true }));
        break;
      case 'rename':
        quiet(() => ws.rename(op.from, op.to));
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
      case 'snapshot':
        if (pictures.has(op.name)) break;
        ws.snapshot(op.name);
        pictures.set(op.name, picture(ws).tree);
        break;
      case 'view': {
        const then = pictures.get(op.name);
        if (then) same(`tree at ${op.name}`, picture(ws.atSnapshot(op.name)).tree, then);
        break;
      }
      case 'restore': {
        const then = pictures.get(op.name);
        if (!then) break;
        const before = picture(ws).tree;
        const result = ws.restore(op.name);
        same(`tree after restoring ${op.name}`, picture(ws).tree, then);
        same(`tree at ${result.before.name}`, picture(ws.atSnapshot(result.before.name)).tree, before);
        ws.deleteSnapshot(result.before.name);
        const report = ws.fsck();
        if (!report.ok) fail(`fsck after restoring ${op.name}`, report.problems, []);
        break;
      }
      case 'diff': {
        const from = pictures.get(op.name);
        const to = op.to === undefined ? picture(ws).tree : pictures.get(op.to);
        if (from && to) same(`diff ${op.name} ${op.to ?? 'now'}`, ws.diff(op.name, op.to), modelDiff(from, to));
        break;
      }
      case 'delete': {
        if (!pictures.delete(op.name)) break;
        ws.deleteSnapshot(op.name);
        // What only it saw (trees removed under it, too) goes now.
        const report = ws.fsck();
        if (!report.ok) fail(`fsck after deleting ${op.name}`, report.problems, []);
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
        const report = ws.fsck();
        if (!report.ok) fail(`fsck after merging ${other}`, report.problems, []);
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
          fc.property(fc.array(opArb, { minLength: 10, maxLength: 60, size: 'max' }), (ops) => {
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
