/** Dedup: the same bytes written as ten files (whole-file writes); reports the bytes stored. */
import { randomBuffer } from '../lib/data.ts';
import type { BenchFs, Recorder, Workload } from '../lib/types.ts';

export interface DedupParams {
  size: number;
  copies: number;
}

function run(fs: BenchFs, rec: Recorder, { size, copies }: DedupParams): void {
  const data = randomBuffer(size);
  fs.mkdirp('/dedup');
  rec.phase(`write ${copies}×`, copies, () => {
    for (let i = 0; i < copies; i++) fs.writeFile(`/dedup/copy${i}.bin`, data);
  });
  for (let i = 0; i < copies; i++) if (fs.stat(`/dedup/copy${i}.bin`) !== size) throw new Error('dedup: wrong size');
  const stored = fs.storedBytes?.();
  rec.value(`write ${copies}×`, { logical: size * copies, ...(stored ?? { stored: size * copies }) });
}

export function dedup(size: number, copies = 10): Workload<DedupParams> & { params: DedupParams } {
  return {
    id: 'dedup',
    title: `dedup: one ${size / (1024 * 1024)} MiB file written ${copies} times`,
    phases: [`write ${copies}×`],
    params: { size, copies },
    run,
  };
}
