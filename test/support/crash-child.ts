/**
 * The crash test's child: applies operations `start`, `start + 1`, … of a seed to a file-backed
 * workspace and acknowledges each on stdout once it has returned, until it is killed.
 * Usage: node crash-child.ts DB SEED START
 */
import { createNodeSqliteBackend } from '../../backends/node-sqlite/index.ts';
import { openWorkspace } from '../../core/workspace.ts';
import { applyCrashOp, CRASH_CHUNK_SIZE, CRASH_CLOCK } from './crash-ops.ts';

const [db, seed, start] = process.argv.slice(2);
const ws = openWorkspace(createNodeSqliteBackend({ path: db }), { chunkSize: CRASH_CHUNK_SIZE, now: CRASH_CLOCK });
process.stdout.write('ready\n');
for (let i = Number(start); ; i++) {
  applyCrashOp(ws, Number(seed), i);
  // Writes to a pipe are synchronous on Linux: once this returns, the parent can read the ack.
  process.stdout.write(`${i}\n`);
}
