/**
 * `dofs fork <new.db>` and `dofs merge <other.db>`.
 *
 * @module
 */
import { existsSync, rmSync } from 'node:fs';
import type { Command } from 'commander';
import { fork, local, merge } from '../../../sync/fork.ts';
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
      if (options.json) {
        await writeOut(`${JSON.stringify(result)}\n`);
        return;
      }
      const lines = [
        `merged ${plural(result.applied.length, 'path')} from ${other} (base ${result.base})`,
        ...result.conflicts.map((conflict) =>
          conflict.copy
            ? `conflict: ${conflict.path} kept; theirs is at ${conflict.copy}`
            : `conflict: ${conflict.path} kept (theirs removed it)`,
        ),
      ];
      await writeOut(`${lines.join('\n')}\n`);
    });
}
