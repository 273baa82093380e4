/**
 * The package as its users get it: `npm pack` the repository, install the tarball into a fresh
 * project in a temporary directory with only what the README and docs say to install, and run the
 * documentation's own code there, copied out of the Markdown:
 *
 * - npm's review of install scripts (npm 11.16 and later): the package's one is the mount's addon
 *   build, and README.md's approve-and-rebuild line clears the warning;
 * - README.md's library example, whose `// …` comments are its expected output, and its node:fs
 *   and @platformatic/vfs lines on that workspace;
 * - docs/snapshots.md's first example, its comments checked against the values;
 * - docs/writing-a-backend.md's conformance target, every case of which must pass;
 * - its workerd target, in a second project set up as that section says (vitest and
 *   @cloudflare/vitest-plugin): the backend contract, restarts and sync on default pages (67
 *   cases on 2026-12-07; 48 took about 30-40 s on a loaded 2-core machine; all three target
 *   methods); with `DOFS_PACKAGE_ALL_CASES=1` (`npm run test:package`, which CI runs after
 *   `npm test`), every case, and those cases again in a third project on the integration's former name
 *   (vitest 4 and @cloudflare/vitest-pool-workers, the install line the section gives for it);
 * - docs/durable-objects.md's Durable Object and wrangler.jsonc, bundled by wrangler from the
 *   installed package and run on workerd;
 * - that Durable Object with the sync section's fragment put where its comments say, serving
 *   docs/snapshots.md's remote fork and merge and the CLI's sync from the installed package;
 * - a replica syncing with the example Worker through `dofs-sqlite/sync`.
 *
 * Nothing here imports the sources: a missing export, a devDependency needed at run time or a doc
 * example that went stale fails this file.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fencedBlock } from './support/docs.ts';
import { authorizedFetch, type DevServer, ROOT, startDev } from './support/wrangler-dev.ts';

const run = promisify(execFile);

const readDoc = (path: string) => readFileSync(join(ROOT, path), 'utf8');

/** The environment of a user's shell: this Node first on PATH, nothing of the running vitest. */
const USER_ENV: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries({
    ...process.env,
    PATH: `${dirname(process.execPath)}:${process.env.PATH}`,
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
  }).filter(([key]) => !/^(VITEST|TEST$|NODE_OPTIONS$|NODE_ENV$)/.test(key)),
);

