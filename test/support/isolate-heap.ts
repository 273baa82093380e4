/**
 * Reads the memory of the Worker's isolate (the example Worker and its Durable Objects share one
 * isolate) through wrangler's inspector: `Runtime.getHeapUsage` of the Chrome DevTools protocol.
 * workerd has no `process.memoryUsage` and no `performance.measureUserAgentSpecificMemory`, so the
 * inspector is the one place the isolate's own figure is visible, apart from the process's.
 *
 * The figure is the JS heap's used size plus the embedder's heap and the `ArrayBuffer` backing
 * stores: the bytes of every `Uint8Array` (blob cache chunks, received frames, rows read from
 * SQLite) live outside the JS heap, so `usedSize` alone misses them, and the platform's memory
 * limit counts them.
 */

/** A sampler of the isolate's memory in use (JS heap, embedder heap, array buffers), in bytes. */
export interface IsolateHeap {
  /** The memory in use now. */
  used(): Promise<number>;
  /**
   * The memory in use after a full collection: taking a heap snapshot collects first (workerd's
   * inspector does not answer `HeapProfiler.collectGarbage`); the snapshot itself is discarded.
   */
  retained(): Promise<number>;
  /** Samples every `everyMs` while `phase` runs; resolves to its result and the largest sample. */
  peakDuring<T>(phase: () => Promise<T>, everyMs?: number): Promise<[T, number]>;
  close(): void;
}

/** `Runtime.getHeapUsage`'s answer: the JS heap, the embedder's heap and the array buffers. */
interface HeapParts {
  usedSize: number;
  embedderHeapUsedSize: number;
  backingStorageSize: number;
}

const total = (parts: HeapParts): number => parts.usedSize + parts.embedderHeapUsedSize + parts.backingStorageSize;

/** Connects to the inspector at `inspectorUrl` (`http://127.0.0.1:<port>`, see `startDev`). */
export async function connectIsolateHeap(inspectorUrl: string): Promise<IsolateHeap> {
  const [target] = (await (await fetch(`${inspectorUrl}/json`)).json()) as { webSocketDebuggerUrl: string }[];
  if (!target) throw new Error(`no inspector target at ${inspectorUrl}`);
  // wrangler's inspector proxy accepts only local origins; Node's WebSocket sends none by default.
  const socket = new WebSocket(target.webSocketDebuggerUrl, {
    headers: { origin: 'http://127.0.0.1' },
  } as unknown as string[]);
  await new Promise<void>((resolve, reject) => {
    socket.onopen = () => resolve();
    socket.onerror = () => reject(new Error(`inspector at ${inspectorUrl} refused the connection`));
  });
  let next = 0;
  const pending = new Map<number, (parts: HeapParts) => void>();
  socket.onmessage = (event) => {
    // Snapshot chunks arrive as events (no id); a snapshot's answer echoes the call without a result.
    const message = JSON.parse(String(event.data)) as { id?: number; result?: Partial<HeapParts> };
    if (message.id !== undefined && pending.has(message.id)) {
      const { usedSize = 0, embedderHeapUsedSize = 0, backingStorageSize = 0 } = message.result ?? {};
      pending.get(message.id)?.({ usedSize, embedderHeapUsedSize, backingStorageSize });
      pending.delete(message.id);
    }
  };
  const call = (method: string) =>
    new Promise<HeapParts>((resolve) => {
      const id = ++next; // the proxy numbers its own calls from 100,000,001, so these never collide
      pending.set(id, resolve);
      socket.send(JSON.stringify({ id, method }));
    });
  const parts = () => call('Runtime.getHeapUsage');
  const used = async () => total(await parts());
  return {
    used,
    async peakDuring<T>(phase: () => Promise<T>, everyMs = 50): Promise<[T, number]> {
      let peak = await used();
      let running = true;
      const sampling = (async () => {
        while (running) {
          peak = Math.max(peak, await used());
          await new Promise((resolve) => setTimeout(resolve, everyMs));
        }
      })();
      let result: T;
      try {
        result = await phase();
      } finally {
        running = false;
        await sampling;
      }
      // After the phase, not in a finally after the return: a returned peak would miss this sample.
      return [result, Math.max(peak, await used())];
    },
    async retained() {
      await call('HeapProfiler.takeHeapSnapshot');
      return used();
    },
    close: () => socket.close(),
  };
}
