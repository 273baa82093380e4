/**
 * Branches inside one workspace, made of snapshots: a branch that is not checked out is its head,
 * the snapshot `branch:<name>`; the checked-out one is the live tree; each branch also keeps
 * `branch-base:<name>`, the state it started from, the base of merging it. Switching is a restore;
 * merging is the three-way rule of forks (fork.ts).
 *
 * @module
 */
import type { Database } from '../core/database.ts';
import { fsError } from '../core/errors.ts';
import { diffSnapshots } from '../core/fs/diff.ts';
import { deleteSnapshot, listSnapshots, restore, snapshot, snapshotView } from '../core/fs/snapshots.ts';
import { mutate } from '../core/mutate.ts';
import { readMeta, writeMeta } from '../core/schema.ts';
import { materialiseChange } from './changes.ts';
import { type MergeResult, settle } from './fork.ts';

/** The branch a workspace starts on. */
export const MAIN_BRANCH = 'main';
const HEAD = 'branch:';
const BASE = 'branch-base:';

/** The checked-out branch. */
export function currentBranch(db: Database): string {
  return String(readMeta(db, 'branch') ?? MAIN_BRANCH);
}

/** Every branch, by name, and which one is checked out. */
export function listBranches(db: Database): Array<{
  /** The branch's name. */
  name: string;
  /** True for the branch checked out. */
  current: boolean;
}> {
  const current = currentBranch(db);
  const names = listSnapshots(db)
    .filter((info) => info.name.startsWith(HEAD))
    .map((info) => info.name.slice(HEAD.length));
  return [...new Set([current, ...names])].sort().map((name) => ({ name, current: name === current }));
}

const exists = (db: Database, name: string): boolean => listBranches(db).some((branch) => branch.name === name);

function missing(syscall: string, name: string): never {
  throw fsError('ENOENT', syscall, undefined, undefined, `no branch named ${JSON.stringify(name)}`);
}

/**
 * Creates branch `name` at the current state (the checked-out branch stays checked out). EEXIST
 * when it exists; EINVAL for a name a snapshot could not have.
 */
export function createBranch(db: Database, name: string): void {
  mutate(db, 'branch', undefined, () => {
    if (exists(db, name))
      throw fsError('EEXIST', 'branch', undefined, undefined, `branch ${JSON.stringify(name)} exists`);
    snapshot(db, `${HEAD}${name}`);
    snapshot(db, `${BASE}${name}`);
  });
}

/**
 * Checks out branch `name` in one transaction: the current tree becomes the head of the branch
 * that was checked out, and the workspace returns to `name`'s head (a restore: sync carries it,
 * watchers hear it). ENOENT when there is no such branch.
 */
export function switchBranch(db: Database, name: string): void {
  mutate(db, 'branch', undefined, () => {
    const current = currentBranch(db);
    if (name === current) return;
    if (!exists(db, name)) missing('branch', name);
    snapshot(db, `${HEAD}${current}`);
    const { before } = restore(db, `${HEAD}${name}`);
    deleteSnapshot(db, before.name);
    deleteSnapshot(db, `${HEAD}${name}`);
    writeMeta(db, 'branch', name);
  });
}

/**
 * Merges branch `name` into the checked-out one, in one transaction, by the three-way rule of
 * forks against the state `name` started from (or, merging a parent into a branch, the state the
 * branch started from): what only `name` changed applies, what both changed differently keeps
 * this branch's version and `name`'s as `<path>.conflict-<name>`. ENOENT when there is no such
 * branch; EINVAL for the checked-out one itself, or two branches that share no base.
 */
export function mergeBranch(db: Database, name: string): MergeResult {
  return mutate(db, 'merge', undefined, () => {
    if (name === currentBranch(db)) {
      throw fsError('EINVAL', 'merge', undefined, undefined, `branch ${JSON.stringify(name)} is checked out`);
    }
    if (!exists(db, name)) missing('merge', name);
    // A branch merges against the state it started from; its parent, against the state it left.
    const snapshots = new Set(listSnapshots(db).map((info) => info.name));
    const base = [`${BASE}${name}`, `${BASE}${currentBranch(db)}`].find((candidate) => snapshots.has(candidate));
    if (!base) {
      throw fsError(
        'EINVAL',
        'merge',
        undefined,
        undefined,
        `branch ${JSON.stringify(name)} shares no base with this one`,
      );
    }
    const head = `${HEAD}${name}`;
    const theirs = snapshotView(db, head);
    const incoming = diffSnapshots(db, base, head).map(({ path }) => materialiseChange(theirs, path));
    return settle(db, { base }, incoming, name);
  });
}

/** Deletes branch `name` (not the checked-out one: EINVAL) and what only it held. ENOENT when missing. */
export function deleteBranch(db: Database, name: string): void {
  mutate(db, 'branch', undefined, () => {
    if (name === currentBranch(db)) {
      throw fsError('EINVAL', 'branch', undefined, undefined, `branch ${JSON.stringify(name)} is checked out`);
    }
    if (!exists(db, name)) missing('branch', name);
    deleteSnapshot(db, `${HEAD}${name}`);
    if (listSnapshots(db).some((info) => info.name === `${BASE}${name}`)) deleteSnapshot(db, `${BASE}${name}`);
  });
}
