// The node:sqlite backend's one full VACUUM: a database made before incremental vacuum (auto_vacuum
// NONE) is switched by `gc({ vacuum: true })`, gives its free pages back, and keeps its contents;
// the VACUUM's copy goes to a temporary file while the connection otherwise keeps temporary data
// (the sub-journals of nested transactions) in memory.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, describe, expect, it } from 'vitest';
import { createNodeSqliteBackend } from '../backends/node-sqlite/index.ts';
import type { Database } from '../core/database.ts';
import { openWorkspace } from '../core/workspace.ts';

const dir = mkdtempSync(join(tmpdir(), 'dofs-reclaim-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const pragma = (db: Database, name: string): number =>
  Number(Object.values(db.all<Record<string, number>>(`PRAGMA ${name}`)[0])[0]);

describe('node-sqlite: switching an older database to incremental vacuum', () => {
  it('gc({ vacuum: true }) switches it with one VACUUM, gives the space back and keeps every file', () => {
    const path = join(dir, 'old.db');
    // An older database: its header written with auto_vacuum NONE before the engine saw it.
    const raw = new DatabaseSync(path);
    raw.exec('PRAGMA auto_vacuum = NONE; CREATE TABLE made_before (x)');
    raw.close();
    const ws = openWorkspace(createNodeSqliteBackend({ path }));
    expect(pragma(ws.db, 'auto_vacuum')).toBe(0);
    expect(pragma(ws.db, 'temp_store')).toBe(2);
    for (let i = 0; i < 64; i++) ws.writeFile(`/f${i}`, new Uint8Array(64 * 1024).fill(i));
    ws.writeFile('/kept', 'kept');
    for (let i = 0; i < 64; i++) ws.rm(`/f${i}`);
    ws.db.backend.reclaimSpace?.({ maxPages: 1 }); // without convert: nothing happens to it
    expect(pragma(ws.db, 'auto_vacuum')).toBe(0);
    const before = statSync(path).size;
    const result = ws.gc({ safetyWindowMs: 0, vacuum: true });
    expect(result.blobs).toBe(64);
    expect(pragma(ws.db, 'auto_vacuum')).toBe(2);
    // The switch's VACUUM went through a temporary file; afterwards temporary data is in memory again.
    expect(pragma(ws.db, 'temp_store')).toBe(2);
    expect(result.reclaimedBytes).toBeGreaterThan(3 * 1024 * 1024);
    ws.close();
    expect(statSync(path).size).toBeLessThan(before - 3 * 1024 * 1024);
    const again = openWorkspace(createNodeSqliteBackend({ path }));
    expect(again.readFile('/kept', 'utf8')).toBe('kept');
    expect(again.fsck().ok).toBe(true);
    again.close();
  });
});
