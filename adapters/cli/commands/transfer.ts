/**
 * `dofs import`, `dofs export` and `dofs start`: moving trees between the real filesystem and a
 * workspace.
 *
 * @module
 */
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { globals, packageRoot, withWorkspace, workspacePath } from '../context.ts';
import { CliError, ExitStatus } from '../errors.ts';
import { exportTree } from '../export-tree.ts';
import { formatBytes, plural } from '../format.ts';
import { importTree } from '../import-tree.ts';
import { createProgress } from '../progress.ts';
import { fsckVerdict, importLine, progressText, usageLines } from '../report.ts';

const warnSkip = (local: string, reason: string): void => {
  process.stderr.write(`dofs: skipping ${local}: ${reason}\n`);
};

/** Fails before a workspace is opened (or created) when the directory to import is missing. */
function checkSourceDir(dir: string): void {
  if (!statSync(dir).isDirectory()) throw new CliError('ENOTDIR', `not a directory: '${dir}'`);
}

/** Registers `import`, `export` and `start`. */
export function registerTransfer(program: Command): void {
  program
    .command('import')
    .description('copy a local directory tree into the workspace (files, dirs, symlinks, modes, times)')
    .argument('<dir>', 'local directory to import')
    .option('--to <path>', 'workspace directory to import into', '/')
    .action(async (dir: string, options: { to: string }, command: Command) => {
      const global = globals(command);
      const to = workspacePath(options.to);
      checkSourceDir(dir);
      await withWorkspace(global, { create: true }, async (workspace) => {
        const progress = createProgress();
        try {
          const summary = await importTree(workspace, dir, {
            to,
            onProgress: (s) => progress.update(progressText('importing', s)),
            onSkip: warnSkip,
          });
          progress.done();
          process.stdout.write(`${importLine(summary, dir, to)}\n`);
        } finally {
          progress.done();
        }
      });
    });

  program
    .command('export')
    .description('copy a workspace directory tree out to a local directory')
    .argument('<dir>', 'local directory to write (created; must be empty unless --force)')
    .option('--from <path>', 'workspace directory to export', '/')
    .option('-f, --force', 'write into a non-empty directory, replacing what is in the way')
    .action(async (dir: string, options: { from: string; force?: boolean }, command: Command) => {
      const global = globals(command);
      await withWorkspace(global, { readOnly: true }, async (workspace) => {
        const progress = createProgress();
        try {
          const summary = await exportTree(workspace, dir, {
            from: workspacePath(options.from),
            force: options.force,
            onProgress: (s) => progress.update(progressText('exporting', s)),
            onSkip: warnSkip,
          });
          progress.done();
          const skipped = summary.skipped.length > 0 ? `; skipped ${summary.skipped.length} special file(s)` : '';
          process.stdout.write(
            `exported ${plural(summary.files, 'file')} (${formatBytes(summary.bytes)}), ${plural(summary.directories, 'directory', 'directories')}, ` +
              `${plural(summary.symlinks, 'symlink')} to ${dir}${skipped}\n`,
          );
        } finally {
          progress.done();
        }
      });
    });

  program
    .command('start')
    .description("import a directory (default: dofs's own docs/) and print a summary with an fsck verdict")
    .argument('[dir]', 'local directory to import')
    .option('--to <path>', 'workspace directory to import into', '/')
    .action(async (dir: string | undefined, options: { to: string }, command: Command) => {
      const global = globals(command);
      const { db } = global;
      const source = dir ?? join(packageRoot(), 'docs');
      const to = workspacePath(options.to);
      checkSourceDir(source);
      const existed = existsSync(db);
      await withWorkspace(global, { create: true }, async (workspace) => {
        const progress = createProgress();
        const started = performance.now();
        let summary: Awaited<ReturnType<typeof importTree>>;
        try {
          summary = await importTree(workspace, source, {
            to,
            onProgress: (s) => progress.update(progressText('importing', s)),
            onSkip: warnSkip,
          });
        } finally {
          progress.done();
        }
        const seconds = (performance.now() - started) / 1000;
        const usage = workspace.usage();
        const report = workspace.fsck();
        const lines = [
          `${importLine(summary, resolve(source), to)} in ${seconds.toFixed(2)} s`,
          `workspace ${resolve(db)}${existed ? '' : ' (new)'}:`,
          ...usageLines(usage),
          `  ${'fsck'.padEnd(13)}${fsckVerdict(report)}`,
        ];
        process.stdout.write(`${lines.join('\n')}\n`);
        if (!report.ok) throw new ExitStatus(1);
      });
    });
}
