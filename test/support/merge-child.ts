/**
 * The merge crash test's child: merges the workspace THEIRS into OURS (both node:sqlite files) and
 * says `ready` just before, so the parent can kill it at a random moment of the merge.
 * Usage: node merge-child.ts OURS THEIRS
 */
import { createNodeSqliteBackend } from '../../backends/node-sqlite/index.ts';
import { openWorkspace } from '../../core/workspace.ts';
import { local, merge } from '../../sync/fork.ts';

/** The clock of both workspaces, here and in the test: a merge writes the same times in every run. */
export const CLOCK = 1_700_000_000_000;

if (process.argv[1]?.endsWith('merge-child.ts')) {
  const [ours, theirs] = process.argv
    .slice(2)
    .map((path) => openWorkspace(createNodeSqliteBackend({ path }), { now: () => CLOCK }));
  process.stdout.write('ready\n');
  await merge(local(ours.db), local(theirs.db));
  process.stdout.write('merged\n');
  ours.close();
  theirs.close();
}
