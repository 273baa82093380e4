/**
 * The deterministic operation mix of the crash test: operation `i` of a seed is always the same,
 * so a child process and the parent's model replay the same sequence.
 */

import { patternBytes } from '../../conformance/cases/files.ts';
import type { Workspace } from '../../core/workspace.ts';
import { compactChanges } from '../../sync/compact.ts';

/** A fixed clock, so the model and the crashed workspace stamp the same times. */
export const CRASH_CLOCK = () => 1_700_000_000_000;
/** Small chunks, so writes of a few hundred KiB cross many chunk boundaries. */
export const CRASH_CHUNK_SIZE = 16 * 1024;

function random(seed: number, i: number): () => number {
  let x = (seed * 2_654_435_761 + i * 40_503 + 1) >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4_294_967_296;
  };
}

const NAMES = ['a', 'b', 'c', 'd/e', 'd/f', 'd/g/h', 'x/y'];

/** What one operation did: a mutation, or a background step and what it freed. */
export type CrashOpKind = 'mutation' | 'gc' | 'compact';
/** The result of {@link applyCrashOp}. */
export interface CrashOpResult {
  kind: CrashOpKind;
  /** Blobs freed (gc) or change-log rows dropped (compact); 0 for mutations. */
  freed: number;
}

/**
 * Every 8th operation is a step of the background maintenance a mount or a Durable Object runs
 * between requests, alternately a gc step and a compaction step, each one transaction (a gc step
 * that frees pages also vacuums and checkpoints, which takes about as long as the 7 mutations
 * before it, so kills land in both about equally often). Their bounds
 * are small (16 catalogue rows, 4 blobs, 8 change rows), so steps stop midway and continue from
 * their cursor, as they do on a large workspace. Making them operations of the sequence, acknowledged
 * like the others, is what lets the model know exactly which steps committed before a kill.
 */
function maintenanceStep(ws: Workspace, i: number): CrashOpResult | undefined {
  if (i % 16 === 7) return { kind: 'gc', freed: ws.gcStep({ maxScan: 16, maxBlobs: 4 }).blobs };
  if (i % 16 === 15) return { kind: 'compact', freed: compactChanges(ws.db, { maxRows: 8 }).removed };
  return undefined;
}

/** Applies operation `i` of `seed` to `ws`. Refusals (ENOENT, EISDIR...) are part of the mix and are swallowed. */
export function applyCrashOp(ws: Workspace, seed: number, i: number): CrashOpResult {
  const step = maintenanceStep(ws, i);
  if (step) return step;
  const next = random(seed, i);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)];
  const path = `/${pick(NAMES)}`;
  const other = `/${pick(NAMES)}`;
  const sizes = [0, 1, 100, CRASH_CHUNK_SIZE - 1, CRASH_CHUNK_SIZE, 3 * CRASH_CHUNK_SIZE + 7, 300 * 1024];
  try {
    switch (pick(['write', 'write', 'append', 'truncate', 'rename', 'rm', 'link', 'chmod', 'mkdir', 'snapshot'])) {
      case 'write':
        // Two primitives, one transaction: the operation is acknowledged whole or not at all.
        ws.db.transaction(() => {
          ws.mkdir(path.slice(0, path.lastIndexOf('/')) || '/', { recursive: true });
          ws.writeFile(path, patternBytes(pick(sizes), i + 1));
        });
        break;
      case 'append':
        ws.appendFile(path, patternBytes(pick(sizes.slice(0, 5)), i + 7));
        break;
      case 'truncate':
        ws.truncate(path, pick(sizes));
        break;
      case 'rename':
        ws.rename(pick(['/d', '/x', path]), pick(['/d2', '/x/z', other]));
        break;
      case 'rm':
        ws.rm(pick(['/d', '/x', path]), { recursive: true, force: true });
        break;
      case 'link':
        ws.link(path, other);
        break;
      case 'chmod':
        ws.chmod(path, pick([0o600, 0o644, 0o755]));
        break;
      case 'snapshot': {
        // Take one of three snapshots, or return to it when it exists (a restore is one transaction,
        // and so is dropping the snapshot it takes before, with it).
        const name = pick(['s1', 's2', 's3']);
        if (!ws.snapshots().some((info) => info.name === name)) ws.snapshot(name);
        else
          ws.db.transaction(() => {
            ws.deleteSnapshot(ws.restore(name).before.name);
            if (next() < 0.3) ws.deleteSnapshot(name);
          });
        break;
      }
      default:
        ws.mkdir(`${path}-dir/sub`, { recursive: true });
    }
  } catch (error) {
    if (typeof (error as { code?: unknown }).code !== 'string' || (error as { code: string }).code === 'EIO')
      throw error;
  }
  return { kind: 'mutation', freed: 0 };
}
