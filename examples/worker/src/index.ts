/**
 * Example: a dofs workspace inside a SQLite-backed Durable Object.
 *
 * - `WorkspaceDO` holds one workspace. Its public methods are the Workers RPC surface
 *   (`env.WORKSPACES.get(id).readFile(...)` from any Worker bound to the class).
 * - The Worker's `fetch` handler is a small HTTP API over that RPC, one Durable Object per
 *   workspace name:
 *
 *   GET    /ws/<name>/fs/<path>          file bytes (a `Range: bytes=…` header gets 206), or a JSON listing for a directory (?limit=&offset=; streamed 1,000 entries per call, each page after the last name listed)
 *   PUT    /ws/<name>/fs/<path>          write the request body to the file, creating parents; JSON stat
 *   DELETE /ws/<name>/fs/<path>          remove a file or symlink (?recursive=1 for a directory)
 *   POST   /ws/<name>/mkdir/<path>       create a directory and its parents
 *   GET    /ws/<name>/stat/<path>        JSON stat
 *   GET    /ws/<name>/usage              JSON usage (logical and stored bytes, dedup ratio, inodes)
 *   GET    /ws/<name>/fsck               JSON fsck report (?content=0: no blob re-hashed; ?maxBytes=N: re-hash about N bytes, continue with ?after=<checked.nextBlob>)
 *   POST   /ws/<name>/maintenance        one maintenance step now (what the alarm runs): JSON { compacted, freedBlobs, more }
 *   GET    /ws/<name>/snapshots          JSON list of snapshots, oldest first
 *   POST   /ws/<name>/snapshots/<snap>   take a snapshot (no <snap>: a default name); JSON snapshot, 201
 *   DELETE /ws/<name>/snapshots/<snap>   delete a snapshot
 *   POST   /ws/<name>/restore/<snap>     return the workspace to a snapshot; JSON { restored, before }
 *   GET    /ws/<name>/diff/<snap>        JSON paths added, removed and changed since (?to=<snap> for another; streamed, any size)
 *   GET    /ws/<name>/sync               WebSocket upgrade: a replica's sync session (Cap'n Web RPC)
 *
 * Every route requires `Authorization: Bearer <API_TOKEN>` (401 without it, 503 while the token is
 * unset), checked in constant time before any Durable Object is reached. wrangler.jsonc sets a
 * development value, `dev-api-token`; in production set a secret (`wrangler secret put API_TOKEN`).
 *
 * Errors are JSON `{ code, message }` with the engine's code (ENOENT, EISDIR, ...) mapped to an
 * HTTP status. Run it with `npm run dev:worker`.
 *
 * @module
 */
import { DurableObject } from 'cloudflare:workers';
import {
  type DirEntry,
  type FsckOptions,
  type FsckReport,
  type MkdirOptions,
  normalizePath,
  openWorkspace,
  type ReaddirOptions,
  type RestoreResult,
  type RmOptions,
  type SnapshotDiffEntry,
  type SnapshotInfo,
  type StatInfo,
  type Usage,
  type Workspace,
} from 'dofs-sqlite';
import { createDoSqlBackend } from 'dofs-sqlite/backends/do-sql';
import {
  COMPACTION_INTERVAL_MS,
  checkBearerToken,
  compactChanges,
  createSyncEndpoint,
  durableObjectCacheBytes,
  serveSyncWebSocket,
} from 'dofs-sqlite/sync';

/** The Worker's bindings (wrangler.jsonc). */
export interface Env {
  WORKSPACES: DurableObjectNamespace<WorkspaceDO>;
  /**
   * The bearer token every request must present (`Authorization: Bearer <API_TOKEN>`): the file
   * API and replicas' sync alike. Everything is refused (503) while it is unset or empty.
   */
  API_TOKEN?: string;
}

