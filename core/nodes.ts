/**
 * Inodes and directory entries: the rows behind every path.
 *
 * @module
 */
import type { SqlValue } from './backend.ts';
import type { Database } from './database.ts';
import { type FsError, fsError } from './errors.ts';
import type { Mutation } from './mutate.ts';
import { checkDepth, checkInodes } from './quotas.ts';
import { ROOT_INODE } from './schema.ts';

/**
 * The kind of an inode. Besides files, directories and symlinks, a workspace keeps special files
 * as plain nodes (no content): `fifo` (named pipe), `socket` (a bound Unix socket's name),
 * `chardev` and `blockdev` (device nodes, with their device number in `rdev`).
 */
export type NodeType = 'file' | 'dir' | 'symlink' | SpecialType;

/** The node types that hold no content and no entries: named pipes, sockets and device nodes. */
export type SpecialType = 'fifo' | 'socket' | 'chardev' | 'blockdev';

/** Every {@link SpecialType}, for checking a type that comes from outside (a sync entry). */
export const SPECIAL_TYPES: readonly SpecialType[] = ['fifo', 'socket', 'chardev', 'blockdev'];

/** True for a FIFO, socket or device node. */
export function isSpecial(type: NodeType): type is SpecialType {
  return type !== 'file' && type !== 'dir' && type !== 'symlink';
}

/**
 * The error for reading, writing or opening a special file's content: pipes and devices are
 * served by the system in front of the workspace (the FUSE mount's kernel), never by the engine.
 */
export function specialContent(syscall: string, path?: string): FsError {
  return fsError('ENXIO', syscall, path, undefined, 'a FIFO, socket or device has no content in a workspace');
}

/** Who owns a node: numeric user and group ids, as `stat(2)` reports them. */
export interface Owner {
  /** User id, 0 to 2^32 - 2. */
  uid: number;
  /** Group id, 0 to 2^32 - 2. */
  gid: number;
}

/** One row of `vfs_nodes`. Times are milliseconds since the epoch. */
export interface NodeRow {
  /** The inode number (the root is 1). */
  inode: number;
  /** What the node is. */
  type: NodeType;
  /** Permission bits only (`0o7777`); the type is in `type`. */
  mode: number;
  /** Bytes: a file's length (holes included), a symlink's target length, 0 for anything else. */
  size: number;
  /** How many directory entries name the node (a directory: 2 plus its subdirectories). */
  nlink: number;
  /** Last access. */
  atime: number;
  /** Last change of content. */
  mtime: number;
  /** Last change of content or metadata. */
  ctime: number;
  /** Creation. */
  birthtime: number;
  /** The revision of the last change (sync sends what changed after a cursor's revision). */
  rev: number;
  /** A symlink's target; null for anything else. */
  link_target: string | null;
  /** Owner's user id. */
  uid: number;
  /** Owner's group id. */
  gid: number;
  /** Device number of a `chardev` or `blockdev` (Linux encoding, as `makedev`); 0 otherwise. */
  rdev: number;
  /**
   * Read only by the one-statement stat walk and the counted reads (`getNodeCounted`,
   * `lookupCounted`), for a file: its chunk rows counted up to 4,097, and its highest chunk
   * index (null: none), so that stat needs no second statement. Absent from every other read.
   */
  chunk_count?: number | null;
  /** See {@link NodeRow.chunk_count}. */
  top_chunk?: number | null;
}

/** Files of up to this many chunks have their holes counted exactly by stat; larger ones only their trailing hole. */
export const EXACT_ALLOCATION_CHUNKS = 4096;

/** The columns of a {@link NodeRow}, as a select list over `vfs_nodes n`. */
export const NODE_COLUMNS =
  'n.inode, n.type, n.mode, n.size, n.nlink, n.atime, n.mtime, n.ctime, n.birthtime, n.rev, n.link_target, n.uid, n.gid, n.rdev';

