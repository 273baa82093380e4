/**
 * `dofs sync <url>`: one sync round with a Durable Object (or any authority serving the sync
 * endpoint), with a progress display. A database that does not exist yet is created with the
 * authority's chunk size.
 *
 * @module
 */
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { FsError, isFsError } from '../../../core/errors.ts';
import { createSyncDriver } from '../../../sync/driver.ts';
import { connectSyncWebSocket } from '../../../sync/websocket.ts';
import { globals, withWorkspace, writeOut } from '../context.ts';
import { UsageError } from '../errors.ts';
import { formatBytes, formatCount, parseSyncUrl, plural } from '../format.ts';
import { createProgress } from '../progress.ts';

interface SyncOptions {
  token?: string;
  pull?: boolean;
  push?: boolean;
  json?: boolean;
}

/** Registers `sync`. */
export function registerSync(program: Command): void {
  program
    .command('sync')
    .description('pull then push changes with an authority (a Durable Object) over a WebSocket')
    .argument('<url>', 'the sync endpoint, e.g. https://worker.example/ws/NAME/sync')
    .option('--token <token>', 'bearer token (default: $DOFS_SYNC_TOKEN)')
    .option('--no-pull', 'only push local changes')
    .option('--no-push', 'only pull remote changes')
    .option('--json', 'print the report as JSON')
    .action(async (url: string, options: SyncOptions, command: Command) => {
      parseSyncUrl(url, 'sync');
      const token = options.token ?? process.env.DOFS_SYNC_TOKEN;
      if (!token) throw new UsageError('a token is required: pass --token or set DOFS_SYNC_TOKEN');
      const global = globals(command);
      const { db } = global;
      const connection = await connectSyncWebSocket(url, token);
      // Entries handled in each phase so far, for the message of a connection lost midway.
      const handled = { pull: 0, push: 0 };
      try {
        // Sync needs both sides at one chunk size: a replica this sync creates takes the authority's.
        const chunkSize = existsSync(db)
          ? undefined
          : (await connection.hello({ replica: crypto.randomUUID() })).chunkSize;
        await withWorkspace(global, { create: true, chunkSize }, async (workspace) => {
          const progress = createProgress();
          try {
            const driver = createSyncDriver(workspace.db, connection, {
              onProgress: (p) => {
                handled[p.phase] = p.entries;
                progress.update(`${p.phase}: ${formatCount(p.entries)} entries, ${formatBytes(p.bytes)}`);
              },
            });
            const run = options.pull === false ? driver.push : options.push === false ? driver.pull : driver.sync;
            const report = await run();
            progress.done();
            if (options.json) {
              await writeOut(`${JSON.stringify({ ...report, wire: connection.counters }, null, 2)}\n`);
              return;
            }
            const lines = [
              `synced with ${url}: pulled ${formatCount(report.pulled)}, pushed ${formatCount(report.pushed)} entries; ` +
                `${formatBytes(report.bytesIn)} in, ${formatBytes(report.bytesOut)} out`,
              ...report.conflicts.map(
                (c) =>
                  `conflict: ${c.path} kept the ${c.kept === 'incoming' ? 'remote' : 'local'} version${c.copy ? `; the other is at ${c.copy}` : ''}`,
              ),
              ...report.unsynced.map(
                (u) =>
                  `unsynced: ${u.path}: ${u.direction === 'pull' ? 'refused here' : 'refused by the authority'} (${u.reason}); rename or remove it to resolve`,
              ),
            ];
            await writeOut(`${lines.join('\n')}\n`);
          } finally {
            progress.done();
          }
        });
      } catch (error) {
        if (!isFsError(error, 'ECONNRESET')) throw error;
        const entries = handled.pull + handled.push;
        throw new FsError('ECONNRESET', 'sync', url, undefined, {
          cause: error,
          detail: `the connection to ${url} closed during the sync after ${plural(entries, 'entry', 'entries')}; nothing acknowledged is lost; run dofs sync again to resume`,
        });
      } finally {
        connection.close();
      }
    });
}
