/**
 * The StorageBackend contract itself: what every backend must do for the engine to be correct.
 *
 * @module
 */
import { describe, expect, it } from 'vitest';
import type { RunResult, StorageBackend } from '../../core/backend.ts';
import { openWorkspace } from '../../core/workspace.ts';
import { expectFsckClean } from '../harness.ts';
import type { ConformanceTarget } from '../target.ts';
import { patternBytes } from './files.ts';

function table(backend: StorageBackend): void {
  backend.run('CREATE TABLE t (k INTEGER PRIMARY KEY, v)');
}
const values = (backend: StorageBackend): unknown[] =>
  backend.all<{ v: unknown }>('SELECT v FROM t ORDER BY k').map((r) => r.v);

/** Cases for the backend contract. */
export function backendCases(target: ConformanceTarget): void {
  describe('StorageBackend contract', () => {
    it('returns BLOBs as Uint8Array with the exact bytes', () =>
      target.withBackend((backend) => {
        table(backend);
        const bytes = new Uint8Array([0, 1, 2, 255, 254]);
        backend.run('INSERT INTO t VALUES (1, ?)', [bytes]);
        backend.run('INSERT INTO t VALUES (2, ?)', [bytes.subarray(1, 3)]);
        const [whole, view] = values(backend) as Uint8Array[];
        expect(whole).toBeInstanceOf(Uint8Array);
        expect([...whole]).toEqual([0, 1, 2, 255, 254]);
        expect([...view]).toEqual([1, 2]);
      }));
    it('round-trips integers, floats, strings and NULL', () =>
      target.withBackend((backend) => {
        table(backend);
        for (const [k, v] of [
          [1, 42],
          [2, 1.5],
          [3, 'text ✓'],
          [4, null],
          [5, Number.MAX_SAFE_INTEGER],
        ] as const) {
          backend.run('INSERT INTO t VALUES (?, ?)', [k, v]);
        }
        expect(values(backend)).toEqual([42, 1.5, 'text ✓', null, Number.MAX_SAFE_INTEGER]);
      }));
    it('supports RETURNING, upserts and recursive CTEs', () =>
      target.withBackend((backend) => {
        table(backend);
        expect(backend.all('INSERT INTO t VALUES (1, 10) ON CONFLICT (k) DO NOTHING RETURNING k')).toEqual([{ k: 1 }]);
        expect(backend.all('INSERT INTO t VALUES (1, 11) ON CONFLICT (k) DO NOTHING RETURNING k')).toEqual([]);
        const rows = backend.all<{ n: number }>(
          'WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 5) SELECT n FROM c',
        );
        expect(rows.map((r) => r.n)).toEqual([1, 2, 3, 4, 5]);
      }));
    it('counts the last statement with changes() and last_insert_rowid() on the next one', () =>
      target.withBackend((backend) => {
        backend.run('CREATE TABLE r (id INTEGER PRIMARY KEY, k TEXT UNIQUE)');
        const last = () =>
          backend.all<{ n: number; id: number }>('SELECT changes() AS n, last_insert_rowid() AS id')[0];
        backend.run("INSERT INTO r (k) VALUES ('a')");
        backend.run("INSERT INTO r (k) VALUES ('b')");
        expect(last()).toEqual({ n: 1, id: 2 });
        backend.run("INSERT INTO r (k) VALUES ('a') ON CONFLICT (k) DO NOTHING");
        expect(last().n).toBe(0);
        backend.run("UPDATE r SET k = k || '!'");
        expect(last().n).toBe(2);
      }));
    it('run returns nothing, or what changes() and last_insert_rowid() say, triggers not counted', () =>
      target.withBackend((backend) => {
        backend.run('CREATE TABLE r (id INTEGER PRIMARY KEY, k TEXT UNIQUE)');
        backend.run('CREATE TABLE log (id INTEGER PRIMARY KEY, k TEXT)');
        // The trigger's insert must not count, in changes() or in the rowid.
        backend.run(
          'CREATE TRIGGER r_log AFTER INSERT ON r BEGIN INSERT INTO log (id, k) VALUES (100 + NEW.id, NEW.k); END',
        );
        const asked = () => {
          const row = backend.all<{ n: number; id: number }>('SELECT changes() AS n, last_insert_rowid() AS id')[0];
          return { changes: Number(row.n), lastInsertRowid: Number(row.id) };
        };
        const said = (sql: string) => {
          const result = backend.run(sql);
          return result === undefined
            ? asked()
            : { changes: Number(result.changes), lastInsertRowid: Number(result.lastInsertRowid) };
        };
        for (const sql of [
          "INSERT INTO r (k) VALUES ('a')",
          "INSERT INTO r (k) VALUES ('b')",
          "INSERT INTO r (k) VALUES ('a') ON CONFLICT (k) DO NOTHING",
          "UPDATE r SET k = k || '!'",
          'DELETE FROM r WHERE id = 1',
        ]) {
          expect(said(sql), sql).toEqual(asked());
        }
        expect(asked()).toEqual({ changes: 1, lastInsertRowid: 2 });
      }));
    it('the engine asks changes() itself when run returns something else (a driver cursor)', () =>
      target.withBackend((backend) => {
        // A backend written before run could return a RunResult may hand on whatever its driver gave.
        const cursorLike: StorageBackend = {
          name: backend.name,
          limits: backend.limits,
          all: (sql, params) => backend.all(sql, params),
          run: (sql, params) => {
            backend.run(sql, params);
            return { rowsWritten: 1 } as unknown as RunResult;
          },
          transaction: (fn) => backend.transaction(fn),
          close: () => backend.close(),
        };
        const ws = openWorkspace(cursorLike, { chunkSize: 64 });
        ws.mkdir('/d');
        ws.writeFile('/d/a', patternBytes(200, 1));
        ws.writeFile('/d/b', patternBytes(200, 2));
        const inodes = ['/d', '/d/a', '/d/b'].map((path) => ws.stat(path).ino);
        expect(new Set(inodes).size).toBe(3);
        expect(inodes.every((ino) => Number.isInteger(ino) && ino > 1)).toBe(true);
        expect(ws.readFile('/d/b')).toEqual(patternBytes(200, 2));
        expectFsckClean(ws);
      }));
    it('commits a transaction and returns its result', () =>
      target.withBackend((backend) => {
        table(backend);
        const result = backend.transaction(() => {
          backend.run('INSERT INTO t VALUES (1, 1)');
          return 'done';
        });
        expect(result).toBe('done');
        expect(values(backend)).toEqual([1]);
      }));
    it('rolls back a transaction that throws and rethrows the error', () =>
      target.withBackend((backend) => {
        table(backend);
        const boom = new Error('boom');
        expect(() =>
          backend.transaction(() => {
            backend.run('INSERT INTO t VALUES (1, 1)');
            throw boom;
          }),
        ).toThrow(boom);
        expect(values(backend)).toEqual([]);
      }));
    it('a failing inner transaction rolls back only its own work', () =>
      target.withBackend((backend) => {
        table(backend);
        backend.transaction(() => {
          backend.run('INSERT INTO t VALUES (1, 1)');
          try {
            backend.transaction(() => {
              backend.run('INSERT INTO t VALUES (2, 2)');
              throw new Error('inner');
            });
          } catch {
            // the outer transaction carries on
          }
          backend.transaction(() => backend.run('INSERT INTO t VALUES (3, 3)'));
        });
        expect(values(backend)).toEqual([1, 3]);
      }));
    it('an outer failure rolls back committed inner work', () =>
      target.withBackend((backend) => {
        table(backend);
        expect(() =>
          backend.transaction(() => {
            backend.transaction(() => backend.run('INSERT INTO t VALUES (1, 1)'));
            throw new Error('outer');
          }),
        ).toThrow('outer');
        expect(values(backend)).toEqual([]);
      }));
    it('accepts 100 bound parameters in one statement', () =>
      target.withBackend((backend) => {
        table(backend);
        const params = Array.from({ length: 100 }, (_, i) => i);
        backend.run(`INSERT INTO t (k, v) VALUES ${Array.from({ length: 50 }, () => '(?, ?)').join(', ')}`, params);
        expect(values(backend)).toHaveLength(50);
      }));
    it('stores a 2 MB value', () =>
      target.withBackend((backend) => {
        table(backend);
        const big = new Uint8Array(2_000_000).fill(7);
        backend.run('INSERT INTO t VALUES (1, ?)', [big]);
        expect((values(backend)[0] as Uint8Array).byteLength).toBe(2_000_000);
      }));
    it('declares limits at least as generous as the strictest', () =>
      target.withBackend((backend) => {
        expect(backend.limits.maxBoundParameters).toBeGreaterThanOrEqual(100);
        expect(backend.limits.maxValueBytes).toBeGreaterThanOrEqual(2_000_000);
        expect(backend.limits.maxStatementBytes).toBeGreaterThanOrEqual(100_000);
        expect(backend.name.length).toBeGreaterThan(0);
      }));
    it('throws the platform error for bad SQL', () =>
      target.withBackend((backend) => {
        expect(() => backend.all('SELECT * FROM no_such_table')).toThrow(/no_such_table/);
      }));
  });
}