/** Default permission bits of new nodes (0o666/0o777 under a 0o022 umask, as Node creates them). */
export const DEFAULT_MODE: Record<NodeType, number> = {
  file: 0o644,
  dir: 0o755,
  symlink: 0o777,
  fifo: 0o644,
  socket: 0o755,
  chardev: 0o644,
  blockdev: 0o644,
};

// The hottest statements are built once: a backend's statement cache is keyed by the SQL text,
// and a string built per call must be hashed again on every lookup.
const GET_NODE = `SELECT ${NODE_COLUMNS} FROM vfs_nodes n WHERE n.inode = ?`;
const LOOKUP = `SELECT ${NODE_COLUMNS} FROM vfs_dirents d JOIN vfs_nodes n ON n.inode = d.child WHERE d.parent = ? AND d.name = ?`;

/**
 * A file's allocation ({@link NodeRow.chunk_count} and `top_chunk`) as two more columns over
 * `vfs_nodes n`: two index seeks inside the statement that reads the row, where a second statement
 * would cost its own round through the backend. The top index by ORDER BY … LIMIT 1, not max(): at
 * a snapshot (vfs_chunks a compound CTE) SQLite scans every chunk row for max() beside the count,
 * and seeks the index for this.
 */
const ALLOCATION_COLUMNS = `CASE WHEN n.type = 'file' THEN (SELECT count(*) FROM (SELECT 1 FROM vfs_chunks c WHERE c.inode = n.inode LIMIT ${EXACT_ALLOCATION_CHUNKS + 1})) END AS chunk_count,
       CASE WHEN n.type = 'file' THEN (SELECT c.idx FROM vfs_chunks c WHERE c.inode = n.inode ORDER BY c.idx DESC LIMIT 1) END AS top_chunk`;
const GET_NODE_COUNTED = `SELECT ${NODE_COLUMNS}, ${ALLOCATION_COLUMNS} FROM vfs_nodes n WHERE n.inode = ?`;
const LOOKUP_COUNTED = `SELECT ${NODE_COLUMNS}, ${ALLOCATION_COLUMNS} FROM vfs_dirents d JOIN vfs_nodes n ON n.inode = d.child WHERE d.parent = ? AND d.name = ?`;

/** Most levels {@link UP_TO_ROOT} climbs: a bound, so a corrupt cycle of entries cannot loop forever. */
const MAX_UP = 4096;

/**
 * A recursive CTE `up(inode, path)` from the node whose inode is its one parameter up to the root:
 * `path` is the path below each ancestor, so the row whose inode is the root holds the node's
 * whole path (none when no entry leads there from the root: removed while open, in the attic, or
 * cut off). One statement where {@link pathsOf} in resolve.ts reads one level at a time; for a
 * directory, which has one entry, it is that path.
 */
export const UP_TO_ROOT = `WITH RECURSIVE up(inode, path, depth) AS (
  SELECT ?, '', 0
  UNION ALL
  SELECT d.parent, '/' || d.name || up.path, up.depth + 1 FROM up JOIN vfs_dirents d ON d.child = up.inode
  WHERE up.inode <> ${ROOT_INODE} AND up.depth < ${MAX_UP}
)`;

const DIRECTORY_WITH_PATH = `${UP_TO_ROOT}
SELECT ${NODE_COLUMNS}, (SELECT path FROM up WHERE inode = ${ROOT_INODE} LIMIT 1) AS dir_path FROM vfs_nodes n WHERE n.inode = ?`;

/** What {@link getWithPath} finds. */
export interface NodeWithPath {
  /** The node's row; undefined when the inode is gone. */
  node: NodeRow | undefined;
  /** Its path; undefined when no entry leads there from the root (removed while open, in the attic). */
  path: string | undefined;
}

/**
 * A directory's row and its path, in one statement (a bounded recursive walk up to the root); the
 * path is undefined when no entry leads there from the root, the row undefined when the inode is
 * gone. What the by-inode creators and removers need of the directory they work in.
 */
export function getWithPath(db: Database, inode: number): NodeWithPath {
  const row = db.all<NodeRow & { dir_path: string | null }>(DIRECTORY_WITH_PATH, [inode, inode])[0];
  if (!row) return { node: undefined, path: undefined };
  const { dir_path, ...node } = row;
  return { node, path: dir_path === null ? undefined : dir_path || '/' };
}

