/**
 * Forks and merges between two workspaces. A fork copies the tree's rows into an empty workspace
 * (only the blobs it lacks) and leaves the same snapshot, `fork-<id>`, in both: the merge base. A
 * merge brings the other side's changes since that base into this one with a three-way rule:
 * what only the other side changed is applied, what both changed alike is left, what both changed
 * differently keeps this side's version and the other's under `<path>.conflict-…`, as sync does.
 *
 * @module
 */
import type { SqlValue } from '../core/backend.ts';
import type { Database } from '../core/database.ts';
import { fsError } from '../core/errors.ts';
import { diffSnapshots } from '../core/fs/diff.ts';
import { deleteSnapshot, snapshot } from '../core/fs/snapshots.ts';
import { mutate } from '../core/mutate.ts';
import { isSameOrBelow } from '../core/paths.ts';
import { readMeta, writeMeta } from '../core/schema.ts';
import { applyChanges } from './apply.ts';
import { type ChangeEntry, HOLE, materialiseChange, nodeAt } from './changes.ts';
import {
  type ChangePage,
  FORK_TABLES,
  type ForkRow,
  localSource,
  MAX_STATE_PATHS,
  type MergeSource,
  snapshotNames,
  type WorkspaceAccess,
} from './merge-source.ts';
import { localTarget, type MergeTarget } from './merge-target.ts';

export { local, type MergeSource, remoteSource, type WorkspaceAccess } from './merge-source.ts';
export { type MergeTarget, remoteTarget } from './merge-target.ts';

/** What {@link fork} did. */
export interface ForkResult {
  /** The snapshot both sides now hold: the base of later merges. */
  base: string;
  /** Nodes copied. */
  nodes: number;
  /** Blobs copied (those the target lacked). */
  blobs: number;
  /** Bytes of the blobs copied. */
  bytes: number;
}

/** Blobs and their bytes per round trip (a Workers RPC message is at most 32 MiB). */
const PAGE_BLOBS = 1024;
const PAGE_BYTES = 4 * 1024 * 1024;

/** The side to copy from or read, reached through a function or already a {@link MergeSource}. */
const sourceOf = (side: WorkspaceAccess | MergeSource): MergeSource =>
  typeof side === 'function' ? localSource(side) : side;
/** The side to write, reached through a function or already a {@link MergeTarget}. */
const targetOf = (side: WorkspaceAccess | MergeTarget): MergeTarget =>
  typeof side === 'function' ? localTarget(side) : side;

/** Refuses a fork target that holds anything or has another chunk size. */
export function checkForkTarget(db: Database, chunkSize: number): void {
  if (db.chunkSize !== chunkSize) {
    throw fsError('EINVAL', 'fork', undefined, undefined, `chunk sizes differ (${chunkSize} and ${db.chunkSize})`);
  }
  if (db.all('SELECT 1 FROM vfs_nodes WHERE inode != 1 UNION ALL SELECT 1 FROM vfs_snapshots LIMIT 1').length > 0) {
    throw fsError('ENOTEMPTY', 'fork', undefined, undefined, 'the target workspace is not empty');
  }
}

/**
 * Forks the workspace `source` reaches into the one `target` reaches: an empty workspace (only its
 * root) with the same chunk size. The copy is the tree as it was when the fork began, node for
 * node; only the blobs the target lacks travel. Both get the snapshot `fork-<id>`, the base of
 * {@link merge}. The target changes in one transaction at the end; a fork that fails leaves it as
 * it was (with blobs staged for gc) and takes its snapshot back from the source. ENOTEMPTY when
 * the target holds anything, EINVAL when the chunk sizes differ.
 */
export async function fork(
  from: WorkspaceAccess | MergeSource,
  to: WorkspaceAccess | MergeTarget,
): Promise<ForkResult> {
  const source = sourceOf(from);
  const target = targetOf(to);
  const chunkSize = await source.chunkSize();
  await target.checkEmpty(chunkSize);
  const base = `fork-${randomId()}`;
  const rev = await source.takeSnapshot(base);
  try {
    const pages: ForkRow[][][] = [];
    for (let index = 0; index < FORK_TABLES.length; index++) {
      pages.push([]);
      for (let after: SqlValue[] | null = null; ; ) {
        const rows = await source.rows(base, index, after);
        if (rows.length === 0) break;
        pages[index].push(rows);
        const last = rows[rows.length - 1];
        after = FORK_TABLES[index].columns.slice(0, FORK_TABLES[index].keys).map((column) => last[column]);
      }
    }
    const sizes = new Map<string, number>();
    for (const rows of pages[FORK_TABLES.length - 1])
      for (const row of rows) sizes.set(String(row.hash), Number(row.size));
    const copied = await copyBlobs(source, target, sizes);
    const nodes = await target.installFork(base, rev, chunkSize, pages);
    return { base, nodes, ...copied };
  } catch (error) {
    await source.dropSnapshot(base).catch(() => undefined);
    throw error;
  }
}

