/**
 * A complete, comparable picture of a workspace: every path with its type, mode, size, content
 * hash, link target, device number, nlink and times, plus the revision counter and the blob catalogue.
 *
 * @module
 */

import type { StorageBackend } from '../core/backend.ts';
import { hashBytes } from '../core/blobs.ts';
import type { Workspace } from '../core/workspace.ts';

/** One path in a {@link Snapshot}. */
export interface SnapshotEntry {
  /** The node's type (`file`, `dir`, `symlink`…). */
  type: string;
  /** Its mode bits. */
  mode: number;
  /** Its size in bytes. */
  size: number;
  /** Its link count. */
  nlink: number;
  /** Its inode number. */
  ino: number;
  /** Its modification time, in milliseconds since the epoch. */
  mtimeMs: number;
  /** Its change time, in milliseconds since the epoch. */
  ctimeMs: number;
  /** A file's content, as its SHA-256 (hex); absent for anything else. */
  content?: string;
  /** A symlink's target; absent for anything else. */
  target?: string;
  /** A device's number; absent for anything else. */
  rdev?: number;
}

/** What {@link snapshot} returns. */
export interface Snapshot {
  /** The workspace's next revision (`vfs_meta.rev`). */
  rev: number;
  /** Blobs stored, referenced or not. */
  blobs: number;
  /** Every path, the root included, and what is there. */
  tree: Record<string, SnapshotEntry>;
}

/** The whole visible and stored state of `ws`, for before/after comparisons. */
export function snapshot(ws: Workspace): Snapshot {
  // Everything is seen, whatever the permissions of the identity a case runs as.
  return ws.db.withOwner({ uid: 0, gid: 0 }, () => snapshotAsRoot(ws));
}

function snapshotAsRoot(ws: Workspace): Snapshot {
  const tree: Record<string, SnapshotEntry> = {};
  for (const path of ['/', ...ws.find('/', '**')]) {
    const info = ws.lstat(path);
    const entry: SnapshotEntry = {
      type: info.type,
      mode: info.mode,
      size: info.size,
      nlink: info.nlink,
      ino: info.ino,
      mtimeMs: info.mtimeMs,
      ctimeMs: info.ctimeMs,
    };
    if (info.type === 'file') entry.content = hashBytes(ws.readFile(path));
    if (info.type === 'symlink') entry.target = ws.readlink(path);
    if (info.type === 'chardev' || info.type === 'blockdev') entry.rdev = info.rdev;
    tree[path] = entry;
  }
  const rev = Number(ws.db.all<{ v: number }>("SELECT v FROM vfs_meta WHERE k = 'rev'")[0].v);
  const blobs = Number(ws.db.all<{ n: number }>('SELECT count(*) AS n FROM vfs_blobs')[0].n);
  return { rev, blobs, tree };
}

/** Every `vfs_` table, index and trigger as SQLite holds it, and every row of every table: the stored state, exactly. */
export function storedState(backend: StorageBackend): Record<string, unknown> {
  const objects = backend.all<{ type: string; name: string; sql: string | null }>(
    "SELECT type, name, sql FROM sqlite_master WHERE name LIKE 'vfs%' ORDER BY name",
  );
  const state: Record<string, unknown> = { objects };
  for (const { type, name } of objects) {
    if (type !== 'table') continue;
    const rows = backend.all<Record<string, unknown>>(`SELECT * FROM ${name}`);
    state[name] = rows.map((row) => JSON.stringify(row, (_, v) => (v instanceof Uint8Array ? [...v] : v))).sort();
  }
  return state;
}
