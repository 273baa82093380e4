/**
 * When callbacks run: after the current call returns, as node calls back after its I/O, never
 * synchronously. `process.nextTick` where the runtime has it (Node, workerd with nodejs_compat),
 * else a microtask.
 *
 * @module
 */
export { settle } from '../vfs/async.ts';

const nextTick = (globalThis as { process?: { nextTick?: (fn: () => void) => void } }).process?.nextTick;

/** Runs `fn` soon, never now. */
export function later(fn: () => void): void {
  if (nextTick) nextTick(fn);
  else queueMicrotask(fn);
}
