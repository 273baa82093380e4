/**
 * Opens a workspace file, and so upgrades an older one, for test/migration-crash.test.ts.
 * Usage: node migrate-child.ts DB MODE [START_AT_MS]
 * - `kill`: prints `ready`, opens the workspace, acknowledges `migrated in N ms` and waits to be killed;
 * - `race` and `race-read-only`: waits until START_AT_MS (epoch), opens the workspace (read-only
 *   for the second) and prints one JSON line: whether this process ran the upgrade's ALTER of the
 *   catalogue, or the error's code and detail.
 */

import { createNodeSqliteBackend } from '../../backends/node-sqlite/index.ts';
import type { SqlValue } from '../../core/backend.ts';
import { isFsError } from '../../core/errors.ts';
import { openWorkspace } from '../../core/workspace.ts';

const [db, mode, startAt] = process.argv.slice(2);
const backend = createNodeSqliteBackend({ path: db });
// The upgrade to version 9 adds the catalogue's id column: counted, so the parent can tell who migrated.
let altered = 0;
const run = backend.run.bind(backend);
backend.run = (sql: string, params?: readonly SqlValue[]) => {
  if (sql.startsWith('ALTER TABLE vfs_blobs ADD COLUMN id')) altered++;
  return run(sql, params);
};

if (mode === 'kill') {
  process.stdout.write('ready\n');
  const start = performance.now();
  openWorkspace(backend);
  process.stdout.write(`migrated in ${(performance.now() - start).toFixed(1)} ms\n`);
  // Waits to be killed, but not forever: a test run stopped before its kill leaves no process behind.
  setTimeout(() => {}, 120_000);
} else {
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, Number(startAt) - Date.now())));
  try {
    const ws = openWorkspace(backend, { readOnly: mode === 'race-read-only' });
    process.stdout.write(`${JSON.stringify({ altered, files: ws.find('/', '**').length })}\n`);
    ws.close();
  } catch (error) {
    if (!isFsError(error)) throw error;
    process.stdout.write(`${JSON.stringify({ altered, code: error.code, detail: error.detail })}\n`);
    backend.close();
  }
}
