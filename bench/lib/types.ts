/**
 * The shapes every bench module shares: a filesystem under test ({@link BenchFs}), a system that
 * opens one ({@link SystemDef}), and a workload that drives it ({@link Workload}).
 *
 * Everything here and in bench/lib and bench/workloads is portable: it runs in Node and, unchanged,
 * inside a Durable Object in workerd (no node:fs, no node:os).
 */

/** An open file: positional writes and reads, as pwrite(2)/pread(2). */
export interface BenchFile {
  /** Writes `data` at `position`. */
  write(data: Uint8Array, position: number): void;
  /** Reads into `into` from `position`; returns the bytes read. */
  read(into: Uint8Array, position: number): number;
  close(): void;
}

/** What a workload may do to a filesystem. Paths are absolute within the system's own root. */
export interface BenchFs {
  mkdirp(path: string): void;
  writeFile(path: string, data: Uint8Array): void;
  readFile(path: string): Uint8Array;
  /** Size of the file (stat follows symlinks). */
  stat(path: string): number;
  readdir(path: string): string[];
  /** Entries with their kind (readdir withFileTypes). */
  readdirTypes(path: string): Array<{ name: string; dir: boolean }>;
  rename(from: string, to: string): void;
  copyFile(from: string, to: string): void;
  /** rm -r: the system's own recursive removal where it has one, else a walk of unlink/rmdir. */
  rmrf(path: string): void;
  /** Opens for positional I/O: `w` creates/truncates, `r` reads, `r+` reads and writes in place. */
  open(path: string, flags: 'w' | 'r' | 'r+'): BenchFile;
  /** The system's own search, where it has one (this engine's find). */
  find?(dir: string, glob: string): string[];
  /** The system's own grep, where it has one; returns the number of matching lines. */
  grep?(literal: string, dir: string): number;
  /** Another way to write a file sequentially, where the system has one (this engine's buffered write session). */
  openBuffered?(path: string): BenchFile;
  /** Bytes of file content the system stores, when it can say (undefined: it stores every logical byte). */
  storedBytes?(): { stored: number; garbage?: number; onDisk?: number } | undefined;
  /**
   * Called before each phase, outside its timing: a system that takes a snapshot here measures
   * every phase with a snapshot that sees all the rows the phase changes.
   */
  beforePhase?(): void;
  /** Counters read before and after each phase (statements, rows read/written), where the system counts. */
  counters?(): Record<string, number>;
  close(): void;
}

/** Who a system is in the comparison. */
export type Role = 'engine' | 'peer' | 'fs-limit' | 'storage-limit';

/** One system under test. */
export interface SystemDef {
  /** Short id used in tables and JSON, e.g. `dofs:mem`. */
  id: string;
  /** What it is, for the report. */
  label: string;
  role: Role;
  /** Scenario ids this system can run (storage limits only run the large-file ones). Default: all. */
  only?: readonly string[];
  open(): BenchFs | Promise<BenchFs>;
}

/** One timed phase of one run. */
export interface PhaseSample {
  ms: number;
  /** Minor page faults during the phase (Node only). */
  faults?: number;
  /** Operations the phase was sized for (files, writes...). */
  ops: number;
  /** The phase ran out of its time budget: `ms` is extrapolated from `done` ops (constant cost per op). */
  estimated?: boolean;
  /** The phase ran out of its time budget and cannot be extrapolated: `ms` is a lower bound. */
  lowerBound?: boolean;
  /** Ops actually done when the budget ran out. */
  done?: number;
  /** Counter deltas (statements, rows read, rows written). */
  counters?: Record<string, number>;
  /** Anything else a phase reports (stored bytes). */
  values?: Record<string, number>;
}

/** How {@link Recorder.loop} treats a loop that runs out of budget. */
export interface LoopOptions {
  /** Every op costs about the same, so the time is extrapolated to all ops; else it is a lower bound. */
  constantCost: boolean;
  /** Runs inside the timed part before the loop (opening a file loads it whole on some systems). */
  before?: () => void;
  /** Runs inside the timed part after the loop. */
  after?: () => void;
}

/** Times phases of a run. */
export interface Recorder {
  /** Times `fn` as phase `name` sized `ops`. */
  phase(name: string, ops: number, fn: () => void): void;
  /**
   * Times a loop of `ops` operations as phase `name` under the run's time budget. When the budget
   * runs out, `constantCost` phases are extrapolated to `ops`, others are reported as a lower bound.
   * `after` runs inside the timed part once the loop ends (closing a handle commits some systems).
   * Returns how many ops were done.
   */
  loop(name: string, ops: number, fn: (i: number) => void, options: LoopOptions): number;
  /** Records values that are not times (stored bytes). */
  value(name: string, values: Record<string, number | undefined>): void;
}

/** A scenario: phases run in order on one fresh filesystem. */
export interface Workload<P = unknown> {
  id: string;
  title: string;
  /** Phase names in order, for the table. */
  phases: readonly string[];
  run(fs: BenchFs, rec: Recorder, params: P): void;
}
