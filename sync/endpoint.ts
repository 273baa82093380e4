/**
 * The authority's side of sync: what a replica may ask of it. Transports (in-process, capnweb over
 * WebSocket) carry these calls; this file holds the logic once.
 *
 * @module
 */
import type { SqlValue } from '../core/backend.ts';
import type { Database } from '../core/database.ts';
import { fsError } from '../core/errors.ts';
import { readMeta, writeMeta } from '../core/schema.ts';
import { type ApplyResult, applyChanges } from './apply.ts';
import {
  type ChangeBatch,
  type ChangeCursor,
  type ChangeEntry,
  checkCursor,
  coalesceChanges,
  currentRev,
} from './changes.ts';
import {
  type ChunkDigests,
  type ChunkGroup,
  type ChunkGroupRequest,
  chunkGroups,
  expandDeltas,
  fileDigests,
  withoutChunks,
} from './chunk-delta.ts';
import { type ManifestPage, needsResync, readManifest } from './compact.ts';
import { checkForkTarget, commitMerge, installFork, type MergeResult, mergeCandidates } from './fork.ts';
import { dropExpiredLists, dropStagedLists, type ListPart, stagedList, stageListPart } from './list-parts.ts';
import {
  type ChangeMemo,
  type ChangePage,
  checkForkName,
  dropForkSnapshot,
  FORK_TABLES,
  type ForkRow,
  MAX_PAGE_ROWS,
  readChanges,
  readRows,
  readStates,
  snapshotNames,
  takeForkSnapshot,
} from './merge-source.ts';
import { expandMoves } from './moves.ts';
import { fetchObjects, hasObjects, pushObjects, type SyncObject } from './objects.ts';
import { replicaId, writePushCursor, writeWatermark } from './peers.ts';

/** Most rows one fork staging call may carry. */
const STAGE_ROWS = 2000;
/** Most entries in one batch either way. */
export const MAX_BATCH_ENTRIES = 256;
/** Most hashes one `hasObjects` call may ask about. */
export const MAX_HASHES_PER_CALL = 10_000;
/** Most object bytes in one call either way: well under a 32 MiB WebSocket message and a Durable Object request. */
export const MAX_BATCH_BYTES = 4 * 1024 * 1024;

/** What a replica says when it connects. */
export interface Hello {
  /** The replica's id (stable across runs). */
  replica: string;
  /**
   * The replica's chunk size; both sides must agree, or chunk lists cannot be shared. Omitted, the
   * hello is only a probe: nothing is checked, and the welcome tells the authority's size, which a
   * replica about to be created can then take.
   */
  chunkSize?: number;
  /**
   * True when the replica replays directory moves (`move` entries, schema 7). A replica that does
   * not say so gets each move as the deletion of the old path and the moved tree as state.
   */
  moves?: boolean;
}

/** What the authority answers. */
export interface Welcome {
  /** The authority's replica id. */
  peer: string;
  /** Its chunk size. */
  chunkSize: number;
  /** Its current revision. */
  rev: number;
  /** True when it takes directory moves in pushes (schema 7); otherwise a replica pushes them as state. */
  moves?: boolean;
  /**
   * True when it takes a chunk list longer than one message in parts (`stageList`); an older
   * authority does not, and a replica refuses to push such a file to it (the file stays unsynced).
   */
  lists?: boolean;
}

/** A replica's push of one batch. */
export interface PushRequest {
  /** The replica's id. */
  replica: string;
  /** The replica's changes, in its change order. */
  entries: ChangeEntry[];
  /** The authority's revision the replica had applied before making these changes (conflict base). */
  base: number;
  /** The replica's cursor after this batch, echoed back on success. */
  cursor: ChangeCursor;
}

/** The authority's answer to a push. */
export interface PushResponse {
  /** What the authority applied, and what it refused or settled as a conflict. */
  result: ApplyResult;
  /** The replica cursor the authority applied through. */
  acknowledged: ChangeCursor;
  /**
   * Paths whose chunk delta did not fit the authority's current list (it changed since
   * `chunkDigests`). When present, nothing of the batch was applied: send it again with whole lists.
   */
  stale?: string[];
  /**
   * The replica's directory moves the authority could not replay as one rename (it changed the
   * tree since), named by the replica's inode: it took each as the deletion of the old path, and the
   * replica must send the moved tree again as state (`expandMoves` on its side).
   */
  expand?: number[];
}

