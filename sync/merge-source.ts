/**
 * The side a fork copies from and a merge reads: its snapshots, its rows at a snapshot, its changes
 * between two snapshots and its objects, in bounded pages. The same functions serve a workspace
 * at hand ({@link localSource}) and one across a wire (the sync endpoint's fork calls, read back
 * by {@link remoteSource}), so forks and merges decide everything in one place (fork.ts) whichever
 * way a side is reached.
 *
 * @module
 */
import type { SqlValue } from '../core/backend.ts';
import type { Database } from '../core/database.ts';
import { fsError } from '../core/errors.ts';
import { diffSnapshots } from '../core/fs/diff.ts';
import { deleteSnapshot, findSnapshot, listSnapshots, snapshot, snapshotView } from '../core/fs/snapshots.ts';
import { NODE_FIELDS } from '../core/history.ts';
import { readMeta } from '../core/schema.ts';
import { type ChangeEntry, materialiseChange } from './changes.ts';
import type { SyncEndpoint } from './endpoint.ts';
import { fetchObjects, type SyncObject } from './objects.ts';

/**
 * Runs `fn` on one workspace's `Database`, in its context (a Durable Object's, for one): how fork
 * and merge reach two workspaces that may not share a context. {@link local} makes one for a
 * `Database` at hand.
 */
export type WorkspaceAccess = <T>(fn: (db: Database) => T) => Promise<T>;

/** The `Database` behind each side made by {@link local} (or a source or target built on one). */
const LOCAL = new WeakMap<object, Database>();

/** A {@link WorkspaceAccess} for a `Database` in this context. */
export function local(db: Database): WorkspaceAccess {
  const access: WorkspaceAccess = async (fn) => fn(db);
  LOCAL.set(access, db);
  return access;
}

/**
 * The `Database` a side reaches when it is one at hand ({@link local}, or a {@link localSource} or
 * `localTarget` of one): a fork between two such sides may copy inside SQLite (fork-attached.ts).
 */
export function localDatabase(side: object): Database | undefined {
  return LOCAL.get(side);
}

/** Records that `side` (a source or target) reaches the same `Database` as `access`, if that is one at hand. */
export function markLocal<T extends object>(access: WorkspaceAccess, side: T): T {
  const db = LOCAL.get(access);
  if (db) LOCAL.set(side, db);
  return side;
}

/** A row of a table a fork copies (nodes, entries, chunks), by column. */
export type ForkRow = Record<string, SqlValue>;

/** The tables a fork copies, with their columns; the first one or two columns are the key. */
export const FORK_TABLES = [
  { table: 'vfs_nodes', columns: NODE_FIELDS as readonly string[], keys: 1 },
  { table: 'vfs_dirents', columns: ['parent', 'name', 'child'], keys: 2 },
  { table: 'vfs_chunks', columns: ['inode', 'idx', 'hash', 'size'], keys: 2 },
];
/**
 * Most rows in one page of {@link readRows} (and one staging call of a fork into an endpoint).
 * Small-file rows take about 100 to 250 characters each, so a page is usually cut by
 * {@link PAGE_ROW_CHARS} first.
 */
export const MAX_PAGE_ROWS = 16_384;
/**
 * About how much one page of rows takes on the wire, in characters of JSON: 4 Mi, at most 12 MiB
 * of UTF-8, well under a WebSocket message (`MAX_MESSAGE_BYTES`, 32 MiB) and a Durable Object's
 * request, and a few MiB of a Durable Object's memory.
 */
export const PAGE_ROW_CHARS = 4 * 1024 * 1024;
/** Entries and chunk references in one page of {@link readChanges}: a page stays a few MiB on the wire. */
const PAGE_ENTRIES = 256;
const PAGE_CHUNKS = 20_000;
/** Most paths one {@link readStates} call may ask about. */
export const MAX_STATE_PATHS = 256;

/** The names fork and merge give snapshots: `fork-<id>` (a fork's base) and `fork-<id>.<id>` (a merge's mark). */
const FORK_NAME = /^fork-[0-9a-f]{12}(\.[0-9a-f]{12})?$/;

/** Refuses (EINVAL) a snapshot name fork and merge do not give. */
export function checkForkName(name: unknown, syscall: string): string {
  if (typeof name !== 'string' || !FORK_NAME.test(name)) {
    throw fsError('EINVAL', syscall, undefined, undefined, 'fork and merge only touch snapshots named fork-<id>');
  }
  return name;
}

