/**
 * Touching the machine's memory once before a benchmark that grows a process by gigabytes.
 *
 * On a freshly booted VM (these machines are Firecracker guests), the first time the guest writes
 * a page of its memory the host must supply it: measured here, a 64 MiB `Buffer` filled in a
 * fresh process cost 0.4-0.6 ms of system time per MiB while it landed on pages used before since
 * boot, and 3-4.4 ms per MiB (eight times as much) once it went past them; the same run again right
 * after, on the pages the first one had freed, stayed at 0.3-0.6 throughout. A series that grows to
 * 1 GiB on a fresh machine therefore shows the hypervisor's first touch as growth (the system
 * time per MiB of an in-memory write rose 0.6 -> 4 ms past the memory touched before), which is not
 * what the growth benchmark measures. A child process fills `gib` GiB and exits, handing the pages
 * back to the guest's free lists, where the benchmark's allocations find them.
 *
 * @module
 */
import { spawnSync } from 'node:child_process';
import { freemem } from 'node:os';

const CHILD = `
const keep = [];
for (let i = 0; i < Number(process.argv[1]); i++) keep.push(Buffer.alloc(64 * 2 ** 20, 1));
`;

/**
 * Fills `gib` GiB of memory in a child process (at most half the machine's free memory) and
 * returns what it did, for the benchmark's header.
 */
export function warmMachineMemory(gib: number): string {
  const blocks = Math.floor(Math.min(gib * 2 ** 30, freemem() / 2) / 2 ** 26);
  if (blocks <= 0) return 'machine memory: not pre-touched';
  const started = performance.now();
  const child = spawnSync(process.execPath, ['-e', CHILD, String(blocks)], { stdio: 'inherit' });
  if (child.status !== 0) throw new Error(`pre-touching ${blocks * 64} MiB of memory failed (${child.status})`);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  return `machine memory: ${(blocks / 16).toFixed(1)} GiB pre-touched in a child process (${seconds} s)`;
}