/** The calls a replica makes on its authority. Every method may be remote, so each returns a promise. */
export interface SyncEndpoint {
  /** Introduces a replica: checks its chunk size (unless it is a probe) and tells the authority's id, size and revision. */
  hello(hello: Hello): Promise<Welcome>;
  /**
   * The page of changes after `after`. With `deltas`, big files come without their chunk list
   * (digests only, see `chunk-delta.ts`): ask for the groups you lack with `fetchChunkGroups`.
   */
  fetchChanges(replica: string, after: ChangeCursor, limit: number, options?: FetchOptions): Promise<ChangeBatch>;
  /**
   * A page of the full manifest (every live node, no deletions), for a replica that must
   * resynchronise. With `deltas`, big files come as digests, as from {@link SyncEndpoint.fetchChanges}.
   */
  fetchManifest(
    replica: string,
    after: ChangeCursor | null,
    limit: number,
    options?: FetchOptions,
  ): Promise<ManifestPage>;
  /** Whether the authority stores each object (at most 10,000 hashes a call). */
  hasObjects(hashes: string[]): Promise<boolean[]>;
  /** The bytes of the objects named (at most 4 MiB a call); EUNKNOWN_HASH for one it lacks. */
  fetchObjects(hashes: string[]): Promise<SyncObject[]>;
  /** Stores at most 1,024 objects, each verified against its hash first (one bad object stores none); resolves to how many. */
  pushObjects(objects: SyncObject[]): Promise<number>;
  /**
   * Stores part of a chunk list longer than one message (`list-parts.ts`) for the replica's next
   * push to name; resolves to how many items of that list the authority holds (a part that does not
   * continue them is ignored), so a session cut in the middle resumes there. A call of no items only asks.
   */
  stageList(part: ListPart): Promise<number>;
  /** Applies a batch of the replica's changes in one transaction; see {@link PushResponse}. */
  pushChanges(request: PushRequest): Promise<PushResponse>;
  /**
   * Sends the directories the authority moved (named by its inodes, from the move entries) again
   * as state, after the replica could not replay their moves: at most 1,024 a call.
   */
  expandMoves(inodes: number[]): Promise<void>;
  /**
   * The digests of the chunk list of the file at each path (null where there is none), so a push
   * can send only the groups of a big file that differ (a chunk delta).
   */
  chunkDigests(paths: string[]): Promise<Array<ChunkDigests | null>>;
  /** Groups of the chunk lists of big files pulled without them; null where the list changed since. */
  fetchChunkGroups(requests: ChunkGroupRequest[]): Promise<Array<ChunkGroup[] | null>>;
  /** The names of the authority's snapshots (for fork and merge: their bases). */
  snapshotNames(): Promise<string[]>;
  /** Takes snapshot `name` (only `fork-<id>` or `fork-<id>.<id>`); resolves to the revision it records. */
  takeForkSnapshot(name: string): Promise<number>;
  /** Deletes snapshot `name` (only `fork-<id>` or `fork-<id>.<id>`). */
  dropForkSnapshot(name: string): Promise<void>;
  /** A page of the rows of fork table `table` (0 nodes, 1 entries, 2 chunks) at snapshot `base`, after key `after`. */
  forkRows(base: string, table: number, after: SqlValue[] | null): Promise<ForkRow[]>;
  /** A page of the paths that differ between two snapshots, with their state at the later one. */
  forkChanges(from: string, to: string, offset: number): Promise<ChangePage>;
  /** The states of at most 256 paths at snapshot `name`. */
  forkStates(name: string, paths: string[]): Promise<ChangeEntry[]>;
  /** Refuses a fork into the authority unless it is empty with chunk size `chunkSize`. */
  checkForkTarget(chunkSize: number): Promise<void>;
  /** Forgets what this session staged for a fork or merge into the authority. */
  stageReset(): Promise<void>;
  /** Stages at most 16,384 rows (one page of `forkRows`) of fork table `table` for {@link SyncEndpoint.commitFork}. */
  stageRows(table: number, rows: ForkRow[]): Promise<void>;
  /** Stages at most 256 incoming entries of a merge (their changes, in path order). */
  stageEntries(entries: ChangeEntry[]): Promise<void>;
  /** Stages at most 256 [path, state] pairs: the other side's state where a merge starts. */
  stageBase(states: Array<[string, ChangeEntry]>): Promise<void>;
  /** Installs the staged fork rows and takes snapshot `base`, in one transaction; resolves to the nodes installed. */
  commitFork(base: string, rev: number, chunkSize: number): Promise<number>;
  /**
   * A page (2,000) of the paths the authority changed since any of its snapshots `since` (one or
   * two names) at or below a staged entry's path; found on the first page, later pages only slice.
   */
  mergeCandidates(
    since: string | string[],
    offset: number,
  ): Promise<{
    /** This page's paths, in byte order. */
    paths: string[];
    /** The offset of the next page, or null after the last. */
    next: number | null;
  }>;
  /**
   * Merges the staged entries into the authority in one transaction (fork.ts's rule); `here`, the
   * authority's own snapshot the other side merged last, when that is the newer agreement.
   */
  commitMerge(base: string, prev: string, mark: string, here?: string | null): Promise<MergeResult>;
}

