/**
 * mknod: FIFOs, sockets and device nodes. A workspace keeps them as nodes with a type, a mode, an
 * owner and (devices) a device number; they hold no content. Opening one is for the system in
 * front of the workspace (the FUSE mount's kernel serves pipes and devices itself).
 *
 * @module
 */

import { checksCaller, requireEntryChange } from '../access.ts';
import type { Database } from '../database.ts';
import { fsError } from '../errors.ts';
import { mutate } from '../mutate.ts';
import { createNode } from '../nodes.ts';
import { splitPath } from '../paths.ts';
import { locate } from '../resolve.ts';
import { S_IFDIR, S_IFMT, typeOfMode } from './attributes.ts';

/**
 * Creates a node at `path` as `mknod(2)`: `mode` holds the type bits (`S_IFIFO`, `S_IFSOCK`,
 * `S_IFCHR`, `S_IFBLK`, or `S_IFREG`/0 for an empty regular file) and the 12 permission bits;
 * `rdev` is a device's number (Linux's `makedev` encoding, up to 32 bits; ignored for the other
 * types). A taken name is EEXIST, a free one ending in a slash ENOENT; a directory is EPERM (use
 * mkdir) and type bits naming nothing EINVAL, as Linux answers. No permission bits are masked:
 * apply a umask before calling. The engine checks no privileges (devices need CAP_MKNOD on Linux;
 * the FUSE mount leaves that to the kernel).
 */
export function mknod(db: Database, path: string, mode: number, rdev = 0): void {
  splitPath(path, 'mknod');
  if (typeof mode !== 'number' || !Number.isInteger(mode) || mode < 0 || mode > 0o177777)
    throw fsError('EINVAL', 'mknod', path, undefined, `mode must be type and permission bits, got ${String(mode)}`);
  if (typeof rdev !== 'number' || !Number.isInteger(rdev) || rdev < 0 || rdev > 0xffffffff)
    throw fsError(
      'EINVAL',
      'mknod',
      path,
      undefined,
      `rdev must be an integer from 0 to 2^32 - 1, got ${String(rdev)}`,
    );
  const bits = mode & S_IFMT;
  if (bits === S_IFDIR) throw fsError('EPERM', 'mknod', path, undefined, 'mknod does not make directories');
  const type = bits === 0 ? 'file' : typeOfMode(bits);
  if (type === undefined || type === 'symlink')
    throw fsError('EINVAL', 'mknod', path, undefined, `no node type has the type bits 0o${bits.toString(8)}`);
  const device = type === 'chardev' || type === 'blockdev' ? rdev : 0;
  mutate(db, 'mknod', path, (m) => {
    const location = locate(db, path, { follow: false, syscall: 'mknod', slash: 'entry' });
    if (location.node) throw fsError('EEXIST', 'mknod', path);
    if (location.trailingSlash) throw fsError('ENOENT', 'mknod', path);
    requireEntryChange(db, location.parent, undefined, 'mknod', path);
    // Devices take CAP_MKNOD, which only root has here.
    if (device !== 0 || type === 'chardev' || type === 'blockdev') {
      if (checksCaller(db)) throw fsError('EPERM', 'mknod', path);
    }
    createNode(db, m, location.parent, location.name, type, mode & 0o7777, null, 0, device);
    m.note('rename', location.realPath);
  });
}
