/**
 * The replica's side of sync: pull, push and sync (pull then push), serialised and resumable.
 * Cursors advance in the same transaction as the batch they cover, so a crash or a dropped
 * connection loses nothing and re-sends at most one batch.
 *
 * @module
 */
import type { Database } from '../core/database.ts';
import { applyChanges, type SyncConflict } from './apply.ts';
import { type ChangeEntry, coalesceChanges } from './changes.ts';
import { MAX_BATCH_BYTES, MAX_BATCH_ENTRIES, type SyncEndpoint } from './endpoint.ts';
import { fetchObjects, missingObjects, pushObjects, type SyncObject } from './objects.ts';
import { assertAppliedPushCursor, readPushCursor, readWatermark, replicaId, writePushCursor, writeWatermark } from './peers.ts';

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
}

/** A replica's sync driver. Calls are serialised: a second call waits for the first. */
export interface SyncDriver {
  pull(): Promise<SyncReport>;
  push(): Promise<SyncReport>;
  sync(): Promise<SyncReport>;
}

const emptyReport = (): SyncReport => ({ pulled: 0, pushed: 0, bytesIn: 0, bytesOut: 0, conflicts: [] });

/** Groups hashes so each group's objects stay under `maxBytes` (sizes known from the chunk lists). */
function groupBySize(chunks: ReadonlyArray<{ hash: string; size: number }>, maxBytes: number): string[][] {
  const groups: string[][] = [];
  let current: string[] = [];
  let bytes = 0;
  for (const chunk of chunks) {
    if (current.length > 0 && (bytes + chunk.size > maxBytes || current.length >= 1024)) {
      groups.push(current);
      current = [];
      bytes = 0;
    }
    current.push(chunk.hash);
    bytes += chunk.size;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}

function chunksOf(entries: readonly ChangeEntry[]): Map<string, number> {
  const sizes = new Map<string, number>();
  for (const entry of entries) if (entry.type === 'file') for (const chunk of entry.chunks) sizes.set(chunk.hash, chunk.size);
  return sizes;
}

/** Drives sync between the replica `db` and its authority behind `endpoint`. */
export function createSyncDriver(db: Database, endpoint: SyncEndpoint, options: SyncDriverOptions = {}): SyncDriver {
  const batchEntries = Math.min(options.batchEntries ?? MAX_BATCH_ENTRIES, MAX_BATCH_ENTRIES);
  const batchBytes = Math.min(options.batchBytes ?? MAX_BATCH_BYTES, MAX_BATCH_BYTES);
  const self = replicaId(db);
  let peer: string | undefined;
  let queue: Promise<unknown> = Promise.resolve();

  const connect = async (): Promise<string> => {
    if (peer) return peer;
    const welcome = await endpoint.hello({ replica: self, chunkSize: db.chunkSize });
    peer = welcome.peer;
    return peer;
  };

  const pull = async (report: SyncReport): Promise<void> => {
    const authority = await connect();
    for (;;) {
      const after = readWatermark(db, authority);
      const batch = await endpoint.fetchChanges(self, after, batchEntries);
      const sizes = chunksOf(batch.entries);
      const wanted = missingObjects(db, [...sizes.keys()]);
      for (const group of groupBySize(wanted.map((hash) => ({ hash, size: sizes.get(hash) ?? 0 })), batchBytes)) {
        const objects = await endpoint.fetchObjects(group);
        pushObjects(db, objects);
        report.bytesIn += objects.reduce((sum, object) => sum + object.bytes.byteLength, 0);
      }
      const base = readPushCursor(db, authority).rev;
      db.transaction(() => {
        const result = applyChanges(db, batch.entries, { peer: authority, conflicts: { base, winner: 'incoming' } });
        writeWatermark(db, authority, batch.cursor);
        report.pulled += result.applied;
        report.conflicts.push(...result.conflicts);
      });
      options.onProgress?.({ phase: 'pull', entries: report.pulled, bytes: report.bytesIn });
      if (!batch.more) return;
    }
  };

  const push = async (report: SyncReport): Promise<void> => {
    const authority = await connect();
    for (;;) {
      const after = readPushCursor(db, authority);
      const batch = coalesceChanges(db, after, { peer: authority, limit: batchEntries, ignore: options.ignore });
      if (batch.entries.length > 0) {
        const sizes = chunksOf(batch.entries);
        const hashes = [...sizes.keys()];
        const present = await endpoint.hasObjects(hashes);
        const wanted = hashes.filter((_, i) => !present[i]).map((hash) => ({ hash, size: sizes.get(hash) ?? 0 }));
        for (const group of groupBySize(wanted, batchBytes)) {
          const objects: SyncObject[] = [...fetchObjects(db, group)];
          await endpoint.pushObjects(objects);
          report.bytesOut += objects.reduce((sum, object) => sum + object.bytes.byteLength, 0);
        }
        const base = readWatermark(db, authority).rev;
        const response = await endpoint.pushChanges({ replica: self, entries: batch.entries, base, cursor: batch.cursor });
        assertAppliedPushCursor(batch.cursor, response.acknowledged);
        report.pushed += response.result.applied;
        report.conflicts.push(...response.result.conflicts);
      }
      db.transaction(() => writePushCursor(db, authority, batch.cursor));
      options.onProgress?.({ phase: 'push', entries: report.pushed, bytes: report.bytesOut });
      if (!batch.more) return;
    }
  };

  const serialise = (steps: Array<(report: SyncReport) => Promise<void>>): Promise<SyncReport> => {
    const run = queue.then(async () => {
      const report = emptyReport();
      for (const step of steps) await step(report);
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