/** Options of {@link SyncEndpoint.fetchChanges}. */
export interface FetchOptions {
  /** Send big files' chunk lists as digests; the replica fetches the groups it lacks. */
  deltas?: boolean;
}

/** Every call of {@link SyncEndpoint}, for transports that forward them by name. */
export const SYNC_METHODS = [
  'hello',
  'fetchChanges',
  'fetchManifest',
  'hasObjects',
  'fetchObjects',
  'pushObjects',
  'stageList',
  'pushChanges',
  'expandMoves',
  'chunkDigests',
  'fetchChunkGroups',
  'snapshotNames',
  'takeForkSnapshot',
  'dropForkSnapshot',
  'forkRows',
  'forkChanges',
  'forkStates',
  'checkForkTarget',
  'stageReset',
  'stageRows',
  'stageEntries',
  'stageBase',
  'commitFork',
  'mergeCandidates',
  'commitMerge',
] as const satisfies ReadonlyArray<keyof SyncEndpoint>;

/**
 * Builds an endpoint whose every call is `forward(method, args)`: how a transport (a wire, another
 * object's context) presents a remote endpoint.
 */
export function forwardEndpoint(
  forward: (method: keyof SyncEndpoint, args: unknown[]) => Promise<unknown>,
): SyncEndpoint {
  return Object.fromEntries(
    SYNC_METHODS.map((method) => [method, (...args: unknown[]) => forward(method, args)]),
  ) as unknown as SyncEndpoint;
}

/**
 * A page for a replica that does not replay moves (an older version): each move becomes the
 * deletion of its old path, and the moved tree is restamped so it follows as state.
 */
function withoutMoves(db: Database, batch: ChangeBatch): ChangeBatch {
  const moves = batch.entries.flatMap((entry) => (entry.type === 'move' ? [entry.inode] : []));
  if (moves.length === 0) return batch;
  expandMoves(db, moves);
  const entries = batch.entries.map(
    (entry): ChangeEntry => (entry.type === 'move' ? { type: 'delete', rev: entry.rev, path: entry.from } : entry),
  );
  return { ...batch, entries };
}

function checkReplica(replica: unknown): string {
  if (typeof replica !== 'string' || !/^[0-9a-zA-Z-]{1,64}$/.test(replica)) {
    throw fsError('EINVAL', 'sync', undefined, undefined, 'the replica id must be 1 to 64 letters, digits or dashes');
  }
  return replica;
}

/** Refuses a call moving more object bytes than a batch may (a chunk of slack for the last object). */
function checkBytes(objects: readonly SyncObject[], verb: string): void {
  checkByteCount(
    objects.reduce((sum, object) => sum + (object?.bytes?.byteLength ?? 0), 0),
    verb,
  );
}

