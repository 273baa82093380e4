/**
 * Rows as objects, built in JavaScript. node:sqlite builds each row object natively and creates
 * its column names as strings again at every call: about 2 µs for a 14-column node row, a large
 * share of what the FUSE mount's statements cost. Asked for arrays instead, with one constructor
 * per statement compiled from its column names as literal keys, the same rows take about 1 µs.
 *
 * @module
 */
import type { StatementSync } from 'node:sqlite';

type Build = (values: readonly unknown[]) => Record<string, unknown>;

const builders = new WeakMap<StatementSync, Build>();

/** Statements that return arrays: all of them where node:sqlite can (Node 22.16 and later). */
const asArrays = new WeakSet<StatementSync>();

/**
 * Makes `statement` return arrays, for {@link allRows} (once, when it is prepared). Node 22.13 to
 * 22.15 have neither `setReturnArrays` nor `columns`: there node:sqlite builds the rows itself.
 */
export function returnArrays(statement: StatementSync): StatementSync {
  if (typeof statement.setReturnArrays === 'function' && typeof statement.columns === 'function') {
    statement.setReturnArrays(true);
    asArrays.add(statement);
  }
  return statement;
}

/** The rows `statement` returns for `params`, as objects keyed by column name. */
export function allRows<T>(statement: StatementSync, params: readonly unknown[]): T[] {
  if (!asArrays.has(statement)) return statement.all(...(params as [])) as T[];
  const arrays = statement.all(...(params as [])) as unknown as unknown[][];
  if (arrays.length === 0) return [];
  let build = builders.get(statement);
  if (!build) {
    build = compile(statement.columns().map((column) => column.name));
    builders.set(statement, build);
  }
  const rows = new Array<T>(arrays.length);
  for (let i = 0; i < arrays.length; i++) rows[i] = build(arrays[i]) as T;
  return rows;
}

function compile(names: readonly string[]): Build {
  // In a literal, `__proto__` would set the prototype instead of a key: such rows are built by entries.
  if (names.includes('__proto__')) return (values) => Object.fromEntries(names.map((name, i) => [name, values[i]]));
  const keys = names.map((name, i) => `${JSON.stringify(name)}: values[${i}]`).join(', ');
  try {
    return new Function('values', `return { ${keys} };`) as Build;
  } catch {
    // Code generation refused (a CSP, SES, just-bash while it runs a script): keys set one by one,
    // about 0.2 µs more a row.
    return (values) => {
      const row: Record<string, unknown> = {};
      for (let i = 0; i < names.length; i++) row[names[i]] = values[i];
      return row;
    };
  }
}
