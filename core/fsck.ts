/**
 * fsck: checks every invariant of a workspace and reports what it found. It changes nothing.
 *
 * @module
 */
import { atticInode } from './attic.ts';
import { hashBytes } from './blobs.ts';
import { checkOffset } from './data.ts';
import type { Database } from './database.ts';
import { fsError } from './errors.ts';
import { historyOf, VERSIONED } from './history.ts';
import { pathsOf } from './resolve.ts';
import { ROOT_INODE, readMeta, SCHEMA_VERSION } from './schema.ts';

/** The invariant a problem breaks. */
export type FsckCheck = 'meta' | 'size' | 'chunks' | 'blobs' | 'tree' | 'nlink' | 'rev';

/** One broken invariant. */
export interface FsckProblem {
  /** Which invariant. */
  check: FsckCheck;
  /** What is wrong, in words. */
  message: string;
  /** The inode concerned, if one. */
  inode?: number;
  /** A path of that inode, when it still has one. */
  path?: string;
  /** The blob concerned, if one. */
  hash?: string;
}

/** What {@link fsck} found. */
export interface FsckReport {
  /** True when no invariant is broken. */
  ok: boolean;
  /** Every problem found (at most `maxProblems`). */
  problems: FsckProblem[];
  /** How much was examined. */
  checked: {
    /** Inode rows. */
    nodes: number;
    /** Chunk rows. */
    chunks: number;
    /** Blobs in the catalogue (those after `blobsAfter`, up to where `maxBytesHashed` stopped). */
    blobs: number;
    /** Bytes read and hashed to verify content (0 unless content was verified). */
    bytesHashed: number;
    /**
     * Files with no name (nlink 0): removed while open, in this process or another (a mount), or
     * left so by a process that ended with them open. No problem: their chunks are checked as any
     * file's, and an adapter opening the workspace deletes those no handle of its process holds
     * (`reclaimOrphans`; the mount, only when no other process has the database open).
     */
    nameless: number;
    /**
     * Present when `maxBytesHashed` stopped the blob pass: the last blob examined. Pass it as
     * `blobsAfter` to continue (the next call may find nothing left); absent when the pass ran out of blobs.
     */
    nextBlob?: string;
  };
}

/** Options for {@link fsck}. */
export interface FsckOptions {
  /** Re-hash every blob's bytes to check it against its name. Default true. */
  verifyContent?: boolean;
  /** Stop collecting after this many problems. Default 1000. */
  maxProblems?: number;
  /**
   * Examine only the blobs whose names sort after this one (a `checked.nextBlob`), to verify a
   * large workspace's content over several calls. Every other check runs in full each time; a blob
   * written between calls with a name before the cursor waits for the next pass.
   */
  blobsAfter?: string;
  /**
   * Stop the blob pass once this many bytes have been hashed (at a blob boundary, so one blob may
   * go past it); `checked.nextBlob` then says where to continue. Default: no limit.
   */
  maxBytesHashed?: number;
}

type Rows = Array<Record<string, number | string | null>>;

/**
 * Checks: every chunk lies inside its file and is exactly as long as the file is over its span
 * (missing chunks are holes, read as zeros); every chunk's blob exists, has its size and (unless `verifyContent` is false) hashes to its
 * name; the tree is a tree (one entry per directory, every node but a file removed while open
 * reachable from the root, no entry to a missing node or from a non-directory); nlink matches the
 * entries; the revision counter exceeds every stamped revision. Files removed while open are
 * counted (`checked.nameless`), whichever process holds them.
 */
