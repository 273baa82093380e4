/**
 * The storage limit: raw node:sqlite storing the same bytes the same way this engine does
 * (content-addressed chunks: SHA-256 named BLOBs, one row per chunk), with nothing else: no
 * paths, no inodes, no revisions, no change log, no cache lookups, no fs API. The engine's journal
 * settings (WAL, synchronous NORMAL, a 64 MiB page cache), not its incremental auto-vacuum and
 * 256-page checkpoints (which add little to the growth of a 1 GiB write: docs/performance.md,
 * Growth). It runs only the large-file and dedup workloads.
 *
 * What each operation costs here is the floor for a content-addressed store:
 *  - sequential write: every byte hashed once and inserted once, one transaction per full chunk;
 *  - read: each chunk selected once (the handle keeps the current chunk);
 *  - overwrite: the chunk patched in memory (the handle keeps every chunk it has touched), hashed
 *    and inserted, its row updated, one transaction per write;
 *  - copy: the chunk rows duplicated (no bytes), one statement.
 */
import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { DEFAULT_CHUNK_SIZE } from '../../core/index.ts';
import type { BenchFile, BenchFs, SystemDef } from '../lib/types.ts';

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/**
 * The raw store on `path` (`:memory:` for memory): its tables, statements and `store`, the
 * hash-plus-insert floor every write path is measured against (bench/fd-writes.ts uses it too).
 */
export function openRawStore(path: string) {
  const db = new DatabaseSync(path);
  if (path !== ':memory:') {
    db.exec('PRAGMA journal_mode = WAL');
    db.exec('PRAGMA synchronous = NORMAL');
  }
  db.exec('PRAGMA cache_size = -65536');
  db.exec('CREATE TABLE blobs (hash TEXT PRIMARY KEY, bytes BLOB NOT NULL)');
  db.exec(
    'CREATE TABLE chunks (file TEXT NOT NULL, idx INTEGER NOT NULL, hash TEXT NOT NULL, PRIMARY KEY (file, idx)) WITHOUT ROWID',
  );
  const putBlob = db.prepare('INSERT INTO blobs (hash, bytes) VALUES (?, ?) ON CONFLICT (hash) DO NOTHING');
  const putChunk = db.prepare('INSERT OR REPLACE INTO chunks (file, idx, hash) VALUES (?, ?, ?)');
  const getChunk = db.prepare(
    'SELECT b.bytes AS bytes FROM chunks c JOIN blobs b ON b.hash = c.hash WHERE c.file = ? AND c.idx = ?',
  );
  const tx = (fn: () => void) => {
    db.exec('BEGIN IMMEDIATE');
    try {
      fn();
      db.exec('COMMIT');
    } catch (error) {
      db.exec('ROLLBACK');
      throw error;
    }
  };
  const store = (file: string, idx: number, bytes: Uint8Array) => {
    const hash = sha256(bytes);
    tx(() => {
      putBlob.run(hash, bytes);
      putChunk.run(file, idx, hash);
    });
  };
  return { db, putBlob, putChunk, getChunk, tx, store };
}

