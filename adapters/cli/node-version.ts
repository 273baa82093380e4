/**
 * The Node version gate. This module must stay importable on any Node that runs ES modules:
 * the bin imports it before anything that needs `node:sqlite`.
 *
 * @module
 */

/** The oldest Node with `node:sqlite` (`DatabaseSync`) usable without a flag. */
export const MIN_NODE_VERSION = '22.13.0';

const parse = (version: string): number[] =>
  version
    .replace(/^v/, '')
    .split('.')
    .map((part) => Number.parseInt(part, 10) || 0);

/** Returns a message explaining why `version` is too old, or undefined when it is new enough. */
export function checkNodeVersion(version: string): string | undefined {
  const have = parse(version);
  const need = parse(MIN_NODE_VERSION);
  for (let i = 0; i < need.length; i++) {
    const a = have[i] ?? 0;
    if (a > need[i]) return undefined;
    if (a < need[i]) {
      return (
        `Node ${MIN_NODE_VERSION} or newer is required (it provides node:sqlite); this is Node ${version.replace(/^v/, '')}.\n` +
        'In a clone of the dofs repository, `npm install` adds Node 24 under node_modules/.bin: run dofs through `npm exec dofs` or an npm script.'
      );
    }
  }
  return undefined;
}
