/**
 * The FUSE mount options the daemon passes to libfuse, each with the reason it is there.
 *
 * @module
 */

/** The largest request FUSE 2.9 exchanges: libfuse 2 cannot negotiate max_pages, so 32 pages. */
export const FUSE_MAX_IO = 128 * 1024;

/** What decides the option list. */
export interface MountOptionsInput {
  /** Mount read-only (`ro`): the kernel refuses writes before they reach the daemon. */
  readOnly?: boolean;
  /** Let other users reach the mount (`allow_other`; for non-root, needs user_allow_other in /etc/fuse.conf). */
  allowOther?: boolean;
  /** libfuse prints every request (`debug`). */
  debug?: boolean;
  /** What `mount` and `df` show as the source (the database file). */
  fsname?: string;
  /** Seconds the kernel caches names and attributes. Default 1. */
  cacheTimeout?: number;
}

/**
 * The options, in order:
 *
 * - `fsname=<db>`, `subtype=dofs`: `mount` and `df` show `<db>` of type `fuse.dofs`; a stale mount
 *   is recognised as ours by that type.
 * - `big_writes`, `max_write=131072`: writes arrive in 128 KiB requests instead of 4 KiB pages
 *   (the largest FUSE 2.9 allows; asking for more is clamped by the kernel).
 * - `max_read=131072`, `max_readahead=1048576`: reads arrive in 128 KiB requests. The read-ahead
 *   figure is only a ceiling: libfuse answers INIT with the smaller of it and the kernel's offer,
 *   which is the mount's `read_ahead_kb` (128 KiB), so the kernel reads ahead 128 KiB at a time.
 *   (Raising `read_ahead_kb` in /sys/class/bdi after mounting was tried: no faster.)
 * - `use_ino`: stat and readdir report the workspace's own inode numbers, so hard links share one
 *   and `find`, `du`, `tar` and git recognise them.
 * - `default_permissions`: the kernel checks owners, groups and mode bits (each node's own, as the
 *   daemon reports them) the way a local filesystem does; root passes, as on a local disk.
 * - `auto_cache`: the page cache survives close and reopen unless the file's mtime or size
 *   changed, so re-reading an unchanged file costs no requests.
 * - `entry_timeout=1`, `attr_timeout=1`, `negative_timeout=1`: names, attributes and absent names
 *   are cached for one second (the reference daemon's timeouts; the negative one spares tools'
 *   repeated probes of missing files). Changes made through the mount invalidate them at once;
 *   changes made to the database by others (sync) show within the second.
 * - `noatime`: reads never update access times (the engine keeps atime only as set by utimens).
 * - `ro` when read-only, `debug` on request, `allow_other` when asked (the daemon asks by default
 *   when it runs as root: with `default_permissions` the kernel enforces every node's owner).
 *
 * Not used: `hard_remove` (fuse-native cannot serve requests without a path, so libfuse keeps a
 * file unlinked while open under a `.fuse_hidden…` name until its last close), `kernel_cache`
 * (would never notice changes made by sync), `direct_io` (would defeat the page cache and mmap).
 */
export function mountOptions(input: MountOptionsInput = {}): string[] {
  const options: string[] = [];
  const fsname = input.fsname?.replace(/[\\,]/g, (c) => `\\${c}`);
  options.push(fsname && fsname.length <= 512 ? `fsname=${fsname}` : 'fsname=dofs', 'subtype=dofs');
  options.push('big_writes', `max_write=${FUSE_MAX_IO}`, `max_read=${FUSE_MAX_IO}`, 'max_readahead=1048576');
  const timeout = input.cacheTimeout ?? 1;
  options.push('use_ino', 'default_permissions', 'auto_cache');
  options.push(`entry_timeout=${timeout}`, `attr_timeout=${timeout}`, `negative_timeout=${timeout}`, 'noatime');
  if (input.readOnly) options.push('ro');
  if (input.allowOther) options.push('allow_other');
  if (input.debug) options.push('debug');
  return options;
}

/**
 * The libfuse 3 low-level transport's `-o` items: `fsname=<db>`, `subtype=dofs`,
 * `default_permissions`, `noatime`, and `ro` and `allow_other` as for {@link mountOptions}. What
 * libfuse 2 took as options is negotiated in the addon's init instead (1 MiB requests through
 * max_pages, writeback cache, readdirplus) or answered per reply by the daemon (entry and
 * attribute timeouts, keep_cache at open as auto_cache did); inode numbers are always the
 * workspace's own.
 */
export function lowLevelMountOptions(input: MountOptionsInput = {}): string[] {
  const options: string[] = [];
  const fsname = input.fsname?.replace(/[\\,]/g, (c) => `\\${c}`);
  options.push(fsname && fsname.length <= 512 ? `fsname=${fsname}` : 'fsname=dofs', 'subtype=dofs');
  options.push('default_permissions', 'noatime');
  if (input.readOnly) options.push('ro');
  if (input.allowOther) options.push('allow_other');
  return options;
}
