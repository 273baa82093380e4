/**
 * The two ways the daemon serves the kernel, behind one shape: fuse-native (libfuse 2's
 * path-based high-level API) and fuse3 (libfuse 3's low-level inode-based API through dofs's
 * addon). The daemon picks one with its `transport` option.
 *
 * @module
 */
import type { SQLiteWorkspaceProvider } from '../vfs/index.ts';
import type { FuseInstance, LoadedFuse } from './fuse-native.ts';
import { loadFuse3 } from './fuse3.ts';
import { type Fuse3Mount, mountFuse3 } from './fuse3-mount.ts';
import { createFuseOperations } from './ops.ts';
import { lowLevelMountOptions, mountOptions } from './options.ts';
import { checkFuse, checkFuseDevice } from './preflight.ts';

/** What a transport needs to serve a workspace. */
export interface TransportContext {
  provider: SQLiteWorkspaceProvider;
  mountpoint: string;
  dbFile: string;
  readOnly?: boolean;
  allowOther: boolean;
  debug?: boolean;
  cacheTimeout: number;
  /** fuse3: the kernel's writeback cache. */
  writeback: boolean;
  log: (line: string) => void;
}

/** A transport ready to mount. */
export interface Served {
  /** The mount options given to libfuse. */
  readonly options: readonly string[];
  /** The transport's figures for /stats. */
  stats(): Record<string, unknown>;
  /** Commits every open write buffer. */
  commitAll(): void;
  /** Lets go of every open file (after the unmount). */
  releaseAll(): void;
  /** Mounts; rejects with libfuse's reason. */
  mount(): Promise<void>;
  /** After the unmount: waits (at most `timeoutMs`) until the transport stopped serving. */
  finished(timeoutMs: number): Promise<void>;
}

/** A transport whose native parts loaded: checked early, before the workspace is opened. */
export type LoadedTransport = { kind: 'fuse-native'; fuse: LoadedFuse } | { kind: 'fuse3' };

/** Checks the device and loads the transport's native binding; throws FuseUnavailableError saying what to install. */
export function loadTransport(kind: 'fuse-native' | 'fuse3'): LoadedTransport {
  if (kind === 'fuse3') {
    checkFuseDevice();
    loadFuse3();
    return { kind };
  }
  return { kind, fuse: checkFuse() };
}

/** Builds the served filesystem for `loaded` (nothing is mounted until {@link Served.mount}). */
export function prepareTransport(loaded: LoadedTransport, ctx: TransportContext): Served {
  const input = {
    readOnly: ctx.readOnly,
    allowOther: ctx.allowOther,
    debug: ctx.debug,
    fsname: ctx.dbFile,
    cacheTimeout: ctx.cacheTimeout,
  };
  if (loaded.kind === 'fuse3') {
    const options = lowLevelMountOptions(input);
    let mounted: Fuse3Mount | undefined;
    return {
      options,
      stats: () => ({
        transport: 'fuse3',
        options,
        writebackCache: ctx.writeback,
        ...(mounted ? summary(mounted.state) : {}),
        batches: mounted?.state.batches,
        knownInodes: mounted?.state.knownInodes,
      }),
      commitAll: () => mounted?.commitAll(),
      releaseAll: () => mounted?.releaseAll(),
      mount: async () => {
        mounted = mountFuse3({
          provider: ctx.provider,
          mountpoint: ctx.mountpoint,
          options,
          debug: ctx.debug,
          dbFile: ctx.dbFile,
          readOnly: ctx.readOnly,
          cacheTimeout: ctx.cacheTimeout,
          writeback: ctx.writeback,
          log: ctx.log,
        });
      },
      finished: async (timeoutMs) => {
        if (!mounted) return;
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          mounted.ended,
          new Promise<void>((done) => {
            timer = setTimeout(done, timeoutMs);
          }),
        ]);
        clearTimeout(timer);
      },
    };
  }
  const { fuse } = loaded;
  const ops = createFuseOperations({
    provider: ctx.provider,
    errno: fuse.errno,
    dbFile: ctx.dbFile,
    readOnly: ctx.readOnly,
    utimensFixed: fuse.utimensFixed,
    caller: fuse.callerKnown ? fuse.caller : undefined,
    log: ctx.log,
  });
  if (!fuse.callerKnown) {
    ctx.log(
      "dofs: warning: fuse-native does not tell who calls (run `npm rebuild dofs` or `npm run postinstall`); new files belong to the daemon's user",
    );
  }
  if (!fuse.utimensFixed) {
    ctx.log(
      'dofs: warning: fuse-native is the unpatched prebuilt (run `npm rebuild dofs` or `npm run postinstall`); times set with touch -d, tar or cp -a are approximate',
    );
  }
  const options = mountOptions(input);
  return {
    options,
    stats: () => ({
      transport: 'fuse-native',
      options,
      fuseNative: fuse.version,
      utimensFixed: fuse.utimensFixed,
      callerKnown: fuse.callerKnown,
      ...summary(ops.state),
    }),
    commitAll: () => ops.commitAll(),
    releaseAll: () => ops.releaseAll(),
    mount: () =>
      new Promise<void>((done, fail) => {
        const instance: FuseInstance = fuse.create(ctx.mountpoint, ops.ops, options);
        instance.mount((error) => (error ? fail(error) : done()));
      }),
    finished: async () => {},
  };
}

function summary(state: {
  openHandles: number;
  writableHandles: number;
  calls: Record<string, number>;
  millis: Record<string, number>;
  errors: Record<string, number>;
}): Record<string, unknown> {
  return {
    openHandles: state.openHandles,
    writableHandles: state.writableHandles,
    calls: state.calls,
    millis: Object.fromEntries(Object.entries(state.millis).map(([k, v]) => [k, Math.round(v)])),
    errors: state.errors,
  };
}