/**
 * Installs a fork in the empty workspace `db`, in one transaction: the rows of the fork tables
 * (`pages[table]`, read at snapshot `base` of a workspace at revision `rev`), then the same
 * snapshot `base`. Their blobs must be staged already. Returns the nodes installed.
 */
export function installFork(db: Database, chunkSize: number, base: string, rev: number, pages: ForkRow[][][]): number {
  return mutate(db, 'fork', undefined, () => {
    checkForkTarget(db, chunkSize);
    db.run('DELETE FROM vfs_nodes');
    pages.forEach((tablePages, index) => {
      for (const rows of tablePages) insertRows(db, FORK_TABLES[index].table, FORK_TABLES[index].columns, rows);
    });
    db.run("UPDATE sqlite_sequence SET seq = (SELECT MAX(inode) FROM vfs_nodes) WHERE name = 'vfs_nodes'");
    writeMeta(db, 'rev', Math.max(Number(readMeta(db, 'rev')), rev));
    snapshot(db, base);
    return pages[0].reduce((sum, rows) => sum + rows.length, 0);
  });
}

/** Inserts rows, as many per statement as the parameter limit allows. */
function insertRows(db: Database, table: string, columns: readonly string[], rows: readonly ForkRow[]): void {
  const per = Math.floor(db.limits.maxBoundParameters / columns.length);
  const marks = `(${columns.map(() => '?').join(', ')})`;
  for (let start = 0; start < rows.length; start += per) {
    const batch = rows.slice(start, start + per);
    db.run(
      `INSERT INTO ${table} (${columns.join(', ')}) VALUES ${batch.map(() => marks).join(', ')}`,
      batch.flatMap((row) => columns.map((column) => row[column])),
    );
  }
}

/**
 * Groups of hashes for one round trip each: at most {@link PAGE_BLOBS} blobs and about
 * {@link PAGE_BYTES} bytes (sizes from the chunk rows), so a group fits one RPC message and one
 * transaction stages many blobs.
 */
function groups(sizes: ReadonlyMap<string, number>): string[][] {
  const out: string[][] = [];
  let group: string[] = [];
  let bytes = 0;
  for (const [hash, size] of sizes) {
    if (group.length > 0 && (group.length === PAGE_BLOBS || bytes + size > PAGE_BYTES)) {
      out.push(group);
      group = [];
      bytes = 0;
    }
    group.push(hash);
    bytes += size;
  }
  if (group.length > 0) out.push(group);
  return out;
}

/** Stages in `target` the blobs of `sizes` (hash to size) it lacks, read from `source`. */
async function copyBlobs(
  source: MergeSource,
  target: MergeTarget,
  sizes: ReadonlyMap<string, number>,
): Promise<{ blobs: number; bytes: number }> {
  let blobs = 0;
  let bytes = 0;
  for (const group of groups(sizes)) {
    const missing = await target.missingObjects(group);
    if (missing.length === 0) continue;
    const objects = await source.fetchObjects(missing);
    await target.pushObjects(objects);
    blobs += objects.length;
    bytes += objects.reduce((sum, object) => sum + object.bytes.byteLength, 0);
  }
  return { blobs, bytes };
}

function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(6));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/** A path both sides changed differently since the base, and where the other side's version went. */
export interface MergeConflict {
  /** The path; it keeps this side's version. */
  path: string;
  /** Where the other side's version was kept, or null when the other side deleted it. */
  copy: string | null;
}

/** What {@link merge} did. */
export interface MergeResult {
  /** The snapshot both sides hold that the merge compared against. */
  base: string;
  /** Paths the other side changed that now hold its version here. */
  applied: string[];
  /** Paths both sides changed differently. */
  conflicts: MergeConflict[];
}

/** Where a merge starts: the fork both hold, and the state of theirs this side merged last. */
interface MergeBase {
  /** The newest `fork-<id>` snapshot both hold. */
  fork: string;
  /** Their snapshot this side merged last (`fork-<id>.<id>`, this side holding it with `-merged`), or `fork`. */
  prev: string;
}

