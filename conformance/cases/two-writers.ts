/**
 * A buffered write session (the mount's, the provider's) and other writers of the same file:
 * another process, the CLI, sync. Whatever the interleaving, the result is one a local
 * filesystem gives two writers of one file: the session's writes and truncates take effect at its
 * commit, each at its offset, over whatever the others committed; the size comes from the last size
 * change. Never a size that disagrees with the chunk list.
 *
 * @module
 */
import { describe, expect } from 'vitest';
import { SQLiteWorkspaceProvider } from '../../adapters/vfs/index.ts';
import { truncateAt, writeAt } from '../../core/handles.ts';
import { type CaseContext, defineCase, expectFsckClean } from '../harness.ts';
import type { ConformanceTarget } from '../target.ts';
import { patternBytes } from './files.ts';

type Op = { kind: 'write'; offset: number; bytes: Uint8Array } | { kind: 'truncate'; length: number };

/** Applies `op` to `file` as a local filesystem would; returns the new content. */
function apply(file: Uint8Array, op: Op): Uint8Array {
  if (op.kind === 'truncate') {
    const out = new Uint8Array(op.length);
    out.set(file.subarray(0, Math.min(op.length, file.byteLength)));
    return out;
  }
  const end = op.offset + op.bytes.byteLength;
  const out = new Uint8Array(Math.max(file.byteLength, end));
  out.set(file);
  out.set(op.bytes, op.offset);
  return out;
}

/** A small deterministic generator (mulberry32). */
function random(seed: number): (below: number) => number {
  let a = seed >>> 0;
  return (below) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * below);
  };
}

const inodeOf = (ctx: CaseContext, path: string): number => ctx.ws.stat(path).ino;

/** Cases for a buffered write session racing other writers. */
export function twoWriterCases(target: ConformanceTarget): void {
  describe('two writers: a buffered session and direct writes', () => {
    defineCase(
      target,
      'a whole-file replacement under an open session: the session writes land on the new content',
      (ctx) => {
        // The repro: the mount writes a 256 KiB file, the CLI puts 192 KiB meanwhile.
        const chunk = ctx.db.chunkSize;
        const p = new SQLiteWorkspaceProvider(ctx.ws);
        ctx.ws.writeFile('/f', patternBytes(4 * chunk, 1));
        p.openWriteBufferSync('/f');
        p.writeRangeSync('/f', patternBytes(chunk, 2), chunk);
        ctx.ws.writeFile('/f', patternBytes(3 * chunk, 3)); // the other writer
        p.releaseWriteBufferSync('/f');
        let expected = patternBytes(3 * chunk, 3);
        expected = apply(expected, { kind: 'write', offset: chunk, bytes: patternBytes(chunk, 2) });
        expect(ctx.ws.stat('/f').size).toBe(3 * chunk);
        expect(ctx.ws.readFile('/f')).toEqual(expected);
        expectFsckClean(ctx.ws);
      },
      { chunkSize: 64 },
    );

    defineCase(
      target,
      'size from the last size change: a session write past a truncate by another, a session truncate after an append by another',
      (ctx) => {
        const p = new SQLiteWorkspaceProvider(ctx.ws);
        ctx.ws.writeFile('/f', patternBytes(100, 1));
        const inode = inodeOf(ctx, '/f');
        // The session writes at 90..110 (past the old end); another process cuts the file to 10.
        p.openWriteBufferSync('/f');
        p.writeRangeSync('/f', patternBytes(20, 2), 90);
        truncateAt(ctx.db, inode, 10);
        p.releaseWriteBufferSync('/f');
        let model = apply(patternBytes(100, 1), { kind: 'truncate', length: 10 });
        model = apply(model, { kind: 'write', offset: 90, bytes: patternBytes(20, 2) });
        expect(ctx.ws.readFile('/f')).toEqual(model);
        expectFsckClean(ctx.ws);
        // The session truncates to 50; another process appends 30 bytes meanwhile: the truncate wins, being later.
        p.openWriteBufferSync('/f');
        p.truncateFileSync('/f', 50);
        writeAt(ctx.db, inode, 110, patternBytes(30, 3));
        model = apply(model, { kind: 'write', offset: 110, bytes: patternBytes(30, 3) });
        p.releaseWriteBufferSync('/f');
        model = apply(model, { kind: 'truncate', length: 50 });
        expect(ctx.ws.readFile('/f')).toEqual(model);
        expect(ctx.ws.stat('/f').size).toBe(50);
      },
      { chunkSize: 16 },
    );

    defineCase(
      target,
      'random interleavings of a session (with staged chunks) and direct writes, truncates, replacements match a local filesystem',
      (ctx) => {
        const p = new SQLiteWorkspaceProvider(ctx.ws, { writeBufferChunks: 4 });
        let merges = 0;
        for (let seed = 1; seed <= 6; seed++) {
          const next = random(seed);
          const path = `/f${seed}`;
          ctx.ws.writeFile(path, patternBytes(next(300), seed));
          let committed = ctx.ws.readFile(path);
          const inode = inodeOf(ctx, path);
          p.openWriteBufferSync(path);
          const buffer = p.writeBufferOf(path);
          if (!buffer) throw new Error('no buffer');
          let pending: Op[] = [];
          let others = false;
          for (let step = 0; step < 250; step++) {
            const choice = next(100);
            const offset = next(400);
            const bytes = patternBytes(1 + next(70), seed * 1000 + step);
            if (choice < 40) {
              p.writeRangeSync(path, bytes, offset);
              pending.push({ kind: 'write', offset, bytes });
            } else if (choice < 48) {
              const length = next(400);
              p.truncateFileSync(path, length);
              pending.push({ kind: 'truncate', length });
            } else if (choice < 62) {
              writeAt(ctx.db, inode, offset, bytes);
              committed = apply(committed, { kind: 'write', offset, bytes });
              others = true;
            } else if (choice < 68) {
              const length = next(400);
              truncateAt(ctx.db, inode, length);
              committed = apply(committed, { kind: 'truncate', length });
              others = true;
            } else if (choice < 72) {
              const content = patternBytes(next(400), step);
              ctx.ws.writeFile(path, content);
              committed = content;
              others = true;
            } else if (choice < 85) {
              if (!others) {
                // Nothing else wrote: the session sees exactly its own view.
                const view = pending.reduce(apply, committed);
                expect(new Uint8Array(p.readRangeSync(path, 0, 1000))).toEqual(view);
              }
              if (buffer.commit()) merges++;
              committed = pending.reduce(apply, committed);
              pending = [];
              others = false;
              expect(ctx.ws.readFile(path)).toEqual(committed);
              expect(ctx.ws.stat(path).size).toBe(committed.byteLength);
            }
          }
          p.releaseWriteBufferSync(path);
          committed = pending.reduce(apply, committed);
          expect(ctx.ws.readFile(path)).toEqual(committed);
          expectFsckClean(ctx.ws);
        }
        expect(merges).toBeGreaterThan(20);
      },
      { chunkSize: 16, timeout: 120_000 },
    );
  });
}
