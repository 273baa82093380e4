/**
 * The one place async forms come from: every `fooSync` method gets a `foo` that runs it and
 * returns a promise (a throw becomes a rejection). The engine is synchronous, so an async form
 * only changes how the result is delivered; writing each operation twice would only let the two
 * drift apart.
 *
 * @module
 */

/** `fooSync(...a): R` becomes `foo(...a): Promise<R>` for every `...Sync` key of `T` except `Except`. */
export type AsyncForms<T, Except extends string = never> = {
  [K in keyof T as K extends `${infer Name}Sync` ? (Name extends Except ? never : Name) : never]: T[K] extends (
    ...args: infer A
  ) => infer R
    ? (...args: A) => Promise<R>
    : never;
};

/** What an async read resolves with, as node's FileHandle.read. */
export interface ReadResult<T> {
  /** Bytes read: fewer than asked near the end of the file, 0 at or past it. */
  bytesRead: number;
  /** The buffer read into. */
  buffer: T;
}

/** What an async write resolves with, as node's FileHandle.write. */
export interface WriteResult<T> {
  /** Bytes written. */
  bytesWritten: number;
  /** The buffer (or string) given. */
  buffer: T;
}

/** Calls `fn` and returns its result as a promise, its throw as a rejection. */
export function settle<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * Defines `name` on `proto` for every `nameSync` method found on it or its prototypes below
 * `stop`, unless listed in `except` (those have hand-written async forms of another shape).
 */
export function deriveAsync(proto: object, stop: object, except: readonly string[] = []): void {
  const seen = new Set<string>();
  for (let layer = proto; layer && layer !== stop; layer = Object.getPrototypeOf(layer)) {
    for (const key of Object.getOwnPropertyNames(layer)) {
      if (!key.endsWith('Sync') || seen.has(key)) continue;
      seen.add(key);
      const name = key.slice(0, -4);
      if (except.includes(name) || Object.hasOwn(proto, name)) continue;
      Object.defineProperty(proto, name, {
        configurable: true,
        writable: true,
        value: function (this: Record<string, (...args: unknown[]) => unknown>, ...args: unknown[]) {
          return settle(() => this[key](...args));
        },
      });
    }
  }
}
