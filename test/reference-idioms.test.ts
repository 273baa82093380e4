/**
 * What a user of `@cloudflare/dofs` (the reference package) types first, and what they get here: a
 * message saying what to do instead of a TypeError, and counterparts for its helpers.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, describe, expect, it } from 'vitest';
import { SQLiteWorkspaceProvider } from '../adapters/vfs/index.ts';
import { createNodeSqliteBackend } from '../backends/node-sqlite/index.ts';
import { RecordingStorage } from '../conformance/testing.ts';
import type { StorageBackend } from '../core/backend.ts';
import { Database } from '../core/database.ts';
import { initializeSchema } from '../core/schema.ts';
import { openWorkspace } from '../core/workspace.ts';
import { buildManifest } from '../sync/objects.ts';

const dir = mkdtempSync(join(tmpdir(), 'dofs-reference-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What a Durable Object's `ctx.storage` looks like to the engine: `sql`, `transactionSync`, no `all`/`run`. */
const durableObjectStorage = {
  sql: { exec() {}, databaseSize: 0 },
  transactionSync<T>(fn: () => T): T {
    return fn();
  },
  get() {},
  put() {},
};

describe("the reference's idioms", () => {
  it('new Database(ctx.storage) says to pass createDoSqlBackend(ctx.storage)', () => {
    for (const attempt of [
      () => new Database(durableObjectStorage as unknown as StorageBackend),
      () => openWorkspace(durableObjectStorage as unknown as StorageBackend),
    ]) {
      expect(attempt).toThrow(
        expect.objectContaining({
          code: 'EINVAL',
          message: expect.stringMatching(
            /ctx\.storage.*createDoSqlBackend\(ctx\.storage\).*dofs-sqlite\/backends\/do-sql/,
          ),
        }),
      );
    }
  });

  it('anything else that is not a backend is EINVAL naming what to pass', () => {
    for (const value of [undefined, null, 42, {}, { all() {}, run() {} }]) {
      expect(() => new Database(value as unknown as StorageBackend)).toThrow(
        expect.objectContaining({ code: 'EINVAL', message: expect.stringMatching(/expected a StorageBackend/) }),
      );
    }
  });

  it('buildManifest(db, chunks) is EINVAL saying it takes only the chunks', () => {
    const ws = openWorkspace(createNodeSqliteBackend());
    const chunks = [{ hash: 'a'.repeat(64), size: 3 }];
    const call = buildManifest as unknown as (...args: unknown[]) => unknown;
    expect(() => call(ws.db, chunks)).toThrow(
      expect.objectContaining({
        code: 'EINVAL',
        message: expect.stringMatching(/buildManifest\(chunks\).*no database argument/),
      }),
    );
    expect(buildManifest(chunks)).toMatchObject({ size: 3, encoded: expect.stringContaining('"version":1') });
    ws.close();
  });

  it('provider.watchSync is a TypeError naming watch and watchAsync; watch still watches', async () => {
    const ws = openWorkspace(createNodeSqliteBackend());
    const provider = new SQLiteWorkspaceProvider(ws);
    const call = provider.watchSync as unknown as (path: string, options?: object) => unknown;
    expect(() => call.call(provider, '/', {})).toThrow(
      expect.objectContaining({
        name: 'TypeError',
        message: expect.stringMatching(/use watch\(path, options\).*watchAsync/),
      }),
    );
    const events: string[] = [];
    const watcher = provider.watch('/');
    watcher.on('change', (eventType: string, filename: string) => events.push(`${eventType} ${filename}`));
    ws.writeFile('/f', 'x');
    await new Promise((resolve) => setTimeout(resolve, 0));
    watcher.close();
    expect(events).toEqual(['rename f']);
    ws.close();
  });

  it("a database in the reference's format is named as such, with what to do, not 'upgrade dofs'", () => {
    const path = join(dir, 'reference.db');
    const sqlite = new DatabaseSync(path);
    // The reference's schema version 6: its own tables, such as vfs_manifests and _vfs_mounts.
    sqlite.exec(`CREATE TABLE vfs_meta (k TEXT PRIMARY KEY, v);
      INSERT INTO vfs_meta VALUES ('schema_version', 6), ('rev', 1);
      CREATE TABLE vfs_manifests (hash BLOB PRIMARY KEY, size INTEGER, encoded TEXT, last_seen INTEGER);
      CREATE TABLE _vfs_mounts (root TEXT PRIMARY KEY, kind TEXT, mode TEXT);`);
    sqlite.close();
    let error: { code?: string; message?: string } | undefined;
    try {
      openWorkspace(createNodeSqliteBackend({ path })).close();
    } catch (caught) {
      error = caught as typeof error;
    }
    expect(error?.code).toBe('EIO');
    expect(error?.message).toMatch(/format of @cloudflare\/dofs/);
    expect(error?.message).toMatch(/dofs import <dir>/);
    expect(error?.message).not.toMatch(/upgrade/);
  });
});

describe('RecordingStorage (dofs-sqlite/testing)', () => {
  it('records every statement an operation runs through a real backend, with its depth', () => {
    const storage = new RecordingStorage(createNodeSqliteBackend());
    const ws = openWorkspace(storage);
    storage.clear();
    ws.writeFile('/a.txt', 'hello');
    expect(storage.name).toBe('recording(node-sqlite:memory)');
    expect(storage.statements.length).toBeGreaterThan(2);
    expect(storage.statements.every((statement) => statement.depth >= 1)).toBe(true);
    expect(storage.sql.some((sql) => /INSERT INTO vfs_dirents/i.test(sql))).toBe(true);
    expect(ws.readFile('/a.txt', 'utf8')).toBe('hello');
    ws.close();
  });

  it('without a backend, shows the statements that would create the schema', () => {
    const storage = new RecordingStorage();
    initializeSchema(new Database(storage));
    const created = storage.sql.filter((sql) => /^CREATE TABLE/i.test(sql)).map((sql) => /TABLE (\w+)/.exec(sql)?.[1]);
    expect(created).toEqual(expect.arrayContaining(['vfs_meta', 'vfs_nodes', 'vfs_dirents', 'vfs_blobs']));
    expect(storage.limits.maxBoundParameters).toBe(100);
  });
});
