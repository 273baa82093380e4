/**
 * Runs a node script that prints `ready` once set up and then one acknowledgement per line, kills
 * it with SIGKILL `delayMs` after `ready`, and resolves to the lines it acknowledged (read to the
 * end of its output: acknowledgements still in the pipe count). Rejects if it exits by itself.
 */
import { spawn } from 'node:child_process';

export function runUntilKilled(script: string, args: readonly string[], delayMs: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const acked: string[] = [];
    let buffered = '';
    let errors = '';
    child.stderr.on('data', (data) => (errors += data));
    child.stdout.on('data', (data) => {
      buffered += data;
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        if (line === 'ready') setTimeout(() => child.kill('SIGKILL'), delayMs);
        else acked.push(line);
      }
    });
    // 'close', not 'exit': acknowledgements still in the pipe must be read first.
    child.on('close', (code, signal) => {
      if (signal === 'SIGKILL') resolve(acked);
      else reject(new Error(`the child exited by itself (${code}): ${errors}`));
    });
  });
}
