/**
 * diff: the paths that differ between two snapshots, or a snapshot and now, found from the
 * history rows recorded between them, so it costs what changed rather than the workspace size.
 *
 * @module
 */
import type { Database } from '../database.ts';
import { changedKeys, VERSIONED } from '../history.ts';
import type { NodeRow } from '../nodes.ts';
import { childPath, compareBytes } from '../paths.ts';
import { SnapshotDatabase } from '../snapshot-view.ts';
import { DiffReads } from './diff-reads.ts';
import { listTree } from './search.ts';
import { findSnapshot } from './snapshots.ts';

/** What differs at a path that exists on both sides. */
export type ChangeKind = 'content' | 'mode' | 'type';

/** One path that differs. */
export interface SnapshotDiffEntry {
  /** The absolute path. */
  path: string;
  /** `added`: only at `to`; `removed`: only at `from`; `changed`: at both, different. */
  status: 'added' | 'removed' | 'changed';
  /** For `changed`: what changed (content: bytes, a symlink's target or a device number; mode: permission bits). */
  changes?: ChangeKind[];
}

/** What differs between two nodes at one path (nothing when they are alike to a user). */
function compare(
  a: NodeRow,
  b: NodeRow,
  chunksBefore: Map<number, string>,
  chunksAfter: Map<number, string>,
): ChangeKind[] {
  if (a.type !== b.type) return ['type'];
  const changes: ChangeKind[] = [];
  const content =
    a.type === 'file'
      ? Number(a.size) !== Number(b.size) || chunksBefore.get(a.inode) !== chunksAfter.get(b.inode)
      : a.link_target !== b.link_target || Number(a.rdev) !== Number(b.rdev);
  if (content) changes.push('content');
  if (Number(a.mode) !== Number(b.mode)) changes.push('mode');
  return changes;
}

/**
 * Paths added, removed and changed (content, mode, type) from snapshot `from` to snapshot `to`,
 * or to now when `to` is omitted, in byte order of paths. A directory's own times are not a
 * change; a moved directory shows every path below it removed and added. ENOENT when a snapshot
 * does not exist.
 */
export function diffSnapshots(db: Database, from: string, to?: string): SnapshotDiffEntry[] {
  const a = findSnapshot(db, from, 'diff');
  const b = to === undefined ? undefined : findSnapshot(db, to, 'diff');
  const before = new SnapshotDatabase(db, a);
  const after = b ? new SnapshotDatabase(db, b) : db;
  // History between the two epochs names every row that may differ (order does not matter).
  const [low, high] = b && b.id < a.id ? [b.id, a.id] : [a.id, b?.id];
  const inodes = new Set<number>();
  for (const v of [VERSIONED.nodes, VERSIONED.chunks])
    for (const row of changedKeys<{ inode: number }>(db, v, low, high)) inodes.add(Number(row.inode));
  // Inodes newer than the older snapshot have no history: each is new on the newer side.
  const [older, newer] = b && b.id < a.id ? [b, before] : [a, after];
  const last = older.lastInode;
  for (const row of newer.all<{ inode: number }>('SELECT inode FROM vfs_nodes WHERE inode > ?', [last]))
    inodes.add(Number(row.inode));
  const entries = changedKeys<{ parent: number; name: string }>(db, VERSIONED.dirents, low, high);
  const byParent = new Map<number, string[]>();
  for (const { parent, name } of entries) {
    const names = byParent.get(Number(parent)) ?? [];
    names.push(name);
    byParent.set(Number(parent), names);
  }
  // Every read below is batched per side: a diff names every path under what changed.
  const was = new DiffReads(before);
  const is = new DiffReads(after);
  const paths = new Set<string>();
  // Each side's entries of the changed names, read once: each side is compared with the other.
  const entriesOf = (reads: DiffReads) =>
    new Map([...byParent].map(([parent, names]) => [parent, reads.entries(parent, names)]));
  const entriesBefore = entriesOf(was);
  const entriesAfter = entriesOf(is);
  for (const [side, here, children, others] of [
    [before, was, entriesBefore, entriesAfter],
    [after, is, entriesAfter, entriesBefore],
  ] as const) {
    for (const inodePaths of here.pathsOf(inodes).values()) for (const path of inodePaths) paths.add(path);
    const parentPaths = here.pathsOf(byParent.keys());
    for (const [parent, names] of byParent) {
      for (const name of names) {
        const child = children.get(parent)?.get(name);
        const moved = child?.type === 'dir' && others.get(parent)?.get(name)?.inode !== child.inode;
        for (const dir of parentPaths.get(parent) ?? []) {
          const path = childPath(dir, name);
          paths.add(path);
          if (moved && child) for (const below of listTree(side, child.inode)) paths.add(childPath(path, below.rel));
        }
      }
    }
  }
  const sorted = [...paths].sort(compareBytes);
  const nodesBefore = was.nodesAt(sorted);
  const nodesAfter = is.nodesAt(sorted);
  // Chunk lists only where a file is on both sides at the same size (a size change is a change).
  const sameSize = sorted.flatMap((path) => {
    const [a, b] = [nodesBefore.get(path), nodesAfter.get(path)];
    return a?.type === 'file' && b?.type === 'file' && Number(a.size) === Number(b.size) ? [[a.inode, b.inode]] : [];
  });
  const chunksBefore = was.chunkLists(sameSize.map(([a]) => a));
  const chunksAfter = is.chunkLists(sameSize.map(([, b]) => b));
  const diff: SnapshotDiffEntry[] = [];
  for (const path of sorted) {
    const [a, b] = [nodesBefore.get(path), nodesAfter.get(path)];
    if (!a && b) diff.push({ path, status: 'added' });
    else if (a && !b) diff.push({ path, status: 'removed' });
    else if (a && b) {
      const changes = compare(a, b, chunksBefore, chunksAfter);
      if (changes.length > 0) diff.push({ path, status: 'changed', changes });
    }
  }
  return diff;
}
