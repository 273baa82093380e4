/** The conformance suite, inside workerd, against real SQLite-backed Durable Objects. */
import { runConformanceSuite } from '../../conformance/index.ts';
import { doSqlTarget } from './do-target.ts';

runConformanceSuite(doSqlTarget);
