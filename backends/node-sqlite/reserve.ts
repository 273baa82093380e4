/**
 * A reserve of disk space kept next to a workspace file, so that deleting files still works on a
 * full disk.
 *
 * Why a file: in WAL mode every change, a deletion too, is first appended to the `-wal` file, so
 * on a full disk SQLite cannot even record that pages became free (`rm` fails with SQLITE_FULL).
 * SQLite has no way to preallocate WAL space from node:sqlite (no `SQLITE_FCNTL_SIZE_HINT`), and
 * the journal modes that need no log (`OFF`, `MEMORY`) give up atomicity on a crash. So the backend
 * keeps a plain file of real (non-sparse) bytes, `<db>-reserve`, and deletes it when a mutation
 * that frees space (unlink, rm, gc, …) hits SQLITE_FULL, checkpoints the WAL into the database and
 * truncates it; the engine then runs that mutation once more in the room this made. Writes never
 * spend the reserve: they fail with ENOSPC and leave it for the deletions that make room. The
 * reserve is written again at open, after a later commit and after free pages went back to the
 * file system, once the disk has its size and 1 MiB more free.
 *
 * @module
 */
import { existsSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * The default reserve: room to finish a checkpoint stopped by the full disk (up to about two
 * auto-checkpoint intervals of 1 MiB, measured on a 20 MiB tmpfs) and then log the deletions.
 */
export const DEFAULT_RESERVE_BYTES = 2 * 1024 * 1024;

/** The reserve size asked for, checked: a whole number of bytes, 0 or more. */
export function reserveSize(bytes: number | undefined): number {
  if (bytes === undefined) return DEFAULT_RESERVE_BYTES;
  if (!Number.isSafeInteger(bytes) || bytes < 0) {
    throw new RangeError(`reserveBytes must be a whole number of bytes, 0 or more (got ${bytes})`);
  }
  return bytes;
}

/** Free space beyond the reserve's size needed before it is written again. */
export const REPLENISH_HEADROOM_BYTES = 1024 * 1024;

/** The reserve file of one workspace database. */
export interface SpaceReserve {
  /** The reserve file's path. */
  readonly file: string;
  /** Deletes the reserve file. True when that freed space now (false: there was none to free). */
  release(): boolean;
  /** Writes the reserve file again when it is missing and the disk has room for it and 1 MiB more. Never throws. */
  replenish(): void;
  /** True while the reserve file is missing. */
  readonly missing: boolean;
}

/** Manages the reserve `file` of `bytes` bytes (0: no reserve at all). Writes it now if there is room. */
export function createSpaceReserve(file: string, bytes: number): SpaceReserve {
  let missing = bytes > 0 && !existsSync(file);
  const reserve: SpaceReserve = {
    file,
    get missing() {
      return missing;
    },
    release(): boolean {
      if (bytes <= 0 || !existsSync(file)) {
        missing = bytes > 0;
        return false;
      }
      rmSync(file, { force: true });
      missing = true;
      return true;
    },
    replenish(): void {
      if (!missing) return;
      try {
        const fs = statfsSync(dirname(file));
        // With a little room beyond it (one checkpoint interval), so the commit that follows a
        // deletion does not spend it again at once. Not more: while the reserve is missing, writes
        // take the free space, and the next deletion on a full disk has nothing to fall back on.
        if (fs.bavail * fs.bsize < bytes + REPLENISH_HEADROOM_BYTES) return;
        // Real bytes, not a sparse file (truncate/ftruncate would reserve nothing).
        writeFileSync(file, new Uint8Array(bytes), { flag: 'wx' });
        missing = false;
      } catch (error) {
        // Another process wrote it first (EEXIST): it is there. Anything else: no reserve for now.
        if ((error as { code?: string }).code === 'EEXIST') missing = false;
        else rmSync(file, { force: true });
      }
    },
  };
  reserve.replenish();
  return reserve;
}
