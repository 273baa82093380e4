/**
 * The CLI's entry after the Node version check: parse, run, map failures to exit codes.
 *
 * @module
 */
import { reportError } from './errors.ts';
import { buildProgram } from './program.ts';

/** Runs `dofs` with `argv` (as `process.argv`: node, script, args…) and resolves to the exit status. */
export async function main(argv: readonly string[]): Promise<number> {
  // `dofs cat big | head` closes the pipe early: stop quietly.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
  try {
    await buildProgram().parseAsync([...argv]);
    return 0;
  } catch (error) {
    return reportError(error, (text) => process.stderr.write(text));
  }
}
