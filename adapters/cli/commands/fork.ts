/**
 * `dofs fork <new.db>`, `dofs merge <other.db>` and `dofs branch …`.
 *
 * @module
 */
import { existsSync, rmSync } from 'node:fs';
import type { Command } from 'commander';
import { createBranch, deleteBranch, listBranches, mergeBranch, switchBranch } from '../../../sync/branches.ts';
import { fork, local, type MergeResult, merge } from '../../../sync/fork.ts';
import { globals, openCliWorkspace, withWorkspace, writeOut } from '../context.ts';
import { CliError } from '../errors.ts';
import { formatBytes, formatCount, plural } from '../format.ts';

/** Registers `fork` and `merge`. */
export function registerFork(program: Command): void {
  program
    .command('fork <new-db>')
    .description(
      'copy the workspace into a new database file that can be merged back (a snapshot fork-<id> in both is the base)',
    )
    .option('--json', 'print the result as JSON')
    .action(async (target: string, options: { json?: boolean }, command: Command) => {
      if (existsSync(target)) throw new CliError('EEXIST', `'${target}' exists; fork into a new file`);
      const result = await withWorkspace(globals(command), {}, async (workspace) => {
        const copy = openCliWorkspace(target, { create: true, chunkSize: workspace.db.chunkSize });
        let forked = false;
        try {
          const done = await fork(local(workspace.db), local(copy.db));
          forked = true;
          return done;
        } finally {
          copy.close();
          // A fork that failed leaves no half-made database behind.
          if (!forked)
            for (const suffix of ['', '-wal', '-shm', '-reserve']) rmSync(`${target}${suffix}`, { force: true });
        }
      });
      await writeOut(
        options.json
          ? `${JSON.stringify(result)}\n`
          : `forked into ${target}: ${formatCount(result.nodes)} nodes, ${formatCount(result.blobs)} blobs (${formatBytes(result.bytes)}) copied; merge base ${result.base}\n`,
      );
    });

  program
    .command('merge <other-db>')
    .description(
      "bring another workspace's changes since the fork into this one (three-way; a path both changed keeps this version, the other goes to <path>.conflict-<id>)",
    )
    .option('--json', 'print the result as JSON')
    .action(async (other: string, options: { json?: boolean }, command: Command) => {
      const result = await withWorkspace(globals(command), {}, async (workspace) => {
        const theirs = openCliWorkspace(other, { readOnly: true });
        try {
          return await merge(local(workspace.db), local(theirs.db));
        } finally {
          theirs.close();
        }
      });
      await writeOut(mergeReport(result, other, options.json));
    });

  const branch = program.command('branch').description('branches inside this workspace, made of snapshots');
  branch
    .command('list', { isDefault: true })
    .description('every branch; * marks the checked-out one')
    .action(async (_options: unknown, command: Command) => {
      const branches = await withWorkspace(globals(command), { readOnly: true }, (workspace) =>
        listBranches(workspace.db),
      );
      await writeOut(branches.map((b) => `${b.current ? '*' : ' '} ${b.name}\n`).join(''));
    });
  branch
    .command('create <name>')
    .description('a new branch at the current state (the checked-out branch stays checked out)')
    .action(async (name: string, _options: unknown, command: Command) => {
      await withWorkspace(globals(command), {}, (workspace) => createBranch(workspace.db, name));
      await writeOut(`created branch ${name}\n`);
    });
  branch
    .command('switch <name>')
    .description('check out a branch: the workspace returns to its state in one transaction')
    .action(async (name: string, _options: unknown, command: Command) => {
      await withWorkspace(globals(command), {}, (workspace) => switchBranch(workspace.db, name));
      await writeOut(`switched to branch ${name}\n`);
    });
  branch
    .command('merge <name>')
    .description(
      "bring a branch's changes into the checked-out one (three-way; conflicts kept as <path>.conflict-<name>)",
    )
    .option('--json', 'print the result as JSON')
    .action(async (name: string, options: { json?: boolean }, command: Command) => {
      const result = await withWorkspace(globals(command), {}, (workspace) => mergeBranch(workspace.db, name));
      await writeOut(mergeReport(result, `branch ${name}`, options.json));
    });
  branch
    .command('delete <name>')
    .description('delete a branch that is not checked out')
    .action(async (name: string, _options: unknown, command: Command) => {
      await withWorkspace(globals(command), {}, (workspace) => deleteBranch(workspace.db, name));
      await writeOut(`deleted branch ${name}\n`);
    });
}

/** What `merge` and `branch merge` print. */
function mergeReport(result: MergeResult, from: string, json: boolean | undefined): string {
  if (json) return `${JSON.stringify(result)}\n`;
  const lines = [
    `merged ${plural(result.applied.length, 'path')} from ${from} (base ${result.base})`,
    ...result.conflicts.map((conflict) =>
      conflict.copy
        ? `conflict: ${conflict.path} kept; theirs is at ${conflict.copy}`
        : `conflict: ${conflict.path} kept (theirs removed it)`,
    ),
  ];
  return `${lines.join('\n')}\n`;
}
