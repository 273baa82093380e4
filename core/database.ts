/**
 * The `Database` handle: one open workspace over one StorageBackend, with its clock, its
 * blob cache and its change listeners. Every primitive takes it as its first argument.
 *
 * @module
 */
import { LRUCache } from 'lru-cache';
import {
  type BackendLimits,
  type HeldTransaction,
  type RunResult,
  type SqlRow,
  type SqlValue,
  STRICTEST_LIMITS,
  type StorageBackend,
} from './backend.ts';
import { FsError, fsError, wrapStorageError } from './errors.ts';
import type { Owner } from './nodes.ts';
import { effectiveQuotas, type Quotas } from './quotas.ts';
import { readMeta } from './schema.ts';
import type { SnapshotInfo } from './snapshot-view.ts';

/**
 * The statement {@link Database.lastChange} asks a backend whose `run` does not say what it
 * changed (exported so that a counting wrapper can tell it from the engine's own statements).
 */
export const LAST_CHANGE_SQL = 'SELECT changes() AS changes, last_insert_rowid() AS rowid';

/** What a statement did, from {@link Database.lastChange}. */
export interface LastChange {
  /** The rows it inserted, updated or deleted, not counting rows its triggers changed. */
  changes: number;
  /** The rowid of the last row inserted on this connection (triggers' inserts do not count). */
  rowid: number;
}

/**
 * `value` when it is a {@link RunResult}: a backend written before `run` could return one may
 * return whatever its driver gave (a cursor), which must not be read as a change count.
 */
function runResultOf(value: unknown): RunResult | undefined {
  const said = value as Partial<RunResult> | undefined;
  const counted = (n: unknown) => typeof n === 'number' || typeof n === 'bigint';
  return said && counted(said.changes) && counted(said.lastInsertRowid) ? (said as RunResult) : undefined;
}

/** Options for a {@link Database}. */
export interface DatabaseOptions {
  /** The clock, in milliseconds since the epoch. Injectable for tests. Default `Date.now`. */
  now?: () => number;
  /**
   * Bytes the blob cache may hold: each chunk counts its length plus about 400 bytes
   * for the entry itself, so many tiny chunks cannot hold far more memory than this. Default 64 MiB.
   */
  cacheBytes?: number;
  /** Refuse every mutation with EROFS. */
  readOnly?: boolean;
  /** Limits of this workspace; see {@link Quotas}. */
  quotas?: Quotas;
  /**
   * Who new nodes belong to (and who a v4 workspace's nodes are given to when it is migrated).
   * Default: the process's uid and gid where there is a process that has them (Node on Unix),
   * else 0 and 0 (workerd, Windows). Override per call with {@link Database.withOwner}.
   */
  owner?: Owner;
  /** Check permissions for the caller ({@link Database.checkPermissions}). Default false. */
  checkPermissions?: boolean;
}

const proc = (globalThis as { process?: { getuid?: () => number; getgid?: () => number } }).process;

/** The owner a {@link Database} gives new nodes when none is configured: this process's ids, or 0. */
export function defaultOwner(): Owner {
  return { uid: proc?.getuid?.() ?? 0, gid: proc?.getgid?.() ?? 0 };
}

/** Throws EINVAL unless `id` is a uid or gid: an integer from 0 to 2^32 - 2 (2^32 - 1 is "no change"). */
export function checkId(id: unknown, name: string, syscall: string, path?: string): number {
  if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id > 0xfffffffe) {
    throw fsError(
      'EINVAL',
      syscall,
      path,
      undefined,
      `${name} must be an integer from 0 to 4294967294, got ${String(id)}`,
    );
  }
  return id;
}

/** One committed change, as watchers and the change log see it. */
export interface ChangeEvent {
  /** `rename` when a name appeared or disappeared, `change` when content or attributes changed (as node:fs.watch). */
  readonly eventType: 'rename' | 'change';
  /** The absolute path that changed. */
  readonly path: string;
  /** The revision the mutation was stamped with. */
  readonly rev: number;
}

