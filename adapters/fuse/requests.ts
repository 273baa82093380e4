/**
 * Turning a batch as the addon hands it over into request objects. The addon writes each
 * request's numbers into one Float64Array and its strings, bytes and lists into one array
 * (adapters/fuse/native/dofs-fuse3.c, `encode`), because setting an object's properties one by one
 * through Node-API costs a string-table lookup each; here every request becomes an object of one
 * shape, with the fields its operation carries and the others undefined.
 *
 * @module
 */
import { type LowLevelRequest, OPS } from './fuse3.ts';

/** Numbers per request in a batch's Float64Array (the addon's `REQUEST_FIELDS`). */
export const REQUEST_FIELDS = 20;
/** Values per request in a batch's other array: name, second name, bytes or forget pairs (`REQUEST_REFS`). */
export const REQUEST_REFS = 3;

/** The requests of a batch: `numbers` holds {@link REQUEST_FIELDS} per request, `refs` {@link REQUEST_REFS}. */
export function decodeBatch(numbers: Float64Array, refs: readonly unknown[]): LowLevelRequest[] {
  const count = numbers.length / REQUEST_FIELDS;
  const batch = new Array<LowLevelRequest>(count);
  for (let i = 0; i < count; i++) batch[i] = decode(numbers, i * REQUEST_FIELDS, refs, i * REQUEST_REFS);
  return batch;
}

function decode(n: Float64Array, at: number, refs: readonly unknown[], ref: number): LowLevelRequest {
  const r: LowLevelRequest = {
    op: n[at],
    req: n[at + 1],
    ino: n[at + 2],
    uid: n[at + 3],
    gid: n[at + 4],
    pid: n[at + 5],
    umask: n[at + 6],
    name: undefined,
    newName: undefined,
    target: undefined,
    newParent: undefined,
    nlookup: undefined,
    forgets: undefined,
    fh: undefined,
    flags: undefined,
    mode: undefined,
    rdev: undefined,
    size: undefined,
    offset: undefined,
    data: undefined,
    toSet: undefined,
    setUid: undefined,
    setGid: undefined,
    atime: undefined,
    mtime: undefined,
    datasync: undefined,
    whence: undefined,
  };
  const ino2 = n[at + 7];
  const fh = n[at + 8];
  const off = n[at + 9];
  const size = n[at + 10];
  const mode = n[at + 11];
  const flags = n[at + 12];
  const name = refs[ref] as string | undefined;
  const name2 = refs[ref + 1] as string | undefined;
  switch (OPS[r.op]) {
    case 'lookup':
    case 'unlink':
    case 'rmdir':
      r.name = name;
      break;
    case 'forget':
      r.nlookup = size;
      break;
    case 'forgetMulti':
      r.forgets = refs[ref + 2] as number[];
      break;
    case 'getattr':
    case 'flush':
    case 'releasedir':
      r.fh = fh;
      break;
    case 'setattr':
      r.toSet = n[at + 14];
      r.mode = mode;
      r.setUid = n[at + 16];
      r.setGid = n[at + 17];
      r.size = off;
      r.atime = n[at + 18];
      r.mtime = n[at + 19];
      r.fh = fh;
      break;
    case 'mknod':
      r.name = name;
      r.mode = mode;
      r.rdev = n[at + 13];
      break;
    case 'mkdir':
      r.name = name;
      r.mode = mode;
      break;
    case 'symlink':
      r.name = name;
      r.target = name2;
      break;
    case 'rename':
      r.name = name;
      r.newParent = ino2;
      r.newName = name2;
      r.flags = flags;
      break;
    case 'link':
      r.newParent = ino2;
      r.newName = name;
      break;
    case 'open':
    case 'opendir':
      r.flags = flags;
      break;
    case 'read':
    case 'readdir':
    case 'readdirplus':
      r.size = size;
      r.offset = off;
      r.fh = fh;
      break;
    case 'write':
      r.data = refs[ref + 2] as Buffer;
      r.offset = off;
      r.fh = fh;
      break;
    case 'release':
      r.fh = fh;
      r.flags = flags;
      break;
    case 'fsync':
    case 'fsyncdir':
      r.fh = fh;
      r.datasync = n[at + 15];
      break;
    case 'create':
      r.name = name;
      r.mode = mode;
      r.flags = flags;
      break;
    case 'fallocate':
      r.fh = fh;
      r.mode = mode;
      r.offset = off;
      r.size = size;
      break;
    case 'lseek':
      r.fh = fh;
      r.offset = off;
      r.whence = flags;
      break;
  }
  return r;
}
