/**
 * Mounting: after `create(new SQLiteWorkspaceProvider(ws)).mount('/ws')`, node's own module
 * loader and fs reach modules and files stored in the workspace.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { create } from '@platformatic/vfs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SQLiteWorkspaceProvider } from '../adapters/vfs/index.ts';
import { createNodeSqliteBackend } from '../backends/node-sqlite/index.ts';
import { openWorkspace, type Workspace } from '../core/index.ts';

const MOUNT = '/dofs-mount-test';

describe('a mounted workspace', () => {
  let ws: Workspace;
  let vfs: ReturnType<typeof create>;

  beforeAll(() => {
    ws = openWorkspace(createNodeSqliteBackend());
    ws.mkdir('/lib');
    ws.writeFile('/mod.js', "module.exports = { answer: 42, helper: require('./lib/helper.js') };");
    ws.writeFile('/lib/helper.js', 'module.exports = (x) => x * 2;');
    ws.writeFile('/esm.mjs', "export const greeting = 'hello from the workspace';\nexport default 7;");
    ws.writeFile('/importer.cjs', 'module.exports = (specifier) => import(specifier);');
    ws.writeFile('/data.json', JSON.stringify({ ok: true }));
    ws.writeFile('/notes.txt', 'plain text');
    ws.symlink('notes.txt', '/alias.txt');
    vfs = create(new SQLiteWorkspaceProvider(ws)).mount(MOUNT);
  });

  afterAll(() => {
    vfs.unmount();
    ws.close();
  });

  it('require() loads a CommonJS module and its relative requires', () => {
    const require = createRequire(import.meta.url);
    const mod = require(`${MOUNT}/mod.js`);
    expect(mod.answer).toBe(42);
    expect(mod.helper(21)).toBe(42);
    expect(require(`${MOUNT}/data.json`)).toEqual({ ok: true });
  });

  it('import() loads an ES module', async () => {
    // vitest routes this file's import() through its own module runner, so the import() is made by
    // a CommonJS module (itself stored in the workspace), which node's own loader runs.
    const require = createRequire(import.meta.url);
    const nativeImport = require(`${MOUNT}/importer.cjs`) as (s: string) => Promise<Record<string, unknown>>;
    const mod = await nativeImport(`${MOUNT}/esm.mjs`);
    expect(mod.greeting).toBe('hello from the workspace');
    expect(mod.default).toBe(7);
  });

  it('fs.readFileSync, statSync, readdirSync and realpathSync read the workspace', () => {
    expect(fs.readFileSync(`${MOUNT}/notes.txt`, 'utf8')).toBe('plain text');
    expect(fs.readFileSync(`${MOUNT}/alias.txt`, 'utf8')).toBe('plain text');
    expect(fs.statSync(`${MOUNT}/notes.txt`).size).toBe(10);
    expect(fs.statSync(`${MOUNT}/lib`).isDirectory()).toBe(true);
    expect(fs.readdirSync(`${MOUNT}/lib`)).toEqual(['helper.js']);
    expect(fs.realpathSync(`${MOUNT}/alias.txt`)).toBe(`${MOUNT}/notes.txt`);
    expect(fs.existsSync(`${MOUNT}/missing`)).toBe(false);
  });

  it('sees changes made to the workspace after mounting', () => {
    ws.writeFile('/later.txt', 'written after mount');
    expect(fs.readFileSync(`${MOUNT}/later.txt`, 'utf8')).toBe('written after mount');
  });
});