/** The inode row, or undefined. */
export function getNode(db: Database, inode: number): NodeRow | undefined {
  return db.all<NodeRow>(GET_NODE, [inode])[0];
}

/** The node named `name` inside directory `parent`, or undefined. */
export function lookup(db: Database, parent: number, name: string): NodeRow | undefined {
  return db.all<NodeRow>(LOOKUP, [parent, name])[0];
}

/**
 * {@link getNode} with, for a file, its allocation columns ({@link NodeRow.chunk_count}), so that a
 * stat of it needs no second statement (see `allocatedBytes`).
 */
export function getNodeCounted(db: Database, inode: number): NodeRow | undefined {
  return db.all<NodeRow>(GET_NODE_COUNTED, [inode])[0];
}

/** {@link lookup} with, for a file, its allocation columns (see {@link getNodeCounted}). */
export function lookupCounted(db: Database, parent: number, name: string): NodeRow | undefined {
  return db.all<NodeRow>(LOOKUP_COUNTED, [parent, name])[0];
}

/** Most names {@link lookupPath} walks in one statement (a bound parameter each). */
export const MAX_WALK_NAMES = 32;

/**
 * Walks `names` down from directory `parent` in one statement: the node of `names[0]` in
 * `parent`, then of `names[1]` in that, and so on, stopping at the first name that is missing
 * (or whose parent is not a directory, which has no entries). Returns the nodes found, in order:
 * fewer than `names` when the walk stopped. What path resolution uses instead of a
 * {@link lookup} per component.
 */
export function lookupPath(db: Database, parent: number, names: readonly string[]): NodeRow[] {
  if (names.length === 1) {
    const node = lookup(db, parent, names[0]);
    return node ? [node] : [];
  }
  // At a snapshot the tables are views SQLite cannot search by index inside a recursive query.
  if (db.snapshot) {
    const found: NodeRow[] = [];
    for (const name of names) {
      const node = lookup(db, found.at(-1)?.inode ?? parent, name);
      if (!node) break;
      found.push(node);
      if (node.type !== 'dir') break;
    }
    return found;
  }
  return db.all<NodeRow>(walkSql(names.length), [parent, ...names]);
}

const WALK_SQL: string[] = [];

/** The statement of {@link lookupPath} for `count` names, built once per count. */
function walkSql(count: number): string {
  // The name of each step is picked by a CASE on the depth: no table of names to scan.
  WALK_SQL[count] ??= `WITH RECURSIVE walk(depth, inode) AS (
       SELECT 0, ?
       UNION ALL
       SELECT walk.depth + 1, d.child FROM walk
       JOIN vfs_dirents d ON d.parent = walk.inode
         AND d.name = CASE walk.depth ${Array.from({ length: count }, (_, i) => `WHEN ${i} THEN ?`).join(' ')} END
       WHERE walk.depth < ${count}
     )
     SELECT ${NODE_COLUMNS} FROM walk JOIN vfs_nodes n ON n.inode = walk.inode WHERE walk.depth > 0 ORDER BY walk.depth`;
  return WALK_SQL[count];
}

/** The recursive walk of `count` names from the root, as {@link lookupPath}'s, for the one-statement reads below. */
const walkFromRoot = (count: number): string => `WITH RECURSIVE walk(depth, inode) AS (
       SELECT 0, ${ROOT_INODE}
       UNION ALL
       SELECT walk.depth + 1, d.child FROM walk
       JOIN vfs_dirents d ON d.parent = walk.inode
         AND d.name = CASE walk.depth ${Array.from({ length: count }, (_, i) => `WHEN ${i} THEN ?`).join(' ')} END
       WHERE walk.depth < ${count}
     )`;

const NODE_SQL: string[] = [];

/**
 * One statement for stat: walks `names` from the root as {@link lookupPath} does and returns the
 * last node with, for a file, its allocation columns ({@link NodeRow.chunk_count}: two index seeks;
 * the top index by ORDER BY … LIMIT 1, which SQLite seeks, not max()); undefined when the walk
 * stops short. Symlinks are not followed: the caller decides what a link at the end means.
 */
