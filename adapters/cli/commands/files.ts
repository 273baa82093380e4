/**
 * `dofs ls`, `cat`, `put`, `mkdir`, `rm`, `mv`, `stat`. `mkdir` and `rm` with several paths are one
 * transaction: when any path fails, none of them changes.
 *
 * @module
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import type { Command } from 'commander';
import { wrapStorageError } from '../../../core/errors.ts';
import { isFsError, type StatInfo, type Workspace, withSpaceReserve } from '../../../core/index.ts';
import { globals, withWorkspace, workspacePath, writeOut } from '../context.ts';
import { CliError, ExitStatus, reportError } from '../errors.ts';
import { displayName, longListing, parseMode } from '../format.ts';

const PAGE = 1000;

function statOrUndefined(workspace: Workspace, path: string): StatInfo | undefined {
  try {
    return workspace.stat(path);
  } catch (error) {
    if (isFsError(error, 'ENOENT')) return undefined;
    throw error;
  }
}

const basename = (path: string): string =>
  path.slice(path.replace(/\/+$/, '').lastIndexOf('/') + 1).replace(/\/+$/, '');
const join = (dir: string, name: string): string => (dir.endsWith('/') ? `${dir}${name}` : `${dir}/${name}`);

async function list(workspace: Workspace, path: string, long: boolean): Promise<void> {
  const line = (entryPath: string, name: string): string => {
    if (!long) return displayName(name);
    const info = workspace.lstat(entryPath);
    return longListing(
      info,
      displayName(name),
      info.isSymbolicLink ? displayName(workspace.readlink(entryPath)) : undefined,
    );
  };
  const info = workspace.stat(path);
  if (!info.isDirectory) {
    await writeOut(`${line(path, path)}\n`);
    return;
  }
  for (let offset = 0; ; offset += PAGE) {
    const entries = workspace.readdir(path, { limit: PAGE, offset });
    if (entries.length > 0) await writeOut(`${entries.map((entry) => line(entry.path, entry.name)).join('\n')}\n`);
    if (entries.length < PAGE) return;
  }
}

/** Registers the single-path commands. */
export function registerFiles(program: Command): void {
  program
    .command('ls')
    .description("list a directory's entries (or name a file)")
    .argument('[path]', 'workspace path', '/')
    .option('-l, --long', 'mode, links, size, mtime and symlink targets')
    .action(async (path: string, options: { long?: boolean }, command: Command) => {
      await withWorkspace(globals(command), { readOnly: true }, (workspace) =>
        list(workspace, workspacePath(path), options.long ?? false),
      );
    });

  program
    .command('cat')
    .description(
      'write files to stdout, streamed chunk by chunk; a file that fails is reported and the rest still written, like cat',
    )
    .argument('<paths...>', 'workspace files')
    .action(async (paths: string[], _options: unknown, command: Command) => {
      let failed = false;
      await withWorkspace(globals(command), { readOnly: true }, async (workspace) => {
        for (const path of paths) {
          try {
            const reader = workspace.readFileStream(workspacePath(path)).getReader();
            for (;;) {
              const { done, value } = await reader.read();
              if (done) break;
              await writeOut(value);
            }
          } catch (error) {
            // ENOENT, EISDIR, ...: say so and go on with the next file, as cat does.
            if (!isFsError(error)) throw error;
            reportError(error, (text) => process.stderr.write(text));
            failed = true;
          }
        }
      });
      if (failed) throw new ExitStatus(1);
    });

  program
    .command('put')
    .description("write a local file (or stdin, '-') to a workspace path; into it if the path is a directory")
    .argument('<local>', "local file, or '-' for stdin")
    .argument('<path>', 'workspace path')
    .option(
      '--mode <octal>',
      "permission bits (default: the local file's for a new file; an existing file keeps its own)",
    )
    .action(async (local: string, path: string, options: { mode?: string }, command: Command) => {
      const explicitMode = options.mode === undefined ? undefined : parseMode(options.mode, '--mode');
      const fromStdin = local === '-';
      const localMode = fromStdin ? undefined : statSync(local).mode & 0o7777;
      await withWorkspace(globals(command), { create: true }, async (workspace) => {
        let target = workspacePath(path);
        const existing = statOrUndefined(workspace, target);
        if (existing?.isDirectory) {
          if (fromStdin) throw new CliError('EISDIR', `'${target}' is a directory; name the file to write from stdin`);
          target = join(target, basename(local));
        }
        const isNew = statOrUndefined(workspace, target) === undefined;
        const mode = explicitMode ?? (isNew ? localMode : undefined);
        const source: AsyncIterable<Uint8Array> = fromStdin
          ? process.stdin
          : createReadStream(local, { highWaterMark: 1024 * 1024 });
        await workspace.writeFile(target, source, mode === undefined ? {} : { mode });
      });
    });

  program
    .command('mkdir')
    .description('create directories')
    .argument('<paths...>', 'workspace directories')
    .option('-p, --parents', 'create parents as needed; no error if it exists')
    .option('--mode <octal>', 'permission bits (default 755)')
    .action(async (paths: string[], options: { parents?: boolean; mode?: string }, command: Command) => {
      const mode = options.mode === undefined ? undefined : parseMode(options.mode, '--mode');
      await withWorkspace(globals(command), { create: true }, (workspace) => {
        workspace.db.transaction(() => {
          for (const path of paths) workspace.mkdir(workspacePath(path), { recursive: options.parents, mode });
        });
      });
    });

  program
    .command('rm')
    .description('remove files, symlinks, or (with -r) directory trees')
    .argument('<paths...>', 'workspace paths')
    .option('-r, --recursive', 'remove directories and their contents')
    .option('-f, --force', 'ignore missing paths')
    .action(async (paths: string[], options: { recursive?: boolean; force?: boolean }, command: Command) => {
      const global = globals(command);
      const { db } = global;
      if (options.force && !existsSync(db)) return;
      await withWorkspace(global, {}, (workspace) => {
        // All paths or none; on a full disk the whole transaction runs again in the released reserve.
        try {
          withSpaceReserve(workspace.db, 'rm', () =>
            workspace.db.transaction(() => {
              for (const path of paths) {
                try {
                  workspace.rm(workspacePath(path), { recursive: options.recursive, force: options.force });
                } catch (error) {
                  // The engine's force covers a missing final name only; rm -f ignores a missing parent too.
                  if (!(options.force && isFsError(error, 'ENOENT'))) throw error;
                }
              }
            }),
          );
        } catch (error) {
          // A failed COMMIT of the whole batch is the rm's: `ENOSPC: …, rm '/a'`, not `…, sqlite`.
          throw wrapStorageError(error, 'rm', workspacePath(paths[0]));
        }
      });
    });

  program
    .command('mv')
    .description('rename or move; into <to> when it is an existing directory (POSIX rename rules otherwise)')
    .argument('<from>', 'workspace path')
    .argument('<to>', 'workspace path or directory')
    .action(async (from: string, to: string, _options: unknown, command: Command) => {
      await withWorkspace(globals(command), {}, (workspace) => {
        const source = workspacePath(from);
        let target = workspacePath(to);
        const existing = statOrUndefined(workspace, target);
        if (existing?.isDirectory && existing.ino !== workspace.lstat(source).ino)
          target = join(target, basename(source));
        workspace.rename(source, target);
      });
    });

  program
    .command('stat')
    .description('print what is known about a path, as JSON (a symlink itself unless -L)')
    .argument('<path>', 'workspace path')
    .option('-L, --dereference', 'follow a final symlink')
    .action(async (path: string, options: { dereference?: boolean }, command: Command) => {
      await withWorkspace(globals(command), { readOnly: true }, async (workspace) => {
        const target = workspacePath(path);
        const info = options.dereference ? workspace.stat(target) : workspace.lstat(target);
        const extra = info.isSymbolicLink ? { target: workspace.readlink(target) } : {};
        const permissions = (info.mode & 0o7777).toString(8).padStart(4, '0');
        await writeOut(`${JSON.stringify({ path: target, ...info, permissions, ...extra }, null, 2)}\n`);
      });
    });
}
