/**
 * Why a long write costs more per MiB on a file database as it grows, counted as well as timed:
 * the WAL frames (pages) each staging transaction writes, early and late in a 1 GiB file, the CPU
 * time per MiB early and late, and the pages of the B-trees ordered by hash at the end. Four stores take the same 64 KiB chunks, 96 per
 * transaction (the batch the write buffer stages):
 *
 *  - engine: `stageChunks`, the write buffer's own call, on a workspace file (since schema version 9
 *    one tree ordered by hash per blob, the catalogue; version 8 had the bytes' hash index too);
 *  - raw floor: bench/systems/sqlite-raw.ts's store (a blob table with a hash primary key, a chunk row each);
 *  - raw, two hash trees: the engine's layout in raw SQL (a catalogue keyed by hash, the bytes with a hash primary key);
 *  - raw, one hash tree: a catalogue keyed by hash holding an integer id, the bytes keyed by that id.
 *
 * The raw ones have the floor's pragmas, not the engine's incremental auto-vacuum (a pointer-map
 * page per 819 pages) and 256-page checkpoints.
 *
 * Every commit writes each page it changed once; a chunk's own pages are 16 (4 KiB pages), so a
 * batch needs 1,536 frames at least, and what a commit writes beyond that is B-tree pages, mostly
 * leaves of the trees ordered by hash, which random keys dirty all over.
 *
 *   node bench/growth-trace.ts [--mib 1024]
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultWriteBufferChunks } from '../adapters/vfs/provider.ts';
import { stagingBatch } from '../adapters/vfs/write-buffer.ts';
import { createNodeSqliteBackend } from '../backends/node-sqlite/index.ts';
import { DEFAULT_CHUNK_SIZE, hashBytes, openWorkspace, releaseStaged, stageChunks } from '../core/index.ts';
import { sized } from './lib/smoke.ts';
import { openRawStore } from './systems/sqlite-raw.ts';

const at = process.argv.indexOf('--mib');
const MIB = sized(at === -1 ? 1024 : Number(process.argv[at + 1]), 64);
const BATCH = stagingBatch(defaultWriteBufferChunks(DEFAULT_CHUNK_SIZE));
/** Whole batches only: a short last one would write fewer frames. */
const TRANSACTIONS = Math.floor((MIB * 1024 * 1024) / DEFAULT_CHUNK_SIZE / BATCH);

interface Store {
  /** Stores one batch of chunks in one transaction. */
  stage(chunks: { idx: number; bytes: Uint8Array }[]): void;
  /** Runs a pragma or query and returns its rows. */
  all(sql: string): Record<string, unknown>[];
  close(): void;
}

function engine(path: string): Store {
  const backend = createNodeSqliteBackend({ path });
  const ws = openWorkspace(backend);
  return {
    stage: (chunks) => {
      releaseStaged(
        ws.db,
        stageChunks(ws.db, chunks).map((ref) => ref.hash),
      );
    },
    all: (sql) => backend.all(sql),
    close: () => ws.close(),
  };
}

type RawStore = ReturnType<typeof openRawStore>;

/** The raw floor's store (its tables and pragmas), plus the tables of `schema`; `put` makes one chunk's statements. */
function raw(
  path: string,
  schema: string[],
  put: (store: RawStore) => (idx: number, bytes: Uint8Array) => void,
): Store {
  const store = openRawStore(path);
  for (const sql of schema) store.db.exec(sql);
  const one = put(store);
  return {
    stage: (chunks) =>
      store.tx(() => {
        for (const { idx, bytes } of chunks) one(idx, bytes);
      }),
    all: (sql) => store.db.prepare(sql).all() as Record<string, unknown>[],
    close: () => store.db.close(),
  };
}