export function walkToNode(db: Database, names: readonly string[]): NodeRow | undefined {
  const count = names.length;
  NODE_SQL[count] ??= `${walkFromRoot(count)}
     SELECT ${NODE_COLUMNS}, ${ALLOCATION_COLUMNS}
     FROM walk JOIN vfs_nodes n ON n.inode = walk.inode WHERE walk.depth = ${count}`;
  return db.all<NodeRow>(NODE_SQL[count], [...names])[0];
}

const ENTRY_SQL: string[] = [];

/** The parent's columns of {@link walkToEntry}'s row, each named with a `p_` prefix. */
const PARENT_COLUMNS = NODE_COLUMNS.replace(/n\.(\w+)/g, 'p.$1 AS p_$1');

/**
 * The statement of {@link walkToEntry} for `count` names: a chain of left joins, one entry per
 * name, that always returns one row. No recursion: a recursive walk queues its steps in a
 * temporary table, which cost a third of the statement (7.5 against 5.3 µs for four names found).
 */
function entrySql(count: number): string {
  const steps: string[] = [];
  for (let i = 1; i <= count; i++) {
    const from = i === 1 ? String(ROOT_INODE) : `d${i - 1}.child`;
    steps.push(`LEFT JOIN vfs_dirents d${i} ON d${i}.parent = ${from} AND d${i}.name = ?`);
    // After the names above the last one: the deepest directory reached (the parent when all were found).
    if (i === count - 1) {
      const reached = Array.from({ length: count - 1 }, (_, j) => `d${count - 1 - j}.child`).join(', ');
      steps.push(`LEFT JOIN vfs_nodes p ON p.inode = ${count === 2 ? reached : `coalesce(${reached})`}`);
    }
  }
  const found = Array.from({ length: count - 1 }, (_, j) => `(d${j + 1}.child IS NOT NULL)`).join(' + ');
  return `SELECT ${found} AS found, ${PARENT_COLUMNS}, ${NODE_COLUMNS} FROM (SELECT 1)
     ${steps.join('\n     ')}
     LEFT JOIN vfs_nodes n ON n.inode = d${count}.child`;
}

/**
 * One statement for the common lookup: walks `names` (at least two) from the root as
 * {@link lookupPath} does, but turns into objects only the rows path resolution keeps when nothing
 * on the way is a link or a file: the parent directory (the node of `names[names.length - 2]`) and
 * the node at the end, if any. `'missing'` when a name before the last is missing (the walk stopped
 * at a directory); undefined when something else stopped it (a symlink or a file on the way, or at
 * the parent): the caller resolves the path in full. Turning 14 columns of every directory on the
 * way into objects cost more than the walk itself.
 */
export function walkToEntry(
  db: Database,
  names: readonly string[],
): { parent: NodeRow; node: NodeRow | undefined } | 'missing' | undefined {
  const count = names.length;
  ENTRY_SQL[count] ??= entrySql(count);
  const row = db.all<NodeRow & Record<string, SqlValue>>(ENTRY_SQL[count], names as string[])[0];
  // `p` is the deepest node reached among the names before the last (none: the root's own entry
  // was missing). Short of the parent, the walk stopped there: at a directory a name is missing,
  // at anything else the full resolution decides (a link to follow, ENOTDIR).
  const reached = Number(row.found);
  if (reached < count - 1) return row.p_type === null || row.p_type === 'dir' ? 'missing' : undefined;
  if (row.p_type !== 'dir') return undefined;
  return { parent: columnsOf(row, PARENT_KEYS), node: row.inode === null ? undefined : columnsOf(row, NODE_KEYS) };
}

/** The names of {@link NODE_COLUMNS}, and the same with the `p_` prefix of {@link PARENT_COLUMNS}. */
const NODE_KEYS = NODE_COLUMNS.split(', ').map((column) => column.slice(2));
const PARENT_KEYS = NODE_KEYS.map((key) => `p_${key}`);

