/**
 * The mount's read-only `/.snapshots/<name>/…` tree: each retained snapshot's workspace as it saw
 * it, read through the engine's {@link snapshotView}. The tree's nodes live in a range of the
 * kernel's node ids that live inodes never reach (from 2^52 up): `.snapshots` itself is 2^52, and
 * inode `i` of snapshot `s` is 2^52 + s·2^32 + i, so a node keeps its number for as long as its
 * snapshot exists, two snapshots' nodes never share one, and none collides with a live inode
 * (st_ino is the node id). Node ids are carried as doubles, exact up to 2^53: snapshot ids up to
 * 2^20 and inodes below 2^32 fit; beyond that a node answers EOVERFLOW.
 *
 * `.snapshots` is reachable by name from the root but not listed there (as ZFS's `.zfs` with
 * `snapdir=hidden`), so `ls -a`, `find` and `cp -r` of the root do not walk every snapshot. A
 * live entry of that name at the root is shadowed on the mount. Every change in the tree, into it,
 * out of it, or of `.snapshots` itself is refused: EEXIST for creating `.snapshots`, EROFS for the
 * rest. A snapshot deleted while it is browsed answers ENOENT.
 *
 * @module
 */
import {
  type Database,
  getNode,
  isFsError,
  listDir,
  listSnapshots,
  lookup,
  ROOT_INODE,
  readInto,
  S_IFDIR,
  snapshotView,
  statInode,
  TYPE_BITS,
} from '../../core/index.ts';
import { WorkspaceStats } from '../vfs/index.ts';
import { fail } from './failure.ts';

/** The name of the tree at the mount's root. */
export const SNAPSHOTS_DIR = '.snapshots';
/** The node id of `.snapshots`; every node of the tree is at or above it. */
export const SNAPSHOTS_NODE = 2 ** 52;
const PER_SNAPSHOT = 2 ** 32;
const MAX_SNAPSHOT_ID = 2 ** 20 - 1;
/** Snapshot views kept between requests. */
const KEPT_VIEWS = 4;

/** A directory entry as the mount lists it. */
export interface TreeEntry {
  name: string;
  inode: number;
  mode: number;
}

/** Operations that create a name (refused with EEXIST when the name is `.snapshots` at the root). */
const CREATORS: ReadonlySet<string> = new Set(['mknod', 'mkdir', 'symlink', 'link', 'create']);

/** The snapshot tree over the live workspace `db`. */
export interface SnapshotTree {
  /** True for a node of the tree (`.snapshots` or anything below it). */
  owns(node: number): boolean;
  /**
   * The node `name` names in directory `parent` when the tree answers for it: a node id, or null
   * when absent; undefined when the name is the live tree's.
   */
  lookup(parent: number, name: string): number | null | undefined;
  /** Attributes of a node of the tree (st_ino is the node id). */
  stat(node: number): WorkspaceStats;
  /** The target of a symlink of the tree. */
  readlink(node: number): string;
  /** Reads into `target` at `offset` of a file of the tree; returns the bytes read. */
  read(node: number, offset: number, target: Uint8Array): number;
  /** The listing of a directory of the tree, `.` and `..` first. */
  entries(node: number): TreeEntry[];
  /** Throws the error for a change the tree refuses (`op` with the request's parents and names). */
  guard(op: string, r: { ino: number; name?: string; newParent?: number; newName?: string }): void;
}

