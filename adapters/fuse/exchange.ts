/**
 * renameat2's `RENAME_EXCHANGE`: two existing names swap the nodes they name, atomically, as on
 * ext4 (a file with a directory too, across parents). The kernel has already checked what it can
 * before asking (both names exist, neither is an ancestor of the other, the caller's permissions,
 * not one inode twice). The swap is three of the engine's own renames, through a free name next to
 * the first, inside one mutation: one transaction and one revision, so no reader of the database
 * and no request of the kernel sees the temporary name or half an exchange. What the change log
 * records is what those renames record (the temporary name appears there as a removed path).
 *
 * @module
 */
import { type Database, lookup } from '../../core/index.ts';
import { mutate } from '../../core/mutate.ts';
import type { SQLiteWorkspaceProvider } from '../vfs/index.ts';

/** Swaps what `from` (a name in directory `parent`) and `to` name, in one transaction. */
export function exchange(
  provider: SQLiteWorkspaceProvider,
  db: Database,
  parent: number,
  from: string,
  to: string,
): void {
  mutate(db, 'rename', from, () => {
    let suffix = 0;
    while (lookup(db, parent, `.dofs-exchange-${suffix}`)) suffix++;
    const aside = `${from.slice(0, from.lastIndexOf('/') + 1)}.dofs-exchange-${suffix}`;
    provider.renameSync(from, aside);
    provider.renameSync(to, from);
    provider.renameSync(aside, to);
  });
}
