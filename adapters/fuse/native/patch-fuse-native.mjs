#!/usr/bin/env node
// Rebuilds fuse-native 2.2.6 from its own source with fixes, as the package's postinstall.
//
// fuse-native's utimens hands JavaScript the access time twice (the modification time is lost),
// and it folds UTIME_NOW and UTIME_OMIT into the same meaningless millisecond value. Both live in
// the C glue, so no JavaScript can repair them. Also, libfuse 2.9 ignores a change of only one of
// the two times (touch -m; tar, which leaves atime alone) unless the filesystem sets
// flag_utime_omit_ok, which fuse-native never does. This script patches fuse-native.c in place and
// runs node-gyp, which puts build/Release/fuse.node beside the package, where node-gyp-build
// prefers it over the prebuilt binary. The patched module exports `dofs_patch_v3` (1), which the
// mount daemon checks; without it the daemon still works, with degraded utimens (it says so).
//
// Patch level 4 adds the caller of each request: fuse-native never tells JavaScript who is
// asking, so every file would belong to the daemon's user. On the FUSE thread that serves a
// request, fuse_get_context() names the caller; the patch copies its uid, gid, pid and umask into
// the first 16 bytes of the per-thread buffer JavaScript already receives with every request, and
// exports `dofs_patch_v4` (1). Without it the mount still works; new files belong to the daemon.
//
// Plain JavaScript on purpose: it runs during `npm install`, on whichever Node npm runs scripts
// with. It never fails the install: on any problem it prints one warning and exits 0.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { findNodeGyp } from './node-gyp.mjs';

const MARKER = 'dofs_patch_v4';

/** Each replacement must match exactly once in fuse-native 2.2.6's fuse-native.c. */
const REPLACEMENTS = [
  {
    find: 'static void populate_stat (uint32_t *ints, struct stat* stat) {',
    replace: `/* dofs patch: utimens passes UTIME_NOW and UTIME_OMIT as sentinels (2^52 + 1, 2^52 + 2 ms), times rounded to ms. */
static const uint32_t dofs_patch_v3 = 1;
/* dofs patch: fuse_thread_locals_t begins with the request's caller (uid, gid, pid, umask). */
static const uint32_t dofs_patch_v4 = 1;
static uint64_t dofs_utime_arg (const struct timespec* ts) {
  if (ts->tv_nsec == UTIME_NOW) return 4503599627370497ULL;
  if (ts->tv_nsec == UTIME_OMIT) return 4503599627370498ULL;
  if (ts->tv_sec < 0) return 0;
  /* to the nearest millisecond: 1.678 s arrives from node as 1 s + 677999999 ns */
  return (uint64_t) ts->tv_sec * 1000 + ((uint64_t) ts->tv_nsec + 500000) / 1000000;
}

static void populate_stat (uint32_t *ints, struct stat* stat) {`,
  },
  {
    find: '  l->atime = timespec_to_uint64(&tv[0]);\n  l->mtime = timespec_to_uint64(&tv[1]);',
    replace: '  l->atime = dofs_utime_arg(&tv[0]);\n  l->mtime = dofs_utime_arg(&tv[1]);',
  },
  {
    // The bug: the modification time argument was built from l->atime.
    find: '  FUSE_UINT64_TO_INTS_ARGV(l->atime, 5)',
    replace: '  FUSE_UINT64_TO_INTS_ARGV(l->mtime, 5)',
  },
  {
    // libfuse 2.9 drops a change of only one of the two times unless the filesystem says it
    // understands UTIME_OMIT (touch -m, tar's extraction, which leaves atime alone).
    find: '  if (implemented[op_utimens]) ops.utimens = fuse_native_utimens;',
    replace: '  if (implemented[op_utimens]) ops.utimens = fuse_native_utimens;\n  ops.flag_utime_omit_ok = 1;',
  },
  {
    find: '  NAPI_EXPORT_UINT32(op_rmdir)\n}',
    replace:
      '  NAPI_EXPORT_UINT32(op_rmdir)\n  NAPI_EXPORT_UINT32(dofs_patch_v3)\n  NAPI_EXPORT_UINT32(dofs_patch_v4)\n}',
  },
  {
    // The caller, where JavaScript can read it: at offset 0 of the buffer every request carries.
    find: 'typedef struct {\n  napi_ref self;\n',
    replace:
      'typedef struct {\n  uint32_t dofs_uid;\n  uint32_t dofs_gid;\n  uint32_t dofs_pid;\n  uint32_t dofs_umask;\n  napi_ref self;\n',
  },
  {
    // Filled on the FUSE thread, where fuse_get_context() describes the request being served.
    find: '  l->op = op_##name;\\\n',
    replace:
      '  l->op = op_##name;\\\n  { struct fuse_context *dofs_ctx = fuse_get_context(); l->dofs_uid = dofs_ctx->uid; l->dofs_gid = dofs_ctx->gid; l->dofs_pid = dofs_ctx->pid; l->dofs_umask = dofs_ctx->umask; }\\\n',
  },
];