/** The {@link NodeRow} held in `row` under `keys` (in {@link NODE_KEYS}' order). */
function columnsOf(row: Record<string, SqlValue>, keys: readonly string[]): NodeRow {
  const node = {} as Record<string, SqlValue>;
  for (let i = 0; i < keys.length; i++) node[NODE_KEYS[i]] = row[keys[i]];
  return node as unknown as NodeRow;
}

const SMALL_FILE_SQL: string[] = [];

/**
 * One statement for a whole small file: walks `names` from the root as {@link lookupPath} does and
 * returns the last node's type and size with its first chunk's bytes, or undefined when the walk
 * stops short (a missing name, a symlink or a file on the way). Used only where nothing else about
 * the path needs deciding (no permission checks, no snapshot): the caller falls back to the full
 * resolution for everything but a plain file found at the end.
 */
export function walkToSmallFile(
  db: Database,
  names: readonly string[],
): { type: NodeType; size: number; hash: string | null; bytes: Uint8Array | null } | undefined {
  const count = names.length;
  SMALL_FILE_SQL[count] ??= `${walkFromRoot(count)}
     SELECT n.type AS type, n.size AS size, c.hash AS hash, b.bytes AS bytes
     FROM walk JOIN vfs_nodes n ON n.inode = walk.inode
     LEFT JOIN vfs_chunks c ON c.inode = n.inode AND c.idx = 0
     LEFT JOIN vfs_blobs k ON k.hash = c.hash LEFT JOIN vfs_blob_bytes b ON b.rowid = k.id
     WHERE walk.depth = ${count}`;
  return db.all<{ type: NodeType; size: number; hash: string | null; bytes: Uint8Array | null }>(
    SMALL_FILE_SQL[count],
    [...names],
  )[0];
}

/** A node's owner and modification time as another side has them (sync), given to {@link createNode}. */
export interface ExactAttributes {
  /** The modification time, in milliseconds. */
  mtime: number;
  /** The owner. */
  uid: number;
  /** The group. */
  gid: number;
}

/**
 * Creates an inode and links it as `name` in `parent`; bumps the parent's times (and nlink for a
 * dir). A file may be created with the size its content is about to have ({@link writeNewContent}).
 * The node belongs to the database's current owner ({@link Database.owner}); inside a directory
 * with the set-group-ID bit, it takes the directory's group instead, and a new directory keeps
 * the bit, as on Linux. `parent` is the directory's inode, or its row as read in this mutation
 * (then its mode and group are taken from the row: one statement fewer). With `exact` (a node as
 * a sync peer has it), the node gets exactly `mode`, that owner, group and mtime, and the parent
 * decides nothing.
 */
export function createNode(
  db: Database,
  m: Mutation,
  parent: number | NodeRow,
  name: string,
  type: NodeType,
  mode: number,
  linkTarget: string | null = null,
  fileSize = 0,
  rdev = 0,
  exact?: ExactAttributes,
): NodeRow {
  const parentInode = typeof parent === 'number' ? parent : Number(parent.inode);
  checkDepth(db, parentInode, 1, name);
  const t = m.now;
  const nlink = type === 'dir' ? 2 : 1;
  const size = type === 'symlink' ? new TextEncoder().encode(linkTarget ?? '').length : type === 'file' ? fileSize : 0;
  const { uid, gid } = exact ?? db.owner;
  const mtime = exact?.mtime ?? t;
  const values = [type, mode, size, nlink, t, mtime, t, t, m.rev, linkTarget, uid, gid, rdev];
  if (!exact) {
    // The parent's mode and group decide the new node's group and a directory's set-group-ID bit.
    // Read first rather than inserted from a SELECT of the same table, which costs SQLite a
    // temporary copy.
    const from =
      typeof parent === 'number'
        ? db.all<{ mode: number; gid: number }>('SELECT mode, gid FROM vfs_nodes WHERE inode = ?', [parent])[0]
        : parent;
    const setgid = Number(from.mode) & SETGID;
    values[1] = type === 'dir' ? mode | setgid : mode;
    values[11] = setgid ? Number(from.gid) : gid;
  }
  db.run(CREATE_NODE, values);
  const row = { inode: db.lastChange().rowid, mode: values[1] as number, gid: values[11] as number };
  checkInodes(db, name);
  db.run('INSERT INTO vfs_dirents (parent, name, child) VALUES (?, ?, ?)', [parentInode, name, row.inode]);
  touchDir(db, m, parentInode, type === 'dir' ? 1 : 0);
  return {
    inode: Number(row.inode),
    type,
    mode: Number(row.mode),
    size,
    nlink,
    atime: t,
    mtime,
    ctime: t,
    birthtime: t,
    rev: m.rev,
    link_target: linkTarget,
    uid,
    gid: Number(row.gid),
    rdev,
  };
}

