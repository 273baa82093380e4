/**
 * The @platformatic/vfs provider, continued: watching, read-only mode, and the buffered-write
 * surface a FUSE driver uses (memory-only writes, one commit per session, only dirty chunks
 * hashed, bounded memory).
 *
 * @module
 */
import fc from 'fast-check';
import { describe, expect } from 'vitest';
import { SQLiteWorkspaceProvider } from '../../adapters/vfs/index.ts';
import { hashBytes } from '../../core/blobs.ts';
import { Database } from '../../core/database.ts';
import { defineCase, expectRefused } from '../harness.ts';
import type { ConformanceTarget } from '../target.ts';
import { patternBytes } from './files.ts';
import { countingBlobs, pread, providerOf, revision } from './provider.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const text = (bytes: Uint8Array): string => decoder.decode(bytes);
const MiB = 1024 * 1024;

/** A plain byte array's model of a file after `data` is written at `at` (grown with zeros as a file is). */
function writtenAt(model: Uint8Array<ArrayBuffer>, data: Uint8Array, at: number): Uint8Array<ArrayBuffer> {
  const out = at + data.byteLength > model.byteLength ? new Uint8Array(at + data.byteLength) : model;
  if (out !== model) out.set(model);
  out.set(data, at);
  return out;
}

/** The model after a truncate to `length`. */
function cutAt(model: Uint8Array, length: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(length);
  out.set(model.subarray(0, Math.min(length, model.byteLength)));
  return out;
}

