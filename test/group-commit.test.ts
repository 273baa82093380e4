/**
 * The mount's group commit (adapters/fuse/group-commit.ts) without a mount: a group commits by
 * itself within its window, what it held is invisible to another connection until then, and a
 * failed COMMIT undoes the group, reports what it touched and makes changes commit one by one.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createGroupCommit, type Touched } from '../adapters/fuse/group-commit.ts';
import { createNodeSqliteBackend } from '../backends/node-sqlite/index.ts';
import { openWorkspace } from '../core/workspace.ts';
import { failingCommits } from './support/failing-commit.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function workspaceFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'dofs-group-'));
  dirs.push(dir);
  return join(dir, 'ws.db');
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('group commit', () => {
  it('commits by itself within its window; another connection sees nothing before, everything after', async () => {
    const path = workspaceFile();
    const ws = openWorkspace(createNodeSqliteBackend({ path }));
    const reader = openWorkspace(createNodeSqliteBackend({ path }));
    try {
      const lost: Touched[] = [];
      const group = createGroupCommit(ws.db, { windowMs: 20, onLost: (touched) => lost.push(touched) });
      expect(group.join()).toBe(true);
      expect(group.join()).toBe(true); // joins the open one
      ws.mkdir('/a');
      ws.writeFile('/a/f', 'grouped');
      expect(group.open).toBe(true);
      expect(ws.exists('/a/f')).toBe(true); // the same connection sees its own group
      expect(reader.exists('/a')).toBe(false); // another one sees nothing yet
      await sleep(60);
      expect(group.open).toBe(false);
      expect(reader.readFile('/a/f', 'utf8')).toBe('grouped');
      expect(group.stats.groups).toBe(1);
      expect(lost).toEqual([]);
      // commit() commits at once, and does nothing without a group.
      group.join();
      ws.writeFile('/b', 'now');
      group.commit();
      group.commit();
      expect(reader.readFile('/b', 'utf8')).toBe('now');
      expect(ws.fsck().ok).toBe(true);
    } finally {
      reader.close();
      ws.close();
    }
  });

  it('a failed COMMIT undoes the group, reports what it touched, and changes commit one by one for a while', () => {
    const backend = createNodeSqliteBackend({ path: workspaceFile() });
    const { backend: failing, fault } = failingCommits(backend);
    const ws = openWorkspace(failing);
    try {
      const lost: Array<{ touched: Touched; error: unknown }> = [];
      const group = createGroupCommit(ws.db, { onLost: (touched, error) => lost.push({ touched, error }) });
      group.join();
      ws.mkdir('/gone');
      group.touch(1, 'gone');
      group.touch(1);
      fault.failNext = true;
      expect(() => group.commit()).toThrow(expect.objectContaining({ code: 'ENOSPC' }));
      expect(ws.exists('/gone')).toBe(false);
      expect(lost).toHaveLength(1);
      expect(lost[0].touched.entries).toEqual([[1, 'gone']]);
      expect([...lost[0].touched.inodes]).toEqual([1]);
      expect(group.stats.lost).toBe(1);
      // Careful for a while: no group opens, so each change commits by itself.
      expect(group.join()).toBe(false);
      expect(group.open).toBe(false);
      ws.mkdir('/kept');
      expect(ws.exists('/kept')).toBe(true);
      expect(ws.fsck().ok).toBe(true);
    } finally {
      ws.close();
    }
  });

  it('a backend without openTransaction never opens a group', () => {
    const backend = createNodeSqliteBackend({ path: workspaceFile() });
    const { openTransaction: _, ...callbackOnly } = backend;
    const ws = openWorkspace({ ...callbackOnly, transaction: (fn) => backend.transaction(fn) });
    try {
      const group = createGroupCommit(ws.db, { onLost: () => {} });
      expect(group.join()).toBe(false);
      ws.mkdir('/d');
      expect(ws.exists('/d')).toBe(true);
    } finally {
      ws.close();
    }
  });

  it('no group opens while the disk is nearly full: each change commits by itself, and groups come back with room', () => {
    const path = workspaceFile();
    const ws = openWorkspace(createNodeSqliteBackend({ path }));
    const reader = openWorkspace(createNodeSqliteBackend({ path }));
    try {
      let full = true;
      const group = createGroupCommit(ws.db, { onLost: () => {}, nearlyFull: () => full });
      expect(group.join()).toBe(false);
      ws.mkdir('/d');
      expect(reader.exists('/d')).toBe(true); // committed before anything answered it
      full = false;
      expect(group.join()).toBe(true);
      ws.mkdir('/e');
      expect(reader.exists('/e')).toBe(false);
      // A group already open stays open until it commits.
      full = true;
      expect(group.join()).toBe(true);
      group.commit();
      expect(reader.exists('/e')).toBe(true);
      expect(group.join()).toBe(false);
    } finally {
      reader.close();
      ws.close();
    }
  });
});
