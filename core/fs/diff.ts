/**
 * diff: the paths that differ between two snapshots, or a snapshot and now, found from the
 * history rows recorded between them, so it costs what changed rather than the workspace size.
 *
 * @module
 */
import type { Database } from '../database.ts';
import { changedKeys, VERSIONED } from '../history.ts';
import { getNode, lookup, lookupPath, MAX_WALK_NAMES, type NodeRow } from '../nodes.ts';
import { childPath, compareBytes } from '../paths.ts';
import { pathsOf } from '../resolve.ts';
import { ROOT_INODE } from '../schema.ts';
import { SnapshotDatabase } from '../snapshot-view.ts';
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

/**
 * The node at `path` found through directories only, or undefined: a path that goes through a
 * symlink on one side is not in that side's tree (what a listing shows), though resolving it
 * would reach something.
 */
function nodeAt(db: Database, path: string): NodeRow | undefined {
  const names = path.split('/').filter((name) => name !== '');
  let node = getNode(db, ROOT_INODE);
  for (let start = 0; node && start < names.length; start += MAX_WALK_NAMES) {
    const part = names.slice(start, start + MAX_WALK_NAMES);
    const found = lookupPath(db, node.inode, part);
    node = found.length === part.length ? found.at(-1) : undefined;
  }
  return node;
}

function chunkList(db: Database, inode: number): string {
  return db
    .all<{ idx: number; hash: string }>('SELECT idx, hash FROM vfs_chunks WHERE inode = ? ORDER BY idx', [inode])
    .map((row) => `${row.idx}:${row.hash}`)
    .join(',');
}

/** What differs between two nodes at one path (nothing when they are alike to a user). */
function compare(before: Database, a: NodeRow, after: Database, b: NodeRow): ChangeKind[] {
  if (a.type !== b.type) return ['type'];
  const changes: ChangeKind[] = [];
  const content =
    a.type === 'file'
      ? Number(a.size) !== Number(b.size) || chunkList(before, a.inode) !== chunkList(after, b.inode)
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
  const paths = new Set<string>();
  for (const side of [before, after]) {
    for (const inode of inodes) for (const path of pathsOf(side, inode)) paths.add(path);
    const other = side === before ? after : before;
    for (const { parent, name } of entries) {
      const child = lookup(side, Number(parent), name);
      const moved = child?.type === 'dir' && lookup(other, Number(parent), name)?.inode !== child.inode;
      for (const dir of pathsOf(side, Number(parent))) {
        const path = childPath(dir, name);
        paths.add(path);
        if (moved && child) for (const below of listTree(side, child.inode)) paths.add(childPath(path, below.rel));
      }
    }
  }
  const diff: SnapshotDiffEntry[] = [];
  for (const path of [...paths].sort(compareBytes)) {
    const was = nodeAt(before, path);
    const is = nodeAt(after, path);
    if (!was && is) diff.push({ path, status: 'added' });
    else if (was && !is) diff.push({ path, status: 'removed' });
    else if (was && is) {
      const changes = compare(before, was, after, is);
      if (changes.length > 0) diff.push({ path, status: 'changed', changes });
    }
  }
  return diff;
}
