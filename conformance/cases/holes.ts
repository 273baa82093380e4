/**
 * Sparse files: a missing chunk is a hole that reads as zeros, so extending or cutting a file
 * writes a constant number of rows whatever the size; sizes past the limit are EFBIG at once;
 * stat's blocks and usage's allocated bytes count only what is stored.
 *
 * @module
 */
import { describe, expect } from 'vitest';
import { SQLiteWorkspaceProvider } from '../../adapters/vfs/index.ts';
import type { Database } from '../../core/database.ts';
import { statInode, truncateAt, writeAt } from '../../core/handles.ts';
import { MAX_FILE_SIZE } from '../../core/quotas.ts';
import { defineCase, expectRefused } from '../harness.ts';
import type { ConformanceTarget } from '../target.ts';
import { patternBytes } from './files.ts';

const GiB = 1024 ** 3;
const rows = (db: Database): { chunks: number; blobs: number } =>
  db.all<{ chunks: number; blobs: number }>(
    'SELECT (SELECT count(*) FROM vfs_chunks) AS chunks, (SELECT count(*) FROM vfs_blobs) AS blobs',
  )[0];

async function collect(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const part of stream as unknown as AsyncIterable<Uint8Array>) parts.push(part);
  const out = new Uint8Array(parts.reduce((n, part) => n + part.byteLength, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}

/** Cases for holes. */
export function holeCases(target: ConformanceTarget): void {
  describe('holes', () => {
    defineCase(target, 'truncate to 8 GiB writes no chunk row; the hole reads as zeros and takes no blocks', (ctx) => {
      ctx.ws.writeFile('/f', 'head');
      const before = rows(ctx.db);
      ctx.ws.truncate('/f', 8 * GiB);
      // The short last chunk is padded to a full one (one row rewritten, one blob); nothing else.
      expect(rows(ctx.db)).toEqual({ chunks: before.chunks, blobs: before.blobs + 1 });
      const stat = ctx.ws.stat('/f');
      expect(stat.size).toBe(8 * GiB);
      expect(stat.blocks).toBe(ctx.db.chunkSize / 512); // the head's chunk, padded to a full one
      // By inode (fstat, the mount's getattr): the row and its allocation in one statement, the same blocks.
      expect(statInode(ctx.db, stat.ino)).toMatchObject({ size: 8 * GiB, blocks: stat.blocks });
      expect(ctx.ws.readFile('/f', { byteOffset: 0, byteLength: 6 })).toEqual(
        new Uint8Array([104, 101, 97, 100, 0, 0]),
      );
      expect(ctx.ws.readFile('/f', { byteOffset: 5 * GiB, byteLength: 100_000 })).toEqual(new Uint8Array(100_000));
      const usage = ctx.ws.usage();
      expect(usage.logicalBytes).toBe(8 * GiB);
      expect(usage.allocatedBytes).toBe(ctx.db.chunkSize); // the head's chunk, now full length
      // Cut back inside the hole, then to inside the data: still a constant number of rows.
      ctx.ws.truncate('/f', 3 * GiB + 17);
      ctx.ws.truncate('/f', 2);
      expect(ctx.ws.readFile('/f', 'utf8')).toBe('he');
      expect(rows(ctx.db).chunks).toBe(1);
    });

    defineCase(
      target,
      'writes beyond the end leave holes; reads, ranges, streams and copies see zeros there',
      async (ctx) => {
        const chunk = ctx.db.chunkSize;
        ctx.ws.writeFile('/f', patternBytes(10, 1));
        const inode = ctx.ws.stat('/f').ino;
        writeAt(ctx.db, inode, 5 * chunk + 3, patternBytes(10, 2)); // chunk 5, past a 4-chunk hole
        writeAt(ctx.db, inode, 9 * chunk - 4, patternBytes(8, 3)); // across chunks 8 and 9
        const expected = new Uint8Array(9 * chunk + 4);
        expected.set(patternBytes(10, 1));
        expected.set(patternBytes(10, 2), 5 * chunk + 3);
        expected.set(patternBytes(8, 3), 9 * chunk - 4);
        expect(ctx.ws.readFile('/f')).toEqual(expected);
        expect(ctx.db.all('SELECT idx FROM vfs_chunks ORDER BY idx').map((row) => Number(row.idx))).toEqual([
          0, 5, 8, 9,
        ]);
        for (const [offset, length] of [
          [0, 3 * chunk],
          [chunk + 5, 5 * chunk],
          [8 * chunk - 1, 3],
        ]) {
          expect(ctx.ws.readFile('/f', { byteOffset: offset, byteLength: length })).toEqual(
            expected.subarray(offset, offset + length),
          );
        }
        expect(await collect(ctx.ws.readFileStream('/f'))).toEqual(expected);
        expect(await collect(ctx.ws.readFileStream('/f', { byteOffset: chunk + 1, byteLength: 6 * chunk }))).toEqual(
          expected.subarray(chunk + 1, 7 * chunk + 1),
        );
        ctx.ws.copyFile('/f', '/g');
        expect(ctx.ws.readFile('/g')).toEqual(expected);
        expect(ctx.ws.stat('/f').blocks).toBe(ctx.ws.stat('/g').blocks);
        // Four chunks of ten stored: the same blocks by inode as by path, and none for an empty file.
        expect(statInode(ctx.db, inode).blocks).toBe(ctx.ws.stat('/f').blocks);
        ctx.ws.writeFile('/empty', '');
        expect(statInode(ctx.db, ctx.ws.stat('/empty').ino).blocks).toBe(0);
        expect(ctx.ws.grep('\\x00', '/f').length).toBeGreaterThanOrEqual(0);
        // An append after a hole, and a cut inside a stored chunk.
        ctx.ws.truncate('/f', 12 * chunk);
        ctx.ws.appendFile('/f', 'tail');
        expect(ctx.ws.readFile('/f', { byteOffset: 12 * chunk - 2, byteLength: 10 })).toEqual(
          new Uint8Array([0, 0, 116, 97, 105, 108]),
        );
        ctx.ws.truncate('/f', 5 * chunk + 10);
        expect(ctx.ws.readFile('/f', { byteOffset: 5 * chunk, byteLength: 100 })).toEqual(
          expected.subarray(5 * chunk, 5 * chunk + 10),
        );
      },
      { chunkSize: 16 },
    );

    defineCase(target, 'a size past the limit is EFBIG at once and changes nothing', async (ctx) => {
      ctx.ws.writeFile('/f', 'x');
      const inode = ctx.ws.stat('/f').ino;
      await expectRefused(ctx.ws, () => ctx.ws.truncate('/f', MAX_FILE_SIZE + 1), 'EFBIG');
      await expectRefused(ctx.ws, () => truncateAt(ctx.db, inode, 2 ** 50), 'EFBIG');
      await expectRefused(ctx.ws, () => writeAt(ctx.db, inode, MAX_FILE_SIZE, new Uint8Array(1)), 'EFBIG');
      const p = new SQLiteWorkspaceProvider(ctx.ws);
      p.openWriteBufferSync('/f');
      await expectRefused(ctx.ws, () => p.truncateFileSync('/f', MAX_FILE_SIZE + 1), 'EFBIG');
      await expectRefused(ctx.ws, () => p.writeRangeSync('/f', new Uint8Array(2), MAX_FILE_SIZE - 1), 'EFBIG');
      p.releaseWriteBufferSync('/f');
      // Exactly the limit is allowed, and costs no row.
      const before = rows(ctx.db);
      ctx.ws.truncate('/f', MAX_FILE_SIZE);
      expect(ctx.ws.stat('/f').size).toBe(MAX_FILE_SIZE);
      expect(rows(ctx.db).chunks).toBe(before.chunks);
    });

    defineCase(
      target,
      'a buffered session extends to 1 TiB and writes at the end: one chunk row, holes between',
      (ctx) => {
        const p = new SQLiteWorkspaceProvider(ctx.ws);
        p.openWriteBufferForCreateSync('/big');
        p.writeRangeSync('/big', new Uint8Array([1, 2, 3]), 0);
        p.truncateFileSync('/big', 1024 * GiB);
        p.writeRangeSync('/big', new Uint8Array([9]), 1024 * GiB - 1);
        expect(p.readRangeSync('/big', 512 * GiB, 4)).toEqual(Buffer.alloc(4));
        p.releaseWriteBufferSync('/big');
        expect(rows(ctx.db).chunks).toBe(2);
        expect(ctx.ws.stat('/big').size).toBe(1024 * GiB);
        expect(ctx.ws.readFile('/big', { byteOffset: 1024 * GiB - 2, byteLength: 2 })).toEqual(new Uint8Array([0, 9]));
        expect(ctx.ws.readFile('/big', { byteOffset: 0, byteLength: 4 })).toEqual(new Uint8Array([1, 2, 3, 0]));
        expect(ctx.ws.usage().allocatedBytes).toBe(2 * ctx.db.chunkSize);
      },
    );
  });
}
