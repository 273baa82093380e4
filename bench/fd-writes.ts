/**
 * fd writes, side by side: real node:fs on tmpfs (/dev/shm), createNodeFs over node:sqlite (in
 * memory and in a file; with its default write-back and with `writeBack: false`, one transaction
 * per write), the mount's write path (a provider write buffer: openWriteBuffer, writeRange,
 * release), and the storage limit for sequential writes (bench/systems/sqlite-raw.ts's loop:
 * every chunk hashed once and inserted once, one transaction per chunk). Each figure is the median
 * of several runs and includes the close (where buffered writes commit); ratios are to tmpfs. Each
 * figure is given twice: wall-clock time, and the CPU time the process spent (user + system),
 * which other jobs on a shared machine inflate less.
 *
 *   node --expose-gc bench/fd-writes.ts [--runs 5] [--quick]
 *
 * Workloads:
 *  - random: 1,000 writeSync of 4 KiB at random 4 KiB-aligned offsets of a 64 MiB file, then close
 *    (the same offsets and bytes for every system within a run);
 *  - sequential: 64 MiB written by 64 KiB writeSync, then close.
 *
 * Two limits, raw node:sqlite in memory and in a file (bench/systems/sqlite-raw.ts's store, the
 * backend's pragmas; each row is measured against the limit of its own storage): for sequential
 * writes every chunk hashed once and inserted once, one transaction per chunk; for random writes
 * the floor of any content-addressed store of the default chunk size that commits at close: each
 * chunk the writes touched (built beforehand, untimed) hashed and inserted once, in one
 * transaction. A row with a workspace of 4 KiB chunks shows what the chunk size costs.
 */
import { randomBytes } from 'node:crypto';
import * as realFs from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNodeFs } from '../adapters/node-fs/index.ts';
import { SQLiteWorkspaceProvider } from '../adapters/vfs/index.ts';
import { createNodeSqliteBackend } from '../backends/node-sqlite/index.ts';
import { DEFAULT_CHUNK_SIZE, hashBytes, openWorkspace } from '../core/index.ts';
import { SMOKE, sized } from './lib/smoke.ts';
import { warmMachineMemory } from './lib/warm-memory.ts';
import { openRawStore } from './systems/sqlite-raw.ts';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const runs = sized(Number(args[args.indexOf('--runs') + 1]) || (quick ? 3 : 5), 1);
const FILE = sized(quick ? 16 : 64, 1) * 1024 * 1024;
const RANDOM_WRITES = sized(1000, 100);
const SMALL = 4096;
const BIG = 64 * 1024;
const collect = (globalThis as { gc?: () => void }).gc;

interface Target {
  /** Creates the 64 MiB file (untimed), returns the timed write-and-close bodies' fd layer. */
  open(): { fd: number; write(buffer: Uint8Array, position: number): void; close(): void; done(): void };
}

function nodeFsTarget(fs: typeof realFs, dir: string, done: () => void): Target['open'] {
  return () => {
    const path = join(dir, 'f');
    fs.writeFileSync(path, new Uint8Array(0));
    fs.truncateSync(path, FILE);
    const fd = fs.openSync(path, 'r+');
    return {
      fd,
      write: (buffer, position) => {
        fs.writeSync(fd, buffer, 0, buffer.byteLength, position);
      },
      close: () => fs.closeSync(fd),
      done: () => {
        fs.rmSync(path, { force: true });
        done();
      },
    };
  };
}

