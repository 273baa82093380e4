/**
 * Reading a workspace as a snapshot saw it: a read-only {@link Database} over the same storage,
 * whose statements see `vfs_nodes`, `vfs_dirents` and `vfs_chunks` through CTEs of the same names
 * that pick each row's state at the snapshot (history.ts). Every read primitive works on it
 * unchanged; every mutation is EROFS.
 *
 * @module
 */
import type { SqlRow, SqlValue, StorageBackend } from './backend.ts';
import { Database } from './database.ts';
import { fsError } from './errors.ts';
import { shadowTables } from './history.ts';

/** A retained snapshot: the workspace as it was when it was taken. */
export interface SnapshotInfo {
  /** Its name, unique in the workspace. */
  name: string;
  /** Its identity, increasing in the order snapshots were taken. */
  id: number;
  /** The last revision it includes. */
  rev: number;
  /** When it was taken, in milliseconds since the epoch. */
  created: number;
  /** The highest inode number handed out when it was taken: inodes above it did not exist then. */
  lastInode: number;
}

/** A backend that runs every query at `snapshot` and refuses writes. */
function shadowBackend(inner: StorageBackend, snapshot: SnapshotInfo): StorageBackend {
  const ctes = shadowTables(snapshot.id, snapshot.lastInode);
  // One rewritten text per statement, so the backend's statement cache keeps working.
  const rewritten = new Map<string, string>();
  const shadow = (sql: string): string => {
    let text = rewritten.get(sql);
    if (text === undefined) {
      const head = /^\s*WITH(\s+RECURSIVE)?\s/i.exec(sql);
      text = head ? `${head[0]}${ctes}, ${sql.slice(head[0].length)}` : `WITH ${ctes} ${sql}`;
      rewritten.set(sql, text);
    }
    return text;
  };
  return {
    name: `${inner.name} at a snapshot`,
    limits: inner.limits,
    all: <T extends object = SqlRow>(sql: string, params?: readonly SqlValue[]): T[] =>
      inner.all<T>(shadow(sql), params),
    run: () => {
      throw fsError('EROFS', 'write', undefined, undefined, 'a snapshot is read-only');
    },
    transaction: (fn) => inner.transaction(fn),
    // The storage belongs to the live workspace.
    close: () => {},
  };
}

/** A read-only handle on the workspace as `snapshot` saw it. */
export class SnapshotDatabase extends Database {
  readonly #snapshot: SnapshotInfo;

  constructor(live: Database, snapshot: SnapshotInfo) {
    super(shadowBackend(live.backend, snapshot), {
      readOnly: true,
      now: live.now,
      owner: live.owner,
      cacheBytes: 8 * 1024 * 1024,
    });
    this.#snapshot = snapshot;
  }

  override get snapshot(): SnapshotInfo {
    return this.#snapshot;
  }
}
