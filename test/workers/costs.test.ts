/**
 * What each operation costs on a real SQLite-backed Durable Object, in the units Cloudflare bills:
 * rows read and rows written, summed from every SQL cursor's `rowsRead` / `rowsWritten` after the
 * backend has consumed it (`toArray()`), plus the number of statements.
 *
 * The test asserts upper bounds (so a regression that turns an O(1) operation into a scan, or a
 * subtree operation into a statement per entry, fails here) and prints the table that
 * docs/durable-objects.md quotes:
 *
 *   npx vitest run --project workers test/workers/costs.test.ts
 */
import { runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import {
  createDoSqlBackend,
  type DurableObjectStorageLike,
  meteredStorage,
  type SqlCosts,
} from '../../backends/do-sql/index.ts';
import { patternBytes as bytes } from '../../conformance/cases/files.ts';
import { DEFAULT_CHUNK_SIZE, openWorkspace, type Workspace } from '../../core/index.ts';

/** Chunks in a 1 MiB file at the default chunk size. */
const CHUNKS_PER_MIB = (1024 * 1024) / DEFAULT_CHUNK_SIZE;
const ONE_MIB_NEW = `writeFile 1 MiB, new file (${CHUNKS_PER_MIB} chunks)`;

/** `ctx.storage` metered from zero. */
function metered(storage: DurableObjectStorage): { storage: DurableObjectStorageLike; totals: SqlCosts } {
  const totals: SqlCosts = { statements: 0, rowsRead: 0, rowsWritten: 0 };
  return { totals, storage: meteredStorage(storage, totals) };
}

const KiB = 1024;
const MiB = 1024 * KiB;

interface Row extends SqlCosts {
  operation: string;
}

function table(rows: Row[]): string {
  const head = ['operation', 'rows read', 'rows written', 'statements'];
  const body = rows.map((r) => [r.operation, String(r.rowsRead), String(r.rowsWritten), String(r.statements)]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (i === 0 ? `-${'-'.repeat(w)}-` : `-${'-'.repeat(w)}:`)).join('|')}|`;
  return [line(head), rule, ...body.map(line)].join('\n');
}

describe('rows read and written per operation on a Durable Object', () => {
  it('stays within bounds, and prints the cost table', async () => {
    const stub = env.TEST_DO.get(env.TEST_DO.newUniqueId());
    const rows = await runInDurableObject(stub, (_instance, state) => {
      const { storage, totals } = metered(state.storage);
      const results: Row[] = [];
      const measure = <T>(operation: string, fn: () => T): T => {
        const before = { ...totals };
        const value = fn();
        results.push({
          operation,
          statements: totals.statements - before.statements,
          rowsRead: totals.rowsRead - before.rowsRead,
          rowsWritten: totals.rowsWritten - before.rowsWritten,
        });
        return value;
      };

      let ws: Workspace = measure('openWorkspace, new (creates the schema)', () =>
        openWorkspace(createDoSqlBackend(storage)),
      );
      ws.mkdir('/d');
      ws.writeFile('/d/seed.txt', 'x');

      measure('writeFile 1 KiB, new file', () => ws.writeFile('/d/a.txt', bytes(KiB, 1)));
      measure('writeFile 1 KiB, overwrite (new content)', () => ws.writeFile('/d/a.txt', bytes(KiB, 2)));
      measure('writeFile 1 KiB, overwrite (same content)', () => ws.writeFile('/d/a.txt', bytes(KiB, 2)));
      measure(ONE_MIB_NEW, () => ws.writeFile('/d/b.bin', bytes(MiB, 3)));
      measure('writeFile 1 MiB, new file, same content as another', () => ws.writeFile('/d/b2.bin', bytes(MiB, 3)));

      // Reads straight after writing hit the blob cache; a fresh handle (a restarted object) does not.
      measure('readFile 1 KiB (blob cache warm)', () => ws.readFile('/d/a.txt'));
      measure('readFile 1 MiB (blob cache warm)', () => ws.readFile('/d/b.bin'));
      ws = measure('openWorkspace, existing (every object start)', () => openWorkspace(createDoSqlBackend(storage)));
      measure('readFile 1 KiB (cold)', () => ws.readFile('/d/a.txt'));
      measure('readFile 1 MiB (cold)', () => ws.readFile('/d/b.bin'));
      measure('readFile 1 MiB, range of 4 KiB (cold cache for that chunk)', () =>
        ws.readFile('/d/b2.bin', { byteOffset: 700 * KiB, byteLength: 4 * KiB }),
      );

      measure('stat /d/a.txt', () => ws.stat('/d/a.txt'));
      ws.mkdir('/p/q/r/s', { recursive: true });
      ws.writeFile('/p/q/r/s/t', '');
      measure('stat of a path 5 levels deep', () => ws.stat('/p/q/r/s/t'));
      measure('exists (missing path)', () => ws.exists('/d/nope'));

      ws.mkdir('/hundred');
      for (let i = 0; i < 100; i++) ws.writeFile(`/hundred/f${String(i).padStart(3, '0')}`, `file ${i}`);
      measure('readdir, 100 entries', () => ws.readdir('/hundred'));
      measure('readdir, 100 entries, page of 10 at offset 50', () => ws.readdir('/hundred', { limit: 10, offset: 50 }));

      ws.mkdir('/big/sub', { recursive: true });
      for (let i = 0; i < 999; i++) ws.writeFile(`/big/sub/f${i}`, `small file ${i}`);
      measure('mkdir /new (one level)', () => ws.mkdir('/new'));
      measure('rename a directory holding 1,000 entries', () => ws.rename('/big', '/moved'));
      measure('rm -r a directory holding 1,000 entries', () => ws.rm('/moved', { recursive: true }));
      measure('usage (scans every node and blob)', () => ws.usage());
      measure('gc (frees the 999 unreferenced blobs; no safety window)', () => ws.gc({ safetyWindowMs: 0 }));
      return results;
    });

    const cost = (operation: string): Row => {
      const row = rows.find((r) => r.operation === operation);
      if (!row) throw new Error(`not measured: ${operation}`);
      return row;
    };
    console.log(
      `\nDurable Object SQL cost per operation (rowsRead / rowsWritten summed over cursors):\n${table(rows)}\n`,
    );

    // Point operations read and write a handful of rows, whatever the workspace holds (~1,100 inodes here).
    // One statement walks a whole path; its recursive work table counts as rows read too (about
    // 4 rows per component instead of 2 for a statement per component).
    expect(cost('stat /d/a.txt').rowsRead).toBeLessThan(20);
    expect(cost('stat /d/a.txt').rowsWritten).toBe(0);
    expect(cost('stat of a path 5 levels deep').rowsRead).toBeLessThan(5 * 5 + 5);
    expect(cost('stat of a path 5 levels deep').statements).toBe(1);
    expect(cost('exists (missing path)').rowsRead).toBeLessThan(20);
    expect(cost('openWorkspace, existing (every object start)').rowsWritten).toBe(0);
    // Opening looks for vfs_meta in sqlite_master, which has no index: one row per table, index and
    // trigger (schema 4 has 11 tables and indexes more than schema 1, and 4 triggers; schema 6 adds
    // the snapshot table and three history tables with their indexes, and a snapshot's triggers).
    expect(cost('openWorkspace, existing (every object start)').rowsRead).toBeLessThan(80);
    for (const op of ['writeFile 1 KiB, new file', 'writeFile 1 KiB, overwrite (new content)']) {
      expect(cost(op).rowsRead, op).toBeLessThan(40);
      expect(cost(op).rowsWritten, op).toBeLessThan(40);
    }
    // Rewriting identical bytes stores no new blob.
    expect(cost('writeFile 1 KiB, overwrite (same content)').rowsWritten).toBeLessThanOrEqual(
      cost('writeFile 1 KiB, overwrite (new content)').rowsWritten,
    );
    // A new blob is a catalogue row, its bytes and a chunk row, each with index entries.
    expect(cost(ONE_MIB_NEW).rowsWritten).toBeLessThan(20 + 8 * CHUNKS_PER_MIB);
    expect(cost('writeFile 1 MiB, new file, same content as another').rowsWritten).toBeLessThan(
      cost(ONE_MIB_NEW).rowsWritten,
    );
    for (const op of ['readFile 1 KiB (cold)', 'readFile 1 KiB (blob cache warm)']) {
      expect(cost(op).rowsRead, op).toBeLessThan(20);
      expect(cost(op).rowsWritten, op).toBe(0);
    }
    // A large read loads the blobs it misses in batches: a few statements, a few rows per chunk
    // (since schema version 9 a blob is two rows read, its catalogue row and its bytes by id).
    expect(cost('readFile 1 MiB (cold)').rowsRead).toBeLessThan(10 + 5 * CHUNKS_PER_MIB);
    expect(cost('readFile 1 MiB (cold)').statements).toBeLessThan(8);
    expect(cost('readFile 1 MiB (cold)').rowsWritten).toBe(0);
    // readdir reads about one row per entry (plus the inode of each), not the whole table.
    expect(cost('readdir, 100 entries').rowsRead).toBeGreaterThanOrEqual(100);
    expect(cost('readdir, 100 entries').rowsRead).toBeLessThan(100 * 3 + 20);
    expect(cost('readdir, 100 entries').statements).toBeLessThan(10);
    // Subtree operations: a bounded number of statements. A rename writes a constant number of rows
    // (one move row; docs/sync-protocol.md, "Moves"), rm -r a tombstone per path.
    const rename = 'rename a directory holding 1,000 entries';
    expect(cost(rename).statements).toBeLessThan(30);
    expect(cost(rename).rowsWritten).toBeLessThan(30);
    const rm = 'rm -r a directory holding 1,000 entries';
    expect(cost(rm).statements).toBeLessThan(30);
    expect(cost(rm).rowsWritten).toBeGreaterThanOrEqual(1_000);
    expect(cost(rm).rowsWritten).toBeLessThan(1_000 * 10);
    // Rows read stay linear too (rm -r once read ~1,030,000 rows here: a correlated count per file).
    expect(cost('rename a directory holding 1,000 entries').rowsRead).toBeLessThan(1_000 * 20);
    expect(cost('rm -r a directory holding 1,000 entries').rowsRead).toBeLessThan(1_000 * 40);
  }, 120_000);

  /**
   * Rows read listing a directory of `entries` files in pages of 1,000, as the example Worker's GET
   * does (a stat and a page per call): each page asked by offset (what it did, re-reading every entry
   * before the page) and by the name after which it starts.
   */
  async function listingCosts(entries: number): Promise<{ byOffset: number; byName: number }> {
    const stub = env.TEST_DO.get(env.TEST_DO.newUniqueId());
    return runInDurableObject(stub, (_instance, state) => {
      const { storage, totals } = metered(state.storage);
      const ws = openWorkspace(createDoSqlBackend(storage));
      ws.mkdir('/d');
      for (let i = 0; i < entries; i++) ws.writeFile(`/d/f${String(i).padStart(5, '0')}`, '');
      const page = 1000;
      const rowsRead = (next: (listed: number, last: string | undefined) => { offset?: number; after?: string }) => {
        const before = totals.rowsRead;
        let listed: string[] = [];
        // Bounded, so a page that ignored `after` (the same first page again) fails instead of looping.
        for (let names: string[] = []; listed.length <= entries && (listed.length === 0 || names.length === page); ) {
          ws.stat('/d');
          names = ws.readdir('/d', { limit: page, ...next(listed.length, listed.at(-1)) }).map((e) => e.name);
          listed = [...listed, ...names];
          if (names.length === 0) break;
        }
        expect(listed).toHaveLength(entries);
        return totals.rowsRead - before;
      };
      return {
        byOffset: rowsRead((listed) => ({ offset: listed })),
        byName: rowsRead((_listed, last) => (last === undefined ? {} : { after: last })),
      };
    });
  }

  it('a listing paged by name reads each entry once; by offset it re-read the entries before each page', async () => {
    const sizes = [1, 999, 1_000, 1_001, 10_000];
    const costs = [];
    for (const entries of sizes) costs.push({ entries, ...(await listingCosts(entries)) });
    console.log(
      `\nRows read listing a directory in pages of 1,000 (stat + readdir per page):\n${costs
        .map((c) => `${c.entries} entries: by offset ${c.byOffset}, by name ${c.byName}`)
        .join('\n')}\n`,
    );
    for (const { entries, byName } of costs) expect(byName, `${entries} entries`).toBeLessThan(3 * entries + 100);
  }, 240_000);

  /** Rows read and written by rename and rm -r of a directory of `entries` files. */
  async function subtreeCosts(entries: number): Promise<{ rename: SqlCosts; rm: SqlCosts }> {
    const stub = env.TEST_DO.get(env.TEST_DO.newUniqueId());
    return runInDurableObject(stub, (_instance, state) => {
      const { storage, totals } = metered(state.storage);
      const ws = openWorkspace(createDoSqlBackend(storage));
      ws.mkdir('/tree');
      for (let i = 0; i < entries; i++) ws.writeFile(`/tree/f${i}`, `file ${i}`);
      const delta = (fn: () => void): SqlCosts => {
        const before = { ...totals };
        fn();
        return {
          statements: totals.statements - before.statements,
          rowsRead: totals.rowsRead - before.rowsRead,
          rowsWritten: totals.rowsWritten - before.rowsWritten,
        };
      };
      const rename = delta(() => ws.rename('/tree', '/moved'));
      const rm = delta(() => ws.rm('/moved', { recursive: true }));
      return { rename, rm };
    });
  }

  it('rename and rm -r of a directory: fixed statements; rows written fixed for a rename, in proportion to entries for rm -r', async () => {
    const [small, large] = [await subtreeCosts(250), await subtreeCosts(1_000)];
    expect(large.rename.statements).toBe(small.rename.statements);
    expect(large.rename.rowsRead / small.rename.rowsRead).toBeLessThan(5); // 4x the entries
    expect(large.rename.rowsWritten).toBe(small.rename.rowsWritten);
    expect(large.rm.statements).toBe(small.rm.statements);
    expect(large.rm.rowsWritten / small.rm.rowsWritten).toBeLessThan(5);
  }, 60_000);

  it('rm -r of a directory reads rows in proportion to its entries', async () => {
    const [small, large] = [await subtreeCosts(250), await subtreeCosts(1_000)];
    expect(large.rm.rowsRead / small.rm.rowsRead).toBeLessThan(5); // 4x the entries; quadratic gives ~16x
  }, 60_000);
});
