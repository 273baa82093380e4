import { runConformanceSuite } from '../conformance/index.ts';
import { fileTarget, memoryTarget } from './node-targets.ts';
import { installReliabilityReport } from './support/reliability-report.ts';

installReliabilityReport();

runConformanceSuite(memoryTarget);
runConformanceSuite(fileTarget);