/** Options of {@link WorkspaceDO.writeFile}. */
export interface PutOptions {
  /** Create missing parent directories first (in the same transaction as the write). */
  parents?: boolean;
  /** Permission bits (a new file gets 0o644). */
  mode?: number;
  /** Fail with EEXIST if the path exists. */
  exclusive?: boolean;
}

/** What one maintenance step did ({@link WorkspaceDO.maintain}). */
export interface Maintenance {
  /** Change-log rows compacted away. */
  compacted: number;
  /** Garbage blobs freed. */
  freedBlobs: number;
  /** True when another step has work left. */
  more: boolean;
}

/** What `GET /fs/<path>` needs, in one call: a directory's listing or the first slice of a file. */
export type Entry =
  | { type: 'dir'; path: string; rev: number; entries: DirEntry[] }
  | ({ type: 'file'; path: string } & FileSlice);

/** One slice of a file, read atomically with the identity of the version it came from. */
export interface FileSlice {
  bytes: Uint8Array;
  /** The file's size, inode and revision when the slice was read: a change between slices shows here. */
  size: number;
  ino: number;
  rev: number;
}

/**
 * Engine errors (`FsError`) cross the RPC boundary as plain `Error`s: the class is lost, and a
 * `cause` (a storage error) may not be serialisable. So each is re-thrown as an `Error` with the
 * same message (`ENOENT: no such file or directory, open '/x'`) and the Node-shaped fields as own
 * properties, which workerd carries to the caller. {@link errorCode} reads the code back.
 */
function rethrow(error: unknown): never {
  const { code, errno, syscall, path, dest } = (error ?? {}) as Record<string, unknown>;
  if (error instanceof Error && typeof code === 'string') {
    const fields = Object.fromEntries(
      Object.entries({ code, errno, syscall, path, dest }).filter(([, v]) => v !== undefined),
    );
    throw Object.assign(new Error(error.message), fields);
  }
  throw error;
}

/** Runs `fn`, turning engine errors into errors whose message carries the code. */
function call<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    rethrow(error);
  }
}

