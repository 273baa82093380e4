/**
 * A fork between two node:sqlite files at hand copies inside SQLite (the target attaches the
 * source file; sync/fork-attached.ts). It must leave what the paged copy leaves: the same tree node
 * for node, the same snapshots, the blobs the target lacked and no others, the quota enforced, and
 * a base later merges use. Node only: two workspaces at hand in one context, the source in a file,
 * is what a Durable Object never has (the conformance suite's forks run the paged copy everywhere).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createNodeSqliteBackend } from '../backends/node-sqlite/index.ts';
import { patternBytes } from '../conformance/cases/files.ts';
import { seed as seedTree } from '../conformance/cases/forks.ts';
import { expectCode, expectFsckClean } from '../conformance/harness.ts';
import { snapshot as picture } from '../conformance/snapshot.ts';
import { RecordingStorage } from '../conformance/testing.ts';
import { openWorkspace, type Workspace, type WorkspaceOptions } from '../core/workspace.ts';
import { fork, local, merge, type WorkspaceAccess } from '../sync/fork.ts';

const dir = mkdtempSync(join(tmpdir(), 'dofs-fork-attached-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const clock = () => Date.UTC(2026, 0, 1);

function open(options: WorkspaceOptions = {}): { ws: Workspace; storage: RecordingStorage } {
  const storage = new RecordingStorage(createNodeSqliteBackend({ path: join(dir, `ws-${files++}.db`) }));
  return { ws: openWorkspace(storage, { chunkSize: 16, now: clock, ...options }), storage };
}

/** Databases attached to a workspace's connection beyond its own (main, temp). */
const attachedNames = (ws: Workspace) =>
  ws.db
    .all<{ name: string }>('PRAGMA database_list')
    .map((row) => row.name)
    .filter((name) => name !== 'main' && name !== 'temp');

/** An access that is not `local()`: fork cannot see the `Database` behind it and copies in pages. */
const opaque =
  (ws: Workspace): WorkspaceAccess =>
  async (fn) =>
    fn(ws.db);

/** A tree with hard links, a symlink, a hole, and history since an earlier snapshot (which the copy must leave out). */
function seed(ws: Workspace): void {
  seedTree(ws);
  ws.snapshot('earlier');
  ws.writeFile('/src/main.ts', 'main, changed\n');
  ws.truncate('/big.bin', 300 * 16);
  ws.rm('/src/lib', { recursive: true });
  ws.writeFile('/sparse', patternBytes(16, 1));
  ws.truncate('/sparse', 64 * 16);
}

describe('a fork between two files at hand', () => {
  it('copies inside SQLite and leaves what the paged copy leaves', async () => {
    const source = open();
    seed(source.ws);
    const [paged, attached] = [open(), open()];
    // The target of the attached copy already stores one blob (garbage of a removed file).
    attached.ws.writeFile('/old', 'main, changed\n');
    attached.ws.rm('/old');
    const viaPages = await fork(opaque(source.ws), opaque(paged.ws));
    attached.storage.clear();
    const viaSql = await fork(local(source.ws.db), local(attached.ws.db));
    expect(attached.storage.sql.some((sql) => sql.startsWith('ATTACH DATABASE'))).toBe(true);
    expect(attached.storage.sql.some((sql) => sql.startsWith('DETACH DATABASE'))).toBe(true);
    expect(picture(attached.ws).tree).toEqual(picture(paged.ws).tree);
    expect(picture(attached.ws).tree).toEqual(picture(source.ws).tree);
    expect(viaSql.nodes).toBe(viaPages.nodes);
    expect(viaSql.blobs).toBe(viaPages.blobs - 1);
    expect(attached.ws.usage().blobs).toBe(paged.ws.usage().blobs);
    expect(attached.ws.snapshots().map((info) => info.name)).toEqual([viaSql.base]);
    expect(attachedNames(attached.ws)).toEqual([]);
    // Inode numbers carry on above the copied ones, and a merge back finds the base.
    attached.ws.writeFile('/new', 'new\n');
    expect(attached.ws.stat('/new').ino).toBeGreaterThan(source.ws.stat('/sparse').ino);
    const merged = await merge(local(source.ws.db), local(attached.ws.db));
    expect(merged.base).toBe(viaSql.base);
    expect(merged.applied).toEqual(['/new']);
    for (const side of [source, paged, attached]) expectFsckClean(side.ws);
  });

  it('over the stored-bytes quota is ENOSPC and leaves the target empty', async () => {
    const source = open();
    seed(source.ws);
    const small = open({ quotas: { maxStoredBytes: 1024 } });
    const before = picture(small.ws);
    await expectCode(() => fork(local(source.ws.db), local(small.ws.db)), 'ENOSPC');
    expect(picture(small.ws)).toEqual(before);
    expect(attachedNames(small.ws)).toEqual([]);
    expect(source.ws.snapshots().map((info) => info.name)).toEqual(['earlier']);
    expectFsckClean(small.ws);
  });

  it('a source in memory has no file to attach: the paged copy runs', async () => {
    const source = openWorkspace(createNodeSqliteBackend(), { chunkSize: 16, now: clock });
    seed(source);
    const target = open();
    target.storage.clear();
    await fork(local(source.db), local(target.ws.db));
    expect(target.storage.sql.some((sql) => sql.startsWith('ATTACH'))).toBe(false);
    expect(picture(target.ws).tree).toEqual(picture(source).tree);
  });
});