/** A function told about every committed change. */
export type ChangeListener = (events: readonly ChangeEvent[]) => void;

const DEFAULT_CACHE_BYTES = 64 * 1024 * 1024;
/**
 * What one blob cache entry costs besides its bytes: the 64-character key, the Uint8Array and its
 * ArrayBuffer, the LRU's slots. Measured about 400 bytes of V8 heap per entry (Node 24, 100,000
 * entries of 10 bytes). Counting only the bytes let a sync of 100,000 small files keep 100,000
 * entries (about 40 MB of heap counted as 1 MB) in a Durable Object whose isolate has 128 MB.
 */
export const BLOB_CACHE_ENTRY_BYTES = 400;
/** The syscall named by a storage failure until an operation names itself (see `wrapStorageError`). */
export const STORAGE_SYSCALL = 'sqlite';

/**
 * Refuses anything that is not a {@link StorageBackend} with a message saying what to pass, most
 * usefully for a Durable Object's `ctx.storage` (what `new Database(ctx.storage)` takes in
 * `@cloudflare/dofs`).
 */
function assertBackend(backend: unknown): asserts backend is StorageBackend {
  const candidate = backend as Partial<Record<string, unknown>> | null | undefined;
  const ok =
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.all === 'function' &&
    typeof candidate.run === 'function' &&
    typeof candidate.transaction === 'function' &&
    typeof candidate.limits === 'object' &&
    candidate.limits !== null;
  if (ok) return;
  const durableObjectStorage =
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.transactionSync === 'function' &&
    typeof candidate.sql === 'object';
  throw new FsError('EINVAL', 'open', undefined, undefined, {
    detail: durableObjectStorage
      ? "got a Durable Object's ctx.storage where a StorageBackend is expected: pass createDoSqlBackend(ctx.storage) from 'dofs-sqlite/backends/do-sql' (openWorkspace(createDoSqlBackend(ctx.storage)) creates the schema too)"
      : `expected a StorageBackend (createNodeSqliteBackend() from 'dofs-sqlite/backends/node-sqlite', createDoSqlBackend(ctx.storage) from 'dofs-sqlite/backends/do-sql', or your own), got ${backend === null ? 'null' : typeof backend}`,
  });
}

/**
 * An open workspace over a {@link StorageBackend}. Cheap to construct; call
 * `initializeSchema(db)` once before use (or use `openWorkspace`, which does both).
 */
export class Database {
  /** The backend this workspace lives on. */
  readonly backend: StorageBackend;
  /** The limits the engine honours: the strictest of the backend's and {@link STRICTEST_LIMITS}. */
  readonly limits: BackendLimits;
  /** The clock, in milliseconds. */
  readonly now: () => number;
  /** Chunk bytes by hash, bounded in bytes; shared by every read path and by read-modify-write. */
  readonly blobCache: LRUCache<string, Uint8Array>;
  /** When true every mutation fails with EROFS. */
  readonly readOnly: boolean;
  /** The quotas in force (the backend's ceiling included). */
  readonly quotas: Readonly<Quotas>;
  private readonly listeners = new Set<ChangeListener>();
  // Events of each open transaction level: kept on commit, dropped on rollback, told at the outermost commit.
  private readonly pendingEvents: ChangeEvent[][] = [];
  private cachedChunkSize = 0;
  /** What the backend's `run` said the last statement changed, when it says (see {@link Database.lastChange}). */
  private lastRun: RunResult | undefined;
  private readonly defaultOwner: Owner;
  private ownerOverride: Owner | undefined;
  /**
   * When true, calls check the caller's ({@link owner}'s) permissions as Linux does for a non-root
   * process: search on every directory of a path, write and search on a parent to add or remove a
   * name (and the sticky bit), read to list a directory, ownership to chmod, chown or set times.
   * Root is never checked. Off by default (whoever holds the Database may do anything); the vfs
   * provider turns it on, the FUSE mount keeps it off (its kernel checks).
   */
  checkPermissions: boolean;