/** Takes the fork or merge snapshot `name`; returns the revision it records. */
export function takeForkSnapshot(db: Database, name: string): number {
  snapshot(db, checkForkName(name, 'fork'));
  return Number(readMeta(db, 'rev'));
}

/** Deletes the fork or merge snapshot `name` (other snapshots are refused). */
export function dropForkSnapshot(db: Database, name: string): void {
  deleteSnapshot(db, checkForkName(name, 'fork'));
}

/** The names of every snapshot, oldest first. */
export function snapshotNames(db: Database): string[] {
  return listSnapshots(db).map((info) => info.name);
}

/**
 * About the characters `row` takes as JSON: at least its strings' lengths and 24 per other value
 * (a number's digits), plus its keys; cheaper than serialising it.
 */
export function rowChars(row: ForkRow): number {
  let chars = 2;
  for (const key in row) {
    const value = row[key];
    chars += key.length + 4 + (typeof value === 'string' ? value.length + 2 : 24);
  }
  return chars;
}

/**
 * One page of fork table `table` at snapshot `base`, in key order after `after`: at most
 * `bound.rows` rows ({@link MAX_PAGE_ROWS}), cut before the row that takes it past `bound.chars`
 * characters of JSON ({@link PAGE_ROW_CHARS}; a page holds at least one row).
 */
export function readRows(
  db: Database,
  base: string,
  table: number,
  after: SqlValue[] | null,
  bound: { rows: number; chars: number } = { rows: MAX_PAGE_ROWS, chars: PAGE_ROW_CHARS },
): ForkRow[] {
  const spec = FORK_TABLES[table];
  if (!Number.isInteger(table) || !spec || (after !== null && (!Array.isArray(after) || after.length !== spec.keys))) {
    throw fsError('EINVAL', 'fork', undefined, undefined, 'no such fork table or key');
  }
  const { columns, keys } = spec;
  const key = columns.slice(0, keys).join(', ');
  const where = after === null ? '' : `WHERE (${key}) > (${after.map(() => '?').join(', ')})`;
  const rows = snapshotView(db, base).all<ForkRow>(
    `SELECT ${columns.join(', ')} FROM ${spec.table} ${where} ORDER BY ${key} LIMIT ?`,
    [...(after ?? []), bound.rows],
  );
  // Plain objects: a backend's rows may have no prototype, which an RPC wire cannot carry.
  const page: ForkRow[] = [];
  let chars = 0;
  for (const row of rows) {
    chars += rowChars(row);
    if (page.length > 0 && chars > bound.chars) break;
    page.push({ ...row });
  }
  return page;
}

/** A page of the changes between two snapshots ({@link MergeSource.changes}). */
export interface ChangePage {
  /** The paths' states at the later snapshot, in byte order of paths. */
  entries: ChangeEntry[];
  /** The offset of the next page, or null after the last. */
  next: number | null;
}

/**
 * The paths that differ between two snapshots, kept by whoever reads them in pages (a merge's
 * source, an endpoint's session) so the diff runs once, not once a page: both ends are
 * snapshots, so the list cannot change while they exist, and snapshot ids are never reused.
 */
export interface ChangeMemo {
  /** The ids of the two snapshots the paths are between. */
  key?: string;
  /** The paths that differ between them, in byte order; absent until the first page is read. */
  paths?: string[];
}

/**
 * The paths that differ from snapshot `from` to snapshot `to`, with their state at `to`, from the
 * `offset`-th on: at most 256 entries and about 20,000 chunk references a page (always at least
 * one entry). Both ends are snapshots, so pages read at different times fit together. The diff
 * runs on the first page asked with `memo` and is kept there: a later page costs what it holds.
 */
