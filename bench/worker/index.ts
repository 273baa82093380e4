/**
 * The bench Worker: `POST /run {workload, params, budgetMs}` runs one workload on a brand-new
 * SQLite-backed Durable Object (this engine over `ctx.storage.sql`, core's API and open-file I/O:
 * @platformatic/vfs needs node:sqlite, which workerd lacks) and answers with its phase timings,
 * taken inside the object, and the rows read and written, summed from every SQL cursor.
 */
import { DurableObject } from 'cloudflare:workers';
import { createDoSqlBackend, meteredStorage, type SqlCosts } from '../../backends/do-sql/index.ts';
import { openFile, openWorkspace, readAt, type Workspace, writeAt } from '../../core/index.ts';
import { createRecorder } from '../lib/measure.ts';
import type { BenchFs, Workload } from '../lib/types.ts';
import { dedup } from '../workloads/dedup.ts';
import { largeFile } from '../workloads/large-file.ts';
import { smallFiles } from '../workloads/small-files.ts';

interface Env {
  BENCH: DurableObjectNamespace<BenchDO>;
}

/** The workloads a user of the engine runs, with core's own calls where @platformatic/vfs would be used in Node. */
function coreFs(ws: Workspace, totals: SqlCosts): BenchFs {
  const db = ws.db;
  return {
    mkdirp: (path) => {
      ws.mkdir(path, { recursive: true });
    },
    writeFile: (path, data) => ws.writeFile(path, data),
    readFile: (path) => ws.readFile(path),
    stat: (path) => ws.stat(path).size,
    readdir: (path) => ws.readdir(path).map((entry) => entry.name),
    readdirTypes: (path) => ws.readdir(path).map((entry) => ({ name: entry.name, dir: entry.type === 'dir' })),
    rename: (from, to) => ws.rename(from, to),
    copyFile: (from, to) => ws.copyFile(from, to),
    rmrf: (path) => ws.rm(path, { recursive: true }),
    open: (path, flags) => {
      const writing = flags !== 'r';
      const { inode } = openFile(db, path, { write: writing, create: flags === 'w', truncate: flags === 'w' });
      return {
        write: (data, position) => {
          writeAt(db, inode, position, data);
        },
        read: (into, position) => {
          const bytes = readAt(db, inode, position, into.byteLength);
          into.set(bytes);
          return bytes.byteLength;
        },
        close: () => {},
      };
    },
    find: (dir, glob) => ws.find(dir, glob),
    grep: (literal, dir) => ws.grep(literal, dir).length,
    storedBytes: () => {
      const usage = ws.usage();
      return { stored: usage.storedBytes, garbage: usage.garbageBytes };
    },
    counters: () => ({ ...totals }),
    close: () => ws.close(),
  };
}

// biome-ignore lint/suspicious/noExplicitAny: workloads differ in their params
const WORKLOADS: Record<string, (params: any) => Workload<any> & { params: unknown }> = {
  small: (p) => smallFiles(p.count, p.search),
  large: (p) => largeFile(p.size),
  dedup: (p) => dedup(p.size, p.copies),
};

export interface RunRequest {
  kind: keyof typeof WORKLOADS;
  params: Record<string, unknown>;
  budgetMs: number;
}

export class BenchDO extends DurableObject<Env> {
  /** Runs one workload on this (fresh) object; returns its phases. */
  run(request: RunRequest) {
    const totals: SqlCosts = { statements: 0, rowsRead: 0, rowsWritten: 0 };
    const ws = openWorkspace(createDoSqlBackend(meteredStorage(this.ctx.storage, totals)), {
      chunkSize: request.params.chunkSize as number | undefined,
    });
    const fs = coreFs(ws, totals);
    const workload = WORKLOADS[request.kind](request.params);
    const { rec, samples } = createRecorder(fs, request.budgetMs);
    try {
      workload.run(fs, rec, workload.params);
    } finally {
      fs.close();
    }
    return samples;
  }
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    if (request.method !== 'POST') return new Response('dofs bench worker');
    const body = (await request.json()) as RunRequest;
    try {
      const stub = env.BENCH.get(env.BENCH.newUniqueId());
      return Response.json(await stub.run(body));
    } catch (error) {
      return Response.json(
        { error: error instanceof Error ? `${error.message}\n${error.stack}` : String(error) },
        { status: 500 },
      );
    }
  },
} satisfies ExportedHandler<Env>;
