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
import { deleteSnapshot, listSnapshots, snapshot, snapshotView } from '../core/fs/snapshots.ts';
import { NODE_FIELDS } from '../core/history.ts';
import { mutate } from '../core/mutate.ts';
import { isSameOrBelow } from '../core/paths.ts';
import { readMeta, writeMeta } from '../core/schema.ts';
import { applyChanges } from './apply.ts';
import { type ChangeEntry, HOLE, materialiseChange } from './changes.ts';
import { fetchObjects, missingObjects, pushObjects } from './objects.ts';

/**
 * Runs `fn` on one workspace's `Database`, in its context (a Durable Object's, for one): how fork
 * and merge reach two workspaces that may not share a context. {@link local} makes one for a
 * `Database` at hand.
 */
export type WorkspaceAccess = <T>(fn: (db: Database) => T) => Promise<T>;

/** A {@link WorkspaceAccess} for a `Database` in this context. */
export function local(db: Database): WorkspaceAccess {
  return async (fn) => fn(db);
}

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

/** The tables a fork copies, with their columns; the first one or two columns are the key. */
const TABLES = [
  { table: 'vfs_nodes', columns: NODE_FIELDS as readonly string[], keys: 1 },
  { table: 'vfs_dirents', columns: ['parent', 'name', 'child'], keys: 2 },
  { table: 'vfs_chunks', columns: ['inode', 'idx', 'hash', 'size'], keys: 2 },
];
/** Rows read per page; blobs and their bytes per round trip (a Workers RPC message is at most 32 MiB). */
const PAGE_ROWS = 2000;
const PAGE_BLOBS = 1024;
const PAGE_BYTES = 8 * 1024 * 1024;

type Row = Record<string, SqlValue>;

/** One page of `table` at snapshot `base`, in key order after `after`. */
function readPage(db: Database, base: string, index: number, after: SqlValue[] | null): Row[] {
  const { table, columns, keys } = TABLES[index];
  const key = columns.slice(0, keys).join(', ');
  const where = after === null ? '' : `WHERE (${key}) > (${after.map(() => '?').join(', ')})`;
  return snapshotView(db, base).all<Row>(
    `SELECT ${columns.join(', ')} FROM ${table} ${where} ORDER BY ${key} LIMIT ?`,
    [...(after ?? []), PAGE_ROWS],
  );
}

