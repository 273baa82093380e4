/**
 * The FUSE mount options the daemon passes to libfuse 3, each with the reason it is there.
 *
 * @module
 */

/** The largest request the mount negotiates (max_pages: 256 pages of 4 KiB), for reads and writes. */
export const FUSE_MAX_IO = 1024 * 1024;

/** What decides the option list. */
export interface MountOptionsInput {
  /** Mount read-only (`ro`): the kernel refuses writes before they reach the daemon. */
  readOnly?: boolean;
  /** Let other users reach the mount (`allow_other`; for non-root, needs user_allow_other in /etc/fuse.conf). */
  allowOther?: boolean;
  /** What `mount` and `df` show as the source (the database file). */
  fsname?: string;
}

/**
 * The `-o` items, in order:
 *
 * - `fsname=<db>`, `subtype=dofs`: `mount` and `df` show `<db>` of type `fuse.dofs`; a stale mount
 *   is recognised as ours by that type.
 * - `default_permissions`: the kernel checks owners, groups and mode bits (each node's own, as the
 *   daemon reports them) the way a local filesystem does; root passes, as on a local disk.
 * - `noatime`: reads never update access times (the engine keeps atime only as set by utimens).
 * - `ro` when read-only, `allow_other` when asked (the daemon asks by default when it runs as root:
 *   with `default_permissions` the kernel enforces every node's owner).
 *
 * What libfuse 2 took as options is negotiated by the addon at init instead (1 MiB requests
 * through max_pages, the writeback cache, readdirplus, asynchronous reads, parallel directory
 * operations) or answered per reply by the daemon (entry, attribute and negative-entry timeouts;
 * keep_cache at open, as libfuse 2's auto_cache did). Inode numbers are always the workspace's own.
 */
export function mountOptions(input: MountOptionsInput = {}): string[] {
  const options: string[] = [];
  const fsname = input.fsname?.replace(/[\\,]/g, (c) => `\\${c}`);
  options.push(fsname && fsname.length <= 512 ? `fsname=${fsname}` : 'fsname=dofs', 'subtype=dofs');
  options.push('default_permissions', 'noatime');
  if (input.readOnly) options.push('ro');
  if (input.allowOther) options.push('allow_other');
  return options;
}
