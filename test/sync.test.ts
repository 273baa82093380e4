import { syncCases } from '../conformance/index.ts';
import { fileTarget, memoryTarget } from './node-targets.ts';

// node:sqlite memory ↔ memory and file ↔ file. Pairs spanning two Durable Objects need each side
// to run in its own object's context; that harness comes with the Durable Object sync endpoint.
syncCases(memoryTarget);
syncCases(fileTarget);
