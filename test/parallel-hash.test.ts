import { hash, randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { createParallelHasher, PARALLEL_MIN_BYTES } from '../adapters/fuse/parallel-hash.ts';

const sha256 = (bytes: Uint8Array) => hash('sha256', bytes, 'hex');

describe('the mount daemon hashes chunks on two threads', () => {
  const hasher = createParallelHasher();
  afterAll(() => hasher.close());

  // Sizes that cross every boundary: the threshold, one chunk per thread, the worker's shared
  // buffer (8 MiB, 1,024 chunks) per round, a chunk larger than that buffer, and mixed lengths.
  const batches: Array<[string, () => Uint8Array[]]> = [
    ['none', () => []],
    ['one chunk of 1 MiB', () => [randomBytes(1 << 20)]],
    ['two chunks of 1 MiB', () => [randomBytes(1 << 20), randomBytes(1 << 20)]],
    ['just under the threshold', () => [randomBytes(PARALLEL_MIN_BYTES / 2), randomBytes(PARALLEL_MIN_BYTES / 2 - 1)]],
    ['just at the threshold', () => [randomBytes(PARALLEL_MIN_BYTES / 2), randomBytes(PARALLEL_MIN_BYTES / 2)]],
    ['96 chunks of 64 KiB (a staging batch)', () => Array.from({ length: 96 }, () => randomBytes(65536))],
    ['300 chunks of 64 KiB (more than one round)', () => Array.from({ length: 300 }, () => randomBytes(65536))],
    [
      '3,000 chunks of 1 KiB (more chunks than a round holds)',
      () => Array.from({ length: 3000 }, () => randomBytes(1024)),
    ],
    [
      'a chunk larger than the shared buffer among small ones',
      () => [randomBytes(4096), randomBytes(9 << 20), randomBytes(4096)],
    ],
    ['mixed lengths, empty ones too', () => Array.from({ length: 257 }, (_, i) => randomBytes((i * 7919) % 70000))],
  ];
  for (const [name, make] of batches) {
    it(`names every chunk as SHA-256 does, in order: ${name}`, () => {
      const chunks = make();
      expect(hasher.hashChunks(chunks)).toEqual(chunks.map(sha256));
    });
  }

  it('shares large batches with its worker, and hashes alone once closed', () => {
    const before = hasher.stats.parallelBatches;
    const chunks = Array.from({ length: 64 }, () => randomBytes(65536));
    expect(hasher.hashChunks(chunks)).toEqual(chunks.map(sha256));
    expect(hasher.stats.parallelBatches).toBe(before + 1);
    expect(hasher.stats.workerGivenUp).toBe(false);
    const closed = createParallelHasher();
    closed.close();
    expect(closed.hashChunks(chunks)).toEqual(chunks.map(sha256));
    expect(closed.stats.parallelBatches).toBe(0);
  });
});
