/**
 * `dofs fork <new.db>`, `dofs merge <other.db>` and `dofs branch …`.
 *
 * @module
 */
import { existsSync, rmSync } from 'node:fs';
import type { Command } from 'commander';
import { createBranch, deleteBranch, listBranches, mergeBranch, switchBranch } from '../../../sync/branches.ts';
import type { SyncEndpoint } from '../../../sync/endpoint.ts';
import { fork, type MergeResult, merge } from '../../../sync/fork.ts';
import { local, localSource, type MergeSource, remoteSource } from '../../../sync/merge-source.ts';
import { localTarget, type MergeTarget, remoteTarget } from '../../../sync/merge-target.ts';
import { connectSyncWebSocket } from '../../../sync/websocket.ts';
import { globals, openCliWorkspace, withWorkspace, writeOut } from '../context.ts';
import { CliError, UsageError } from '../errors.ts';
import { formatBytes, formatCount, parseSyncUrl, plural } from '../format.ts';

/** Registers `fork` and `merge`. */
export function registerFork(program: Command): void {
  program
    .command('fork <target>')
    .description(
      'copy the workspace (or, with --from, a Durable Object) into a new database file, or into an empty Durable Object given by its sync URL; the two can then be merged (a snapshot fork-<id> in both is the base)',
    )
    .option('--from <url>', "fork a remote workspace instead: its sync endpoint, as for 'dofs sync'")
    .option('--token <token>', 'bearer token for a URL (default: $DOFS_SYNC_TOKEN)')
    .option('--json', 'print the result as JSON')
    .action(async (target: string, options: RemoteOptions & { from?: string; json?: boolean }, command: Command) => {
      const toRemote = isUrl(target);
      if (!toRemote && existsSync(target)) throw new CliError('EEXIST', `'${target}' exists; fork into a new file`);
      const forkInto = async (source: MergeSource, chunkSize: number) => {
        if (toRemote) return withRemote(target, options, 'fork', (remote) => fork(source, remoteTarget(remote)));
        const copy = openCliWorkspace(target, { create: true, chunkSize });
        let forked = false;
        try {
          const done = await fork(source, local(copy.db));
          forked = true;
          return done;
        } finally {
          copy.close();
          // A fork that failed leaves no half-made database behind.
          if (!forked)
            for (const suffix of ['', '-wal', '-shm', '-reserve']) rmSync(`${target}${suffix}`, { force: true });
        }
      };
      const result = options.from
        ? await withRemote(options.from, options, 'fork', async (remote) => {
            const source = remoteSource(remote);
            return forkInto(source, await source.chunkSize());
          })
        : await withWorkspace(globals(command), {}, (workspace) =>
            forkInto(localSource(local(workspace.db)), workspace.db.chunkSize),
          );
      await writeOut(
        options.json
          ? `${JSON.stringify(result)}\n`
          : `forked into ${target}: ${formatCount(result.nodes)} nodes, ${formatCount(result.blobs)} blobs (${formatBytes(result.bytes)}) copied; merge base ${result.base}\n`,
      );
    });

  program
    .command('merge <other>')
    .description(
      "bring another workspace's changes since the fork (or the last merge) into this one (or, with --into, into a Durable Object): a database file, or a Durable Object's sync URL (three-way; a path both changed keeps this version, the other goes to <path>.conflict-<id>)",
    )
    .option('--into <url>', "merge into a remote workspace instead: its sync endpoint, as for 'dofs sync'")
    .option('--token <token>', 'bearer token for a URL (default: $DOFS_SYNC_TOKEN)')
    .option('--json', 'print the result as JSON')
    .action(async (other: string, options: RemoteOptions & { into?: string; json?: boolean }, command: Command) => {
      const mergeFrom = (target: MergeTarget): Promise<MergeResult> =>
        isUrl(other)
          ? withRemote(other, options, 'merge', (remote) => merge(target, remoteSource(remote)))
          : (async () => {
              // Theirs gains a snapshot (the state merged, the next merge's start), so it opens writable.
              const theirs = openCliWorkspace(other);
              try {
                return await merge(target, local(theirs.db));
              } finally {
                theirs.close();
              }
            })();
      const result = options.into
        ? await withRemote(options.into, options, 'merge', (remote) => mergeFrom(remoteTarget(remote)))
        : await withWorkspace(globals(command), {}, (workspace) => mergeFrom(localTarget(local(workspace.db))));
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

interface RemoteOptions {
  token?: string;
}

/** A URL names a remote workspace; anything else is a database file. */
const isUrl = (value: string): boolean => /^[a-z][a-z0-9+.-]*:\/\//i.test(value);

/** Runs `fn` with the sync endpoint at `url`, dialled as `dofs sync` does. */
async function withRemote<T>(
  url: string,
  options: RemoteOptions,
  verb: string,
  fn: (remote: SyncEndpoint) => Promise<T>,
): Promise<T> {
  parseSyncUrl(url, verb);
  const token = options.token ?? process.env.DOFS_SYNC_TOKEN;
  if (!token) throw new UsageError('a token is required: pass --token or set DOFS_SYNC_TOKEN');
  const connection = await connectSyncWebSocket(url, token);
  try {
    return await fn(connection);
  } finally {
    connection.close();
  }
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
