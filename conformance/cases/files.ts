/**
 * Files: writing, reading, appending, truncating, copying, streams, chunking and dedup.
 *
 * @module
 */
import { describe, expect } from 'vitest';
import { hashBytes, loadBlob } from '../../core/blobs.ts';
import { BLOB_CACHE_ENTRY_BYTES } from '../../core/database.ts';
import type { Workspace } from '../../core/workspace.ts';
import { defineCase, expectCode, expectRefused } from '../harness.ts';
import type { ConformanceTarget } from '../target.ts';

const encoder = new TextEncoder();

/** Deterministic pseudo-random bytes (xorshift), so cases need no platform randomness. */
export function patternBytes(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** Reads a stream to the end: its bytes, and how many pieces it came in. */
export async function collect(stream: ReadableStream<Uint8Array>): Promise<{ bytes: Uint8Array; pieces: number }> {
  const parts: Uint8Array[] = [];
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
  }
  return { bytes: concatBytes(parts), pieces: parts.length };
}

/** `parts` end to end in one array. */
function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, part) => n + part.byteLength, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}

function storedChunks(ws: Workspace, inode: number): number {
  return Number(ws.db.all<{ n: number }>('SELECT count(*) AS n FROM vfs_chunks WHERE inode = ?', [inode])[0].n);
}

