/**
 * A buffered write session on one file, for a FUSE driver: writes and truncates change memory
 * only, reads see them at once, and {@link WriteBuffer.commit} applies them in one transaction that
 * hashes only the chunks that changed, each once. A write covering part of a chunk not held is
 * kept as a patch (its bytes only), not as the whole chunk: the chunk is loaded, patched and
 * hashed once, when it is read, committed or staged, however many writes landed in it. The buffer
 * never holds more than `maxDirtyChunks` chunks' worth of bytes: older full chunks are stored as
 * blobs early (staged) and only linked at commit.
 *
 * @module
 */
import {
  type ChunkRef,
  checkFileSize,
  commitBuffered,
  type Database,
  readBlob,
  readChunk,
  releaseStaged,
  stageChunks,
  statInode,
} from '../../core/index.ts';

/**
 * How many chunks a buffer bounded at `maxDirtyChunks` stages per transaction: three quarters of
 * its bound (see `#makeRoom`). bench/growth.ts gives its raw SQLite floor the same batch.
 */
export const stagingBatch = (maxDirtyChunks: number): number => Math.max(1, Math.floor((maxDirtyChunks * 3) / 4));

/** What a write buffer starts from: the file's committed size, modification time and revision. */
export interface BufferBase {
  /** The file's size in bytes. */
  size: number;
  /** Its modification time in milliseconds. */
  mtimeMs: number;
  /** The node's revision. */
  rev: number;
}

/** A file's content as committed, plus what this session changed on top. */
export class WriteBuffer {
  /** The inode being written. */
  readonly inode: number;
  /** Opens not yet released; the last release commits. */
  refs = 1;
  /** The most bytes of chunk data held at once, for callers checking the memory bound. */
  peakHeldBytes = 0;
  readonly #db: Database;
  readonly #chunkSize: number;
  readonly #maxDirty: number;
  #size: number;
  // Committed bytes at or after this offset are stale: the session cut the file below it.
  #validBase: number;
  // Chunk index → bytes, in least-recently-touched order. Bytes past the file's end are zero.
  readonly #dirty = new Map<number, Uint8Array>();
  // Chunk index → writes not applied yet (offset in the chunk, bytes), oldest first, for chunks
  // not in #dirty: their base is what #content would read without them. Least recently touched first.
  readonly #patches = new Map<number, { at: number; bytes: Uint8Array }[]>();
  #patchBytes = 0;
  // The bytes of the arrays in #dirty, kept as they change (summing them per write cost as much as the write).
  #dirtyBytes = 0;
  // Whole-chunk arrays of chunks staged since, for the next chunks written whole: never more than
  // the bound, counting the held ones.
  readonly #spare: Uint8Array[] = [];
  readonly #staged = new Map<number, ChunkRef>();
  #mtimeMs: number | undefined;
  // #mtimeMs was given by setMtime (the commit records it) rather than stamped by a change.
  #mtimeGiven = false;
  // What the session did, so it can be replayed onto another writer's changes at commit: the node
  // revision it started from, the bytes it wrote (per held chunk), its lowest truncate, its furthest write.
  #baseRev: number;
  // The file's mtime as of #baseRev (what the last commit recorded, or what the buffer started from).
  #baseMtimeMs: number;
  readonly #written = new Map<number, [number, number][]>();
  #cutAt = Number.POSITIVE_INFINITY;
  #writeEnd = 0;
  // The staged blobs this session holds against gc in this process (one entry per hold).
  #holds = new Map<string, number>();

  /**
   * `known` is the file's size, mtime and revision as the caller just read or wrote them in this
   * transaction (a FUSE create's new row), so the buffer need not read them again.
   */
  constructor(db: Database, inode: number, maxDirtyChunks: number, known?: BufferBase) {
    this.#db = db;
    this.inode = inode;
    this.#chunkSize = db.chunkSize;
    this.#maxDirty = Math.max(1, maxDirtyChunks);
    const stat = known ?? statInode(db, inode);
    this.#size = this.#validBase = stat.size;
    this.#baseRev = stat.rev;
    this.#baseMtimeMs = stat.mtimeMs;
  }