function warn(message) {
  process.stderr.write(`dofs: ${message}\n`);
  process.stderr.write(
    'dofs: the FUSE mount still works with the prebuilt fuse-native, but times set through it (touch -d, tar, cp -a) are approximate.\n',
  );
}

function main() {
  if (process.platform !== 'linux') return; // the mount is Linux-only; nothing to do elsewhere
  const require = createRequire(import.meta.url);
  let dir;
  try {
    dir = dirname(require.resolve('fuse-native/package.json'));
  } catch {
    return; // fuse-native not installed (an optional consumer): nothing to patch
  }
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  if (pkg.version !== '2.2.6') {
    warn(`fuse-native ${pkg.version} is not the version this patch was written for (2.2.6); left as it is.`);
    return;
  }
  const built = join(dir, 'build', 'Release', 'fuse.node');
  // The marker is checked in the binary's bytes: loading it would need libfuse.so.2 installed already.
  const isPatched = () => existsSync(built) && readFileSync(built).includes(MARKER);
  if (isPatched()) return; // already patched and built
  const sourcePath = join(dir, 'fuse-native.c');
  const pristinePath = `${sourcePath}.orig`;
  if (!existsSync(pristinePath)) writeFileSync(pristinePath, readFileSync(sourcePath));
  let source = readFileSync(sourcePath, 'utf8');
  if (!source.includes(MARKER)) {
    source = readFileSync(pristinePath, 'utf8'); // an older patch level is redone from the original
    for (const { find, replace } of REPLACEMENTS) {
      const count = source.split(find).length - 1;
      if (count !== 1) {
        warn(`fuse-native.c does not look like 2.2.6's (a patch site matched ${count} times); left as it is.`);
        return;
      }
      source = source.replace(find, replace);
    }
    writeFileSync(sourcePath, source);
  }
  const nodeGyp = findNodeGyp();
  if (!nodeGyp) {
    warn('node-gyp was not found (it comes with npm), so fuse-native was not rebuilt.');
    return;
  }
  const result = spawnSync(process.execPath, [nodeGyp, 'rebuild'], { cwd: dir, encoding: 'utf8', env: process.env });
  if (result.status !== 0) {
    rmSync(join(dir, 'build'), { recursive: true, force: true }); // fall back to the prebuilt binary
    const tail = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim().split('\n').slice(-5).join('\n');
    warn(`rebuilding fuse-native failed (needs a C compiler, make and python3):\n${tail}`);
    return;
  }
  if (!isPatched()) {
    rmSync(join(dir, 'build'), { recursive: true, force: true });
    warn('the rebuilt fuse-native lacks the patch marker; using the prebuilt binary.');
    return;
  }
  process.stdout.write('dofs: rebuilt fuse-native with the utimens fix\n');
}

try {
  main();
} catch (error) {
  warn(`patching fuse-native failed: ${error instanceof Error ? error.message : error}`);
}
