/**
 * `dofs init`: create an empty workspace database.
 *
 * @module
 */
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { DEFAULT_CHUNK_SIZE, MAX_CHUNK_SIZE, MIN_CHUNK_SIZE } from '../../../core/index.ts';
import { globals, withWorkspace } from '../context.ts';
import { CliError, UsageError } from '../errors.ts';
import { formatBytes, parseSize } from '../format.ts';

/** Registers `init`. */
export function registerInit(program: Command): void {
  program
    .command('init')
    .description('create an empty workspace database (harmless on an existing one)')
    .option(
      '--chunk-size <size>',
      `chunk size of a new workspace, 16 B to 1 MiB (default ${formatBytes(DEFAULT_CHUNK_SIZE)})`,
    )
    .action(async (options: { chunkSize?: string }, command: Command) => {
      const global = globals(command);
      const { db } = global;
      const chunkSize = options.chunkSize === undefined ? undefined : parseSize(options.chunkSize, '--chunk-size');
      // Checked before anything is created: a refused size must leave no database behind.
      if (chunkSize !== undefined && (chunkSize < MIN_CHUNK_SIZE || chunkSize > MAX_CHUNK_SIZE)) {
        throw new UsageError(
          `--chunk-size: expected ${formatBytes(MIN_CHUNK_SIZE)} to ${formatBytes(MAX_CHUNK_SIZE)}, got '${options.chunkSize}' (${formatBytes(chunkSize)})`,
        );
      }
      const existed = existsSync(db);
      await withWorkspace(global, { create: true, chunkSize }, (workspace) => {
        const actual = workspace.db.chunkSize;
        if (existed && chunkSize !== undefined && chunkSize !== actual) {
          throw new CliError(
            'EEXIST',
            `'${db}' already holds a workspace with chunk size ${actual}; the chunk size is fixed at creation`,
          );
        }
        process.stdout.write(
          `${existed ? 'workspace already exists' : 'created workspace'} ${db} (chunk size ${formatBytes(actual)})\n`,
        );
      });
    });
}
