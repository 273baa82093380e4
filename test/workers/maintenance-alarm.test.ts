/**
 * The example Durable Object's maintenance alarm (examples/worker), run by workerd: a change
 * schedules it; each run compacts the change log and collects garbage in one bounded step (at most
 * 1,024 blobs freed), and comes back while work remains; in the end every garbage blob is freed,
 * the log is compacted, fsck is clean and no alarm is left pending.
 */
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import type { Workspace } from '../../core/workspace.ts';
import type { WorkspaceDO } from './worker.ts';

const FILES = 2500;

/** The instance's workspace: the test seeds it from inside, where RPC would take one call per file. */
const workspaceOf = (instance: WorkspaceDO): Workspace => (instance as unknown as { ws: Workspace }).ws;

interface Garbage {
  blobs: number;
  changeRows: number;
  alarm: number | null;
}

describe('the example Durable Object collects garbage in its alarm, a bounded step at a time', () => {
  it(`frees ${FILES} garbage blobs over several alarm runs, at most 1,024 each, and then stops`, async () => {
    const stub = env.EXAMPLE_DO.get(env.EXAMPLE_DO.idFromName('maintenance'));
    await runInDurableObject(stub, (instance: WorkspaceDO) => {
      const ws = workspaceOf(instance);
      // Distinct bytes per file: one blob each, all garbage once the tree goes.
      ws.db.transaction(() => {
        ws.mkdir('/d');
        for (let i = 0; i < FILES; i++) ws.writeFile(`/d/f${i}`, `file number ${i}`);
      });
      ws.rm('/d', { recursive: true });
    });
    const look = (): Promise<Garbage> =>
      runInDurableObject(stub, async (instance: WorkspaceDO, state) => {
        const ws = workspaceOf(instance);
        const [row] = ws.db.all<{ blobs: number; changes: number }>(
          `SELECT (SELECT count(*) FROM vfs_blobs b WHERE NOT EXISTS (SELECT 1 FROM vfs_chunks c WHERE c.hash = b.hash)) AS blobs,
                  (SELECT count(*) FROM vfs_changes) AS changes`,
        );
        return { blobs: Number(row.blobs), changeRows: Number(row.changes), alarm: await state.storage.getAlarm() };
      });
    // The change scheduled the alarm (a minute away); nothing has been collected yet.
    const start = await look();
    expect(start.blobs).toBe(FILES);
    expect(start.changeRows).toBeGreaterThan(0);
    expect(start.alarm).not.toBeNull();

    const freedPerRun: number[] = [];
    let previous = start;
    for (let run = 0; run < 20 && (await runDurableObjectAlarm(stub)); run++) {
      const now = await look();
      freedPerRun.push(previous.blobs - now.blobs);
      // Compaction needs no peer here: the whole log goes in the first run.
      expect(now.changeRows).toBe(0);
      previous = now;
    }
    expect(previous.blobs).toBe(0);
    expect(previous.alarm).toBeNull();
    // 1,024 a run until the rest; a run that freed something comes back once more, finds nothing
    // and schedules no other.
    expect(freedPerRun).toEqual([1024, 1024, FILES - 2048, 0]);
    const report = await stub.fsck();
    expect(report.problems).toEqual([]);
  });
});