/** Cases for the provider's watching, read-only mode and buffered writes. */
export function providerBufferCases(target: ConformanceTarget): void {
  describe('vfs provider: watching and read-only mode', () => {
    defineCase(target, 'watch, watchAsync and watchFile are driven by commits', async (ctx) => {
      const p = providerOf(ctx);
      p.mkdirSync('/d');
      const seen: Array<[string, string]> = [];
      const watcher = p.watch('/d');
      watcher.on('change', (eventType: string, filename: string) => seen.push([eventType, filename]));
      const iterable = p.watchAsync('/d');
      const iterator = iterable[Symbol.asyncIterator]();
      const stats: Array<[number, number]> = [];
      const listener = (curr: { size: number }, prev: { size: number }) => stats.push([curr.size, prev.size]);
      p.watchFile('/d/f', listener);
      const tick = () => new Promise((resolve) => setTimeout(resolve, 0));
      p.writeFileSync('/d/f', 'abc');
      await tick();
      const fd = p.openFdSync('/d/f', 'r+');
      p.writeSync(fd, 'de', 3);
      p.closeSync(fd);
      await tick();
      expect(seen.slice(0, 2)).toEqual([
        ['rename', 'f'],
        ['change', 'f'],
      ]);
      expect(seen.at(-1)).toEqual(['change', 'f']);
      expect(await iterator.next()).toEqual({ value: { eventType: 'rename', filename: 'f' }, done: false });
      expect(stats).toEqual([
        [3, 0],
        [5, 3],
      ]);
      watcher.close();
      await iterator.return?.();
      p.unwatchFile('/d/f', listener);
      const count = seen.length;
      p.writeFileSync('/d/f', 'more');
      await new Promise((resolve) => setTimeout(resolve, 0));
      expect(seen.length).toBe(count);
    });

    defineCase(target, "watchFile's watcher: addListener takes a bare listener or an event", async (ctx) => {
      const p = providerOf(ctx);
      const sizes: string[] = [];
      const bare = (curr: { size: number }) => sizes.push(`bare ${curr.size}`);
      const named = (curr: { size: number }) => sizes.push(`named ${curr.size}`);
      const watcher = p.watchFile('/f');
      watcher.addListener(bare);
      watcher.addListener('change', named);
      const tick = () => new Promise((resolve) => setTimeout(resolve, 0));
      p.writeFileSync('/f', 'ab');
      await tick();
      expect(sizes).toEqual(['bare 2', 'named 2']);
      expect([watcher.removeListener(bare), watcher.removeListener(bare)]).toEqual([true, false]);
      expect(watcher.removeListener('change', named)).toBe(watcher);
      expect(watcher.hasNoListeners()).toBe(true);
      p.writeFileSync('/f', 'abc');
      await tick();
      expect(sizes).toEqual(['bare 2', 'named 2']);
      p.unwatchFile('/f');
    });

    defineCase(target, 'a read-only provider refuses every change with EROFS and still reads', async (ctx) => {
      ctx.ws.writeFile('/f', 'x');
      ctx.ws.mkdir('/d');
      const p = providerOf(ctx, { readOnly: true });
      expect(p.readonly).toBe(true);
      for (const call of [
        () => p.writeFileSync('/f', 'y'),
        () => p.appendFileSync('/f', 'y'),
        () => p.openFdSync('/f', 'r+'),
        () => p.openFdSync('/new', 'w'),
        () => p.mkdirSync('/e'),
        () => p.rmdirSync('/d'),
        () => p.unlinkSync('/f'),
        () => p.rmSync('/d', { recursive: true }),
        () => p.renameSync('/f', '/g'),
        () => p.linkSync('/f', '/g'),
        () => p.symlinkSync('f', '/g'),
        () => p.chmodSync('/f', 0o600),
        () => p.utimesSync('/f', 1, 1),
        () => p.truncateSync('/f'),
        () => p.copyFileSync('/f', '/g'),
        () => p.openWriteBufferSync('/f'),
        () => p.accessSync('/f', 2),
      ]) {
        await expectRefused(ctx.ws, call, 'EROFS');
      }
      const fd = p.openFdSync('/f', 'r');
      expect(pread(p, fd, 0)).toBe('x');
      p.closeSync(fd);
      expect(p.readdirSync('/')).toEqual(['d', 'f']);
    });
  });

  describe('vfs provider: buffered writes (the FUSE surface)', () => {
    defineCase(
      target,
      'writes stay in memory, reads and stat see them, the release commits once',
      (ctx) => {
        const p = providerOf(ctx);
        p.openWriteBufferForCreateSync('/f', { mode: 0o600 });
        expect(ctx.ws.stat('/f').mode & 0o777).toBe(0o600);
        const rev = revision(ctx.ws);
        p.writeRangeSync('/f', encoder.encode('hello world'), 0);
        p.writeRangeSync('/f', encoder.encode('W'), 6);
        p.truncateFileSync('/f', 9);
        p.writeRangeSync('/f', encoder.encode('!'), 12);
        expect(ctx.ws.stat('/f').size).toBe(0); // nothing committed yet
        expect(revision(ctx.ws)).toBe(rev);
        expect(text(p.readRangeSync('/f', 0, 100))).toBe('hello Wor\0\0\0!');
        expect(text(p.readRangeSync('/f', 6, 3))).toBe('Wor');
        expect(p.statSync('/f').size).toBe(13);
        expect(p.readFileSync('/f', 'utf8')).toBe('hello Wor\0\0\0!');
        p.releaseWriteBufferSync('/f');
        expect(revision(ctx.ws)).toBe(rev + 1);
        expect(ctx.ws.readFile('/f', 'utf8')).toBe('hello Wor\0\0\0!');
        expect(ctx.ws.stat('/f').mode & 0o777).toBe(0o600);
      },
      { chunkSize: 16 },
    );

    defineCase(target, 'several opens share one buffer; the last release commits', (ctx) => {
      const p = providerOf(ctx);
      ctx.ws.writeFile('/f', 'base');
      const rev = revision(ctx.ws);
      p.openWriteBufferSync('/f');
      p.openWriteBufferSync('/f');
      p.writeRangeSync('/f', encoder.encode('B'), 0);
      p.releaseWriteBufferSync('/f');
      expect(ctx.ws.readFile('/f', 'utf8')).toBe('base');
      p.writeRangeSync('/f', encoder.encode('!'), 4);
      p.releaseWriteBufferSync('/f');
      expect(ctx.ws.readFile('/f', 'utf8')).toBe('Base!');
      expect(revision(ctx.ws)).toBe(rev + 1);
      p.releaseWriteBufferSync('/f'); // nothing open: harmless
      // An open with no change commits nothing.
      p.openWriteBufferSync('/f');
      p.releaseWriteBufferSync('/f');
      expect(revision(ctx.ws)).toBe(rev + 1);
      // Without a buffer, writeRange and truncateFile go straight to the workspace.
      p.writeRangeSync('/f', encoder.encode('?'), 5);
      p.truncateFileSync('/f', 6);
      expect(ctx.ws.readFile('/f', 'utf8')).toBe('Base!?');
    });

    defineCase(
      target,
      "a write buffer keeps an mtime given to it (a FUSE writeback cache's) until a later change, and its commit stores it",
      (ctx) => {
        const p = providerOf(ctx);
        ctx.ws.writeFile('/m', 'x');
        const ino = ctx.ws.stat('/m').ino;
        const buffer = p.openInodeBufferSync(ino);
        expect(buffer.pending).toBe(false);
        p.writeInodeSync(ino, encoder.encode('yz'), 1);
        expect(buffer.pending).toBe(true);
        const given = ctx.clock.now() - 60_000;
        buffer.setMtime(given);
        expect(p.statInodeSync(ino).mtimeMs).toBe(given);
        ctx.clock.advance(1000);
        buffer.commit();
        expect(buffer.pending).toBe(false);
        expect(ctx.ws.stat('/m').mtimeMs).toBe(given);
        expect(ctx.ws.stat('/m').ctimeMs).toBe(ctx.clock.now());
        expect(ctx.ws.readFile('/m', 'utf8')).toBe('xyz');
        // A write after it stamps its own time again.
        buffer.setMtime(given);
        ctx.clock.advance(1000);
        p.writeInodeSync(ino, encoder.encode('!'), 3);
        const written = ctx.clock.now();
        ctx.clock.advance(1000);
        p.releaseInodeBufferSync(ino);
        expect(ctx.ws.stat('/m').mtimeMs).toBe(ctx.clock.now());
        expect(written).toBeLessThan(ctx.clock.now());
        expect(ctx.ws.readFile('/m', 'utf8')).toBe('xyz!');
      },
    );

    defineCase(
      target,
      'a read by inode with cache: false reads the same bytes and keeps nothing it loaded in the blob cache',
      (ctx) => {
        const p = providerOf(ctx);
        const bytes = patternBytes(5 * 16 + 3);
        ctx.ws.writeFile('/f', bytes);
        const ino = ctx.ws.stat('/f').ino;
        ctx.db.blobCache.clear();
        const got = new Uint8Array(bytes.byteLength + 10);
        expect(p.readInodeSync(ino, 0, got, { cache: false })).toBe(bytes.byteLength);
        expect(got.subarray(0, bytes.byteLength)).toEqual(bytes);
        expect(ctx.db.blobCache.size).toBe(0);
        // The default keeps what it loads; a read without caching still uses what is cached.
        expect(p.readInodeSync(ino, 16, got.subarray(0, 40))).toBe(40);
        expect(ctx.db.blobCache.size).toBe(3);
        got.fill(0);
        expect(p.readInodeSync(ino, 20, got, { cache: false })).toBe(bytes.byteLength - 20);
        expect(got.subarray(0, bytes.byteLength - 20)).toEqual(bytes.subarray(20));
        expect(ctx.db.blobCache.size).toBe(3);
        // An open write buffer is seen either way; bad input is refused.
        p.openInodeBufferSync(ino);
        p.writeInodeSync(ino, encoder.encode('XY'), 1);
        expect(p.readInodeSync(ino, 0, got.subarray(0, 4), { cache: false })).toBe(4);
        expect([...got.subarray(0, 4)]).toEqual([bytes[0], 88, 89, bytes[3]]);
        p.releaseInodeBufferSync(ino);
        expect(() => p.readInodeSync(ino, -1, got, { cache: false })).toThrow();
      },
      { chunkSize: 16 },
    );

    defineCase(target, 'mayStage: a write the buffer could hold is false, one past its bound is true', (ctx) => {
      const p = providerOf(ctx);
      ctx.ws.writeFile('/s', '');
      const ino = ctx.ws.stat('/s').ino;
      const buffer = p.openInodeBufferSync(ino);
      expect(buffer.mayStage(100)).toBe(false);
      expect(buffer.mayStage(buffer.maxHeldBytes)).toBe(true);
      // Filling it up to where one more chunk could not be held makes any write true.
      const chunk = ctx.db.chunkSize;
      const fill = buffer.maxHeldBytes - 3 * chunk;
      p.writeInodeSync(ino, new Uint8Array(fill), 0);
      expect(buffer.mayStage(1)).toBe(true);
      p.releaseInodeBufferSync(ino);
      expect(ctx.ws.stat('/s').size).toBe(fill);
    });

    defineCase(
      target,
      'by inode (the FUSE low-level surface): shared buffers, stats, an unlinked file kept open',
      (ctx) => {
        const p = providerOf(ctx);
        ctx.ws.writeFile('/f', 'base');
        const ino = ctx.ws.stat('/f').ino;
        const rev = revision(ctx.ws);
        p.openInodeBufferSync(ino);
        p.openInodeBufferSync(ino);
        expect(p.writeInodeSync(ino, encoder.encode('BASE!'), 0)).toBe(5);
        p.truncateInodeSync(ino, 7);
        // Stats and reads by inode see the buffer; the workspace does not yet.
        expect(p.statInodeSync(ino).size).toBe(7);
        // The plain figures say the same as the Stats object.
        const stats = p.statInodeSync(ino);
        expect(p.statInodeFieldsSync(ino)).toMatchObject({
          ino,
          size: 7,
          blocks: stats.blocks,
          mtimeMs: stats.mtimeMs,
          ctimeMs: stats.ctimeMs,
          mode: stats.mode,
          nlink: stats.nlink,
        });
        // A directory reports its one block there too, as stat does.
        expect(p.statInodeFieldsSync(1)).toMatchObject({ size: 4096, blocks: 8, blksize: 4096 });
        expect(p.statInodeSync(1)).toMatchObject({ size: 4096, blocks: 8 });
        const seen = new Uint8Array(8);
        expect(p.readInodeSync(ino, 0, seen)).toBe(7);
        expect(text(seen.subarray(0, 7))).toBe('BASE!\0\0');
        expect(ctx.ws.readFile('/f', 'utf8')).toBe('base');
        expect(p.inodeBufferOf(ino)?.size).toBe(7);
        // Unlinked through the provider (which honours open files) while open: the bytes stay until the last reference goes.
        p.unlinkSync('/f');
        p.releaseInodeBufferSync(ino);
        expect(p.statInodeSync(ino)).toMatchObject({ size: 7, nlink: 0 });
        p.releaseInodeBufferSync(ino);
        expect(p.inodeBufferOf(ino)).toBeUndefined();
        expect(ctx.db.all('SELECT inode FROM vfs_nodes WHERE inode = ?', [ino])).toEqual([]);
        expect(revision(ctx.ws)).toBeGreaterThan(rev);
        // Bad input changes nothing: a negative offset or length is refused.
        ctx.ws.writeFile('/g', 'g');
        const g = ctx.ws.stat('/g').ino;
        expect(() => p.writeInodeSync(g, encoder.encode('x'), -1)).toThrow();
        expect(() => p.truncateInodeSync(g, -1)).toThrow();
        expect(ctx.ws.readFile('/g', 'utf8')).toBe('g');
      },
    );

    defineCase(
      target,
      'the release re-hashes only the chunks that changed',
      (ctx) => {
        const counted = countingBlobs(ctx.backend);
        const p = new SQLiteWorkspaceProvider(new Database(counted, { now: ctx.clock.now }));
        const chunk = 64;
        p.writeFileSync('/f', patternBytes(chunk * 10 + 7));
        const before = ctx.db.all<{ idx: number; hash: string }>('SELECT idx, hash FROM vfs_chunks ORDER BY idx');
        const rev = revision(ctx.ws);
        p.openWriteBufferSync('/f');
        p.writeRangeSync('/f', encoder.encode('xy'), chunk * 3 + 10); // chunk 3
        p.writeRangeSync('/f', encoder.encode('z'), chunk * 3 + 60); // chunk 3 again
        p.writeRangeSync('/f', encoder.encode('w'), chunk * 7); // chunk 7
        counted.blobPuts = 0;
        p.releaseWriteBufferSync('/f');
        expect(counted.blobPuts).toBe(2);
        expect(revision(ctx.ws)).toBe(rev + 1);
        const after = ctx.db.all<{ idx: number; hash: string }>('SELECT idx, hash FROM vfs_chunks ORDER BY idx');
        expect(after.filter((row, i) => row.hash !== before[i].hash).map((row) => row.idx)).toEqual([3, 7]);
        const expected = patternBytes(chunk * 10 + 7);
        expected.set(encoder.encode('xy'), chunk * 3 + 10);
        expected.set(encoder.encode('z'), chunk * 3 + 60);
        expected.set(encoder.encode('w'), chunk * 7);
        expect(ctx.ws.readFile('/f')).toEqual(expected);
      },
      { chunkSize: 64 },
    );

    defineCase(
      target,
      'truncates in a session: cut into a chunk, grow past committed bytes, reads see zeros',
      (ctx) => {
        const p = providerOf(ctx);
        ctx.ws.writeFile('/f', patternBytes(100));
        p.openWriteBufferSync('/f');
        p.truncateFileSync('/f', 20);
        p.truncateFileSync('/f', 70);
        p.writeRangeSync('/f', encoder.encode('end'), 67);
        const expected = new Uint8Array(70);
        expected.set(patternBytes(100).subarray(0, 20));
        expected.set(encoder.encode('end'), 67);
        expect(new Uint8Array(p.readRangeSync('/f', 0, 1000))).toEqual(expected);
        p.releaseWriteBufferSync('/f');
        expect(ctx.ws.readFile('/f')).toEqual(expected);
      },
      { chunkSize: 16 },
    );

    defineCase(
      target,
      'fds and truncate on a file with an open buffer go through the buffer; a rename keeps it',
      (ctx) => {
        const p = providerOf(ctx);
        ctx.ws.writeFile('/f', 'abc');
        p.openWriteBufferSync('/f');
        const fd = p.openFdSync('/f', 'r+');
        p.writeSync(fd, 'XYZW', 1);
        expect(pread(p, fd, 0)).toBe('aXYZW');
        expect(p.fstatSync(fd).size).toBe(5);
        expect(ctx.ws.readFile('/f', 'utf8')).toBe('abc');
        p.renameSync('/f', '/g');
        p.writeRangeSync('/g', encoder.encode('!'), 5);
        p.closeSync(fd);
        p.releaseWriteBufferSync('/g');
        expect(ctx.ws.readFile('/g', 'utf8')).toBe('aXYZW!');
      },
    );

    defineCase(
      target,
      'a buffer agrees with a plain byte array: random writes (patches), truncates, reads, commits, a small bound',
      (ctx) => {
        // 16-byte chunks and a 3-chunk bound: partial writes are kept as patches, chunks are
        // materialised by reads, staged when the bound is reached, and hashed once at commit.
        const op = fc.oneof(
          fc.record({
            kind: fc.constant('write' as const),
            at: fc.nat({ max: 120 }),
            data: fc.uint8Array({ minLength: 1, maxLength: 20 }),
          }),
          fc.record({ kind: fc.constant('truncate' as const), at: fc.nat({ max: 130 }) }),
          fc.record({ kind: fc.constant('read' as const), at: fc.nat({ max: 130 }), length: fc.nat({ max: 40 }) }),
          fc.record({ kind: fc.constant('commit' as const) }),
        );
        let run = 0;
        fc.assert(
          fc.property(
            fc.uint8Array({ maxLength: 100 }),
            fc.array(op, { minLength: 1, maxLength: 40 }),
            (initial, ops) => {
              const path = `/m${run++}`;
              ctx.ws.writeFile(path, initial);
              let model = Uint8Array.from(initial);
              const p = new SQLiteWorkspaceProvider(ctx.ws, { writeBufferChunks: 3 });
              p.openWriteBufferSync(path);
              const bufferOf = () => {
                const buffer = p.writeBufferOf(path);
                if (!buffer) throw new Error('no buffer');
                return buffer;
              };
              let buffer = bufferOf();
              for (const step of ops) {
                if (step.kind === 'write') {
                  p.writeRangeSync(path, step.data, step.at);
                  model = writtenAt(model, step.data, step.at);
                } else if (step.kind === 'truncate') {
                  p.truncateFileSync(path, step.at);
                  model = cutAt(model, step.at);
                } else if (step.kind === 'read') {
                  const got = p.readRangeSync(path, step.at, step.length);
                  expect([...got]).toEqual([...model.subarray(step.at, step.at + step.length)]);
                } else {
                  p.releaseWriteBufferSync(path);
                  expect(buffer.heldBytes).toBe(0); // its accounting came back to nothing
                  expect([...ctx.ws.readFile(path)]).toEqual([...model]);
                  p.openWriteBufferSync(path);
                  buffer = bufferOf();
                }
                expect(buffer.heldBytes).toBeLessThanOrEqual(buffer.maxHeldBytes);
                expect(buffer.heldBytes).toBeGreaterThanOrEqual(0);
              }
              expect(p.statSync(path).size).toBe(model.byteLength);
              p.releaseWriteBufferSync(path);
              expect(buffer.heldBytes).toBe(0);
              expect([...ctx.ws.readFile(path)]).toEqual([...model]);
            },
          ),
          { numRuns: 60 },
        );
      },
      { chunkSize: 16, timeout: 120_000 },
    );

    defineCase(
      target,
      "bytes handed over (the mount's requests): whole chunks kept without a copy agree with a plain byte array",
      (ctx) => {
        // 16-byte chunks, a 3-chunk bound: handed-over whole chunks are held as they are, then
        // written into again in part, cut by truncates, staged when the bound is reached, committed.
        const chunk = 16;
        const op = fc.oneof(
          fc.record({
            kind: fc.constant('write' as const),
            at: fc.oneof(
              fc.nat({ max: 8 }).map((n) => n * chunk),
              fc.nat({ max: 130 }),
            ),
            // Writes of a chunk or more (fast-check's arrays are short by default), and small ones.
            data: fc.oneof(
              fc.uint8Array({ minLength: chunk, maxLength: 3 * chunk + 5, size: 'max' }),
              fc.uint8Array({ minLength: 1, maxLength: 8 }),
            ),
          }),
          fc.record({ kind: fc.constant('truncate' as const), at: fc.nat({ max: 140 }) }),
          fc.record({ kind: fc.constant('read' as const), at: fc.nat({ max: 140 }), length: fc.nat({ max: 40 }) }),
          fc.record({ kind: fc.constant('commit' as const) }),
        );
        let run = 0;
        fc.assert(
          fc.property(
            fc.uint8Array({ maxLength: 100 }),
            fc.array(op, { minLength: 1, maxLength: 40 }),
            (initial, ops) => {
              const path = `/h${run++}`;
              ctx.ws.writeFile(path, initial);
              const ino = ctx.ws.stat(path).ino;
              let model = Uint8Array.from(initial);
              const p = new SQLiteWorkspaceProvider(ctx.ws, { writeBufferChunks: 3 });
              p.openInodeBufferSync(ino);
              for (const step of ops) {
                if (step.kind === 'write') {
                  // A fresh copy is handed over: the test never touches it again, as the mount does.
                  expect(p.writeInodeSync(ino, step.data.slice(), step.at, true)).toBe(step.data.byteLength);
                  model = writtenAt(model, step.data, step.at);
                } else if (step.kind === 'truncate') {
                  p.truncateInodeSync(ino, step.at);
                  model = cutAt(model, step.at);
                } else if (step.kind === 'read') {
                  const got = new Uint8Array(step.length);
                  const n = p.readInodeSync(ino, step.at, got);
                  expect([...got.subarray(0, n)]).toEqual([...model.subarray(step.at, step.at + step.length)]);
                } else {
                  p.releaseInodeBufferSync(ino);
                  expect([...ctx.ws.readFile(path)]).toEqual([...model]);
                  p.openInodeBufferSync(ino);
                }
                const buffer = p.inodeBufferOf(ino);
                expect(buffer?.heldBytes).toBeLessThanOrEqual(buffer?.maxHeldBytes ?? 0);
              }
              p.releaseInodeBufferSync(ino);
              expect([...ctx.ws.readFile(path)]).toEqual([...model]);
            },
          ),
          {
            numRuns: 100,
            // Patches on two chunks, then one of them written whole: its patches must not outlive it.
            examples: [
              [
                Uint8Array.from(patternBytes(100)),
                [
                  { kind: 'write' as const, at: 3, data: Uint8Array.of(1, 2) },
                  { kind: 'write' as const, at: 35, data: Uint8Array.of(3, 4) },
                  { kind: 'write' as const, at: 0, data: new Uint8Array(16).fill(9) },
                  { kind: 'commit' as const },
                ],
              ],
            ],
          },
        );
        // Every stored chunk is named by its bytes' hash (fsck after the case re-hashes them too).
        const stored =
          'SELECT b.hash AS hash, y.bytes AS bytes FROM vfs_blobs b JOIN vfs_blob_bytes y ON y.rowid = b.id';
        for (const row of ctx.db.all<{ hash: string; bytes: Uint8Array }>(stored))
          expect(hashBytes(row.bytes)).toBe(row.hash);
      },
      { chunkSize: 16, timeout: 120_000 },
    );

    defineCase(
      target,
      "write-back: a change by path lands after the fd writes made before it (writeFile, appendFile, open 'w', copyFile, truncate, utimes)",
      (ctx) => {
        // Each change by path is made while fd writes wait in their session; committed after it, the
        // session would be replayed over the change (writeFile's bytes lost under older fd writes).
        // What each leaves is what node:fs leaves on a disk.
        const p = providerOf(ctx, { writeBack: true });
        ctx.ws.writeFile('/src', 'Z');
        const changes: [string, () => void, string][] = [
          ['writeFile', () => p.writeFileSync('/f', 'BB'), 'BB\0\0\0C'],
          ['appendFile', () => p.appendFileSync('/f', 'BB'), 'AAAABC'],
          ["open 'w'", () => p.closeSync(p.openFdSync('/f', 'w')), '\0\0\0\0\0C'],
          ['copyFile', () => p.copyFileSync('/src', '/f'), 'Z\0\0\0\0C'],
          ['truncate', () => p.truncateSync('/f', 1), 'A\0\0\0\0C'],
        ];
        for (const [name, change, expected] of changes) {
          const fd = p.openFdSync('/f', 'w+');
          p.writeSync(fd, 'AAAA', 0);
          change();
          p.writeSync(fd, 'C', 5);
          expect(p.readFileSync('/f', 'latin1'), name).toBe(expected);
          p.closeSync(fd);
          expect(text(ctx.ws.readFile('/f')), name).toBe(expected);
        }
        // Times given by utimes stay: the session's commit stamps no time of its own over them.
        const fd = p.openFdSync('/f', 'r+');
        p.writeSync(fd, 'D', 0);
        ctx.clock.advance(1000);
        p.utimesSync('/f', 1000, 2000);
        expect(p.statSync('/f').mtimeMs).toBe(2_000_000);
        ctx.clock.advance(1000);
        p.closeSync(fd);
        expect(ctx.ws.stat('/f').mtimeMs).toBe(2_000_000);
        expect(ctx.ws.readFile('/f', 'utf8')).toBe('D\0\0\0\0C');
      },
    );

    defineCase(
      target,
      'a 64 MiB sequential write holds at most the bound in memory',
      (ctx) => {
        const p = providerOf(ctx);
        p.openWriteBufferForCreateSync('/big');
        const buffer = p.writeBufferOf('/big');
        if (!buffer) throw new Error('no buffer');
        const chunk = ctx.ws.db.chunkSize;
        const piece = patternBytes(chunk, 7);
        for (let offset = 0; offset < 64 * MiB; offset += piece.byteLength) {
          piece[0] = offset / piece.byteLength; // every piece differs
          p.writeRangeSync('/big', piece, offset);
          expect(buffer.heldBytes).toBeLessThanOrEqual(buffer.maxHeldBytes);
        }
        expect(buffer.peakHeldBytes).toBeLessThanOrEqual(buffer.maxHeldBytes);
        expect(buffer.maxHeldBytes).toBe(Math.max(16 * chunk, 8 * MiB)); // the default bound
        expect(p.statSync('/big').size).toBe(64 * MiB);
        expect(p.readRangeSync('/big', 3 * chunk, 1)[0]).toBe(3);
        const rev = revision(ctx.ws);
        p.releaseWriteBufferSync('/big');
        expect(revision(ctx.ws)).toBe(rev + 1);
        expect(ctx.ws.stat('/big').size).toBe(64 * MiB);
        expect(ctx.ws.readFile('/big', { byteOffset: 100 * chunk, byteLength: 2 })[0]).toBe(100);
      },
      { timeout: 300_000 },
    );
  });
}
