/**
 * SHA-256 of many chunks on two CPUs: a worker thread hashes part of each batch while the calling
 * thread hashes the rest, for {@link DatabaseOptions.hashChunks}. The engine names every blob by
 * the SHA-256 of its bytes and hashes on the thread that writes, which is most of a large write's
 * CPU time (docs/performance.md); the mount daemon's second CPU is idle while a caller waits for
 * its write to land.
 *
 * The worker shares memory with the caller: the caller copies the worker's share of the chunks
 * into a shared buffer, wakes it with `Atomics.notify`, hashes its own share, and waits with
 * `Atomics.wait` for the worker's digests. The call stays synchronous, as the engine is. A worker
 * that does not answer within {@link WORKER_TIMEOUT_MS} is given up, and every batch is hashed on
 * the calling thread from then on, so a stuck worker costs time once and never a wrong name.
 *
 * @module
 */
import { hash } from 'node:crypto';
import { Worker } from 'node:worker_threads';

/** Batches smaller than this many bytes are hashed on the calling thread: waking the worker costs more. */
export const PARALLEL_MIN_BYTES = 256 * 1024;
/** Bytes the worker's share may hold per round (a larger share goes in several rounds). */
const SHARE_BYTES = 8 * 1024 * 1024;
/** Chunks the worker's share may hold per round. */
const SHARE_CHUNKS = 1024;
/** How long the caller waits for the worker before hashing its share itself. */
export const WORKER_TIMEOUT_MS = 10_000;

// Control words: the round the caller posted, the round the worker finished, and the round's chunk count.
const POSTED = 0;
const DONE = 1;
const COUNT = 2;
const STOP = -1;

const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const control = new Int32Array(workerData.control);
const data = new Uint8Array(workerData.data);
const lengths = new Int32Array(workerData.lengths);
const digests = new Uint8Array(workerData.digests);
let seen = 0;
for (;;) {
  Atomics.wait(control, ${POSTED}, seen);
  const round = Atomics.load(control, ${POSTED});
  if (round === ${STOP}) break;
  seen = round;
  const count = control[${COUNT}];
  let at = 0;
  for (let i = 0; i < count; i++) {
    digests.set(createHash('sha256').update(data.subarray(at, at + lengths[i])).digest(), i * 32);
    at += lengths[i];
  }
  Atomics.store(control, ${DONE}, round);
  Atomics.notify(control, ${DONE});
}
`;

/** A two-thread hasher; {@link ParallelHasher.close} ends its worker. */
export interface ParallelHasher {
  /** The SHA-256 of each chunk, lower-case hex, in order. */
  hashChunks(chunks: readonly Uint8Array[]): string[];
  /** Ends the worker; later batches are hashed on the calling thread. */
  close(): void;
  /** Batches the worker shared in, and whether it was given up. */
  readonly stats: { parallelBatches: number; workerGivenUp: boolean };
}

const sha256 = (bytes: Uint8Array): string => hash('sha256', bytes, 'hex');

/** Starts the worker (unreferenced: it never keeps the process alive). */
export function createParallelHasher(): ParallelHasher {
  const control = new Int32Array(new SharedArrayBuffer(3 * 4));
  const data = new Uint8Array(new SharedArrayBuffer(SHARE_BYTES));
  const lengths = new Int32Array(new SharedArrayBuffer(SHARE_CHUNKS * 4));
  const digests = new Uint8Array(new SharedArrayBuffer(SHARE_CHUNKS * 32));
  let worker: Worker | undefined = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { control: control.buffer, data: data.buffer, lengths: lengths.buffer, digests: digests.buffer },
  });
  worker.unref();
  worker.on('error', () => giveUp());
  let round = 0;
  const stats = { parallelBatches: 0, workerGivenUp: false };

  function giveUp(): void {
    if (!worker) return;
    stats.workerGivenUp = true;
    Atomics.store(control, POSTED, STOP);
    Atomics.notify(control, POSTED);
    void worker.terminate();
    worker = undefined;
  }

  /**
   * Hands `chunks[from..to)` (one round's worth) to the worker; the function returned waits for
   * its digests, puts their names in `names`, and says false when the worker did not answer.
   */
  function post(chunks: readonly Uint8Array[], from: number, to: number, names: string[]): () => boolean {
    let at = 0;
    for (let i = from; i < to; i++) {
      data.set(chunks[i], at);
      lengths[i - from] = chunks[i].byteLength;
      at += chunks[i].byteLength;
    }
    control[COUNT] = to - from;
    round = round === 0x7fffffff ? 1 : round + 1;
    const posted = round;
    Atomics.store(control, POSTED, posted);
    Atomics.notify(control, POSTED);
    return () => {
      const deadline = Date.now() + WORKER_TIMEOUT_MS;
      for (let done = Atomics.load(control, DONE); done !== posted; done = Atomics.load(control, DONE)) {
        const left = deadline - Date.now();
        if (left <= 0) return false;
        Atomics.wait(control, DONE, done, left);
      }
      for (let i = from; i < to; i++) names[i] = Buffer.from(digests.buffer, (i - from) * 32, 32).toString('hex');
      return true;
    };
  }

  return {
    stats,
    close: giveUp,
    hashChunks(chunks) {
      let remaining = 0;
      for (const chunk of chunks) remaining += chunk.byteLength;
      if (!worker || chunks.length < 2 || remaining < PARALLEL_MIN_BYTES) return chunks.map(sha256);
      stats.parallelBatches++;
      const names = new Array<string>(chunks.length);
      // Rounds until the two meet: the worker takes chunks from the end (half of the bytes left,
      // as much as the shared buffer holds), this thread as many bytes from the start meanwhile.
      let mine = 0;
      let theirs = chunks.length;
      while (mine < theirs) {
        let start = theirs;
        let share = 0;
        while (
          start - 1 > mine &&
          theirs - start < SHARE_CHUNKS &&
          share + chunks[start - 1].byteLength <= SHARE_BYTES &&
          (share === 0 || 2 * (share + chunks[start - 1].byteLength) <= remaining)
        ) {
          start--;
          share += chunks[start].byteLength;
        }
        if (start === theirs || !worker) {
          for (; mine < theirs; mine++) names[mine] = sha256(chunks[mine]);
          break;
        }
        const collect = post(chunks, start, theirs, names);
        for (let done = 0; mine < start && done < share; mine++) {
          names[mine] = sha256(chunks[mine]);
          done += chunks[mine].byteLength;
          remaining -= chunks[mine].byteLength;
        }
        if (!collect()) {
          giveUp();
          for (let i = start; i < theirs; i++) names[i] = sha256(chunks[i]);
        }
        remaining -= share;
        theirs = start;
      }
      return names;
    },
  };
}
