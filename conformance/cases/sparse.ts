/**
 * Holes seen and made from outside: SEEK_DATA and SEEK_HOLE (`seekData`, `seekHole`) and
 * fallocate (`allocate`), with Linux's answers at every boundary, compared with a model of the
 * file's bytes and stored chunks.
 *
 * @module
 */
import { describe, expect } from 'vitest';
import type { Database } from '../../core/database.ts';
import {
  allocate,
  allocateAt,
  FALLOC_FL_KEEP_SIZE,
  FALLOC_FL_PUNCH_HOLE,
  FALLOC_FL_ZERO_RANGE,
  seekData,
  seekDataAt,
  seekHole,
  seekHoleAt,
} from '../../core/fs/sparse.ts';
import { writeAt } from '../../core/handles.ts';
import { MAX_FILE_SIZE } from '../../core/quotas.ts';
import type { Workspace } from '../../core/workspace.ts';
import { defineCase, expectCode, expectRefused } from '../harness.ts';
import type { ConformanceTarget } from '../target.ts';
import { patternBytes } from './files.ts';

const GiB = 1024 ** 3;
const PUNCH = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;

const storedIndexes = (db: Database, inode: number): number[] =>
  db
    .all<{ idx: number }>('SELECT idx FROM vfs_chunks WHERE inode = ? ORDER BY idx', [inode])
    .map((row) => Number(row.idx));

/** What Linux answers, from the stored chunk indexes alone: an offset, or 'ENXIO'. */
function expectedSeek(
  stored: readonly number[],
  size: number,
  chunk: number,
  offset: number,
  data: boolean,
): number | 'ENXIO' {
  if (offset >= size) return 'ENXIO';
  for (let at = offset; at < size; at = (Math.floor(at / chunk) + 1) * chunk) {
    if (stored.includes(Math.floor(at / chunk)) === data) return at;
  }
  return data ? 'ENXIO' : size;
}

/** Every offset from 0 to past the end, both whences, path and inode forms, against the model. */
async function expectSeeksMatch(ws: Workspace, path: string): Promise<number> {
  const { ino, size } = ws.stat(path);
  const stored = storedIndexes(ws.db, ino);
  let checked = 0;
  for (let offset = 0; offset <= size + 2; offset++) {
    for (const data of [true, false]) {
      const want = expectedSeek(stored, size, ws.db.chunkSize, offset, data);
      const forms = data
        ? [() => seekData(ws.db, path, offset), () => seekDataAt(ws.db, ino, offset)]
        : [() => seekHole(ws.db, path, offset), () => seekHoleAt(ws.db, ino, offset)];
      for (const form of forms) {
        if (want === 'ENXIO') await expectCode(form, 'ENXIO');
        else expect(form(), `${data ? 'SEEK_DATA' : 'SEEK_HOLE'} from ${offset}`).toBe(want);
        checked++;
      }
    }
  }
  return checked;
}

/** The bytes a file should hold, built alongside it. */
function model(size: number, writes: readonly [offset: number, bytes: Uint8Array][]): Uint8Array {
  const out = new Uint8Array(size);
  for (const [offset, bytes] of writes) out.set(bytes.subarray(0, Math.max(0, size - offset)), offset);
  return out;
}

