// Finding npm's own node-gyp, for the install-time builds (patch-fuse-native.mjs, build-fuse3.mjs).
// Plain JavaScript: it runs during `npm install`, on whichever Node npm runs scripts with.
import { spawnSync } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The path of node-gyp.js that comes with npm, or undefined. */
export function findNodeGyp() {
  const candidates = [];
  if (process.env.npm_config_node_gyp) candidates.push(process.env.npm_config_node_gyp);
  if (process.env.npm_execpath) {
    candidates.push(join(dirname(process.env.npm_execpath), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  }
  // npm's own copy, found from the npm on the PATH (bin/npm → lib/node_modules/npm/bin/npm-cli.js).
  const which = spawnSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' });
  if (which.status === 0 && which.stdout.trim() !== '') {
    try {
      const cli = realpathSync(which.stdout.trim());
      candidates.push(join(dirname(cli), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
    } catch {
      // not resolvable: try the others
    }
  }
  return candidates.find((path) => existsSync(path));
}
