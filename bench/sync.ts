/**
 * Sync at scale, on node:sqlite in memory: the authority's time per entry for a whole first sync
 * (the change stream, and the manifest a resync reads) at 1,000, 10,000 and 100,000 files, and what
 * a rename of a 10,000-entry directory costs under sync (rows written, entries and bytes on the
 * wire), and the wire bytes of a one-chunk edit of a 64 MiB file. Prints medians (5 runs, sizes
 * alternating) and the ratios that matter: per-entry time should stay flat.
 *
 * Run: `npm run bench:sync` (add `--quick` for 1,000 and 10,000 only).
 */
import { cpus } from 'node:os';
import { createNodeSqliteBackend } from '../backends/node-sqlite/index.ts';
import { openWorkspace, type Workspace } from '../core/index.ts';
import type { ChangeCursor } from '../sync/index.ts';
import {
  coalesceChanges,
  connectInProcess,
  createSyncDriver,
  createSyncEndpoint,
  currentRev,
  readManifest,
  START_CURSOR,
} from '../sync/index.ts';
import { sized } from './lib/smoke.ts';

const quick = process.argv.includes('--quick');
const sizes = sized(quick ? [1_000, 10_000] : [1_000, 10_000, 100_000], [100, 1_000]);
const RUNS = sized(5, 1);
/** The directory renamed under sync, and the file edited by one chunk (smoke mode: smaller). */
const RENAMED = sized(10_000, 1_000);
const BIG = sized(64, 1) * 1024 * 1024;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** A tree of `files` small files, 100 per directory. */
function build(files: number): Workspace {
  const ws = openWorkspace(createNodeSqliteBackend());
  ws.db.transaction(() => {
    for (let i = 0; i < files; i++) {
      if (i % 100 === 0) ws.mkdir(`/src/d${i / 100}`, { recursive: true });
      ws.writeFile(`/src/d${Math.floor(i / 100)}/f${i}.txt`, `file ${i}\n`);
    }
  });
  return ws;
}

function timeStream(read: (after: ChangeCursor | null) => { next: ChangeCursor | null; n: number }): {
  ms: number;
  entries: number;
} {
  const start = performance.now();
  let entries = 0;
  let after: ChangeCursor | null = null;
  do {
    const page = read(after);
    entries += page.n;
    after = page.next;
  } while (after !== null);
  return { ms: performance.now() - start, entries };
}

console.log(`sync at scale: node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'} x${cpus().length}`);
console.log('files      stream ms  µs/entry   manifest ms  µs/entry');
const perEntry: number[] = [];
// Every size is built first, then the runs alternate between sizes, so a slow moment of a shared
// machine falls on all of them alike; medians of 5.
const workspaces = sizes.map(build);
const stream: number[][] = sizes.map(() => []);
const manifest: number[][] = sizes.map(() => []);
const counts: number[] = sizes.map(() => 0);
for (let run = 0; run < RUNS; run++) {
  workspaces.forEach((ws, i) => {
    const s = timeStream((after) => {
      const batch = coalesceChanges(ws.db, after ?? START_CURSOR, { limit: 256 });
      return { next: batch.more ? batch.cursor : null, n: batch.entries.length };
    });
    counts[i] = s.entries;
    stream[i].push(s.ms);
    manifest[i].push(
      timeStream((after) => {
        const page = readManifest(ws.db, after, 256);
        return { next: page.next, n: page.entries.length };
      }).ms,
    );
  });
}
sizes.forEach((files, i) => {
  const entries = counts[i];
  const us = (median(stream[i]) * 1000) / entries;
  perEntry.push(us);
  console.log(
    `${String(files).padEnd(10)} ${median(stream[i]).toFixed(0).padStart(9)}  ${us.toFixed(1).padStart(8)}   ${median(manifest[i]).toFixed(0).padStart(11)}  ${((median(manifest[i]) * 1000) / entries).toFixed(1).padStart(8)}`,
  );
  workspaces[i].close();
});
console.log(
  `per-entry time, largest ÷ smallest: ${(perEntry[perEntry.length - 1] / perEntry[0]).toFixed(2)}× (goal ≤ 1.5×)`,
);

