/**
 * Reads the JS heap of the Worker's isolate (the example Worker and its Durable Objects share one
 * isolate) through wrangler's inspector: `Runtime.getHeapUsage` of the Chrome DevTools protocol.
 * workerd has no `process.memoryUsage` and no `performance.measureUserAgentSpecificMemory`, so the
 * inspector is the one place the isolate's own figure is visible, apart from the process's.
 */

/** A sampler of the isolate's used heap, in bytes. */
export interface IsolateHeap {
  /** The used heap now. */
  used(): Promise<number>;
  /**
   * The used heap after a full collection: taking a heap snapshot collects first (workerd's
   * inspector does not answer `HeapProfiler.collectGarbage`); the snapshot itself is discarded.
   */
  retained(): Promise<number>;
  /** Samples every `everyMs` while `phase` runs; resolves to its result and the largest sample. */
  peakDuring<T>(phase: () => Promise<T>, everyMs?: number): Promise<[T, number]>;
  close(): void;
}

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
  const pending = new Map<number, (usedSize: number) => void>();
  socket.onmessage = (event) => {
    // Snapshot chunks arrive as events (no id); a snapshot's answer echoes the call without a result.
    const message = JSON.parse(String(event.data)) as { id?: number; result?: { usedSize?: number } };
    if (message.id !== undefined && pending.has(message.id)) {
      pending.get(message.id)?.(message.result?.usedSize ?? 0);
      pending.delete(message.id);
    }
  };
  const call = (method: string) =>
    new Promise<number>((resolve) => {
      const id = ++next; // the proxy numbers its own calls from 100,000,001, so these never collide
      pending.set(id, resolve);
      socket.send(JSON.stringify({ id, method }));
    });
  const used = () => call('Runtime.getHeapUsage');
  return {
    used,
    async peakDuring(phase, everyMs = 50) {
      let peak = await used();
      let running = true;
      const sampling = (async () => {
        while (running) {
          peak = Math.max(peak, await used());
          await new Promise((resolve) => setTimeout(resolve, everyMs));
        }
      })();
      try {
        const result = await phase();
        return [result, peak];
      } finally {
        running = false;
        await sampling;
        peak = Math.max(peak, await used());
      }
    },
    async retained() {
      await call('HeapProfiler.takeHeapSnapshot');
      return used();
    },
    close: () => socket.close(),
  };
}
