/**
 * Group commit: a transaction held open across calls (`StorageBackend.openTransaction`,
 * `Database.openTransaction`), what the FUSE mount uses to answer changes before one COMMIT takes
 * several of them. A backend without it (Durable Objects: callback transactions only) must leave
 * the member out, and the engine then reports it cannot hold one.
 *
 * @module
 */
import { describe, expect, it } from 'vitest';
import type { StorageBackend } from '../../core/backend.ts';
import type { ChangeEvent } from '../../core/database.ts';
import { openTestWorkspace } from '../harness.ts';
import type { ConformanceTarget } from '../target.ts';

const values = (backend: StorageBackend): unknown[] =>
  backend.all<{ v: unknown }>('SELECT v FROM t ORDER BY k').map((r) => r.v);

/** Cases for held transactions, on every backend: held where offered, refused cleanly where not. */
export function heldTransactionCases(target: ConformanceTarget): void {
  describe('held transactions (group commit)', () => {
    it('a held transaction spans calls: inner transactions nest in it, a failing one undoes only itself, commit keeps the rest', () =>
      target.withBackend((backend) => {
        backend.run('CREATE TABLE t (k INTEGER PRIMARY KEY, v)');
        if (!backend.openTransaction) {
          // Callback transactions only: the member is absent, and every transaction commits by itself.
          backend.transaction(() => backend.run('INSERT INTO t VALUES (1, 1)'));
          expect(values(backend)).toEqual([1]);
          return;
        }
        const held = backend.openTransaction();
        backend.run('INSERT INTO t VALUES (1, 1)');
        backend.transaction(() => backend.run('INSERT INTO t VALUES (2, 2)'));
        expect(() =>
          backend.transaction(() => {
            backend.run('INSERT INTO t VALUES (3, 3)');
            throw new Error('inner');
          }),
        ).toThrow('inner');
        // A second one cannot open, and it cannot end from inside a callback of its own.
        expect(() => backend.openTransaction?.()).toThrow();
        expect(() => backend.transaction(() => held.commit())).toThrow();
        held.commit();
        held.commit(); // twice is harmless
        expect(values(backend)).toEqual([1, 2]);
        // The backend is back at depth 0: a transaction of its own commits, and rolls back alone.
        backend.transaction(() => backend.run('INSERT INTO t VALUES (4, 4)'));
        const undone = backend.openTransaction();
        backend.run('INSERT INTO t VALUES (5, 5)');
        undone.rollback();
        expect(values(backend)).toEqual([1, 2, 4]);
      }));

    it('Database.openTransaction: mutations join it with their own revisions, events wait for its commit, a rollback leaves nothing', () =>
      target.withBackend((backend) => {
        const { ws, db } = openTestWorkspace(backend);
        const events: ChangeEvent[] = [];
        db.onChange((batch) => events.push(...batch));
        const held = db.openTransaction();
        if (!backend.openTransaction) {
          expect(held).toBeUndefined();
          ws.writeFile('/a', 'a');
          expect(events.map((e) => e.path)).toEqual(['/a']);
          return;
        }
        if (!held) throw new Error('the backend offers openTransaction, the Database must hold one');
        expect(() => db.openTransaction()).toThrow();
        ws.writeFile('/a', 'a');
        ws.mkdir('/d');
        expect(() => ws.mkdir('/d')).toThrow(expect.objectContaining({ code: 'EEXIST' }));
        expect(events).toEqual([]);
        held.commit();
        expect(events.map((e) => e.path).sort()).toEqual(['/a', '/d']);
        expect(new Set(events.map((e) => e.rev)).size).toBe(2);
        expect(ws.readdir('/').map((e) => e.name)).toEqual(['a', 'd']);
        events.length = 0;
        const undone = db.openTransaction();
        ws.unlink('/a');
        ws.writeFile('/b', 'b');
        undone?.rollback();
        expect(events).toEqual([]);
        expect(ws.readdir('/').map((e) => e.name)).toEqual(['a', 'd']);
        expect(ws.readFile('/a', 'utf8')).toBe('a');
        expect(ws.fsck().ok).toBe(true);
      }));
  });
}
