/**
 * A StorageBackend over `node:sqlite` (`DatabaseSync`), in memory or in a file.
 *
 * @module dofs/backends/node-sqlite
 */
import { createRequire } from 'node:module';
import type { StatementSync } from 'node:sqlite';
import type { BackendLimits, SqlValue, StorageBackend } from '../../core/backend.ts';

/**
 * node:sqlite, loaded so that a Node without it (before 22.5; 22.13 drops the flag) gets a sentence
 * saying what to do rather than ERR_UNKNOWN_BUILTIN_MODULE from a static import.
 */
function loadNodeSqlite(): typeof import('node:sqlite') {
  try {
    return createRequire(import.meta.url)('node:sqlite');
  } catch (error) {
    throw new Error(
      `dofs/backends/node-sqlite needs node:sqlite, which Node ${process.versions.node} does not provide: ` +
        'use Node 22.13 or later (Node 24 recommended). The engine itself (dofs) and dofs/backends/do-sql do not need it.',
      { cause: error },
    );
  }
}

const { DatabaseSync } = loadNodeSqlite();

/** Options for {@link createNodeSqliteBackend}. */
export interface NodeSqliteBackendOptions {
  /** A file path, or `:memory:` (the default) for a private in-memory database. */
  path?: string;
  /** `PRAGMA synchronous` for file databases. `NORMAL` (the default) is durable in WAL mode except on power loss. */
  synchronous?: 'OFF' | 'NORMAL' | 'FULL' | 'EXTRA';
  /** How long a writer waits for another process's lock, in milliseconds. Default 5000. */
  busyTimeoutMs?: number;
  /** SQLite page cache size in KiB. Default 65536 (64 MiB). */
  cacheSizeKiB?: number;
}

/** node:sqlite has no meaningful parameter cap below SQLite's own (32766); the engine still honours 100. */
const NODE_SQLITE_LIMITS: BackendLimits = Object.freeze({
  maxBoundParameters: 32_766,
  maxValueBytes: 1_000_000_000,
  maxStatementBytes: 1_000_000_000,
});

/** Creates a backend on a node:sqlite database: WAL and a busy timeout for files, statements cached. */
export function createNodeSqliteBackend(options: NodeSqliteBackendOptions = {}): StorageBackend {
  const path = options.path ?? ':memory:';
  const db = new DatabaseSync(path);
  const inMemory = path === ':memory:' || path === '';
  if (!inMemory) {
    db.exec(`PRAGMA busy_timeout = ${Math.trunc(options.busyTimeoutMs ?? 5000)}`);
    db.exec('PRAGMA journal_mode = WAL');
    db.exec(`PRAGMA synchronous = ${options.synchronous ?? 'NORMAL'}`);
  }
  db.exec(`PRAGMA cache_size = ${-Math.trunc(options.cacheSizeKiB ?? 65_536)}`);
  db.exec('PRAGMA foreign_keys = ON');

  const statements = new Map<string, StatementSync>();
  const prepare = (sql: string): StatementSync => {
    let statement = statements.get(sql);
    if (!statement) {
      statement = db.prepare(sql);
      statements.set(sql, statement);
    }
    return statement;
  };
  let depth = 0;
  let closed = false;

  return {
    name: inMemory ? 'node-sqlite:memory' : 'node-sqlite:file',
    limits: NODE_SQLITE_LIMITS,
    all<T extends object>(sql: string, params: readonly SqlValue[] = []): T[] {
      return prepare(sql).all(...(params as SqlValue[])) as T[];
    },
    run(sql: string, params: readonly SqlValue[] = []): void {
      prepare(sql).run(...(params as SqlValue[]));
    },
    transaction<T>(fn: () => T): T {
      // Depth 0 uses BEGIN IMMEDIATE so a second process waits on busy_timeout at the start
      // instead of failing when it first writes; deeper levels are savepoints.
      const savepoint = `dofs_sp_${depth}`;
      db.exec(depth === 0 ? 'BEGIN IMMEDIATE' : `SAVEPOINT ${savepoint}`);
      depth++;
      try {
        const result = fn();
        depth--;
        db.exec(depth === 0 ? 'COMMIT' : `RELEASE ${savepoint}`);
        return result;
      } catch (error) {
        depth--;
        if (depth === 0) db.exec('ROLLBACK');
        else db.exec(`ROLLBACK TO ${savepoint}; RELEASE ${savepoint}`);
        throw error;
      }
    },
    close(): void {
      if (closed) return;
      closed = true;
      statements.clear();
      db.close();
    },
  };
}
