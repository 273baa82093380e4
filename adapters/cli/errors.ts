/**
 * How the CLI fails: usage errors exit 2, filesystem errors exit 1, and every message is one
 * line on stderr prefixed with `dofs:`. Stack traces only with `DOFS_DEBUG=1`.
 *
 * @module
 */
import { CommanderError } from 'commander';

/** A mistake in how the command was called (bad option value, missing argument). Exits 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A failure with a POSIX-style code that is not an engine FsError (such as a local file). Exits 1. */
export class CliError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(`${code}: ${message}`);
    this.name = 'CliError';
    this.code = code;
  }
}

/** Ends the command with an exit status, having already printed what it had to say. */
export class ExitStatus extends Error {
  readonly status: number;
  constructor(status: number) {
    super(`exit ${status}`);
    this.name = 'ExitStatus';
    this.status = status;
  }
}

/** Prints `error` the way the CLI reports failures and returns the exit status. */
export function reportError(error: unknown, write: (text: string) => void): number {
  if (error instanceof ExitStatus) return error.status;
  if (error instanceof CommanderError) {
    // Commander has printed its message already (through outputError); help and --version exit 0.
    return error.exitCode === 0 ? 0 : 2;
  }
  if (error instanceof UsageError) {
    write(`dofs: ${error.message}\n`);
    return 2;
  }
  const coded = typeof (error as { code?: unknown })?.code === 'string';
  const message = error instanceof Error ? error.message : String(error);
  write(`dofs: ${message}\n`);
  if (process.env.DOFS_DEBUG && error instanceof Error && error.stack) write(`${error.stack}\n`);
  else if (!coded) write('dofs: (an unexpected error; set DOFS_DEBUG=1 to see where it came from)\n');
  return 1;
}
