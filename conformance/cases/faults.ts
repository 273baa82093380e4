/**
 * Injected faults: for every mutating operation, fail its 1st, 2nd, … Nth statement in turn, then
 * its COMMIT (as a full disk, a busy database or an I/O error would) and check that the workspace
 * is exactly as before, fsck-clean, and that the caller got a clear EIO or ENOSPC with the cause
 * attached.
 *
 * @module
 */
import { afterAll, describe, expect, it } from 'vitest';
import { SQLiteWorkspaceProvider } from '../../adapters/vfs/index.ts';
import type { SqlValue, StorageBackend } from '../../core/backend.ts';
import { isFsError } from '../../core/errors.ts';
import { FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE } from '../../core/fs/sparse.ts';
import { openWorkspace, type Workspace } from '../../core/workspace.ts';
import { applyChanges } from '../../sync/apply.ts';
import { coalesceChanges, START_CURSOR } from '../../sync/changes.ts';
import { expectCode, expectFsckClean, testClock } from '../harness.ts';
import { reportFigure } from '../report.ts';
import { snapshot } from '../snapshot.ts';
import type { ConformanceTarget } from '../target.ts';
import { patternBytes } from './files.ts';

/** The platform errors a fault imitates, in turn; the first maps to ENOSPC, the others to EIO. */
export const FAULTS = [
  'SQLITE_FULL: database or disk is full',
  'SQLITE_BUSY: database is locked',
  'SQLITE_IOERR: disk I/O error',
];

/** The fault-injecting wrapper's controls. */
interface FaultControls {
  /** The statement to fail (1-based), 0 for none. */
  failAt: number;
  /** Statements run so far. */
  count: number;
  /** The outermost transaction whose COMMIT to fail (1-based), 0 for none. */
  failCommitAt: number;
  /** The platform error the failed COMMIT imitates. */
  commitFault: string;
  /** Outermost transactions that reached their COMMIT so far. */
  commits: number;
  /** The depth counted as outermost: 1 while counting inside the transaction that undoes the run. */
  outerDepth: number;
}

/**
 * A backend that counts statements and fails the one numbered `failAt`, or fails the COMMIT of
 * the outermost transaction numbered `failCommitAt` after every statement in it ran: where
 * COMMIT fails, with all the transaction's work still to undo.
 */
export function faultyBackend(inner: StorageBackend): StorageBackend & FaultControls {
  let depth = 0;
  const wrapper = {
    name: inner.name,
    limits: inner.limits,
    failAt: 0,
    count: 0,
    failCommitAt: 0,
    commitFault: FAULTS[0],
    commits: 0,
    outerDepth: 0,
    tick(): void {
      wrapper.count++;
      if (wrapper.count === wrapper.failAt) throw new Error(`${FAULTS[wrapper.failAt % FAULTS.length]} (injected)`);
    },
    all<T extends object>(sql: string, params?: readonly SqlValue[]): T[] {
      wrapper.tick();
      return inner.all<T>(sql, params);
    },
    run(sql: string, params?: readonly SqlValue[]): void {
      wrapper.tick();
      inner.run(sql, params);
    },
    transaction<T>(fn: () => T): T {
      const outermost = depth === wrapper.outerDepth;
      depth++;
      try {
        return inner.transaction(() => {
          const result = fn();
          if (outermost && ++wrapper.commits === wrapper.failCommitAt) {
            throw new Error(`${wrapper.commitFault} (injected at COMMIT)`);
          }
          return result;
        });
      } finally {
        depth--;
      }
    },
    close: () => inner.close(),
  };
  return wrapper;
}

interface Operation {
  name: string;
  /** Builds the state the operation starts from. */
  setup: (ws: Workspace) => void;
  /** The mutation under test. */
  run: (ws: Workspace) => unknown;
}

const seedTree = (ws: Workspace): void => {
  ws.mkdir('/d/sub', { recursive: true });
  ws.writeFile('/d/sub/f', patternBytes(300, 1));
  ws.writeFile('/d/g', 'small');
  ws.link('/d/g', '/hard');
  ws.symlink('d/g', '/link');
};