const SETGID = 0o2000;
const CREATE_NODE = `INSERT INTO vfs_nodes (type, mode, size, nlink, atime, mtime, ctime, birthtime, rev, link_target, uid, gid, rdev)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

/**
 * Marks a directory's listing as changed: new mtime and ctime, and `subdirs` added to its nlink.
 * It takes the mutation's revision, so its new mtime travels to sync peers too.
 */
export function touchDir(db: Database, m: Mutation, dir: number, subdirs = 0): void {
  db.run('UPDATE vfs_nodes SET mtime = ?, ctime = ?, nlink = nlink + ?, rev = ? WHERE inode = ?', [
    m.now,
    m.now,
    subdirs,
    m.rev,
    dir,
  ]);
}

/**
 * Removes the entry `name` from `parent` and drops one link from its node; a node left with no
 * links loses its chunks too. Directories must already be empty.
 */
export function unlinkEntry(db: Database, m: Mutation, parent: number, name: string, node: NodeRow): void {
  db.run('DELETE FROM vfs_dirents WHERE parent = ? AND name = ?', [parent, name]);
  touchDir(db, m, parent, node.type === 'dir' ? -1 : 0);
  dropLink(db, m, node);
}

/** Drops one link from a node whose entry is already gone, deleting it when none remain. */
export function dropLink(db: Database, m: Mutation, node: NodeRow): void {
  if (node.type !== 'dir' && node.nlink > 1) {
    db.run('UPDATE vfs_nodes SET nlink = nlink - 1, ctime = ?, rev = ? WHERE inode = ?', [m.now, m.rev, node.inode]);
    return;
  }
  db.run('DELETE FROM vfs_chunks WHERE inode = ?', [node.inode]);
  db.run('DELETE FROM vfs_nodes WHERE inode = ?', [node.inode]);
}

/** Every entry of a directory in byte order of names, paged (`after`: names past it only, from the index). */
export function listDir(
  db: Database,
  dir: number,
  limit = -1,
  offset = 0,
  after = '',
): Array<{
  /** The entry's name. */
  name: string;
  /** The inode it names. */
  inode: number;
  /** What that inode is. */
  type: NodeType;
}> {
  return db.all(
    `SELECT d.name AS name, n.inode AS inode, n.type AS type FROM vfs_dirents d JOIN vfs_nodes n ON n.inode = d.child
     WHERE d.parent = ? AND d.name > ? ORDER BY d.name LIMIT ? OFFSET ?`,
    [dir, after, limit, offset],
  ) as Array<{ name: string; inode: number; type: NodeType }>;
}

/** True when a directory has at least one entry. */
export function hasEntries(db: Database, dir: number): boolean {
  return db.all('SELECT 1 FROM vfs_dirents WHERE parent = ? LIMIT 1', [dir]).length > 0;
}

/** Validates permission bits: an integer from 0 to 0o7777. */
export function checkMode(mode: unknown, syscall: string, path: string): number {
  if (typeof mode !== 'number' || !Number.isInteger(mode) || mode < 0 || mode > 0o7777) {
    throw fsError('EINVAL', syscall, path, undefined, `mode must be an integer from 0 to 0o7777, got ${String(mode)}`);
  }
  return mode;
}
