/**
 * A file's chunk list in parts: a list longer than one message should carry ({@link LIST_PART}
 * items) travels in several, and is applied whole or not at all.
 *
 * - **Push.** The replica stages the list on the authority part by part (`stageList`), then sends
 *   the file's entry naming it (a chunk delta marked `staged`, see `chunk-delta.ts`); the authority
 *   applies the entry with the staged list in the push's one transaction and drops what the replica
 *   staged. The parts are kept in the workspace (`vfs_meta`), so a session cut in the middle resumes
 *   where the authority's copy stops: each call answers how many items it holds. A replica holds
 *   one staged list at a time (staging another drops its earlier ones), a list left staged longer
 *   than {@link STAGED_LIST_LIFETIME} is dropped by the next stage or push of any replica, and
 *   staged bytes count against the stored-bytes quota (ENOSPC past it).
 * - **Pull.** A big file comes as digests (`withoutChunks`); the replica asks for the groups it
 *   lacks in calls of at most {@link LIST_PART} items (`fetchChunkGroups`), then applies the page.
 *
 * @module
 */
import type { Database } from '../core/database.ts';
import { fsError } from '../core/errors.ts';
import { readMeta, writeMeta } from '../core/schema.ts';
import { type EntryChunk, HOLE } from './changes.ts';
import { type ChunkGroupRequest, DELTA_GROUP, listText } from './chunk-delta.ts';

/**
 * Most chunk-list items one message carries for one file: about 1.5 MB of JSON (a list of 380,000
 * items passes a 32 MiB message), and one stored part stays under a Durable Object's 2 MB row.
 */
export const LIST_PART = 16_384;

/** Items `start` onwards of a replica's chunk list whose whole-list digest is `digest`: one `stageList` call. */
export interface ListPart {
  /** The replica staging the list. */
  replica: string;
  /** SHA-256 of the whole list (as `chunkDigests` computes it). */
  digest: string;
  /** How many items the whole list has. */
  count: number;
  /** The index of this part's first item. */
  start: number;
  /** At most {@link LIST_PART} items; none to only ask how many are held. */
  chunks: EntryChunk[];
}

/**
 * How long a staged list is kept after its replica last staged a part of it: a day, by the
 * authority's clock. A replica that stops pushing leaves nothing behind for longer.
 */
export const STAGED_LIST_LIFETIME = 24 * 60 * 60 * 1000;

const prefix = (replica: string): string => `sync_list:${replica}:`;
// When each replica last staged a part (ms, the authority's clock): outside the lists' own keys,
// so finding the expired ones reads no part.
const STAGED_AT = 'sync_list_at:';
const stagedAtKey = (replica: string): string => `${STAGED_AT}${replica}`;
/** The keys from `start` up to the next prefix (`start` ends in ':', the next character is ';'). */
const below = (start: string): [string, string] => [start, `${start.slice(0, -1)};`];
const headKey = (replica: string, digest: string): string => `${prefix(replica)}${digest}`;
// Zero-padded, so the parts of a list read back in order of their keys.
const partKey = (replica: string, digest: string, start: number): string =>
  `${headKey(replica, digest)}:${String(start).padStart(16, '0')}`;

const bad = (detail: string) => fsError('EINVAL', 'sync', undefined, undefined, detail);

/** How many items of the list (`replica`, `digest`) this side holds. */
function held(db: Database, replica: string, digest: string): number {
  return Number(readMeta(db, headKey(replica, digest)) ?? 0);
}

/**
 * Stores `part` when it continues what this side holds of its list (anything else is ignored, as
 * a part sent again after a cut); answers how many items of the list are held now.
 */
export function stageListPart(db: Database, part: ListPart): number {
  const valid =
    typeof part?.replica === 'string' &&
    typeof part.digest === 'string' &&
    /^[0-9a-f]{64}$/.test(part.digest) &&
    Number.isSafeInteger(part.count) &&
    part.count > 0 &&
    Number.isSafeInteger(part.start) &&
    part.start >= 0 &&
    Array.isArray(part.chunks) &&
    part.chunks.length <= LIST_PART &&
    part.start + part.chunks.length <= part.count;
  if (!valid) throw bad(`a list part is {replica, digest, count, start, chunks: at most ${LIST_PART} items}`);
  for (const chunk of part.chunks) {
    const hash = chunk?.hash;
    if (
      typeof hash !== 'string' ||
      !(hash === HOLE || /^[0-9a-f]{64}$/.test(hash)) ||
      !Number.isSafeInteger(chunk.size)
    )
      throw bad('a list part holds {hash, size} items');
  }
  return db.transaction(() => {
    dropExpiredLists(db);
    // One list a replica: asking about another gives up the earlier ones.
    const head = headKey(part.replica, part.digest);
    db.run('DELETE FROM vfs_meta WHERE k > ? AND k < ? AND NOT (k >= ? AND k < ?)', [
      ...below(prefix(part.replica)),
      head,
      `${head};`,
    ]);
    const have = held(db, part.replica, part.digest);
    if (part.chunks.length === 0 || part.start !== have) return have;
    const text = listText(part.chunks);
    checkStagedBytes(db, text.length);
    writeMeta(db, partKey(part.replica, part.digest, part.start), text);
    writeMeta(db, head, have + part.chunks.length);
    writeMeta(db, stagedAtKey(part.replica), db.now());
    return have + part.chunks.length;
  });
}

