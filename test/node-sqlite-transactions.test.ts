// The node:sqlite backend's transactions when COMMIT itself fails, for real: a deferred foreign
// key violated inside the transaction makes SQLite refuse the COMMIT and leave it open. The
// backend must roll back, rethrow SQLite's error, and keep the connection usable.
import { describe, expect, it } from 'vitest';
import { createNodeSqliteBackend } from '../backends/node-sqlite/index.ts';
import type { StorageBackend } from '../core/backend.ts';

function withTables(fn: (backend: StorageBackend) => void): void {
  const backend = createNodeSqliteBackend();
  try {
    backend.run('CREATE TABLE parent (id INTEGER PRIMARY KEY)');
    backend.run(
      'CREATE TABLE child (id INTEGER PRIMARY KEY, parent INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)',
    );
    fn(backend);
  } finally {
    backend.close();
  }
}

const count = (backend: StorageBackend, table: string): number =>
  Number(backend.all<{ n: number }>(`SELECT count(*) AS n FROM ${table}`)[0].n);

describe('node-sqlite transactions when COMMIT fails', () => {
  it('rolls the whole transaction back, rethrows the cause and keeps the connection usable', () => {
    withTables((backend) => {
      for (let round = 0; round < 3; round++) {
        expect(() =>
          backend.transaction(() => {
            backend.run('INSERT INTO parent (id) VALUES (?)', [round + 100]);
            backend.transaction(() => backend.run('INSERT INTO child (id, parent) VALUES (1, 999)'));
          }),
        ).toThrow(/FOREIGN KEY constraint failed/);
        expect(count(backend, 'parent')).toBe(0);
        expect(count(backend, 'child')).toBe(0);
      }
      // The depth is right again: plain and nested transactions commit.
      backend.transaction(() => {
        backend.run('INSERT INTO parent (id) VALUES (1)');
        backend.transaction(() => backend.run('INSERT INTO child (id, parent) VALUES (1, 1)'));
      });
      expect(count(backend, 'child')).toBe(1);
    });
  });

  it('fails an outer level whose inner failure was caught after SQLite ended the transaction', () => {
    withTables((backend) => {
      // ROLLBACK inside a savepoint ends the whole transaction, as SQLite does itself after SQLITE_FULL.
      expect(() =>
        backend.transaction(() => {
          backend.run('INSERT INTO parent (id) VALUES (1)');
          try {
            backend.transaction(() => {
              backend.run('ROLLBACK');
              throw new Error('inner failure');
            });
          } catch {
            // An outer level that carries on must not write outside the transaction it thinks it is in.
          }
          backend.run('INSERT INTO parent (id) VALUES (2)');
        }),
      ).toThrow('inner failure');
      expect(count(backend, 'parent')).toBe(0);
      backend.transaction(() => backend.run('INSERT INTO parent (id) VALUES (3)'));
      expect(count(backend, 'parent')).toBe(1);
    });
  });
});
