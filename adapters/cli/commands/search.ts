/**
 * `dofs find` and `dofs grep`.
 *
 * @module
 */
import type { Command } from 'commander';
import { type GrepMatch, isFsError } from '../../../core/index.ts';
import { globals, withWorkspace, workspacePath, writeOut } from '../context.ts';
import { ExitStatus, UsageError } from '../errors.ts';
import { checkGlob, parseCount } from '../format.ts';

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** grep's output: `path:line:text` for matches, `path-line-text` for context, `--` between separate groups. */
function grepLines(matches: readonly GrepMatch[], context: number): string[] {
  // Gather every line to show per file, a match winning over the same line shown as context.
  const files = new Map<string, Map<number, { text: string; match: boolean }>>();
  for (const m of matches) {
    const shown = files.get(m.path) ?? new Map<number, { text: string; match: boolean }>();
    files.set(m.path, shown);
    m.before.forEach((text, i) => {
      const line = m.line - m.before.length + i;
      if (!shown.has(line)) shown.set(line, { text, match: false });
    });
    shown.set(m.line, { text: m.text, match: true });
    m.after.forEach((text, i) => {
      const line = m.line + 1 + i;
      if (!shown.has(line)) shown.set(line, { text, match: false });
    });
  }
  const lines: string[] = [];
  for (const [path, shown] of files) {
    let previous: number | undefined;
    for (const line of [...shown.keys()].sort((a, b) => a - b)) {
      const { text, match } = shown.get(line) as { text: string; match: boolean };
      if (context > 0 && lines.length > 0 && previous !== line - 1) lines.push('--');
      lines.push(`${path}${match ? ':' : '-'}${line}${match ? ':' : '-'}${text}`);
      previous = line;
    }
  }
  return lines;
}

/** Registers `find` and `grep`. */
export function registerSearch(program: Command): void {
  program
    .command('find')
    .description('paths below <dir> whose path relative to it matches <glob> (*, **, ?, {a,b}, [ab])')
    .argument('<dir>', 'workspace directory')
    .argument('<glob>', "pattern, such as '**/*.md'")
    .option('--exclude <glob>', 'leave out matching paths and everything below them (repeatable)', collect)
    .option('--limit <n>', 'at most this many results')
    .action(async (dir: string, glob: string, options: { exclude?: string[]; limit?: string }, command: Command) => {
      const limit = options.limit === undefined ? undefined : parseCount(options.limit, '--limit');
      checkGlob(glob, 'find');
      for (const exclude of options.exclude ?? []) checkGlob(exclude, '--exclude');
      await withWorkspace(globals(command), { readOnly: true }, async (workspace) => {
        const found = workspace.find(workspacePath(dir), glob, { exclude: options.exclude, limit });
        if (found.length > 0) await writeOut(`${found.join('\n')}\n`);
      });
    });

  program
    .command('grep')
    .description(
      'lines matching <pattern> in text files at or below [path]; exits 1 when nothing matches and 2 on a bad pattern, like grep',
    )
    .argument('<pattern>', 'literal text (a regular expression with -E)')
    .argument('[path]', 'workspace file or directory', '/')
    .option('-E, --regex', 'treat the pattern as an RE2 regular expression (no backreferences or lookaround)')
    .option('-i, --ignore-case', 'match case-insensitively')
    .option('-C, --context <n>', 'lines of context around each match', '0')
    .option('--include <glob>', 'only files whose name or relative path matches (repeatable)', collect)
    .option('--limit <n>', 'at most this many matches')
    .option('--json', 'print the matches as JSON')
    .action(
      async (
        pattern: string,
        path: string,
        options: {
          regex?: boolean;
          ignoreCase?: boolean;
          context: string;
          include?: string[];
          limit?: string;
          json?: boolean;
        },
        command: Command,
      ) => {
        const context = parseCount(options.context, '--context');
        const limit = options.limit === undefined ? undefined : parseCount(options.limit, '--limit');
        for (const include of options.include ?? []) checkGlob(include, '--include');
        const matches = await withWorkspace(globals(command), { readOnly: true }, (workspace) => {
          try {
            return workspace.grep(pattern, workspacePath(path), {
              regex: options.regex,
              ignoreCase: options.ignoreCase,
              context,
              include: options.include,
              limit,
            });
          } catch (error) {
            // A pattern RE2 cannot parse is a usage error (exit 2), as grep's own is: not "no match".
            if (options.regex && isFsError(error, 'EINVAL') && /regular expression/.test(error.message)) {
              throw new UsageError(
                `grep: ${error.message.replace(/^EINVAL: invalid argument \((.*)\), grep .*$/, '$1')}`,
              );
            }
            throw error;
          }
        });
        if (options.json) await writeOut(`${JSON.stringify(matches, null, 2)}\n`);
        else if (matches.length > 0) await writeOut(`${grepLines(matches, context).join('\n')}\n`);
        if (matches.length === 0) throw new ExitStatus(1);
      },
    );
}
