/**
 * Running the `dofs` command as a user does, for the CLI tests: a spawned Node on the TypeScript
 * entry point (Node 24 strips the types), no progress line, no debug output.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The `dofs` entry point the tests run (TypeScript: Node 24 strips the types). */
export const BIN = join(fileURLToPath(new URL('../..', import.meta.url)), 'adapters/cli/bin.ts');

/** How one `dofs` run ended. */
export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
  /** stdout as bytes, for binary output. */
  bytes: Buffer;
}

/** Options for {@link startDofs} and {@link runDofs}. */
export interface CliOptions {
  /** Node flags before the entry point. */
  nodeArgs?: string[];
  /** Environment variables on top of this process's. */
  env?: Record<string, string>;
}

/** Starts `dofs args…` in `cwd`. */
export function startDofs(cwd: string, args: string[], options: CliOptions = {}): ChildProcess {
  return spawn(process.execPath, [...(options.nodeArgs ?? []), BIN, ...args], {
    cwd,
    env: { ...process.env, DOFS_NO_PROGRESS: '1', DOFS_DEBUG: '', ...options.env },
  });
}

/** Runs `dofs args…` in `cwd` with `input` on stdin; resolves when it exits. Independent runs may overlap. */
export function runDofs(
  cwd: string,
  args: string[],
  options: CliOptions & { input?: string } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = startDofs(cwd, args, options);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', reject);
    child.on('close', (status) => {
      const bytes = Buffer.concat(out);
      resolve({ status, stdout: bytes.toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), bytes });
    });
    child.stdin?.end(options.input ?? '');
  });
}
