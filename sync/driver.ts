/**
 * The replica's side of sync: pull, push and sync (pull then push), serialised and resumable.
 * Cursors advance in the same transaction as the batch they cover, so a crash or a dropped
 * connection loses nothing and re-sends at most one batch.
 *
 * @module
 */
import type { Database } from '../core/database.ts';
import { fsError, isFsError } from '../core/errors.ts';
import { find } from '../core/fs/search.ts';
import { isSameOrBelow } from '../core/paths.ts';
import { applyChanges, type RefusedEntry, type SyncConflict } from './apply.ts';
import {
  type ChangeCursor,
  type ChangeEntry,
  coalesceChanges,
  compareChangeCursors,
  entryBytes,
  type FileEntry,
  HOLE,
  PAGE_BYTES,
} from './changes.ts';
import {
  type ChunkGroup,
  chunkDigests,
  completePulled,
  DELTA_MIN_CHUNKS,
  groupsWanted,
  toDelta,
} from './chunk-delta.ts';
import type { ManifestPage } from './compact.ts';
import {
  MAX_BATCH_BYTES,
  MAX_BATCH_ENTRIES,
  MAX_HASHES_PER_CALL,
  type PushResponse,
  type SyncEndpoint,
} from './endpoint.ts';
import { LIST_PART, splitGroupRequests } from './list-parts.ts';
import { expandMoves, settleMoves } from './moves.ts';
import { fetchObjects, missingObjects, pushObjects, type SyncObject } from './objects.ts';
import {
  assertAppliedPushCursor,
  deferEchoForgetting,
  deferredEchoForgetting,
  forgetDeferredEchoes,
  pendingExpansions,
  readPushCursor,
  readWatermark,
  recordRefusals,
  replicaId,
  type UnsyncedEntry,
  unsyncedEntries,
  writePendingExpansions,
  writePushCursor,
  writeWatermark,
} from './peers.ts';
import { MAX_MESSAGE_BYTES } from './websocket.ts';

/** Progress of a running sync, for a CLI to show. */
export interface SyncProgress {
  /** `pull` or `push`. */
  phase: 'pull' | 'push';
  /** Entries handled so far in this phase. */
  entries: number;
  /** Object bytes moved so far in this phase. */
  bytes: number;
}

/** Options for {@link createSyncDriver}. */
export interface SyncDriverOptions {
  /** Entries per batch (at most 256). */
  batchEntries?: number;
  /** Object bytes per call (at most 4 MiB). */
  batchBytes?: number;
  /** Path segments this replica does not push (they still advance the cursor). */
  ignore?: readonly string[];
  /** Told after every batch. */
  onProgress?: (progress: SyncProgress) => void;
  /**
   * Most items of one file's chunk list per message (at most, and by default, `LIST_PART`): a
   * longer list travels in parts. Lowered by tests, to send lists in parts without building huge files.
   */
  listPart?: number;
}

/** What one pull, push or sync did. */
export interface SyncReport {
  /** Entries applied on this side. */
  pulled: number;
  /** Entries the authority applied. */
  pushed: number;
  /** Object bytes received. */
  bytesIn: number;
  /** Object bytes sent. */
  bytesOut: number;
  /** Concurrent edits found on either side, each settled with nothing lost. */
  conflicts: SyncConflict[];
  /** Entries refused in this round (by this side on pull, by the authority on push); the rest went on. */
  refused: RefusedEntry[];
  /** Every entry refused and not synced since, this round's included: what still differs. */
  unsynced: UnsyncedEntry[];
}

/** A replica's sync driver. Calls are serialised: a second call waits for the first. */
export interface SyncDriver {
  /** Applies the authority's changes after this replica's watermark, page by page. */
  pull(): Promise<SyncReport>;
  /** Sends this replica's changes after its push cursor, batch by batch. */
  push(): Promise<SyncReport>;
  /** A pull, then a push. */
  sync(): Promise<SyncReport>;
}

const emptyReport = (): SyncReport => ({
  pulled: 0,
  pushed: 0,
  bytesIn: 0,
  bytesOut: 0,
  conflicts: [],
  refused: [],
  unsynced: [],
});

/**
 * Adds `found`, in the order they were settled, to the report's conflicts. A conflict that moved
 * this side's version of a directory aside carried along the copies made below it earlier: their
 * reported paths follow, so each names where its version is.
 */
function addConflicts(report: SyncReport, found: readonly SyncConflict[]): void {
  for (const conflict of found) {
    const { path, copy } = conflict;
    if (conflict.kept === 'incoming' && copy !== null)
      for (const earlier of report.conflicts)
        if (earlier.copy !== null && isSameOrBelow(earlier.copy, path))
          earlier.copy = copy + earlier.copy.slice(path.length);
    report.conflicts.push(conflict);
  }
}