function workspace(storage: 'mem' | 'file', chunkSize?: number) {
  const dir = storage === 'file' ? realFs.mkdtempSync(join(tmpdir(), 'dofs-fdbench-')) : undefined;
  const ws = openWorkspace(createNodeSqliteBackend({ path: dir ? join(dir, 'ws.db') : ':memory:' }), { chunkSize });
  return {
    ws,
    cleanup: () => {
      ws.close();
      if (dir) realFs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

const targets: Record<string, Target['open']> = {
  'node:fs on tmpfs': () => {
    const dir = realFs.mkdtempSync('/dev/shm/dofs-fdbench-');
    return nodeFsTarget(realFs, dir, () => realFs.rmSync(dir, { recursive: true, force: true }))();
  },
  ...Object.fromEntries(
    (['mem', 'file'] as const).flatMap((storage) =>
      [true, false].map((writeBack) => [
        `createNodeFs, ${storage}${writeBack ? '' : ', writeBack: false'}`,
        () => {
          const { ws, cleanup } = workspace(storage);
          const fs = createNodeFs(ws, { writeBack }) as unknown as typeof realFs;
          return nodeFsTarget(fs, '/', cleanup)();
        },
      ]),
    ),
  ),
  'createNodeFs, mem, 4 KiB chunks': () => {
    const { ws, cleanup } = workspace('mem', SMALL);
    return nodeFsTarget(createNodeFs(ws) as unknown as typeof realFs, '/', cleanup)();
  },
  ...Object.fromEntries(
    (['mem', 'file'] as const).map((storage) => [
      `mount write path (provider buffer), ${storage}`,
      () => {
        const { ws, cleanup } = workspace(storage);
        const provider = new SQLiteWorkspaceProvider(ws);
        provider.writeFileSync('/f', new Uint8Array(0));
        provider.truncateSync('/f', FILE);
        provider.openWriteBufferSync('/f');
        return {
          fd: 0,
          write: (buffer: Uint8Array, position: number) => {
            provider.writeRangeSync('/f', buffer, position);
          },
          close: () => provider.releaseWriteBufferSync('/f'),
          done: cleanup,
        };
      },
    ]),
  ),
};

type Storage = 'mem' | 'file';

/** Runs `fn` on a raw store (bench/systems/sqlite-raw.ts) in memory or in a file of a temp dir, then drops it. */
function withRawStore(storage: Storage, fn: (raw: ReturnType<typeof openRawStore>) => Sample): Sample {
  const dir = storage === 'file' ? realFs.mkdtempSync(join(tmpdir(), 'dofs-fd-raw-')) : undefined;
  const raw = openRawStore(dir ? join(dir, 'raw.db') : ':memory:');
  try {
    return fn(raw);
  } finally {
    raw.db.close();
    if (dir) realFs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The hash-plus-insert limit for sequential writes (bench/systems/sqlite-raw.ts's store). */
function rawSequential(storage: Storage): Sample {
  const chunks = sequentialData();
  return withRawStore(storage, (raw) => {
    collect?.();
    return timed(() => {
      for (const [idx, bytes] of chunks.entries()) raw.store('f', idx, bytes);
    });
  });
}

/**
 * The floor for the random workload: the chunks `ops` touch, built beforehand (zeros, the writes
 * applied), each hashed and inserted once in one transaction.
 */
function rawRandom(storage: Storage, ops: readonly Op[]): Sample {
  const chunks = new Map<number, Uint8Array>();
  for (const { bytes, at } of ops) {
    const idx = Math.floor(at / DEFAULT_CHUNK_SIZE);
    const chunk = chunks.get(idx) ?? new Uint8Array(DEFAULT_CHUNK_SIZE);
    chunk.set(bytes, at - idx * DEFAULT_CHUNK_SIZE);
    chunks.set(idx, chunk);
  }
  return withRawStore(storage, (raw) => {
    collect?.();
    return timed(() =>
      raw.tx(() => {
        for (const [idx, bytes] of chunks) {
          const hash = hashBytes(bytes);
          raw.putBlob.run(hash, bytes);
          raw.putChunk.run('f', idx, hash);
        }
      }),
    );
  });
}

/** Wall-clock and CPU milliseconds of `fn`. */
interface Sample {
  wall: number;
  cpu: number;
}

function timed(fn: () => void): Sample {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  fn();
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { wall, cpu: (cpu.user + cpu.system) / 1000 };
}

const sequentialData = (): Uint8Array[] => Array.from({ length: FILE / BIG }, () => randomBytes(BIG));

/** One write: its bytes and where they go. */
interface Op {
  bytes: Uint8Array;
  at: number;
}

const randomOps = (): Op[] =>
  Array.from({ length: RANDOM_WRITES }, () => ({
    bytes: randomBytes(SMALL),
    at: Math.floor(Math.random() * (FILE / SMALL)) * SMALL,
  }));

function time(open: Target['open'], ops: readonly Op[]): Sample {
  const file = open();
  collect?.();
  const sample = timed(() => {
    for (const op of ops) file.write(op.bytes, op.at);
    file.close();
  });
  file.done();
  return sample;
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};
const medians = (samples: Sample[]): Sample => ({
  wall: median(samples.map((s) => s.wall)),
  cpu: median(samples.map((s) => s.cpu)),
});

console.log(`CPU: ${cpus()[0]?.model} × ${cpus().length}; Node ${process.version}; ${runs} runs, medians`);
// A fresh VM's first touch of a page costs the guest eight times a later one (bench/lib/warm-memory.ts).
if (!SMOKE) console.log(warmMachineMemory(2));
console.log(
  `file ${FILE / 2 ** 20} MiB; random: ${RANDOM_WRITES} × 4 KiB writeSync + close; sequential: 64 KiB writeSync + close`,
);
const results: Record<string, Record<string, Sample>> = {};
// Alternating: each run times every system once, so a burst of load falls on all of them.
const samples: Record<string, Record<string, Sample[]>> = {};
const STORAGES = ['mem', 'file'] as const;
const rawSamples: Record<Storage, { random: Sample[]; sequential: Sample[] }> = {
  mem: { random: [], sequential: [] },
  file: { random: [], sequential: [] },
};
for (let run = 0; run < runs; run++) {
  const random = randomOps();
  for (const workload of ['random', 'sequential'] as const) {
    const ops = workload === 'random' ? random : sequentialData().map((bytes, i) => ({ bytes, at: i * BIG }));
    for (const [name, open] of Object.entries(targets)) {
      samples[name] ??= { random: [], sequential: [] };
      samples[name][workload].push(time(open, ops));
    }
  }
  for (const storage of STORAGES) {
    rawSamples[storage].sequential.push(rawSequential(storage));
    rawSamples[storage].random.push(rawRandom(storage, random));
  }
}
for (const [name, byWorkload] of Object.entries(samples))
  results[name] = { random: medians(byWorkload.random), sequential: medians(byWorkload.sequential) };
const limits = Object.fromEntries(
  STORAGES.map((storage) => [
    storage,
    { random: medians(rawSamples[storage].random), sequential: medians(rawSamples[storage].sequential) },
  ]),
) as Record<Storage, { random: Sample; sequential: Sample }>;
const base = results['node:fs on tmpfs'];
const row = (cells: string[]) => `| ${cells.join(' | ')} |`;
const pair = (a: number, b: number, digits = 1) => `${a.toFixed(digits)} / ${b.toFixed(digits)}`;
console.log('each cell: wall-clock / CPU');
console.log(
  row(['system', 'random 4 KiB (ms)', '× tmpfs', 'sequential (ms)', '× tmpfs', 'MiB/s', '% of hash+insert limit']),
);
console.log(row(['---', '---:', '---:', '---:', '---:', '---:', '---:']));
// Each row against the limit of its own storage: a file pays the WAL's writes that memory does not.
const limitOf = (name: string): Sample => limits[name.includes(', file') ? 'file' : 'mem'].sequential;
for (const [name, r] of Object.entries(results)) {
  const limit = limitOf(name);
  console.log(
    row([
      name,
      pair(r.random.wall, r.random.cpu),
      pair(r.random.wall / base.random.wall, r.random.cpu / base.random.cpu),
      pair(r.sequential.wall, r.sequential.cpu),
      pair(r.sequential.wall / base.sequential.wall, r.sequential.cpu / base.sequential.cpu),
      pair(FILE / 2 ** 20 / (r.sequential.wall / 1000), FILE / 2 ** 20 / (r.sequential.cpu / 1000), 0),
      `${((limit.wall / r.sequential.wall) * 100).toFixed(0)} % / ${((limit.cpu / r.sequential.cpu) * 100).toFixed(0)} %`,
    ]),
  );
}
for (const storage of STORAGES) {
  const { random, sequential } = limits[storage];
  console.log(
    row([
      `hash+insert limit (raw node:sqlite, ${storage})`,
      pair(random.wall, random.cpu),
      pair(random.wall / base.random.wall, random.cpu / base.random.cpu),
      pair(sequential.wall, sequential.cpu),
      pair(sequential.wall / base.sequential.wall, sequential.cpu / base.sequential.cpu),
      pair(FILE / 2 ** 20 / (sequential.wall / 1000), FILE / 2 ** 20 / (sequential.cpu / 1000), 0),
      '100 %',
    ]),
  );
}
