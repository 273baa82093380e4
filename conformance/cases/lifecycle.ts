/**
 * watch, gc, usage, fsck, revisions, atomicity, schema and persistence across restarts.
 *
 * @module
 */
import { describe, expect, it } from 'vitest';
import { SQLiteWorkspaceProvider } from '../../adapters/vfs/index.ts';
import type { StorageBackend } from '../../core/backend.ts';
import { releaseStaged } from '../../core/blobs.ts';
import { Database } from '../../core/database.ts';
import { FsError } from '../../core/errors.ts';
import { S_IFIFO } from '../../core/fs/attributes.ts';
import type { WatchEvent } from '../../core/fs/watch.ts';
import { stageChunks } from '../../core/handles.ts';
import { mutate } from '../../core/mutate.ts';
import type { Quotas } from '../../core/quotas.ts';
import { initializeSchema, SCHEMA_VERSION } from '../../core/schema.ts';
import { openWorkspace, type Workspace } from '../../core/workspace.ts';
import { defineCase, expectCode, expectFsckClean, expectRefused, testClock } from '../harness.ts';
import { guardLimits } from '../limit-guard.ts';
import { snapshot, storedState } from '../snapshot.ts';
import type { ConformanceTarget } from '../target.ts';
import { FAULTS, faultyBackend } from './faults.ts';
import { patternBytes } from './files.ts';
import { VERSION_8_WORKSPACE } from './version-8-workspace.ts';

/**
 * Rebuilds `vfs_nodes` as versions 1 to 4 had it (three types, no uid, gid or rdev), keeping its
 * rows, its AUTOINCREMENT high-water mark, its index and (if present) its counting triggers.
 */
function toVersion4Nodes(backend: StorageBackend): void {
  const triggers = backend.all<{ sql: string }>(
    "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'vfs_nodes'",
  );
  const sequence = backend.all<{ seq: number }>("SELECT seq FROM sqlite_sequence WHERE name = 'vfs_nodes'")[0]?.seq;
  const columns = 'inode, type, mode, size, nlink, atime, mtime, ctime, birthtime, rev, link_target';
  backend.run('ALTER TABLE vfs_nodes RENAME TO vfs_nodes_v5');
  backend.run(`CREATE TABLE vfs_nodes (
    inode INTEGER PRIMARY KEY AUTOINCREMENT,
    type TEXT NOT NULL CHECK (type IN ('file', 'dir', 'symlink')),
    mode INTEGER NOT NULL, size INTEGER NOT NULL DEFAULT 0, nlink INTEGER NOT NULL,
    atime REAL NOT NULL, mtime REAL NOT NULL, ctime REAL NOT NULL, birthtime REAL NOT NULL,
    rev INTEGER NOT NULL, link_target TEXT)`);
  backend.run(`INSERT INTO vfs_nodes (${columns}) SELECT ${columns} FROM vfs_nodes_v5`);
  if (sequence !== undefined) backend.run("UPDATE sqlite_sequence SET seq = ? WHERE name = 'vfs_nodes'", [sequence]);
  backend.run('DROP TABLE vfs_nodes_v5');
  backend.run('CREATE INDEX vfs_nodes_rev ON vfs_nodes (rev)');
  for (const { sql } of triggers) backend.run(sql);
}

/** Version 7's history triggers, as a version 7 workspace under a snapshot has them (chunk 0 kept in `vfs_hist_chunks`). */
function version7Triggers(): string[] {
  const nodeValues = 'type, mode, size, nlink, atime, mtime, ctime, birthtime, rev, link_target, uid, gid, rdev';
  const tables = [
    { table: 'vfs_nodes', hist: 'vfs_hist_nodes', keys: ['inode'], values: nodeValues.split(', '), inode: 'inode' },
    { table: 'vfs_dirents', hist: 'vfs_hist_dirents', keys: ['parent', 'name'], values: ['child'], inode: 'child' },
    { table: 'vfs_chunks', hist: 'vfs_hist_chunks', keys: ['inode', 'idx'], values: ['hash', 'size'], inode: 'inode' },
  ];
  const last = "(SELECT v FROM vfs_meta WHERE k = 'snap_inode')";
  const out: string[] = [];
  for (const v of tables) {
    const cols = (row: string, names: readonly string[]) => names.map((name) => `${row}.${name}`).join(', ');
    const unseen = (row: string) =>
      `NOT EXISTS (SELECT 1 FROM ${v.hist} x WHERE ${v.keys.map((key) => `x.${key} = ${row}.${key}`).join(' AND ')} AND x.epoch = m.v)`;
    const record = (row: string, live: boolean) =>
      `INSERT INTO ${v.hist} (${v.keys.join(', ')}, epoch, live${live ? `, ${v.values.join(', ')}` : ''})
       SELECT ${cols(row, v.keys)}, m.v, ${live ? `1, ${cols(row, v.values)}` : '0'} FROM vfs_meta m
       WHERE m.k = 'snap_epoch' AND ${unseen(row)};`;
    const insert =
      v.table === 'vfs_chunks'
        ? `BEFORE INSERT ON vfs_chunks WHEN NEW.inode <= ${last} BEGIN
           INSERT INTO vfs_hist_chunks (inode, idx, epoch, live, hash, size)
           SELECT NEW.inode, NEW.idx, m.v, c.inode IS NOT NULL, c.hash, c.size
           FROM vfs_meta m LEFT JOIN vfs_chunks c ON c.inode = NEW.inode AND c.idx = NEW.idx
           WHERE m.k = 'snap_epoch' AND ${unseen('NEW')}; END`
        : `AFTER INSERT ON ${v.table} WHEN NEW.${v.inode} <= ${last} BEGIN ${record('NEW', false)} END`;
    out.push(`CREATE TRIGGER ${v.hist}_insert ${insert}`);
    out.push(
      `CREATE TRIGGER ${v.hist}_update AFTER UPDATE ON ${v.table} WHEN (OLD.${v.inode} <= ${last} OR NEW.${v.inode} <= ${last})
       BEGIN ${record('OLD', true)} ${v.table === 'vfs_dirents' ? record('NEW', false) : ''} END`,
    );
    out.push(
      `CREATE TRIGGER ${v.hist}_delete AFTER DELETE ON ${v.table} WHEN OLD.${v.inode} <= ${last} BEGIN ${record('OLD', true)} END`,
    );
  }
  return out;
}

const HISTORY_TRIGGERS = ['nodes', 'dirents', 'chunks'].flatMap((table) =>
  ['insert', 'update', 'rekey', 'delete'].map((kind) => `vfs_hist_${table}_${kind}`),
);

/**
 * Undoes what version 8 changed: chunk 0's history goes back to `vfs_hist_chunks` (one copy per
 * node row, the chunk as that epoch saw it), history's indexes by epoch and by hash return, and a workspace
 * under a snapshot gets version 7's triggers.
 */