/**
 * `items` in order, cut into parts of at most `maxCount` items and `maxBytes` by `sizeOf` (a part
 * holds one item at least, however large).
 */
function packed<T>(items: readonly T[], sizeOf: (item: T) => number, maxCount: number, maxBytes: number): T[][] {
  const parts: T[][] = [];
  let part: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = sizeOf(item);
    if (part.length > 0 && (part.length >= maxCount || bytes + size > maxBytes)) {
      parts.push(part);
      part = [];
      bytes = 0;
    }
    part.push(item);
    bytes += size;
  }
  if (part.length > 0) parts.push(part);
  return parts;
}

/** Groups hashes so each group's objects stay under `maxBytes` (sizes known from the chunk lists). */
function groupBySize(chunks: ReadonlyArray<{ hash: string; size: number }>, maxBytes: number): string[][] {
  return packed(chunks, (chunk) => chunk.size, 1024, maxBytes).map((group) => group.map((chunk) => chunk.hash));
}

/** Items of a chunk list `entry` carries on the wire (a delta: those of its groups). */
function listItems(entry: ChangeEntry): number {
  if (entry.type !== 'file') return 0;
  return entry.delta ? entry.delta.groups.reduce((sum, group) => sum + group.chunks.length, 0) : entry.chunks.length;
}

/** The objects `entries` name (a delta entry: only those of its groups; the peer has the rest). */
function chunksOf(entries: readonly ChangeEntry[]): Map<string, number> {
  const sizes = new Map<string, number>();
  for (const entry of entries) {
    if (entry.type !== 'file') continue;
    const chunks = entry.delta ? entry.delta.groups.flatMap((group) => group.chunks) : entry.chunks;
    for (const chunk of chunks) if (chunk.hash !== HOLE) sizes.set(chunk.hash, chunk.size);
  }
  return sizes;
}

/**
 * `entries` cut into the calls that carry them: at most {@link MAX_BATCH_ENTRIES} entries and
 * {@link PAGE_BYTES} a call (a call holds one entry at least). A page is one call unless its first
 * position brought more directories not yet sent than that (a chain of directories changed
 * deepest first, as `tar` and `cp -a` stamp them), which no page can split, or it holds more than
 * one file whose list goes in parts.
 */
function calls(entries: readonly ChangeEntry[], listPart: number): ChangeEntry[][] {
  return packed(entries, entryBytes, MAX_BATCH_ENTRIES, PAGE_BYTES).flatMap((call) => oneListEach(call, listPart));
}

/**
 * `call` cut so that each piece holds one file at most whose list passes `listPart` items: the
 * authority keeps one staged list a replica, so a push names one (`list-parts.ts`).
 */
function oneListEach(call: ChangeEntry[], listPart: number): ChangeEntry[][] {
  const pieces: ChangeEntry[][] = [[]];
  let long = false;
  for (const entry of call) {
    const isLong = listItems(entry) > listPart;
    if (isLong && long) {
      pieces.push([]);
      long = false;
    }
    pieces[pieces.length - 1].push(entry);
    long ||= isLong;
  }
  return pieces;
}

/** How many times a page whose chunk lists changed under it is asked for as digests before whole. */
const STALE_TRIES = 3;

