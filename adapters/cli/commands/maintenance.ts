/**
 * `dofs du`, `dofs fsck`, `dofs gc`.
 *
 * @module
 */

import type { Command } from 'commander';
import { compactFully } from '../../../sync/compact.ts';
import { globals, withWorkspace, writeOut } from '../context.ts';
import { ExitStatus } from '../errors.ts';
import { formatBytes, formatCount, parseCount } from '../format.ts';
import { fsckProblemLines, fsckVerdict, usageLines } from '../report.ts';

/** Registers `du`, `fsck` and `gc`. */
export function registerMaintenance(program: Command): void {
  program
    .command('du')
    .description('space used: logical bytes, stored bytes, dedup ratio, inode counts')
    .option('--json', 'print the figures as JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const global = globals(command);
      const { db } = global;
      await withWorkspace(global, { readOnly: true }, async (workspace) => {
        const usage = workspace.usage();
        if (options.json) await writeOut(`${JSON.stringify(usage, null, 2)}\n`);
        else await writeOut(`${db}:\n${usageLines(usage).join('\n')}\n`);
      });
    });

  program
    .command('fsck')
    .description('check every invariant of the workspace; exits 1 when a problem is found')
    .option('--no-verify-content', 'do not re-hash blob bytes (faster)')
    .option('--json', 'print the report as JSON')
    .action(async (options: { verifyContent: boolean; json?: boolean }, command: Command) => {
      const report = await withWorkspace(globals(command), { readOnly: true }, (workspace) =>
        workspace.fsck({ verifyContent: options.verifyContent }),
      );
      if (options.json) await writeOut(`${JSON.stringify(report, null, 2)}\n`);
      else await writeOut(`${[...fsckProblemLines(report), `fsck: ${fsckVerdict(report)}`].join('\n')}\n`);
      if (!report.ok) throw new ExitStatus(1);
    });

  program
    .command('gc')
    .description(
      'free blobs no file references (all but those staged by writes still in progress) and give the space back to the file system',
    )
    .option('--safety-window-ms <ms>', 'keep blobs staged by unfinished writes this recently (default one hour)')
    .option('--json', 'print the result as JSON')
    .action(async (options: { safetyWindowMs?: string; json?: boolean }, command: Command) => {
      const safetyWindowMs =
        options.safetyWindowMs === undefined ? undefined : parseCount(options.safetyWindowMs, '--safety-window-ms');
      const result = await withWorkspace(globals(command), {}, (workspace) => ({
        ...workspace.gc({ safetyWindowMs, vacuum: true }),
        // The change log's deletions no sync peer still needs go too.
        changeRows: compactFully(workspace.db),
      }));
      if (options.json) await writeOut(`${JSON.stringify(result)}\n`);
      else
        await writeOut(
          `gc: freed ${formatCount(result.blobs)} blobs (${formatBytes(result.bytes)}); compacted ${formatCount(result.changeRows)} change-log rows${result.reclaimedBytes ? `; the database file gave ${formatBytes(result.reclaimedBytes)} back` : ''}\n`,
        );
    });
}
