/** Import a real package tree (files loaded into memory first, untimed), then read it all back. */
import type { BenchFs, Recorder, Workload } from '../lib/types.ts';

export interface TreeFile {
  path: string;
  bytes: Uint8Array;
}

export interface ImportParams {
  name: string;
  dirs: string[];
  files: TreeFile[];
}

function run(fs: BenchFs, rec: Recorder, { dirs, files }: ImportParams): void {
  const total = files.reduce((sum, file) => sum + file.bytes.byteLength, 0);
  rec.phase('import', files.length, () => {
    for (const dir of dirs) fs.mkdirp(dir);
    for (const file of files) fs.writeFile(file.path, file.bytes);
  });
  let read = 0;
  rec.phase('read all', files.length, () => {
    for (const file of files) read += fs.readFile(file.path).byteLength;
  });
  if (read !== total) throw new Error(`import: read ${read} of ${total} bytes`);
}

export function importTree(params: ImportParams): Workload<ImportParams> & { params: ImportParams } {
  const bytes = params.files.reduce((sum, file) => sum + file.bytes.byteLength, 0);
  return {
    id: 'import',
    title: `import ${params.name} (${params.files.length} files, ${(bytes / 1048576).toFixed(1)} MiB)`,
    phases: ['import', 'read all'],
    params,
    run,
  };
}
