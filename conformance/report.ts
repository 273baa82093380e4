/**
 * Figures the reliability cases produce (faults injected, calls fuzzed), handed to a reporter the
 * test runner may install (the node runs write them into docs/reliability.md). Where none is
 * installed (inside workerd), reporting does nothing.
 *
 * @module
 */

/** The reporter's signature: a figure's key and its one-line text. */
export type FigureReporter = (key: string, text: string) => void;

/** Hands a figure to the installed reporter, if any. */
export function reportFigure(key: string, text: string): void {
  (globalThis as { dofsReportFigure?: FigureReporter }).dofsReportFigure?.(key, text);
}
