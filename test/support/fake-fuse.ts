/**
 * The mount's request handlers (adapters/fuse/lowlevel.ts) over a fake addon, with no kernel:
 * `send` serves one request and returns the reply the handlers gave it.
 */
import { type Fuse3Addon, type LowLevelRequest, OPS, type OpName } from '../../adapters/fuse/fuse3.ts';
import { createLowLevelFs, type LowLevelFs } from '../../adapters/fuse/lowlevel.ts';
import type { SQLiteWorkspaceProvider } from '../../adapters/vfs/index.ts';

/** A reply as the fake addon got it: an errno (0 for success without data), and for lookup, create and open the inode, handle and keep_cache. */
export interface FakeReply {
  errno: number;
  fh?: number;
  ino?: number;
  keep?: boolean;
}

/**
 * The handlers of `provider`'s workspace, what they answered (`replyTo` a request given to
 * `fs.serve` directly), and the cache invalidations they asked for.
 */
export function fakeMount(provider: SQLiteWorkspaceProvider): {
  fs: LowLevelFs;
  send: (op: OpName, fields: Partial<LowLevelRequest>) => FakeReply;
  replyTo: (req: number) => FakeReply | undefined;
  invalidated: string[];
} {
  const replies = new Map<number, FakeReply>();
  const invalidated: string[] = [];
  const answer = (req: number, reply: FakeReply) => {
    replies.set(req, reply);
    return 0;
  };
  const ok = (req: number) => answer(req, { errno: 0 });
  const addon = {
    replyErr: (req: number, errno: number) => answer(req, { errno }),
    replyEntry: (req: number, attr: Float64Array) => answer(req, { errno: 0, ino: attr[0] }),
    replyCreate: (req: number, attr: Float64Array, fh: number) => answer(req, { errno: 0, ino: attr[0], fh }),
    replyOpen: (req: number, fh: number, keep: boolean) => answer(req, { errno: 0, fh, keep }),
    replyAttr: ok,
    replyWrite: ok,
    replyBuf: ok,
    replyReadlink: ok,
    replyLseek: ok,
    replyStatfs: ok,
    replyDir: () => 0,
    invalInode: (_session: unknown, ino: number) => invalidated.push(`inode ${ino}`),
    invalEntry: (_session: unknown, parent: number, name: string) => invalidated.push(`entry ${parent} ${name}`),
  } as unknown as Fuse3Addon;
  const fs = createLowLevelFs({ provider, addon, cacheTimeout: 30, log: () => {} });
  let next = 0;
  const send = (op: OpName, fields: Partial<LowLevelRequest>): FakeReply => {
    const req = ++next;
    fs.serve([{ op: OPS.indexOf(op), req, ino: 1, uid: 0, gid: 0, pid: 1, umask: 0, ...fields }]);
    return replies.get(req) ?? { errno: -1 };
  };
  return { fs, send, replyTo: (req) => replies.get(req), invalidated };
}
