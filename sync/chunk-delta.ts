/**
 * Chunk-list deltas: a file entry that names only the part of its chunk list the receiver lacks.
 *
 * A chunk list is cut into groups of {@link DELTA_GROUP} items. The sender first learns the
 * receiver's digests for the file (`chunkDigests`: one digest of the whole list, and a short one
 * per group), then sends only the groups that differ, with the digest of the list it had (`base`)
 * and of the list the result must be. The receiver rebuilds the list from its own and the sent
 * groups and checks both digests, so a delta built against a list that changed meanwhile, or
 * rebuilt wrongly, is detected (the sender then sends the whole list) and never applied.
 *
 * @module
 */
import { hashBytes } from '../core/blobs.ts';
import type { Database } from '../core/database.ts';
import { fsError } from '../core/errors.ts';
import { type ChangeEntry, type EntryChunk, type FileEntry, materialiseChange } from './changes.ts';

/** Chunk-list items per group: a one-chunk edit sends one group, 32 items. */
export const DELTA_GROUP = 32;
/** Files with fewer items than this travel whole: a delta would save nothing worth a call. */
export const DELTA_MIN_CHUNKS = 4 * DELTA_GROUP;

/** What one side holds for a file, so a peer can send it a delta. */
export interface ChunkDigests {
  /** SHA-256 of the whole chunk list. */
  digest: string;
  /** The first 32 hex digits of the SHA-256 of each group of {@link DELTA_GROUP} items. */
  groups: string[];
}

/** The part of a chunk list a receiver lacks, carried by a file entry instead of its chunks. */
export interface ChunkDelta {
  /** The digest of the receiver's list this delta was made against. */
  base: string;
  /** The digest of the list it makes. */
  digest: string;
  /** How many items that list has. */
  count: number;
  /** The groups that differ from the base, each with its index and items. */
  groups: ChunkGroup[];
  /**
   * Pulled entries only: the short digest of every group of the list, and no `base` (empty) nor
   * `groups` yet. The replica asks for the groups it lacks (`fetchChunkGroups`), then applies.
   */
  digests?: string[];
  /**
   * Pushed entries only: the whole list was sent ahead in parts (`stageList`, see `list-parts.ts`)
   * under `digest`, because it is longer than one message carries; `base` is empty and `groups` none.
   */
  staged?: boolean;
}

/** One group of a chunk list: its index and items. */
export interface ChunkGroup {
  /** The group's index: it holds items `index * DELTA_GROUP` onwards. */
  index: number;
  /** Its items ({@link DELTA_GROUP}, or fewer in the last group). */
  chunks: EntryChunk[];
}

/** A replica's request for groups of the list the authority has at `path`, whose digest it was told. */
export interface ChunkGroupRequest {
  /** The file whose chunk list is wanted. */
  path: string;
  /** The digest of the whole list as the pulled entry gave it. */
  digest: string;
  /** The indexes of the groups wanted. */
  groups: number[];
}

/** A chunk list as text, `hash:size` and a newline per item: what its digests hash, and how a staged part is kept. */
export const listText = (chunks: readonly EntryChunk[]): string =>
  chunks.map((chunk) => `${chunk.hash}:${chunk.size}\n`).join('');

const encoder = new TextEncoder();
const encode = (chunks: readonly EntryChunk[]): Uint8Array => encoder.encode(listText(chunks));

/** The digests of a chunk list: whole, and per group. */
export function chunkDigests(chunks: readonly EntryChunk[]): ChunkDigests {
  const groups: string[] = [];
  for (let start = 0; start < chunks.length; start += DELTA_GROUP)
    groups.push(hashBytes(encode(chunks.slice(start, start + DELTA_GROUP))).slice(0, 32));
  return { digest: hashBytes(encode(chunks)), groups };
}

