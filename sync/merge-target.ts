/**
 * The side a fork copies into and a merge writes: the same decisions (fork.ts) reach a workspace
 * at hand ({@link localTarget}) or one across a wire ({@link remoteTarget}: the sync endpoint's
 * staging calls, which hold what arrives in pages until one call commits it in one transaction).
 *
 * @module
 */
import type { ChangeEntry } from './changes.ts';
import type { SyncEndpoint } from './endpoint.ts';
import {
  checkForkTarget,
  commitMerge,
  installFork,
  type MergePlan,
  type MergeResult,
  mergeCandidates,
} from './fork.ts';
import { type ForkRow, MAX_PAGE_ROWS, markLocal, snapshotNames, type WorkspaceAccess } from './merge-source.ts';
import { missingObjects, pushObjects, type SyncObject } from './objects.ts';

/** What fork and merge ask of the side they write. Every call may be remote. */
export interface MergeTarget {
  /** Refuses (ENOTEMPTY, EINVAL) a fork into a workspace that holds anything or has another chunk size. */
  checkEmpty(chunkSize: number): Promise<void>;
  /** The names of its snapshots, oldest first. */
  snapshotNames(): Promise<string[]>;
  /** The hashes of `hashes` the target lacks, each once. */
  missingObjects(hashes: string[]): Promise<string[]>;
  /** Verifies and stores objects in one transaction (one bad object refuses them all); resolves to how many were stored. */
  pushObjects(objects: SyncObject[]): Promise<number>;
  /** Installs a fork's rows (`pages[table]`) and takes snapshot `base`, in one transaction. */
  installFork(base: string, rev: number, chunkSize: number, pages: ForkRow[][][]): Promise<number>;
  /** The paths changed here since any of snapshots `since` at or below a path of `incoming`. */
  candidates(since: string[], incoming: readonly ChangeEntry[]): Promise<string[]>;
  /** Applies a merge in one transaction. */
  commitMerge(plan: MergePlan): Promise<MergeResult>;
}

/** The {@link MergeTarget} of a workspace reached through `access`. */
export function localTarget(access: WorkspaceAccess): MergeTarget {
  return markLocal(access, {
    checkEmpty: (chunkSize) => access((db) => checkForkTarget(db, chunkSize)),
    snapshotNames: () => access(snapshotNames),
    missingObjects: (hashes) => access((db) => missingObjects(db, hashes)),
    pushObjects: (objects) => access((db) => pushObjects(db, objects)),
    installFork: (base, rev, chunkSize, pages) => access((db) => installFork(db, chunkSize, base, rev, pages)),
    candidates: (since, incoming) =>
      access((db) =>
        mergeCandidates(
          db,
          since,
          incoming.map((entry) => entry.path),
        ),
      ),
    commitMerge: (plan) => access((db) => commitMerge(db, plan)),
  });
}

/** Items per staging call: within the endpoint's per-call bounds. */
const STAGE_ENTRIES = 256;

/**
 * The {@link MergeTarget} of the workspace behind a sync endpoint (a Durable Object across a
 * WebSocket, for one): what arrives is staged on the session in pages and committed by one call,
 * so the workspace changes in one transaction as a local one does.
 *
 * ```ts
 * const remote = await connectSyncWebSocket('https://example.com/ws/demo/sync', token);
 * await merge(remoteTarget(remote), local(ws.db));   // this workspace's changes into the Durable Object
 * ```
 */
export function remoteTarget(endpoint: SyncEndpoint): MergeTarget {
  const stageEntries = async (entries: readonly ChangeEntry[]) => {
    await endpoint.stageReset();
    for (let start = 0; start < entries.length; start += STAGE_ENTRIES)
      await endpoint.stageEntries(entries.slice(start, start + STAGE_ENTRIES));
  };
  return {
    checkEmpty: (chunkSize) => endpoint.checkForkTarget(chunkSize),
    snapshotNames: () => endpoint.snapshotNames(),
    missingObjects: async (hashes) => {
      const has = await endpoint.hasObjects(hashes);
      return hashes.filter((_, index) => !has[index]);
    },
    pushObjects: (objects) => endpoint.pushObjects(objects),
    installFork: async (base, rev, chunkSize, pages) => {
      await endpoint.stageReset();
      for (let table = 0; table < pages.length; table++)
        for (const rows of pages[table])
          for (let start = 0; start < rows.length; start += MAX_PAGE_ROWS)
            await endpoint.stageRows(table, rows.slice(start, start + MAX_PAGE_ROWS));
      return endpoint.commitFork(base, rev, chunkSize);
    },
    candidates: async (since, incoming) => {
      await stageEntries(incoming);
      const paths: string[] = [];
      for (let offset: number | null = 0; offset !== null; ) {
        const page: { paths: string[]; next: number | null } = await endpoint.mergeCandidates(since, offset);
        paths.push(...page.paths);
        offset = page.next;
      }
      return paths;
    },
    commitMerge: async ({ base, prev, mark, here, incoming, theirBase }) => {
      await stageEntries(incoming);
      for (let start = 0; start < theirBase.length; start += STAGE_ENTRIES)
        await endpoint.stageBase(theirBase.slice(start, start + STAGE_ENTRIES));
      return endpoint.commitMerge(base, prev, mark, here);
    },
  };
}
