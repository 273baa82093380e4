/**
 * What `df` shows for a mount: the workspace's usage against its quota and the free space of the
 * filesystem holding the database file.
 *
 * @module
 */
import { statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import { BLOCK_SIZE, type Database, MAX_NAME_BYTES, usage } from '../../core/index.ts';
import type { FuseStatfs } from './fuse3.ts';

const ST_RDONLY = 1;
const UINT32_MAX = 0xffff_ffff;
const clamp32 = (value: number): number => Math.max(0, Math.min(UINT32_MAX, Math.floor(value)));

/** statvfs figures of the workspace in `db` (`dbFile`: the database file; undefined in memory). */
export function statfsOf(db: Database, dbFile: string | undefined, readOnly: boolean): FuseStatfs {
  const figures = usage(db);
  const unit = BLOCK_SIZE;
  let freeBlocks = 0;
  let availBlocks = 0;
  if (dbFile) {
    // The free space of the filesystem holding the database file (never the mount itself).
    const host = statfsSync(dirname(dbFile));
    freeBlocks = (host.bfree * host.bsize) / unit;
    availBlocks = (host.bavail * host.bsize) / unit;
  }
  const used = Math.ceil((figures.storedBytes + figures.snapshotBytes + figures.garbageBytes) / unit);
  // A quota caps what df shows: the smaller of the quota's room and the disk's.
  const { maxStoredBytes, maxInodes } = db.quotas;
  if (maxStoredBytes !== undefined) {
    const room = Math.max(0, Math.floor(maxStoredBytes / unit) - used);
    freeBlocks = dbFile ? Math.min(freeBlocks, room) : room;
    availBlocks = dbFile ? Math.min(availBlocks, room) : room;
  }
  const freeInodes = maxInodes === undefined ? 1_000_000_000 : Math.max(0, maxInodes - figures.inodes);
  return {
    bsize: unit,
    frsize: unit,
    blocks: clamp32(used + freeBlocks),
    bfree: clamp32(freeBlocks),
    bavail: clamp32(availBlocks),
    files: clamp32(figures.inodes + freeInodes),
    ffree: clamp32(freeInodes),
    favail: clamp32(freeInodes),
    fsid: 0x646f6673,
    flag: readOnly ? ST_RDONLY : 0,
    namemax: MAX_NAME_BYTES,
  };
}