/** A SQLite-backed Durable Object holding one dofs workspace, exposed over Workers RPC. */
export class WorkspaceDO extends DurableObject<Env> {
  private readonly ws: Workspace;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    // Synchronous and cheap: creates the schema on first use, migrates an older one, and is
    // harmless on every later construction (after an eviction or a deploy).
    // The blob cache is sized from the isolate's 128 MB limit, not the engine's 64 MiB default:
    // the cache, the largest sync message being received (a 32 MiB frame and its decoded copy)
    // and the engine's working set all live in this isolate, so the cache gets what is left of
    // the limit after the other two and a margin (18 MiB; see durableObjectCacheBytes).
    this.ws = openWorkspace(createDoSqlBackend(ctx.storage), { cacheBytes: durableObjectCacheBytes() });
    // Every committed change makes sure a maintenance alarm is pending: the change log is compacted
    // and garbage blobs are freed in the background, a bounded step per alarm, without a peer or
    // a client having to ask.
    this.ws.db.onChange(() => void this.scheduleMaintenance(COMPACTION_INTERVAL_MS));
  }

  private async scheduleMaintenance(delayMs: number): Promise<void> {
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(Date.now() + delayMs);
  }

  /**
   * Compacts the change log and collects garbage, a bounded step of each (at most 4,096 catalogue
   * rows examined, 1,024 blobs freed); comes back soon while work remains.
   */
  override async alarm(): Promise<void> {
    if ((await this.maintain()).more) await this.scheduleMaintenance(1000);
  }

  /**
   * One bounded maintenance step, what the alarm runs: compacts the change log (what every known
   * replica has acknowledged) and collects garbage. `more` says whether another step has work.
   * Also an RPC method, so an operator (or a test) need not wait for the alarm.
   */
  async maintain(): Promise<Maintenance> {
    return call(() => {
      const step = compactChanges(this.ws.db);
      const gc = this.ws.gcStep();
      return {
        compacted: step.removed,
        freedBlobs: gc.blobs,
        more: step.more || gc.blobs > 0 || !gc.wrapped,
      };
    });
  }

  /** Sync sessions: the Worker has already checked the token before forwarding. */
  override fetch(request: Request): Response {
    if (request.headers.get('upgrade')?.toLowerCase() !== 'websocket') {
      return new Response('expected a WebSocket upgrade', { status: 426 });
    }
    return serveSyncWebSocket(request, createSyncEndpoint(this.ws.db));
  }

  // RPC stubs see one signature per method (no overloads), so bytes and text are two methods.

  /** Reads a whole file as bytes. */
  readFile(path: string): Uint8Array {
    return call(() => this.ws.readFile(path));
  }

  /** Reads a whole file as UTF-8 text. */
  readTextFile(path: string): string {
    return call(() => this.ws.readFile(path, 'utf8'));
  }

  /**
   * A directory's listing (paged) or a file's first `sliceBytes` bytes, whichever `path` is. One
   * call instead of stat-then-read: every RPC call on a stub is a billed Durable Object request.
   */
  get(path: string, options: ReaddirOptions & { sliceBytes?: number } = {}): Entry {
    return call(() => {
      const info = this.ws.stat(path);
      const realPath = normalizePath(path, 'stat');
      if (info.isDirectory) {
        const { limit, offset, after } = options;
        const entries = this.ws.readdir(path, { limit, offset, after });
        return { type: 'dir', path: realPath, rev: info.rev, entries };
      }
      const bytes = this.ws.readFile(path, { byteOffset: 0, byteLength: options.sliceBytes ?? info.size });
      return { type: 'file', path: realPath, bytes, size: info.size, ino: info.ino, rev: info.rev };
    });
  }

  /** Reads `byteLength` bytes at `byteOffset`, with the size and revision of the version read (one transaction). */
  readSlice(path: string, byteOffset: number, byteLength: number): FileSlice {
    return call(() => {
      const info = this.ws.stat(path);
      const bytes = this.ws.readFile(path, { byteOffset, byteLength });
      return { bytes, size: info.size, ino: info.ino, rev: info.rev };
    });
  }

  /**
   * Writes a whole file from a string, bytes or a byte stream, and returns its stat. With
   * `parents`, missing directories are created first: in the same transaction as an in-memory
   * write (a failed write leaves nothing), before a stream is read (the engine stages a stream's
   * chunks as they arrive and changes the file in one transaction at the end).
   */
  async writeFile(
    path: string,
    data: string | Uint8Array | ReadableStream<Uint8Array>,
    options: PutOptions = {},
  ): Promise<StatInfo> {
    const { parents, ...writeOptions } = options;
    try {
      if (data instanceof ReadableStream) {
        if (parents) this.ensureParent(path);
        await this.ws.writeFile(path, data, writeOptions);
        return this.ws.stat(path);
      }
      // One transaction around both (db.transaction nests ctx.storage.transactionSync, and holds
      // watch events until the outermost commit): the engine's own transactions nest inside it.
      return this.ws.db.transaction(() => {
        if (parents) this.ensureParent(path);
        this.ws.writeFile(path, data, writeOptions);
        return this.ws.stat(path);
      });
    } catch (error) {
      rethrow(error);
    }
  }

  /** Creates a directory (`recursive`: and its parents; no error if it exists). */
  mkdir(path: string, options?: MkdirOptions): string | undefined {
    return call(() => this.ws.mkdir(path, options));
  }

  /** Lists a directory, paged. */
  readdir(path: string, options?: ReaddirOptions): DirEntry[] {
    return call(() => this.ws.readdir(path, options));
  }

  /** Stats a path (following symlinks). */
  stat(path: string): StatInfo {
    return call(() => this.ws.stat(path));
  }

  /** Removes a file, a symlink or (`recursive`) a directory tree. */
  rm(path: string, options?: RmOptions): void {
    call(() => this.ws.rm(path, options));
  }

  /** Renames atomically (a directory moves with its whole subtree in one statement). */
  rename(from: string, to: string): void {
    call(() => this.ws.rename(from, to));
  }

  /** Logical and stored bytes, dedup ratio and inode counts. */
  usage(): Usage {
    return call(() => this.ws.usage());
  }

  /** Checks every invariant of the workspace; changes nothing. */
  fsck(options?: FsckOptions): FsckReport {
    return call(() => this.ws.fsck(options));
  }

  /** Records the whole workspace under `name` (default `snapshot-<id>`), in constant time. */
  snapshot(name?: string): SnapshotInfo {
    return call(() => this.ws.snapshot(name));
  }

  /** Every snapshot, oldest first. */
  snapshots(): SnapshotInfo[] {
    return call(() => this.ws.snapshots());
  }

  /** Deletes a snapshot; gc then frees what only it held. */
  deleteSnapshot(name: string): void {
    call(() => this.ws.deleteSnapshot(name));
  }

  /** Returns the workspace to a snapshot in one transaction (after a snapshot that undoes it). */
  restore(name: string): RestoreResult {
    return call(() => this.ws.restore(name));
  }

  /** Paths added, removed and changed from snapshot `from` to `to`, or to now. */
  diff(from: string, to?: string): SnapshotDiffEntry[] {
    return call(() => this.ws.diff(from, to));
  }

  /**
   * {@link WorkspaceDO.diff} as a stream of its JSON text, for an answer of any size: one RPC
   * answer is limited to 32 MiB (about 10,000 paths of 3 KB). Computed before it returns, so a
   * missing snapshot is an error of the call, not of the stream.
   */
  diffJson(from: string, to?: string): ReadableStream<Uint8Array> {
    const entries = call(() => this.ws.diff(from, to));
    const encoder = new TextEncoder();
    let next = 0;
    return new ReadableStream<Uint8Array>({
      pull(controller) {
        // About 1 MiB of text per chunk; the same layout as json().
        let text = next === 0 ? '[' : '';
        while (next < entries.length && text.length < 1024 * 1024) {
          text += `${next === 0 ? '' : ','}\n${JSON.stringify(entries[next++], null, 2).replace(/^/gm, '  ')}`;
        }
        if (next === entries.length) {
          text += entries.length === 0 ? ']' : '\n]';
          controller.enqueue(encoder.encode(text));
          controller.close();
        } else controller.enqueue(encoder.encode(text));
      },
    });
  }

  private ensureParent(path: string): void {
    const slash = path.replace(/\/+$/, '').lastIndexOf('/');
    if (slash > 0) this.ws.mkdir(path.slice(0, slash), { recursive: true });
  }
}

