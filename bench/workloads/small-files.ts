/**
 * Small files: create N files of 1 KiB in nested directories (100 per directory, 10 directories
 * per parent), stat them all, list every directory, read them all; on the larger tree also find
 * and grep (by walking the fs API, the same code everywhere; and with the system's own find/grep
 * where it has them), rename the root of the tree (every file is a descendant); then rm -r.
 */
import { Buffer } from 'node:buffer';
import { NEEDLE, smallContent, smallLayout } from '../lib/data.ts';
import type { BenchFs, Recorder, Workload } from '../lib/types.ts';

export interface SmallParams {
  count: number;
  /** Also find, grep and rename (the 10,000-file tree). */
  search: boolean;
}

const ROOT = '/tree';
const MOVED = '/tree-moved';

function walk(fs: BenchFs, dir: string, visit: (path: string, name: string) => void): void {
  for (const entry of fs.readdirTypes(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.dir) walk(fs, path, visit);
    else visit(path, entry.name);
  }
}

function check(what: string, got: number, want: number): void {
  if (got !== want) throw new Error(`${what}: got ${got}, expected ${want}`);
}

function run(fs: BenchFs, rec: Recorder, { count, search }: SmallParams): void {
  const layout = smallLayout(ROOT, count);
  const contents: Buffer[] = layout.files.map((_, i) => smallContent(i));
  const tsFiles = layout.files.filter((file) => file.endsWith('.ts')).length;
  const needles = Math.ceil(count / 50);

  // Every file costs about the same to create, stat or read, so a system too slow for the time
  // budget is extrapolated; one that could not create them all in time stops after the creation.
  const created = rec.loop(
    'create',
    count,
    (i) => {
      if (i % 100 === 0) fs.mkdirp(layout.leaves[i / 100]);
      fs.writeFile(layout.files[i], contents[i]);
    },
    { constantCost: true },
  );
  if (created < count) return;
  let total = 0;
  if (rec.loop('stat', count, (i) => (total += fs.stat(layout.files[i])), { constantCost: true }) === count)
    check('stat bytes', total, count * 1024);
  let listed = 0;
  rec.phase('readdir', layout.dirs.length + 1, () => {
    listed += fs.readdir(ROOT).length;
    for (const dir of layout.dirs) listed += fs.readdir(dir).length;
  });
  check('readdir entries', listed, count + layout.dirs.length);
  let read = 0;
  rec.phase('read', count, () => {
    for (const file of layout.files) read += fs.readFile(file).byteLength;
  });
  check('read bytes', read, count * 1024);

  if (search) {
    let found = 0;
    rec.phase('find *.ts (walk)', count, () => {
      walk(fs, ROOT, (_path, name) => {
        if (name.endsWith('.ts')) found++;
      });
    });
    check('find (walk)', found, tsFiles);
    let hits = 0;
    rec.phase('grep (walk)', count, () => {
      walk(fs, ROOT, (path) => {
        const bytes = fs.readFile(path);
        if (Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).includes(NEEDLE)) hits++;
      });
    });
    check('grep (walk)', hits, needles);
    if (fs.find && fs.grep) {
      let nativeFound = 0;
      rec.phase('find *.ts (own)', count, () => {
        nativeFound = fs.find?.(ROOT, '**/*.ts').length ?? 0;
      });
      check('find (own)', nativeFound, tsFiles);
      let nativeHits = 0;
      rec.phase('grep (own)', count, () => {
        nativeHits = fs.grep?.(NEEDLE, ROOT) ?? 0;
      });
      check('grep (own)', nativeHits, needles);
    }
    rec.phase('rename dir', count, () => fs.rename(ROOT, MOVED));
    check('renamed', fs.stat(`${MOVED}${layout.files[count - 1].slice(ROOT.length)}`), 1024);
  }
  const top = search ? MOVED : ROOT;
  rec.phase('rm -r', count, () => fs.rmrf(top));
}

const searchPhases = ['find *.ts (walk)', 'grep (walk)', 'find *.ts (own)', 'grep (own)', 'rename dir'];

export function smallFiles(count: number, search: boolean): Workload<SmallParams> & { params: SmallParams } {
  return {
    id: `small-${count >= 1000 ? `${count / 1000}k` : count}`,
    title: `${count.toLocaleString('en-US')} small files (1 KiB, 100 per directory)`,
    phases: ['create', 'stat', 'readdir', 'read', ...(search ? searchPhases : []), 'rm -r'],
    params: { count, search },
    run,
  };
}