/** The digests of the file at each path on this side, or null where there is no regular file. */
export function fileDigests(db: Database, paths: readonly string[]): Array<ChunkDigests | null> {
  return paths.map((path) => {
    if (typeof path !== 'string') throw fsError('EINVAL', 'sync', undefined, undefined, 'paths must be strings');
    const entry = materialiseChange(db, path);
    return entry.type === 'file' ? chunkDigests(entry.chunks) : null;
  });
}

/**
 * `entry` as a delta against `theirs` (the receiver's digests for its path), or `entry` itself
 * when the receiver has no such file or most groups differ anyway.
 */
export function toDelta(entry: FileEntry, theirs: ChunkDigests | null): FileEntry {
  if (!theirs) return entry;
  const mine = chunkDigests(entry.chunks);
  const groups: ChunkDelta['groups'] = [];
  mine.groups.forEach((group, index) => {
    if (theirs.groups[index] !== group)
      groups.push({ index, chunks: entry.chunks.slice(index * DELTA_GROUP, (index + 1) * DELTA_GROUP) });
  });
  if (groups.length * 2 > mine.groups.length) return entry;
  const delta: ChunkDelta = { base: theirs.digest, digest: mine.digest, count: entry.chunks.length, groups };
  return { ...entry, chunks: [], delta };
}

/** A pulled big file without its chunk list: the whole list's digest and each group's (see {@link ChunkDelta}). */
export function withoutChunks(entry: ChangeEntry): ChangeEntry {
  if (entry.type !== 'file' || entry.chunks.length < DELTA_MIN_CHUNKS) return entry;
  const { digest, groups } = chunkDigests(entry.chunks);
  return { ...entry, chunks: [], delta: { base: '', digest, count: entry.chunks.length, groups: [], digests: groups } };
}

/**
 * The groups asked for, from the lists this side has now; null for a request whose list is no
 * longer the one whose digest the replica was given (it then pulls the page again, whole).
 */
export function chunkGroups(db: Database, requests: readonly ChunkGroupRequest[]): Array<ChunkGroup[] | null> {
  return requests.map((request) => {
    const indexes = request?.groups;
    if (typeof request?.path !== 'string' || !Array.isArray(indexes) || !indexes.every(Number.isSafeInteger))
      throw bad('a chunk group request is {path, digest, groups: [index…]}');
    const entry = materialiseChange(db, request.path);
    if (entry.type !== 'file' || chunkDigests(entry.chunks).digest !== request.digest) return null;
    return indexes.map((index) => ({
      index,
      chunks: entry.chunks.slice(index * DELTA_GROUP, (index + 1) * DELTA_GROUP),
    }));
  });
}

/**
 * What a replica must ask for to complete the pulled entries `withoutChunks` left without a list:
 * for each, the groups whose digest differs from the replica's own list at that path.
 */
export function groupsWanted(db: Database, entries: readonly ChangeEntry[]): ChunkGroupRequest[] {
  return entries.flatMap((entry) => {
    if (entry.type !== 'file' || !entry.delta?.digests) return [];
    const local = materialiseChange(db, entry.path);
    const mine = local.type === 'file' ? chunkDigests(local.chunks).groups : [];
    const groups = entry.delta.digests.flatMap((digest, index) => (mine[index] === digest ? [] : [index]));
    return [{ path: entry.path, digest: entry.delta.digest, groups }];
  });
}

/**
 * The pulled entries completed with the groups fetched for them (`fetched[i]` answers the i-th
 * request of {@link groupsWanted}), as deltas against this side's current lists; null when any
 * list changed meanwhile on either side (pull the page again, whole).
 */
export function completePulled(
  db: Database,
  entries: readonly ChangeEntry[],
  fetched: ReadonlyArray<ChunkGroup[] | null>,
): ChangeEntry[] | null {
  let next = 0;
  const deltas = entries.map((entry) => {
    if (entry.type !== 'file' || !entry.delta?.digests) return entry;
    const groups = fetched[next++];
    if (!groups) return null;
    const local = materialiseChange(db, entry.path);
    const base = local.type === 'file' ? chunkDigests(local.chunks).digest : '';
    return { ...entry, delta: { base, digest: entry.delta.digest, count: entry.delta.count, groups } };
  });
  if (deltas.includes(null)) return null;
  const { entries: whole, stale } = expandDeltas(db, deltas as ChangeEntry[]);
  return stale.length > 0 ? null : whole;
}

