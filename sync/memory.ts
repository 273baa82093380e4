/**
 * How much memory a Durable Object serving sync may give its blob cache. The object's isolate has
 * a fixed memory limit, and three things share it: the blob cache (bounded by `cacheBytes`), the
 * sync message being received (bounded by the transport's {@link MAX_MESSAGE_BYTES}), and the
 * engine's own working set. The cache is what is left once the other two and a margin are set
 * aside, so a sync at any size cannot push the isolate over its limit through the cache.
 *
 * @module
 */
import { MAX_MESSAGE_BYTES } from './websocket.ts';

const MiB = 1024 * 1024;

/**
 * The memory limit of one Workers isolate, which a Durable Object runs in: 128 MB (Cloudflare's
 * Workers limits; its Durable Objects limits page applies the same to an object). Read as decimal
 * megabytes, the smaller reading: 128,000,000 bytes, about 122 MiB. The JavaScript heap and the
 * `ArrayBuffer`s behind every `Uint8Array` (the blob cache's chunks, received frames) count.
 */
export const ISOLATE_MEMORY_BYTES = 128_000_000;

/**
 * What receiving one sync message can hold at once: the frame the transport accepted (at most
 * {@link MAX_MESSAGE_BYTES}) and, while it is decoded, a copy of its byte arrays (the decoder
 * copies each one out, so no chunk keeps a whole frame alive). The endpoint refuses an oversized
 * batch only after decoding, so a refused 31 MiB message costs this much too.
 */
export const SYNC_MESSAGE_RESERVE_BYTES = 2 * MAX_MESSAGE_BYTES;

/**
 * The engine's working set during a sync besides the cache and the message being received: its
 * code and state at rest (3 MiB in the example Worker's isolate), a page of 256 entries, the rows
 * and chunks of the batch being applied or served, and garbage the collector has not reached yet.
 * In a 100,000-file sync over the real WebSocket the isolate (JS heap and array buffers) retained
 * at most 18 MiB after each phase, the 18 MiB cache included; its peaks (22 to 69 MiB) were
 * garbage a collection reclaimed. docs/performance.md, "Sync at scale", has the figures.
 */
export const ENGINE_WORKING_BYTES = 24 * MiB;

/**
 * The part of the limit kept free for what is not modelled above: the allocator's slack, memory
 * the runtime counts against the isolate besides these, a second message arriving on another
 * session while the first is decoded. One eighth of the limit.
 */
export const MEMORY_MARGIN_FRACTION = 1 / 8;

/**
 * The blob cache a Durable Object serving sync can afford: `memoryBytes` less one message's
 * reserve ({@link SYNC_MESSAGE_RESERVE_BYTES}), the engine's working set
 * ({@link ENGINE_WORKING_BYTES}) and the margin ({@link MEMORY_MARGIN_FRACTION}), rounded down to
 * a whole MiB; 0 (no cache) when nothing is left. With the platform's 128 MB this is 18 MiB.
 *
 * ```ts
 * this.ws = openWorkspace(createDoSqlBackend(ctx.storage), { cacheBytes: durableObjectCacheBytes() });
 * ```
 *
 * @param memoryBytes the isolate's memory limit; default {@link ISOLATE_MEMORY_BYTES}
 */
export function durableObjectCacheBytes(memoryBytes: number = ISOLATE_MEMORY_BYTES): number {
  if (!Number.isFinite(memoryBytes) || memoryBytes < 0) {
    throw new RangeError(`memoryBytes must be a non-negative number of bytes, not ${memoryBytes}`);
  }
  const left = memoryBytes - SYNC_MESSAGE_RESERVE_BYTES - ENGINE_WORKING_BYTES - memoryBytes * MEMORY_MARGIN_FRACTION;
  return Math.max(0, Math.floor(left / MiB) * MiB);
}
