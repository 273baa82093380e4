/**
 * A real, small, full-able disk for tests: a tmpfs mounted on a fresh directory. Mounting needs
 * root; tests skip themselves with {@link TMPFS_SKIP_REASON} otherwise.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Why tmpfs tests cannot run here, or undefined when they can. */
export const TMPFS_SKIP_REASON: string | undefined =
  process.platform !== 'linux'
    ? 'needs Linux to mount a tmpfs'
    : process.getuid?.() !== 0
      ? 'needs root to mount a tmpfs (run the tests as root to fill a real disk)'
      : undefined;

/** A mounted tmpfs; `unmount` removes it and its directory. */
export interface Tmpfs {
  readonly dir: string;
  /** Grows (or shrinks) the disk in place, keeping its files: room again after it filled up. */
  resize(sizeMiB: number): void;
  unmount(): void;
}

/** Mounts a tmpfs of `sizeMiB` MiB on a new temporary directory. */
export function mountTmpfs(sizeMiB: number): Tmpfs {
  const dir = mkdtempSync(join(tmpdir(), 'dofs-tmpfs-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMiB}m`, 'tmpfs', dir]);
  return {
    dir,
    resize(size) {
      execFileSync('mount', ['-o', `remount,size=${size}m`, dir]);
    },
    unmount() {
      execFileSync('umount', [dir]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
