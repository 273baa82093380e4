/**
 * The test worker for the `workers` vitest project: one SQLite-backed Durable Object class whose
 * storage the tests drive through `runInDurableObject`.
 *
 * @module
 */
import { DurableObject } from 'cloudflare:workers';

// The example's Durable Object, bound as EXAMPLE_DO: its maintenance alarm is tested here.
export { WorkspaceDO } from '../../examples/worker/src/index.ts';

let constructed = 0;

/** How many `TestWorkspaceDO` instances this isolate has constructed; a restart constructs one more. */
export function constructedInstances(): number {
  return constructed;
}

/** A bare SQLite-backed Durable Object; tests reach its `ctx.storage` via `runInDurableObject`. */
export class TestWorkspaceDO extends DurableObject {
  /** This instance's construction serial, unique within the isolate. */
  readonly serial = ++constructed;
}

export default {
  fetch(): Response {
    return new Response('dofs test worker');
  },
} satisfies ExportedHandler;
