// The node:sqlite backend's rows: built in JavaScript from arrays where node:sqlite can return
// arrays (Node 22.16 and later), by node:sqlite itself where it cannot (22.13 to 22.15); the same
// objects either way, a column named __proto__ included.
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { describe, expect, it } from 'vitest';
import { allRows, returnArrays } from '../backends/node-sqlite/rows.ts';

const SQL = `SELECT 1 AS inode, 'a' AS name, NULL AS link_target, x'00ff' AS bytes, 7 AS "__proto__"
  UNION ALL SELECT 2, 'b', 'target', x'', 8`;

/** A statement as Node 22.13 to 22.15 make it: no setReturnArrays, no columns. */
function asOldNode(statement: StatementSync): StatementSync {
  Object.defineProperty(statement, 'setReturnArrays', { value: undefined });
  Object.defineProperty(statement, 'columns', { value: undefined });
  return statement;
}

describe('node:sqlite rows', () => {
  it('are the same objects built from arrays as node:sqlite builds them, and without setReturnArrays', () => {
    const db = new DatabaseSync(':memory:');
    try {
      const native = db
        .prepare(SQL)
        .all()
        .map((row) => ({ ...row }));
      const built = allRows<Record<string, unknown>>(returnArrays(db.prepare(SQL)), []);
      const fallback = allRows<Record<string, unknown>>(returnArrays(asOldNode(db.prepare(SQL))), []);
      for (const rows of [built, fallback]) {
        expect(rows.map((row) => ({ ...row }))).toEqual(native);
        expect(Object.keys(rows[0])).toEqual(['inode', 'name', 'link_target', 'bytes', '__proto__']);
        expect(rows[0].__proto__ === 7 || Object.getOwnPropertyDescriptor(rows[0], '__proto__')?.value === 7).toBe(
          true,
        );
      }
      expect(allRows(returnArrays(db.prepare('SELECT 1 AS a WHERE 0')), [])).toEqual([]);
      // Where code generation is refused (just-bash blocks the Function constructor while a script runs).
      const original = globalThis.Function;
      const blocked = new Proxy(original, {
        construct() {
          throw new Error('the Function constructor is blocked');
        },
      });
      globalThis.Function = blocked;
      const plain = "SELECT 1 AS inode, NULL AS link_target UNION ALL SELECT 2, x'00'";
      let refused: Record<string, unknown>[];
      try {
        refused = allRows<Record<string, unknown>>(returnArrays(db.prepare(plain)), []);
      } finally {
        globalThis.Function = original;
      }
      expect(refused.map((row) => ({ ...row }))).toEqual(
        db
          .prepare(plain)
          .all()
          .map((row) => ({ ...row })),
      );
    } finally {
      db.close();
    }
  });
});
