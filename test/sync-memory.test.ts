/**
 * The blob cache a Durable Object serving sync can afford (sync/memory.ts): what is left of the
 * isolate's limit after the largest message, the engine's working set and the margin. The bound
 * itself is measured in workerd by test/sync-e2e.test.ts (the isolate's memory under a sync of
 * more large files than the cache holds and a refused 30 MiB message).
 */
import { describe, expect, it } from 'vitest';
import {
  durableObjectCacheBytes,
  ENGINE_WORKING_BYTES,
  ISOLATE_MEMORY_BYTES,
  MEMORY_MARGIN_FRACTION,
  SYNC_MESSAGE_RESERVE_BYTES,
} from '../sync/memory.ts';
import { MAX_MESSAGE_BYTES } from '../sync/websocket.ts';

const MiB = 1024 * 1024;

describe('durableObjectCacheBytes', () => {
  it('leaves one message, the working set and the margin free within the isolate limit', () => {
    const cache = durableObjectCacheBytes();
    expect(cache).toBe(18 * MiB);
    expect(SYNC_MESSAGE_RESERVE_BYTES).toBe(2 * MAX_MESSAGE_BYTES);
    expect(cache + SYNC_MESSAGE_RESERVE_BYTES + ENGINE_WORKING_BYTES).toBeLessThanOrEqual(
      ISOLATE_MEMORY_BYTES * (1 - MEMORY_MARGIN_FRACTION),
    );
    // The engine's own default (64 MiB) would not fit beside one largest message.
    expect(64 * MiB + SYNC_MESSAGE_RESERVE_BYTES).toBeGreaterThan(ISOLATE_MEMORY_BYTES);
  });

  it('follows the limit given, in whole MiB, and is 0 when nothing is left', () => {
    expect(durableObjectCacheBytes(256 * MiB) % MiB).toBe(0);
    expect(durableObjectCacheBytes(256 * MiB)).toBeGreaterThan(durableObjectCacheBytes());
    expect(durableObjectCacheBytes(64 * MiB)).toBe(0);
    expect(durableObjectCacheBytes(0)).toBe(0);
  });

  it('refuses a limit that is not a non-negative number of bytes', () => {
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY])
      expect(() => durableObjectCacheBytes(bad)).toThrow(RangeError);
  });
});