// ---------------------------------------------------------------------------------------------
// HTTP API

/** Files larger than this are streamed (PUT) and read in slices of this size (GET), below the RPC message limit. */
const SLICE_BYTES = 2 * 1024 * 1024;

const STATUS: Record<string, number> = {
  ENOENT: 404,
  EEXIST: 409,
  ENOTEMPTY: 409,
  EISDIR: 400,
  ENOTDIR: 400,
  EINVAL: 400,
  ENAMETOOLONG: 400,
  ELOOP: 400,
  EPERM: 403,
  EACCES: 403,
  EROFS: 403,
  EFBIG: 413,
  ENOSPC: 507,
};

/** The engine's error code of an error that crossed RPC (the message starts with it), if any. */
export function errorCode(error: unknown): string | undefined {
  const own = (error as { code?: unknown })?.code;
  if (typeof own === 'string') return own;
  const match = /^(E[A-Z_]+): /.exec(String((error as { message?: unknown })?.message ?? ''));
  return match?.[1];
}

function json(body: unknown, status = 200, headers: HeadersInit = {}): Response {
  return new Response(JSON.stringify(body, null, 2), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
  });
}

function errorResponse(error: unknown): Response {
  const code = errorCode(error) ?? 'EIO';
  const message = String((error as { message?: unknown })?.message ?? error);
  return json({ code, message }, STATUS[code] ?? 500);
}

