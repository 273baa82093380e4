/**
 * The mount's durability promise, on its request handlers (adapters/fuse/lowlevel.ts) with a fake
 * addon over a file database, no kernel: a close is answered before its group's COMMIT (another
 * connection sees the file only once the window passed), fsync and fsyncdir only after it; and a
 * group whose COMMIT fails after a close was answered undoes the file, tells the kernel to forget
 * it, and reports the error to the next fsync or fsyncdir of what it touched, once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { OPS } from '../adapters/fuse/fuse3.ts';
import { GROUP_WINDOW_MS } from '../adapters/fuse/group-commit.ts';
import { SQLiteWorkspaceProvider } from '../adapters/vfs/index.ts';
import { createNodeSqliteBackend } from '../backends/node-sqlite/index.ts';
import { openWorkspace, type Workspace } from '../core/workspace.ts';
import { failingCommits } from './support/failing-commit.ts';
import { fakeMount } from './support/fake-fuse.ts';

const { ENOSPC } = constants.errno;
const O_WRONLY = 0o1;
const O_CREAT = 0o100;
const O_TRUNC = 0o1000;

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What every request of a batch served by hand carries. */
const REQUEST = { ino: 1, uid: 0, gid: 0, pid: 1, umask: 0 };

/** The handlers over a database file whose next group COMMIT can be made to fail as a full disk does. */
function mount() {
  const dir = mkdtempSync(join(tmpdir(), 'dofs-close-commit-'));
  dirs.push(dir);
  const path = join(dir, 'ws.db');
  const backend = createNodeSqliteBackend({ path });
  const { backend: failing, fault } = failingCommits(backend);
  const ws = openWorkspace(failing);
  const reader = openWorkspace(createNodeSqliteBackend({ path }));
  const provider = new SQLiteWorkspaceProvider(ws, { umask: 0, checkPermissions: false });
  const { fs, send, replyTo, invalidated } = fakeMount(provider);
  fs.attach({});
  /** open(O_CREAT) (or O_TRUNC of an existing file), write, close: what writeFileSync sends. */
  const writeClose = (name: string, text: string, existing?: number): number => {
    const opened = existing
      ? send('open', { ino: existing, flags: O_WRONLY | O_TRUNC })
      : send('create', { ino: 1, name, mode: 0o644, flags: O_WRONLY | O_CREAT });
    const ino = existing ?? (opened.ino as number);
    expect(opened.errno).toBe(0);
    expect(send('write', { ino, fh: opened.fh, offset: 0, data: Buffer.from(text) }).errno).toBe(0);
    expect(send('flush', { ino, fh: opened.fh }).errno).toBe(0);
    expect(send('release', { ino, fh: opened.fh }).errno).toBe(0);
    return ino;
  };
  /**
   * A committed file (its inode returned), then a lost group: for a while after it every batch of
   * changes is a transaction of its own.
   */
  const afterLostGroup = async (): Promise<number> => {
    const file = writeClose('file', 'committed');
    expect(send('fsyncdir', { ino: 1 }).errno).toBe(0);
    writeClose('lost', 'lost');
    fault.failNext = true;
    await sleep(GROUP_WINDOW_MS * 10);
    return file;
  };
  const close = () => {
    fs.releaseAll();
    reader.close();
    ws.close();
  };
  return {
    ws,
    reader,
    send,
    writeClose,
    afterLostGroup,
    fault,
    invalidated,
    close,
    settle: fs.settle,
    serve: fs.serve,
    replyTo,
    state: fs.state,
  };
}

const text = (ws: Workspace, path: string) => ws.readFile(path, 'utf8');

