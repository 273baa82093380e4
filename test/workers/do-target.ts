/**
 * A ConformanceTarget over real SQLite-backed Durable Objects in workerd: every case gets a new
 * object (`newUniqueId`), and a restart is a real eviction (`evictDurableObject`), which tears
 * down the instance and keeps its SQLite storage.
 *
 * @module
 */
import { evictDurableObject, runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { createDoSqlBackend } from '../../backends/do-sql/index.ts';
import type { ConformanceTarget, StorageHandle } from '../../conformance/target.ts';
import type { StorageBackend } from '../../core/backend.ts';

/** Runs `fn` inside the object behind `stub` on a new backend over its storage, closing it afterwards. */
async function runWithBackend<T>(stub: DurableObjectStub, fn: (backend: StorageBackend) => T | Promise<T>): Promise<T> {
  return runInDurableObject(stub, async (_instance, state) => {
    const backend = createDoSqlBackend(state.storage);
    try {
      return await fn(backend);
    } finally {
      backend.close();
    }
  });
}

/** The conformance target for the `do-sql` backend, on the test worker's `TEST_DO` namespace. */
export const doSqlTarget: ConformanceTarget = {
  name: 'do-sql',
  withBackend<T>(fn: (backend: StorageBackend) => T | Promise<T>): Promise<T> {
    return runWithBackend(env.TEST_DO.get(env.TEST_DO.newUniqueId()), fn);
  },
  async withRestarts(phases: ReadonlyArray<(backend: StorageBackend) => unknown>): Promise<unknown> {
    const id = env.TEST_DO.newUniqueId();
    let result: unknown;
    for (const [index, phase] of phases.entries()) {
      const stub = env.TEST_DO.get(id);
      // A new stub alone reaches the same live instance; eviction is what restarts the object.
      if (index > 0) await evictDurableObject(stub);
      result = await runWithBackend(stub, phase);
    }
    return result;
  },
  withStorages<T>(count: number, fn: (storages: StorageHandle[]) => Promise<T>): Promise<T> {
    const ids = Array.from({ length: count }, () => env.TEST_DO.newUniqueId());
    // A stub per call: a stub made in one object's context cannot be used from another's.
    return fn(ids.map((id) => ({ use: (use) => runWithBackend(env.TEST_DO.get(id), use) })));
  },
};
