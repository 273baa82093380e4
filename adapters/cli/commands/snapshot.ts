/**
 * `dofs snapshot create|list|diff|restore|delete`.
 *
 * @module
 */
import type { Command } from 'commander';
import type { SnapshotDiffEntry } from '../../../core/index.ts';
import { globals, withWorkspace, writeOut } from '../context.ts';

const STATUS_LETTER = { added: 'A', removed: 'D', changed: 'M' } as const;

/** One line of `dofs snapshot diff`: a letter as git prints them, the path, what changed. */
function diffLine(entry: SnapshotDiffEntry): string {
  const what = entry.changes ? ` (${entry.changes.join(', ')})` : '';
  return `${STATUS_LETTER[entry.status]} ${entry.path}${what}`;
}

/** Registers `snapshot` and its subcommands. */
export function registerSnapshot(program: Command): void {
  const snapshot = program
    .command('snapshot')
    .description('record the workspace under a name, read or compare records, return to one');

  snapshot
    .command('create [name]')
    .description('record the whole workspace as it is now (constant time; default name snapshot-<id>)')
    .option('--json', 'print the snapshot as JSON')
    .action(async (name: string | undefined, options: { json?: boolean }, command: Command) => {
      const info = await withWorkspace(globals(command), {}, (workspace) => workspace.snapshot(name));
      await writeOut(options.json ? `${JSON.stringify(info)}\n` : `snapshot ${info.name} (revision ${info.rev})\n`);
    });

  snapshot
    .command('list')
    .description('every snapshot, oldest first, with the bytes each holds alone')
    .option('--json', 'print the list as JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const rows = await withWorkspace(globals(command), { readOnly: true }, (workspace) => {
        const alone = new Map(workspace.usage().snapshots.map((held) => [held.name, held.bytes]));
        return workspace.snapshots().map((info) => ({ ...info, bytesAlone: alone.get(info.name) ?? 0 }));
      });
      if (options.json) await writeOut(`${JSON.stringify(rows)}\n`);
      else
        await writeOut(
          rows
            .map(
              (row) =>
                `${row.name}\t${new Date(row.created).toISOString()}\trevision ${row.rev}\t${row.bytesAlone} bytes alone\n`,
            )
            .join(''),
        );
    });

  snapshot
    .command('diff <from> [to]')
    .description(
      'paths added (A), removed (D) and changed (M: content, mode, type) from one snapshot to another, or to now',
    )
    .option('--json', 'print the entries as JSON')
    .action(async (from: string, to: string | undefined, options: { json?: boolean }, command: Command) => {
      const diff = await withWorkspace(globals(command), { readOnly: true }, (workspace) => workspace.diff(from, to));
      await writeOut(options.json ? `${JSON.stringify(diff)}\n` : diff.map((entry) => `${diffLine(entry)}\n`).join(''));
    });

  snapshot
    .command('restore <name>')
    .description('return the workspace to a snapshot in one transaction (a snapshot taken first undoes it)')
    .option('--json', 'print the result as JSON')
    .action(async (name: string, options: { json?: boolean }, command: Command) => {
      const result = await withWorkspace(globals(command), {}, (workspace) => workspace.restore(name));
      await writeOut(
        options.json
          ? `${JSON.stringify(result)}\n`
          : `restored ${result.restored.name}; undo with: dofs snapshot restore ${result.before.name}\n`,
      );
    });

  snapshot
    .command('delete <name>')
    .description('delete a snapshot; the next gc frees what only it held')
    .action(async (name: string, _options: unknown, command: Command) => {
      await withWorkspace(globals(command), {}, (workspace) => workspace.deleteSnapshot(name));
      await writeOut(`deleted snapshot ${name}\n`);
    });
}