/** Cases for file content. */
export function fileCases(target: ConformanceTarget): void {
  describe('writeFile and readFile', () => {
    defineCase(
      target,
      'stat of a plain path is one statement, block count included; links and errors as before',
      async (ctx) => {
        const { ws } = ctx;
        ws.mkdir('/a/b', { recursive: true });
        ws.writeFile('/a/b/f', 'x'.repeat(10));
        ws.writeFile('/a/b/hole', 'y');
        ws.truncate('/a/b/hole', 3 * ws.db.chunkSize);
        ws.symlink('b/f', '/a/l');
        const before = ctx.guard.statements;
        const info = ws.stat('/a/b/f');
        expect(ctx.guard.statements - before).toBe(1);
        expect(info).toMatchObject({ size: 10, isFile: true });
        expect(info.blocks).toBeGreaterThan(0);
        // Holes take no blocks, counted in the same statement.
        expect(ws.stat('/a/b/hole').blocks).toBe(ws.lstat('/a/b/hole').blocks);
        expect(ws.stat('/a/b/hole').blocks).toBeLessThan(Math.ceil((3 * ws.db.chunkSize) / 512));
        expect(ws.stat('/a/b').isDirectory).toBe(true);
        expect(ws.stat('/').isDirectory).toBe(true);
        // A link at the end: stat follows it, lstat describes it.
        expect(ws.stat('/a/l')).toMatchObject({ size: 10, isFile: true, blocks: info.blocks });
        expect(ws.lstat('/a/l')).toMatchObject({ isSymbolicLink: true, size: 3 });
        await expectCode(() => ws.stat('/a/b/f/'), 'ENOTDIR');
        await expectCode(() => ws.stat('/a/b/f/x'), 'ENOTDIR');
        await expectCode(() => ws.stat('/a/nope'), 'ENOENT');
        await expectCode(() => ws.stat('/a/l/'), 'ENOTDIR');
        await expectCode(() => ws.stat('relative'), 'EINVAL');
        // A caller other than root needs search on every directory walked.
        ws.chmod('/a', 0o600);
        ws.db.checkPermissions = true;
        await ws.db.withOwner({ uid: 1000, gid: 1000 }, () => expectCode(() => ws.stat('/a/b/f'), 'EACCES'));
        ws.db.checkPermissions = false;
        ws.chmod('/a', 0o755);
      },
    );

    defineCase(
      target,
      'a small file is read with its path walk in one statement; everything else as before',
      async (ctx) => {
        const { ws } = ctx;
        ws.mkdir('/a/b', { recursive: true });
        ws.writeFile('/a/b/f', 'small');
        ws.writeFile('/a/b/empty', '');
        ws.writeFile('/a/b/hole', '');
        ws.truncate('/a/b/hole', 100);
        const before = ctx.guard.statements;
        expect(ws.readFile('/a/b/f', 'utf8')).toBe('small');
        expect(ctx.guard.statements - before).toBe(1);
        expect(ws.readFile('/a/b/empty')).toEqual(new Uint8Array(0));
        expect(ws.readFile('/a/b/hole')).toEqual(new Uint8Array(100));
        // The full resolution decides the rest: links, ranges, errors, larger files.
        ws.symlink('b/f', '/a/l');
        expect(ws.readFile('/a/l', 'utf8')).toBe('small');
        expect(ws.readFile('/a/b/f', { byteOffset: 1, byteLength: 2 })).toEqual(new TextEncoder().encode('ma'));
        await expectCode(() => ws.readFile('/a/b/f/'), 'ENOTDIR');
        await expectCode(() => ws.readFile('/a/b/f/x'), 'ENOTDIR');
        await expectCode(() => ws.readFile('/a/b'), 'EISDIR');
        await expectCode(() => ws.readFile('/a/b/.'), 'EISDIR');
        await expectCode(() => ws.readFile('/a/nope'), 'ENOENT');
        await expectCode(() => ws.readFile('relative'), 'EINVAL');
        const big = new Uint8Array(ws.db.chunkSize + 1).fill(7);
        ws.writeFile('/a/big', big);
        expect(ws.readFile('/a/big')).toEqual(big);
        // A caller other than root is checked: no read bit, no read.
        ws.chmod('/a/b/f', 0o200);
        ws.db.checkPermissions = true;
        await ws.db.withOwner({ uid: 1000, gid: 1000 }, () => expectCode(() => ws.readFile('/a/b/f'), 'EACCES'));
        ws.db.checkPermissions = false;
      },
    );

    defineCase(target, 'writes and reads a string as UTF-8', ({ ws }) => {
      ws.writeFile('/hello.txt', 'héllo wörld ✓');
      expect(ws.readFile('/hello.txt', 'utf8')).toBe('héllo wörld ✓');
      expect(ws.readFile('/hello.txt')).toEqual(encoder.encode('héllo wörld ✓'));
      expect(ws.stat('/hello.txt').size).toBe(encoder.encode('héllo wörld ✓').length);
    });
    defineCase(target, 'writes bytes, ArrayBuffers and views', ({ ws }) => {
      const bytes = patternBytes(100);
      ws.writeFile('/a', bytes);
      ws.writeFile('/b', bytes.slice().buffer as ArrayBuffer);
      ws.writeFile('/c', new DataView(bytes.buffer, 10, 20));
      expect(ws.readFile('/a')).toEqual(bytes);
      expect(ws.readFile('/b')).toEqual(bytes);
      expect(ws.readFile('/c')).toEqual(bytes.slice(10, 30));
    });
    defineCase(
      target,
      'the blob cache counts what each entry costs, so many tiny files stay within its bytes',
      ({ ws }) => {
        // Room for 100 entries of 15 bytes: 1,000 tiny chunks loaded (as sync's fetchObjects loads
        // them) must not leave 1,000 cached.
        const text = (i: number) => encoder.encode(`tiny file ${String(i).padStart(4, '0')}\n`);
        for (let i = 0; i < 1_000; i++) ws.writeFile(`/f${i}`, text(i));
        ws.db.blobCache.clear();
        for (let i = 0; i < 1_000; i++) expect(loadBlob(ws.db, hashBytes(text(i)))).toEqual(text(i));
        expect(ws.db.blobCache.size).toBe(100);
        expect(ws.db.blobCache.calculatedSize).toBe(100 * (15 + BLOB_CACHE_ENTRY_BYTES));
      },
      { cacheBytes: 100 * (15 + BLOB_CACHE_ENTRY_BYTES) },
    );
    defineCase(
      target,
      'a readFile of more than a sixteenth of the blob cache reads around it; smaller ones fill it',
      ({ ws }) => {
        // A cache of 4,800 bytes (entries counted with their overhead): a sixteenth is 300 bytes,
        // less than a 5-chunk file (320), more than a 4-chunk one (256).
        const large = patternBytes(64 * 5, 21);
        const small = patternBytes(64 * 4, 22);
        ws.writeFile('/large', large);
        ws.writeFile('/small', small);
        ws.db.blobCache.clear();
        expect(ws.readFile('/large')).toEqual(large);
        expect(ws.db.blobCache.size).toBe(0);
        expect(ws.readFile('/small')).toEqual(small);
        expect(ws.db.blobCache.size).toBe(4);
        // Holes and the bytes after the last chunk still read as zeros (the buffer is not zero-filled first).
        ws.truncate('/large', 64 * 9);
        const expected = new Uint8Array(64 * 9);
        expected.set(large);
        expect(ws.readFile('/large')).toEqual(expected);
      },
      { chunkSize: 64, cacheBytes: 4_800 },
    );
    defineCase(target, 'an empty file has size 0 and no chunks', ({ ws }) => {
      ws.writeFile('/empty', '');
      expect(ws.stat('/empty').size).toBe(0);
      expect(ws.readFile('/empty').byteLength).toBe(0);
      expect(storedChunks(ws, ws.stat('/empty').ino)).toBe(0);
    });
    defineCase(target, 'overwriting keeps the inode and the mode', ({ ws }) => {
      ws.writeFile('/f', 'one', { mode: 0o600 });
      const before = ws.stat('/f');
      ws.writeFile('/f', 'two two');
      const after = ws.stat('/f');
      expect(after.ino).toBe(before.ino);
      expect(after.mode & 0o7777).toBe(0o600);
      expect(ws.readFile('/f', 'utf8')).toBe('two two');
    });
    defineCase(target, 'overwriting with a mode sets it', ({ ws }) => {
      ws.writeFile('/f', 'one');
      ws.writeFile('/f', 'two', { mode: 0o640 });
      expect(ws.stat('/f').mode & 0o7777).toBe(0o640);
    });
    defineCase(target, 'a new file gets mode 0o644 by default', ({ ws }) => {
      ws.writeFile('/f', 'x');
      expect(ws.stat('/f').mode).toBe(0o100644);
    });
    defineCase(target, 'exclusive creates a new file', ({ ws }) => {
      ws.writeFile('/f', 'x', { exclusive: true });
      expect(ws.readFile('/f', 'utf8')).toBe('x');
    });
    defineCase(target, 'writing through a symlink writes its target', ({ ws }) => {
      ws.writeFile('/target', 'old');
      ws.symlink('/target', '/link');
      ws.writeFile('/link', 'new');
      expect(ws.readFile('/target', 'utf8')).toBe('new');
      expect(ws.lstat('/link').isSymbolicLink).toBe(true);
    });
    defineCase(target, 'writing through a dangling symlink creates its target', ({ ws }) => {
      ws.mkdir('/d');
      ws.symlink('created', '/d/link');
      ws.writeFile('/d/link', 'made');
      expect(ws.readFile('/d/created', 'utf8')).toBe('made');
    });
    defineCase(target, 'reads a byte range', ({ ws }) => {
      ws.writeFile('/f', '0123456789');
      expect(ws.readFile('/f', { byteOffset: 3, byteLength: 4 })).toEqual(encoder.encode('3456'));
      expect(ws.readFile('/f', { byteOffset: 8 })).toEqual(encoder.encode('89'));
      expect(ws.readFile('/f', { byteOffset: 20, byteLength: 5 }).byteLength).toBe(0);
      expect(ws.readFile('/f', { byteOffset: 9, byteLength: 100 })).toEqual(encoder.encode('9'));
    });
    defineCase(
      target,
      'reads ranges across chunk boundaries',
      ({ ws }) => {
        const bytes = patternBytes(1000, 7);
        ws.writeFile('/f', bytes);
        for (const [offset, length] of [
          [0, 64],
          [63, 2],
          [64, 64],
          [100, 500],
          [999, 1],
          [0, 1000],
        ]) {
          expect(ws.readFile('/f', { byteOffset: offset, byteLength: length })).toEqual(
            bytes.slice(offset, offset + length),
          );
        }
      },
      { chunkSize: 64 },
    );
  });

  describe('chunks and dedup', () => {
    defineCase(
      target,
      'a file is split into fixed-size chunks, the last one short',
      ({ ws }) => {
        ws.writeFile('/f', patternBytes(64 * 3 + 10));
        const rows = ws.db.all<{ idx: number; size: number }>(
          'SELECT idx, size FROM vfs_chunks WHERE inode = ? ORDER BY idx',
          [ws.stat('/f').ino],
        );
        expect(rows.map((r) => Number(r.size))).toEqual([64, 64, 64, 10]);
      },
      { chunkSize: 64 },
    );
    defineCase(
      target,
      'identical chunks are stored once',
      ({ ws }) => {
        const block = patternBytes(64, 3);
        const data = new Uint8Array(64 * 8);
        for (let i = 0; i < 8; i++) data.set(block, i * 64);
        ws.writeFile('/a', data);
        ws.writeFile('/b', data);
        const usage = ws.usage();
        expect(usage.logicalBytes).toBe(64 * 16);
        expect(usage.storedBytes).toBe(64);
        expect(usage.dedupRatio).toBe(16);
      },
      { chunkSize: 64 },
    );
    defineCase(
      target,
      'one write stores its new chunks together: each once, known ones not again, fewer statements than chunks',
      (ctx) => {
        const { ws } = ctx;
        const known = [0, 1, 2, 3, 4].map((i) => patternBytes(64, 21 + i));
        ws.writeFile('/k', concatBytes(known));
        const repeated = patternBytes(64, 1000);
        // 130 chunks: more than one statement's worth of rows (50, at 100 parameters), with chunks
        // stored before and one chunk repeated within the write and across statement boundaries.
        const chunks = Array.from({ length: 130 }, (_, i) =>
          i % 10 === 0 ? known[(i / 10) % 5] : i % 7 === 0 ? repeated : patternBytes(64, 2000 + i),
        );
        const before = ctx.guard.statements;
        ws.writeFile('/a', concatBytes(chunks));
        expect(ctx.guard.statements - before).toBeLessThan(chunks.length);
        const names = ws.db
          .all<{ hash: string }>('SELECT hash FROM vfs_chunks WHERE inode = ? ORDER BY idx', [ws.stat('/a').ino])
          .map((row) => row.hash);
        expect(names).toEqual(chunks.map((chunk) => hashBytes(chunk)));
        const distinct = new Set(names).size;
        const count = (table: string) => Number(ws.db.all<{ n: number }>(`SELECT count(*) AS n FROM ${table}`)[0].n);
        expect(count('vfs_blobs')).toBe(distinct);
        expect(count('vfs_blob_bytes')).toBe(distinct);
        expect(ws.usage().storedBytes).toBe(distinct * 64);
        expect(ws.readFile('/a')).toEqual(concatBytes(chunks));
      },
      { chunkSize: 64 },
    );
    defineCase(
      target,
      'a chunk written again is named by its bytes: look-alikes and collected blobs are hashed anew',
      ({ ws }) => {
        // Chunks of 16 KiB and more that look like one stored recently are compared with its bytes
        // instead of hashed; whatever the shortcut, every name must be the SHA-256 of its bytes.
        const size = 16 * 1024;
        const data = patternBytes(size * 3 + 100, 11);
        const names = (path: string) =>
          ws.db
            .all<{ hash: string }>('SELECT hash FROM vfs_chunks WHERE inode = ? ORDER BY idx', [ws.stat(path).ino])
            .map((r) => r.hash);
        const expected = [0, 1, 2, 3].map((i) => hashBytes(data.slice(i * size, (i + 1) * size)));
        ws.writeFile('/a', data);
        ws.writeFile('/b', data);
        expect(names('/a')).toEqual(expected);
        expect(names('/b')).toEqual(expected);
        expect(ws.usage().storedBytes).toBe(data.byteLength);
        // The same length and the same bytes everywhere but byte 1 of each chunk (a look-alike).
        const alike = data.slice();
        for (let i = 0; i < 3; i++) alike[i * size + 1] ^= 0xff;
        ws.writeFile('/c', alike);
        expect(names('/c')).toEqual([0, 1, 2, 3].map((i) => hashBytes(alike.slice(i * size, (i + 1) * size))));
        expect(ws.readFile('/c')).toEqual(alike);
        expect(ws.readFile('/b')).toEqual(data);
        // The blobs a look-alike would be compared with are gone: the bytes are hashed and stored again.
        const other = patternBytes(size * 2, 12);
        ws.writeFile('/d', other);
        ws.unlink('/d');
        expect(ws.gc().blobs).toBe(2);
        ws.writeFile('/e', other);
        expect(names('/e')).toEqual([hashBytes(other.slice(0, size)), hashBytes(other.slice(size))]);
        expect(ws.readFile('/e')).toEqual(other);
      },
      { chunkSize: 16 * 1024 },
    );
    defineCase(
      target,
      'a partial write re-hashes only the chunks it touches',
      ({ ws }) => {
        ws.writeFile('/f', patternBytes(64 * 10, 5));
        const before = ws.db.all<{ idx: number; hash: string }>(
          'SELECT idx, hash FROM vfs_chunks WHERE inode = ? ORDER BY idx',
          [ws.stat('/f').ino],
        );
        ws.appendFile('/f', 'tail');
        const after = ws.db.all<{ idx: number; hash: string }>(
          'SELECT idx, hash FROM vfs_chunks WHERE inode = ? ORDER BY idx',
          [ws.stat('/f').ino],
        );
        expect(after.slice(0, 10)).toEqual(before);
        expect(after).toHaveLength(11);
      },
      { chunkSize: 64 },
    );
    defineCase(
      target,
      'blob names are the SHA-256 of the chunk bytes',
      ({ ws }) => {
        const data = patternBytes(100, 9);
        ws.writeFile('/f', data);
        const hashes = ws.db
          .all<{ hash: string }>('SELECT hash FROM vfs_chunks WHERE inode = ? ORDER BY idx', [ws.stat('/f').ino])
          .map((r) => r.hash);
        expect(hashes).toEqual([hashBytes(data.slice(0, 64)), hashBytes(data.slice(64))]);
      },
      { chunkSize: 64 },
    );
  });

  describe('appendFile and truncate', () => {
    defineCase(target, 'appendFile creates a missing file', ({ ws }) => {
      ws.appendFile('/log', 'a');
      ws.appendFile('/log', 'b');
      expect(ws.readFile('/log', 'utf8')).toBe('ab');
    });
    defineCase(target, "appendFile's mode applies only when it creates the file", ({ ws }) => {
      ws.appendFile('/log', 'a', { mode: 0o600 });
      ws.appendFile('/log', 'b', { mode: 0o666 });
      expect(ws.stat('/log').mode & 0o7777).toBe(0o600);
    });
    defineCase(
      target,
      'appending across many chunk boundaries',
      ({ ws }) => {
        let expected = '';
        for (let i = 0; i < 50; i++) {
          const piece = `line ${i} ${'x'.repeat(i)}\n`;
          ws.appendFile('/log', piece);
          expected += piece;
        }
        expect(ws.readFile('/log', 'utf8')).toBe(expected);
      },
      { chunkSize: 32 },
    );
    defineCase(
      target,
      'truncate shortens inside a chunk and on a boundary',
      ({ ws }) => {
        const data = patternBytes(200, 11);
        ws.writeFile('/f', data);
        ws.truncate('/f', 100);
        expect(ws.readFile('/f')).toEqual(data.slice(0, 100));
        ws.truncate('/f', 64);
        expect(ws.readFile('/f')).toEqual(data.slice(0, 64));
        ws.truncate('/f');
        expect(ws.stat('/f').size).toBe(0);
      },
      { chunkSize: 64 },
    );
    defineCase(
      target,
      'truncate extends with zeros',
      ({ ws }) => {
        ws.writeFile('/f', 'abc');
        ws.truncate('/f', 300);
        const bytes = ws.readFile('/f');
        expect(bytes.byteLength).toBe(300);
        expect(bytes.slice(0, 3)).toEqual(encoder.encode('abc'));
        expect(bytes.slice(3).every((b) => b === 0)).toBe(true);
      },
      { chunkSize: 64 },
    );
    defineCase(target, 'truncate follows symlinks', ({ ws }) => {
      ws.writeFile('/f', 'abcdef');
      ws.symlink('f', '/l');
      ws.truncate('/l', 2);
      expect(ws.readFile('/f', 'utf8')).toBe('ab');
    });
  });

  describe('copyFile', () => {
    defineCase(
      target,
      'shares chunks and copies no bytes',
      ({ ws }) => {
        ws.writeFile('/src', patternBytes(64 * 5, 2));
        const blobsBefore = ws.usage().blobs;
        ws.copyFile('/src', '/dst');
        expect(ws.readFile('/dst')).toEqual(ws.readFile('/src'));
        expect(ws.usage().blobs).toBe(blobsBefore);
        expect(ws.stat('/dst').ino).not.toBe(ws.stat('/src').ino);
      },
      { chunkSize: 64 },
    );
    defineCase(target, 'the copy is independent of the source', ({ ws }) => {
      ws.writeFile('/src', 'original');
      ws.copyFile('/src', '/dst');
      ws.appendFile('/src', '+more');
      ws.writeFile('/dst', 'changed');
      expect(ws.readFile('/src', 'utf8')).toBe('original+more');
      expect(ws.readFile('/dst', 'utf8')).toBe('changed');
    });
    defineCase(target, 'copying over an existing file keeps its inode and takes the source mode', ({ ws }) => {
      ws.writeFile('/src', 'source', { mode: 0o600 });
      ws.writeFile('/dst', 'destination');
      const ino = ws.stat('/dst').ino;
      ws.copyFile('/src', '/dst');
      expect(ws.stat('/dst').ino).toBe(ino);
      expect(ws.stat('/dst').mode & 0o7777).toBe(0o600);
      expect(ws.readFile('/dst', 'utf8')).toBe('source');
    });
    defineCase(target, 'copying a file onto itself changes nothing', ({ ws }) => {
      ws.writeFile('/f', 'same');
      ws.copyFile('/f', '/f');
      expect(ws.readFile('/f', 'utf8')).toBe('same');
    });
    defineCase(target, 'a directory source: the destination’s own errors come first', async ({ ws }) => {
      ws.mkdir('/dir', { mode: 0o750 });
      ws.writeFile('/file', 'data');
      ws.mkdir('/other');
      ws.symlink('loop', '/loop');
      ws.symlink('nowhere', '/dl');
      await expectRefused(ws, () => ws.copyFile('/dir', '/missing/x'), 'ENOENT');
      await expectRefused(ws, () => ws.copyFile('/dir', '/file/x'), 'ENOTDIR');
      await expectRefused(ws, () => ws.copyFile('/dir', '/file', { exclusive: true }), 'EEXIST');
      await expectRefused(ws, () => ws.copyFile('/dir', '/dl', { exclusive: true }), 'EEXIST');
      await expectRefused(ws, () => ws.copyFile('/dir', '/loop'), 'ELOOP');
      await expectRefused(ws, () => ws.copyFile('/dir', '/other'), 'EISDIR');
      await expectRefused(ws, () => ws.copyFile('/dir', '/dir'), 'EISDIR');
      // A free name is created and removed again: nothing changes.
      const error = (await expectRefused(ws, () => ws.copyFile('/dir', '/new'), 'EISDIR')) as Error &
        Record<string, unknown>;
      expect(error.message).toMatch(/^EISDIR: illegal operation on a directory.*, copyfile '\/dir' -> '\/new'$/);
      expect(error.dest).toBe('/new');
    });
    defineCase(
      target,
      'a directory source over a file: emptied, given the directory’s mode, its name removed',
      async ({ ws }) => {
        // What Linux's node:fs (libuv) leaves: it opened and truncated the destination before the read failed.
        ws.mkdir('/dir', { mode: 0o750 });
        ws.writeFile('/file', 'data', { mode: 0o600 });
        ws.link('/file', '/hard');
        await expectCode(() => ws.copyFile('/dir', '/file'), 'EISDIR');
        expect(ws.exists('/file')).toBe(false);
        expect(ws.readFile('/hard', 'utf8')).toBe('');
        expect(ws.stat('/hard').mode & 0o7777).toBe(0o750);
        expect(ws.stat('/hard').nlink).toBe(1);
        // Through a dangling symlink: its target is made, empty, and the link is removed.
        ws.symlink('made', '/dl');
        await expectCode(() => ws.copyFile('/dir', '/dl'), 'EISDIR');
        expect(ws.exists('/dl')).toBe(false);
        expect(ws.readFile('/made', 'utf8')).toBe('');
        expect(ws.stat('/made').mode & 0o7777).toBe(0o750);
        // Through a symlink to a file: the file is emptied, the link removed.
        ws.writeFile('/target', 'bytes');
        ws.symlink('target', '/lt');
        await expectCode(() => ws.copyFile('/dir', '/lt'), 'EISDIR');
        expect(ws.exists('/lt')).toBe(false);
        expect(ws.readFile('/target', 'utf8')).toBe('');
        expect(ws.readdir('/').map((e) => e.name)).toEqual(['dir', 'hard', 'made', 'target']);
      },
    );
  });

  describe('streams', () => {
    defineCase(
      target,
      'writeFile takes a ReadableStream of uneven pieces',
      async ({ ws }) => {
        const data = patternBytes(1000, 4);
        const stream = new ReadableStream<Uint8Array>({
          start(controller) {
            for (let at = 0; at < data.length; at += 37) controller.enqueue(data.slice(at, at + 37));
            controller.close();
          },
        });
        await ws.writeFile('/f', stream);
        expect(ws.readFile('/f')).toEqual(data);
      },
      { chunkSize: 64 },
    );
    defineCase(target, 'writeFile takes an async iterable of strings and bytes', async ({ ws }) => {
      async function* pieces() {
        yield 'hello ';
        yield encoder.encode('streamed ');
        yield 'world';
      }
      await ws.writeFile('/f', pieces());
      expect(ws.readFile('/f', 'utf8')).toBe('hello streamed world');
    });
    defineCase(target, 'a stream that fails leaves no file behind', async ({ ws }) => {
      async function* failing() {
        yield 'partial';
        throw new Error('source broke');
      }
      await expect(ws.writeFile('/f', failing())).rejects.toThrow('source broke');
      expect(ws.exists('/f')).toBe(false);
    });
    defineCase(
      target,
      'readFileStream yields one chunk at a time',
      async ({ ws }) => {
        const data = patternBytes(64 * 4 + 5, 8);
        ws.writeFile('/f', data);
        const { bytes, pieces } = await collect(ws.readFileStream('/f'));
        expect(bytes).toEqual(data);
        expect(pieces).toBe(5);
      },
      { chunkSize: 64 },
    );
    defineCase(
      target,
      'readFileStream reads a range',
      async ({ ws }) => {
        const data = patternBytes(300, 8);
        ws.writeFile('/f', data);
        const { bytes } = await collect(ws.readFileStream('/f', { byteOffset: 50, byteLength: 150 }));
        expect(bytes).toEqual(data.slice(50, 200));
      },
      { chunkSize: 64 },
    );
    defineCase(target, 'readFileStream of a directory is EISDIR', ({ ws }) => {
      expect(() => ws.readFileStream('/')).toThrow(expect.objectContaining({ code: 'EISDIR' }));
    });
  });
}
