/**
 * What every command shares: the global options, opening the workspace database, and turning
 * the user's paths into workspace paths.
 *
 * @module
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { createNodeSqliteBackend } from '../../backends/node-sqlite/index.ts';
import { gcStep, isFsError, openWorkspace, type Workspace } from '../../core/index.ts';
import { lockHolderAdvice } from '../fuse/records.ts';
import { CliError, UsageError } from './errors.ts';

/** The workspace database used when `--db` is not given. */
export const DEFAULT_DB = './workspace.db';

/** Options every command accepts. */
export interface GlobalOptions {
  /** The workspace database file. */
  db: string;
  /** `PRAGMA synchronous` for the database (`--synchronous`); the backend's default when absent. */
  synchronous?: Synchronous;
}

/** The durability levels `--synchronous` accepts, as `PRAGMA synchronous` names them. */
export type Synchronous = 'NORMAL' | 'FULL';

/** Parses `--synchronous`: `normal` or `full`, any case. Anything else is a usage error that opens nothing. */
export function parseSynchronous(value: string): Synchronous {
  const level = value.toUpperCase();
  if (level !== 'NORMAL' && level !== 'FULL') {
    throw new UsageError(`--synchronous: expected 'normal' or 'full', got '${value}'`);
  }
  return level;
}

/** The global options as seen from inside a command's action. */
export function globals(command: Command): GlobalOptions {
  return command.optsWithGlobals<GlobalOptions>();
}

/** How a command wants its workspace opened. */
export interface OpenOptions {
  /** Create the database when it does not exist (init, import, put, mkdir, start). */
  create?: boolean;
  /** Refuse mutations (commands that only read). */
  readOnly?: boolean;
  /** Chunk size for a new workspace. */
  chunkSize?: number;
  /** `PRAGMA synchronous` (from `--synchronous`). */
  synchronous?: Synchronous;
}

/** Opens the workspace in database file `db`. A missing file is ENOENT unless `create`. */
export function openCliWorkspace(db: string, options: OpenOptions = {}): Workspace {
  if (!options.create && !existsSync(db)) {
    throw new CliError(
      'ENOENT',
      `no workspace database at '${db}' (create one with 'dofs init' or 'dofs import', or pass --db FILE)`,
    );
  }
  // A mount holding the database exclusively would make this wait 5 s and fail "database is
  // locked": say at once who holds it and what to do instead.
  const holder = lockHolderAdvice(db);
  if (holder) throw new CliError('EBUSY', `the workspace database '${db}' is in use: ${holder}`);
  const existed = existsSync(db);
  let backend: ReturnType<typeof createNodeSqliteBackend> | undefined;
  try {
    backend = createNodeSqliteBackend({ path: db, synchronous: options.synchronous });
    return openWorkspace(backend, { readOnly: options.readOnly, chunkSize: options.chunkSize });
  } catch (error) {
    backend?.close();
    // A database this call created and could not set up is no workspace: leave nothing behind.
    if (!existed) for (const suffix of ['', '-wal', '-shm']) rmSync(`${db}${suffix}`, { force: true });
    if (isFsError(error)) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new CliError('EIO', `cannot open workspace database '${db}': ${message}`);
  }
}

/** Runs `fn` on the workspace the global options name and closes it afterwards, whatever happens. */
export async function withWorkspace<T>(
  global: GlobalOptions,
  options: OpenOptions,
  fn: (workspace: Workspace) => T | Promise<T>,
): Promise<T> {
  let workspace: Workspace;
  try {
    workspace = openCliWorkspace(global.db, { synchronous: global.synchronous, ...options });
  } catch (error) {
    throw explainLock(error, global.db);
  }
  try {
    const result = await fn(workspace);
    // A command that changed something also collects a bounded step of garbage (what it just
    // deleted or overwrote, among others) and gives the space back: no separate 'dofs gc' needed.
    if (!options.readOnly) {
      try {
        gcStep(workspace.db);
      } catch {
        // Collection is best effort here (a busy or full database): the change itself succeeded.
      }
    }
    return result;
  } catch (error) {
    throw explainLock(error, global.db);
  } finally {
    workspace.close();
  }
}

/** A "database is locked" failure, with who holds the lock and the way on added to its message; any other error unchanged. */
function explainLock(error: unknown, db: string): unknown {
  const text = `${(error as Error)?.message ?? ''} ${((error as Error)?.cause as Error | undefined)?.message ?? ''}`;
  if (!/database is locked/.test(text) || !(error instanceof Error)) return error;
  const advice =
    lockHolderAdvice(db) ??
    "another process holds it: a 'dofs mount' of it without --shared (use its files, or mount with --shared), or a long write by another program";
  error.message = `${error.message} (${advice})`;
  return error;
}

/** A workspace path from the user's: absolute as given, or relative to the workspace root. */
export function workspacePath(path: string | undefined): string {
  if (path === undefined || path === '') return '/';
  return path.startsWith('/') ? path : `/${path}`;
}

/**
 * The directory holding dofs's own package.json (the repository root, or the installed package):
 * the first one up from here that declares the `dofs` command, whatever the package is named.
 */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) {
      try {
        if (JSON.parse(readFileSync(candidate, 'utf8')).bin?.dofs) return dir;
      } catch {
        // not ours; keep walking up
      }
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the dofs package root');
    dir = parent;
  }
}

/** dofs's version, from its package.json. */
export function packageVersion(): string {
  return JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')).version;
}

/** Writes to stdout, waiting for the pipe to drain when it is full. */
export async function writeOut(chunk: string | Uint8Array): Promise<void> {
  if (!process.stdout.write(chunk)) {
    await new Promise<void>((resolve) => process.stdout.once('drain', resolve));
  }
}
