/**
 * The change stream over deep trees: a page's paths are built with work linear in the tree's depth
 * (sync/node-paths.ts). A recursive statement that joined names level by level took 27 s of CPU
 * to page a chain 2,000 directories deep, and 3.6 s for a chain of 1,000 changed deepest first
 * (each directory looked up again from the root); now 0.3 s and 0.05 s (docs/performance.md,
 * "Sync at scale"). Applying such a chain resolved each entry's path from the root too
 * (sync/resolved-dirs.ts now finds it from its grandparent), and judging each directory for a move
 * made onto it named all its ancestors: a whole sync of two 1,000-deep chains took 7.8 s of CPU,
 * pulling a change to each directory of one 9.1 s. CPU time, so a loaded machine does not fail it;
 * Node only, since workerd's
 * clock stands still while an object computes.
 */
import { describe, expect, it } from 'vitest';
import { createNodeSqliteBackend } from '../backends/node-sqlite/index.ts';
import { openWorkspace, type Workspace } from '../core/index.ts';
import {
  type ChangeEntry,
  coalesceChanges,
  connectInProcess,
  createSyncDriver,
  createSyncEndpoint,
  START_CURSOR,
} from '../sync/index.ts';

/** Every page of the stream from the start, and the CPU milliseconds paging took. */
function pageAll(ws: Workspace): { entries: ChangeEntry[]; ms: number } {
  const start = process.cpuUsage();
  const entries: ChangeEntry[] = [];
  let after = START_CURSOR;
  for (let more = true; more; ) {
    const page = coalesceChanges(ws.db, after);
    entries.push(...page.entries);
    ({ cursor: after, more } = page);
  }
  const used = process.cpuUsage(start);
  return { entries, ms: (used.user + used.system) / 1000 };
}

/** The paths of a chain of `depth` directories `/d0/d1/…`, shallowest first. */
const chainOf = (depth: number): string[] => {
  const paths: string[] = [];
  for (let i = 0; i < depth; i++) paths.push(`${paths[i - 1] ?? ''}/d${i}`);
  return paths;
};

describe('sync: the change stream over deep trees', () => {
  it('pages a chain 2,000 directories deep in well under its old 27 s of CPU', () => {
    const ws = openWorkspace(createNodeSqliteBackend());
    const dirs = chainOf(2000);
    ws.mkdir(dirs[dirs.length - 1], { recursive: true });
    ws.writeFile(`${dirs[dirs.length - 1]}/f`, 'bottom');
    const { entries, ms } = pageAll(ws);
    expect(entries.map((entry) => entry.path)).toEqual([...dirs, `${dirs[dirs.length - 1]}/f`]);
    expect(ms).toBeLessThan(3000);
  }, 120_000);

  it('pages a chain of 1,000 directories changed deepest first in well under its old 3.6 s', () => {
    // As `tar x` stamps them: the first position brings every directory above it.
    const ws = openWorkspace(createNodeSqliteBackend());
    const dirs = chainOf(1000);
    ws.mkdir(dirs[dirs.length - 1], { recursive: true });
    ws.db.transaction(() => {
      for (const dir of [...dirs].reverse()) ws.chmod(dir, 0o750);
    });
    const { entries, ms } = pageAll(ws);
    expect(entries.map((entry) => [entry.path, entry.type === 'dir' ? entry.mode : null])).toEqual(
      dirs.map((dir) => [dir, 0o750]),
    );
    expect(ms).toBeLessThan(1000);
  }, 120_000);

  it('syncs a chain 1,000 directories deep each way in well under its old 7.8 s of CPU', async () => {
    // Each side applies the other's chain: every entry's parent was made by the entry before it.
    const authority = openWorkspace(createNodeSqliteBackend());
    const replica = openWorkspace(createNodeSqliteBackend());
    const chains = new Map([
      [authority, chainOf(1000).map((dir) => dir.replaceAll('/d', '/a'))],
      [replica, chainOf(1000).map((dir) => dir.replaceAll('/d', '/r'))],
    ]);
    for (const [ws, dirs] of chains) {
      ws.mkdir(dirs[dirs.length - 1], { recursive: true });
      ws.writeFile(`${dirs[dirs.length - 1]}/f`, 'bottom');
    }
    const driver = createSyncDriver(replica.db, connectInProcess(createSyncEndpoint(authority.db)));
    const start = process.cpuUsage();
    const report = await driver.sync();
    const used = process.cpuUsage(start);
    expect([report.pulled, report.pushed, report.conflicts]).toEqual([1001, 1001, []]);
    for (const ws of [authority, replica])
      for (const dirs of chains.values()) expect(ws.readFile(`${dirs[dirs.length - 1]}/f`, 'utf8')).toBe('bottom');
    expect((used.user + used.system) / 1000).toBeLessThan(3000);
  }, 120_000);

  it('pulls a change to every directory of a chain 1,000 deep in well under its old 9.1 s of CPU', async () => {
    // Each existing directory is judged for concurrent edits: a move onto any directory above it.
    const authority = openWorkspace(createNodeSqliteBackend());
    const replica = openWorkspace(createNodeSqliteBackend());
    const dirs = chainOf(1000);
    authority.mkdir(dirs[dirs.length - 1], { recursive: true });
    const driver = createSyncDriver(replica.db, connectInProcess(createSyncEndpoint(authority.db)));
    await driver.sync();
    authority.db.transaction(() => {
      for (const dir of dirs) authority.chmod(dir, 0o750);
    });
    const start = process.cpuUsage();
    const report = await driver.sync();
    const used = process.cpuUsage(start);
    expect([report.pulled, report.conflicts]).toEqual([1000, []]);
    expect(replica.stat(dirs[dirs.length - 1]).mode & 0o777).toBe(0o750);
    expect((used.user + used.system) / 1000).toBeLessThan(2000);
  }, 120_000);
});