const stores: [string, (path: string) => Store][] = [
  ['engine (stageChunks)', engine],
  [
    'raw floor',
    (path) =>
      raw(path, [], ({ putBlob, putChunk }) => (idx, bytes) => {
        const hash = hashBytes(bytes);
        putBlob.run(hash, bytes);
        putChunk.run('f', idx, hash);
      }),
  ],
  [
    'raw, two hash trees',
    (path) =>
      raw(
        path,
        ['CREATE TABLE cat (hash TEXT PRIMARY KEY, size INTEGER NOT NULL, last_seen REAL NOT NULL) WITHOUT ROWID'],
        ({ db, putBlob }) => {
          const cat = db.prepare('INSERT INTO cat (hash, size, last_seen) VALUES (?, ?, 0)');
          return (_idx, bytes) => {
            const hash = hashBytes(bytes);
            cat.run(hash, bytes.byteLength);
            putBlob.run(hash, bytes);
          };
        },
      ),
  ],
  [
    'raw, one hash tree',
    (path) =>
      raw(
        path,
        [
          'CREATE TABLE cat (hash TEXT PRIMARY KEY, id INTEGER NOT NULL, size INTEGER NOT NULL) WITHOUT ROWID',
          'CREATE TABLE bytes (id INTEGER PRIMARY KEY, bytes BLOB NOT NULL)',
        ],
        ({ db }) => {
          const bytesRow = db.prepare('INSERT INTO bytes (bytes) VALUES (?)');
          const cat = db.prepare('INSERT INTO cat (hash, id, size) VALUES (?, ?, ?)');
          return (_idx, bytes) => {
            cat.run(hashBytes(bytes), bytesRow.run(bytes).lastInsertRowid, bytes.byteLength);
          };
        },
      ),
  ],
];

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
const pieces = Array.from({ length: BATCH }, () => randomBytes(DEFAULT_CHUNK_SIZE));

console.log(
  `${TRANSACTIONS} transactions of ${BATCH} chunks of 64 KiB (${(TRANSACTIONS * BATCH) / 16} MiB); WAL frames per transaction`,
);
console.log(
  '| store | frames: first 10 | middle 10 | last 10 | last ÷ first | CPU ms per MiB: 11th-30th | last 20 | ratio | pages of hash-ordered trees at the end |',
);
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
for (const [name, open] of stores) {
  const dir = mkdtempSync(join(tmpdir(), 'dofs-growth-trace-'));
  const store = open(join(dir, 'ws.db'));
  const frames: number[] = [];
  const cpu: number[] = [];
  for (let batch = 0; batch < TRANSACTIONS; batch++) {
    const before = process.cpuUsage();
    const chunks = pieces.map((bytes, i) => {
      bytes[0] = batch; // every chunk differs: nothing deduplicates
      bytes[1] = batch >> 8;
      bytes[2] = i;
      return { idx: batch * BATCH + i, bytes };
    });
    store.stage(chunks);
    const used = process.cpuUsage(before);
    cpu.push((used.user + used.system) / 1000 / (BATCH / 16));
    // A passive checkpoint moves nothing the autocheckpoint has not; its `log` is the frames in the WAL,
    // which the autocheckpoint after every commit of this size has restarted: this commit's frames.
    frames.push(Number(store.all('PRAGMA wal_checkpoint(PASSIVE)')[0].log));
  }
  const middle = Math.floor(frames.length / 2);
  const [first, mid, last] = [frames.slice(0, 10), frames.slice(middle, middle + 10), frames.slice(-10)].map(mean);
  // CPU: the first transactions compile the code, so the early figure is of the next twenty.
  const [early, late] = [cpu.slice(10, 30), cpu.slice(-20)].map(mean);
  const trees = store
    .all(
      "SELECT name, count(*) AS pages FROM dbstat WHERE name IN ('vfs_blobs', 'sqlite_autoindex_vfs_blob_bytes_1', 'cat', 'sqlite_autoindex_blobs_1') GROUP BY name",
    )
    .map((row) => `${row.name} ${row.pages}`)
    .join(', ');
  console.log(
    `| ${name} | ${first.toFixed(0)} | ${mid.toFixed(0)} | ${last.toFixed(0)} | ${(last / first).toFixed(3)} | ${early.toFixed(2)} | ${late.toFixed(2)} | ${(late / early).toFixed(2)} | ${trees} |`,
  );
  store.close();
  rmSync(dir, { recursive: true, force: true });
}
