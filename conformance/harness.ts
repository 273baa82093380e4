/**
 * The plumbing every conformance case shares: a fresh workspace on the target's backend, a
 * controllable clock, and the checks that run after every case.
 *
 * @module
 */
import { expect, it } from 'vitest';
import type { StorageBackend } from '../core/backend.ts';
import type { Database } from '../core/database.ts';
import { type ErrorCode, isFsError } from '../core/errors.ts';
import { openWorkspace, type Workspace, type WorkspaceOptions } from '../core/workspace.ts';
import { type GuardStats, guardLimits } from './limit-guard.ts';
import { snapshot } from './snapshot.ts';
import type { ConformanceTarget } from './target.ts';

/** A clock the cases move by hand, so times are exact and comparable. */
export interface TestClock {
  /** The clock function handed to the workspace. */
  readonly now: () => number;
  /** Moves the clock forward by `ms`. */
  advance(ms: number): void;
}

/** Makes a {@link TestClock} starting at a fixed instant. */
export function testClock(start = Date.UTC(2026, 0, 1)): TestClock {
  let t = start;
  return {
    now: () => t,
    advance: (ms) => {
      t += ms;
    },
  };
}

/** What a case receives. */
export interface CaseContext {
  /** The workspace under test. */
  ws: Workspace;
  /** Its handle, for the function-style API. */
  db: Database;
  /** The backend it lives on. */
  backend: StorageBackend;
  /** The clock the workspace reads. */
  clock: TestClock;
  /** What the limit guard has seen of the statements run so far. */
  guard: GuardStats;
}

/** Options for one case. */
export interface CaseOptions extends Pick<WorkspaceOptions, 'chunkSize' | 'cacheBytes' | 'quotas' | 'owner'> {
  /** The clock to use (default: a fresh {@link testClock}). */
  clock?: TestClock;
  /** Per-case timeout in milliseconds (big files and directories need more). */
  timeout?: number;
}

/** Opens a workspace on `backend` with a test clock, every statement checked against the strictest limits. */
export function openTestWorkspace(backend: StorageBackend, options: CaseOptions = {}): CaseContext {
  const clock = options.clock ?? testClock();
  const guarded = guardLimits(backend);
  const ws = openWorkspace(guarded, {
    chunkSize: options.chunkSize,
    cacheBytes: options.cacheBytes,
    quotas: options.quotas,
    owner: options.owner,
    now: clock.now,
  });
  return { ws, db: ws.db, backend: guarded, clock, guard: guarded.stats };
}

/**
 * A clock that moves by itself, a millisecond per reading, from `start`: a side of a sync pair
 * with its own idea of the time, as two machines have.
 */
export function tickingClock(start: number): TestClock {
  let t = start;
  return {
    now: () => {
      t += 1;
      return t;
    },
    advance: (ms) => {
      t += ms;
    },
  };
}

/** Fails the test unless fsck finds nothing wrong. */
export function expectFsckClean(ws: Workspace): void {
  const report = ws.fsck();
  expect(report.problems, 'fsck problems').toEqual([]);
  expect(report.ok).toBe(true);
}

/**
 * Defines one case: a fresh workspace on the target, the body, then fsck. `name` must be
 * unique within its describe block.
 */
export function defineCase(
  target: ConformanceTarget,
  name: string,
  body: (ctx: CaseContext) => unknown,
  options: CaseOptions = {},
): void {
  it(
    name,
    () =>
      target.withBackend(async (backend) => {
        const ctx = openTestWorkspace(backend, options);
        await body(ctx);
        expectFsckClean(ctx.ws);
      }),
    options.timeout ?? 30_000,
  );
}

/** Asserts that `fn` throws (or rejects with) an FsError with `code`, and returns it. */
export async function expectCode(fn: () => unknown, code: ErrorCode): Promise<Error> {
  let caught: unknown;
  try {
    await fn();
  } catch (error) {
    caught = error;
  }
  expect(caught, `expected ${code}`).toBeDefined();
  if (!isFsError(caught)) throw caught;
  expect(caught.code).toBe(code);
  expect(typeof caught.errno).toBe('number');
  expect(typeof caught.syscall).toBe('string');
  expect(caught.message.startsWith(`${code}: `)).toBe(true);
  return caught;
}

/**
 * Asserts that `fn` fails with `code` and changes nothing: the tree (names, types, modes, sizes,
 * bytes, links, times), the revision counter and the blob store are identical, and fsck is clean.
 */
export async function expectRefused(ws: Workspace, fn: () => unknown, code: ErrorCode): Promise<Error> {
  const before = snapshot(ws);
  const error = await expectCode(fn, code);
  expect(snapshot(ws)).toEqual(before);
  expectFsckClean(ws);
  return error;
}
