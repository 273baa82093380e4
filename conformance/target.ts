/**
 * What a backend author provides to run the conformance suite: a way to get a fresh,
 * isolated backend, and a way to restart its storage.
 *
 * @module
 */
import type { StorageBackend } from '../core/backend.ts';

/** One storage of several held at once; reached only through {@link StorageHandle.use}. */
export interface StorageHandle {
  /**
   * Runs `fn` with a backend on this storage, inside the storage's context when the platform has
   * one (a Durable Object's). The storage keeps its data between calls.
   */
  use<T>(fn: (backend: StorageBackend) => T | Promise<T>): Promise<T>;
}

/** One backend under test. Every case asks it for fresh, empty, isolated storage. */
export interface ConformanceTarget {
  /** Shown in test names, such as `node-sqlite:file` or `do-sql`. */
  readonly name: string;
  /**
   * Gives `fn` a backend on fresh, empty storage for the duration of the call, then disposes of
   * it. On platforms where storage may only be touched inside a request context (Durable
   * Objects), `fn` runs inside that context.
   */
  withBackend<T>(fn: (backend: StorageBackend) => T | Promise<T>): Promise<T>;
  /**
   * Runs `phases` in order on one fresh storage, restarting it between phases as a process
   * or object restart would (closing and reopening a file, evicting a Durable Object; for
   * in-memory storage, a new handle on the same connection). Resolves to the last phase's result.
   */
  withRestarts(phases: ReadonlyArray<(backend: StorageBackend) => unknown>): Promise<unknown>;
  /**
   * Gives `fn` `count` fresh, independent storages at once (two workspaces that sync, for
   * instance), disposing of them when it settles. `use` calls may nest: code running in one
   * storage's context may reach another's.
   */
  withStorages<T>(count: number, fn: (storages: StorageHandle[]) => Promise<T>): Promise<T>;
}
