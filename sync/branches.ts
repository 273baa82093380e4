/**
 * Branches inside one workspace, made of snapshots: a branch that is not checked out is its head,
 * the snapshot `branch:<name>`; the checked-out one is the live tree; each branch also keeps
 * `branch-base:<name>`, the state it started from, the base of merging it until a first merge.
 * Switching is a restore; merging is the three-way rule of forks (fork.ts), against the newest
 * state the two branches agreed on: the head merged last between them (as Git's merge base).
 *
 * @module
 */
import type { Database } from '../core/database.ts';
import { fsError } from '../core/errors.ts';
import { diffSnapshots } from '../core/fs/diff.ts';
import { deleteSnapshot, findSnapshot, listSnapshots, restore, snapshot, snapshotView } from '../core/fs/snapshots.ts';
import { mutate } from '../core/mutate.ts';
import { readMeta, writeMeta } from '../core/schema.ts';
import { materialiseChange } from './changes.ts';
import { type MergeResult, settle } from './fork.ts';

/** The branch a workspace starts on. */
export const MAIN_BRANCH = 'main';
const HEAD = 'branch:';
const BASE = 'branch-base:';
/** A merged head kept after its branch was checked out again: `branch-merged:<id>`. */
const MERGED = 'branch-merged:';
/** vfs_meta key of the merge base of two branches: `branch-merge:<a>/<b>` (a before b; names hold no '/'). */
const PAIR = 'branch-merge:';

const pairKey = (a: string, b: string): string => `${PAIR}${[a, b].sort().join('/')}`;

/** The snapshot id recorded as the merge base of each pair of branches, by meta key. */
function mergeRecords(db: Database): Map<string, number> {
  const rows = db.all<{ k: string; v: number }>('SELECT k, v FROM vfs_meta WHERE k >= ? AND k < ?', [
    PAIR,
    `${PAIR}\uffff`,
  ]);
  return new Map(rows.map((row) => [row.k, Number(row.v)]));
}

/** Deletes a kept merged head (never a branch's head or base) once no pair names it. */
function release(db: Database, id: number | undefined): void {
  if (id === undefined || [...mergeRecords(db).values()].includes(id)) return;
  const name = listSnapshots(db).find((info) => info.id === id)?.name;
  if (name?.startsWith(MERGED)) deleteSnapshot(db, name);
}

/**
 * Lets go of the head of `name` as it is checked out: deleted, unless a pair merged it last (its
 * state is then their merge base), in which case it stays as `branch-merged:<id>`.
 */
function retireHead(db: Database, name: string): void {
  const head = listSnapshots(db).find((info) => info.name === `${HEAD}${name}`);
  if (!head) return;
  if ([...mergeRecords(db).values()].includes(head.id)) {
    db.run('UPDATE vfs_snapshots SET name = ? WHERE id = ?', [`${MERGED}${head.id}`, head.id]);
  } else {
    deleteSnapshot(db, head.name);
  }
}

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
    retireHead(db, name);
    writeMeta(db, 'branch', name);
  });
}

/**
 * Merges branch `name` into the checked-out one, in one transaction, by the three-way rule of
 * forks against the newest state the two agreed on: the head merged last between them, either
 * way, or before any merge the state `name` started from (or, merging a parent into a branch, the
 * state the branch started from). What only `name` changed since applies, what both changed
 * differently keeps this branch's version and `name`'s as `<path>.conflict-<name>`; what an
 * earlier merge brought or reported is not seen again. The head merged becomes the pair's base.
 * ENOENT when there is no such branch; EINVAL for the checked-out one itself, or two branches
 * that share no base.
 */
export function mergeBranch(db: Database, name: string): MergeResult {
  return mutate(db, 'merge', undefined, () => {
    if (name === currentBranch(db)) {
      throw fsError('EINVAL', 'merge', undefined, undefined, `branch ${JSON.stringify(name)} is checked out`);
    }
    if (!exists(db, name)) missing('merge', name);
    const key = pairKey(name, currentBranch(db));
    const recorded = mergeRecords(db).get(key);
    const snapshots = listSnapshots(db);
    // After a merge, the head it merged (both then held its changes); before, a branch merges
    // against the state it started from and its parent against the state it left.
    const names = new Set(snapshots.map((info) => info.name));
    const base =
      snapshots.find((info) => info.id === recorded)?.name ??
      [`${BASE}${name}`, `${BASE}${currentBranch(db)}`].find((candidate) => names.has(candidate));
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
    const result = settle(db, { base }, incoming, name);
    writeMeta(db, key, findSnapshot(db, head).id);
    release(db, recorded);
    return result;
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
    // Its merge bases with other branches go, and with them heads kept only as such.
    for (const [key, id] of mergeRecords(db)) {
      if (!key.slice(PAIR.length).split('/').includes(name)) continue;
      db.run('DELETE FROM vfs_meta WHERE k = ?', [key]);
      release(db, id);
    }
  });
}
