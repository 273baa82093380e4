/**
 * One of several processes sharing a workspace file. Usage: node concurrent-child.ts DB ROLE ID COUNT
 * - `writer`: creates COUNT files of its own and appends one line per step to the shared /log;
 * - `replacer`: rewrites /shared COUNT times, version i being digit d = i % 10 repeated 5000 + 1000·d
 *   times (so a read mixing two versions shows in its bytes or its length);
 * - `reader`: reads /shared until the replacer is done and reports any torn version.
 * Prints one JSON line with what it did.
 */
import { createNodeSqliteBackend } from '../../backends/node-sqlite/index.ts';
import { openWorkspace } from '../../core/workspace.ts';

const [db, role, id, count] = process.argv.slice(2);
const ws = openWorkspace(createNodeSqliteBackend({ path: db, busyTimeoutMs: 20_000 }), { chunkSize: 1024 });
const steps = Number(count);
let torn = 0;
let reads = 0;
if (role === 'writer') {
  for (let i = 0; i < steps; i++) {
    ws.writeFile(`/w${id}/file-${i}`, `writer ${id} step ${i}\n`);
    ws.appendFile('/log', `${id}:${i}\n`);
  }
} else if (role === 'replacer') {
  // Start once the reader is reading, so the two really overlap.
  while (!ws.exists('/reader-ready')) await new Promise((resolve) => setTimeout(resolve, 5));
  for (let i = 0; i < steps; i++) ws.writeFile('/shared', String(i % 10).repeat(5000 + 1000 * (i % 10)));
  ws.writeFile('/done', 'yes');
} else {
  ws.writeFile('/reader-ready', 'yes');
  while (!ws.exists('/done')) {
    const text = ws.readFile('/shared', 'utf8');
    reads++;
    if (text !== text[0].repeat(5000 + 1000 * Number(text[0]))) torn++;
  }
}
process.stdout.write(`${JSON.stringify({ role, id, steps, reads, torn })}\n`);
ws.close();