function toVersion7(backend: StorageBackend): void {
  const armed = backend.all("SELECT 1 FROM vfs_meta WHERE k = 'snap_epoch'").length > 0;
  for (const trigger of HISTORY_TRIGGERS) backend.run(`DROP TRIGGER IF EXISTS ${trigger}`);
  backend.run(`INSERT INTO vfs_hist_chunks (inode, idx, epoch, live, hash, size)
    SELECT inode, 0, epoch, hash IS NOT NULL, hash, chunk_size FROM vfs_hist_nodes`);
  backend.run('DROP INDEX vfs_hist_chunks_epoch');
  backend.run('CREATE INDEX vfs_hist_chunks_epoch ON vfs_hist_chunks (epoch)');
  backend.run('CREATE INDEX vfs_hist_chunks_hash ON vfs_hist_chunks (hash)');
  const columns =
    'inode, epoch, live, type, mode, size, nlink, atime, mtime, ctime, birthtime, rev, link_target, uid, gid, rdev';
  backend.run(`CREATE TABLE vfs_hist_nodes_v7 (
      inode INTEGER NOT NULL, epoch INTEGER NOT NULL, live INTEGER NOT NULL,
      type TEXT, mode INTEGER, size INTEGER, nlink INTEGER, atime REAL, mtime REAL, ctime REAL,
      birthtime REAL, rev INTEGER, link_target TEXT, uid INTEGER, gid INTEGER, rdev INTEGER,
      PRIMARY KEY (inode, epoch)
    ) WITHOUT ROWID`);
  backend.run(`INSERT INTO vfs_hist_nodes_v7 (${columns}) SELECT ${columns} FROM vfs_hist_nodes`);
  backend.run('DROP TABLE vfs_hist_nodes');
  backend.run('ALTER TABLE vfs_hist_nodes_v7 RENAME TO vfs_hist_nodes');
  backend.run('CREATE INDEX vfs_hist_nodes_epoch ON vfs_hist_nodes (epoch)');
  if (armed) for (const sql of version7Triggers()) backend.run(sql);
}

/** Undoes version 9: the blob bytes keyed by hash again, beside a catalogue without ids. */
function toVersion8(backend: StorageBackend): void {
  const triggers = backend.all<{ sql: string }>(
    "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'vfs_blobs'",
  );
  backend.run('ALTER TABLE vfs_blobs RENAME TO vfs_blobs_v9');
  backend.run('ALTER TABLE vfs_blob_bytes RENAME TO vfs_blob_bytes_v9');
  backend.run(
    'CREATE TABLE vfs_blobs (hash TEXT PRIMARY KEY, size INTEGER NOT NULL, last_seen REAL NOT NULL) WITHOUT ROWID',
  );
  backend.run('CREATE TABLE vfs_blob_bytes (hash TEXT PRIMARY KEY, bytes BLOB NOT NULL)');
  backend.run('INSERT INTO vfs_blobs (hash, size, last_seen) SELECT hash, size, last_seen FROM vfs_blobs_v9');
  backend.run(
    'INSERT INTO vfs_blob_bytes (hash, bytes) SELECT b.hash, y.bytes FROM vfs_blobs_v9 b JOIN vfs_blob_bytes_v9 y ON y.id = b.id',
  );
  backend.run('DROP TABLE vfs_blobs_v9');
  backend.run('DROP TABLE vfs_blob_bytes_v9');
  for (const { sql } of triggers) backend.run(sql);
}

/** Undoes what versions 7 to 9 added (the blob bytes keyed by id, the move columns of the change log, echo marks per revision), as a version 6 workspace lacks it. */
function toVersion6(backend: StorageBackend): void {
  toVersion8(backend);
  toVersion7(backend);
  backend.run('DROP INDEX vfs_changes_moves');
  backend.run('DROP INDEX vfs_changes_move_targets');
  for (const column of ['target', 'inode', 'peer', 'bases'])
    backend.run(`ALTER TABLE vfs_changes DROP COLUMN ${column}`);
  backend.run('DROP TABLE vfs_sync_echo');
  backend.run(
    'CREATE TABLE vfs_sync_echo (peer TEXT NOT NULL, path TEXT NOT NULL, rev INTEGER NOT NULL, PRIMARY KEY (peer, path)) WITHOUT ROWID',
  );
}

/** Drops what versions 6 to 8 added (snapshots, their history, the move column), as a version 5 workspace lacks it. */
function toVersion5(backend: StorageBackend): void {
  toVersion6(backend);
  for (const trigger of HISTORY_TRIGGERS) backend.run(`DROP TRIGGER IF EXISTS ${trigger}`);
  for (const table of ['vfs_snapshots', 'vfs_hist_nodes', 'vfs_hist_dirents', 'vfs_hist_chunks'])
    backend.run(`DROP TABLE ${table}`);
}

const currentRev = (ws: { db: Database }): number =>
  Number(ws.db.all<{ v: number }>("SELECT v FROM vfs_meta WHERE k = 'rev'")[0].v);