  constructor(backend: StorageBackend, options: DatabaseOptions | null = {}) {
    options ??= {};
    assertBackend(backend);
    this.backend = backend;
    this.now = options.now ?? Date.now;
    this.readOnly = options.readOnly ?? false;
    this.checkPermissions = options.checkPermissions ?? false;
    const owner = options.owner ?? defaultOwner();
    this.defaultOwner = Object.freeze({
      uid: checkId(owner.uid, 'owner.uid', 'open'),
      gid: checkId(owner.gid, 'owner.gid', 'open'),
    });
    this.quotas = effectiveQuotas(options.quotas ?? {}, backend.limits.maxDatabaseBytes);
    this.limits = {
      maxBoundParameters: Math.min(backend.limits.maxBoundParameters, STRICTEST_LIMITS.maxBoundParameters),
      maxValueBytes: Math.min(backend.limits.maxValueBytes, STRICTEST_LIMITS.maxValueBytes),
      maxStatementBytes: Math.min(backend.limits.maxStatementBytes, STRICTEST_LIMITS.maxStatementBytes),
    };
    this.blobCache = new LRUCache<string, Uint8Array>({
      maxSize: Math.max(1, options.cacheBytes ?? DEFAULT_CACHE_BYTES),
      sizeCalculation: (bytes) => bytes.byteLength + BLOB_CACHE_ENTRY_BYTES,
    });
  }

  /**
   * The snapshot this handle reads (a handle from `snapshotView`, read-only), or undefined for the
   * live workspace.
   */
  get snapshot(): SnapshotInfo | undefined {
    return undefined;
  }

  /** The owner new nodes get now: the one {@link withOwner} set, or the configured default. */
  get owner(): Owner {
    return this.ownerOverride ?? this.defaultOwner;
  }

  /**
   * Runs `fn` with `owner` as the owner of the nodes it creates (the FUSE mount passes each
   * request's caller this way). Synchronous: the owner is restored when `fn` returns or throws.
   */
  withOwner<T>(owner: Owner, fn: () => T): T {
    const next = { uid: checkId(owner.uid, 'uid', 'open'), gid: checkId(owner.gid, 'gid', 'open') };
    const previous = this.ownerOverride;
    this.ownerOverride = next;
    try {
      return fn();
    } finally {
      this.ownerOverride = previous;
    }
  }

  /** The workspace's chunk size in bytes, fixed when it was created. */
  get chunkSize(): number {
    if (this.cachedChunkSize === 0) {
      let value = 0;
      try {
        value = Number(readMeta(this, 'chunk_size'));
      } catch {
        // No vfs_meta table: reported below.
      }
      if (!(value > 0)) {
        throw new FsError('EIO', 'open', undefined, undefined, {
          detail: 'the workspace has no schema; call initializeSchema(db) first',
        });
      }
      this.cachedChunkSize = value;
    }
    return this.cachedChunkSize;
  }

  /** Runs a query and returns its rows. A storage failure is EIO or ENOSPC with the cause attached. */
  all<T extends object = SqlRow>(sql: string, params?: readonly SqlValue[]): T[] {
    // A query may change rows too (RETURNING): what the last run said no longer holds.
    this.lastRun = undefined;
    try {
      return this.backend.all<T>(sql, params);
    } catch (error) {
      throw wrapStorageError(error, STORAGE_SYSCALL);
    }
  }

  /** Runs a statement for its effect. A storage failure is EIO or ENOSPC with the cause attached. */
  run(sql: string, params?: readonly SqlValue[]): void {
    this.lastRun = undefined;
    try {
      this.lastRun = runResultOf(this.backend.run(sql, params));
    } catch (error) {
      throw wrapStorageError(error, STORAGE_SYSCALL);
    }
  }