const MERGED = '-merged';

/** The {@link MergeBase} of merging `theirs` (snapshot names `theirNames`, oldest first) into `ours`. */
function mergeBase(ourNames: readonly string[], theirNames: readonly string[]): MergeBase {
  const mine = new Set(ourNames);
  const fork = theirNames.findLast((name) => /^fork-[0-9a-f]{12}$/.test(name) && mine.has(name));
  if (fork === undefined) {
    throw fsError(
      'EINVAL',
      'merge',
      undefined,
      undefined,
      'the workspaces share no fork snapshot: neither was forked from the other',
    );
  }
  const mark = new RegExp(`^${fork}\\.[0-9a-f]{12}$`);
  const prev = theirNames.findLast((name) => mark.test(name) && mine.has(`${name}${MERGED}`)) ?? fork;
  return { fork, prev };
}

const sameState = (a: ChangeEntry, b: ChangeEntry): boolean =>
  a.type === b.type &&
  (a.type !== 'file' ||
    (b.type === 'file' && a.size === b.size && JSON.stringify(a.chunks) === JSON.stringify(b.chunks))) &&
  (a.type !== 'symlink' || (b.type === 'symlink' && a.target === b.target)) &&
  (a.type === 'delete' || a.type === 'move' || (b.type !== 'delete' && b.type !== 'move' && a.mode === b.mode));

/**
 * `name`, or `name-2`, `name-3`, … : the first that is free here or already holds `entry`'s state
 * (an earlier merge's copy), so a conflict copy never replaces anything of this side.
 */
function freeName(db: Database, name: string, entry: ChangeEntry): string {
  for (let n = 1; ; n++) {
    const candidate = n === 1 ? name : `${name}-${n}`;
    const here = materialiseChange(db, candidate);
    if (here.type === 'delete' || sameState(here, entry)) return candidate;
  }
}

/** The nearest ancestor of `path` that exists here as something other than a directory, if any. */
function blockingAncestor(db: Database, path: string): string | undefined {
  for (let end = path.indexOf('/', 1); end !== -1; end = path.indexOf('/', end + 1)) {
    const ancestor = path.slice(0, end);
    const node = nodeAt(db, ancestor);
    if (!node) return undefined;
    if (node.type !== 'dir') return ancestor;
  }
  return undefined;
}

/**
 * Decides what of `incoming` (the other side's changes since snapshot `base`, in path order)
 * applies here and what conflicts (copies are named `<path>.conflict-<tag>`); then applies it, in
 * one transaction. The three-way rule of {@link merge}, shared with branch merges.
 */
export function settle(
  db: Database,
  base: string,
  incoming: readonly ChangeEntry[],
  tag: string,
  theirBase?: ReadonlyMap<string, ChangeEntry>,
): MergeResult {
  // A path this side changed since `base` counts unless it holds the state the other side's changes
  // start from (where that is known): then the two agree on it, as after an earlier merge.
  const ourPaths = diffSnapshots(db, base)
    .map((entry) => entry.path)
    .filter((path) => {
      const known = theirBase?.get(path);
      return !known || !sameState(materialiseChange(db, path), known);
    });
  const touched = (path: string) => ourPaths.some((mine) => isSameOrBelow(mine, path));
  const entries: ChangeEntry[] = [];
  const result: MergeResult = { base, applied: [], conflicts: [] };
  for (const entry of incoming) {
    const { path } = entry;
    // Where this side made a non-directory of an ancestor, theirs cannot go at `path` without
    // replacing it: it goes below a conflict copy of the ancestor instead.
    const blocked = blockingAncestor(db, path);
    if (blocked !== undefined) {
      const copy =
        entry.type === 'delete' ? null : freeName(db, `${blocked}.conflict-${tag}`, entry) + path.slice(blocked.length);
      if (copy) entries.push({ ...entry, path: copy });
      result.conflicts.push({ path, copy });
    } else if (!touched(path)) {
      entries.push(entry);
      result.applied.push(path);
    } else if (!sameState(materialiseChange(db, path), entry)) {
      // Both changed it: ours keeps the path; theirs is kept beside it when there is something to keep.
      const copy =
        entry.type === 'delete' || entry.type === 'dir' ? null : freeName(db, `${path}.conflict-${tag}`, entry);
      if (copy) entries.push({ ...entry, path: copy });
      result.conflicts.push({ path, copy });
    }
  }
  applyChanges(db, entries);
  return result;
}