/** Bytes of chunk lists staged on this side, every replica's: what the stored-bytes quota counts besides blobs. */
function stagedListBytes(db: Database): number {
  return Number(
    db.all<{ bytes: number }>('SELECT COALESCE(SUM(length(v)), 0) AS bytes FROM vfs_meta WHERE k > ? AND k < ?', [
      ...below('sync_list:'),
    ])[0].bytes,
  );
}

/** ENOSPC when staging `bytes` more would take stored bytes and staged lists past the stored-bytes quota. */
function checkStagedBytes(db: Database, bytes: number): void {
  const max = db.quotas.maxStoredBytes;
  if (max === undefined) return;
  const stored = Number(readMeta(db, 'stored_bytes') ?? 0);
  if (stored + stagedListBytes(db) + bytes > max)
    throw fsError(
      'ENOSPC',
      'sync',
      undefined,
      undefined,
      `the workspace may store at most ${max} bytes, staged chunk lists included`,
    );
}

/** Drops the lists of every replica that staged nothing for {@link STAGED_LIST_LIFETIME}. */
export function dropExpiredLists(db: Database): void {
  const expired = db.all<{ k: string }>('SELECT k FROM vfs_meta WHERE k > ? AND k < ? AND v < ?', [
    ...below(STAGED_AT),
    db.now() - STAGED_LIST_LIFETIME,
  ]);
  for (const { k } of expired) dropStagedLists(db, k.slice(STAGED_AT.length));
}

/** The whole list (`replica`, `digest`) of `count` items as staged, or null while this side holds less. */
export function stagedList(db: Database, replica: string, digest: string, count: number): EntryChunk[] | null {
  if (held(db, replica, digest) !== count) return null;
  const head = headKey(replica, digest);
  const chunks: EntryChunk[] = [];
  for (const row of db.all<{ v: string }>('SELECT v FROM vfs_meta WHERE k > ? AND k < ? ORDER BY k', [
    `${head}:`,
    `${head};`,
  ])) {
    for (const line of row.v.split('\n')) {
      if (line === '') continue;
      const colon = line.lastIndexOf(':');
      chunks.push({ hash: line.slice(0, colon), size: Number(line.slice(colon + 1)) });
    }
  }
  return chunks.length === count ? chunks : null;
}

/** Forgets every list `replica` staged (its push that named them was applied, or superseded them). */
export function dropStagedLists(db: Database, replica: string): void {
  db.run('DELETE FROM vfs_meta WHERE k > ? AND k < ?', below(prefix(replica)));
  db.run('DELETE FROM vfs_meta WHERE k = ?', [stagedAtKey(replica)]);
}

/** Part of a request for chunk groups, with the index of the request it was cut from. */
export interface GroupRequestPiece {
  /** The index of its request. */
  request: number;
  /** The request, with some of its groups. */
  piece: ChunkGroupRequest;
}

/**
 * `requests` cut into `fetchChunkGroups` calls of at most `part` chunk-list items (a group at
 * least) and `maxRequests` requests: a request for more groups than a call carries is split over several.
 */
export function splitGroupRequests(
  requests: readonly ChunkGroupRequest[],
  part: number,
  maxRequests: number,
): GroupRequestPiece[][] {
  const perCall = Math.max(1, Math.floor(part / DELTA_GROUP));
  const calls: GroupRequestPiece[][] = [];
  let call: GroupRequestPiece[] = [];
  let groups = 0;
  requests.forEach((request, index) => {
    // A request for no group still goes: its answer says whether the list is still the one named.
    let start = 0;
    do {
      if (call.length > 0 && (groups >= perCall || call.length >= maxRequests)) {
        calls.push(call);
        call = [];
        groups = 0;
      }
      const take = Math.min(request.groups.length - start, perCall - groups);
      call.push({ request: index, piece: { ...request, groups: request.groups.slice(start, start + take) } });
      groups += take;
      start += take;
    } while (start < request.groups.length);
  });
  if (call.length > 0) calls.push(call);
  return calls;
}
