/**
 * Human-readable reports shared by several commands (du, fsck, import, start).
 *
 * @module
 */
import type { FsckReport, Usage } from '../../core/index.ts';
import { formatBytes, formatCount, plural } from './format.ts';
import type { ImportSummary } from './import-tree.ts';

const row = (label: string, value: string): string => `  ${label.padEnd(13)}${value}`;
const bytes = (n: number): string => `${formatBytes(n)} (${formatCount(n)} bytes)`;

/** The lines of `dofs du`. */
export function usageLines(usage: Usage): string[] {
  return [
    row('files', formatCount(usage.files)),
    row('directories', formatCount(usage.directories)),
    row('symlinks', formatCount(usage.symlinks)),
    row('bytes', bytes(usage.logicalBytes)),
    row(
      'allocated',
      `${bytes(usage.allocatedBytes)}${usage.allocatedBytes < usage.logicalBytes ? ' (the rest are holes)' : ''}`,
    ),
    row('stored', bytes(usage.storedBytes)),
    ...(usage.snapshots.length > 0
      ? [
          row('snapshots', `${bytes(usage.snapshotBytes)} held only by ${plural(usage.snapshots.length, 'snapshot')}`),
          ...usage.snapshots.map((held) => row('', `${held.name}: ${formatBytes(held.bytes)} alone`)),
        ]
      : []),
    row('garbage', `${bytes(usage.garbageBytes)}${garbageAdvice(usage)}`),
    row('dedup ratio', `${usage.dedupRatio.toFixed(2)}x`),
    row('blobs', formatCount(usage.blobs)),
    row('chunk size', formatBytes(usage.chunkSize)),
  ];
}

/** What happens to the garbage: only what gc would free now is promised to 'dofs gc'. */
function garbageAdvice(usage: Usage): string {
  if (usage.garbageBytes === 0) return '';
  const staged = usage.stagedGarbageBytes;
  const now = usage.garbageBytes - staged;
  const parts: string[] = [];
  if (now > 0)
    parts.push(`${formatBytes(now)} freed by the next 'dofs gc' (or any change, or a running mount, by itself)`);
  if (staged > 0)
    parts.push(`${formatBytes(staged)} staged by unfinished writes within the last hour, kept until then`);
  return `: ${parts.join('; ')}`;
}

/** One line saying whether fsck passed. */
export function fsckVerdict(report: FsckReport): string {
  const { nodes, chunks, blobs, bytesHashed, nameless } = report.checked;
  // Files removed while open (by a mount, or a process that ended so) are no problem, but worth naming.
  const open = nameless > 0 ? `, ${formatCount(nameless)} removed while open` : '';
  const what = `${formatCount(nodes)} nodes, ${formatCount(chunks)} chunks, ${formatCount(blobs)} blobs, ${formatBytes(bytesHashed)} hashed${open}`;
  return report.ok
    ? `ok (${what})`
    : `${report.problems.length} problem${report.problems.length === 1 ? '' : 's'} (${what})`;
}

/** Every problem fsck found, one per line. */
export function fsckProblemLines(report: FsckReport): string[] {
  return report.problems.map((problem) => {
    const where = problem.path ?? (problem.inode !== undefined ? `inode ${problem.inode}` : (problem.hash ?? ''));
    return `${problem.check}: ${problem.message}${where ? ` [${where}]` : ''}`;
  });
}

/** One line describing an import. */
export function importLine(summary: ImportSummary, source: string, to: string): string {
  const parts = [
    `${formatCount(summary.files)} file${summary.files === 1 ? '' : 's'} (${formatBytes(summary.bytes)})`,
    `${formatCount(summary.directories)} director${summary.directories === 1 ? 'y' : 'ies'}`,
    `${formatCount(summary.symlinks)} symlink${summary.symlinks === 1 ? '' : 's'}`,
  ];
  if (summary.hardLinks > 0)
    parts.push(`${formatCount(summary.hardLinks)} hard link${summary.hardLinks === 1 ? '' : 's'}`);
  const skipped = summary.skipped.length > 0 ? `; skipped ${summary.skipped.length} special file(s)` : '';
  return `imported ${parts.join(', ')} from ${source} into ${to}${skipped}`;
}

/** The progress text of an import or export. */
export function progressText(
  verb: string,
  summary: { files: number; directories: number; symlinks: number; bytes: number },
): string {
  return `${verb}: ${plural(summary.files, 'file')}, ${plural(summary.directories, 'dir')}, ${plural(summary.symlinks, 'symlink')}, ${formatBytes(summary.bytes)}`;
}
