/**
 * Open files under pressure, compared with the real node:fs on disk: many fds on one file with
 * interleaved writes and reads, buffered writes seen by plain reads, and a file unlinked or renamed
 * while open. Every read returns the same bytes as node:fs returns for the same steps.
 */
import * as fs from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SQLiteWorkspaceProvider } from '../adapters/vfs/index.ts';
import { createNodeSqliteBackend } from '../backends/node-sqlite/index.ts';
import { openWorkspace } from '../core/workspace.ts';

/** The calls both sides answer: node:fs itself, and the provider (paths under its own root). */
interface FsLike {
  openSync(path: string, flags: string): number;
  writeSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: number | null): number;
  readSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: number | null): number;
  closeSync(fd: number): void;
  unlinkSync(path: string): void;
  renameSync(from: string, to: string): void;
  readFileSync(path: string): Uint8Array;
  existsSync(path: string): boolean;
  /** A FUSE-style write session: writes and truncates by path, committed at the end (node:fs: written at once). */
  session(path: string): { write(data: string, offset: number): void; truncate(length: number): void; end(): void };
}

function realFs(root: string): FsLike {
  const at = (path: string) => join(root, path);
  return {
    openSync: (p, flags) => fs.openSync(at(p), flags),
    writeSync: (fd, b, o, l, p) => fs.writeSync(fd, b, o, l, p),
    readSync: (fd, b, o, l, p) => fs.readSync(fd, b, o, l, p),
    closeSync: (fd) => fs.closeSync(fd),
    unlinkSync: (p) => fs.unlinkSync(at(p)),
    renameSync: (a, b) => fs.renameSync(at(a), at(b)),
    readFileSync: (p) => fs.readFileSync(at(p)),
    existsSync: (p) => fs.existsSync(at(p)),
    session: (p) => {
      const fd = fs.openSync(at(p), 'r+');
      return {
        write: (data, offset) => void fs.writeSync(fd, Buffer.from(data, 'latin1'), 0, data.length, offset),
        truncate: (length) => fs.ftruncateSync(fd, length),
        end: () => fs.closeSync(fd),
      };
    },
  };
}

function workspaceFs(): FsLike {
  const provider = new SQLiteWorkspaceProvider(openWorkspace(createNodeSqliteBackend(), { chunkSize: 64 }));
  return {
    openSync: (p, flags) => provider.openFdSync(p, flags),
    writeSync: (fd, b, o, l, p) => provider.writeSync(fd, b, o, l, p),
    readSync: (fd, b, o, l, p) => provider.readSync(fd, b, o, l, p),
    closeSync: (fd) => provider.closeSync(fd),
    unlinkSync: (p) => provider.unlinkSync(p),
    renameSync: (a, b) => provider.renameSync(a, b),
    readFileSync: (p) => provider.readFileSync(p) as Uint8Array,
    existsSync: (p) => provider.existsSync(p),
    session: (p) => {
      provider.openWriteBufferSync(p);
      return {
        write: (data, offset) => void provider.writeRangeSync(p, Buffer.from(data, 'latin1'), offset),
        truncate: (length) => provider.truncateFileSync(p, length),
        end: () => provider.releaseWriteBufferSync(p),
      };
    },
  };
}

const text = (bytes: Uint8Array) => Buffer.from(bytes).toString('latin1');

/** Runs the same scenario on `fsLike` and returns everything it observed. */
function scenario(f: FsLike): string[] {
  const seen: string[] = [];
  const read = (fd: number, length: number, position: number | null) => {
    const buffer = new Uint8Array(length);
    const n = f.readSync(fd, buffer, 0, length, position);
    seen.push(text(buffer.subarray(0, n)));
  };
  const write = (fd: number, data: string, position: number | null) => {
    const bytes = Buffer.from(data, 'latin1');
    seen.push(String(f.writeSync(fd, bytes, 0, bytes.length, position)));
  };
  // Many fds on one file, each with its own position; writes through one are read through another.
  const fds = ['w+', 'r+', 'r+', 'a+', 'r'].map((flags, i) => f.openSync('/shared', i === 0 ? flags : flags));
  write(fds[0], 'x'.repeat(150), null);
  write(fds[1], 'ONE', null);
  write(fds[2], 'two-two', 70);
  write(fds[3], '<appended>', null);
  read(fds[4], 20, null);
  read(fds[4], 20, 60);
  write(fds[1], 'again', null);
  read(fds[0], 500, 0);
  read(fds[2], 16, null);
  write(fds[3], '[end]', 0); // a+ appends whatever the position says
  seen.push(text(f.readFileSync('/shared')));
  // Unlinked while open: the fds go on reading and writing the same file; the name is gone.
  const keep = f.openSync('/doomed', 'w+');
  write(keep, 'still here', null);
  f.unlinkSync('/doomed');
  seen.push(String(f.existsSync('/doomed')));
  write(keep, ' and more', null);
  read(keep, 100, 0);
  f.closeSync(keep);
  // Renamed while open: the fd follows the file, not the name.
  const moving = f.openSync('/before', 'w+');
  write(moving, 'contents', null);
  f.renameSync('/before', '/after');
  write(moving, '+later', null);
  read(moving, 100, 0);
  f.closeSync(moving);
  seen.push(text(f.readFileSync('/after')), String(f.existsSync('/before')));
  for (const fd of fds) f.closeSync(fd);
  // A buffered write session interleaved with reads through an fd: reads see the buffered bytes.
  const reader = f.openSync('/shared', 'r');
  const session = f.session('/shared');
  session.write('BUFFERED', 10);
  read(reader, 30, 0);
  session.truncate(40);
  read(reader, 100, 0);
  session.write('tail', 120);
  read(reader, 200, 100);
  session.end();
  f.closeSync(reader);
  seen.push(text(f.readFileSync('/shared')));
  return seen;
}

describe('open files, compared with node:fs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dofs-open-files-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('many fds, buffered writes, unlink and rename while open: every observation matches node:fs', () => {
    const expected = scenario(realFs(dir));
    expect(scenario(workspaceFs())).toEqual(expected);
  });
});