function checkByteCount(bytes: number, verb: string): void {
  if (bytes > MAX_BATCH_BYTES + 1024 * 1024) {
    throw fsError(
      'EINVAL',
      'sync',
      undefined,
      undefined,
      `${verb} ${bytes} bytes in one call; at most ${MAX_BATCH_BYTES}`,
    );
  }
}

const clampLimit = (limit: unknown): number => Math.min(Math.max(1, Math.trunc(Number(limit)) || 1), MAX_BATCH_ENTRIES);

function checkCount(value: unknown, max: number, what: string): void {
  if (!Array.isArray(value) || value.length > max)
    throw fsError('EINVAL', 'sync', undefined, undefined, `${what}: at most ${max} per call`);
}

/** What a session stages for a fork or merge into the authority, until one call commits it. */
export interface Staging {
  /** Fork rows staged, by table, in pages. */
  rows: ForkRow[][][];
  /** A merge's incoming entries staged, in path order. */
  entries: ChangeEntry[];
  /** A merge's base: the other side's state of each path where the merge starts. */
  base: Array<[string, ChangeEntry]>;
  /** About how many bytes of memory `rows`, `entries` and `base` hold (8 per number or slot, 2 per character). */
  bytes: number;
  /** The paths `mergeCandidates` found for the staged entries (and its snapshot names, `key`), kept between its pages. */
  candidates?: {
    /** The snapshot names the paths were found for. */
    key: string;
    /** The paths, in byte order. */
    paths: string[];
  };
  /** The diff `forkChanges` pages through, computed once per pair of snapshots. */
  changes: ChangeMemo;
}

/** An empty {@link Staging}. */
export function createStaging(): Staging {
  return { rows: FORK_TABLES.map(() => []), entries: [], base: [], bytes: 0, changes: {} };
}

/**
 * What a session may stage by default: 64 MiB as estimated, half of a Durable Object's 128 MB. A
 * fork stages about 590 estimated bytes per small file (510 measured on the heap), so about
 * 110,000 files.
 */
const DEFAULT_MAX_STAGED_BYTES = 64 * 1024 * 1024;

/** About how many bytes of memory `value` takes once staged: 8 per number or slot, 2 per character, 16 per object or string. */
function stagedBytes(value: unknown): number {
  if (typeof value === 'string') return 16 + 2 * value.length;
  if (value instanceof Uint8Array) return 16 + value.byteLength;
  if (Array.isArray(value)) return value.reduce((sum: number, item) => sum + 8 + stagedBytes(item), 16);
  if (value !== null && typeof value === 'object') {
    let sum = 16;
    // Rows of one shape share their keys: a property costs its slot and its value.
    for (const item of Object.values(value)) sum += 8 + stagedBytes(item);
    return sum;
  }
  return 8;
}

/** Options of {@link createSyncEndpoint}. */
export interface EndpointOptions {
  /**
   * Where the session's fork and merge staging lives; by default the endpoint's own. Pass one when
   * each call gets a new endpoint (calls forwarded into a Durable Object one at a time, say).
   */
  staging?: Staging;
  /**
   * Most bytes of memory (estimated: 8 per number or slot, 2 per character) one session may stage
   * for a fork or merge into this side before the staging call is refused with EFBIG and the
   * staging dropped. Default 64 MiB (a fork of about 110,000 small files).
   */
  maxStagedBytes?: number;
}

/**
 * Serves sync from `db`, the authority. Pushed objects are verified before they are stored;
 * pushed entries are applied atomically with concurrent edits kept under conflict names (the
 * authority's version keeps the path).
 */