/**
 * Merges the workspace `theirs` reaches (a fork of this one, or the one this was forked from;
 * through a function or a {@link MergeSource}, such as {@link remoteSource} of a Durable Object's
 * sync endpoint) into the one `ours` reaches: their changes since the state this side last merged
 * from them (at first the fork) apply where this side did not change the path (or anything below
 * it); where both changed it differently, this side keeps the path and theirs is kept as
 * `<path>.conflict-<id>` (a deletion or a directory of theirs has nothing to keep), as sync does. A
 * directory they deleted that holds paths this side changed stays. Nothing is lost, and this side
 * changes in one transaction (blobs are staged first). Theirs only gains a snapshot
 * `fork-<id>.<id>`, the state merged (this side records it as `fork-<id>.<id>-merged` in the same
 * transaction): the next merge from them starts there, so nothing merged is reported again. EINVAL
 * when the two share no fork snapshot.
 */
export async function merge(
  ours: WorkspaceAccess | MergeTarget,
  theirs: WorkspaceAccess | MergeSource,
): Promise<MergeResult> {
  const source = sourceOf(theirs);
  const target = targetOf(ours);
  const { fork: base, prev } = mergeBase(await target.snapshotNames(), await source.snapshotNames());
  const mark = `${base}.${randomId()}`;
  await source.takeSnapshot(mark);
  let result: MergeResult;
  try {
    // Both ends are snapshots: their changes read in pages fit together whatever they do meanwhile.
    const incoming: ChangeEntry[] = [];
    for (let offset: number | null = 0; offset !== null; ) {
      const page: ChangePage = await source.changes(prev, mark, offset);
      incoming.push(...page.entries);
      offset = page.next;
    }
    // The state theirs started from at every path this side changed where theirs changed something.
    const candidates = await target.candidates(base, incoming);
    const theirBase = new Map<string, ChangeEntry>();
    for (let start = 0; start < candidates.length; start += MAX_STATE_PATHS) {
      const paths = candidates.slice(start, start + MAX_STATE_PATHS);
      const states = await source.states(prev, paths);
      for (let i = 0; i < paths.length; i++) theirBase.set(paths[i], states[i]);
    }
    const sizes = new Map<string, number>();
    for (const entry of incoming)
      if (entry.type === 'file')
        for (const chunk of entry.chunks) if (chunk.hash !== HOLE) sizes.set(chunk.hash, chunk.size);
    await copyBlobs(source, target, sizes);
    result = await target.commitMerge({ base, prev, mark, incoming, theirBase: [...theirBase] });
  } catch (error) {
    await source.dropSnapshot(mark).catch(() => undefined);
    throw error;
  }
  // Their previous mark is superseded too (a failure here leaves a snapshot nothing uses).
  if (prev !== base) await source.dropSnapshot(prev).catch(() => undefined);
  return result;
}

/** The paths this side changed since snapshot `base` at or below any of `paths`. */
export function mergeCandidates(db: Database, base: string, paths: readonly string[]): string[] {
  return diffSnapshots(db, base)
    .map((entry) => entry.path)
    .filter((mine) => paths.some((path) => isSameOrBelow(mine, path)));
}

/** What a merge brings to the side it writes, read from the other side. */
export interface MergePlan {
  /** The fork snapshot both hold. */
  base: string;
  /** Their snapshot the merge started from: the one this side merged last, or `base`. */
  prev: string;
  /** Their snapshot of the state merged. */
  mark: string;
  /** Their changes from `prev` to `mark`, in path order. */
  incoming: ChangeEntry[];
  /** Their state at `prev` of paths this side changed, as [path, state] pairs. */
  theirBase: Array<[string, ChangeEntry]>;
}

/**
 * Applies `plan` to `db` in one transaction by the three-way rule ({@link settle}), records
 * `<mark>-merged` and drops the previous merge's record. Their blobs must be staged already.
 */
export function commitMerge(db: Database, plan: MergePlan): MergeResult {
  const { base, prev, mark } = plan;
  return mutate(db, 'merge', undefined, () => {
    const settled = settle(db, base, plan.incoming, base.slice('fork-'.length), new Map(plan.theirBase));
    // The record this side held of the previous merge is superseded by the new one.
    if (snapshotNames(db).includes(`${prev}${MERGED}`)) deleteSnapshot(db, `${prev}${MERGED}`);
    snapshot(db, `${mark}${MERGED}`);
    return settled;
  });
}
