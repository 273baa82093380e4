/**
 * Before mounting: is FUSE usable here (and if not, what to install), is the mountpoint free, and
 * is a mount left by a crashed run in the way (then clean it). Nothing here touches a mounted
 * directory: mounts are read from /proc/self/mountinfo, owners from a small record file.
 *
 * @module
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { APT_INSTALL, type Fuse3Addon, FuseUnavailableError, loadFuse3 } from './fuse3.ts';

const run = promisify(execFile);

/** One line of /proc/self/mountinfo. */
export interface MountEntry {
  /** Where it is mounted (octal escapes decoded). */
  mountpoint: string;
  /** Filesystem type, such as `fuse.dofs` or `ext4`. */
  fstype: string;
  /** Mount source (for dofs, the database file). */
  source: string;
  /** The major device number; a FUSE connection is /sys/fs/fuse/connections/<minor> when it is 0. */
  major: number;
  /** The minor device number. */
  minor: number;
}

/** Parses /proc/self/mountinfo. */
export function parseMountinfo(text: string): MountEntry[] {
  const decode = (field: string) =>
    field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
  const entries: MountEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const fields = line.split(' ');
    const dash = fields.indexOf('-');
    if (dash < 6) continue;
    const [major, minor] = fields[2].split(':').map(Number);
    entries.push({
      mountpoint: decode(fields[4]),
      fstype: fields[dash + 1],
      source: decode(fields[dash + 2] ?? ''),
      major,
      minor,
    });
  }
  return entries;
}

/** The mounts of this process's namespace. */
export async function readMounts(): Promise<MountEntry[]> {
  return parseMountinfo(await readFile('/proc/self/mountinfo', 'utf8'));
}

/** The mount at exactly `mountpoint`, if any (the last one wins, as the kernel stacks them). */
export async function mountAt(mountpoint: string): Promise<MountEntry | undefined> {
  return (await readMounts()).filter((entry) => entry.mountpoint === mountpoint).pop();
}

function onPath(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(delimiter)) {
    const candidate = join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // keep looking
    }
  }
  for (const dir of ['/usr/bin', '/bin', '/usr/local/bin']) {
    if (existsSync(join(dir, command))) return join(dir, command);
  }
  return undefined;
}

/**
 * Checks that a FUSE mount can be made here (Linux, the device, fusermount) and loads the libfuse 3
 * addon. Throws {@link FuseUnavailableError} naming exactly what to install or fix.
 */
export function checkFuse(): Fuse3Addon {
  if (process.platform !== 'linux') {
    throw new FuseUnavailableError(`mounting needs Linux with FUSE; this is ${process.platform}`);
  }
  // DOFS_FUSE_DEVICE names another device node to check (tests use it to see the message for a missing one).
  const device = process.env.DOFS_FUSE_DEVICE || '/dev/fuse';
  if (!existsSync(device)) {
    throw new FuseUnavailableError(
      `no ${device}: load the kernel module (modprobe fuse) and install the tools (${APT_INSTALL}); in a container, run it with --device /dev/fuse --cap-add SYS_ADMIN`,
    );
  }
  try {
    accessSync(device, constants.R_OK | constants.W_OK);
  } catch {
    throw new FuseUnavailableError(
      `${device} is not readable and writable by this user: run as root, or make it mode 0666 (Debian's fuse3 package does: ${APT_INSTALL})`,
    );
  }
  if (!onPath('fusermount')) {
    throw new FuseUnavailableError(`fusermount is not installed (it mounts and unmounts); install it: ${APT_INSTALL}`);
  }
  return loadFuse3();
}

// ---- Who owns a mount: see records.ts ----
export { isAlive, type MountRecord, mountsOf, readRecord, recordPath, removeRecord, writeRecord } from './records.ts';

import { isAlive, readRecord, removeRecord } from './records.ts';

/** The mountpoint cannot be used; the message says why and what to do. */
export class MountpointError extends Error {
  /** `EBUSY`: the mountpoint is in use or not empty. */
  readonly code = 'EBUSY';
  constructor(message: string) {
    super(message);
    this.name = 'MountpointError';
  }
}

/** Detaches the mount at `mountpoint` lazily; true when it is gone. */
export async function forceUnmount(mountpoint: string, entry?: MountEntry): Promise<boolean> {
  try {
    await run('fusermount', ['-uz', mountpoint]);
  } catch {
    // maybe the connection must be aborted first, or fusermount refuses: try below
  }
  if (!(await mountAt(mountpoint))) return true;
  if (entry && entry.major === 0) {
    if (!existsSync(`/sys/fs/fuse/connections/${entry.minor}`) && process.getuid?.() === 0) {
      try {
        await run('mount', ['-t', 'fusectl', 'fusectl', '/sys/fs/fuse/connections']);
      } catch {
        // already mounted, or not possible here
      }
    }
    try {
      // A dead daemon's connection can hold requests forever; aborting it fails them with ENOTCONN.
      writeFileSync(`/sys/fs/fuse/connections/${entry.minor}/abort`, '1');
    } catch {
      // not mounted fusectl, or not allowed
    }
  }
  for (const [command, args] of [
    ['fusermount', ['-uz', mountpoint]],
    ['umount', ['-l', mountpoint]],
  ] as const) {
    try {
      await run(command, [...args]);
    } catch {
      // try the next
    }
    if (!(await mountAt(mountpoint))) return true;
  }
  return false;
}

/**
 * Makes sure nothing is mounted at `mountpoint`: a dofs mount whose daemon is gone (a crash, a
 * SIGKILL) is detached and reported through `log`; a live one, or any other filesystem, is a
 * {@link MountpointError}. Returns true when a stale mount was cleaned.
 */
export async function clearStaleMount(mountpoint: string, log: (line: string) => void): Promise<boolean> {
  const entry = await mountAt(mountpoint);
  if (!entry) {
    const left = readRecord(mountpoint);
    if (left && !isAlive(left.pid)) removeRecord(mountpoint, left.pid);
    return false;
  }
  const record = readRecord(mountpoint);
  if (record && record.pid !== process.pid && isAlive(record.pid)) {
    throw new MountpointError(
      `${mountpoint} is mounted by a running dofs (pid ${record.pid}, database ${record.db}); stop it first (kill ${record.pid})`,
    );
  }
  if (!entry.fstype.startsWith('fuse')) {
    throw new MountpointError(`${mountpoint} is already a mount point (${entry.fstype}); choose another directory`);
  }
  if (entry.fstype !== 'fuse.dofs' && !record) {
    throw new MountpointError(
      `${mountpoint} holds another FUSE filesystem (${entry.fstype} from ${entry.source}); unmount it first (fusermount -u ${mountpoint})`,
    );
  }
  if (!(await forceUnmount(mountpoint, entry))) {
    throw new MountpointError(
      `${mountpoint} holds a stale dofs mount that could not be detached; run: fusermount -uz ${mountpoint}`,
    );
  }
  removeRecord(mountpoint, record?.pid);
  log(
    `dofs: cleaned a stale mount at ${mountpoint} left by a run that did not unmount${record ? ` (pid ${record.pid})` : ''}`,
  );
  return true;
}