function rawFs(path: string, chunkSize: number, cleanup: () => void): BenchFs {
  const { db, putBlob, putChunk, getChunk, tx, store } = openRawStore(path);
  const sizes = new Map<string, number>();
  const load = (file: string, idx: number): Uint8Array => {
    const row = getChunk.get(file, idx) as { bytes: Uint8Array } | undefined;
    if (!row) throw new Error(`no chunk ${idx} of ${file}`);
    return row.bytes;
  };
  const unsupported = (what: string) => () => {
    throw new Error(`the raw sqlite limit does not do ${what}`);
  };

  const writer = (file: string): BenchFile => {
    const buffer = Buffer.allocUnsafeSlow(chunkSize);
    let fill = 0;
    let idx = 0;
    let size = 0;
    sizes.set(file, 0);
    return {
      write(data, position) {
        if (position !== size) throw new Error('the raw limit writes sequentially only');
        let rest = data;
        while (rest.byteLength > 0) {
          const take = Math.min(rest.byteLength, chunkSize - fill);
          buffer.set(rest.subarray(0, take), fill);
          fill += take;
          rest = rest.subarray(take);
          if (fill === chunkSize) {
            store(file, idx++, buffer);
            fill = 0;
          }
        }
        size += data.byteLength;
      },
      read: unsupported('reads on a write handle'),
      close() {
        if (fill > 0) store(file, idx, buffer.subarray(0, fill));
        sizes.set(file, size);
      },
    };
  };

  const reader = (file: string, inPlace: boolean): BenchFile => {
    const held = new Map<number, Buffer>();
    let currentIdx = -1;
    let current: Uint8Array = new Uint8Array(0);
    return {
      read(into, position) {
        const size = sizes.get(file) ?? 0;
        const end = Math.min(size, position + into.byteLength);
        let at = position;
        while (at < end) {
          const idx = Math.floor(at / chunkSize);
          if (idx !== currentIdx) {
            current = load(file, idx);
            currentIdx = idx;
          }
          const from = at - idx * chunkSize;
          const take = Math.min(end - at, current.byteLength - from);
          into.set(current.subarray(from, from + take), at - position);
          at += take;
        }
        return Math.max(0, end - position);
      },
      write(data, position) {
        if (!inPlace) throw new Error('read-only handle');
        const idx = Math.floor(position / chunkSize);
        if (Math.floor((position + data.byteLength - 1) / chunkSize) !== idx) throw new Error('one chunk per write');
        let chunk = held.get(idx);
        if (!chunk) {
          chunk = Buffer.from(load(file, idx));
          held.set(idx, chunk);
        }
        chunk.set(data, position - idx * chunkSize);
        store(file, idx, chunk);
      },
      close() {},
    };
  };

  return {
    mkdirp: () => {},
    writeFile(file, data) {
      tx(() => {
        for (let idx = 0; idx * chunkSize < data.byteLength || idx === 0; idx++) {
          const bytes = data.subarray(idx * chunkSize, Math.min(data.byteLength, (idx + 1) * chunkSize));
          const hash = sha256(bytes);
          putBlob.run(hash, bytes);
          putChunk.run(file, idx, hash);
        }
      });
      sizes.set(file, data.byteLength);
    },
    readFile: unsupported('readFile'),
    stat: (file) => sizes.get(file) ?? Number.NaN,
    readdir: unsupported('readdir'),
    readdirTypes: unsupported('readdir'),
    rename: unsupported('rename'),
    copyFile(from, to) {
      db.prepare('INSERT INTO chunks (file, idx, hash) SELECT ?, idx, hash FROM chunks WHERE file = ?').run(to, from);
      sizes.set(to, sizes.get(from) ?? 0);
    },
    rmrf: unsupported('rm'),
    open: (file, flags) => (flags === 'w' ? writer(file) : reader(file, flags === 'r+')),
    storedBytes: () => {
      const row = db.prepare('SELECT coalesce(sum(length(bytes)), 0) AS n FROM blobs').get() as { n: number };
      return { stored: Number(row.n), onDisk: path === ':memory:' ? undefined : statSync(path).size };
    },
    close() {
      db.close();
      cleanup();
    },
  };
}

/** Raw node:sqlite in memory or in a file, with `chunkSize` chunks (default: the engine's default). */
export function sqliteRaw(storage: 'mem' | 'file', chunkSize = DEFAULT_CHUNK_SIZE): SystemDef {
  return {
    id: `sqlite:${storage}`,
    label: `raw node:sqlite ${storage === 'mem' ? 'in memory' : 'file'} + SHA-256, ${chunkSize / 1024} KiB chunk BLOBs: the storage limit`,
    role: 'storage-limit',
    only: ['large', 'dedup'],
    open() {
      if (storage === 'mem') return rawFs(':memory:', chunkSize, () => {});
      const dir = mkdtempSync(join(tmpdir(), 'dofs-bench-raw-'));
      return rawFs(join(dir, 'raw.db'), chunkSize, () => rmSync(dir, { recursive: true, force: true }));
    },
  };
}