class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** The workspace path of a URL's remainder: percent-decoded, absolute. */
function toPath(rest: string): string {
  try {
    return `/${decodeURIComponent(rest)}`;
  } catch {
    throw new HttpError(400, 'EINVAL', `EINVAL: invalid argument, malformed percent-encoding in '${rest}'`);
  }
}

function intParam(url: URL, name: string): number | undefined {
  const raw = url.searchParams.get(name);
  if (raw === null) return undefined;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new HttpError(400, 'EINVAL', `EINVAL: invalid argument, ${name} must be a non-negative integer`);
  }
  return value;
}

/** A yes/no query parameter: `1`/`true` or `0`/`false`; undefined when absent, 400 for anything else. */
function boolParam(url: URL, name: string): boolean | undefined {
  const raw = url.searchParams.get(name);
  if (raw === null) return undefined;
  if (raw === '1' || raw === 'true') return true;
  if (raw === '0' || raw === 'false') return false;
  throw new HttpError(400, 'EINVAL', `EINVAL: invalid argument, ${name} must be 0, 1, false or true`);
}

const truthy = (value: string | null): boolean => value !== null && value !== '0' && value !== 'false';

/**
 * The byte range a `Range` header asks of a file of `size` bytes, as `[start, end)`: undefined
 * for no header or one this does not serve (several ranges, other units: the whole file is sent,
 * as RFC 9110 allows); `'unsatisfiable'` for a range that starts past the end.
 */
function requestedRange(header: string | null, size: number): [number, number] | 'unsatisfiable' | undefined {
  const match = header === null ? null : /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) return undefined;
  if (match[1] === '') {
    // A suffix: the last N bytes.
    const last = Math.min(Number(match[2]), size);
    return last === 0 ? 'unsatisfiable' : [size - last, size];
  }
  const start = Number(match[1]);
  const end = match[2] === '' ? size : Math.min(Number(match[2]) + 1, size);
  if (start >= size) return 'unsatisfiable';
  return end <= start ? undefined : [start, end];
}

/**
 * GET of a file, given its first slice (read with the size and revision of its version): the
 * whole file, or the range the `Range` header asks (206, or 416 past the end). What the first
 * slice holds is answered from it; the rest is streamed slice by slice (each RPC stays well below
 * the RPC message limit) and fails if the file changes midway.
 */
function getFile(
  ws: DurableObjectStub<WorkspaceDO>,
  path: string,
  first: FileSlice,
  ctx: ExecutionContext,
  rangeHeader: string | null,
): Response {
  const headers: Record<string, string> = {
    'content-type': 'application/octet-stream',
    'accept-ranges': 'bytes',
    'x-dofs-rev': String(first.rev),
  };
  const range = requestedRange(rangeHeader, first.size);
  if (range === 'unsatisfiable') {
    return new Response(null, { status: 416, headers: { ...headers, 'content-range': `bytes */${first.size}` } });
  }
  const [start, end] = range ?? [0, first.size];
  const status = range ? 206 : 200;
  if (range) headers['content-range'] = `bytes ${start}-${end - 1}/${first.size}`;
  headers['content-length'] = String(end - start);
  const held = first.bytes.subarray(Math.min(start, first.bytes.byteLength), Math.min(end, first.bytes.byteLength));
  if (start + held.byteLength >= end) return new Response(held, { status, headers });
  // FixedLengthStream keeps the Content-Length of a streamed body; a short body (the file changed
  // midway, a read failed) then ends the response with an error instead of silently truncating it.
  const { readable, writable } = new FixedLengthStream(end - start);
  const pump = async () => {
    const writer = writable.getWriter();
    try {
      if (held.byteLength > 0) await writer.write(held);
      for (let offset = start + held.byteLength; offset < end; ) {
        const slice = await ws.readSlice(path, offset, Math.min(SLICE_BYTES, end - offset));
        if (slice.ino !== first.ino || slice.rev !== first.rev || slice.bytes.byteLength === 0) {
          throw new Error(`${path} changed while it was being read`);
        }
        await writer.write(slice.bytes);
        offset += slice.bytes.byteLength;
      }
      await writer.close();
    } catch (error) {
      await writer.abort(error).catch(() => {});
    }
  };
  ctx.waitUntil(pump());
  return new Response(readable, { status, headers });
}

