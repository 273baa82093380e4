/**
 * The dofs conformance suite: every filesystem behaviour, written once, run against any backend.
 *
 * ```ts
 * import { describe } from 'vitest';
 * import { runConformanceSuite } from 'dofs-sqlite/conformance';
 * runConformanceSuite({ name: 'my-backend', withBackend: ..., withRestarts: ... });
 * ```
 *
 * It imports no node-only module, so the same files run inside workerd.
 *
 * @module dofs-sqlite/conformance
 */
import { describe } from 'vitest';
import { backendCases } from './cases/backend.ts';
import { badInputCases } from './cases/bad-input.ts';
import { createAtCases } from './cases/create-at.ts';
import { depthCases } from './cases/depth.ts';
import { faultCases } from './cases/faults.ts';
import { fileCases } from './cases/files.ts';
import { forkCases } from './cases/forks.ts';
import { fuzzCases } from './cases/fuzz.ts';
import { heldTransactionCases } from './cases/held-transaction.ts';
import { holeCases } from './cases/holes.ts';
import { lifecycleCases } from './cases/lifecycle.ts';
import { modelCases } from './cases/model.ts';
import { nodeFsCases } from './cases/node-fs.ts';
import { openFileCases } from './cases/open-files.ts';
import { ownerCases } from './cases/owners.ts';
import { permissionCases } from './cases/permissions.ts';
import { providerCases } from './cases/provider.ts';
import { removeAtCases } from './cases/remove-at.ts';
import { scaleCases } from './cases/scale.ts';
import { searchCases } from './cases/search.ts';
import { snapshotModelCases } from './cases/snapshot-model.ts';
import { snapshotCases } from './cases/snapshots.ts';
import { sparseCases } from './cases/sparse.ts';
import { syncCases } from './cases/sync.ts';
import { treeCases } from './cases/tree.ts';
import { twoWriterCases } from './cases/two-writers.ts';
import type { ConformanceTarget } from './target.ts';

export { type Side, syncView } from './cases/sync.ts';
export type { CaseContext, CaseOptions, TestClock } from './harness.ts';
export { defineCase, expectCode, expectFsckClean, expectRefused, openTestWorkspace, testClock } from './harness.ts';
export { type GuardStats, guardLimits } from './limit-guard.ts';
export { type Snapshot, type SnapshotEntry, snapshot } from './snapshot.ts';
export type { ConformanceTarget, StorageHandle } from './target.ts';

/** Defines the whole suite (vitest `describe`/`it`) for one backend target. */
export function runConformanceSuite(target: ConformanceTarget): void {
  describe(`dofs conformance on ${target.name}`, () => {
    backendCases(target);
    heldTransactionCases(target);
    treeCases(target);
    depthCases(target);
    fileCases(target);
    holeCases(target);
    sparseCases(target);
    searchCases(target);
    lifecycleCases(target);
    ownerCases(target);
    createAtCases(target);
    removeAtCases(target);
    permissionCases(target);
    scaleCases(target);
    syncCases(target);
    snapshotCases(target);
    forkCases(target);
    openFileCases(target);
    faultCases(target);
    fuzzCases(target);
    badInputCases(target);
    providerCases(target);
    twoWriterCases(target);
    nodeFsCases(target);
    modelCases(target);
    snapshotModelCases(target);
  });
}
