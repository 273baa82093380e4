/**
 * One large file: write it sequentially in 64 KiB writes through an open file, read it back in
 * 64 KiB reads, make 1,000 random 4 KiB overwrites in place, copy it. Where the system has a
 * second way to write sequentially (this engine's buffered write session, the FUSE path), that is
 * timed too, on different bytes so no chunk is already stored.
 */
import { KiB, prng, randomBuffer } from '../lib/data.ts';
import type { BenchFile, BenchFs, Recorder, Workload } from '../lib/types.ts';

export interface LargeParams {
  size: number;
  writeSize: number;
  overwrites: number;
  overwriteSize: number;
}

const FILE = '/big.bin';

function run(fs: BenchFs, rec: Recorder, p: LargeParams): void {
  const source = randomBuffer(p.size);
  const writes = Math.ceil(p.size / p.writeSize);
  const readBuffer = randomBuffer(p.writeSize); // faulted in before the clock starts
  const patches = randomBuffer(p.overwrites * p.overwriteSize);
  const next = prng(7);
  const offsets = Array.from(
    { length: p.overwrites },
    () => Math.floor(next() * (p.size / p.overwriteSize)) * p.overwriteSize,
  );

  // Opening is timed with the loop: some systems load the whole file at open.
  let file: BenchFile;
  const done = rec.loop(
    'write (fd)',
    writes,
    (i) => file.write(source.subarray(i * p.writeSize, (i + 1) * p.writeSize), i * p.writeSize),
    { constantCost: false, before: () => (file = fs.open(FILE, 'w')), after: () => file.close() },
  );
  // A system too slow to finish within the budget gets the file written whole, untimed, for what follows.
  if (done < writes) fs.writeFile(FILE, source);
  if (fs.stat(FILE) !== p.size) throw new Error(`write: size ${fs.stat(FILE)}`);

  if (fs.openBuffered) {
    const other = randomBuffer(p.size);
    const openBuffered = fs.openBuffered;
    let buffered: BenchFile;
    rec.loop(
      'write (buffered)',
      writes,
      (i) => buffered.write(other.subarray(i * p.writeSize, (i + 1) * p.writeSize), i * p.writeSize),
      {
        constantCost: false,
        before: () => (buffered = openBuffered('/big-buffered.bin')),
        after: () => buffered.close(),
      },
    );
  }

  let mismatch = -1;
  rec.loop(
    'read (fd)',
    writes,
    (i) => {
      const at = i * p.writeSize;
      const n = file.read(readBuffer, at);
      if (
        n !== Math.min(p.writeSize, p.size - at) ||
        readBuffer[0] !== source[at] ||
        readBuffer[n - 1] !== source[at + n - 1]
      )
        mismatch = i;
    },
    { constantCost: true, before: () => (file = fs.open(FILE, 'r')), after: () => file.close() },
  );
  if (mismatch >= 0) throw new Error(`read: block ${mismatch} differs`);

  rec.loop(
    `${p.overwrites} random ${p.overwriteSize / KiB} KiB overwrites`,
    p.overwrites,
    (i) => file.write(patches.subarray(i * p.overwriteSize, (i + 1) * p.overwriteSize), offsets[i]),
    { constantCost: true, before: () => (file = fs.open(FILE, 'r+')), after: () => file.close() },
  );

  rec.phase('copy', 1, () => fs.copyFile(FILE, '/big-copy.bin'));
  if (fs.stat('/big-copy.bin') !== p.size) throw new Error('copy: wrong size');
  const stored = fs.storedBytes?.();
  if (stored) rec.value('end of run', { logical: 2 * p.size, ...stored });
}

export function largeFile(size: number): Workload<LargeParams> & { params: LargeParams } {
  const params = { size, writeSize: 64 * KiB, overwrites: 1000, overwriteSize: 4 * KiB };
  return {
    id: 'large',
    title: `one ${size / (1024 * KiB)} MiB file: 64 KiB writes and reads, 1,000 random 4 KiB overwrites, copy`,
    phases: ['write (fd)', 'write (buffered)', 'read (fd)', '1000 random 4 KiB overwrites', 'copy'],
    params,
    run,
  };
}