export function createSyncEndpoint(db: Database, options: EndpointOptions = {}): SyncEndpoint {
  const self = replicaId(db);
  const staged = options.staging ?? createStaging();
  const maxStaged = options.maxStagedBytes ?? DEFAULT_MAX_STAGED_BYTES;
  const unstage = () => {
    staged.rows = FORK_TABLES.map(() => []);
    staged.entries = [];
    staged.base = [];
    staged.bytes = 0;
    staged.candidates = undefined;
  };
  // Counts what a staging call adds; past the cap the session's staging goes (it could never commit).
  const stage = (items: unknown, syscall: string) => {
    staged.bytes += stagedBytes(items);
    if (staged.bytes <= maxStaged) return;
    unstage();
    throw fsError(
      'EFBIG',
      syscall,
      undefined,
      undefined,
      `a session stages at most ${maxStaged} bytes for a ${syscall} into this side and this one needs more: ` +
        `${syscall} into a local workspace and sync that to this side instead, or raise the endpoint's maxStagedBytes`,
    );
  };
  return {
    async hello(hello) {
      checkReplica(hello?.replica);
      // Skipping the check cannot smuggle in foreign chunks: pushes are validated against this size.
      if (hello.chunkSize !== undefined && hello.chunkSize !== db.chunkSize) {
        throw fsError(
          'EINVAL',
          'sync',
          undefined,
          undefined,
          `chunk sizes differ (replica ${hello.chunkSize}, authority ${db.chunkSize}); create the replica with chunk size ${db.chunkSize}`,
        );
      }
      // Remembered with the workspace: a Durable Object evicted between calls still knows.
      const key = `sync_moves:${hello.replica}`;
      if (hello.moves === true && readMeta(db, key) === undefined) db.transaction(() => writeMeta(db, key, 1));
      return { peer: self, chunkSize: db.chunkSize, rev: currentRev(db), moves: true, lists: true };
    },
    async fetchChanges(replica, after, limit, options) {
      checkReplica(replica);
      checkCursor(db, after);
      if (needsResync(db, after)) return { entries: [], cursor: after, more: false, reset: true };
      let batch = coalesceChanges(db, after, { limit: clampLimit(limit), peer: replica });
      if (readMeta(db, `sync_moves:${replica}`) === undefined) batch = withoutMoves(db, batch);
      // Asking for the page after `after` acknowledges everything before it.
      db.transaction(() => writePushCursor(db, replica, after));
      return options?.deltas === true ? { ...batch, entries: batch.entries.map(withoutChunks) } : batch;
    },
    async fetchManifest(replica, after, limit, options) {
      checkReplica(replica);
      if (after !== null) checkCursor(db, after);
      const page = readManifest(db, after, clampLimit(limit));
      return options?.deltas === true ? { ...page, entries: page.entries.map(withoutChunks) } : page;
    },
    async hasObjects(hashes) {
      checkCount(hashes, MAX_HASHES_PER_CALL, 'hashes');
      return hasObjects(db, hashes);
    },
    async fetchObjects(hashes) {
      checkCount(hashes, 1024, 'hashes');
      // Refused as soon as the bytes read pass the bound: 1,024 hashes of 1 MiB chunks would
      // otherwise be a GiB in the object's memory before the check.
      const objects: SyncObject[] = [];
      let bytes = 0;
      for (const object of fetchObjects(db, hashes)) {
        bytes += object.bytes.byteLength;
        checkByteCount(bytes, 'asked for');
        objects.push(object);
      }
      return objects;
    },
    async pushObjects(objects) {
      checkCount(objects, 1024, 'objects');
      checkBytes(objects, 'pushed');
      return pushObjects(db, objects);
    },
    async stageList(part) {
      checkReplica(part?.replica);
      return stageListPart(db, part);
    },
    async pushChanges(request) {
      const replica = checkReplica(request?.replica);
      checkCount(request.entries, MAX_BATCH_ENTRIES, 'entries');
      if (!Number.isSafeInteger(request.base) || request.base < 0 || request.base > currentRev(db)) {
        throw fsError(
          'EINVAL',
          'sync',
          undefined,
          undefined,
          `conflict base ${request.base} is not a revision of this side`,
        );
      }
      // Deltas are rebuilt and applied in one synchronous step: nothing can change the lists between.
      const { entries, stale } = expandDeltas(db, request.entries, (digest, count) =>
        stagedList(db, replica, digest, count),
      );
      if (stale.length > 0) {
        const result = { applied: 0, skipped: 0, conflicts: [], refused: [] };
        return { result, acknowledged: request.cursor, stale };
      }
      const result = db.transaction(() => {
        const applied = applyChanges(db, entries, { peer: replica, source: 'local', base: request.base });
        // How far this side has applied the replica's stream: what its directory moves are made over.
        writeWatermark(db, replica, request.cursor);
        // The lists this push named are applied; any other the replica staged was given up. So is
        // what other replicas left staged and stopped coming back for.
        dropStagedLists(db, replica);
        dropExpiredLists(db);
        return applied;
      });
      if (!result.expand) return { result, acknowledged: request.cursor };
      return { result, acknowledged: request.cursor, expand: result.expand.map((move) => move.inode) };
    },
    async expandMoves(inodes) {
      checkCount(inodes, 1024, 'inodes');
      if (!inodes.every((inode) => Number.isSafeInteger(inode) && inode > 0))
        throw fsError('EINVAL', 'sync', undefined, undefined, 'expected inodes (positive integers)');
      expandMoves(db, inodes);
    },
    async chunkDigests(paths) {
      checkCount(paths, MAX_BATCH_ENTRIES, 'paths');
      return fileDigests(db, paths);
    },
    async fetchChunkGroups(requests) {
      checkCount(requests, MAX_BATCH_ENTRIES, 'requests');
      return chunkGroups(db, requests);
    },
    async snapshotNames() {
      return snapshotNames(db);
    },
    async takeForkSnapshot(name) {
      return takeForkSnapshot(db, name);
    },
    async dropForkSnapshot(name) {
      dropForkSnapshot(db, name);
    },
    async forkRows(base, table, after) {
      return readRows(db, base, table, after);
    },
    async forkChanges(from, to, offset) {
      return readChanges(db, from, to, offset, staged.changes);
    },
    async forkStates(name, paths) {
      return readStates(db, name, paths);
    },
    async checkForkTarget(chunkSize) {
      checkForkTarget(db, chunkSize);
    },
    async stageReset() {
      unstage();
    },
    async stageRows(table, rows) {
      checkCount(rows, MAX_PAGE_ROWS, 'rows');
      if (!staged.rows[table]) throw fsError('EINVAL', 'fork', undefined, undefined, 'no such fork table');
      stage(rows, 'fork');
      staged.rows[table].push(rows.map((row) => ({ ...row })));
    },
    async stageEntries(entries) {
      checkCount(entries, MAX_BATCH_ENTRIES, 'entries');
      stage(entries, 'merge');
      staged.entries.push(...entries);
      staged.candidates = undefined;
    },
    async stageBase(states) {
      checkCount(states, MAX_BATCH_ENTRIES, 'states');
      stage(states, 'merge');
      staged.base.push(...states);
    },
    async commitFork(base, rev, chunkSize) {
      checkForkName(base, 'fork');
      if (!Number.isSafeInteger(rev) || rev < 0) throw fsError('EINVAL', 'fork', undefined, undefined, 'bad revision');
      try {
        return installFork(db, chunkSize, base, rev, staged.rows);
      } finally {
        unstage();
      }
    },
    async mergeCandidates(since, offset) {
      const names = typeof since === 'string' ? [since] : since;
      if (!Array.isArray(names) || names.length > 2 || names.some((name) => typeof name !== 'string')) {
        throw fsError('EINVAL', 'merge', undefined, undefined, 'since: one or two snapshot names');
      }
      // Found once for the staged entries; later pages only slice.
      const key = names.join('\0');
      if (staged.candidates?.key !== key) {
        const found = mergeCandidates(
          db,
          names,
          staged.entries.map((entry) => entry.path),
        );
        staged.candidates = { key, paths: found };
      }
      const { paths } = staged.candidates;
      const start = Math.max(0, Math.trunc(Number(offset)) || 0);
      const next = start + STAGE_ROWS;
      return { paths: paths.slice(start, next), next: next < paths.length ? next : null };
    },
    async commitMerge(base, prev, mark, here) {
      for (const name of [base, prev, mark]) checkForkName(name, 'merge');
      if (here != null) checkForkName(here, 'merge');
      try {
        return commitMerge(db, {
          base,
          prev,
          mark,
          here: here ?? undefined,
          incoming: staged.entries,
          theirBase: staged.base,
        });
      } finally {
        unstage();
      }
    },
  };
}
