/**
 * A TCP proxy that drops the connection midway, for tests of a sync whose socket is lost: it
 * forwards both ways to `target` and, once more than `cutAfter` bytes have come back from it on
 * one connection, destroys both sides (what a dropped network or an evicted server looks like to
 * the client: no close frame, the socket just ends).
 */
import { connect, createServer, type Server } from 'node:net';

/** A listening proxy: its URL (same scheme and path as the target's) and a way to stop it. */
export interface CuttingProxy {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  /** Connections it has cut so far. */
  readonly cuts: number;
  close(): Promise<void>;
}

/** Starts a proxy to `target` (`http://host:port`) that cuts each connection after `cutAfter` bytes downstream. */
export async function startCuttingProxy(target: string, cutAfter: number): Promise<CuttingProxy> {
  const { hostname, port } = new URL(target);
  let cuts = 0;
  const server: Server = createServer((client) => {
    const upstream = connect(Number(port), hostname);
    let down = 0;
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => {
      down += chunk.length;
      if (down <= cutAfter) {
        client.write(chunk);
        return;
      }
      cuts++;
      end();
    });
    for (const socket of [client, upstream]) {
      socket.on('error', end);
      socket.on('close', end);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the proxy has no port');
  return {
    url: `http://127.0.0.1:${address.port}`,
    get cuts() {
      return cuts;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
