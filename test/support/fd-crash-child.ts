/**
 * Writes files through `createNodeFs`'s fds on a node:sqlite file until killed, acknowledging only
 * what fsync or close made durable. Usage: node fd-crash-child.ts DB FIRST_FILE
 * File k (from FIRST_FILE on) is written front to back by writeSync calls of {@link blockSize}
 * bytes (not a divisor of the 64 KiB chunk, so writes straddle chunk edges), its bytes
 * {@link expectedContent}; after every {@link FSYNC_EVERY}th write it is fsynced and `sync k LENGTH`
 * printed; after {@link BLOCKS} writes it is closed and `closed k LENGTH` printed. Prints `ready`
 * once the workspace is open.
 */

import { createNodeFs } from '../../adapters/node-fs/index.ts';
import { createNodeSqliteBackend } from '../../backends/node-sqlite/index.ts';
import { openWorkspace } from '../../core/workspace.ts';

/** Writes per file, and how many between two fsyncs. */
export const BLOCKS = 40;
export const FSYNC_EVERY = 3;

/** File k's writes: 50,000 bytes and k % 7 more. */
export const blockSize = (k: number): number => 50_000 + (k % 7);

/** Everything file k is written with: byte `offset` is a function of k and `offset`. */
export function expectedContent(k: number): Buffer {
  const bytes = Buffer.alloc(blockSize(k) * BLOCKS);
  for (let offset = 0; offset < bytes.length; offset++) bytes[offset] = (k * 31 + offset * 7 + (offset >> 16)) & 0xff;
  return bytes;
}

if (process.argv[1]?.endsWith('fd-crash-child.ts')) {
  const [db, first] = process.argv.slice(2);
  const fs = createNodeFs(openWorkspace(createNodeSqliteBackend({ path: db })));
  process.stdout.write('ready\n');
  for (let k = Number(first); ; k++) {
    const fd = fs.openSync(`/f${k}`, 'w');
    const size = blockSize(k);
    const content = expectedContent(k);
    let length = 0;
    for (let i = 1; i <= BLOCKS; i++) {
      fs.writeSync(fd, content.subarray(length, length + size));
      length += size;
      if (i % FSYNC_EVERY === 0) {
        fs.fsyncSync(fd);
        process.stdout.write(`sync ${k} ${length}\n`);
      }
    }
    fs.closeSync(fd);
    process.stdout.write(`closed ${k} ${length}\n`);
  }
}