const bad = (detail: string) => fsError('EINVAL', 'sync', undefined, undefined, detail);

/** The chunk list `delta` makes from `base`, or null when `base` is not the list it was made against. */
function rebuild(
  path: string,
  delta: ChunkDelta,
  base: readonly EntryChunk[] | null | undefined,
  staged: StagedLists | undefined,
): EntryChunk[] | null {
  const wellFormed =
    delta &&
    typeof delta.base === 'string' &&
    typeof delta.digest === 'string' &&
    Number.isSafeInteger(delta.count) &&
    delta.count >= 0 &&
    Array.isArray(delta.groups);
  if (!wellFormed) throw bad(`entry ${path} has a malformed chunk delta`);
  if (delta.staged === true) {
    // Only a push names a staged list, and only as the whole list.
    if (!staged || delta.groups.length > 0) throw bad(`entry ${path} names a staged chunk list where none can be`);
    const chunks = staged(delta.digest, delta.count);
    return chunks && chunkDigests(chunks).digest === delta.digest ? chunks : null;
  }
  const total = Math.ceil(delta.count / DELTA_GROUP);
  const sent = new Map<number, EntryChunk[]>();
  for (const group of delta.groups) {
    const expected = Math.min(DELTA_GROUP, delta.count - Number(group?.index) * DELTA_GROUP);
    if (!Number.isSafeInteger(group?.index) || group.index < 0 || group.index >= total || sent.has(group.index))
      throw bad(`entry ${path} has a chunk delta group out of range`);
    if (!Array.isArray(group.chunks) || group.chunks.length !== expected)
      throw bad(`entry ${path} has a chunk delta group of the wrong length`);
    sent.set(group.index, group.chunks);
  }
  // No file here: only a delta whose every group was sent fits (a pulled file new to this side).
  if (base ? chunkDigests(base).digest !== delta.base : delta.base !== '' || sent.size !== total) return null;
  base ??= [];
  const chunks: EntryChunk[] = [];
  for (let index = 0; index < total; index++) {
    const items = sent.get(index) ?? base.slice(index * DELTA_GROUP, (index + 1) * DELTA_GROUP);
    chunks.push(...items.map(({ hash, size }) => ({ hash, size })));
  }
  return chunks.length === delta.count && chunkDigests(chunks).digest === delta.digest ? chunks : null;
}

/** The whole list of `count` items staged under `digest` by the pushing replica, or null when it is not all there. */
export type StagedLists = (digest: string, count: number) => EntryChunk[] | null;

/**
 * Turns every delta entry of an incoming batch back into a whole entry against this side's
 * current lists (and, for a push, the lists its replica staged: `staged`). `stale` names the
 * entries whose base this side no longer has, whose staged list is not all there, or whose result
 * does not match its digest: the batch must then not be applied, and the sender sends whole lists
 * (or stages them again).
 */
export function expandDeltas(
  db: Database,
  entries: readonly ChangeEntry[],
  staged?: StagedLists,
): {
  /** The batch with every delta entry made whole. */
  entries: ChangeEntry[];
  /** Paths whose delta did not fit this side's list: the batch must not be applied. */
  stale: string[];
} {
  const stale: string[] = [];
  const expanded = entries.map((entry) => {
    if (entry?.type !== 'file' || entry.delta === undefined) return entry;
    const local = materialiseChange(db, entry.path);
    const chunks = rebuild(entry.path, entry.delta, local.type === 'file' ? local.chunks : null, staged);
    if (!chunks) stale.push(entry.path);
    const { delta: _, ...whole } = entry;
    return { ...whole, chunks: chunks ?? [] };
  });
  return { entries: expanded, stale };
}
