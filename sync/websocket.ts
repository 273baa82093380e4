/**
 * The sync wire: Cap'n Web RPC over a WebSocket, what Cloudflare uses between a Durable Object
 * and a container. The authority serves a {@link SyncEndpoint}; a replica dials it with a bearer
 * token. Works in workerd (serving) and in Node 22+ (dialling, with its built-in WebSocket).
 *
 * @module
 */
import { WebSocketTransport } from 'capnweb';
import { FsError, fsError } from '../core/errors.ts';
import type { SyncEndpoint } from './endpoint.ts';
import { type FramePipe, frameTransport } from './frames.ts';
import type { SyncObject } from './objects.ts';
import { dialRpc, serveRpc } from './rpc.ts';

/** Largest message either side accepts: a 4 MiB object batch is a little over 4 MiB once framed. */
export const MAX_MESSAGE_BYTES = 32 * 1024 * 1024;

/** A Cap'n Web transport over `socket` whose object bytes travel as binary frames (see frames.ts). */
function socketTransport(socket: WebSocket) {
  return frameTransport(new WebSocketTransport(socket) as unknown as FramePipe, MAX_MESSAGE_BYTES);
}

/** The Workers runtime's socket pair and upgrade response, described by the shape used here. */
interface WorkersRuntime {
  WebSocketPair: new () => { 0: WebSocket & { accept(): void }; 1: WebSocket };
}

/**
 * Answers a WebSocket upgrade request (inside a Worker or Durable Object) with a sync session over
 * `endpoint`. Authenticate the request before calling this: it reads no credentials itself.
 *
 * ```ts
 * // In a Durable Object holding a workspace (`this.ws`), after the Worker checked the token:
 * override fetch(request: Request): Response {
 *   return serveSyncWebSocket(request, createSyncEndpoint(this.ws.db));
 * }
 * ```
 *
 * @param request a request with `Upgrade: websocket`
 * @param endpoint the authority's calls, usually `createSyncEndpoint(db)`
 * @returns the 101 response that accepts the socket
 */
export function serveSyncWebSocket(request: Request, endpoint: SyncEndpoint): Response {
  if (request.headers.get('upgrade')?.toLowerCase() !== 'websocket') {
    return new Response('This endpoint only accepts WebSocket requests.', { status: 400 });
  }
  const pair = new (globalThis as unknown as WorkersRuntime).WebSocketPair();
  pair[0].accept();
  serveRpc(socketTransport(pair[0]), endpoint);
  return new Response(null, { status: 101, webSocket: pair[1] } as ResponseInit);
}

/**
 * True when `presented` (an `Authorization` header) carries exactly `Bearer <token>`; constant time
 * in the token (both sides are hashed, then compared without an early exit). An empty `token`
 * never matches, so an unset secret refuses everyone.
 *
 * ```ts
 * if (!(await checkBearerToken(request.headers.get('authorization'), env.SYNC_TOKEN))) {
 *   return new Response('unauthorised', { status: 401 });
 * }
 * ```
 */
export async function checkBearerToken(presented: string | null, token: string): Promise<boolean> {
  if (!token || !presented?.startsWith('Bearer ')) return false;
  const digest = async (text: string) =>
    new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
  const [a, b] = await Promise.all([digest(presented.slice(7)), digest(token)]);
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a[i] ^ b[i];
  return difference === 0;
}

/** Bytes that crossed a dialled connection. */
export interface SocketCounters {
  /** Bytes of WebSocket messages sent, as encoded on the wire. */
  sent: number;
  /** Bytes of WebSocket messages received, as encoded on the wire. */
  received: number;
  /** Bytes of object payload pushed up (before encoding). */
  objectsUp: number;
  /** Bytes of object payload fetched down (before encoding). */
  objectsDown: number;
}

/** A dialled sync connection: the authority's endpoint, its byte counters, and a way to hang up. */
export interface SyncConnection extends SyncEndpoint {
  /** What crossed this connection so far. */
  readonly counters: SocketCounters;
  /** Closes the session and the socket. */
  close(): void;
}

const size = (data: unknown): number =>
  typeof data === 'string'
    ? new TextEncoder().encode(data).length
    : data instanceof ArrayBuffer
      ? data.byteLength
      : ArrayBuffer.isView(data)
        ? data.byteLength
        : 0;
const objectBytes = (objects: unknown): number =>
  Array.isArray(objects)
    ? (objects as SyncObject[]).reduce((sum, object) => sum + (object?.bytes?.byteLength ?? 0), 0)
    : 0;

