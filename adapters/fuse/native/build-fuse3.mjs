#!/usr/bin/env node
// Builds dofs's libfuse 3 addon (dofs-fuse3.c → build/Release/dofs_fuse3.node) with node-gyp, as
// part of the package's postinstall. It needs libfuse 3's headers and pkg-config: when they are
// missing and this runs as root on Debian or Ubuntu, it installs them (fuse3, libfuse3-dev,
// pkg-config, build tools), as .ci/run does. (Debian's fuse3 replaces the libfuse 2 fuse package;
// fusermount becomes a link to fusermount3.)
//
// It never fails the install: on any problem it prints one warning and exits 0, and `dofs mount`
// says what to install when the addon is missing.
import { spawnSync } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = dirname(fileURLToPath(import.meta.url));
const PACKAGES = ['fuse3', 'libfuse3-dev', 'pkg-config', 'build-essential', 'python3'];

function warn(message) {
  process.stderr.write(`dofs: ${message}\n`);
  process.stderr.write(
    "dofs: everything but the FUSE mount works without it; 'npm rebuild dofs-sqlite' (in a clone: 'npm run postinstall') retries.\n",
  );
}

const ok = (command, args) => spawnSync(command, args, { stdio: 'ignore' }).status === 0;
const haveFuse3 = () => ok('pkg-config', ['--exists', 'fuse3']) && ok('sh', ['-c', 'command -v cc && command -v make']);

function installPackages() {
  if (process.getuid?.() !== 0 || !ok('sh', ['-c', 'command -v apt-get'])) return false;
  process.stdout.write(`dofs: installing ${PACKAGES.join(' ')} (libfuse 3 for the mount)\n`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const update = spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  if (update.status !== 0) return false;
  const install = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...PACKAGES], {
    stdio: 'inherit',
    env,
  });
  return install.status === 0;
}

/** The path of node-gyp.js that comes with npm, or undefined. */
function findNodeGyp() {
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

function main() {
  if (process.platform !== 'linux') return; // the mount is Linux-only
  if (!haveFuse3() && !(installPackages() && haveFuse3())) {
    warn(
      'libfuse 3 headers or build tools are missing, so the fuse3 addon was not built; install them: apt-get install -y fuse3 libfuse3-dev pkg-config build-essential python3',
    );
    return;
  }
  const nodeGyp = findNodeGyp();
  if (!nodeGyp) {
    warn('node-gyp was not found (it comes with npm), so the fuse3 addon was not built.');
    return;
  }
  // Node-API is stable across versions: headers of the running Node, or node-gyp's download.
  const args = [nodeGyp, 'rebuild'];
  const headers = `${dirname(dirname(process.execPath))}/include/node`;
  if (existsSync(`${headers}/node_api.h`)) args.push(`--nodedir=${dirname(dirname(process.execPath))}`);
  const result = spawnSync(process.execPath, args, { cwd: dir, encoding: 'utf8', env: process.env });
  if (result.status !== 0) {
    const tail = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim().split('\n').slice(-5).join('\n');
    warn(`building the fuse3 addon failed:\n${tail}`);
    return;
  }
  process.stdout.write('dofs: built the libfuse 3 addon\n');
}

try {
  main();
} catch (error) {
  warn(`building the fuse3 addon failed: ${error instanceof Error ? error.message : error}`);
}
