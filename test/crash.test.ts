/**
 * Crash durability on the node:sqlite file backend: a child process applies a long random mix of
 * mutations, with the background collector's gc steps and change-log compaction steps between
 * them, and acknowledges each; the parent kills it with SIGKILL at random moments, reopens the
 * workspace and checks that fsck is clean, every acknowledged operation is there, and no partial
 * operation is visible: the state (tree, revision, blob catalogue, change log, snapshots) is exactly the
 * model's after the last acknowledged operation, or after the one that was running (it may have
 * committed before its acknowledgement was written).
 *
 * The model is a second file-backed workspace, closed and reopened whenever the child restarts:
 * a gc step continues from a cursor its process keeps in memory, so both sides must lose that
 * cursor at the same operation to free the same blobs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { createNodeSqliteBackend } from '../backends/node-sqlite/index.ts';
import { type Snapshot, snapshot } from '../conformance/snapshot.ts';
import { openWorkspace, type Workspace } from '../core/workspace.ts';
import { applyCrashOp, CRASH_CHUNK_SIZE, CRASH_CLOCK, type CrashOpKind } from './support/crash-ops.ts';
import { runUntilKilled } from './support/kill-child.ts';
import { recordFigure } from './support/reliability-report.ts';
import { ROOT } from './support/wrangler-dev.ts';

const KILLS = 50;
const SEED = Number(process.env.DOFS_CRASH_SEED ?? Date.now() % 100_000);
const CHILD = join(ROOT, 'test', 'support', 'crash-child.ts');

/** Runs the child from operation `start` and kills it after `delayMs` of work; resolves to the acknowledged operations. */
const runChild = async (db: string, start: number, delayMs: number): Promise<number[]> =>
  (await runUntilKilled(CHILD, [db, String(SEED), String(start)], delayMs)).map(Number);

/** Opens a workspace file; the model's without fsyncs (its durability is not under test, only its state). */
const open = (path: string, synchronous: 'OFF' | 'NORMAL' = 'NORMAL'): Workspace =>
  openWorkspace(createNodeSqliteBackend({ path, synchronous }), { chunkSize: CRASH_CHUNK_SIZE, now: CRASH_CLOCK });

/** The snapshot plus what compaction changes (the change log's rows, how far it was compacted) and the snapshots' names. */
function state(ws: Workspace): Snapshot & { changeRows: number; compactedRev: number; snapshots: string[] } {
  const log = ws.db.all<{ rows: number; compacted: number | null }>(
    "SELECT (SELECT count(*) FROM vfs_changes) AS rows, (SELECT v FROM vfs_meta WHERE k = 'compacted_rev') AS compacted",
  )[0];
  return {
    ...snapshot(ws),
    changeRows: Number(log.rows),
    compactedRev: Number(log.compacted ?? 0),
    // Taking a snapshot changes nothing else here (no revision): without its name, a snapshot
    // committed just before a kill looked unapplied, and the next run applied the operation
    // again, restoring the snapshot it had just taken (seed 18232, kill 17).
    snapshots: ws.snapshots().map((info) => info.name),
  };
}

describe('crash durability (node:sqlite file, SIGKILL, background gc and compaction)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dofs-crash-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it(`survives ${KILLS} kills at random moments with every acknowledged operation present (seed ${SEED})`, async () => {
    const db = join(dir, 'crash.db');
    const modelPath = join(dir, 'model.db');
    let applied = 0; // operations in the model, and so far on disk
    let acknowledged = 0;
    let unacknowledgedButCommitted = 0;
    const steps: Record<CrashOpKind, { runs: number; freed: number }> = {
      mutation: { runs: 0, freed: 0 },
      gc: { runs: 0, freed: 0 },
      compact: { runs: 0, freed: 0 },
    };
    const applyToModel = (model: Workspace): void => {
      const result = applyCrashOp(model, SEED, applied++);
      steps[result.kind].runs++;
      steps[result.kind].freed += result.freed;
    };
    for (let kill = 0; kill < KILLS; kill++) {
      // Up to a quarter second: a gc step that frees pages (vacuum, checkpoint) takes about 10 ms.
      const delay = 5 + ((kill * 7919 + SEED) % 200);
      const acked = await runChild(db, applied, delay);
      acknowledged += acked.length;
      // A fresh model process-state for each run of the child: both start their gc cursor over.
      const model = open(modelPath, 'OFF');
      const reopened = open(db);
      try {
        for (const operation of acked) {
          expect(operation).toBe(applied);
          applyToModel(model);
        }
        const report = reopened.fsck();
        expect(report.problems, `fsck after kill ${kill}`).toEqual([]);
        const onDisk = state(reopened);
        const expected = state(model);
        if (!isDeepStrictEqual(onDisk, expected)) {
          const detail = `kill ${kill}: ${acked.length} acked (${acked[0]}..${acked.at(-1)}), model rev ${expected.rev}, disk rev ${onDisk.rev}`;
          // The operation that was running when the kill came may have committed before its ack.
          applyToModel(model);
          unacknowledgedButCommitted++;
          expect(onDisk, `${detail}: neither the acknowledged state nor one operation more`).toEqual(state(model));
        }
      } finally {
        reopened.close();
        model.close();
      }
    }
    expect(acknowledged).toBeGreaterThan(KILLS);
    // No leak either: after the last kill, the collector's bounded steps alone free every garbage
    // blob the crashed workspace holds (a full pass over the catalogue finding nothing ends it).
    const last = open(db);
    try {
      let passes = 0;
      for (let freedThisPass = 1; freedThisPass > 0; passes++) {
        expect(passes, 'gc steps never settled').toBeLessThan(100);
        freedThisPass = 0;
        for (let wrapped = false; !wrapped; ) {
          const step = last.gcStep({ maxScan: 16, maxBlobs: 4 });
          freedThisPass += step.blobs;
          wrapped = step.wrapped;
        }
      }
      expect(last.usage().garbageBytes).toBe(0);
      expect(last.fsck().problems).toEqual([]);
    } finally {
      last.close();
    }
    // The background steps ran and did work: blobs freed, change rows dropped, mid-catalogue stops.
    expect(steps.gc.freed).toBeGreaterThan(0);
    expect(steps.compact.freed).toBeGreaterThan(0);
    recordFigure(
      'crash',
      `${KILLS} SIGKILLs at random moments; ${acknowledged} acknowledged operations, all present after reopening; ` +
        `${unacknowledgedButCommitted} committed just before a kill (not yet acknowledged); 0 partial; fsck clean every time; ` +
        `among them ${steps.gc.runs} background gc steps (${steps.gc.freed} blobs freed) and ${steps.compact.runs} compaction steps ` +
        `(${steps.compact.freed} change rows dropped), the blob catalogue and change log always exactly the model's (seed ${SEED})`,
    );
  }, 240_000);
});
