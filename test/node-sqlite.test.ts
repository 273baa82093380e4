import { runConformanceSuite } from '../conformance/index.ts';
import { fileTarget, memoryTarget } from './node-targets.ts';

runConformanceSuite(memoryTarget);
runConformanceSuite(fileTarget);
