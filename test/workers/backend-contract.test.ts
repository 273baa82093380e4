/**
 * The StorageBackend contract of `do-sql`, checked inside workerd against real SQLite-backed
 * Durable Objects, and the restart mechanism the conformance target relies on.
 */
import { runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { createDoSqlBackend } from '../../backends/do-sql/index.ts';
import type { SqlRow, SqlValue } from '../../core/backend.ts';
import { doSqlTarget as target } from './do-target.ts';
import { constructedInstances, type TestWorkspaceDO } from './worker.ts';

const count = (rows: SqlRow[]): number => Number(rows[0]?.n);

describe('do-sql backend contract', () => {
  it('declares the Durable Object limits', async () => {
    const limits = await target.withBackend((b) => b.limits);
    expect(limits).toEqual({
      maxBoundParameters: 100,
      maxValueBytes: 2_000_000,
      maxStatementBytes: 100_000,
      maxDatabaseBytes: 10_000_000_000,
    });
  });

  it('round-trips BLOBs as Uint8Array, including views into larger buffers', async () => {
    await target.withBackend((b) => {
      b.run('CREATE TABLE t(k INTEGER PRIMARY KEY, v BLOB)');
      const whole = Uint8Array.from({ length: 1000 }, (_, i) => i % 251);
      const backing = new Uint8Array(64).fill(0xee);
      backing.set([1, 2, 3], 10);
      b.run('INSERT INTO t VALUES (?, ?), (?, ?), (?, ?)', [
        1,
        whole,
        2,
        backing.subarray(10, 13),
        3,
        new Uint8Array(0),
      ]);
      const rows = b.all<{ k: number; v: Uint8Array }>('SELECT k, v FROM t ORDER BY k');
      for (const row of rows) expect(row.v).toBeInstanceOf(Uint8Array);
      expect(rows.map((r) => [...r.v].length)).toEqual([1000, 3, 0]);
      expect(rows[0].v).toEqual(whole);
      expect([...rows[1].v]).toEqual([1, 2, 3]);
    });
  });

  it('stores values of 1 MiB and 2,000,000 bytes', async () => {
    await target.withBackend((b) => {
      b.run('CREATE TABLE t(k INTEGER PRIMARY KEY, v BLOB)');
      for (const size of [1 << 20, 2_000_000]) {
        const value = new Uint8Array(size).fill(size & 0xff);
        value[size - 1] = 7;
        b.run('INSERT INTO t VALUES (?, ?)', [size, value]);
        const [row] = b.all<{ v: Uint8Array }>('SELECT v FROM t WHERE k = ?', [size]);
        expect(row.v.byteLength).toBe(size);
        expect(row.v[size - 1]).toBe(7);
      }
    });
  });

  it('binds null, numbers, safe bigints and strings and reads them back', async () => {
    await target.withBackend((b) => {
      const params: SqlValue[] = [null, 42, 1.5, 2n ** 40n, 'héllo'];
      const [row] = b.all('SELECT ? AS a, ? AS b, ? AS c, ? AS d, ? AS e', params);
      expect(row).toEqual({ a: null, b: 42, c: 1.5, d: 2 ** 40, e: 'héllo' });
      expect(() => b.all('SELECT ? AS a', [2n ** 60n])).toThrow(RangeError);
    });
  });

  it('runs a statement with 100 bound parameters', async () => {
    await target.withBackend((b) => {
      const params = Array.from({ length: 100 }, (_, i) => i);
      const [row] = b.all(`SELECT ${params.map(() => '?').join(' + ')} AS s`, params);
      expect(row.s).toBe(4950);
    });
  });

  it('runs INSERT ... RETURNING through run() to completion', async () => {
    await target.withBackend((b) => {
      b.run('CREATE TABLE t(x)');
      b.run('INSERT INTO t VALUES (1), (2), (3) RETURNING x');
      expect(count(b.all('SELECT count(*) AS n FROM t'))).toBe(3);
    });
  });

  it('rolls back only the inner work when a nested transaction throws', async () => {
    await target.withBackend((b) => {
      b.run('CREATE TABLE t(x)');
      b.transaction(() => {
        b.run('INSERT INTO t VALUES (1)');
        expect(() =>
          b.transaction(() => {
            b.run('INSERT INTO t VALUES (2)');
            throw new Error('inner');
          }),
        ).toThrow('inner');
        const inner = b.transaction(() => {
          b.run('INSERT INTO t VALUES (3)');
          return 'inner result';
        });
        expect(inner).toBe('inner result');
      });
      expect(b.all('SELECT x FROM t ORDER BY x').map((r) => r.x)).toEqual([1, 3]);
    });
  });

  it('rolls everything back when the outer transaction throws, and rethrows the same error', async () => {
    await target.withBackend((b) => {
      b.run('CREATE TABLE t(x)');
      const failure = new Error('outer');
      let caught: unknown;
      try {
        b.transaction(() => {
          b.run('INSERT INTO t VALUES (1)');
          b.transaction(() => b.run('INSERT INTO t VALUES (2)'));
          throw failure;
        });
      } catch (error) {
        caught = error;
      }
      expect(caught).toBe(failure);
      expect(count(b.all('SELECT count(*) AS n FROM t'))).toBe(0);
    });
  });

  it('throws platform errors unchanged and stays usable', async () => {
    await target.withBackend((b) => {
      b.run('CREATE TABLE t(k PRIMARY KEY)');
      b.run('INSERT INTO t VALUES (1)');
      expect(() => b.run('INSERT INTO t VALUES (1)')).toThrow(/UNIQUE constraint failed/);
      expect(count(b.all('SELECT count(*) AS n FROM t'))).toBe(1);
    });
  });

  it('throws after close, and closing twice is harmless', async () => {
    await target.withBackend((b) => {
      const other = createDoSqlBackend({ sql: { exec: () => ({ toArray: () => [] }) }, transactionSync: (fn) => fn() });
      other.close();
      other.close();
      expect(() => other.all('SELECT 1')).toThrow(/closed/);
      expect(() => other.run('SELECT 1')).toThrow(/closed/);
      expect(() => other.transaction(() => 1)).toThrow(/closed/);
      expect(b.all('SELECT 1 AS one')).toEqual([{ one: 1 }]);
    });
  });

  it('gives every withBackend call fresh, empty storage', async () => {
    await target.withBackend((b) => b.run('CREATE TABLE t(x)'));
    const tables = await target.withBackend((b) => b.all("SELECT name FROM sqlite_master WHERE type = 'table'"));
    expect(tables).toEqual([]);
  });

  it('lets the callback be async and rejects with the callback’s own error', async () => {
    class Marker extends Error {}
    const result = await target.withBackend(async (b) => {
      b.run('CREATE TABLE t(x)');
      await new Promise((resolve) => setTimeout(resolve, 1));
      b.run('INSERT INTO t VALUES (1)');
      return count(b.all('SELECT count(*) AS n FROM t'));
    });
    expect(result).toBe(1);
    await expect(
      target.withBackend(() => {
        throw new Marker('mine');
      }),
    ).rejects.toBeInstanceOf(Marker);
  });

  it('withRestarts restarts the object between phases and keeps its data', async () => {
    const seen: number[] = [];
    const result = await target.withRestarts([
      (b) => {
        seen.push(constructedInstances());
        b.run('CREATE TABLE t(x)');
        b.run('INSERT INTO t VALUES (1)');
      },
      (b) => {
        seen.push(constructedInstances());
        b.run('INSERT INTO t VALUES (2)');
      },
      (b) => {
        seen.push(constructedInstances());
        return b.all('SELECT x FROM t ORDER BY x').map((r) => r.x);
      },
    ]);
    expect(result).toEqual([1, 2]);
    // Each phase after the first ran in a newly constructed instance.
    expect(seen[1]).toBe(seen[0] + 1);
    expect(seen[2]).toBe(seen[1] + 1);
  });

  it('a new stub alone does not restart the object (why withRestarts evicts)', async () => {
    const id = env.TEST_DO.newUniqueId();
    const first = await runInDurableObject(env.TEST_DO.get(id), (instance: TestWorkspaceDO) => instance.serial);
    const again = await runInDurableObject(env.TEST_DO.get(id), (instance: TestWorkspaceDO) => instance.serial);
    expect(again).toBe(first);
  });
});