/** Directory entries asked of the object per call: far below the RPC message limit, even with 1 MiB paths (32 MiB / 1,000 entries each). */
const LIST_PAGE = 1000;

/**
 * GET of a directory larger than one page, given its first page (read with the directory's
 * revision): the JSON listing streamed page by page, each page one call to the object. A listing
 * answered by one call would fail past 32 MiB (about 12,000 entries under a 3 KB path), after the
 * object had done all the work. Each page after the first is asked by the last name listed, not by
 * offset: SQLite steps over every row an OFFSET skips, so 100,000 entries read about 5 million rows
 * by offset and 200,000 this way. Key paging alone would not skip or repeat an entry when the
 * directory changes between pages, but it would still mix two versions (an entry added before the
 * last name missed, one after it listed), so a change of the directory's revision between pages
 * still fails the response midway.
 */
function listDir(
  ws: DurableObjectStub<WorkspaceDO>,
  path: string,
  first: Extract<Entry, { type: 'dir' }>,
  range: { offset: number; limit?: number },
  ctx: ExecutionContext,
  headers: Record<string, string>,
): Response {
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  const encoder = new TextEncoder();
  const pump = async () => {
    const writer = writable.getWriter();
    try {
      const end = range.limit === undefined ? Number.POSITIVE_INFINITY : range.offset + range.limit;
      let entries = first.entries;
      let listed = range.offset;
      let separator = '';
      await writer.write(encoder.encode(`{\n  "path": ${JSON.stringify(first.path)},\n  "entries": [`));
      while (entries.length > 0) {
        const text = entries.map((entry) => `\n    ${JSON.stringify(entry)}`).join(',');
        await writer.write(encoder.encode(separator + text));
        separator = ',';
        listed += entries.length;
        if (entries.length < LIST_PAGE || listed >= end) break;
        const after = entries[entries.length - 1].name;
        const page = await ws.get(path, { after, limit: Math.min(LIST_PAGE, end - listed) });
        if (page.type !== 'dir' || page.rev !== first.rev) throw new Error(`${path} changed while it was being listed`);
        entries = page.entries;
      }
      await writer.write(encoder.encode('\n  ]\n}'));
      await writer.close();
    } catch (error) {
      await writer.abort(error).catch(() => {});
    }
  };
  ctx.waitUntil(pump());
  return new Response(readable, {
    status: 200,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
  });
}

/**
 * Refuses a request that does not carry `Authorization: Bearer <API_TOKEN>` (compared in constant
 * time), before any Durable Object, and so any state, is touched. Every route needs it: the file
 * API reads and writes whole workspaces, and `/sync` replicates them.
 */
async function refuseUnauthorised(request: Request, env: Env): Promise<Response | undefined> {
  if (!env.API_TOKEN) {
    return json({ code: 'EACCES', message: 'the API is disabled: set the API_TOKEN secret' }, 503);
  }
  if (await checkBearerToken(request.headers.get('authorization'), env.API_TOKEN)) return undefined;
  return json({ code: 'EACCES', message: 'a valid Authorization: Bearer <token> header is required' }, 401, {
    'www-authenticate': 'Bearer realm="dofs"',
  });
}

