/**
 * The mount's keep_cache (libfuse 2's auto_cache), on its request handlers (adapters/fuse/lowlevel.ts)
 * with a fake addon, no kernel: an open keeps the kernel's cached pages only when the file's size
 * and mtime are what they were at its last close. The last close of a written file takes them
 * from what its write buffer committed (no statement), so they must match the row exactly.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { LowLevelFs } from '../adapters/fuse/lowlevel.ts';
import { SQLiteWorkspaceProvider } from '../adapters/vfs/index.ts';
import { createNodeSqliteBackend } from '../backends/node-sqlite/index.ts';
import { openWorkspace, type Workspace } from '../core/workspace.ts';
import { fakeMount } from './support/fake-fuse.ts';

const O_WRONLY = 0o1;
const O_CREAT = 0o100;
const SET_MTIME = 1 << 5;

const opened: Array<{ fs: LowLevelFs; ws: Workspace }> = [];
afterEach(() => {
  for (const { fs, ws } of opened.splice(0)) {
    fs.releaseAll();
    ws.close();
  }
});

function mount() {
  const ws = openWorkspace(createNodeSqliteBackend({ path: ':memory:' }));
  const provider = new SQLiteWorkspaceProvider(ws, { umask: 0, checkPermissions: false });
  const { fs, send } = fakeMount(provider);
  opened.push({ fs, ws });
  /** What a writer's close sends with the writeback cache: its pages, its mtime, flush, release. */
  const writeClose = (ino: number, fh: number, text: string, mtime: number) => {
    expect(send('write', { ino, fh, offset: 0, data: Buffer.from(text) }).errno).toBe(0);
    expect(send('setattr', { ino, fh, toSet: SET_MTIME, mtime }).errno).toBe(0);
    expect(send('flush', { ino, fh }).errno).toBe(0);
    expect(send('release', { ino, fh }).errno).toBe(0);
  };
  /** Opens `ino` for reading and closes it again; returns whether the kernel may keep its pages. */
  const reopen = (ino: number): boolean | undefined => {
    const reply = send('open', { ino, flags: 0 });
    expect(reply.errno).toBe(0);
    send('release', { ino, fh: reply.fh });
    return reply.keep;
  };
  return { ws, send, writeClose, reopen, settle: () => fs.settle() };
}

describe("the mount's keep_cache", () => {
  it('keeps the pages of a file as its last close left it, whether written through a create or an open, and drops them once it changed', () => {
    const m = mount();
    const created = m.send('create', { ino: 1, name: 'f', mode: 0o644, flags: O_WRONLY | O_CREAT });
    const ino = created.ino as number;
    // The kernel's mtime (the writeback cache's setattr) is what the commit records.
    m.writeClose(ino, created.fh as number, 'first', 1_700_000_000_123);
    m.settle();
    expect(m.ws.stat('/f')).toMatchObject({ size: 5, mtimeMs: 1_700_000_000_123 });
    expect(m.reopen(ino)).toBe(true);
    expect(m.reopen(ino)).toBe(true);

    // Rewritten through an open for writing: its close's mark is the new size and mtime.
    const rewriting = m.send('open', { ino, flags: O_WRONLY });
    m.writeClose(ino, rewriting.fh as number, 'second, longer', 1_700_000_000_456);
    expect(m.reopen(ino)).toBe(true);

    // Changed behind the mount's back (as sync or another process would): the pages go.
    m.settle();
    m.ws.writeFile('/f', 'changed elsewhere');
    expect(m.reopen(ino)).toBe(false);
    expect(m.reopen(ino)).toBe(true);
  });

  it('a write handle closed while another stays open marks what the buffer shows; the last close what it committed', () => {
    const m = mount();
    const first = m.send('create', { ino: 1, name: 'g', mode: 0o644, flags: O_WRONLY | O_CREAT });
    const ino = first.ino as number;
    const second = m.send('open', { ino, flags: O_WRONLY });
    m.writeClose(ino, first.fh as number, 'one', 1_700_000_000_001);
    expect(m.reopen(ino)).toBe(true);
    expect(m.send('write', { ino, fh: second.fh, offset: 3, data: Buffer.from('two') }).errno).toBe(0);
    expect(m.send('setattr', { ino, fh: second.fh, toSet: SET_MTIME, mtime: 1_700_000_000_002 }).errno).toBe(0);
    expect(m.send('release', { ino, fh: second.fh }).errno).toBe(0); // commits at the last release
    expect(m.ws.stat('/g')).toMatchObject({ size: 6, mtimeMs: 1_700_000_000_002 });
    expect(m.ws.readFile('/g', 'utf8')).toBe('onetwo');
    expect(m.reopen(ino)).toBe(true);
  });
});