/** Cases for SEEK_DATA, SEEK_HOLE and fallocate. */
export function sparseCases(target: ConformanceTarget): void {
  describe('seek data and holes, fallocate', () => {
    defineCase(
      target,
      'SEEK_DATA and SEEK_HOLE answer as Linux at every offset: leading, inner and trailing holes, a short last chunk',
      async (ctx) => {
        const chunk = ctx.db.chunkSize;
        ctx.ws.writeFile('/empty', '');
        await expectCode(() => ctx.ws.seekData('/empty', 0), 'ENXIO');
        await expectCode(() => ctx.ws.seekHole('/empty', 0), 'ENXIO');
        // Data only: the hole is the end of the file.
        ctx.ws.writeFile('/full', patternBytes(3 * chunk + 5, 1));
        expect(ctx.ws.seekHole('/full', 0)).toBe(3 * chunk + 5);
        // Hole only.
        ctx.ws.writeFile('/void', '');
        ctx.ws.truncate('/void', 4 * chunk + 3);
        expect(ctx.ws.seekHole('/void', 7)).toBe(7);
        await expectCode(() => ctx.ws.seekData('/void', 0), 'ENXIO');
        // A leading hole, two runs of data, an inner hole, a trailing hole.
        ctx.ws.writeFile('/f', '');
        const inode = ctx.ws.stat('/f').ino;
        writeAt(ctx.db, inode, 2 * chunk + 1, patternBytes(2 * chunk, 2)); // chunks 2, 3, 4
        writeAt(ctx.db, inode, 7 * chunk, patternBytes(3, 3)); // chunk 7
        ctx.ws.truncate('/f', 10 * chunk - 1);
        expect(storedIndexes(ctx.db, inode)).toEqual([2, 3, 4, 7]);
        let checked = 0;
        for (const path of ['/f', '/full', '/void']) checked += await expectSeeksMatch(ctx.ws, path);
        expect(checked).toBeGreaterThan(4 * 10 * chunk);
        // A symlink is followed; a directory, a missing path and bad offsets are refused.
        ctx.ws.symlink('/f', '/link');
        expect(ctx.ws.seekData('/link', 0)).toBe(2 * chunk);
        ctx.ws.mkdir('/dir');
        await expectCode(() => ctx.ws.seekData('/dir', 0), 'EISDIR');
        await expectCode(() => ctx.ws.seekHole('/missing', 0), 'ENOENT');
        for (const bad of [-1, 1.5, Number.NaN, '3' as unknown as number]) {
          await expectCode(() => ctx.ws.seekData('/f', bad), 'EINVAL');
          await expectCode(() => ctx.ws.seekHole('/f', bad), 'EINVAL');
        }
      },
      { chunkSize: 16 },
    );

    defineCase(target, 'SEEK_DATA and SEEK_HOLE across an 8 GiB hole take one statement each', (ctx) => {
      const chunk = ctx.db.chunkSize;
      ctx.ws.writeFile('/big', 'head');
      ctx.ws.truncate('/big', 8 * GiB);
      writeAt(ctx.db, ctx.ws.stat('/big').ino, 5 * GiB + 10, patternBytes(2 * chunk, 4));
      expect(ctx.ws.seekHole('/big', 0)).toBe(chunk);
      expect(ctx.ws.seekData('/big', chunk)).toBe(5 * GiB);
      expect(ctx.ws.seekData('/big', 5 * GiB + 20)).toBe(5 * GiB + 20);
      expect(ctx.ws.seekHole('/big', 5 * GiB)).toBe(5 * GiB + 3 * chunk);
      const before = ctx.guard.statements;
      expect(() => ctx.ws.seekData('/big', 6 * GiB)).toThrow(expect.objectContaining({ code: 'ENXIO' }));
      // The path's lookup, then one statement for the answer.
      expect(ctx.guard.statements - before).toBeLessThanOrEqual(3);
    });

    defineCase(
      target,
      'fallocate mode 0 extends the file as a hole, KEEP_SIZE keeps it; a reservation inside the file changes nothing',
      async (ctx) => {
        const chunk = ctx.db.chunkSize;
        ctx.ws.writeFile('/f', patternBytes(chunk + 3, 5));
        const rows = () => ctx.db.all<{ n: number }>('SELECT count(*) AS n FROM vfs_chunks')[0].n;
        // offset + length past the largest file is EFBIG whatever the mode, before anything else.
        for (const mode of [0, FALLOC_FL_KEEP_SIZE, PUNCH, FALLOC_FL_ZERO_RANGE])
          await expectRefused(ctx.ws, () => ctx.ws.allocate('/f', MAX_FILE_SIZE, 1, mode), 'EFBIG');
        const before = ctx.ws.lstat('/f');
        ctx.clock.advance(1000);
        // Inside the file: nothing to do, no revision, no time stamped.
        ctx.ws.allocate('/f', 0, chunk);
        expect(ctx.ws.lstat('/f')).toEqual(before);
        ctx.ws.allocate('/f', 10, GiB, FALLOC_FL_KEEP_SIZE);
        expect(ctx.ws.lstat('/f')).toEqual(before);
        // Past the end: the size grows as with truncate, the old short chunk padded, no other row.
        ctx.ws.allocate('/f', chunk, GiB);
        const after = ctx.ws.lstat('/f');
        expect(after.size).toBe(chunk + GiB);
        expect(after.mtimeMs).toBe(before.mtimeMs + 1000);
        expect(after.rev).toBeGreaterThan(before.rev);
        expect(Number(rows())).toBe(2);
        expect(ctx.ws.readFile('/f', { byteOffset: 0, byteLength: chunk + 3 })).toEqual(patternBytes(chunk + 3, 5));
        expect(ctx.ws.readFile('/f', { byteOffset: chunk + 3, byteLength: 100 })).toEqual(new Uint8Array(100));
        expect(ctx.ws.seekHole('/f', 0)).toBe(2 * chunk);
        // Up to the largest file exactly is allowed, still without a row.
        ctx.ws.allocate('/f', MAX_FILE_SIZE - 1, 1);
        expect(ctx.ws.stat('/f').size).toBe(MAX_FILE_SIZE);
        expect(Number(rows())).toBe(2);
      },
      { chunkSize: 16 },
    );

    defineCase(
      target,
      'PUNCH_HOLE and ZERO_RANGE make a range read as zeros, dropping whole chunks and rewriting the edges',
      async (ctx) => {
        const chunk = ctx.db.chunkSize;
        const size = 10 * chunk + 5;
        ctx.ws.writeFile('/f', patternBytes(size, 6));
        const inode = ctx.ws.stat('/f').ino;
        const expected = patternBytes(size, 6).slice();
        const punch = (offset: number, length: number, mode = PUNCH) => {
          ctx.ws.allocate('/f', offset, length, mode);
          expected.fill(0, offset, Math.min(size, offset + length));
          expect(ctx.ws.readFile('/f')).toEqual(expected);
          expect(ctx.ws.stat('/f').size).toBe(size);
        };
        punch(chunk - 1, 2); // across the boundary of chunks 0 and 1: two edges rewritten
        expect(storedIndexes(ctx.db, inode)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        punch(2 * chunk + 3, 3 * chunk); // chunks 3 and 4 whole, 2 and 5 edges
        expect(storedIndexes(ctx.db, inode)).toEqual([0, 1, 2, 5, 6, 7, 8, 9, 10]);
        punch(6 * chunk, chunk); // exactly one chunk
        punch(9 * chunk + 4, GiB); // to past the end: chunk 10 (the short last one) goes whole
        expect(storedIndexes(ctx.db, inode)).toEqual([0, 1, 2, 5, 7, 8, 9]);
        punch(7 * chunk + 1, 2, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE);
        // A punch inside a hole stores nothing, yet stamps the file as Linux does.
        const blobs = ctx.ws.usage().blobs;
        const stamped = ctx.ws.stat('/f').mtimeMs;
        ctx.clock.advance(5);
        punch(3 * chunk + 2, 4);
        expect(ctx.ws.usage().blobs).toBe(blobs);
        expect(ctx.ws.stat('/f').mtimeMs).toBe(stamped + 5);
        await expectSeeksMatch(ctx.ws, '/f');
        // Past the end a punch is a no-op; ZERO_RANGE without KEEP_SIZE extends.
        const unchanged = ctx.ws.lstat('/f');
        ctx.ws.allocate('/f', size + 10, 100, PUNCH);
        expect(ctx.ws.lstat('/f')).toEqual(unchanged);
        ctx.ws.allocate('/f', size - 2, 20, FALLOC_FL_ZERO_RANGE);
        expect(ctx.ws.stat('/f').size).toBe(size + 18);
        expect(ctx.ws.readFile('/f')).toEqual(model(size + 18, [[0, expected.subarray(0, size - 2)]]));
        // The whole file: no chunk left, the size kept, no blocks.
        allocateAt(ctx.db, inode, 0, size + 18, PUNCH);
        expect(storedIndexes(ctx.db, inode)).toEqual([]);
        expect(ctx.ws.stat('/f')).toMatchObject({ size: size + 18, blocks: 0 });
        expect(ctx.ws.readFile('/f')).toEqual(new Uint8Array(size + 18));
      },
      { chunkSize: 16 },
    );

    defineCase(
      target,
      'a punch through a hard link changes every name; a reservation past the stored-bytes quota is ENOSPC',
      async (ctx) => {
        ctx.ws.writeFile('/f', patternBytes(1000, 7));
        ctx.ws.link('/f', '/g');
        // Whole chunks only: the punch stores nothing (a rewritten edge would be a new blob).
        allocate(ctx.db, '/g', 0, 448, PUNCH);
        expect(ctx.ws.readFile('/f').subarray(0, 448)).toEqual(new Uint8Array(448));
        expect(ctx.ws.readFile('/f').subarray(448)).toEqual(patternBytes(1000, 7).subarray(448));
        // 4,000 bytes at most, 1,000 stored (the punched chunks wait for gc), 552 of /f's range not a hole.
        expect(ctx.ws.usage().storedBytes + ctx.ws.usage().garbageBytes).toBe(1000);
        await expectRefused(ctx.ws, () => ctx.ws.allocate('/f', 0, 3553), 'ENOSPC');
        await expectRefused(ctx.ws, () => ctx.ws.allocate('/f', 0, 3553, FALLOC_FL_KEEP_SIZE), 'ENOSPC');
        // Exactly what fits is granted; nothing is held, so a write may still take the room.
        ctx.ws.allocate('/f', 0, 3552);
        expect(ctx.ws.stat('/g').size).toBe(3552);
        // Past the end every byte counts against what is stored now (the extension padded the old
        // short last chunk: one more blob).
        const usage = ctx.ws.usage();
        const room = 4000 - usage.storedBytes - usage.garbageBytes;
        expect(room).toBe(4000 - 1000 - 64);
        await expectRefused(ctx.ws, () => ctx.ws.allocate('/f', 5000, room + 1), 'ENOSPC');
        ctx.ws.allocate('/f', 5000, room);
        expect(ctx.ws.stat('/g').size).toBe(5000 + room);
        // A zero range past what fits stores nothing, so the quota does not refuse it.
        ctx.ws.allocate('/f', 0, 5000, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE);
        expect(ctx.ws.readFile('/g')).toEqual(new Uint8Array(5000 + room));
      },
      { chunkSize: 64, quotas: { maxStoredBytes: 4000 } },
    );

    defineCase(target, "fallocate's bad input is refused in Linux's order and changes nothing", async (ctx) => {
      ctx.ws.writeFile('/f', 'data');
      ctx.ws.mkdir('/dir');
      const cases: [() => unknown, Parameters<typeof expectRefused>[2]][] = [
        [() => ctx.ws.allocate('/f', -1, 10), 'EINVAL'],
        [() => ctx.ws.allocate('/f', 0, 0), 'EINVAL'],
        [() => ctx.ws.allocate('/f', 0, -5), 'EINVAL'],
        [() => ctx.ws.allocate('/f', 0.5, 10), 'EINVAL'],
        [() => ctx.ws.allocate('/f', 0, 10, -1), 'EINVAL'],
        [() => ctx.ws.allocate('/f', 0, 10, 0x80), 'ENOTSUP'],
        [() => ctx.ws.allocate('/f', 0, 10, 2 ** 32), 'EINVAL'], // not an int, not mode 0
        [() => ctx.ws.allocate('/f', 0, 10, 1.5), 'EINVAL'],
        [() => ctx.ws.allocate('/f', 0, 10, FALLOC_FL_PUNCH_HOLE), 'ENOTSUP'],
        [() => ctx.ws.allocate('/f', 0, 10, PUNCH | FALLOC_FL_ZERO_RANGE), 'EINVAL'],
        [() => ctx.ws.allocate('/f', 0, 10, 0x08), 'ENOTSUP'], // COLLAPSE_RANGE
        [() => ctx.ws.allocate('/f', 0, 10, 0x20), 'ENOTSUP'], // INSERT_RANGE
        [() => ctx.ws.allocate('/f', 0, 10, 0x40), 'ENOTSUP'], // UNSHARE_RANGE
        [() => ctx.ws.allocate('/dir', 0, 10), 'EISDIR'],
        [() => ctx.ws.allocate('/missing', 0, 10), 'ENOENT'],
        [() => ctx.ws.allocate('relative', 0, 10), 'EINVAL'],
        [() => ctx.ws.allocate('/f', MAX_FILE_SIZE - 5, 6), 'EFBIG'],
      ];
      for (const [fn, code] of cases) {
        const error = await expectRefused(ctx.ws, fn, code);
        expect(error).toMatchObject({ syscall: 'fallocate' });
      }
    });
  });
}