/** Refuses a fork target that holds anything or has another chunk size. */
function checkTarget(db: Database, chunkSize: number): void {
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
export async function fork(source: WorkspaceAccess, target: WorkspaceAccess): Promise<ForkResult> {
  const chunkSize = await source((db) => db.chunkSize);
  await target((db) => checkTarget(db, chunkSize));
  const base = `fork-${randomId()}`;
  const rev = await source((db) => {
    snapshot(db, base);
    return Number(readMeta(db, 'rev'));
  });
  try {
    const pages: Row[][][] = [];
    for (let index = 0; index < TABLES.length; index++) {
      pages.push([]);
      for (let after: SqlValue[] | null = null; ; ) {
        const rows = await source((db) => readPage(db, base, index, after));
        if (rows.length === 0) break;
        pages[index].push(rows);
        const last = rows[rows.length - 1];
        after = TABLES[index].columns.slice(0, TABLES[index].keys).map((column) => last[column]);
      }
    }
    const sizes = new Map<string, number>();
    for (const rows of pages[TABLES.length - 1]) for (const row of rows) sizes.set(String(row.hash), Number(row.size));
    const copied = await copyBlobs(source, target, sizes);
    const nodes = await target((db) =>
      mutate(db, 'fork', undefined, () => {
        checkTarget(db, chunkSize);
        db.run('DELETE FROM vfs_nodes');
        pages.forEach((tablePages, index) => {
          for (const rows of tablePages) insertRows(db, TABLES[index].table, TABLES[index].columns, rows);
        });
        db.run("UPDATE sqlite_sequence SET seq = (SELECT MAX(inode) FROM vfs_nodes) WHERE name = 'vfs_nodes'");
        writeMeta(db, 'rev', Math.max(Number(readMeta(db, 'rev')), rev));
        snapshot(db, base);
        return pages[0].reduce((sum, rows) => sum + rows.length, 0);
      }),
    );
    return { base, nodes, ...copied };
  } catch (error) {
    await source((db) => deleteSnapshot(db, base)).catch(() => undefined);
    throw error;
  }
}

/** Inserts rows, as many per statement as the parameter limit allows. */
function insertRows(db: Database, table: string, columns: readonly string[], rows: readonly Row[]): void {
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
  source: WorkspaceAccess,
  target: WorkspaceAccess,
  sizes: ReadonlyMap<string, number>,
): Promise<{ blobs: number; bytes: number }> {
  let blobs = 0;
  let bytes = 0;
  for (const group of groups(sizes)) {
    const missing = await target((db) => missingObjects(db, group));
    if (missing.length === 0) continue;
    const objects = await source((db) => [...fetchObjects(db, missing)]);
    await target((db) => pushObjects(db, objects));
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

/** The newest `fork-…` snapshot both workspaces hold. */
async function mergeBase(ours: WorkspaceAccess, theirs: WorkspaceAccess): Promise<string> {
  const mine = new Set((await ours(listSnapshots)).map((info) => info.name));
  const common = (await theirs(listSnapshots))
    .filter((info) => info.name.startsWith('fork-') && mine.has(info.name))
    .sort((x, y) => y.id - x.id);
  if (common.length === 0) {
    throw fsError(
      'EINVAL',
      'merge',
      undefined,
      undefined,
      'the workspaces share no fork snapshot: neither was forked from the other',
    );
  }
  return common[0].name;
}

const sameState = (a: ChangeEntry, b: ChangeEntry): boolean =>
  a.type === b.type &&
  (a.type !== 'file' ||
    (b.type === 'file' && a.size === b.size && JSON.stringify(a.chunks) === JSON.stringify(b.chunks))) &&
  (a.type !== 'symlink' || (b.type === 'symlink' && a.target === b.target)) &&
  (a.type === 'delete' || (b.type !== 'delete' && a.mode === b.mode));

/**
 * Decides what of `incoming` (the other side's changes since snapshot `base`, in path order)
 * applies here and what conflicts (copies are named `<path>.conflict-<tag>`); then applies it, in
 * one transaction. The three-way rule of {@link merge}, shared with branch merges.
 */
export function settle(db: Database, base: string, incoming: readonly ChangeEntry[], tag: string): MergeResult {
  const ourPaths = diffSnapshots(db, base).map((entry) => entry.path);
  const touched = (path: string) => ourPaths.some((mine) => isSameOrBelow(mine, path));
  const entries: ChangeEntry[] = [];
  const result: MergeResult = { base, applied: [], conflicts: [] };
  for (const entry of incoming) {
    const { path } = entry;
    if (!touched(path)) {
      entries.push(entry);
      result.applied.push(path);
    } else if (!sameState(materialiseChange(db, path), entry)) {
      // Both changed it: ours keeps the path; theirs is kept beside it when there is something to keep.
      const copy = entry.type === 'delete' || entry.type === 'dir' ? null : `${path}.conflict-${tag}`;
      if (copy) entries.push({ ...entry, path: copy });
      result.conflicts.push({ path, copy });
    }
  }
  applyChanges(db, entries);
  return result;
}

/**
 * Merges the workspace `theirs` reaches (a fork of this one, or the one this was forked from) into
 * the one `ours` reaches: their changes since the newest fork snapshot both hold apply where this
 * side did not change the path (or anything below it); where both changed it differently, this
 * side keeps the path and theirs is kept as `<path>.conflict-<id>` (a deletion or a directory of
 * theirs has nothing to keep), as sync does. A directory they deleted that holds paths this side
 * changed stays. Nothing is lost, `theirs` is only read, and this side changes in one transaction
 * (blobs are staged first). A path both changed is reported again by later merges of the same
 * pair while they differ. EINVAL when the two share no fork snapshot.
 */
export async function merge(ours: WorkspaceAccess, theirs: WorkspaceAccess): Promise<MergeResult> {
  const base = await mergeBase(ours, theirs);
  const incoming = await theirs((db) => diffSnapshots(db, base).map(({ path }) => materialiseChange(db, path)));
  const sizes = new Map<string, number>();
  for (const entry of incoming)
    if (entry.type === 'file')
      for (const chunk of entry.chunks) if (chunk.hash !== HOLE) sizes.set(chunk.hash, chunk.size);
  await copyBlobs(theirs, ours, sizes);
  return ours((db) => mutate(db, 'merge', undefined, () => settle(db, base, incoming, base.slice('fork-'.length))));
}