export function readChanges(db: Database, from: string, to: string, offset: number, memo: ChangeMemo = {}): ChangePage {
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw fsError('EINVAL', 'merge', undefined, undefined, 'the offset must be a whole number');
  }
  const key = `${findSnapshot(db, from, 'diff').id}:${findSnapshot(db, to, 'diff').id}`;
  if (memo.key !== key || memo.paths === undefined) {
    memo.paths = diffSnapshots(db, from, to).map((entry) => entry.path);
    memo.key = key;
  }
  const paths = memo.paths;
  const view = snapshotView(db, to);
  const entries: ChangeEntry[] = [];
  let chunks = 0;
  let at = offset;
  for (; at < paths.length && entries.length < PAGE_ENTRIES; at++) {
    const entry = materialiseChange(view, paths[at]);
    const size = entry.type === 'file' ? entry.chunks.length : 0;
    if (entries.length > 0 && chunks + size > PAGE_CHUNKS) break;
    entries.push(entry);
    chunks += size;
  }
  return { entries, next: at < paths.length ? at : null };
}

/** The state of each of `paths` (at most 256) at snapshot `name`. */
export function readStates(db: Database, name: string, paths: string[]): ChangeEntry[] {
  if (!Array.isArray(paths) || paths.length > MAX_STATE_PATHS || paths.some((path) => typeof path !== 'string')) {
    throw fsError('EINVAL', 'merge', undefined, undefined, `paths: at most ${MAX_STATE_PATHS} strings per call`);
  }
  const view = snapshotView(db, name);
  return paths.map((path) => materialiseChange(view, path));
}

/** What fork and merge ask of the side they copy from or read. Every call may be remote. */
export interface MergeSource {
  /** The source workspace's chunk size, in bytes. */
  chunkSize(): Promise<number>;
  /** The names of its snapshots, oldest first. */
  snapshotNames(): Promise<string[]>;
  /** Takes fork or merge snapshot `name`; resolves to the revision it records. */
  takeSnapshot(name: string): Promise<number>;
  /** Deletes fork or merge snapshot `name` (other snapshots are refused). */
  dropSnapshot(name: string): Promise<void>;
  /** One page (at most 2,000 rows) of fork table `table` at snapshot `base`, in key order after `after` (null: from the start). */
  rows(base: string, table: number, after: SqlValue[] | null): Promise<ForkRow[]>;
  /** One page of the paths that differ from snapshot `from` to snapshot `to`, with their state at `to`, from the `offset`-th on. */
  changes(from: string, to: string, offset: number): Promise<ChangePage>;
  /** The state of each of `paths` (at most 256) at snapshot `name`. */
  states(name: string, paths: string[]): Promise<ChangeEntry[]>;
  /** The objects (chunk bytes) of `hashes`, verified. */
  fetchObjects(hashes: string[]): Promise<SyncObject[]>;
}

/** The {@link MergeSource} of a workspace reached through `access`. */
export function localSource(access: WorkspaceAccess): MergeSource {
  const memo: ChangeMemo = {};
  return markLocal(access, {
    chunkSize: () => access((db) => db.chunkSize),
    snapshotNames: () => access(snapshotNames),
    takeSnapshot: (name) => access((db) => takeForkSnapshot(db, name)),
    dropSnapshot: (name) => access((db) => dropForkSnapshot(db, name)),
    rows: (base, table, after) => access((db) => readRows(db, base, table, after)),
    changes: (from, to, offset) => access((db) => readChanges(db, from, to, offset, memo)),
    states: (name, paths) => access((db) => readStates(db, name, paths)),
    fetchObjects: (hashes) => access((db) => [...fetchObjects(db, hashes)]),
  });
}

/**
 * The {@link MergeSource} of the workspace behind a sync endpoint (a Durable Object across a
 * WebSocket, for one): `fork` and `merge` take it as the side they copy from or read.
 *
 * ```ts
 * const remote = await connectSyncWebSocket('https://example.com/ws/demo/sync', token);
 * await merge(local(ws.db), remoteSource(remote));
 * ```
 */
export function remoteSource(endpoint: SyncEndpoint): MergeSource {
  return {
    chunkSize: async () => (await endpoint.hello({ replica: 'fork' })).chunkSize,
    snapshotNames: () => endpoint.snapshotNames(),
    takeSnapshot: (name) => endpoint.takeForkSnapshot(name),
    dropSnapshot: (name) => endpoint.dropForkSnapshot(name),
    rows: (base, table, after) => endpoint.forkRows(base, table, after),
    changes: (from, to, offset) => endpoint.forkChanges(from, to, offset),
    states: (name, paths) => endpoint.forkStates(name, paths),
    fetchObjects: (hashes) => endpoint.fetchObjects(hashes),
  };
}
