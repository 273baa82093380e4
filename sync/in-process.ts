/**
 * An in-process transport for tests and benchmarks: every call and result crosses the same
 * Cap'n Web session and binary frames as the WebSocket (so it is copied, and its wire bytes
 * counted, as a socket would), and a fault hook can cut any call.
 *
 * @module
 */
import type { SyncEndpoint } from './endpoint.ts';
import { type Frame, type FramePipe, frameBytes, frameTransport } from './frames.ts';
import type { SyncObject } from './objects.ts';
import { dialRpc, serveRpc } from './rpc.ts';
import { MAX_MESSAGE_BYTES } from './websocket.ts';

/** What crossed the transport. */
export interface WireCounters {
  /** Object bytes sent to the authority. */
  up: number;
  /** Object bytes received from it. */
  down: number;
  /** Calls made. */
  calls: number;
  /** Bytes of frames sent to the authority, as a WebSocket would carry them. */
  sent: number;
  /** Bytes of frames received from it. */
  received: number;
}

/** Options for {@link connectInProcess}. */
export interface InProcessOptions {
  /** Called before each call with its name; throwing there cuts the call (as a dropped connection). */
  beforeCall?: (method: keyof SyncEndpoint) => void;
  /** Called after each call; throwing there loses the reply after the authority acted. */
  afterCall?: (method: keyof SyncEndpoint) => void;
}

const objectBytes = (objects: unknown): number =>
  Array.isArray(objects)
    ? (objects as SyncObject[]).reduce((sum, object) => sum + (object?.bytes?.byteLength ?? 0), 0)
    : 0;

/** Two connected frame pipes; `onSend` sees every frame each way (`up` from the first). */
function framePipes(onSend: (frame: Frame, up: boolean) => void): [FramePipe, FramePipe] {
  const make = (up: boolean) => {
    const queue: Frame[] = [];
    let waiting: ((frame: Frame) => void) | undefined;
    return {
      deliver(frame: Frame) {
        if (waiting) {
          const resolve = waiting;
          waiting = undefined;
          resolve(frame);
        } else queue.push(frame);
      },
      pipe: {
        send(frame: Frame) {
          onSend(frame, up);
          // Delivered on a later turn, as a socket would.
          queueMicrotask(() => (up ? server : client).deliver(frame));
        },
        receive: () =>
          queue.length > 0
            ? Promise.resolve(queue.shift() as Frame)
            : new Promise<Frame>((resolve) => {
                waiting = resolve;
              }),
      } satisfies FramePipe,
    };
  };
  const client = make(true);
  const server = make(false);
  return [client.pipe, server.pipe];
}

/** Wraps `endpoint` as a replica would see it across a wire. */
export function connectInProcess(
  endpoint: SyncEndpoint,
  options: InProcessOptions = {},
): SyncEndpoint & {
  /** What crossed the wire so far. */
  counters: WireCounters;
} {
  const counters: WireCounters = { up: 0, down: 0, calls: 0, sent: 0, received: 0 };
  const [client, server] = framePipes((frame, up) => {
    if (up) counters.sent += frameBytes(frame);
    else counters.received += frameBytes(frame);
  });
  serveRpc(frameTransport(server, MAX_MESSAGE_BYTES), endpoint);
  const wire = dialRpc(frameTransport(client, MAX_MESSAGE_BYTES)).forward(async (method, args, call) => {
    options.beforeCall?.(method);
    counters.calls++;
    if (method === 'pushObjects') counters.up += objectBytes(args[0]);
    const result = await call();
    if (method === 'fetchObjects') counters.down += objectBytes(result);
    options.afterCall?.(method);
    return result;
  });
  return Object.assign(wire, { counters });
}