/** Cases for watching, maintenance and persistence. */
export function lifecycleCases(target: ConformanceTarget): void {
  describe('watch', () => {
    defineCase(target, 'a callback hears changes to direct entries only', ({ ws }) => {
      ws.mkdir('/d/sub', { recursive: true });
      const events: WatchEvent[] = [];
      const watcher = ws.watch('/d', {}, (event) => events.push(event));
      ws.writeFile('/d/f', 'x');
      ws.appendFile('/d/f', 'y');
      ws.writeFile('/d/sub/deep', 'z');
      ws.writeFile('/elsewhere', 'w');
      watcher.close();
      ws.unlink('/d/f');
      expect(events.map((e) => `${e.eventType}:${e.filename}`)).toEqual(['rename:f', 'change:f']);
    });
    defineCase(target, 'recursive hears everything below', ({ ws }) => {
      ws.mkdir('/d/sub', { recursive: true });
      const events: string[] = [];
      const watcher = ws.watch('/d', { recursive: true }, (event) => events.push(event.filename));
      ws.writeFile('/d/sub/deep', 'z');
      ws.rename('/d/sub/deep', '/d/moved');
      watcher.close();
      expect(events).toEqual(['sub/deep', 'sub/deep', 'moved']);
    });
    defineCase(target, 'an async iterator yields events and ends on abort', async ({ ws }) => {
      ws.mkdir('/d');
      const controller = new AbortController();
      const watcher = ws.watch('/d', { signal: controller.signal });
      ws.writeFile('/d/a', '1');
      ws.writeFile('/d/b', '2');
      const seen: string[] = [];
      for await (const event of watcher) {
        seen.push(event.filename);
        if (seen.length === 2) controller.abort();
      }
      expect(seen).toEqual(['a', 'b']);
    });
    defineCase(target, 'a failed mutation emits nothing', async ({ ws }) => {
      ws.mkdir('/d');
      const events: WatchEvent[] = [];
      ws.watch('/d', {}, (event) => events.push(event));
      await expectCode(() => ws.mkdir('/d'), 'EEXIST');
      expect(events).toEqual([]);
    });
    defineCase(target, 'changes inside a transaction that rolls back are never told', ({ ws }) => {
      const events: string[] = [];
      ws.watch('/', { recursive: true }, (event) => events.push(event.path));
      expect(() =>
        ws.db.transaction(() => {
          ws.writeFile('/a', 'x');
          ws.db.transaction(() => ws.writeFile('/b', 'y'));
          throw new Error('abandon');
        }),
      ).toThrow('abandon');
      ws.db.transaction(() => {
        ws.writeFile('/c', 'kept');
        try {
          ws.db.transaction(() => {
            ws.writeFile('/d', 'inner, rolled back');
            throw new Error('inner');
          });
        } catch {
          // the outer transaction goes on
        }
      });
      expect(events).toEqual(['/c']);
      expect(ws.ls('/')).toEqual(['/c']);
    });
    defineCase(target, "lutimes sets a symlink's own times, even when it dangles", ({ ws }) => {
      ws.symlink('/nowhere', '/l');
      ws.lutimes('/l', 10, 20);
      expect(ws.lstat('/l').mtimeMs).toBe(20_000);
    });
    defineCase(target, 'watching a missing path is ENOENT', async ({ ws }) => {
      await expectCode(() => ws.watch('/missing'), 'ENOENT');
    });
    defineCase(target, 'a file watcher hears its own changes', ({ ws }) => {
      ws.writeFile('/f', 'a');
      const events: string[] = [];
      const watcher = ws.watch('/f', {}, (event) => events.push(`${event.eventType}:${event.filename}`));
      ws.appendFile('/f', 'b');
      ws.chmod('/f', 0o600);
      watcher.close();
      expect(events).toEqual(['change:f', 'change:f']);
    });
  });

  describe('revisions and atomicity', () => {
    defineCase(target, 'each mutation takes exactly one revision', ({ ws }) => {
      const start = currentRev(ws);
      ws.mkdir('/a/b/c', { recursive: true });
      ws.writeFile('/a/f', 'x');
      ws.rm('/a', { recursive: true });
      expect(currentRev(ws)).toBe(start + 3);
    });
    defineCase(target, 'a mutation that changes nothing takes no revision', ({ ws }) => {
      ws.mkdir('/a');
      const start = currentRev(ws);
      ws.mkdir('/a', { recursive: true });
      ws.rm('/missing', { force: true });
      expect(currentRev(ws)).toBe(start);
    });
    defineCase(target, 'a failure halfway through a mutation leaves no trace', async ({ ws, db }) => {
      ws.writeFile('/keep', 'kept');
      const before = snapshot(ws);
      await expectCode(
        () =>
          mutate(db, 'test', '/x', (m) => {
            ws.writeFile('/half', 'written inside');
            ws.mkdir('/dir');
            m.note('rename', '/half');
            throw new FsError('EIO', 'test', '/x');
          }),
        'EIO',
      );
      expect(snapshot(ws)).toEqual(before);
    });
    defineCase(target, 'a storage error becomes EIO with the cause attached', async ({ ws, db }) => {
      const error = (await expectCode(
        () =>
          mutate(db, 'test', '/x', () => {
            db.run('INSERT INTO no_such_table VALUES (1)');
          }),
        'EIO',
      )) as FsError;
      expect(error.cause).toBeDefined();
      expect(ws.readdir('/')).toEqual([]);
    });
    defineCase(target, 'a read-only workspace refuses every mutation with EROFS', async ({ backend, ws }) => {
      ws.writeFile('/f', 'x');
      const readOnly = openWorkspace(backend, { readOnly: true });
      await expectCode(() => readOnly.writeFile('/f', 'y'), 'EROFS');
      await expectCode(() => readOnly.mkdir('/d'), 'EROFS');
      await expectCode(() => readOnly.rm('/f'), 'EROFS');
      expect(readOnly.readFile('/f', 'utf8')).toBe('x');
    });
  });

  describe('gc and usage', () => {
    defineCase(target, 'gc frees what a mutation stored as soon as nothing names it', ({ ws }) => {
      ws.writeFile('/keep', 'kept bytes');
      ws.writeFile('/drop', 'dropped bytes');
      ws.unlink('/drop');
      expect(ws.usage()).toMatchObject({ garbageBytes: 13, stagedGarbageBytes: 0 });
      expect(ws.gc()).toEqual({ blobs: 1, bytes: 13 });
      expect(ws.readFile('/keep', 'utf8')).toBe('kept bytes');
      expect(ws.usage().garbageBytes).toBe(0);
    });
    defineCase(target, 'staged blobs nobody linked are kept for the safety window, then freed', ({ ws, db, clock }) => {
      // What a streamed write or a write session of another process leaves while it runs (or if it died).
      const [chunk] = stageChunks(db, [{ idx: 0, bytes: new TextEncoder().encode('staged, not linked') }]);
      releaseStaged(db, [chunk.hash]);
      expect(ws.usage()).toMatchObject({ garbageBytes: 18, stagedGarbageBytes: 18 });
      expect(ws.gc()).toEqual({ blobs: 0, bytes: 0 });
      expect(ws.gcStep()).toMatchObject({ blobs: 0, bytes: 0 });
      clock.advance(3_600_001);
      expect(ws.usage()).toMatchObject({ garbageBytes: 18, stagedGarbageBytes: 0 });
      expect(ws.gc()).toEqual({ blobs: 1, bytes: 18 });
    });
    defineCase(
      target,
      "a write session's staged chunks are kept while it is open, whatever their age, and freed at once after the file goes",
      ({ ws, clock }) => {
        const p = new SQLiteWorkspaceProvider(ws, { writeBufferChunks: 2 });
        p.openWriteBufferForCreateSync('/f');
        for (let i = 0; i < 8; i++) p.writeRangeSync('/f', patternBytes(16, i + 1), i * 16);
        const staged = ws.usage().garbageBytes;
        expect(staged).toBeGreaterThan(0); // staged, not linked yet
        clock.advance(10_000_000);
        expect(ws.gc({ safetyWindowMs: 0 }).blobs).toBe(0); // held by the open session
        p.releaseWriteBufferSync('/f');
        expect(ws.readFile('/f')).toEqual(
          new Uint8Array(Array.from({ length: 8 }, (_, i) => [...patternBytes(16, i + 1)]).flat()),
        );
        ws.unlink('/f');
        expect(ws.usage().stagedGarbageBytes).toBe(0);
        expect(ws.gc().bytes).toBe(8 * 16);
        expect(ws.usage().garbageBytes).toBe(0);
      },
      { chunkSize: 16 },
    );
    defineCase(target, 'gcStep does bounded work and its steps cover the whole catalogue', ({ ws }) => {
      for (let i = 0; i < 40; i++) ws.writeFile(`/g${i}`, `garbage ${i}`);
      for (let i = 0; i < 10; i++) ws.writeFile(`/k${i}`, `kept ${i}`);
      for (let i = 0; i < 40; i++) ws.unlink(`/g${i}`);
      let freed = 0;
      let steps = 0;
      for (;;) {
        const step = ws.gcStep({ maxScan: 8, maxBlobs: 3 });
        steps++;
        expect(step.scanned).toBeLessThanOrEqual(8);
        expect(step.blobs).toBeLessThanOrEqual(3);
        freed += step.blobs;
        if (step.wrapped && step.blobs === 0) break;
        expect(steps).toBeLessThan(100);
      }
      expect(freed).toBe(40);
      expect(ws.usage().garbageBytes).toBe(0);
      for (let i = 0; i < 10; i++) expect(ws.readFile(`/k${i}`, 'utf8')).toBe(`kept ${i}`);
    });
    defineCase(target, 'gc keeps a blob still shared by another file', ({ ws, clock }) => {
      ws.writeFile('/a', 'same');
      ws.writeFile('/b', 'same');
      ws.unlink('/a');
      clock.advance(4_000_000);
      expect(ws.gc().blobs).toBe(0);
      expect(ws.readFile('/b', 'utf8')).toBe('same');
    });
    defineCase(target, 'gc with a zero window frees at once', ({ ws }) => {
      ws.writeFile('/a', 'gone');
      ws.rm('/a');
      expect(ws.gc({ safetyWindowMs: 0 }).blobs).toBe(1);
    });
    defineCase(target, 'usage counts logical and stored bytes, dedup and inodes', ({ ws }) => {
      ws.mkdir('/d');
      ws.writeFile('/d/a', 'x'.repeat(1000));
      ws.writeFile('/d/b', 'x'.repeat(1000));
      ws.link('/d/a', '/d/c');
      ws.symlink('a', '/d/l');
      const usage = ws.usage();
      expect(usage).toMatchObject({
        logicalBytes: 2000,
        storedBytes: 1000,
        dedupRatio: 2,
        inodes: 5,
        files: 2,
        directories: 2,
        symlinks: 1,
      });
    });
  });

  describe('quotas', () => {
    const withQuotas = (quotas: Quotas, body: (ws: Workspace) => unknown) => () =>
      target.withBackend(async (backend) => {
        const ws = openWorkspace(guardLimits(backend), { chunkSize: 64, now: testClock().now, quotas });
        await body(ws);
        expectFsckClean(ws);
      });
    it(
      'stored bytes: a write that would pass the quota is ENOSPC and writes nothing',
      withQuotas({ maxStoredBytes: 1000 }, async (ws) => {
        ws.writeFile('/a', patternBytes(600, 1));
        await expectRefused(ws, () => ws.writeFile('/b', patternBytes(600, 2)), 'ENOSPC');
        ws.writeFile('/c', patternBytes(600, 1)); // the same bytes again: deduplicated, nothing new stored
        expect(ws.usage().storedBytes).toBe(600);
      }),
    );
    it(
      'stored bytes: a stream stops at the quota with nothing linked',
      withQuotas({ maxStoredBytes: 500 }, async (ws) => {
        async function* big() {
          for (let i = 0; i < 20; i++) yield patternBytes(100, i + 1);
        }
        await expect(ws.writeFile('/s', big())).rejects.toMatchObject({ code: 'ENOSPC' });
        expect(ws.exists('/s')).toBe(false);
      }),
    );
    it(
      'inodes: creating past the quota is ENOSPC',
      withQuotas({ maxInodes: 4 }, async (ws) => {
        ws.mkdir('/d');
        ws.writeFile('/d/a', 'a');
        ws.symlink('a', '/d/l');
        await expectRefused(ws, () => ws.writeFile('/d/b', 'b'), 'ENOSPC');
        await expectRefused(ws, () => ws.mkdir('/e'), 'ENOSPC');
        ws.rm('/d/l');
        ws.writeFile('/d/b', 'b');
      }),
    );
    it(
      'file size: growing a file past the quota is EFBIG, by any route',
      withQuotas({ maxFileSize: 100 }, async (ws) => {
        ws.writeFile('/f', patternBytes(100, 1));
        await expectRefused(ws, () => ws.appendFile('/f', 'x'), 'EFBIG');
        await expectRefused(ws, () => ws.truncate('/f', 101), 'EFBIG');
        await expectRefused(ws, () => ws.writeFile('/g', patternBytes(101, 2)), 'EFBIG');
        ws.truncate('/f', 50);
      }),
    );
    it(
      'path depth: creating or moving below the quota is ENOSPC',
      withQuotas({ maxPathDepth: 3 }, async (ws) => {
        ws.mkdir('/a/b/c', { recursive: true });
        await expectRefused(ws, () => ws.writeFile('/a/b/c/d', 'x'), 'ENOSPC');
        ws.mkdir('/x/y', { recursive: true });
        await expectRefused(ws, () => ws.rename('/x', '/a/b/x'), 'ENOSPC');
        ws.rename('/x', '/a/x');
      }),
    );
    it('bad quotas are refused when the workspace is opened', () =>
      target.withBackend(async (backend) => {
        await expectCode(() => openWorkspace(backend, { quotas: { maxInodes: -1 } }), 'EINVAL');
      }));
    it("a backend's declared ceiling caps stored bytes, with headroom", () =>
      target.withBackend((backend) => {
        const ws = openWorkspace(backend);
        const ceiling = backend.limits.maxDatabaseBytes;
        expect(ws.db.quotas.maxStoredBytes).toBe(ceiling === undefined ? undefined : Math.floor(ceiling * 0.9));
        const capped = openWorkspace(backend, { quotas: { maxStoredBytes: 5 } });
        expect(capped.db.quotas.maxStoredBytes).toBe(5);
      }));
  });

  describe('fsck finds broken invariants', () => {
    const corruptions: ReadonlyArray<[string, string, (db: Database, ino: number) => void]> = [
      [
        'a size that disagrees with the chunks',
        'size',
        (db, ino) => db.run('UPDATE vfs_nodes SET size = size + 1 WHERE inode = ?', [ino]),
      ],
      ['a missing blob', 'blobs', (db) => db.run('DELETE FROM vfs_blob_bytes')],
      ['bytes that do not match their hash', 'blobs', (db) => db.run("UPDATE vfs_blob_bytes SET bytes = x'00'")],
      ['bytes no blob names', 'blobs', (db) => db.run("INSERT INTO vfs_blob_bytes (bytes) VALUES (x'00')")],
      ['a wrong nlink', 'nlink', (db, ino) => db.run('UPDATE vfs_nodes SET nlink = 5 WHERE inode = ?', [ino])],
      ['an orphan inode', 'tree', (db) => db.run('DELETE FROM vfs_dirents WHERE name = ?', ['d'])],
      [
        'a cycle',
        'tree',
        (db) =>
          db.run("UPDATE vfs_dirents SET parent = (SELECT child FROM vfs_dirents WHERE name = 'e') WHERE name = 'd'"),
      ],
      ['a revision counter behind the stamps', 'rev', (db) => db.run("UPDATE vfs_meta SET v = 1 WHERE k = 'rev'")],
      [
        'a chunk past the end of its file',
        'size',
        (db, ino) => db.run('UPDATE vfs_chunks SET idx = idx + 5 WHERE inode = ? AND idx = 1', [ino]),
      ],
      [
        'a short chunk inside a file',
        'chunks',
        (db, ino) => db.run('UPDATE vfs_chunks SET size = 3 WHERE inode = ? AND idx = 0', [ino]),
      ],
    ];
    for (const [label, check, corrupt] of corruptions) {
      it(`fsck reports ${label}`, () =>
        target.withBackend((backend) => {
          const ws = openWorkspace(backend, { chunkSize: 16, now: testClock().now });
          ws.mkdir('/d/e', { recursive: true });
          ws.writeFile('/d/f', 'enough bytes for three chunks, at least');
          expectFsckClean(ws);
          corrupt(ws.db, ws.stat('/d/f').ino);
          const report = ws.fsck();
          expect(report.ok).toBe(false);
          expect(report.problems.map((p) => p.check)).toContain(check);
        }));
    }
    it('fsck reports two blobs whose catalogue rows name the same bytes', () =>
      target.withBackend((backend) => {
        const ws = openWorkspace(backend, { chunkSize: 16, now: testClock().now });
        ws.writeFile('/f', 'sixteen bytes...and sixteen more');
        expectFsckClean(ws);
        // The second blob's bytes gone and its row pointed at the first's: without reading the
        // bytes, only the shared id tells.
        ws.db.run('DELETE FROM vfs_blob_bytes WHERE rowid = (SELECT MAX(id) FROM vfs_blobs)');
        ws.db.run('UPDATE vfs_blobs SET id = (SELECT MIN(id) FROM vfs_blobs)');
        expect(ws.fsck({ verifyContent: false }).problems).toEqual([
          { check: 'blobs', hash: expect.any(String), message: expect.stringMatching(/^2 blobs share the bytes \d+$/) },
        ]);
      }));
    it('fsck with verifyContent false checks the structure only: no blob is read, a missing one is still found', () =>
      target.withBackend((backend) => {
        const ws = openWorkspace(backend, { chunkSize: 16, now: testClock().now });
        ws.writeFile('/f', 'enough bytes for three chunks, at least');
        const structure = { verifyContent: false };
        const clean = ws.fsck(structure);
        expect(clean).toMatchObject({ ok: true, problems: [], checked: { bytesHashed: 0, blobs: 3, chunks: 3 } });
        expect(ws.fsck().checked.bytesHashed).toBe(39);
        // Bytes that no longer hash to their name are content: only the full check sees them.
        ws.db.run("UPDATE vfs_blob_bytes SET bytes = x'00'");
        expect(ws.fsck(structure).ok).toBe(true);
        expect(ws.fsck().problems.map((p) => p.check)).toContain('blobs');
        ws.db.run('DELETE FROM vfs_blob_bytes WHERE rowid = (SELECT id FROM vfs_blobs ORDER BY hash LIMIT 1)');
        ws.db.run('UPDATE vfs_nodes SET nlink = 5 WHERE inode = ?', [ws.stat('/f').ino]);
        const broken = ws.fsck(structure);
        expect(broken.checked.bytesHashed).toBe(0);
        expect([...new Set(broken.problems.map((p) => p.check))].sort()).toEqual(['blobs', 'nlink']);
      }));
  });

  describe('fsck verifies content in steps', () => {
    it('a cursor over blobs (blobsAfter, maxBytesHashed) examines each blob once and finds a bad one in its step', () =>
      target.withBackend((backend) => {
        const ws = openWorkspace(backend, { chunkSize: 16, now: testClock().now });
        ws.writeFile('/f', 'sixteen bytes #1sixteen bytes #2sixteen bytes #3sixteen bytes #4five!');
        const all = ws.fsck();
        expect(all.checked).toEqual({ nodes: 2, chunks: 5, blobs: 5, bytesHashed: 69, nameless: 0 });
        const bad = ws.db.all<{ hash: string }>('SELECT hash FROM vfs_blobs ORDER BY hash')[2].hash;
        ws.db.run(
          'UPDATE vfs_blob_bytes SET bytes = zeroblob(length(bytes)) WHERE rowid = (SELECT id FROM vfs_blobs WHERE hash = ?)',
          [bad],
        );
        const steps: Array<{ blobs: number; bytesHashed: number; bad: boolean }> = [];
        let blobsAfter: string | undefined;
        do {
          const step = ws.fsck({ blobsAfter, maxBytesHashed: 20 });
          steps.push({
            blobs: step.checked.blobs,
            bytesHashed: step.checked.bytesHashed,
            bad: step.problems.some((p) => p.hash === bad),
          });
          blobsAfter = step.checked.nextBlob;
        } while (blobsAfter !== undefined);
        // Two blobs a step (16 bytes is under 20, 32 is past it), the last step what is left.
        expect(steps.map((s) => s.blobs)).toEqual([2, 2, 1]);
        expect(steps.reduce((sum, s) => sum + s.bytesHashed, 0)).toBe(all.checked.bytesHashed);
        expect(steps.map((s) => s.bad)).toEqual([false, true, false]);
        expect(ws.fsck({ blobsAfter: bad }).checked.blobs).toBe(2);
      }));
    it('fsck refuses a bad maxBytesHashed or blobsAfter', () =>
      target.withBackend(async (backend) => {
        const ws = openWorkspace(backend);
        for (const maxBytesHashed of [-1, 0.5, Number.NaN])
          await expectCode(() => ws.fsck({ maxBytesHashed }), 'EINVAL');
        await expectCode(() => ws.fsck({ blobsAfter: 7 as unknown as string }), 'EINVAL');
      }));
  });

  describe('schema and persistence', () => {
    it('opening twice is harmless and keeps data', () =>
      target.withBackend((backend) => {
        const first = openWorkspace(backend);
        first.writeFile('/f', 'persist');
        const second = openWorkspace(backend, { chunkSize: 4096 });
        expect(second.readFile('/f', 'utf8')).toBe('persist');
        expect(second.usage().chunkSize).toBe(first.usage().chunkSize);
        expectFsckClean(second);
      }));
    it('a workspace from a newer dofs is refused with a clear error', () =>
      target.withBackend(async (backend) => {
        const db = new Database(backend);
        initializeSchema(db);
        db.run("UPDATE vfs_meta SET v = ? WHERE k = 'schema_version'", [SCHEMA_VERSION + 1]);
        const error = (await expectCode(() => initializeSchema(db), 'EIO')) as FsError;
        expect(error.message).toContain('upgrade dofs');
      }));
    it('a chunk size outside 16 B to 1 MiB is refused', () =>
      target.withBackend(async (backend) => {
        await expectCode(() => openWorkspace(backend, { chunkSize: 2 * 1024 * 1024 }), 'EINVAL');
        await expectCode(() => openWorkspace(backend, { chunkSize: 8 }), 'EINVAL');
        expect(backend.all("SELECT name FROM sqlite_master WHERE name = 'vfs_meta'")).toEqual([]);
      }));
    it('a read-only open never creates or migrates a workspace', () =>
      target.withBackend(async (backend) => {
        const error = (await expectCode(() => openWorkspace(backend, { readOnly: true }), 'EROFS')) as FsError;
        expect(error.message).toContain('writable once');
        expect(backend.all("SELECT name FROM sqlite_master WHERE name = 'vfs_meta'")).toEqual([]);
      }));
    it('an older schema is migrated through every version in one transaction and keeps its data', () =>
      target.withBackend((backend) => {
        const ws = openWorkspace(backend);
        ws.writeFile('/f', 'from version 1');
        // Back to what version 1 wrote: no sync tables (v2), no counters or triggers (v3), the
        // change log ordered by path within a revision (v4), nodes without owners (v5), no snapshots (v6).
        toVersion5(backend);
        toVersion4Nodes(backend);
        backend.run('DROP TABLE vfs_sync_cursors');
        backend.run('DROP TABLE vfs_sync_echo');
        backend.run('DROP TABLE vfs_sync_refused');
        backend.run('DROP INDEX vfs_changes_order');
        backend.run('CREATE INDEX vfs_changes_rev ON vfs_changes (rev, path)');
        for (const trigger of ['vfs_blobs_added', 'vfs_blobs_removed', 'vfs_nodes_added', 'vfs_nodes_removed']) {
          backend.run(`DROP TRIGGER ${trigger}`);
        }
        backend.run("DELETE FROM vfs_meta WHERE k IN ('stored_bytes', 'inodes')");
        backend.run("UPDATE vfs_meta SET v = 1 WHERE k = 'schema_version'");
        const reopened = openWorkspace(backend);
        expect(reopened.readFile('/f', 'utf8')).toBe('from version 1');
        expect(backend.all("SELECT v FROM vfs_meta WHERE k = 'schema_version'")).toEqual([{ v: SCHEMA_VERSION }]);
        expect(backend.all("SELECT name FROM sqlite_master WHERE name = 'vfs_sync_echo'")).toHaveLength(1);
        expect(reopened.stat('/f')).toMatchObject({ uid: reopened.db.owner.uid, gid: reopened.db.owner.gid });
        expectFsckClean(reopened);
      }));
    it('version 5 gives every node to the migrating owner, allows special files and never reuses an inode', () =>
      target.withBackend((backend) => {
        const ws = openWorkspace(backend, { now: testClock().now });
        ws.mkdir('/d');
        ws.writeFile('/d/f', 'kept');
        ws.symlink('f', '/d/l');
        ws.writeFile('/gone', 'x');
        const gone = ws.stat('/gone').ino;
        ws.unlink('/gone');
        const before = ws.lstat('/d/l');
        toVersion5(backend);
        toVersion4Nodes(backend);
        backend.run("UPDATE vfs_meta SET v = 4 WHERE k = 'schema_version'");
        const reopened = openWorkspace(backend, { owner: { uid: 501, gid: 20 } });
        for (const path of ['/', '/d', '/d/f'])
          expect(reopened.stat(path)).toMatchObject({ uid: 501, gid: 20, rdev: 0 });
        expect(reopened.lstat('/d/l')).toMatchObject({ ...before, uid: 501, gid: 20 });
        expect(reopened.readFile('/d/f', 'utf8')).toBe('kept');
        reopened.mknod('/d/p', S_IFIFO | 0o644);
        reopened.writeFile('/new', 'y');
        expect(reopened.stat('/new').ino).toBeGreaterThan(gone);
        expect(reopened.usage()).toMatchObject({ inodes: 6, specials: 1 });
        expect(backend.all("SELECT v FROM vfs_meta WHERE k = 'inodes'")).toEqual([{ v: 6 }]);
        expect(backend.all("SELECT name FROM sqlite_master WHERE tbl_name = 'vfs_nodes' ORDER BY name")).toEqual([
          { name: 'vfs_nodes' },
          { name: 'vfs_nodes_added' },
          { name: 'vfs_nodes_removed' },
          { name: 'vfs_nodes_rev' },
        ]);
        expectFsckClean(reopened);
      }));
    it('version 6 adds snapshots to a version 5 workspace, which keeps its data and can snapshot at once', () =>
      target.withBackend((backend) => {
        const ws = openWorkspace(backend);
        ws.writeFile('/f', 'from version 5');
        toVersion5(backend);
        backend.run("UPDATE vfs_meta SET v = 5 WHERE k = 'schema_version'");
        const reopened = openWorkspace(backend);
        expect(reopened.snapshots()).toEqual([]);
        reopened.snapshot('first');
        reopened.writeFile('/f', 'changed');
        expect(reopened.atSnapshot('first').readFile('/f', 'utf8')).toBe('from version 5');
        expect(backend.all("SELECT v FROM vfs_meta WHERE k = 'schema_version'")).toEqual([{ v: SCHEMA_VERSION }]);
        expectFsckClean(reopened);
      }));
    it('version 7 opens a version 6 workspace as it is; rm -r under its snapshot then moves the tree aside', () =>
      target.withBackend((backend) => {
        const ws = openWorkspace(backend);
        ws.mkdir('/d');
        ws.writeFile('/d/f', 'from version 6');
        ws.snapshot('s');
        toVersion6(backend);
        backend.run("UPDATE vfs_meta SET v = 6 WHERE k = 'schema_version'");
        const reopened = openWorkspace(backend);
        expect(backend.all("SELECT v FROM vfs_meta WHERE k = 'schema_version'")).toEqual([{ v: SCHEMA_VERSION }]);
        expect(reopened.snapshots().map((info) => info.name)).toEqual(['s']);
        reopened.rm('/d', { recursive: true });
        expect(backend.all("SELECT v FROM vfs_meta WHERE k = 'attic'")).toHaveLength(1);
        expect(reopened.atSnapshot('s').readFile('/d/f', 'utf8')).toBe('from version 6');
        expectFsckClean(reopened);
      }));
    it('version 8 moves chunk 0 history into node rows: every snapshot of a version 7 workspace reads, diffs and restores as before', () =>
      target.withBackend((backend) => {
        // A clock that stands still: rewriting a file with as many bytes then changes its chunk
        // alone (version 7 kept a copy of chunk 0 without one of the node).
        const ws = openWorkspace(backend, { chunkSize: 16, now: () => 1_700_000_000_000 });
        ws.mkdir('/d');
        ws.writeFile('/d/same', 'one');
        ws.writeFile('/d/small', 'small');
        ws.writeFile('/d/big', patternBytes(40, 1));
        ws.writeFile('/d/mode', 'm');
        ws.writeFile('/d/gone', 'g');
        const first = snapshot(ws).tree;
        ws.snapshot('s1');
        toVersion7(backend);
        ws.writeFile('/d/same', 'two');
        ws.writeFile('/d/small', 'smaller');
        ws.chmod('/d/mode', 0o600);
        ws.writeFile('/d/big', patternBytes(40, 2));
        ws.unlink('/d/gone');
        const second = snapshot(ws).tree;
        ws.snapshot('s2');
        ws.writeFile('/d/mode', 'changed');
        ws.writeFile('/d/new', 'new');
        const third = snapshot(ws).tree;
        toVersion8(backend);
        backend.run("UPDATE vfs_meta SET v = 7 WHERE k = 'schema_version'");
        const reopened = openWorkspace(backend, { now: () => 1_700_000_000_000 });
        expect(backend.all("SELECT v FROM vfs_meta WHERE k = 'schema_version'")).toEqual([{ v: SCHEMA_VERSION }]);
        expect(backend.all('SELECT count(*) AS n FROM vfs_hist_chunks WHERE idx = 0')).toEqual([{ n: 0 }]);
        expect(snapshot(reopened).tree).toEqual(third);
        expect(snapshot(reopened.atSnapshot('s1')).tree).toEqual(first);
        expect(snapshot(reopened.atSnapshot('s2')).tree).toEqual(second);
        expect(reopened.diff('s1', 's2')).toEqual([
          { path: '/d/big', status: 'changed', changes: ['content'] },
          { path: '/d/gone', status: 'removed' },
          { path: '/d/mode', status: 'changed', changes: ['mode'] },
          { path: '/d/same', status: 'changed', changes: ['content'] },
          { path: '/d/small', status: 'changed', changes: ['content'] },
        ]);
        expectFsckClean(reopened);
        // The triggers are version 8's: a change under the snapshots is kept as before.
        reopened.writeFile('/d/same', 'three');
        expect(reopened.atSnapshot('s2').readFile('/d/same', 'utf8')).toBe('two');
        reopened.restore('s1');
        expect(snapshot(reopened).tree).toEqual(first);
        reopened.restore('s2');
        expect(snapshot(reopened).tree).toEqual(second);
        // Undone: back to what the restore to s2 replaced, s1's state.
        reopened.restore(reopened.snapshots().at(-1)?.name ?? '');
        expect(snapshot(reopened).tree).toEqual(first);
        expectFsckClean(reopened);
      }));
    it('version 9 keys blob bytes by id: a workspace version 8 code wrote keeps every file, snapshot and shared blob', () =>
      target.withBackend(async (backend) => {
        for (const statement of VERSION_8_WORKSPACE) backend.run(statement);
        const readOnly = (await expectCode(() => openWorkspace(backend, { readOnly: true }), 'EROFS')) as FsError;
        expect(readOnly.message).toContain('needs migrating from schema 8');
        // What to run, for a user of the CLI, whose reading commands open read-only.
        expect(readOnly.detail).toContain('dofs init');
        const ws = openWorkspace(backend, { now: () => 1_700_000_100_000 });
        expect(backend.all("SELECT v FROM vfs_meta WHERE k = 'schema_version'")).toEqual([{ v: SCHEMA_VERSION }]);
        expectFsckClean(ws);
        // No byte was copied: the bytes table is version 1's, each row still under its hash.
        const hashed = () => backend.all('SELECT count(hash) AS hashed, count(*) AS rows FROM vfs_blob_bytes');
        expect(hashed()).toEqual([{ hashed: 19, rows: 19 }]);
        // Every catalogue row has its own bytes; the stored-bytes counter is the sum it was.
        expect(
          backend.all(`SELECT count(*) AS blobs, count(DISTINCT b.id) AS ids, count(y.rowid) AS bytes,
            (SELECT v FROM vfs_meta WHERE k = 'stored_bytes') AS stored
            FROM vfs_blobs b LEFT JOIN vfs_blob_bytes y ON y.rowid = b.id`),
        ).toEqual([{ blobs: 19, ids: 19, bytes: 19, stored: 228 }]);
        const shared = 'shared by two files, three chunks';
        const reads = (at: Workspace, paths: string[]) => paths.map((path) => at.readFile(path, 'utf8'));
        const current = ['/d/a', '/d/sub/b', '/d/small', '/d/edited', '/d/link', '/d/new'];
        const expected = [shared, shared, 'tiny', 'after the snapshot: longer, so three chunks', shared];
        expect(reads(ws, current)).toEqual([...expected, 'after both snapshots']);
        expect(ws.readlink('/d/link')).toBe('a');
        expect(ws.ls('/')).toEqual(['/d/a', '/d/edited', '/d/link', '/d/new', '/d/small', '/d/sub/b']);
        const s1 = ws.atSnapshot('s1');
        expect(reads(s1, ['/d/a', '/d/sub/b', '/d/edited', '/d/removed'])).toEqual([
          shared,
          shared,
          'before the snapshot, two chunks',
          'removed after the snapshot',
        ]);
        expect(ws.atSnapshot('s2').readFile('/t/u/deep', 'utf8')).toBe('in a tree removed under snapshot s2');
        // The blobs of /gone, removed before either snapshot, are the only garbage; the shared ones stay.
        expect(ws.gc({ safetyWindowMs: 0 })).toEqual({ blobs: 3, bytes: 36 });
        expect(reads(ws, current)).toEqual([...expected, 'after both snapshots']);
        expect(s1.readFile('/d/removed', 'utf8')).toBe('removed after the snapshot');
        // New blobs take ids after the migrated ones, and the old version's files restore.
        ws.writeFile('/d/later', 'written by version 9, two chunks');
        // Bytes stored since go in under their id alone (gc took the 3 unreferenced ones).
        expect(hashed()).toEqual([{ hashed: 16, rows: 18 }]);
        ws.restore('s1');
        expect(reads(ws, ['/d/edited', '/d/removed'])).toEqual([
          'before the snapshot, two chunks',
          'removed after the snapshot',
        ]);
        expect(ws.exists('/d/later')).toBe(false);
        expectFsckClean(ws);
      }));
    it('version 9 keeps the catalogue of a version 8 workspace whose bytes are all gone, for fsck to name', () =>
      target.withBackend((backend) => {
        for (const statement of VERSION_8_WORKSPACE) backend.run(statement);
        backend.run('DELETE FROM vfs_blob_bytes');
        const ws = openWorkspace(backend, { now: () => 1_700_000_100_000 });
        // Every catalogue row stays, with an id no bytes row has; the counter still adds them up.
        expect(
          backend.all(`SELECT count(*) AS blobs, count(DISTINCT id) AS ids, max(id) AS highest,
            (SELECT v FROM vfs_meta WHERE k = 'stored_bytes') AS stored FROM vfs_blobs`),
        ).toEqual([{ blobs: 19, ids: 19, highest: -1, stored: 228 }]);
        // fsck names every one of them as missing (some twice: a chunk names it too).
        const named = new Set(
          ws.fsck({ verifyContent: false }).problems.flatMap((p) => (p.check === 'blobs' && p.hash ? [p.hash] : [])),
        );
        const catalogue = backend.all<{ hash: string }>('SELECT hash FROM vfs_blobs').map((row) => row.hash);
        expect([...named].sort()).toEqual(catalogue.sort());
      }));
    it('the upgrade from version 8 fails whole at any statement and at COMMIT, then succeeds', () =>
      target.withBackend(async (backend) => {
        for (const statement of VERSION_8_WORKSPACE) backend.run(statement);
        const before = storedState(backend);
        const faulty = faultyBackend(backend);
        // Counted inside a transaction that is then rolled back: the workspace stays at version 8.
        const undo = new Error('undo');
        faulty.outerDepth = 1;
        try {
          backend.transaction(() => {
            openWorkspace(faulty);
            throw undo;
          });
        } catch (error) {
          if (error !== undo) throw error;
        }
        faulty.outerDepth = 0;
        const statements = faulty.count;
        expect(statements).toBeGreaterThan(5);
        expect(storedState(backend)).toEqual(before);
        for (let n = 1; n <= statements; n++) {
          faulty.count = 0;
          faulty.failAt = n;
          await expectCode(() => openWorkspace(faulty), n % FAULTS.length === 0 ? 'ENOSPC' : 'EIO');
          expect(storedState(backend), `statement ${n} of ${statements} left a trace`).toEqual(before);
        }
        faulty.failAt = 0;
        // A full disk at COMMIT (the WAL cannot grow): ENOSPC that says how much room to make.
        faulty.commits = 0;
        faulty.failCommitAt = 1;
        faulty.commitFault = FAULTS[0];
        const full = (await expectCode(() => openWorkspace(faulty), 'ENOSPC')) as FsError;
        expect(full.syscall).toBe('open');
        expect(full.detail).toContain('from schema version 8 to 9');
        expect(full.detail).toContain('19 blobs');
        expect(full.detail).toContain('open it again');
        expect(storedState(backend)).toEqual(before);
        faulty.failCommitAt = 0;
        const ws = openWorkspace(faulty, { now: () => 1_700_000_100_000 });
        expect(ws.readFile('/d/a', 'utf8')).toBe('shared by two files, three chunks');
        expectFsckClean(ws);
      }));
    it('a version 8 process still open after the upgrade cannot store a blob the upgraded workspace would not find', () =>
      target.withBackend(async (backend) => {
        for (const statement of VERSION_8_WORKSPACE) backend.run(statement);
        const ws = openWorkspace(backend, { now: () => 1_700_000_100_000 });
        const before = storedState(backend);
        // What version 8 code runs to store a blob: a catalogue row without an id, bytes by hash.
        const hash = 'a'.repeat(64);
        const oldWrite = () =>
          backend.transaction(() => {
            backend.run(
              'INSERT INTO vfs_blobs (hash, size, last_seen) VALUES (?, 4, 0) ON CONFLICT (hash) DO NOTHING',
              [hash],
            );
            backend.run('INSERT INTO vfs_blob_bytes (hash, bytes) VALUES (?, ?)', [hash, new Uint8Array(4)]);
          });
        expect(oldWrite).toThrow(/upgraded to schema version 9/);
        expect(storedState(backend)).toEqual(before);
        // Version 9's own writes go on, and the workspace stays whole.
        ws.writeFile('/d/later', 'written by version 9');
        expect(ws.readFile('/d/later', 'utf8')).toBe('written by version 9');
        expectFsckClean(ws);
      }));
    it('a version 3 sync cursor that stopped inside a revision resumes at its start', () =>
      target.withBackend((backend) => {
        const ws = openWorkspace(backend);
        ws.writeFile('/f', 'x');
        ws.rm('/f');
        ws.rm('/f', { force: true });
        backend.run('DROP TABLE vfs_sync_cursors');
        backend.run('DROP TABLE vfs_sync_refused');
        backend.run(`CREATE TABLE vfs_sync_cursors (peer TEXT NOT NULL, kind TEXT NOT NULL, rev INTEGER NOT NULL,
          path TEXT, PRIMARY KEY (peer, kind)) WITHOUT ROWID`);
        backend.run("INSERT INTO vfs_sync_cursors VALUES ('p1', 'push', 5, '/half'), ('p2', 'fetch', 7, NULL)");
        backend.run('DROP INDEX vfs_changes_order');
        backend.run('CREATE INDEX vfs_changes_rev ON vfs_changes (rev, path)');
        toVersion5(backend);
        backend.run("UPDATE vfs_meta SET v = 3 WHERE k = 'schema_version'");
        openWorkspace(backend);
        expect(backend.all('SELECT peer, kind, rev, at FROM vfs_sync_cursors ORDER BY peer')).toEqual([
          { peer: 'p1', kind: 'push', rev: 4, at: null },
          { peer: 'p2', kind: 'fetch', rev: 7, at: null },
        ]);
      }));
    it('using a database before initializeSchema is a clear EIO', () =>
      target.withBackend(async (backend) => {
        const error = (await expectCode(() => new Database(backend).chunkSize, 'EIO')) as FsError;
        expect(error.message).toContain('initializeSchema');
      }));
    it('data survives a restart of the storage', async () => {
      const result = await target.withRestarts([
        (backend) => {
          const ws = openWorkspace(backend, { chunkSize: 64 });
          ws.mkdir('/d');
          ws.writeFile('/d/f', 'x'.repeat(500));
          ws.symlink('f', '/d/l');
          return null;
        },
        (backend) => {
          const ws = openWorkspace(backend);
          expectFsckClean(ws);
          return { content: ws.readFile('/d/l', 'utf8').length, chunkSize: ws.usage().chunkSize };
        },
      ]);
      expect(result).toEqual({ content: 500, chunkSize: 64 });
    });
    it('a mutation that failed before a restart left nothing behind', async () => {
      const result = await target.withRestarts([
        (backend) => {
          const ws = openWorkspace(backend);
          ws.writeFile('/before', 'ok');
          try {
            mutate(ws.db, 'test', '/x', () => {
              ws.writeFile('/never', 'x');
              throw new Error('crash');
            });
          } catch {
            // expected
          }
          return null;
        },
        (backend) => openWorkspace(backend).ls('/'),
      ]);
      expect(result).toEqual(['/before']);
    });
  });
}