describe('the mount answers a close before its COMMIT, fsync and fsyncdir after it', () => {
  it('a closed file reaches the database within the group window; an fsynced one and an fsyncdir-ed directory before their reply', async () => {
    const m = mount();
    try {
      m.writeClose('closed', 'answered before its commit');
      expect(m.reader.exists('/closed')).toBe(false); // answered, not committed yet
      expect(text(m.ws, '/closed')).toBe('answered before its commit'); // the mount's own connection sees it
      await sleep(GROUP_WINDOW_MS * 10);
      expect(text(m.reader, '/closed')).toBe('answered before its commit');

      const created = m.send('create', { ino: 1, name: 'synced', mode: 0o644, flags: O_WRONLY | O_CREAT });
      m.send('write', { ino: created.ino, fh: created.fh, offset: 0, data: Buffer.from('fsynced') });
      expect(m.send('fsync', { ino: created.ino, fh: created.fh }).errno).toBe(0);
      expect(text(m.reader, '/synced')).toBe('fsynced'); // committed before the reply
      m.send('release', { ino: created.ino, fh: created.fh });

      expect(m.send('mkdir', { ino: 1, name: 'dir', mode: 0o755 }).errno).toBe(0);
      expect(m.reader.exists('/dir')).toBe(false);
      expect(m.send('fsyncdir', { ino: 1 }).errno).toBe(0);
      expect(m.reader.exists('/dir')).toBe(true);
      expect(m.reader.fsck().ok).toBe(true);
    } finally {
      m.close();
    }
  });

  it('a group lost after a close was answered: the file is undone and forgotten, the next fsync or fsyncdir of what it touched says ENOSPC once', async () => {
    const m = mount();
    try {
      const rewritten = m.writeClose('rewritten', 'committed');
      const open = m.writeClose('open', 'committed too');
      m.writeClose('moved', 'renamed, then back');
      const other = m.send('mkdir', { ino: 1, name: 'other', mode: 0o755 }).ino as number;
      expect(m.send('fsyncdir', { ino: 1 }).errno).toBe(0);
      // A file still open for writing when the group fails, and two closes answered inside it.
      const handle = m.send('open', { ino: open, flags: O_WRONLY });
      m.writeClose('lost', 'answered, then lost');
      m.writeClose('rewritten', 'rewrite answered, then lost', rewritten);
      expect(m.send('rename', { ino: 1, name: 'moved', newParent: other, newName: 'moved' }).errno).toBe(0);
      m.fault.failNext = true;
      await sleep(GROUP_WINDOW_MS * 10); // the group's COMMIT fails on its timer

      expect(m.ws.exists('/lost')).toBe(false);
      expect(text(m.ws, '/rewritten')).toBe('committed');
      expect(m.invalidated).toContain('entry 1 lost');
      expect(m.invalidated).toContain(`inode ${rewritten}`);
      // The rewritten file: its next fsync, on a descriptor opened after the loss, reports it once.
      const reopened = m.send('open', { ino: rewritten, flags: 0 });
      expect(m.send('fsync', { ino: rewritten, fh: reopened.fh }).errno).toBe(ENOSPC);
      expect(m.send('fsync', { ino: rewritten, fh: reopened.fh }).errno).toBe(0);
      expect(m.send('release', { ino: rewritten, fh: reopened.fh }).errno).toBe(0);
      // The directory whose entry was lost: its next fsyncdir reports it once.
      expect(m.send('fsyncdir', { ino: 1 }).errno).toBe(ENOSPC);
      expect(m.send('fsyncdir', { ino: 1 }).errno).toBe(0);
      // So does a rename's destination directory; the rename is undone.
      expect(text(m.ws, '/moved')).toBe('renamed, then back');
      expect(m.send('fsyncdir', { ino: other }).errno).toBe(ENOSPC);
      expect(m.send('fsyncdir', { ino: other }).errno).toBe(0);
      // The file open when it failed: its close reports it.
      expect(m.send('flush', { ino: open, fh: handle.fh }).errno).toBe(ENOSPC);
      expect(m.send('release', { ino: open, fh: handle.fh }).errno).toBe(0);
      // Nothing else changed, and writing works again.
      m.writeClose('after', 'written after the loss');
      m.settle();
      expect(text(m.reader, '/after')).toBe('written after the loss');
      expect(text(m.reader, '/open')).toBe('committed too');
      expect(m.reader.readdir('/').map((entry) => entry.name)).toEqual([
        'after',
        'moved',
        'open',
        'other',
        'rewritten',
      ]);
      expect(m.reader.fsck().ok).toBe(true);
    } finally {
      m.close();
    }
  });

  it('after a lost group: the rewritten file loses its names in the kernel; the error goes to descriptors open then and the next fsync, not to a later reader or a release', async () => {
    const m = mount();
    try {
      const file = m.writeClose('file', 'committed');
      expect(m.send('fsyncdir', { ino: 1 }).errno).toBe(0);
      // Two descriptors open when the group fails, which rewrote the file (its close answered).
      const writer = m.send('open', { ino: file, flags: O_WRONLY });
      const quiet = m.send('open', { ino: file, flags: O_WRONLY });
      m.writeClose('file', 'a longer rewrite, answered, then lost', file);
      // And a file created in the group, written and still open.
      const made = m.send('create', { ino: 1, name: 'made', mode: 0o644, flags: O_WRONLY | O_CREAT });
      m.send('write', { ino: made.ino, fh: made.fh, offset: 0, data: Buffer.from('never stored') });
      m.fault.failNext = true;
      await sleep(GROUP_WINDOW_MS * 10);
      expect(text(m.ws, '/file')).toBe('committed');
      // The kernel keeps a file's size as its own under the writeback cache, whatever getattr says
      // after an invalidation: only a name dropped lets it evict the inode and read the size again.
      expect(m.invalidated).toContain(`inode ${file}`);
      expect(m.invalidated).toContain('entry 1 file');
      // A release is answered to no one: it does not take the error from the next fsync.
      expect(m.send('release', { ino: file, fh: quiet.fh }).errno).toBe(0);
      // A reader opening the file after the loss closes without it, and its fsync reports it once.
      const reader = m.send('open', { ino: file, flags: 0 });
      expect(m.send('flush', { ino: file, fh: reader.fh }).errno).toBe(0);
      expect(m.send('fsync', { ino: file, fh: reader.fh }).errno).toBe(ENOSPC);
      expect(m.send('fsync', { ino: file, fh: reader.fh }).errno).toBe(0);
      expect(m.send('release', { ino: file, fh: reader.fh }).errno).toBe(0);
      // The descriptor open when it failed: its setattr (the close's mtime) and its flush report it.
      expect(m.send('setattr', { ino: file, fh: writer.fh, toSet: 1 << 5, mtime: Date.now() }).errno).toBe(ENOSPC);
      expect(m.send('flush', { ino: file, fh: writer.fh }).errno).toBe(ENOSPC);
      expect(m.send('flush', { ino: file, fh: writer.fh }).errno).toBe(0);
      expect(m.send('release', { ino: file, fh: writer.fh }).errno).toBe(0);
      // The created file is gone: its close reports the loss, and its release is no I/O error.
      expect(m.ws.exists('/made')).toBe(false);
      expect(m.send('flush', { ino: made.ino, fh: made.fh }).errno).toBe(ENOSPC);
      expect(m.send('release', { ino: made.ino, fh: made.fh }).errno).toBe(0);
      m.settle();
      expect(text(m.reader, '/file')).toBe('committed');
      expect(m.reader.fsck().ok).toBe(true);
    } finally {
      m.close();
    }
  });

  it('a statement after which SQLite rolled the whole group back (SQLITE_FULL): the group is lost at once, and an open file it created answers ENOSPC, not ENOENT', () => {
    const m = mount();
    try {
      m.writeClose('kept', 'committed');
      expect(m.send('fsyncdir', { ino: 1 }).errno).toBe(0);
      const made = m.send('create', { ino: 1, name: 'made', mode: 0o644, flags: O_WRONLY | O_CREAT });
      expect(made.errno).toBe(0);
      m.fault.fullNextStatement = true;
      expect(m.send('mkdir', { ino: 1, name: 'dir', mode: 0o755 }).errno).toBe(ENOSPC);
      // Undone with the group: the kernel hears of it now, not at the group's timer.
      expect(m.ws.exists('/made')).toBe(false);
      expect(m.invalidated).toContain('entry 1 made');
      // tar's fchown and fchmod on the descriptor it still holds: the loss, not a missing file.
      expect(m.send('setattr', { ino: made.ino, fh: made.fh, toSet: 1, mode: 0o600 }).errno).toBe(ENOSPC);
      expect(m.send('flush', { ino: made.ino, fh: made.fh }).errno).toBe(ENOSPC);
      expect(m.send('release', { ino: made.ino, fh: made.fh }).errno).toBe(0);
      m.writeClose('after', 'written after the loss');
      m.settle();
      expect(text(m.reader, '/after')).toBe('written after the loss');
      expect(m.reader.readdir('/').map((entry) => entry.name)).toEqual(['after', 'kept']);
      expect(m.reader.fsck().ok).toBe(true);
    } finally {
      m.close();
    }
  });

  it('a batch whose own transaction fails lets go of the files it opened: the kernel was told they failed and never releases them', async () => {
    const m = mount();
    try {
      const file = await m.afterLostGroup();
      expect(m.state.openHandles).toBe(0);
      m.fault.failNextTransaction = true;
      m.serve([
        { ...REQUEST, op: OPS.indexOf('create'), req: 1001, name: 'made', mode: 0o644, flags: O_WRONLY | O_CREAT },
        { ...REQUEST, op: OPS.indexOf('open'), req: 1002, ino: file, flags: O_WRONLY | O_TRUNC },
      ]);
      expect(m.ws.exists('/made')).toBe(false);
      expect(text(m.ws, '/file')).toBe('committed');
      expect(m.state.openHandles).toBe(0);
      expect(m.state.writableHandles).toBe(0);
      // The file is not held by a forgotten write buffer: the next open, write and close stores it.
      m.writeClose('file', 'rewritten', file);
      m.settle();
      expect(text(m.reader, '/file')).toBe('rewritten');
      expect(m.reader.fsck().ok).toBe(true);
    } finally {
      m.close();
    }
  });

  it('a batch whose own transaction fails answers its queries and read-only opens from the database as the rollback left it, not with its error', async () => {
    const m = mount();
    try {
      const file = await m.afterLostGroup();
      m.fault.failNextTransaction = true;
      // fsx met this on a full tmpfs: fstat (getattr) answered ENOSPC, which stat(2) never does.
      m.serve([
        { ...REQUEST, op: OPS.indexOf('mkdir'), req: 2001, name: 'dir', mode: 0o755 },
        { ...REQUEST, op: OPS.indexOf('getattr'), req: 2002, ino: file },
        { ...REQUEST, op: OPS.indexOf('lookup'), req: 2003, name: 'file' },
        { ...REQUEST, op: OPS.indexOf('lookup'), req: 2004, name: 'dir' },
        { ...REQUEST, op: OPS.indexOf('mkdir'), req: 2005, name: 'other', mode: 0o755 },
        { ...REQUEST, op: OPS.indexOf('open'), req: 2006, ino: file, flags: 0 },
        { ...REQUEST, op: OPS.indexOf('open'), req: 2007, ino: file, flags: O_WRONLY },
      ]);
      expect(m.replyTo(2001)?.errno).toBe(ENOSPC);
      expect(m.replyTo(2002)?.errno).toBe(0);
      expect(m.replyTo(2003)).toEqual({ errno: 0, ino: file });
      // The mkdir before it in the batch was undone: the name is absent again (a negative entry).
      expect(m.replyTo(2004)).toEqual({ errno: 0, ino: 0 });
      expect(m.replyTo(2005)?.errno).toBe(ENOSPC);
      // An open for reading only changes nothing stored (cmp met ENOSPC there): it gets its handle.
      const reading = m.replyTo(2006);
      expect(reading?.errno).toBe(0);
      expect(m.replyTo(2007)?.errno).toBe(ENOSPC);
      expect(m.state.openHandles).toBe(1);
      expect(m.send('release', { ino: file, fh: reading?.fh }).errno).toBe(0);
      expect(m.state.openHandles).toBe(0);
      expect(m.ws.exists('/dir')).toBe(false);
      expect(m.ws.exists('/other')).toBe(false);
      expect(m.reader.fsck().ok).toBe(true);
    } finally {
      m.close();
    }
  });
});