/** Why a WebSocket would not open: the browser-shaped API hides the HTTP status, so ask once over HTTP. */
async function diagnose(url: string, token: string): Promise<Error> {
  const httpUrl = url.replace(/^ws(s?):/, 'http$1:');
  try {
    const response = await fetch(httpUrl, { headers: { authorization: `Bearer ${token}` } });
    const body = await response.text();
    const reason = /"message":\s*"([^"]*)"/.exec(body)?.[1] ?? `HTTP ${response.status}`;
    const code = response.status === 401 || response.status === 403 || response.status === 503 ? 'EACCES' : 'EIO';
    return fsError(code, 'sync', url, undefined, `the sync endpoint refused the connection: ${reason}`);
  } catch (error) {
    return fsError('EIO', 'sync', url, undefined, `cannot reach the sync endpoint: ${(error as Error).message}`);
  }
}

/**
 * Dials the authority's sync endpoint at `url` (`ws://` or `wss://`, or `http(s)://`, rewritten)
 * with `Authorization: Bearer <token>`. A refused token or an unreachable server is EACCES or EIO
 * with a message saying which; a call broken by the connection closing (the peer or the network,
 * not {@link SyncConnection.close}) is ECONNRESET. Needs a `WebSocket` that accepts headers (Node 22+'s built-in one).
 *
 * ```ts
 * import { openWorkspace } from 'dofs-sqlite';
 * import { createNodeSqliteBackend } from 'dofs-sqlite/backends/node-sqlite';
 * import { connectSyncWebSocket, createSyncDriver } from 'dofs-sqlite/sync';
 *
 * const ws = openWorkspace(createNodeSqliteBackend({ path: 'replica.db' }));
 * const remote = await connectSyncWebSocket('https://example.com/ws/demo/sync', token);
 * try {
 *   await createSyncDriver(ws.db, remote).sync();
 * } finally {
 *   remote.close();
 * }
 * ```
 */
export async function connectSyncWebSocket(url: string, token: string): Promise<SyncConnection> {
  const wsUrl = url.replace(/^http(s?):/, 'ws$1:');
  // Node's WebSocket (undici) takes headers as a second-argument option; browsers cannot send them.
  const WebSocketWithHeaders = WebSocket as unknown as new (
    url: string,
    init: { headers: Record<string, string> },
  ) => WebSocket;
  const open = async (): Promise<WebSocket | undefined> => {
    const socket = new WebSocketWithHeaders(wsUrl, { headers: { authorization: `Bearer ${token}` } });
    socket.binaryType = 'arraybuffer';
    const opened = await new Promise<boolean>((resolve) => {
      socket.addEventListener('open', () => resolve(true), { once: true });
      socket.addEventListener('error', () => resolve(false), { once: true });
    });
    return opened ? socket : undefined;
  };
  // A handshake sent on a pooled connection the server closed while this process was busy (a long
  // synchronous import, say) fails at once; the pool learns of the close then, so one more try
  // opens. A refusal fails both times and is then diagnosed.
  const socket = (await open()) ?? (await open());
  if (!socket) throw await diagnose(url, token);
  // Why the socket went away when this side did not close it: a call that breaks then fails with
  // ECONNRESET saying so, not with Cap'n Web's bare "WebSocket connection failed.".
  let hungUp = false;
  let lost: string | undefined;
  socket.addEventListener('error', () => {
    if (!hungUp) lost ??= 'the network failed';
  });
  socket.addEventListener('close', (event) => {
    if (!hungUp) lost ??= `the peer closed it, code ${event.code}${event.reason ? ` ${event.reason}` : ''}`;
  });
  const counters: SocketCounters = { sent: 0, received: 0, objectsUp: 0, objectsDown: 0 };
  const send = socket.send.bind(socket);
  socket.send = (data) => {
    counters.sent += size(data);
    send(data);
  };
  socket.addEventListener('message', (event) => {
    counters.received += size(event.data);
  });
  const remote = dialRpc(socketTransport(socket));
  const endpoint = remote.forward(async (method, args, call) => {
    if (method === 'pushObjects') counters.objectsUp += objectBytes(args[0]);
    let result: unknown;
    try {
      result = await call();
    } catch (error) {
      if (lost === undefined) throw error;
      throw new FsError('ECONNRESET', 'sync', url, undefined, {
        cause: error,
        detail: `the connection to ${url} closed during the sync (${lost}); nothing acknowledged is lost; sync again to resume`,
      });
    }
    if (method === 'fetchObjects') counters.objectsDown += objectBytes(result);
    return result;
  });
  return Object.assign(endpoint, {
    counters,
    close: () => {
      hungUp = true;
      remote.close();
      socket.close();
    },
  });
}
