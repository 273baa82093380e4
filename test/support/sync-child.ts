/**
 * The sync fault test's replica: syncs the file-backed workspace DB with the authority at the
 * other end of the IPC channel (8 entries a batch, so a sync has many steps to be killed in), says
 * `ready` before and `synced` after. Usage: node sync-child.ts DB
 */
import { createNodeSqliteBackend } from '../../backends/node-sqlite/index.ts';
import { openWorkspace } from '../../core/workspace.ts';
import { createSyncDriver } from '../../sync/driver.ts';
import { frameTransport } from '../../sync/frames.ts';
import { dialRpc } from '../../sync/rpc.ts';
import { MAX_MESSAGE_BYTES } from '../../sync/websocket.ts';
import { ipcFramePipe } from './ipc-frames.ts';

const ws = openWorkspace(createNodeSqliteBackend({ path: process.argv[2] }));
const remote = dialRpc(frameTransport(ipcFramePipe(process), MAX_MESSAGE_BYTES));
process.stdout.write('ready\n');
await createSyncDriver(
  ws.db,
  remote.forward((_method, _args, call) => call()),
  { batchEntries: 8 },
).sync();
process.stdout.write('synced\n');
ws.close();
process.exit(0);
