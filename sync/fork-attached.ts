/**
 * A fork between two workspaces this process holds, the source in a database file: the target's
 * connection attaches the source file and copies the rows at the fork snapshot, and the blobs it
 * lacks, with one INSERT … SELECT per table, so nothing crosses into JavaScript row by row.
 * The result is the one fork.ts's paged copy gives (docs/snapshots.md).
 *
 * @module
 */
import { dropUnnamedTrees } from '../core/attic.ts';
import type { Database } from '../core/database.ts';
import { snapshot } from '../core/fs/snapshots.ts';
import { rowsAt, VERSIONED } from '../core/history.ts';
import { mutate } from '../core/mutate.ts';
import { checkStoredBytes } from '../core/quotas.ts';
import { readMeta, writeMeta } from '../core/schema.ts';
import { FORK_TABLES } from './merge-source.ts';

/** The name the source file is attached under, for the length of one fork. */
const SOURCE = 'dofs_fork_source';

/** The file of `db`'s main database, or undefined when it has none (in memory) or cannot say. */
export function databaseFile(db: Database): string | undefined {
  try {
    const main = db.all<{ name: string; file: string }>('PRAGMA database_list').find((row) => row.name === 'main');
    return main?.file ? main.file : undefined;
  } catch {
    // A platform that refuses the pragma (a Durable Object's SQL) has no file to attach.
    return undefined;
  }
}

/** What {@link copyAttached} copied. */
export interface AttachedCopy {
  nodes: number;
  blobs: number;
  bytes: number;
}

/**
 * Installs in the empty workspace `target`, in one transaction, the tree of the database file
 * `file` at its snapshot `base` (taken at revision `rev`), and takes the same snapshot: the same
 * rows {@link installFork} would install from pages, with the blobs the target lacks copied as
 * they are stored. `check` refuses a target that is not empty (or has another chunk size), inside
 * the transaction as the paged install does. Undefined when the file cannot be attached (a
 * platform without ATTACH, a transaction already open): the caller falls back to the paged copy.
 */
export function copyAttached(
  target: Database,
  file: string,
  base: string,
  rev: number,
  check: (db: Database) => void,
): AttachedCopy | undefined {
  try {
    target.run(`ATTACH DATABASE ? AS ${SOURCE}`, [file]);
  } catch {
    return undefined;
  }
  try {
    return mutate(target, 'fork', undefined, () => {
      check(target);
      const snap = target.all<{ id: number; last_inode: number }>(
        `SELECT id, last_inode FROM ${SOURCE}.vfs_snapshots WHERE name = ?`,
        [base],
      )[0];
      target.run('DELETE FROM vfs_nodes');
      const tables = [VERSIONED.nodes, VERSIONED.dirents, VERSIONED.chunks];
      tables.forEach((v, index) => {
        const columns = FORK_TABLES[index].columns.join(', ');
        target.run(
          `INSERT INTO main.${v.table} (${columns}) SELECT ${columns} FROM (${rowsAt(v, snap.id, snap.last_inode, SOURCE)})`,
        );
      });
      // What the source's attic held arrives unnamed: no snapshot of this side will see it.
      dropUnnamedTrees(target);
      // The blobs the copied chunk rows name that this side lacks; bytes first, while the catalogue
      // still tells which. Both statements number the same blobs in the same order (by hash) from
      // the target's last bytes id, so each catalogue row gets the id its bytes were stored under.
      const missing = `SELECT DISTINCT hash FROM main.vfs_chunks WHERE hash NOT IN (SELECT hash FROM main.vfs_blobs)`;
      const copied = `FROM ${SOURCE}.vfs_blobs s JOIN ${SOURCE}.vfs_blob_bytes y ON y.rowid = s.id WHERE s.hash IN (${missing})`;
      const [{ blobs, bytes, lastId }] = target.all<{ blobs: number; bytes: number; lastId: number }>(
        `SELECT count(*) AS blobs, COALESCE(SUM(s.size), 0) AS bytes,
           (SELECT COALESCE(MAX(rowid), 0) FROM main.vfs_blob_bytes) AS lastId ${copied}`,
      );
      const id = 'row_number() OVER (ORDER BY s.hash) + ?';
      target.run(`INSERT INTO main.vfs_blob_bytes (rowid, bytes) SELECT ${id}, y.bytes ${copied}`, [lastId]);
      target.run(`INSERT INTO main.vfs_blobs (hash, size, last_seen, id) SELECT s.hash, s.size, ?, ${id} ${copied}`, [
        target.now(),
        lastId,
      ]);
      checkStoredBytes(target);
      target.run("UPDATE sqlite_sequence SET seq = (SELECT MAX(inode) FROM vfs_nodes) WHERE name = 'vfs_nodes'");
      writeMeta(target, 'rev', Math.max(Number(readMeta(target, 'rev')), rev));
      snapshot(target, base);
      const [{ nodes }] = target.all<{ nodes: number }>('SELECT count(*) AS nodes FROM vfs_nodes');
      return { nodes: Number(nodes), blobs: Number(blobs), bytes: Number(bytes) };
    });
  } finally {
    // Nothing of the fork's statements is still running here: the detach cannot be refused as busy.
    target.run(`DETACH DATABASE ${SOURCE}`);
  }
}
