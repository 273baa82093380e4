/**
 * An in-process transport for tests: every call and result is structured-cloned (as a wire would
 * copy it), object bytes are counted both ways, and a fault hook can cut any call.
 *
 * @module
 */
import { forwardEndpoint, type SyncEndpoint } from './endpoint.ts';
import type { SyncObject } from './objects.ts';

/** Bytes of object payload that crossed the transport. */
export interface WireCounters {
  /** Object bytes sent to the authority. */
  up: number;
  /** Object bytes received from it. */
  down: number;
  /** Calls made. */
  calls: number;
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

/** Wraps `endpoint` as a replica would see it across a wire. */
export function connectInProcess(
  endpoint: SyncEndpoint,
  options: InProcessOptions = {},
): SyncEndpoint & { counters: WireCounters } {
  const counters: WireCounters = { up: 0, down: 0, calls: 0 };
  const wire = forwardEndpoint(async (method, args) => {
    options.beforeCall?.(method);
    counters.calls++;
    if (method === 'pushObjects') counters.up += objectBytes(args[0]);
    const fn = endpoint[method] as (...a: unknown[]) => Promise<unknown>;
    const result = structuredClone(await fn(...structuredClone(args)));
    if (method === 'fetchObjects') counters.down += objectBytes(result);
    options.afterCall?.(method);
    return result;
  });
  return Object.assign(wire, { counters });
}
