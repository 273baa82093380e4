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
  groups: Array<{ index: number; chunks: EntryChunk[] }>;
}

const encoder = new TextEncoder();
const encode = (chunks: readonly EntryChunk[]): Uint8Array =>
  encoder.encode(chunks.map((chunk) => `${chunk.hash}:${chunk.size}\n`).join(''));

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

const bad = (detail: string) => fsError('EINVAL', 'sync', undefined, undefined, detail);

/** The chunk list `delta` makes from `base`, or null when `base` is not the list it was made against. */
function rebuild(path: string, delta: ChunkDelta, base: readonly EntryChunk[] | null): EntryChunk[] | null {
  const wellFormed =
    delta &&
    typeof delta.base === 'string' &&
    typeof delta.digest === 'string' &&
    Number.isSafeInteger(delta.count) &&
    delta.count >= 0 &&
    Array.isArray(delta.groups);
  if (!wellFormed) throw bad(`entry ${path} has a malformed chunk delta`);
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
  if (!base || chunkDigests(base).digest !== delta.base) return null;
  const chunks: EntryChunk[] = [];
  for (let index = 0; index < total; index++) {
    const items = sent.get(index) ?? base.slice(index * DELTA_GROUP, (index + 1) * DELTA_GROUP);
    chunks.push(...items.map(({ hash, size }) => ({ hash, size })));
  }
  return chunks.length === delta.count && chunkDigests(chunks).digest === delta.digest ? chunks : null;
}

/**
 * Turns every delta entry of an incoming batch back into a whole entry against this side's
 * current lists. `stale` names the entries whose base this side no longer has (or whose result
 * does not match its digest): the batch must then not be applied, and the sender sends whole lists.
 */
export function expandDeltas(
  db: Database,
  entries: readonly ChangeEntry[],
): { entries: ChangeEntry[]; stale: string[] } {
  const stale: string[] = [];
  const expanded = entries.map((entry) => {
    if (entry?.type !== 'file' || entry.delta === undefined) return entry;
    const local = materialiseChange(db, entry.path);
    const chunks = rebuild(entry.path, entry.delta, local.type === 'file' ? local.chunks : null);
    if (!chunks) stale.push(entry.path);
    const { delta: _, ...whole } = entry;
    return { ...whole, chunks: chunks ?? [] };
  });
  return { entries: expanded, stale };
}
