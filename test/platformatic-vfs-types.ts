/**
 * adapters/vfs/platformatic.ts declares @platformatic/vfs's types itself (its index.d.ts fails
 * `skipLibCheck: false`; the file says why). Checked by `tsc --noEmit` (`npm run typecheck`):
 * each upstream type must fit ours — nothing declared that upstream lacks or types differently —
 * and have no member ours leaves out, so an upgrade that changes the API fails here.
 *
 * @module
 */
import type * as upstream from '@platformatic/vfs';
import type * as ours from '../adapters/vfs/platformatic.ts';

/** True when `Upstream` is assignable to `Ours` (else a compile error) and has no key `Ours` lacks. */
type Mirrors<Upstream extends Ours, Ours> = [Exclude<keyof Upstream, keyof Ours>] extends [never] ? true : false;
type Expect<T extends true> = T;

export type PlatformaticVfsMirrored = [
  Expect<Mirrors<upstream.VirtualFileSystem, ours.VirtualFileSystem>>,
  Expect<Mirrors<upstream.VirtualProvider, ours.VirtualProvider>>,
  Expect<Mirrors<upstream.VFSPromisesAPI, ours.VFSPromisesAPI>>,
  Expect<Mirrors<upstream.VFSStatWatcher, ours.VFSStatWatcher>>,
  Expect<Mirrors<upstream.VFSWatcher, ours.VFSWatcher>>,
  Expect<Mirrors<upstream.VFSWatchAsyncIterable, ours.VFSWatchAsyncIterable>>,
  Expect<Mirrors<upstream.VirtualReadStream, ours.VirtualReadStream>>,
  Expect<Mirrors<upstream.VirtualStats, ours.VirtualStats>>,
  Expect<Mirrors<upstream.VirtualDirent, ours.VirtualDirent>>,
  Expect<Mirrors<upstream.VFSOptions, ours.VFSOptions>>,
  Expect<Mirrors<upstream.WatchOptions, ours.VfsWatchOptions>>,
  Expect<Mirrors<upstream.WatchFileOptions, ours.VfsWatchFileOptions>>,
  Expect<Mirrors<upstream.ReadStreamOptions, ours.VfsReadStreamOptions>>,
  Expect<Mirrors<typeof upstream.create, ours.CreateVfs>>,
];
