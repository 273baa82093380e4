/**
 * Who owns a mount: a small record per mountpoint, outside the mount and outside the workspace,
 * in `$XDG_RUNTIME_DIR/dofs-mounts` (or the temp dir). The daemon writes it; preflight reads it to
 * tell a stale mount from a live one, and the CLI to name the mount holding a database's lock.
 * No FUSE import: the CLI loads this without the native binding.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** What a running daemon records about its mount. */
export interface MountRecord {
  /** The daemon's process id. */
  pid: number;
  /** The workspace database file, absolute. */
  db: string;
  /** Where it is mounted, absolute. */
  mountpoint: string;
  /** The status server's port; absent when it was turned off. */
  port?: number;
  /** When the mount started, as an ISO 8601 time. */
  startedAt: string;
  /** Mounted with `--shared`: other processes may open the database meanwhile. */
  shared?: boolean;
}

function recordDir(): string {
  return join(process.env.XDG_RUNTIME_DIR || tmpdir(), 'dofs-mounts');
}

/** The record file for `mountpoint`. */
export function recordPath(mountpoint: string): string {
  const key = createHash('sha256').update(mountpoint).digest('hex').slice(0, 16);
  return join(recordDir(), `${key}.json`);
}

/** Writes the record of a mount this process serves. */
export async function writeRecord(record: MountRecord): Promise<void> {
  mkdirSync(recordDir(), { recursive: true });
  await writeFile(recordPath(record.mountpoint), `${JSON.stringify(record)}\n`);
}

/** The record of `mountpoint`, if any. */
export function readRecord(mountpoint: string): MountRecord | undefined {
  try {
    return JSON.parse(readFileSync(recordPath(mountpoint), 'utf8')) as MountRecord;
  } catch {
    return undefined;
  }
}

/** Removes the record of `mountpoint` (only when it is this process's). */
export function removeRecord(mountpoint: string, pid = process.pid): void {
  const record = readRecord(mountpoint);
  if (record && record.pid !== pid) return;
  rmSync(recordPath(mountpoint), { force: true });
}

/**
 * True when process `pid` runs (EPERM means it does, owned by someone else). A zombie does not: a
 * daemon killed with SIGKILL stays one until its parent reaps it, and holds nothing meanwhile.
 */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  return !isZombie(pid);
}

/** True when `/proc` says `pid` has exited and awaits its parent (state Z); false where there is no `/proc`. */
function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The state follows the command name, which is in parentheses and may hold any character.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return false;
  }
}

/**
 * True when paths `a` and `b` name one database file: the same path, or the same device and inode
 * (another name for it through a symlink or a hard link, which SQLite's locks see as one file).
 */
function sameFile(a: string, b: string): boolean {
  if (a === b) return true;
  try {
    const [x, y] = [statSync(a), statSync(b)];
    return x.dev === y.dev && x.ino === y.ino;
  } catch {
    return false;
  }
}

/** The live mounts (another process's) of the database file `db`, from their records. */
export function mountsOf(db: string): MountRecord[] {
  const path = resolve(db);
  let names: string[];
  try {
    names = readdirSync(recordDir());
  } catch {
    return [];
  }
  const found: MountRecord[] = [];
  for (const name of names) {
    if (!name.endsWith('.json')) continue;
    try {
      const record = JSON.parse(readFileSync(join(recordDir(), name), 'utf8')) as MountRecord;
      if (sameFile(record.db, path) && record.pid !== process.pid && isAlive(record.pid)) found.push(record);
    } catch {
      // a record being written or removed: not a mount to report
    }
  }
  return found;
}

/**
 * Words naming who holds `db` and the way on, for a "database is locked" failure: the mount that
 * holds it exclusively (pid, mountpoint), or undefined when no recorded mount does.
 */
export function lockHolderAdvice(db: string): string | undefined {
  const holder = mountsOf(db).find((record) => !record.shared);
  if (!holder) return undefined;
  return `it is mounted at ${holder.mountpoint} by 'dofs mount' (pid ${holder.pid}), which holds it exclusively: use the files under ${holder.mountpoint}, or stop that mount (kill ${holder.pid}) and mount again with --shared to let other commands open the database meanwhile`;
}