/** Runs a command as a user would, in `cwd`; returns its stdout. */
async function sh(cwd: string, command: string, args: string[], timeout = 180_000): Promise<string> {
  try {
    const { stdout } = await run(command, args, { cwd, env: USER_ENV, timeout, maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch (error) {
    const { stdout, stderr, killed, signal } = error as {
      stdout?: string;
      stderr?: string;
      killed?: boolean;
      signal?: string;
    };
    const how = killed ? `was stopped (${signal}) after its ${timeout / 1000} s` : 'failed';
    throw new Error(`${command} ${args.join(' ')} ${how} in ${cwd}:\n${stderr}\n${stdout?.slice(-4000)}`);
  }
}

/** One case of a vitest JSON report. */
interface ReportedCase {
  ancestorTitles: string[];
  fullName: string;
  status: string;
  failureMessages: string[];
}

/**
 * Runs `file` with vitest in `project` (with `-t filter` when given): the number of cases defined,
 * and those that ran (not filtered out), failures first with the start of their message. A run with
 * failures still reports them, so the assertion names the cases.
 */
async function vitestRun(project: string, file: string, filter?: string, timeout?: number) {
  const report = join(project, 'vitest-report.json');
  rmSync(report, { force: true });
  const args = ['vitest', 'run', '--reporter=json', `--outputFile=${report}`, file, ...(filter ? ['-t', filter] : [])];
  await sh(project, 'npx', args, timeout).catch((error) => {
    if (!existsSync(report)) throw error;
  });
  const result = JSON.parse(readFileSync(report, 'utf8')) as {
    numTotalTests: number;
    testResults: Array<{ assertionResults: ReportedCase[] }>;
  };
  const ran = result.testResults.flatMap((each) => each.assertionResults).filter((c) => c.status !== 'skipped');
  return {
    total: result.numTotalTests,
    ran,
    failed: ran
      .filter((c) => c.status !== 'passed')
      .map((c) => ({ name: c.fullName, status: c.status, message: c.failureMessages[0]?.slice(0, 1500) })),
  };
}

/** Writes a doc's fenced block into `project` at the path its first line names (`// path …`). */
function writeBlock(project: string, block: string): string {
  const file = /^\/\/ (\S+)/.exec(block)?.[1];
  if (!file) throw new Error(`a block without its file name:\n${block}`);
  mkdirSync(dirname(join(project, file)), { recursive: true });
  writeFileSync(join(project, file), block);
  return file;
}

const manifest = JSON.parse(readDoc('package.json')) as { name: string; exports: Record<string, unknown> };

describe('the packed tarball, installed in a fresh project', { timeout: 240_000 }, () => {
  let temp: string;
  let tarball: string;
  let project: string;

  beforeAll(async () => {
    temp = mkdtempSync(join(tmpdir(), 'dofs-package-'));
    // `npm pack` runs `prepare` (the build), as publishing does.
    const packed = JSON.parse(await sh(ROOT, 'npm', ['pack', '--json', '--pack-destination', temp])) as Array<{
      filename: string;
    }>;
    tarball = join(temp, packed[0].filename);
    project = join(temp, 'project');
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    // What the docs tell a user to install: the package, and vitest for the conformance suite.
    await sh(project, 'npm', ['install', '--prefer-offline', tarball]);
    await sh(project, 'npm', ['install', '--prefer-offline', '-D', 'vitest']);
  }, 240_000);

  // Two projects' node_modules, one with workerd: deleting them takes a while on a busy disk.
  afterAll(() => {
    if (temp) rmSync(temp, { recursive: true, force: true });
  }, 120_000);

  it('imports every subpath of the exports map', async () => {
    const subpaths = Object.keys(manifest.exports)
      .filter((key) => key !== './package.json')
      .map((key) => manifest.name + key.slice(1));
    const script = `for (const path of ${JSON.stringify(subpaths)}) {
      const module = await import(path);
      console.log(path, Object.keys(module).length);
    }`;
    const out = await sh(project, process.execPath, ['--input-type=module', '-e', script]);
    for (const path of subpaths) expect(out).toMatch(new RegExp(`^${path} [1-9]\\d*$`, 'm'));
    // The declarations check of `npm run typecheck` imports every subpath too.
    const consumer = readDoc('test/consumer-types/index.ts');
    expect(subpaths.filter((path) => !consumer.includes(`from '${path}';`))).toEqual([]);
  });

  // The machine's own Node, when it is one without node:sqlite (Debian 12 ships Node 20).
  const oldNode = ['/usr/bin/node', '/usr/local/bin/node'].find((path) => {
    try {
      const major = Number(/^v(\d+)/.exec(execFileSync(path, ['--version'], { encoding: 'utf8' }))?.[1]);
      return major > 0 && major < 22;
    } catch {
      return false;
    }
  });
  it.runIf(oldNode)('explains itself on a Node without node:sqlite, on import of the node-sqlite backend', async () => {
    const script =
      "import('dofs-sqlite/backends/node-sqlite').then(() => console.log('loaded'), (e) => console.log(e.message))";
    const out = await sh(project, oldNode as string, ['--input-type=module', '-e', script]);
    expect(out).toMatch(
      /^\S+\/backends\/node-sqlite needs node:sqlite, which Node 2\d\.\S+ does not provide: use Node 22\.13 or later/,
    );
    expect(out.split('/')[0]).toBe(manifest.name);
    // The engine itself loads: only the backend needs node:sqlite.
    const engine = await sh(project, oldNode as string, [
      '--input-type=module',
      '-e',
      "import('dofs-sqlite').then((m) => console.log(typeof m.openWorkspace))",
    ]);
    expect(engine.trim()).toBe('function');
  });

  it('ships LICENSE and CHANGELOG.md, and everything `files` names', async () => {
    for (const name of ['LICENSE', 'CHANGELOG.md', 'README.md', 'package.json']) {
      expect(existsSync(join(project, 'node_modules', manifest.name, name)), name).toBe(true);
    }
    const license = readFileSync(join(project, 'node_modules', manifest.name, 'LICENSE'), 'utf8');
    expect(license).toMatch(/^MIT License/);
    expect(JSON.parse(readDoc('package.json')).license).toBe('MIT');
  });

  // npm 11.16 added the review of dependencies' install scripts (`npm install-scripts`); an older
  // npm runs them without a word, so there is nothing to review.
  const npmVersion = execFileSync('npm', ['--version'], { encoding: 'utf8', env: USER_ENV }).trim();
  const [npmMajor, npmMinor] = npmVersion.split('.').map(Number);
  it.runIf(npmMajor > 11 || (npmMajor === 11 && npmMinor >= 16))(
    `npm ${npmVersion}'s install-script review names only the mount's addon build, and README.md's approve line clears it`,
    async () => {
      const pending = await sh(project, 'npm', ['install-scripts', 'ls']);
      const listed = pending.split('\n').filter((line) => /^\s+\S+@\S+ \(/.test(line));
      expect(listed).toHaveLength(1);
      expect(listed[0]).toMatch(
        new RegExp(`^\\s+${manifest.name}@\\S+ \\(postinstall: node adapters/fuse/native/build-fuse3\\.mjs`),
      );
      const line = /`(npm install-scripts approve dofs-sqlite && npm rebuild dofs-sqlite)`/.exec(
        readDoc('README.md').replace(/\s*\n\s*/g, ' '),
      )?.[1];
      expect(line).toBeDefined();
      const out = await sh(project, 'bash', ['-euo', 'pipefail', '-c', line as string]);
      expect(out).toContain('rebuilt dependencies successfully');
      expect(JSON.parse(readFileSync(join(project, 'package.json'), 'utf8')).allowScripts).toEqual({
        [`file:${tarball}`]: true,
      });
      expect(await sh(project, 'npm', ['install-scripts', 'ls'])).toMatch(
        /^No packages with unreviewed install scripts/,
      );
    },
  );

  it("runs README.md's library example and prints what its comments say", async () => {
    const example = fencedBlock(readDoc('README.md'), 'ts', "from 'dofs-sqlite/backends/node-sqlite'");
    writeFileSync(join(project, 'readme-example.ts'), example);
    const out = await sh(project, process.execPath, ['readme-example.ts']);
    const expected = [...example.matchAll(/console\.log\(.*\); \/\/ (.*)$/gm)].map((match) => match[1]);
    expect(expected.length).toBeGreaterThan(0);
    expect(out.split('\n').filter((line) => line !== '')).toEqual(expected);
  });

  it("runs docs/snapshots.md's first example, and its values are what its comments say", async () => {
    const block = fencedBlock(readDoc('docs/snapshots.md'), 'ts', "ws.snapshot('before-refactor')");
    // The example's premise (a workspace holding /src/a.ts) and its risky step, made concrete; each
    // statement whose value a comment describes is recorded.
    const body = block
      .replace(/^(const ws = .*)$/m, "$1\nws.mkdir('/src'); ws.writeFile('/src/a.ts', 'old');")
      .replace('// ... a risky step ...', "ws.writeFile('/src/a.ts', 'new');")
      .replace(/^(ws\.(?:snapshot|diff|atSnapshot)\(.*\));/gm, 'seen.push($1);')
      .replace(/^(const \{ before \} = ws\.restore\(.*\);)/m, "$1 seen.push(ws.readFile('/src/a.ts', 'utf8'));")
      .replace(/^(ws\.restore\(before\.name\);)/m, "$1 seen.push(ws.readFile('/src/a.ts', 'utf8'));");
    const script = `import { openWorkspace } from '${manifest.name}';
import { createNodeSqliteBackend } from '${manifest.name}/backends/node-sqlite';
const seen = [];
${body}
seen.push(ws.snapshots().map((s) => s.name));
console.log(JSON.stringify(seen));
`;
    writeFileSync(join(project, 'snapshots-example.ts'), script);
    const [info, diff, old, restored, undone, left] = JSON.parse(
      await sh(project, process.execPath, ['snapshots-example.ts']),
    );
    const keys = /ws\.snapshot\('before-refactor'\);\s+\/\/ \{ (.*) \}/.exec(block)?.[1].split(', ');
    expect(Object.keys(info).sort()).toEqual(keys?.sort());
    expect(diff).toEqual([{ path: '/src/a.ts', status: 'changed', changes: ['content'] }]);
    expect(block).toContain("// [{ path: '/src/a.ts', status: 'changed', changes: ['content'] }, ...]");
    expect([old, restored, undone]).toEqual(['old', 'old', 'new']);
    // Each restore leaves the snapshot that undoes it; the deleted one is gone.
    expect(left).toEqual([expect.stringMatching(/^before-restore-/), expect.stringMatching(/^before-restore-/)]);
  });

  it("runs README.md's node:fs and @platformatic/vfs lines on the library example's workspace", async () => {
    const readme = readDoc('README.md');
    const example = fencedBlock(readme, 'ts', "from 'dofs-sqlite/backends/node-sqlite'");
    const adapters = fencedBlock(readme, 'ts', 'createWorkspaceVfs(ws)');
    // What the adapters' comments promise: an fs whose cwd is /src, a require that loads from there.
    const [, path, file] = /require\('(\/ws\/\S+)'\) loads the workspace's (\/\S+)$/m.exec(adapters) ?? [];
    expect(path).toBe(`/ws${file}`);
    const script = `${example.replace(/^(console\.log|ws\.close)\(.*\n/gm, '')}${adapters}
import { createRequire } from 'node:module';
fs.writeFileSync(${JSON.stringify(file.slice('/src/'.length))}, 'module.exports = 42;');
console.log(JSON.stringify([fs.readdirSync('.'), createRequire(import.meta.url)(${JSON.stringify(path)})]));
vfs.unmount();
ws.close();
`;
    writeFileSync(join(project, 'readme-adapters.ts'), script);
    const out = await sh(project, process.execPath, ['readme-adapters.ts']);
    expect(JSON.parse(out)).toEqual([[file.slice('/src/'.length), 'hello.ts'], 42]);
  });

  // Every case in Node: about a minute alone, several on a machine shared with other builds.
  it("runs docs/writing-a-backend.md's conformance target verbatim, and every case passes", {
    timeout: 660_000,
  }, async () => {
    const file = writeBlock(
      project,
      fencedBlock(readDoc('docs/writing-a-backend.md'), 'ts', 'createNodeSqliteBackend'),
    );
    const result = await vitestRun(project, file, undefined, 600_000);
    expect(result.total).toBeGreaterThan(400);
    expect(result.failed).toEqual([]);
    expect(result.ran).toHaveLength(result.total);
  });

  // docs/writing-a-backend.md's workerd target, with the integration it names and with that
  // integration's former name (its install line in the text, the config's import changed).
  const all = process.env.DOFS_PACKAGE_ALL_CASES === '1';
  // The backend contract (withBackend), persistence across restarts (withRestarts) and sync on
  // default pages (withStorages): every method of the target, in a fraction of the time.
  const subset = 'StorageBackend contract|schema and persistence|sync, default pages';
  const routes = [
    {
      plugin: '@cloudflare/vitest-plugin',
      run: true,
      every: all,
      install: (doc: string) => fencedBlock(doc, 'sh', '@cloudflare/vitest-plugin').trim(),
    },
    {
      plugin: '@cloudflare/vitest-pool-workers',
      run: all,
      every: false,
      install: (doc: string) =>
        /`(npm install -D [^`]*@cloudflare\/vitest-pool-workers)`/.exec(doc)?.[1].replace(/\s+/g, ' ') ?? '',
    },
  ];
  /** One route's project and run. */
  function workerdRoute(route: (typeof routes)[number]) {
    describe(`docs/writing-a-backend.md's workerd target with ${route.plugin}`, () => {
      let workerdProject: string;

      beforeAll(async () => {
        const doc = readDoc('docs/writing-a-backend.md');
        workerdProject = join(temp, route.plugin.split('/')[1]);
        mkdirSync(workerdProject);
        writeFileSync(
          join(workerdProject, 'package.json'),
          JSON.stringify({ name: 'workerd-consumer', private: true, type: 'module' }),
        );
        const install = route.install(doc).split(/\s+/);
        expect(install.slice(0, 3)).toEqual(['npm', 'install', '-D']);
        const args = install.slice(1).map((arg) => (arg === manifest.name ? tarball : arg));
        expect(args).toContain(tarball);
        expect(args.some((arg) => arg.startsWith(route.plugin))).toBe(true);
        await sh(workerdProject, 'npm', [...args, '--prefer-offline']);
        for (const marker of ['"new_sqlite_classes"', 'export class TestDO']) {
          writeBlock(workerdProject, fencedBlock(doc, marker.startsWith('"') ? 'jsonc' : 'ts', marker));
        }
        // The config as written; under the former name, with only its import changed.
        const config = fencedBlock(doc, 'ts', 'cloudflareTest(');
        const imported = "from '@cloudflare/vitest-plugin';";
        expect(config.split(imported)).toHaveLength(2);
        writeBlock(workerdProject, config.replace(imported, `from '${route.plugin}';`));
      }, 240_000);

      it(route.every ? 'passes every case' : `passes the cases matching ${subset}`, {
        timeout: 1_800_000,
      }, async () => {
        const file = writeBlock(
          workerdProject,
          fencedBlock(readDoc('docs/writing-a-backend.md'), 'ts', 'cloudflare:test'),
        );
        const result = await vitestRun(workerdProject, file, route.every ? undefined : subset, 1_800_000);
        expect(result.total).toBeGreaterThan(400);
        expect(result.failed).toEqual([]);
        if (route.every) expect(result.ran).toHaveLength(result.total);
        // Every group of the subset ran, and only those (a renamed group must be renamed here too).
        else expect(new Set(result.ran.map((c) => c.ancestorTitles[1]))).toEqual(new Set(subset.split('|')));
      });
    });
  }
  for (const route of routes.filter((each) => each.run)) workerdRoute(route);

  describe('on workerd', () => {
    let state: string;
    const servers: DevServer[] = [];
    beforeAll(() => {
      state = join(temp, 'wrangler-state');
    });
    afterAll(async () => {
      for (const server of servers) await server.stop();
    }, 20_000);

    it("bundles docs/durable-objects.md's Durable Object from the installed package and runs it", async () => {
      const doc = readDoc('docs/durable-objects.md');
      const worker = join(project, 'worker');
      mkdirSync(join(worker, 'src'), { recursive: true });
      writeFileSync(join(worker, 'src', 'index.ts'), fencedBlock(doc, 'ts', 'export class WorkspaceDO'));
      writeFileSync(join(worker, 'wrangler.jsonc'), fencedBlock(doc, 'jsonc', 'new_sqlite_classes'));
      const server = await startDev(join(state, 'doc'), {}, { config: 'wrangler.jsonc', cwd: worker });
      servers.push(server);
      const response = await fetch(`${server.url}/`);
      expect([response.status, await response.text()]).toEqual([200, 'hi']);
    });

    it("serves replicas as docs/durable-objects.md's sync section says; a copy forks and merges with it as docs/snapshots.md's remote example does", async () => {
      const doc = readDoc('docs/durable-objects.md');
      const base = fencedBlock(doc, 'ts', 'export class WorkspaceDO');
      const fragment = fencedBlock(doc, 'ts', 'serveSyncWebSocket(request');
      // The fragment put where its comments say: its import, the method in WorkspaceDO, and the
      // token check and forward in the Worker's fetch (for /ws/<name>/sync, which names `name`).
      const importLine = fragment.split('\n')[0];
      const method = /^override fetch[\s\S]*?^\}$/m.exec(fragment)?.[0] ?? '';
      const gate = /^if \(!\(await checkBearerToken[\s\S]*$/m.exec(fragment)?.[0].trim() ?? '';
      expect([importLine, method, gate].map((part) => part.length > 0)).toEqual([true, true, true]);
      const route = 'const name = /^\\/ws\\/([^/]+)\\/sync$/.exec(new URL(request.url).pathname)?.[1];';
      const source = base
        .replace(/^(import .*'dofs-sqlite\/backends\/do-sql';)$/m, `$1\n${importLine}`)
        .replace(/^( +WORKSPACES: .*;)$/m, '$1\n  API_TOKEN?: string;')
        .replace(
          /^( +)(\/\/ Public methods are the Workers RPC surface\.)$/m,
          `$1${method.replaceAll('\n', '\n  ')}\n\n$1$2`,
        )
        .replace(/^( +async fetch\(request, env\) \{)$/m, `$1\n    ${route}\n    if (name) {\n${gate}\n    }`);
      for (const part of [importLine, 'API_TOKEN?: string;', method.split('\n')[0], route])
        expect(source).toContain(part);
      const worker = join(project, 'sync-worker');
      mkdirSync(join(worker, 'src'), { recursive: true });
      writeFileSync(join(worker, 'src', 'index.ts'), source);
      writeFileSync(join(worker, 'wrangler.jsonc'), fencedBlock(doc, 'jsonc', 'new_sqlite_classes'));
      const token = 'doc-sync-token';
      const server = await startDev(
        join(state, 'doc-sync'),
        { API_TOKEN: token },
        { config: 'wrangler.jsonc', cwd: worker },
      );
      servers.push(server);

      // docs/snapshots.md's remote fork and merge, on a copy in the consumer project; between them
      // the copy gains a file, and so does the object, pushed by another replica with the CLI.
      const url = `${server.url}/ws/fm/sync`;
      writeFileSync(join(project, 'note.txt'), 'made in another replica');
      const example = fencedBlock(readDoc('docs/snapshots.md'), 'ts', 'remoteSource(remote)')
        .replace('https://worker.example/ws/demo/sync', url)
        .replace(
          /^\/\/ \.\.\. work in copy\.db.*$/m,
          [
            "copy.writeFile('/from-copy.txt', 'made in the copy');",
            `execFileSync('npx', ['dofs', '--db', 'pusher.db', 'put', 'note.txt', '/from-replica.txt']);`,
            `execFileSync('npx', ['dofs', '--db', 'pusher.db', 'sync', '${url}', '--token', token]);`,
          ].join('\n'),
        )
        .replace(/^await ((?:fork|merge)\(.*\));/gm, 'seen.push(await $1);');
      writeFileSync(
        join(project, 'fork-merge.ts'),
        `import { execFileSync } from 'node:child_process';
import { openWorkspace } from 'dofs-sqlite';
import { createNodeSqliteBackend } from 'dofs-sqlite/backends/node-sqlite';
import { connectSyncWebSocket, fork, local, merge, remoteSource, remoteTarget } from 'dofs-sqlite/sync';
const token = ${JSON.stringify(token)};
const copy = openWorkspace(createNodeSqliteBackend({ path: 'copy.db' }));
const seen = [];
${example}
remote.close();
copy.close();
console.log(JSON.stringify(seen.map(({ applied, conflicts }) => ({ applied, conflicts }))));
`,
      );
      const merged = JSON.parse(await sh(project, process.execPath, ['fork-merge.ts']));
      expect(merged).toEqual([
        {},
        { applied: ['/from-replica.txt'], conflicts: [] },
        { applied: ['/from-copy.txt'], conflicts: [] },
      ]);
      // A new replica's sync, with the installed package's command, finds both files in the object.
      const synced = await sh(project, 'npx', ['dofs', '--db', 'doc-replica.db', 'sync', url, '--token', token]);
      expect(synced).toMatch(/pulled 2, pushed 0 entries/);
      const listed = await sh(project, 'npx', ['dofs', '--db', 'doc-replica.db', 'ls', '/']);
      expect(listed.split('\n').filter(Boolean)).toEqual(['from-copy.txt', 'from-replica.txt']);
    });

    it('syncs a replica with the example Worker through dofs-sqlite/sync', async () => {
      const token = 'package-test-token';
      const server = await startDev(join(state, 'example'), { API_TOKEN: token });
      servers.push(server);
      const authed = authorizedFetch(token);
      const put = await authed(`${server.url}/ws/pkg/fs/from-do.txt`, { method: 'PUT', body: 'made in the object' });
      expect(put.status).toBe(200);
      writeFileSync(
        join(project, 'replica.ts'),
        `import { openWorkspace } from 'dofs-sqlite';
import { createNodeSqliteBackend } from 'dofs-sqlite/backends/node-sqlite';
import { connectSyncWebSocket, createSyncDriver } from 'dofs-sqlite/sync';

const ws = openWorkspace(createNodeSqliteBackend({ path: 'replica.db' }));
ws.writeFile('/from-replica.txt', 'made in the replica');
const connection = await connectSyncWebSocket(process.argv[2], process.argv[3]);
try {
  const report = await createSyncDriver(ws.db, connection).sync();
  console.log(JSON.stringify({ pulled: report.pulled, pushed: report.pushed, text: ws.readFile('/from-do.txt', 'utf8') }));
} finally {
  connection.close();
  ws.close();
}
`,
      );
      const out = await sh(project, process.execPath, ['replica.ts', `${server.url}/ws/pkg/sync`, token]);
      expect(JSON.parse(out)).toMatchObject({ pulled: 1, pushed: 1, text: 'made in the object' });
      expect(await (await authed(`${server.url}/ws/pkg/fs/from-replica.txt`)).text()).toBe('made in the replica');
      // A wrong token is refused with a clear error, from the public export too.
      await expect(sh(project, process.execPath, ['replica.ts', `${server.url}/ws/pkg/sync`, 'wrong'])).rejects.toThrow(
        /EACCES/,
      );
    });
  });
});
