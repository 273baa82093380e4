/**
 * The daemon's HTTP status: `GET /health`, `GET /stats` and `GET /fsck`, JSON, on a loopback port
 * by default. Handlers read the database only, never the mount.
 *
 * @module
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Options for {@link startStatusServer}. */
export interface StatusServerOptions {
  /** Port; 0 picks a free one. */
  port: number;
  /** Address to listen on. Default 127.0.0.1. */
  host?: string;
  /** GET handlers by path (`/health`…), each returning a JSON body, or `{ status, body }` for another status. */
  routes: Record<string, (url: URL) => unknown>;
}

/** A handler's answer with a status other than 200. */
export interface StatusReply {
  /** The HTTP status. */
  status: number;
  /** What is sent, as JSON. */
  body: unknown;
}

/** Wraps a body so that it is sent with `status`. */
export function reply(
  status: number,
  body: unknown,
): StatusReply & {
  /** Marks the value as a reply rather than a body. */
  [REPLY]: true;
} {
  return { status, body, [REPLY]: true };
}
const REPLY = Symbol('reply');

/** A listening status server. */
export interface StatusServer {
  /** The port it listens on. */
  readonly port: number;
  /** Stops listening and ends idle connections. */
  close(): Promise<void>;
}

/** Starts the status server; rejects (EADDRINUSE…) when it cannot listen. */
export async function startStatusServer(options: StatusServerOptions): Promise<StatusServer> {
  const server: Server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const send = (status: number, body: unknown) => {
      const text = `${JSON.stringify(body, null, 2)}\n`;
      response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
      response.end(request.method === 'HEAD' ? undefined : text);
    };
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      send(405, { error: 'method not allowed' });
      return;
    }
    try {
      const route = options.routes[url.pathname];
      if (!route) {
        send(404, { error: 'not found', endpoints: Object.keys(options.routes) });
        return;
      }
      const result = route(url) as { [REPLY]?: true; status?: number; body?: unknown };
      if (result && typeof result === 'object' && result[REPLY]) send(result.status ?? 200, result.body);
      else send(200, result);
    } catch (error) {
      send(500, { error: error instanceof Error ? error.message : String(error) });
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