/** Drives sync between the replica `db` and its authority behind `endpoint`. */
export function createSyncDriver(
  db: Database,
  endpoint: SyncEndpoint,
  options: SyncDriverOptions | null = {},
): SyncDriver {
  options ??= {};
  const batchEntries = Math.min(options.batchEntries ?? MAX_BATCH_ENTRIES, MAX_BATCH_ENTRIES);
  const batchBytes = Math.min(options.batchBytes ?? MAX_BATCH_BYTES, MAX_BATCH_BYTES);
  const listPart = Math.max(1, Math.min(options.listPart ?? LIST_PART, LIST_PART));
  const self = replicaId(db);
  let peer: string | undefined;
  // Whether the authority takes directory moves (an older one does not: they are pushed as state).
  let takesMoves = true;
  // Whether it takes a chunk list in parts (an older one does not: a list past a message is not pushed).
  let takesLists = true;
  let queue: Promise<unknown> = Promise.resolve();

  const connect = async (): Promise<string> => {
    if (peer) return peer;
    const welcome = await endpoint.hello({ replica: self, chunkSize: db.chunkSize, moves: true });
    peer = welcome.peer;
    takesMoves = welcome.moves === true;
    takesLists = welcome.lists === true;
    return peer;
  };

  /** Fetches the objects `entries` name that this side lacks, in calls under the byte bound. */
  const fetchMissing = async (entries: readonly ChangeEntry[], report: SyncReport): Promise<void> => {
    const sizes = chunksOf(entries);
    const wanted = missingObjects(db, [...sizes.keys()]);
    for (const group of groupBySize(
      wanted.map((hash) => ({ hash, size: sizes.get(hash) ?? 0 })),
      batchBytes,
    )) {
      const objects = await endpoint.fetchObjects(group);
      pushObjects(db, objects);
      report.bytesIn += objects.reduce((sum, object) => sum + object.bytes.byteLength, 0);
    }
  };

  /** Applies pulled entries, concurrent local edits settled in the authority's favour with nothing lost. */
  const applyPulled = (
    authority: string,
    entries: readonly ChangeEntry[],
    report: SyncReport,
    then: () => void,
  ): void => {
    const base = readPushCursor(db, authority);
    db.transaction(() => {
      const result = applyChanges(db, entries, { peer: authority, source: 'upstream', base });
      // Moves this side could not replay: the authority sends their trees again as state. Kept with
      // the watermark, so a crash before asking only asks later.
      if (result.expand) {
        const inodes = result.expand.map((move) => move.inode);
        writePendingExpansions(db, authority, [...pendingExpansions(db, authority), ...inodes]);
      }
      recordRefusals(
        db,
        authority,
        'pull',
        entries.map((entry) => entry.path),
        result.refused,
      );
      then();
      report.pulled += result.applied;
      addConflicts(report, result.conflicts);
      report.refused.push(...result.refused);
    });
    options.onProgress?.({ phase: 'pull', entries: report.pulled, bytes: report.bytesIn });
  };

  /**
   * Resynchronises from the authority's full manifest (this side's cursor is older than its
   * compacted log): every live path is applied, then local paths the authority no longer has are
   * deleted, unless edited here since the last push (edits beat deletions). The watermark moves
   * only at the end, so an interrupted resync starts again.
   */
  const resync = async (authority: string, report: SyncReport): Promise<void> => {
    const seen = new Set<string>();
    let after: ChangeCursor | null = null;
    let startRev: number | undefined;
    for (;;) {
      // Big files come as digests (an older authority sends them whole); a list that changed
      // meanwhile brings the page again.
      const page: ManifestPage = await endpoint.fetchManifest(self, after, batchEntries, { deltas: true });
      const entries = await completeLists(page.entries);
      if (!entries) continue;
      startRev ??= page.rev;
      await fetchMissing(entries, report);
      for (const entry of entries) seen.add(entry.path);
      applyPulled(authority, entries, report, () => undefined);
      after = page.next;
      if (after === null) break;
    }
    const gone = find(db, '/', '**')
      .filter((path) => !seen.has(path))
      .map((path): ChangeEntry => ({ type: 'delete', rev: 0, path }));
    const resumeAt = startRev;
    applyPulled(authority, gone, report, () => writeWatermark(db, authority, { rev: resumeAt, at: null }));
  };

  /**
   * Tells the authority, with an empty push, how far it has applied this side's stream. After a
   * resync it may have forgotten this replica (`resetPeer`): its directory moves would then be made
   * over the start of this side's stream, and everything this side ever pushed would look like
   * concurrent work against them, kept at the old path on this side only.
   */
  const announcePushCursor = async (authority: string): Promise<void> => {
    const cursor = readPushCursor(db, authority);
    await endpoint.pushChanges({ replica: self, entries: [], base: readWatermark(db, authority).rev, cursor });
  };

  /**
   * Pulled entries with every chunk list whole, or null when one changed meanwhile. The groups
   * come in calls of at most `listPart` items, so a list longer than one message takes several.
   */
  const completeLists = async (entries: ChangeEntry[]): Promise<ChangeEntry[] | null> => {
    const wanted = groupsWanted(db, entries);
    if (wanted.length === 0) return entries;
    const fetched: Array<ChunkGroup[] | null> = wanted.map(() => []);
    for (const call of splitGroupRequests(wanted, listPart, MAX_BATCH_ENTRIES)) {
      const answers = await endpoint.fetchChunkGroups(call.map(({ piece }) => piece));
      call.forEach(({ request }, i) => {
        const groups = fetched[request];
        if (groups === null || answers[i] === null) fetched[request] = null;
        else groups.push(...answers[i]);
      });
      if (fetched.includes(null)) return null;
    }
    return completePulled(db, entries, fetched);
  };

  /** Asks the authority to send again, as state, the trees of its moves this side took as deletions. */
  const expandPending = async (authority: string): Promise<void> => {
    const inodes = pendingExpansions(db, authority);
    for (let start = 0; start < inodes.length; start += 1024)
      await endpoint.expandMoves(inodes.slice(start, start + 1024));
    if (inodes.length > 0) db.transaction(() => writePendingExpansions(db, authority, []));
  };

  const pull = async (report: SyncReport): Promise<void> => {
    const authority = await connect();
    // A push before this pull: once the pull is through, every move the authority made before
    // applying it has arrived, and the echo marks it covered are no longer needed.
    const pushed = deferredEchoForgetting(db, authority);
    for (;;) {
      await expandPending(authority);
      const after = readWatermark(db, authority);
      let batch = await endpoint.fetchChanges(self, after, batchEntries, { deltas: true });
      if (batch.reset) {
        await resync(authority, report);
        await announcePushCursor(authority);
        continue;
      }
      // Big files came as digests: fetch the groups of their lists this side lacks. If a list
      // changed meanwhile on either side, the page comes again as digests, then with whole lists
      // (which a list longer than a message cannot be: it waits for a round where it holds still).
      let entries = await completeLists(batch.entries);
      for (let tries = 1; !entries && !batch.reset; tries++) {
        batch = await endpoint.fetchChanges(self, after, batchEntries, { deltas: tries < STALE_TRIES });
        entries = await completeLists(batch.entries);
      }
      if (batch.reset || !entries) continue;
      const cursor = batch.cursor;
      await fetchMissing(entries, report);
      applyPulled(authority, entries, report, () => writeWatermark(db, authority, cursor));
      // Trees of moves taken as deletions come again as state, before anything is pushed.
      if (pendingExpansions(db, authority).length > 0) continue;
      // The last page is acknowledged by asking for the next, which brings nothing new: until then
      // the authority keeps the log it covers (compaction stops below a peer's acknowledged position).
      if (!batch.more && compareChangeCursors(cursor, after) === 0) {
        if (pushed) db.transaction(() => forgetDeferredEchoes(db, authority, pushed));
        return;
      }
    }
  };

  /**
   * `entries` with each big file as a delta against the authority's current list of it, unless
   * the delta would carry more than `listPart` items: that file goes whole, its list in parts.
   */
  const withDeltas = async (entries: ChangeEntry[]): Promise<ChangeEntry[]> => {
    const big = entries.filter((entry) => entry.type === 'file' && entry.chunks.length >= DELTA_MIN_CHUNKS);
    if (big.length === 0) return entries;
    const theirs = await endpoint.chunkDigests(big.map((entry) => entry.path));
    const deltas = new Map(
      big.map((entry, i) => {
        const delta = toDelta(entry as FileEntry, theirs[i] ?? null);
        return [entry, listItems(delta) > listPart ? entry : delta];
      }),
    );
    return entries.map((entry) => deltas.get(entry) ?? entry);
  };

  /**
   * `entries` with each list longer than `listPart` items staged on the authority, part by part
   * from where its copy stops (a session cut in the middle resumes there), and named instead. A
   * list the authority has no room for (its stored-bytes quota) is refused, named in `refused`.
   */
  const withStagedLists = async (entries: ChangeEntry[], refused: RefusedEntry[]): Promise<ChangeEntry[]> => {
    const sent: ChangeEntry[] = [];
    for (const entry of entries) {
      if (entry.type !== 'file' || listItems(entry) <= listPart) {
        sent.push(entry);
        continue;
      }
      const list = { replica: self, digest: chunkDigests(entry.chunks).digest, count: entry.chunks.length };
      let held = await endpoint.stageList({ ...list, start: 0, chunks: [] });
      try {
        while (held < list.count) {
          const chunks = entry.chunks.slice(held, held + listPart);
          const now = await endpoint.stageList({ ...list, start: held, chunks });
          if (now <= held)
            throw fsError('EIO', 'sync', entry.path, undefined, 'the authority did not take a list part');
          held = now;
        }
      } catch (error) {
        if (!isFsError(error, 'ENOSPC')) throw error;
        refused.push({ path: entry.path, code: error.code, reason: error.message });
        continue;
      }
      sent.push({
        ...entry,
        chunks: [],
        delta: { base: '', digest: list.digest, count: list.count, groups: [], staged: true },
      });
    }
    return sent;
  };

  /**
   * `entries` for an authority that takes no list in parts (an older version): a file whose list
   * alone passes a message is refused here, named in `refused` (it stays unsynced, and the rest
   * goes on), where before its batch failed every round.
   */
  const withoutLongLists = (entries: ChangeEntry[], refused: RefusedEntry[]): ChangeEntry[] =>
    entries.filter((entry) => {
      if (takesLists || entryBytes(entry) <= MAX_MESSAGE_BYTES) return true;
      const reason = `its chunk list of ${listItems(entry)} items passes a message, and the authority (an older version) takes none in parts; upgrade it`;
      refused.push({ path: entry.path, code: 'EFBIG', reason });
      return false;
    });

  /** Sends the objects the authority lacks, then the entries; returns its answer. */
  const sendBatch = async (
    authority: string,
    entries: ChangeEntry[],
    cursor: ChangeCursor,
    report: SyncReport,
    refused: RefusedEntry[],
  ): Promise<PushResponse> => {
    const sizes = chunksOf(entries);
    const hashes = [...sizes.keys()];
    const present: boolean[] = [];
    for (let start = 0; start < hashes.length; start += MAX_HASHES_PER_CALL)
      present.push(...(await endpoint.hasObjects(hashes.slice(start, start + MAX_HASHES_PER_CALL))));
    const wanted = hashes.filter((_, i) => !present[i]).map((hash) => ({ hash, size: sizes.get(hash) ?? 0 }));
    for (const group of groupBySize(wanted, batchBytes)) {
      const objects: SyncObject[] = [...fetchObjects(db, group)];
      await endpoint.pushObjects(objects);
      report.bytesOut += objects.reduce((sum, object) => sum + object.bytes.byteLength, 0);
    }
    const watermark = readWatermark(db, authority);
    const base = watermark.rev;
    // A move still a move was made over all of the authority's stream applied by now: one the
    // authority's changes since touched has become state (`settleMetMoves`).
    const sent = (await withStagedLists(entries, refused)).map((entry) =>
      entry.type === 'move' ? { ...entry, seen: watermark } : entry,
    );
    return endpoint.pushChanges({ replica: self, entries: sent, base, cursor });
  };

  const push = async (report: SyncReport): Promise<void> => {
    const authority = await connect();
    if (!takesMoves) db.transaction(() => settleMoves(db, readPushCursor(db, authority)));
    for (;;) {
      const after = readPushCursor(db, authority);
      const batch = coalesceChanges(db, after, { peer: authority, limit: batchEntries, ignore: options.ignore });
      const refused: RefusedEntry[] = [];
      const expand: number[] = [];
      // A page is one call, unless directories it must send first carried it past what one call
      // takes: then in several, in order, and only the last advances the authority's cursor.
      const parts = calls(batch.entries, listPart);
      for (const [i, part] of parts.entries()) {
        const cursor = i === parts.length - 1 ? batch.cursor : after;
        // Big files go as chunk deltas; if the authority's list changed meanwhile, whole, once more.
        const whole = withoutLongLists(part, refused);
        let response = await sendBatch(authority, await withDeltas(whole), cursor, report, refused);
        if (response.stale?.length) response = await sendBatch(authority, whole, cursor, report, refused);
        if (response.stale?.length) throw fsError('EIO', 'sync', response.stale[0], undefined, 'stale chunk list');
        assertAppliedPushCursor(cursor, response.acknowledged);
        report.pushed += response.result.applied;
        addConflicts(report, response.result.conflicts);
        refused.push(...(response.result.refused ?? []));
        expand.push(...(response.expand ?? []));
      }
      report.refused.push(...refused);
      db.transaction(() => {
        recordRefusals(
          db,
          authority,
          'push',
          batch.entries.map((entry) => entry.path),
          refused,
        );
        // The marks this push covers are forgotten only after the next whole pull (deferEchoForgetting).
        writePushCursor(db, authority, batch.cursor, false);
        if (batch.entries.length > 0) deferEchoForgetting(db, authority, batch.cursor);
        // Moves the authority took as deletions: their trees go again as state, in the next batches.
        expandMoves(db, expand);
      });
      options.onProgress?.({ phase: 'push', entries: report.pushed, bytes: report.bytesOut });
      if (!batch.more && expand.length === 0) return;
    }
  };

  const serialise = (steps: Array<(report: SyncReport) => Promise<void>>): Promise<SyncReport> => {
    const run = queue.then(async () => {
      const report = emptyReport();
      for (const step of steps) await step(report);
      report.unsynced = unsyncedEntries(db, peer);
      return report;
    });
    queue = run.catch(() => undefined);
    return run;
  };

  return {
    pull: () => serialise([pull]),
    push: () => serialise([push]),
    sync: () => serialise([pull, push]),
  };
}
