/**
 * The `dofs` command line: every command and the global `--db` and `--synchronous` options.
 *
 * @module
 */
import { Command } from 'commander';
import { registerFiles } from './commands/files.ts';
import { registerFork } from './commands/fork.ts';
import { registerInit } from './commands/init.ts';
import { registerMaintenance } from './commands/maintenance.ts';
import { registerMount } from './commands/mount.ts';
import { registerSearch } from './commands/search.ts';
import { registerSnapshot } from './commands/snapshot.ts';
import { registerSync } from './commands/sync.ts';
import { registerTransfer } from './commands/transfer.ts';
import { DEFAULT_DB, packageVersion, parseSynchronous } from './context.ts';

/** Output hooks, so tests can capture what commander itself prints. */
export interface ProgramOutput {
  writeOut(text: string): void;
  writeErr(text: string): void;
}

const standardOutput: ProgramOutput = {
  writeOut: (text) => process.stdout.write(text),
  writeErr: (text) => process.stderr.write(text),
};

/** Builds the `dofs` program. Errors from commander are thrown (exitOverride), never process.exit. */
export function buildProgram(output: ProgramOutput = standardOutput): Command {
  const program = new Command('dofs')
    .description('a virtual filesystem whose authoritative copy lives in SQLite (here: a node:sqlite file)')
    .version(packageVersion(), '-V, --version')
    .option('--db <file>', 'workspace database file', DEFAULT_DB)
    .option(
      '--synchronous <level>',
      'SQLite durability: normal (default; the last commits may be lost on power loss) or full (none lost)',
      parseSynchronous,
    )
    .showHelpAfterError('(run dofs --help for usage)')
    .configureHelp({ showGlobalOptions: true })
    .configureOutput({
      writeOut: output.writeOut,
      writeErr: output.writeErr,
      outputError: (text, write) => write(`dofs: ${text.replace(/^error: /, '')}`),
    })
    .exitOverride();
  registerInit(program);
  registerTransfer(program);
  registerFiles(program);
  registerSearch(program);
  registerMaintenance(program);
  registerMount(program);
  registerSync(program);
  registerSnapshot(program);
  registerFork(program);
  program.addHelpText(
    'after',
    '\nWorkspace paths are absolute; a path without a leading / is taken from the root.\n' +
      'Exit status: 0 on success, 1 on a filesystem error (or fsck problems, or no grep match), 2 on a usage error.',
  );
  return program;
}