const OPERATIONS: Operation[] = [
  { name: 'mkdir -p', setup: seedTree, run: (ws) => ws.mkdir('/new/a/b', { recursive: true }) },
  {
    name: 'writeFile of a new multi-chunk file',
    setup: seedTree,
    run: (ws) => ws.writeFile('/d/new', patternBytes(200, 2)),
  },
  {
    name: 'writeFile over an existing file',
    setup: seedTree,
    run: (ws) => ws.writeFile('/d/sub/f', patternBytes(250, 3)),
  },
  { name: 'appendFile', setup: seedTree, run: (ws) => ws.appendFile('/d/sub/f', patternBytes(100, 4)) },
  { name: 'truncate (grow and shrink)', setup: seedTree, run: (ws) => ws.truncate('/d/sub/f', 90) },
  {
    name: 'fallocate punching a hole (whole chunks and edges)',
    setup: seedTree,
    run: (ws) => ws.allocate('/d/sub/f', 10, 150, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE),
  },
  { name: 'fallocate extending', setup: seedTree, run: (ws) => ws.allocate('/d/sub/f', 100, 1000) },
  { name: 'copyFile', setup: seedTree, run: (ws) => ws.copyFile('/d/sub/f', '/copy') },
  { name: 'rename of a tree', setup: seedTree, run: (ws) => ws.rename('/d', '/moved') },
  { name: 'rm -r of a tree with a hard link out', setup: seedTree, run: (ws) => ws.rm('/d', { recursive: true }) },
  { name: 'unlink', setup: seedTree, run: (ws) => ws.unlink('/hard') },
  { name: 'link', setup: seedTree, run: (ws) => ws.link('/d/sub/f', '/d/f2') },
  { name: 'symlink', setup: seedTree, run: (ws) => ws.symlink('/d', '/l2') },
  { name: 'chmod', setup: seedTree, run: (ws) => ws.chmod('/link', 0o600) },
  { name: 'utimes', setup: seedTree, run: (ws) => ws.utimes('/d/g', 1, 2) },
  {
    name: 'a buffered write session committed at release',
    setup: seedTree,
    run: (ws) => {
      const provider = new SQLiteWorkspaceProvider(ws);
      provider.openWriteBufferSync('/d/sub/f');
      provider.writeRangeSync('/d/sub/f', patternBytes(70, 5), 40);
      provider.truncateFileSync('/d/sub/f', 500);
      provider.releaseWriteBufferSync('/d/sub/f');
    },
  },
  {
    name: 'sync apply of a batch',
    setup: seedTree,
    run: (ws) => {
      // The workspace's own tree as a peer would send it, under /incoming (its objects are all here).
      const batch = coalesceChanges(ws.db, START_CURSOR);
      applyChanges(
        ws.db,
        batch.entries.map((entry) => ({ ...entry, path: `/incoming${entry.path}` })),
      );
    },
  },
];

/** Cases for injected faults. */
export function faultCases(target: ConformanceTarget): void {
  let injected = 0;
  let operations = 0;
  describe('injected faults', () => {
    afterAll(() => {
      if (operations === 0) return; // a filtered run: nothing to report
      reportFigure(
        `faults-${target.name}`,
        `${injected} faults injected on ${target.name} across ${operations} mutating operations; every one left the workspace exactly as before`,
      );
    });
    for (const operation of OPERATIONS) {
      it(
        `${operation.name}: a failure at any statement or at COMMIT changes nothing and says why`,
        () =>
          target.withBackend(async (backend) => {
            const faulty = faultyBackend(backend);
            const ws = openWorkspace(faulty, { chunkSize: 64, now: testClock().now });
            operation.setup(ws);
            const before = snapshot(ws);
            faulty.count = 0;
            faulty.failAt = Number.MAX_SAFE_INTEGER;
            const { statements, commits } = countStatements(faulty, ws, operation);
            expect(statements).toBeGreaterThan(0);
            expect(commits).toBeGreaterThan(0);
            for (let n = 1; n <= statements; n++) {
              faulty.count = 0;
              faulty.failAt = n;
              // A warm blob cache would skip reads the counted run made: start cold every time.
              ws.db.blobCache.clear();
              let caught: unknown;
              try {
                operation.run(ws);
              } catch (error) {
                caught = error;
              }
              faulty.failAt = 0;
              expect(caught, `statement ${n} of ${statements} failed but the operation reported success`).toBeDefined();
              expect(isFsError(caught), `statement ${n}: ${String(caught)}`).toBe(true);
              const error = caught as { code: string; cause?: unknown; message: string };
              expect(error.code).toBe(n % FAULTS.length === 0 ? 'ENOSPC' : 'EIO');
              expect(error.cause).toBeInstanceOf(Error);
              expect(String((error.cause as Error).message)).toContain('injected');
              expect(snapshot(ws), `statement ${n} of ${statements} left a trace`).toEqual(before);
            }
            for (let k = 1; k <= commits; k++) {
              for (const [index, fault] of FAULTS.entries()) {
                faulty.count = 0;
                faulty.commits = 0;
                faulty.failCommitAt = k;
                faulty.commitFault = fault;
                ws.db.blobCache.clear();
                const error = await expectCode(() => operation.run(ws), index === 0 ? 'ENOSPC' : 'EIO');
                faulty.failCommitAt = 0;
                expect(error.cause).toBeInstanceOf(Error);
                expect(String((error.cause as Error).message)).toContain('injected at COMMIT');
                expect(snapshot(ws), `failed COMMIT ${k} (${fault}) left a trace`).toEqual(before);
              }
            }
            expectFsckClean(ws);
            operation.run(ws);
            expectFsckClean(ws);
            injected += statements + commits * FAULTS.length;
            operations++;
          }),
        60_000,
      );
    }
  });
}

/**
 * How many statements and outermost transactions the operation runs from this state: it runs
 * inside a transaction that is then rolled back, so the state is untouched.
 */
function countStatements(
  faulty: ReturnType<typeof faultyBackend>,
  ws: Workspace,
  operation: Operation,
): { statements: number; commits: number } {
  const undo = new Error('undo');
  ws.db.blobCache.clear();
  faulty.commits = 0;
  faulty.outerDepth = 1;
  try {
    ws.db.transaction(() => {
      operation.run(ws);
      throw undo;
    });
  } catch (error) {
    if (error !== undo) throw error;
  } finally {
    faulty.outerDepth = 0;
  }
  return { statements: faulty.count, commits: faulty.commits };
}
