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
import { deleteSnapshot, snapshot, snapshotView } from '../core/fs/snapshots.ts';
import { mutate } from '../core/mutate.ts';
import { compareBytes, parentPath } from '../core/paths.ts';
import { ROOT_INODE, readMeta, writeMeta } from '../core/schema.ts';
import { applyChanges } from './apply.ts';
import { type ChangeEntry, HOLE, materialiseChange, nodeAt } from './changes.ts';
import { copyAttached, databaseFile } from './fork-attached.ts';
import {
  type ChangePage,
  FORK_TABLES,
  type ForkRow,
  localDatabase,
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
    // Two workspaces at hand, the source in a file: the copy can stay inside SQLite.
    const [mine, into] = [localDatabase(from), localDatabase(to)];
    const file = mine && into ? databaseFile(mine) : undefined;
    const attached =
      into && file ? copyAttached(into, file, base, rev, (db) => checkForkTarget(db, chunkSize)) : undefined;
    if (attached) return { base, ...attached };
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
    leaveOutUnnamed(pages);
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
 * Leaves out of the rows read (`pages`: nodes, entries, chunks) the trees no entry names: what the
 * source holds aside for its snapshots of trees removed since (its attic, core/attic.ts), which no
 * snapshot of the fork will see. Their blobs are then not copied either.
 */
function leaveOutUnnamed(pages: ForkRow[][][]): void {
  const [nodes, entries, chunks] = pages;
  const named = new Set<number>();
  const below = new Map<number, number[]>();
  for (const rows of entries)
    for (const row of rows) {
      named.add(Number(row.child));
      const children = below.get(Number(row.parent));
      if (children) children.push(Number(row.child));
      else below.set(Number(row.parent), [Number(row.child)]);
    }
  const aside = new Set<number>();
  const stack = nodes.flatMap((rows) =>
    rows
      .filter((row) => row.type === 'dir' && Number(row.inode) !== ROOT_INODE && !named.has(Number(row.inode)))
      .map((row) => Number(row.inode)),
  );
  for (let inode = stack.pop(); inode !== undefined; inode = stack.pop()) {
    aside.add(inode);
    for (const child of below.get(inode) ?? []) if (!aside.has(child)) stack.push(child);
  }
  if (aside.size === 0) return;
  const keep = (tablePages: ForkRow[][], column: string) =>
    tablePages.map((rows) => rows.filter((row) => !aside.has(Number(row[column]))));
  pages[0] = keep(nodes, 'inode');
  pages[1] = keep(entries, 'parent');
  pages[2] = keep(chunks, 'inode');
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

/** Where a merge starts: the fork both hold, and the newest state the two sides agreed on. */
interface MergeBase {
  /** The newest `fork-<id>` snapshot both hold. */
  fork: string;
  /** Their snapshot this side merged last (`fork-<id>.<id>`, this side holding it with `-merged`), or `fork`. */
  prev: string;
  /**
   * This side's snapshot (`fork-<id>.<id>`) that they merged last, when that merge is newer than
   * `prev`: the state both then agreed on is this side's own, and the merge compares against it.
   */
  here?: string;
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
  // Both records are snapshots of theirs (the state they gave, or the one they reached merging
  // ours), so their order there says which merge was the later one.
  const theirs = theirNames.findLast(
    (name) =>
      name.endsWith(MERGED) && mark.test(name.slice(0, -MERGED.length)) && mine.has(name.slice(0, -MERGED.length)),
  );
  if (theirs !== undefined && theirNames.indexOf(theirs) > theirNames.indexOf(prev)) {
    return { fork, prev, here: theirs.slice(0, -MERGED.length) };
  }
  return { fork, prev };
}

/** The paths this side changed since any of the snapshots `since` it holds, in byte order. */
function changedHere(db: Database, since: readonly string[]): string[] {
  const held = new Set(snapshotNames(db));
  const paths = new Set<string>();
  for (const name of since) if (held.has(name)) for (const entry of diffSnapshots(db, name)) paths.add(entry.path);
  return [...paths].sort(compareBytes);
}

/**
 * Every path of `paths` and every ancestor of each: a path at or below which something changed is
 * in it, so each incoming path costs one lookup rather than a scan of `paths`.
 */
function withAncestors(paths: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const path of paths)
    for (let at = path; !out.has(at); at = parentPath(at)) {
      out.add(at);
      if (at === '/') break;
    }
  return out;
}

/** The snapshots of this side whose diffs to now hold every path it changed since `plan`'s base. */
const sinceOf = (plan: Pick<MergePlan, 'base' | 'prev' | 'here'>): string[] =>
  plan.here !== undefined ? [plan.here] : [plan.base, `${plan.prev}${MERGED}`];

const sameState = (a: ChangeEntry, b: ChangeEntry): boolean =>
  a.type === b.type &&
  (a.type !== 'file' ||
    (b.type === 'file' && a.size === b.size && JSON.stringify(a.chunks) === JSON.stringify(b.chunks))) &&
  (a.type !== 'symlink' || (b.type === 'symlink' && a.target === b.target)) &&
  (!('rdev' in a) || ('rdev' in b && a.rdev === b.rdev)) &&
  (a.type === 'delete' ||
    a.type === 'move' ||
    (b.type !== 'delete' && b.type !== 'move' && a.mode === b.mode && a.uid === b.uid && a.gid === b.gid));

/**
 * `name`, or `name-2`, `name-3`, … : the first that is free here or already holds `entry`'s state
 * (an earlier merge's copy; with no `entry`, only a free name will do), and that nothing else of
 * the same merge takes (`taken`: their paths and their ancestors, and the copies made so far), so
 * a conflict copy never replaces anything of this side and nothing of theirs replaces it.
 */
function freeName(db: Database, name: string, entry: ChangeEntry | undefined, taken: Set<string>): string {
  for (let n = 1; ; n++) {
    const candidate = n === 1 ? name : `${name}-${n}`;
    if (taken.has(candidate)) continue;
    const here = materialiseChange(db, candidate);
    if (here.type === 'delete' || (entry !== undefined && sameState(here, entry))) {
      taken.add(candidate);
      return candidate;
    }
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

/** How {@link settle} tells what this side changed since the merge base. */
export interface SettleBase {
  /** The snapshot reported as the merge's base. */
  base: string;
  /** This side's snapshots: a path differing from any of them now changed here (default: `base` alone). */
  since?: readonly string[];
  /**
   * Their state at the base, by path (at least for each path this side changed at or below a
   * path of theirs): a path here in that state agrees with them, as after an earlier merge.
   */
  theirBase?: ReadonlyMap<string, ChangeEntry>;
  /** This side's snapshot holding the base state: an incoming path in that state did not change there. */
  here?: string;
}

/**
 * Decides what of `incoming` (the other side's changes since the base, in path order) applies
 * here and what conflicts (copies are named `<path>.conflict-<tag>`); then applies it, in one
 * transaction. The three-way rule of {@link merge}, shared with branch merges.
 */
export function settle(
  db: Database,
  { base, since = [base], theirBase, here }: SettleBase,
  incoming: readonly ChangeEntry[],
  tag: string,
): MergeResult {
  // A path this side changed counts unless it holds the state their changes start from.
  const agreed = (path: string) => {
    const known = theirBase?.get(path);
    return known !== undefined && sameState(materialiseChange(db, path), known);
  };
  const ours = withAncestors(changedHere(db, since).filter((path) => !agreed(path)));
  const baseView = here === undefined ? undefined : snapshotView(db, here);
  const entries: ChangeEntry[] = [];
  const result: MergeResult = { base, applied: [], conflicts: [] };
  // Names a copy must not take: what theirs brings may land there in the same merge.
  const taken = withAncestors(incoming.map((entry) => entry.path));
  // Everything of theirs below one ancestor this side made a non-directory goes below one copy.
  const blockedCopies = new Map<string, string>();
  for (const entry of incoming) {
    const { path } = entry;
    if (baseView && sameState(materialiseChange(baseView, path), entry)) continue;
    // Where this side made a non-directory of an ancestor, theirs cannot go at `path` without
    // replacing it: it goes below a conflict copy of the ancestor instead.
    const blocked = blockingAncestor(db, path);
    if (blocked !== undefined) {
      let top = blockedCopies.get(blocked);
      if (top === undefined && entry.type !== 'delete') {
        // A directory of copies below which this side may have changed anything since: a new one.
        top = freeName(db, `${blocked}.conflict-${tag}`, undefined, taken);
        blockedCopies.set(blocked, top);
      }
      const copy = entry.type === 'delete' || top === undefined ? null : top + path.slice(blocked.length);
      if (copy) entries.push({ ...entry, path: copy });
      result.conflicts.push({ path, copy });
    } else if (!ours.has(path)) {
      entries.push(entry);
      result.applied.push(path);
    } else if (!sameState(materialiseChange(db, path), entry)) {
      // Both changed it: ours keeps the path; theirs is kept beside it when there is something to keep.
      const copy =
        entry.type === 'delete' || entry.type === 'dir' ? null : freeName(db, `${path}.conflict-${tag}`, entry, taken);
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
 * sync endpoint) into the one `ours` reaches: their changes since the newest state the two agreed
 * on (the state this side last merged from them, or the state of this side they last merged,
 * whichever merge came later; at first the fork) apply where this side did not change the path
 * (or anything below it) since then; where both changed it differently, this side keeps the path and theirs is kept as
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
  const { fork: base, prev, here } = mergeBase(await target.snapshotNames(), await source.snapshotNames());
  const mark = `${base}.${randomId()}`;
  await source.takeSnapshot(mark);
  let result: MergeResult;
  try {
    // Their changes since the state both agreed on last. When that is this side's own (they merged
    // from here last), it is not a snapshot of theirs: what they changed since the fork and since
    // that merge covers it, and this side leaves out what still equals its own state there.
    const incoming =
      here === undefined
        ? await readChangesSince(source, prev, mark)
        : unionByPath(
            await readChangesSince(source, base, mark),
            await readChangesSince(source, `${here}${MERGED}`, mark),
          );
    // Their state at `prev` at every path this side changed where theirs changed something.
    const theirBase = new Map<string, ChangeEntry>();
    if (here === undefined) {
      const candidates = await target.candidates(sinceOf({ base, prev }), incoming);
      for (let start = 0; start < candidates.length; start += MAX_STATE_PATHS) {
        const paths = candidates.slice(start, start + MAX_STATE_PATHS);
        const states = await source.states(prev, paths);
        for (let i = 0; i < paths.length; i++) theirBase.set(paths[i], states[i]);
      }
    }
    const sizes = new Map<string, number>();
    for (const entry of incoming)
      if (entry.type === 'file')
        for (const chunk of entry.chunks) if (chunk.hash !== HOLE) sizes.set(chunk.hash, chunk.size);
    await copyBlobs(source, target, sizes);
    result = await target.commitMerge({ base, prev, mark, here, incoming, theirBase: [...theirBase] });
  } catch (error) {
    await source.dropSnapshot(mark).catch(() => undefined);
    throw error;
  }
  // Their previous mark is superseded too (a failure here leaves a snapshot nothing uses).
  if (prev !== base) await source.dropSnapshot(prev).catch(() => undefined);
  return result;
}

/** Their changes from snapshot `from` to snapshot `to`, every page. */
async function readChangesSince(source: MergeSource, from: string, to: string): Promise<ChangeEntry[]> {
  // Both ends are snapshots: pages read at different times fit together whatever they do meanwhile.
  const entries: ChangeEntry[] = [];
  for (let offset: number | null = 0; offset !== null; ) {
    const page: ChangePage = await source.changes(from, to, offset);
    entries.push(...page.entries);
    offset = page.next;
  }
  return entries;
}

/** Two lists of entries in path order as one (a path in both has the same state: both read it at one snapshot). */
function unionByPath(a: readonly ChangeEntry[], b: readonly ChangeEntry[]): ChangeEntry[] {
  const byPath = new Map<string, ChangeEntry>();
  for (const entry of [...a, ...b]) byPath.set(entry.path, entry);
  return [...byPath.values()].sort((x, y) => compareBytes(x.path, y.path));
}

/** The paths this side changed since any of its snapshots `since` at or below any of `paths`. */
export function mergeCandidates(db: Database, since: readonly string[], paths: readonly string[]): string[] {
  const theirs = new Set(paths);
  return changedHere(db, since).filter((mine) => {
    for (let at = mine; ; at = parentPath(at)) {
      if (theirs.has(at)) return true;
      if (at === '/') return false;
    }
  });
}

/** What a merge brings to the side it writes, read from the other side. */
export interface MergePlan {
  /** The fork snapshot both hold. */
  base: string;
  /** Their snapshot the merge started from: the one this side merged last, or `base`. */
  prev: string;
  /** This side's snapshot they merged last, when that is the newer agreement (the base state is then this side's own). */
  here?: string;
  /** Their snapshot of the state merged. */
  mark: string;
  /** Their changes since the base, in path order. */
  incoming: ChangeEntry[];
  /** Their state at `prev` of paths this side changed, as [path, state] pairs (none with `here`). */
  theirBase: Array<[string, ChangeEntry]>;
}

/**
 * Applies `plan` to `db` in one transaction by the three-way rule ({@link settle}), records
 * `<mark>-merged` and drops the previous merge's record. Their blobs must be staged already.
 */
export function commitMerge(db: Database, plan: MergePlan): MergeResult {
  const { base, prev, mark, here } = plan;
  return mutate(db, 'merge', undefined, () => {
    const settled = settle(
      db,
      { base, since: sinceOf(plan), theirBase: new Map(plan.theirBase), here },
      plan.incoming,
      base.slice('fork-'.length),
    );
    // The record this side held of the previous merge is superseded by the new one.
    if (snapshotNames(db).includes(`${prev}${MERGED}`)) deleteSnapshot(db, `${prev}${MERGED}`);
    snapshot(db, `${mark}${MERGED}`);
    return settled;
  });
}