async function handle(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
  const refused = await refuseUnauthorised(request, env);
  if (refused) return refused;
  const url = new URL(request.url);
  const sync = /^\/ws\/([^/]+)\/sync$/.exec(url.pathname);
  if (sync) {
    const name = toPath(sync[1]).slice(1);
    return env.WORKSPACES.get(env.WORKSPACES.idFromName(name)).fetch(request);
  }
  const match = /^\/ws\/([^/]+)\/(fs|stat|mkdir|usage|fsck|maintenance|snapshots|restore|diff)(?:\/(.*))?$/.exec(
    url.pathname,
  );
  if (!match) {
    return json(
      { code: 'ENOROUTE', message: `no route for ${request.method} ${url.pathname}; see /ws/<name>/fs/<path>` },
      404,
    );
  }
  const [, rawName, action, rest = ''] = match;
  const name = toPath(rawName).slice(1);
  const ws = env.WORKSPACES.get(env.WORKSPACES.idFromName(name));
  const path = toPath(rest);
  const method = request.method;

  if (action === 'fs' && method === 'GET') {
    const limit = intParam(url, 'limit');
    const offset = intParam(url, 'offset');
    // A listing is asked for a page at a time, so no answer nears the RPC message limit.
    const first = Math.min(limit ?? LIST_PAGE, LIST_PAGE);
    const entry = await ws.get(path, { limit: first, offset, sliceBytes: SLICE_BYTES });
    if (entry.type === 'file') return getFile(ws, path, entry, ctx, request.headers.get('range'));
    const headers = { 'x-dofs-rev': String(entry.rev) };
    if (entry.entries.length < first || limit === first)
      return json({ path: entry.path, entries: entry.entries }, 200, headers);
    return listDir(ws, path, entry, { offset: offset ?? 0, limit }, ctx, headers);
  }
  if (action === 'fs' && method === 'PUT') {
    const length = Number(request.headers.get('content-length') ?? Number.NaN);
    const small = Number.isFinite(length) && length <= SLICE_BYTES;
    const body = small || !request.body ? new Uint8Array(await request.arrayBuffer()) : request.body;
    const info = await ws.writeFile(path, body, { parents: true });
    return json(info);
  }
  if (action === 'fs' && method === 'DELETE') {
    await ws.rm(path, { recursive: truthy(url.searchParams.get('recursive')) });
    return new Response(null, { status: 204 });
  }
  if (action === 'mkdir' && method === 'POST') {
    await ws.mkdir(path, { recursive: true });
    return json(await ws.stat(path), 201);
  }
  if (action === 'stat' && method === 'GET') return json(await ws.stat(path));
  if (action === 'usage' && method === 'GET' && rest === '') return json(await ws.usage());
  if (action === 'fsck' && method === 'GET' && rest === '') {
    return json(
      await ws.fsck({
        verifyContent: boolParam(url, 'content') ?? true,
        blobsAfter: url.searchParams.get('after') ?? undefined,
        maxBytesHashed: intParam(url, 'maxBytes'),
      }),
    );
  }
  if (action === 'maintenance' && method === 'POST' && rest === '') return json(await ws.maintain());
  const snap = path.slice(1);
  if (action === 'snapshots' && method === 'GET' && rest === '') return json(await ws.snapshots());
  if (action === 'snapshots' && method === 'POST') return json(await ws.snapshot(snap === '' ? undefined : snap), 201);
  if (action === 'snapshots' && method === 'DELETE' && snap !== '') {
    await ws.deleteSnapshot(snap);
    return new Response(null, { status: 204 });
  }
  if (action === 'restore' && method === 'POST' && snap !== '') return json(await ws.restore(snap));
  if (action === 'diff' && method === 'GET' && snap !== '') {
    const body = await ws.diffJson(snap, url.searchParams.get('to') ?? undefined);
    return new Response(body, { headers: { 'content-type': 'application/json; charset=utf-8' } });
  }
  return json({ code: 'EMETHOD', message: `${method} is not supported on /ws/<name>/${action}` }, 405);
}

export default {
  async fetch(request, env, ctx): Promise<Response> {
    try {
      return await handle(request, env, ctx);
    } catch (error) {
      if (error instanceof HttpError) return json({ code: error.code, message: error.message }, error.status);
      return errorResponse(error);
    }
  },
} satisfies ExportedHandler<Env>;