  /**
   * What the last INSERT, UPDATE or DELETE did, called right after it: from what the backend's
   * `run` returned when it says (node:sqlite does), else from a second, table-less statement,
   * which is still cheaper than RETURNING (SQLite serves that through a temporary B-tree).
   */
  lastChange(): LastChange {
    const said = this.lastRun;
    if (said) return { changes: Number(said.changes), rowid: Number(said.lastInsertRowid) };
    const [row] = this.all<LastChange>(LAST_CHANGE_SQL);
    return { changes: Number(row.changes), rowid: Number(row.rowid) };
  }

  /** True while a {@link Database.transaction} is running (at any depth). */
  get inTransaction(): boolean {
    return this.pendingEvents.length > 0;
  }

  /**
   * Runs `fn` in a (nestable) transaction. Change events queued inside it reach listeners only
   * when the outermost transaction commits; a rolled-back level's events are dropped. A failure
   * of the transaction itself (BEGIN, COMMIT) is EIO or ENOSPC with the cause attached.
   */
  transaction<T>(fn: () => T): T {
    this.pendingEvents.push([]);
    let committed = false;
    let fnFailed = false;
    try {
      const result = this.backend.transaction(() => {
        try {
          return fn();
        } catch (error) {
          fnFailed = true;
          throw error;
        }
      });
      committed = true;
      return result;
    } catch (error) {
      // fn's own errors pass through as they are; what failed after it (COMMIT, RELEASE) is storage.
      throw fnFailed ? error : wrapStorageError(error, STORAGE_SYSCALL);
    } finally {
      const events = this.pendingEvents.pop() ?? [];
      const outer = this.pendingEvents[this.pendingEvents.length - 1];
      if (committed && outer) outer.push(...events);
      else if (committed) this.emit(events);
    }
  }

  /**
   * Opens a transaction held across calls (group commit) when the backend can hold one
   * ({@link StorageBackend.openTransaction}); undefined when it cannot. Until it commits or rolls
   * back, every mutation and {@link Database.transaction} joins it as an inner level (a failing one
   * undoes only itself) and change events wait for its commit. Throws when a transaction is
   * running. A failed commit is EIO or ENOSPC with the cause attached, and nothing done since the
   * opening remains.
   */
  openTransaction(): HeldTransaction | undefined {
    if (this.inTransaction) throw new Error('a transaction is already running');
    let held: HeldTransaction | undefined;
    try {
      held = this.backend.openTransaction?.();
    } catch (error) {
      throw wrapStorageError(error, STORAGE_SYSCALL);
    }
    if (!held) return undefined;
    const inner = held;
    const events: ChangeEvent[] = [];
    this.pendingEvents.push(events);
    let open = true;
    const end = (commit: boolean): void => {
      if (!open) return;
      if (this.pendingEvents.length !== 1) throw new Error('a held transaction cannot end inside a transaction');
      open = false;
      this.pendingEvents.pop();
      try {
        if (commit) inner.commit();
        else inner.rollback();
      } catch (error) {
        throw wrapStorageError(error, STORAGE_SYSCALL);
      }
      if (commit) this.emit(events);
    };
    return { commit: () => end(true), rollback: () => end(false) };
  }

  /** Queues change events in the current transaction (or tells listeners at once outside one). */
  queueEvents(events: readonly ChangeEvent[]): void {
    const level = this.pendingEvents[this.pendingEvents.length - 1];
    if (level) level.push(...events);
    else this.emit(events);
  }

  /** Registers a listener for committed changes; returns a function that removes it. */
  onChange(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Tells every listener about changes that have just committed. Listener errors are isolated. */
  emit(events: readonly ChangeEvent[]): void {
    if (events.length === 0) return;
    for (const listener of [...this.listeners]) {
      try {
        listener(events);
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }

  /** Closes the backend. */
  close(): void {
    this.listeners.clear();
    this.blobCache.clear();
    try {
      this.backend.close();
    } catch (error) {
      throw wrapStorageError(error, 'close');
    }
  }
}