  /** Records that the session wrote `[from, to)` of chunk `idx` (chunk-relative), merging ranges. */
  #wrote(idx: number, from: number, to: number): void {
    const ranges = this.#written.get(idx) ?? [];
    const kept: [number, number][] = [];
    for (const range of ranges) {
      if (range[1] < from || range[0] > to) kept.push(range);
      else {
        from = Math.min(from, range[0]);
        to = Math.max(to, range[1]);
      }
    }
    kept.push([from, to]);
    kept.sort((a, b) => a[0] - b[0]);
    this.#written.set(idx, kept);
  }

  /** The file's length as this session sees it. */
  get size(): number {
    return this.#size;
  }
  /** When the session last changed the file (undefined before any change). */
  get mtimeMs(): number | undefined {
    return this.#mtimeMs;
  }
  /**
   * The file's size and modification time as this buffer last committed (or found) them, while
   * nothing is pending; undefined while something is. What the FUSE mount remembers at a close
   * without reading the row again.
   */
  get committed(): Pick<BufferBase, 'size' | 'mtimeMs'> | undefined {
    return this.#mtimeMs === undefined ? { size: this.#size, mtimeMs: this.#baseMtimeMs } : undefined;
  }
  /** True when the session changed something {@link commit} has not applied yet. */
  get pending(): boolean {
    return this.#mtimeMs !== undefined;
  }
  /** Bytes of chunk data held in memory now. */
  get heldBytes(): number {
    return this.#dirtyBytes + this.#patchBytes;
  }
  /** The most bytes the buffer may hold: `maxDirtyChunks` whole chunks. */
  get maxHeldBytes(): number {
    return this.#maxDirty * this.#chunkSize;
  }

  /**
   * True when writing or reading `length` bytes could make the buffer stage chunks (store them as
   * blobs, each staging a transaction of its own): it would hold more than {@link maxHeldBytes}.
   * Conservative: every chunk the range may touch counts whole, plus the tail chunk a growth holds.
   */
  mayStage(length: number): boolean {
    const chunks = this.#dirty.size + Math.ceil(length / this.#chunkSize) + 3;
    return chunks * this.#chunkSize + this.#patchBytes + length > this.maxHeldBytes;
  }

  #length(idx: number): number {
    return Math.max(0, Math.min(this.#chunkSize, this.#size - idx * this.#chunkSize));
  }

  /**
   * The current bytes of chunk `idx` (exactly its length). Held and staged chunks are shared, not
   * copies; a committed chunk (or a hole) comes as a fresh array, which {@link #hold} keeps as it is.
   */
  #content(idx: number): Uint8Array {
    const length = this.#length(idx);
    const dirty = this.#dirty.get(idx);
    if (dirty) return dirty.byteLength >= length ? dirty.subarray(0, length) : padded(dirty, length);
    const patches = this.#patches.get(idx);
    if (patches) {
      const out = this.#staged.has(idx) ? this.#base(idx, length).slice() : this.#base(idx, length);
      for (const { at, bytes } of patches) if (at < length) out.set(bytes.subarray(0, length - at), at);
      return out;
    }
    return this.#base(idx, length);
  }

  /** A builder of patched chunk `idx` in `scratch`, for the commit (the base read when it is called). */
  #patchedInto(idx: number, scratch: Uint8Array): () => Uint8Array {
    const patches = this.#patches.get(idx) ?? [];
    const staged = this.#staged.get(idx);
    return () => {
      const length = this.#length(idx);
      const out = scratch.subarray(0, length);
      const valid = staged ? length : Math.min(length, this.#validBase - idx * this.#chunkSize);
      const base =
        valid <= 0 ? undefined : staged ? readBlob(this.#db, staged.hash) : readChunk(this.#db, this.inode, idx);
      const copied = base ? Math.min(valid, base.byteLength) : 0;
      if (base) out.set(base.subarray(0, copied));
      out.fill(0, copied);
      for (const { at, bytes } of patches) if (at < length) out.set(bytes.subarray(0, length - at), at);
      return out;
    };
  }

  /** Chunk `idx` without this session's held bytes: staged (shared), or committed or zeros (fresh). */
  #base(idx: number, length: number): Uint8Array {
    const staged = this.#staged.get(idx);
    if (staged) return readBlob(this.#db, staged.hash).subarray(0, length);
    const out = new Uint8Array(length);
    const valid = Math.min(length, this.#validBase - idx * this.#chunkSize);
    if (valid > 0) out.set((readChunk(this.#db, this.inode, idx) ?? new Uint8Array(0)).subarray(0, valid));
    return out;
  }

  /** Chunk `idx` as a held, writable array of at least `need` bytes (loading its content unless `fresh`). */
  #hold(idx: number, need: number, fresh = false): Uint8Array {
    let bytes = this.#release(idx);
    if (!bytes) {
      this.#makeRoom();
      // Only a staged chunk's bytes are shared (with the blob cache): the rest are already a copy.
      const shared = this.#staged.has(idx) && !this.#patches.has(idx);
      // A chunk written whole reuses the memory of one staged earlier: fresh memory costs a page
      // fault per 4 KiB, about what hashing the chunk costs.
      const spare = fresh && need === this.#chunkSize ? this.#spare.pop() : undefined;
      bytes = spare ?? (fresh ? new Uint8Array(0) : shared ? this.#content(idx).slice() : this.#content(idx));
      this.#dropPatches(idx);
      this.#dropStaged(idx);
    }
    if (bytes.byteLength < need) {
      // Small files stay small: grow by doubling, up to one chunk.
      bytes = padded(bytes, Math.min(this.#chunkSize, Math.max(need, bytes.byteLength * 2, 4096)));
    }
    this.#keep(idx, bytes);
    return bytes;
  }

  /** Holds `bytes`, the whole new content of chunk `idx` handed over by the writer, as they are. */
  #adopt(idx: number, bytes: Uint8Array): void {
    if (!this.#release(idx)) {
      this.#makeRoom();
      this.#dropPatches(idx);
      this.#dropStaged(idx);
    }
    this.#keep(idx, bytes);
  }

  /** Takes chunk `idx`'s held bytes out of the held set (to be kept again, most recently touched last). */
  #release(idx: number): Uint8Array | undefined {
    const bytes = this.#dirty.get(idx);
    if (bytes) {
      this.#dirty.delete(idx);
      this.#dirtyBytes -= bytes.byteLength;
    }
    return bytes;
  }

  /** Holds `bytes` as chunk `idx`'s, the most recently touched. */
  #keep(idx: number, bytes: Uint8Array): void {
    this.#dirty.set(idx, bytes);
    this.#dirtyBytes += bytes.byteLength;
    this.peakHeldBytes = Math.max(this.peakHeldBytes, this.heldBytes);
  }

  /**
   * Makes room for one more chunk: when the bound is reached, stages the least recently touched
   * full chunks, three quarters of the bound at a time, in one transaction; the most recently
   * touched quarter stays held. Few, large transactions: in an in-memory SQLite database a commit
   * after a B-tree split can cost a scan of the whole page cache (pcache1's truncate, once a
   * balance has parked a page at the lock-byte page number), so a long sequential write costs per
   * MiB what its commits cost, and those grow with the database (docs/performance.md, Growth).
   */
  #makeRoom(extra = this.#chunkSize): void {
    if (this.#dirty.size * this.#chunkSize + this.#patchBytes + extra <= this.maxHeldBytes) return;
    const batch = stagingBatch(this.#maxDirty);
    const victims: { idx: number; bytes: Uint8Array }[] = [];
    for (const idx of [...this.#dirty.keys(), ...this.#patches.keys()]) {
      if (victims.length === batch) break;
      if (this.#length(idx) === this.#chunkSize) victims.push({ idx, bytes: this.#content(idx) });
    }
    if (victims.length === 0) return; // only the partial last chunk is held
    for (const chunk of stageChunks(this.#db, victims)) {
      // stageChunks copied the bytes into storage (nothing else keeps a held array): reusable.
      const held = this.#dirty.get(chunk.idx);
      if (held?.byteLength === this.#chunkSize) this.#spare.push(held);
      this.#dropPatches(chunk.idx);
      this.#dropStaged(chunk.idx);
      this.#holds.set(chunk.hash, (this.#holds.get(chunk.hash) ?? 0) + 1);
      this.#staged.set(chunk.idx, chunk);
      if (held) this.#dirtyBytes -= held.byteLength;
      this.#dirty.delete(chunk.idx);
    }
  }

  /**
   * Keeps a write into part of chunk `idx`, which is not held, as a patch; once its patches would
   * hold half a chunk (or 16 writes), the chunk is loaded and held whole instead.
   */
  #patch(idx: number, at: number, data: Uint8Array): void {
    const held = this.#patches.get(idx) ?? [];
    if (held.length >= 16 || sumBytes(held) + data.byteLength > this.#chunkSize / 2) {
      this.#hold(idx, at + data.byteLength).set(data, at);
      return;
    }
    this.#makeRoom(data.byteLength); // may stage this very chunk, patches applied
    const patches = this.#patches.get(idx) ?? [];
    this.#patches.delete(idx); // re-inserted: most recently touched last
    patches.push({ at, bytes: data.slice() });
    this.#patches.set(idx, patches);
    this.#patchBytes += data.byteLength;
    this.peakHeldBytes = Math.max(this.peakHeldBytes, this.heldBytes);
  }

  /** Forgets the patches of chunk `idx` (applied to its held bytes, staged, or cut off). */
  #dropPatches(idx: number): void {
    const patches = this.#patches.get(idx);
    if (!patches) return;
    this.#patches.delete(idx);
    this.#patchBytes -= sumBytes(patches);
  }

  #touch(): void {
    this.#mtimeMs = this.#db.now();
    this.#mtimeGiven = false;
  }

  /**
   * Sets the modification time the commit records (and stats show until then), as a FUSE
   * writeback cache's setattr does at close: the kernel keeps mtime itself and sends it. A later
   * write or truncate stamps its own time again. Nothing is committed here.
   */
  setMtime(ms: number): void {
    this.#mtimeMs = ms;
    this.#mtimeGiven = true;
  }

  /** Grows the file to `size`: the old partial last chunk gains zeros, so it is held first. */
  #grow(size: number): void {
    const tail = this.#size % this.#chunkSize;
    if (tail !== 0) this.#hold(Math.floor(this.#size / this.#chunkSize), tail);
    this.#size = size;
  }

  /**
   * Writes `data` at `offset` in memory; returns the offset just past it. With `handOver`, the
   * caller gives `data` up (it never reads or changes it again): whole chunks are held as pieces
   * of it instead of copies (the FUSE mount's request bytes, 16 chunks a 1 MiB request).
   */
  write(offset: number, data: Uint8Array, handOver = false): number {
    const end = offset + data.byteLength;
    if (data.byteLength === 0) return end;
    if (end > this.#size) checkFileSize(this.#db, end);
    if (end > this.#size) this.#grow(end);
    const size = this.#chunkSize;
    for (let idx = Math.floor(offset / size); idx * size < end; idx++) {
      const start = idx * size;
      const from = Math.max(offset, start);
      const to = Math.min(end, start + size);
      // A chunk the write covers whole needs none of its old bytes; part of one not held is a patch.
      const whole = from === start && to - start === this.#length(idx);
      const piece = data.subarray(from - offset, to - offset);
      if (whole && handOver && piece.byteLength === size) this.#adopt(idx, piece);
      else if (!whole && !this.#dirty.has(idx)) this.#patch(idx, from - start, piece);
      else this.#hold(idx, to - start, whole).set(piece, from - start);
      this.#wrote(idx, from - start, to - start);
    }
    this.#writeEnd = Math.max(this.#writeEnd, end);
    this.#touch();
    return end;
  }

  /** Sets the length in memory: cut (the boundary chunk is held and its tail zeroed), or extended with zeros. */
  truncate(length: number): void {
    if (length > this.#size) checkFileSize(this.#db, length, undefined, 'ftruncate');
    this.#cutAt = Math.min(this.#cutAt, length);
    if (length > this.#size) {
      this.#grow(length);
    } else if (length < this.#size) {
      const size = this.#chunkSize;
      const tail = length % size;
      if (tail !== 0) this.#hold(Math.floor(length / size), tail).fill(0, tail);
      const count = Math.ceil(length / size);
      for (const [idx, bytes] of [...this.#dirty]) {
        if (idx < count) continue;
        this.#dirty.delete(idx);
        this.#dirtyBytes -= bytes.byteLength;
      }
      for (const idx of [...this.#patches.keys()]) if (idx >= count) this.#dropPatches(idx);
      for (const idx of [...this.#staged.keys()]) if (idx >= count) this.#dropStaged(idx);
      for (const [idx, ranges] of [...this.#written]) {
        if (idx >= count) this.#written.delete(idx);
        else if (idx === count - 1 && tail !== 0) {
          const cut = ranges
            .filter(([from]) => from < tail)
            .map(([from, to]): [number, number] => [from, Math.min(to, tail)]);
          if (cut.length > 0) this.#written.set(idx, cut);
          else this.#written.delete(idx);
        }
      }
      this.#size = length;
      this.#validBase = Math.min(this.#validBase, length);
    }
    this.#touch();
  }

  /** Reads up to `length` bytes at `offset`, buffered bytes over committed ones. */
  read(offset: number, length: number): Uint8Array {
    const out = new Uint8Array(Math.max(0, Math.min(this.#size, offset + length) - offset));
    this.readInto(offset, out);
    return out;
  }

  /** Reads from `offset` into `target` (as much as fits, fewer at the end); returns the bytes read. */
  readInto(offset: number, target: Uint8Array): number {
    const end = Math.min(this.#size, offset + target.byteLength);
    if (end <= offset) return 0;
    const size = this.#chunkSize;
    for (let idx = Math.floor(offset / size); idx * size < end; idx++) {
      const start = idx * size;
      const from = Math.max(offset, start);
      const to = Math.min(end, start + size);
      // A patched chunk read is held whole from then on, so further reads do not patch it again.
      const bytes = this.#patches.has(idx) ? this.#hold(idx, this.#length(idx)) : this.#content(idx);
      target.set(bytes.subarray(from - start, to - start), from - offset);
    }
    return end - offset;
  }

  /**
   * Applies the session in one transaction (nothing at all if nothing changed), then starts afresh
   * from the file as committed. When another writer changed the file since the session started,
   * the session's writes and truncates are replayed onto its changes (see `commitBuffered`).
   * Returns true when such a merge happened.
   */
  commit(): boolean {
    if (this.#mtimeMs === undefined) {
      // Nothing of ours to apply: follow what others committed meanwhile.
      const stat = statInode(this.#db, this.inode);
      if (stat.rev !== this.#baseRev) this.#restart(stat.size, stat.rev, stat.mtimeMs);
      return false;
    }
    const dirty = new Map<number, Uint8Array | (() => Uint8Array)>();
    for (const idx of this.#dirty.keys()) dirty.set(idx, this.#content(idx));
    // Patched chunks are built when stored, one at a time, in one reused array: fresh memory for
    // each would cost a page fault per 4 KiB touched.
    const scratch = this.#patches.size > 1 ? new Uint8Array(this.#chunkSize) : undefined;
    for (const idx of this.#patches.keys())
      dirty.set(idx, scratch ? this.#patchedInto(idx, scratch) : this.#content(idx));
    // A patched chunk's staged bytes were its base: its new bytes replace them.
    for (const idx of this.#patches.keys()) this.#dropStaged(idx);
    // The commit links the staged blobs: this session stops holding them first, so the commit can
    // hand them over to gc's ordinary rule (freed once nothing names them). Should it fail, their
    // fresh staging time still protects them for gc's safety window.
    const staged = [...this.#staged.values()];
    for (const [hash, count] of this.#holds) releaseStaged(this.#db, Array(count).fill(hash));
    this.#holds.clear();
    const result = commitBuffered(this.#db, this.inode, {
      size: this.#size,
      baseRev: this.#baseRev,
      cutAt: this.#cutAt,
      writeEnd: this.#writeEnd,
      staged,
      dirty,
      written: this.#written,
      mtimeMs: this.#mtimeGiven ? this.#mtimeMs : undefined,
    });
    this.#restart(result.size, result.rev, result.mtimeMs);
    return result.merged;
  }

  /**
   * Lets go of the staged blobs the session holds against gc without applying it, for a buffer
   * being forgotten whose changes never happened (the FUSE mount's open whose batch failed to
   * commit). The buffer is not used again.
   */
  discard(): void {
    for (const [hash, count] of this.#holds) releaseStaged(this.#db, Array(count).fill(hash));
    this.#holds.clear();
  }

  /** Forgets staged chunk `idx` (the session holds newer bytes for it, or cut it off). */
  #dropStaged(idx: number): void {
    const chunk = this.#staged.get(idx);
    if (!chunk) return;
    this.#staged.delete(idx);
    const count = this.#holds.get(chunk.hash) ?? 0;
    if (count === 0) return;
    if (count > 1) this.#holds.set(chunk.hash, count - 1);
    else this.#holds.delete(chunk.hash);
    releaseStaged(this.#db, [chunk.hash]);
  }

  #restart(size: number, rev: number, mtimeMs: number): void {
    this.#dirty.clear();
    this.#dirtyBytes = 0;
    this.#patches.clear();
    this.#patchBytes = 0;
    this.#spare.length = 0;
    this.#staged.clear();
    this.#written.clear();
    this.#size = this.#validBase = size;
    this.#baseRev = rev;
    this.#baseMtimeMs = mtimeMs;
    this.#cutAt = Number.POSITIVE_INFINITY;
    this.#writeEnd = 0;
    this.#mtimeMs = undefined;
    this.#mtimeGiven = false;
  }
}

function padded(bytes: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(length);
  out.set(bytes.subarray(0, Math.min(bytes.byteLength, length)));
  return out;
}

const sumBytes = (patches: readonly { bytes: Uint8Array }[]): number =>
  patches.reduce((total, patch) => total + patch.bytes.byteLength, 0);