// One revision that touches every path (an rm -r of the whole tree, a deletion row each): pages
// inside it must cost the same at its end as at its start.
{
  const files = sizes[sizes.length - 1];
  const ws = build(files);
  const start: ChangeCursor = { rev: currentRev(ws.db), at: null };
  ws.rm('/src', { recursive: true });
  const pages: number[] = [];
  let after = start;
  for (;;) {
    const began = performance.now();
    const batch = coalesceChanges(ws.db, after, { limit: 256 });
    pages.push(performance.now() - began);
    if (!batch.more) break;
    after = batch.cursor;
  }
  const first = median(pages.slice(0, 50));
  const last = median(pages.slice(-50));
  console.log(
    `rm -r of ${files} files, streamed: ${pages.length} pages, median page ${first.toFixed(2)} ms in the first 50, ` +
      `${last.toFixed(2)} ms in the last 50 (${(last / first).toFixed(2)}×; flat means linear)`,
  );
  ws.close();
}

// A rename of a 10,000-entry directory under sync, each way: change rows written (deletion and
// move rows, plus nodes given a new revision) and wire bytes of the sync that carries it.
{
  const authority = build(RENAMED);
  const replica = openWorkspace(createNodeSqliteBackend());
  const wire = connectInProcess(createSyncEndpoint(authority.db));
  const driver = createSyncDriver(replica.db, wire);
  await driver.sync();
  const rowsWritten = (ws: Workspace, rename: () => void): number => {
    const rev = currentRev(ws.db);
    const rows = () => ws.db.all<{ n: number }>('SELECT count(*) AS n FROM vfs_changes')[0].n;
    const before = rows();
    rename();
    const restamped = ws.db.all<{ n: number }>('SELECT count(*) AS n FROM vfs_nodes WHERE rev > ?', [rev])[0].n;
    return rows() - before + restamped;
  };
  for (const [name, from, to, ws] of [
    ['authority → replica', '/src', '/lib', authority],
    ['replica → authority', '/lib', '/app', replica],
  ] as const) {
    const start = performance.now();
    const rows = rowsWritten(ws, () => ws.rename(from, to));
    const renameMs = performance.now() - start;
    const before = { sent: wire.counters.sent, received: wire.counters.received };
    const report = await driver.sync();
    const bytes = wire.counters.sent - before.sent + (wire.counters.received - before.received);
    console.log(
      `rename of a 10,100-entry directory, ${name}: ${renameMs.toFixed(1)} ms, ${rows} change rows written, ` +
        `${report.pulled + report.pushed} entries applied, ${bytes.toLocaleString('en')} wire bytes both ways (goal: ≤ 10 rows, ≤ 4 KiB)`,
    );
  }
  console.log(
    `converged: ${replica.find('/', '**').length} paths on the replica, ${authority.find('/', '**').length} on the authority, ` +
      `same tree: ${JSON.stringify(replica.find('/', '**')) === JSON.stringify(authority.find('/', '**'))}`,
  );
}

// A one-chunk edit of a 64 MiB file pushed to the authority: wire bytes up, counted as the
// WebSocket carries them (the in-process transport runs the same Cap'n Web session and frames).
{
  const authority = openWorkspace(createNodeSqliteBackend());
  const replica = openWorkspace(createNodeSqliteBackend());
  const wire = connectInProcess(createSyncEndpoint(authority.db));
  const driver = createSyncDriver(replica.db, wire);
  const data = new Uint8Array(BIG);
  for (let i = 0; i < data.length; i += 4096) data[i] = (i / 4096) & 0xff;
  replica.writeFile('/big.bin', data);
  await driver.sync();
  data[Math.min(5 * 1024 * 1024, BIG / 2) + 3] ^= 0xff;
  replica.writeFile('/big.bin', data);
  const before = { sent: wire.counters.sent, up: wire.counters.up, calls: wire.counters.calls };
  await driver.sync();
  console.log(
    `one-chunk edit of a 64 MiB file: ${(wire.counters.sent - before.sent).toLocaleString('en')} wire bytes up for ` +
      `${(wire.counters.up - before.up).toLocaleString('en')} bytes of data, ${wire.counters.calls - before.calls} calls (goal < 80,000)`,
  );
  authority.close();
  replica.close();
}