/** Builds the snapshot tree of the live workspace `db`. */
export function createSnapshotTree(db: Database): SnapshotTree {
  /**
   * Views of the snapshots browsed last, by id, made on first use (each holds its own blob cache,
   * so only a few are kept); dropped when the snapshot is found gone.
   */
  const views = new Map<number, Database>();

  const owns = (node: number): boolean => node >= SNAPSHOTS_NODE;
  const encode = (id: number, inode: number): number => {
    if (id > MAX_SNAPSHOT_ID || inode >= PER_SNAPSHOT) {
      fail('EOVERFLOW');
    }
    return SNAPSHOTS_NODE + id * PER_SNAPSHOT + inode;
  };
  const decode = (node: number): { id: number; inode: number } => {
    const offset = node - SNAPSHOTS_NODE;
    return { id: Math.floor(offset / PER_SNAPSHOT), inode: offset % PER_SNAPSHOT };
  };
  /** The view of snapshot `id`, or ENOENT when it is gone. */
  const viewOf = (id: number): Database => {
    let view = views.get(id);
    if (view) {
      // Most recently used last: the first is the one to let go.
      views.delete(id);
    } else {
      const info = listSnapshots(db).find((s) => s.id === id) ?? fail('ENOENT');
      view = snapshotView(db, info.name);
      if (views.size >= KEPT_VIEWS) views.delete(views.keys().next().value as number);
    }
    views.set(id, view);
    return view;
  };
  /** Runs `fn` on the view; a deleted snapshot's view finds nothing, which is ENOENT (not EIO). */
  const atNode = <T>(node: number, fn: (view: Database, inode: number) => T): T => {
    const { id, inode } = decode(node);
    const view = viewOf(id);
    try {
      return fn(view, inode);
    } catch (error) {
      if (isFsError(error) && error.code === 'EIO' && !getNode(view, inode)) {
        views.delete(id);
        fail('ENOENT');
      }
      throw error;
    }
  };
  const present = (view: Database, inode: number) => getNode(view, inode) ?? fail('ENOENT');

  const rootStats = (): WorkspaceStats => {
    const root = statInode(db, ROOT_INODE);
    const count = listSnapshots(db).length;
    return new WorkspaceStats({
      ...root,
      name: SNAPSHOTS_DIR,
      ino: SNAPSHOTS_NODE,
      mode: S_IFDIR | 0o555,
      nlink: 2 + count,
      size: 0,
      blocks: 0,
    });
  };

  return {
    owns,
    lookup(parent, name) {
      if (parent === ROOT_INODE) return name === SNAPSHOTS_DIR ? SNAPSHOTS_NODE : undefined;
      if (!owns(parent)) return undefined;
      if (parent === SNAPSHOTS_NODE) {
        const snapshots = listSnapshots(db);
        // The listing is where deleted snapshots are noticed: their views go.
        for (const id of views.keys()) if (!snapshots.some((s) => s.id === id)) views.delete(id);
        const info = snapshots.find((s) => s.name === name);
        return info ? encode(info.id, ROOT_INODE) : null;
      }
      const { id } = decode(parent);
      const node = atNode(parent, (view, inode) => {
        present(view, inode);
        return lookup(view, inode, name);
      });
      return node ? encode(id, node.inode) : null;
    },
    stat(node) {
      if (node === SNAPSHOTS_NODE) return rootStats();
      return atNode(node, (view, inode) => new WorkspaceStats({ ...statInode(view, inode), ino: node }));
    },
    readlink(node) {
      if (node === SNAPSHOTS_NODE) fail('EINVAL');
      const target = atNode(node, (view, inode) => present(view, inode).link_target);
      if (target === null) fail('EINVAL');
      return target as string;
    },
    read(node, offset, target) {
      if (node === SNAPSHOTS_NODE) fail('EISDIR');
      return atNode(node, (view, inode) => readInto(view, inode, offset, target));
    },
    entries(node) {
      if (node === SNAPSHOTS_NODE) {
        return [
          { name: '.', inode: SNAPSHOTS_NODE, mode: S_IFDIR },
          { name: '..', inode: ROOT_INODE, mode: S_IFDIR },
          ...listSnapshots(db)
            .filter((s) => s.id <= MAX_SNAPSHOT_ID)
            .map((s) => ({ name: s.name, inode: encode(s.id, ROOT_INODE), mode: S_IFDIR })),
        ];
      }
      const { id } = decode(node);
      return atNode(node, (view, inode) => {
        present(view, inode);
        const up =
          inode === ROOT_INODE
            ? SNAPSHOTS_NODE
            : encode(
                id,
                Number(
                  view.all<{ parent: number }>('SELECT parent FROM vfs_dirents WHERE child = ?', [inode])[0]?.parent ??
                    inode,
                ),
              );
        return [
          { name: '.', inode: node, mode: S_IFDIR },
          { name: '..', inode: up, mode: S_IFDIR },
          ...listDir(view, inode)
            .filter((entry) => entry.inode < PER_SNAPSHOT)
            .map((entry) => ({ name: entry.name, inode: encode(id, entry.inode), mode: TYPE_BITS[entry.type] })),
        ];
      });
    },
    guard(op, r) {
      const named = (parent: number | undefined, name: string | undefined) =>
        parent === ROOT_INODE && name === SNAPSHOTS_DIR;
      // link names its source as ino and its new name as newParent/newName.
      const target = op === 'link' ? named(r.newParent, r.newName) : named(r.ino, r.name);
      if (CREATORS.has(op) && target) fail('EEXIST');
      if (target || named(r.newParent, r.newName) || owns(r.ino) || (r.newParent !== undefined && owns(r.newParent))) {
        fail('EROFS');
      }
    },
  };
}