export function fsck(db: Database, options: FsckOptions | null = {}): FsckReport {
  options ??= {};
  const maxProblems = options.maxProblems ?? 1000;
  const maxBytesHashed =
    options.maxBytesHashed === undefined
      ? Number.POSITIVE_INFINITY
      : checkOffset(options.maxBytesHashed, 'maxBytesHashed', 'fsck', '/');
  if (options.blobsAfter !== undefined && typeof options.blobsAfter !== 'string') {
    throw fsError(
      'EINVAL',
      'fsck',
      '/',
      undefined,
      `blobsAfter must be a string (a blob name), got ${typeof options.blobsAfter}`,
    );
  }
  const problems: FsckProblem[] = [];
  const report = (problem: FsckProblem): void => {
    if (problems.length >= maxProblems) return;
    if (problem.inode !== undefined && problem.path === undefined && problem.check !== 'tree') {
      const paths = pathsOf(db, problem.inode);
      if (paths.length > 0) problem.path = paths[0];
    }
    problems.push(problem);
  };
  const each = (sql: string, params: (number | string)[], make: (row: Rows[number]) => FsckProblem): void => {
    for (const row of db.all(sql, params) as Rows) report(make(row));
  };
  const num = (value: unknown): number => Number(value);
  // The attic (trees removed while a snapshot saw them) is the one other directory no entry names.
  const attic = atticInode(db);

  // meta
  const version = num(readMeta(db, 'schema_version'));
  const chunkSize = num(readMeta(db, 'chunk_size'));
  const counter = num(readMeta(db, 'rev'));
  if (version !== SCHEMA_VERSION)
    report({ check: 'meta', message: `schema_version is ${version}, expected ${SCHEMA_VERSION}` });
  if (!(chunkSize > 0)) report({ check: 'meta', message: `chunk_size is missing or invalid (${chunkSize})` });
  if (!(counter > 0)) report({ check: 'meta', message: `the revision counter is missing or invalid (${counter})` });

  // size and chunk maps: a chunk lies inside the file and is exactly as long as the file is over
  // its span; a missing chunk is a hole.
  each(
    `SELECT c.inode AS inode, c.idx AS idx, n.size AS size FROM vfs_chunks c JOIN vfs_nodes n ON n.inode = c.inode
     WHERE n.type = 'file' AND (c.idx < 0 OR c.idx * ? >= n.size)`,
    [chunkSize],
    (row) => ({
      check: 'size',
      inode: num(row.inode),
      message: `size ${row.size} but chunk ${row.idx} lies past the end`,
    }),
  );
  each(
    `SELECT c.inode AS inode, c.idx AS idx, c.size AS size, n.size AS fileSize, MIN(?, n.size - c.idx * ?) AS expected
     FROM vfs_chunks c JOIN vfs_nodes n ON n.inode = c.inode
     WHERE n.type = 'file' AND c.idx >= 0 AND c.idx * ? < n.size AND c.size != MIN(?, n.size - c.idx * ?)`,
    [chunkSize, chunkSize, chunkSize, chunkSize, chunkSize],
    (row) => ({
      // The chunk holding the end disagrees with the size; any other is a malformed chunk.
      check: num(row.expected) < chunkSize ? 'size' : 'chunks',
      inode: num(row.inode),
      message: `size ${row.fileSize} but chunk ${row.idx} holds ${row.size} bytes (expected ${row.expected})`,
    }),
  );
  each(
    `SELECT DISTINCT c.inode AS inode FROM vfs_chunks c LEFT JOIN vfs_nodes n ON n.inode = c.inode
     WHERE n.inode IS NULL OR n.type != 'file'`,
    [],
    (row) => ({ check: 'chunks', inode: num(row.inode), message: 'chunks belong to a missing inode or a non-file' }),
  );

  // blobs
  each(
    `SELECT c.inode AS inode, c.idx AS idx, c.hash AS hash FROM vfs_chunks c
     WHERE NOT EXISTS (SELECT 1 FROM vfs_blobs b JOIN vfs_blob_bytes y ON y.rowid = b.id WHERE b.hash = c.hash)`,
    [],
    (row) => ({
      check: 'blobs',
      inode: num(row.inode),
      hash: String(row.hash),
      message: `chunk ${row.idx} names a missing blob`,
    }),
  );
  // What snapshots still see must be readable: their chunks pin blobs as files' do.
  each(
    `SELECT DISTINCT h.inode AS inode, h.idx AS idx, h.hash AS hash FROM ${historyOf(VERSIONED.chunks)} h
     WHERE h.live AND NOT EXISTS (SELECT 1 FROM vfs_blobs b JOIN vfs_blob_bytes y ON y.rowid = b.id WHERE b.hash = h.hash)`,
    [],
    (row) => ({
      check: 'blobs',
      inode: num(row.inode),
      hash: String(row.hash),
      message: `chunk ${row.idx} of a snapshot names a missing blob`,
    }),
  );
  each(
    `SELECT c.inode AS inode, c.idx AS idx, c.hash AS hash, c.size AS size, b.size AS blob FROM vfs_chunks c
     JOIN vfs_blobs b ON b.hash = c.hash WHERE b.size != c.size`,
    [],
    (row) => ({
      check: 'blobs',
      inode: num(row.inode),
      hash: String(row.hash),
      message: `chunk ${row.idx} says ${row.size} bytes, its blob ${row.blob}`,
    }),
  );
  each(
    'SELECT b.hash AS hash FROM vfs_blobs b WHERE NOT EXISTS (SELECT 1 FROM vfs_blob_bytes y WHERE y.rowid = b.id)',
    [],
    (row) => ({ check: 'blobs', hash: String(row.hash), message: 'the catalogue has the blob, its bytes are missing' }),
  );
  // Sets, not a search per row: the catalogue has no index by id.
  each('SELECT rowid AS id FROM vfs_blob_bytes EXCEPT SELECT id FROM vfs_blobs', [], (row) => ({
    check: 'blobs',
    message: `bytes ${row.id} belong to no blob in the catalogue`,
  }));
  each('SELECT id, min(hash) AS hash, count(*) AS n FROM vfs_blobs GROUP BY id HAVING count(*) > 1', [], (row) => ({
    check: 'blobs',
    hash: String(row.hash),
    message: `${row.n} blobs share the bytes ${row.id}`,
  }));
  let bytesHashed = 0;
  let blobCount = 0;
  let after = options.blobsAfter ?? '';
  let nextBlob: string | undefined;
  while (nextBlob === undefined) {
    const page = db.all<{ hash: string; size: number; bytes: Uint8Array | null }>(
      `SELECT b.hash AS hash, b.size AS size, ${options.verifyContent === false ? 'NULL' : 'y.bytes'} AS bytes
       FROM vfs_blobs b LEFT JOIN vfs_blob_bytes y ON y.rowid = b.id WHERE b.hash > ? ORDER BY b.hash LIMIT 16`,
      [after],
    );
    if (page.length === 0) break;
    for (const row of page) {
      blobCount++;
      if (!row.bytes) continue;
      bytesHashed += row.bytes.byteLength;
      if (row.bytes.byteLength !== num(row.size)) {
        report({
          check: 'blobs',
          hash: row.hash,
          message: `catalogue says ${row.size} bytes, ${row.bytes.byteLength} stored`,
        });
      }
      if (hashBytes(row.bytes) !== row.hash)
        report({ check: 'blobs', hash: row.hash, message: 'bytes do not hash to the blob name' });
      if (bytesHashed >= maxBytesHashed) {
        nextBlob = row.hash;
        break;
      }
    }
    after = page[page.length - 1].hash;
  }

  // tree
  each(
    `SELECT d.parent AS parent, d.name AS name, d.child AS child FROM vfs_dirents d LEFT JOIN vfs_nodes n ON n.inode = d.child
     WHERE n.inode IS NULL`,
    [],
    (row) => ({
      check: 'tree',
      inode: num(row.child),
      message: `entry '${row.name}' in inode ${row.parent} names a missing inode`,
    }),
  );
  each(
    `SELECT DISTINCT d.parent AS parent FROM vfs_dirents d LEFT JOIN vfs_nodes n ON n.inode = d.parent
     WHERE n.inode IS NULL OR n.type != 'dir'`,
    [],
    (row) => ({
      check: 'tree',
      inode: num(row.parent),
      message: 'entries hang off a missing inode or a non-directory',
    }),
  );
  each(
    `SELECT n.inode AS inode, (SELECT count(*) FROM vfs_dirents d WHERE d.child = n.inode) AS refs
     FROM vfs_nodes n WHERE n.type = 'dir' AND refs != (CASE WHEN n.inode IN (?, ?) THEN 0 ELSE 1 END)`,
    [ROOT_INODE, attic ?? ROOT_INODE],
    (row) => ({ check: 'tree', inode: num(row.inode), message: `directory has ${row.refs} entries naming it` }),
  );
  const root = db.all("SELECT 1 FROM vfs_nodes WHERE inode = ? AND type = 'dir'", [ROOT_INODE]);
  if (root.length === 0) report({ check: 'tree', inode: ROOT_INODE, message: 'the root directory is missing' });
  each(
    `WITH RECURSIVE reach(inode) AS (SELECT ? UNION SELECT ? UNION SELECT d.child FROM vfs_dirents d JOIN reach ON d.parent = reach.inode)
     SELECT n.inode AS inode FROM vfs_nodes n WHERE n.inode NOT IN (SELECT inode FROM reach)
       AND NOT (n.type = 'file' AND n.nlink = 0)`,
    [ROOT_INODE, attic ?? ROOT_INODE],
    (row) => ({
      check: 'tree',
      inode: num(row.inode),
      message: 'inode is not reachable from the root (orphan or cycle)',
    }),
  );

  // nlink
  each(
    `SELECT n.inode AS inode, n.nlink AS nlink,
       CASE WHEN n.type = 'dir'
         THEN 2 + (SELECT count(*) FROM vfs_dirents d JOIN vfs_nodes c ON c.inode = d.child WHERE d.parent = n.inode AND c.type = 'dir')
         ELSE (SELECT count(*) FROM vfs_dirents d WHERE d.child = n.inode) END AS expected
     FROM vfs_nodes n WHERE n.nlink != expected`,
    [],
    (row) => ({ check: 'nlink', inode: num(row.inode), message: `nlink is ${row.nlink}, entries say ${row.expected}` }),
  );

  // revisions
  const stamped = db.all<{ top: number | null }>(
    'SELECT MAX(r) AS top FROM (SELECT MAX(rev) AS r FROM vfs_nodes UNION ALL SELECT MAX(rev) FROM vfs_changes)',
  )[0].top;
  if (stamped !== null && num(stamped) >= counter) {
    report({
      check: 'rev',
      message: `the revision counter ${counter} does not exceed the stamped revision ${stamped}`,
    });
  }

  // counters kept by triggers
  const kept = db.all<{ stored: number; actualStored: number; inodes: number; actualInodes: number }>(
    `SELECT (SELECT v FROM vfs_meta WHERE k = 'stored_bytes') AS stored, (SELECT COALESCE(SUM(size), 0) FROM vfs_blobs) AS actualStored,
            (SELECT v FROM vfs_meta WHERE k = 'inodes') AS inodes, (SELECT count(*) FROM vfs_nodes) AS actualInodes`,
  )[0];
  if (num(kept.stored) !== num(kept.actualStored)) {
    report({
      check: 'meta',
      message: `the stored-bytes counter says ${kept.stored}, the blobs hold ${kept.actualStored}`,
    });
  }
  if (num(kept.inodes) !== num(kept.actualInodes)) {
    report({ check: 'meta', message: `the inode counter says ${kept.inodes}, there are ${kept.actualInodes}` });
  }

  const counts = db.all<{ nodes: number; chunks: number; nameless: number }>(
    `SELECT (SELECT count(*) FROM vfs_nodes) AS nodes, (SELECT count(*) FROM vfs_chunks) AS chunks,
       (SELECT count(*) FROM vfs_nodes WHERE type = 'file' AND nlink = 0) AS nameless`,
  )[0];
  return {
    ok: problems.length === 0,
    problems,
    checked: {
      nodes: num(counts.nodes),
      chunks: num(counts.chunks),
      blobs: blobCount,
      bytesHashed,
      nameless: num(counts.nameless),
      ...(nextBlob === undefined ? {} : { nextBlob }),
    },
  };
}
