/**
 * Scale: big directories, big files, the largest chunk size, long batches under the parameter
 * limit, and subtree operations whose statement count does not grow with the tree.
 *
 * @module
 */
import { describe, expect } from 'vitest';
import { hashBytes } from '../../core/blobs.ts';
import { DEFAULT_CHUNK_SIZE, MAX_CHUNK_SIZE } from '../../core/schema.ts';
import type { Workspace } from '../../core/workspace.ts';
import { defineCase } from '../harness.ts';
import type { ConformanceTarget } from '../target.ts';
import { patternBytes } from './files.ts';

const MiB = 1024 * 1024;

function fillDir(ws: Workspace, dir: string, count: number): void {
  ws.mkdir(dir, { recursive: true });
  for (let i = 0; i < count; i++) ws.writeFile(`${dir}/entry-${String(i).padStart(5, '0')}`, `${i}`);
}

/** Cases for scale. */
export function scaleCases(target: ConformanceTarget): void {
  describe('scale', () => {
    defineCase(
      target,
      'a directory of 10,000 entries reads back whole through pages',
      ({ ws }) => {
        fillDir(ws, '/big', 10_000);
        const names: string[] = [];
        for (let offset = 0; ; offset += 1000) {
          const page = ws.readdir('/big', { offset, limit: 1000 });
          if (page.length === 0) break;
          names.push(...page.map((e) => e.name));
        }
        expect(names).toHaveLength(10_000);
        expect(names[0]).toBe('entry-00000');
        expect(names[9999]).toBe('entry-09999');
        expect([...names].sort()).toEqual(names);
        expect(ws.find('/big', 'entry-0999?')).toHaveLength(10);
        expect(ws.readFile('/big/entry-04321', 'utf8')).toBe('4321');
      },
      { timeout: 120_000 },
    );
    defineCase(
      target,
      'a 64 MiB file of the default chunk size, streamed in and read back, then edited in the middle',
      async ({ ws }) => {
        const block = patternBytes(MiB, 42);
        async function* source() {
          for (let i = 0; i < 64; i++) {
            block[0] = i;
            yield block.slice();
          }
        }
        await ws.writeFile('/huge', source());
        expect(ws.stat('/huge').size).toBe(64 * MiB);
        expect(ws.db.chunkSize).toBe(DEFAULT_CHUNK_SIZE);
        expect(Number(ws.db.all<{ n: number }>('SELECT count(*) AS n FROM vfs_chunks')[0].n)).toBe(
          (64 * MiB) / DEFAULT_CHUNK_SIZE,
        );
        const expected = new Uint8Array(64 * MiB);
        for (let i = 0; i < 64; i++) {
          block[0] = i;
          expected.set(block, i * MiB);
        }
        expect(hashBytes(ws.readFile('/huge'))).toBe(hashBytes(expected));
        const blobsBefore = ws.usage().blobs;
        ws.truncate('/huge', 40 * MiB + 3);
        expect(ws.usage().blobs).toBe(blobsBefore + 1);
        expect(hashBytes(ws.readFile('/huge'))).toBe(hashBytes(expected.subarray(0, 40 * MiB + 3)));
      },
      { timeout: 300_000 },
    );
    defineCase(
      target,
      'the largest chunk size (1 MiB) stores and reads full chunks',
      ({ ws, guard }) => {
        const data = patternBytes(3 * MiB + 512, 5);
        ws.writeFile('/f', data);
        expect(ws.usage().chunkSize).toBe(MAX_CHUNK_SIZE);
        expect(ws.readFile('/f')).toEqual(data);
        expect(guard.maxValueBytes).toBe(MiB);
      },
      { chunkSize: MAX_CHUNK_SIZE, timeout: 60_000 },
    );
    defineCase(
      target,
      'writing, copying and collecting thousands of chunks stays under 100 parameters a statement',
      async ({ ws, guard, clock }) => {
        const data = patternBytes(16 * 3000, 77);
        ws.writeFile('/many', data);
        ws.copyFile('/many', '/copy');
        async function* pieces() {
          for (let at = 0; at < data.length; at += 1000) yield data.slice(at, at + 1000).reverse();
        }
        await ws.writeFile('/streamed', pieces());
        expect(ws.readFile('/copy')).toEqual(data);
        ws.rm('/many');
        ws.rm('/copy');
        ws.rm('/streamed');
        clock.advance(3_600_001);
        expect(ws.gc().blobs).toBeGreaterThan(5000);
        expect(guard.maxParameters).toBeLessThanOrEqual(100);
        expect(guard.maxParameters).toBeGreaterThan(90);
      },
      { chunkSize: 16, timeout: 120_000 },
    );
    for (const size of [10, 1000]) {
      defineCase(
        target,
        `renaming and removing a tree of ${size} entries takes a fixed number of statements`,
        ({ ws, guard }) => {
          for (let d = 0; d < 10; d++) fillDir(ws, `/tree/d${d}`, size / 10);
          const beforeRename = guard.statements;
          ws.rename('/tree', '/moved');
          const renameStatements = guard.statements - beforeRename;
          expect(ws.find('/moved', '**')).toHaveLength(size + 10);
          const beforeRm = guard.statements;
          ws.rm('/moved', { recursive: true });
          const rmStatements = guard.statements - beforeRm;
          expect(renameStatements).toBeLessThan(20);
          expect(rmStatements).toBeLessThan(20);
          expect(ws.usage().inodes).toBe(1);
        },
        { timeout: 60_000 },
      );
    }
  });
}
