/**
 * The memo of directories one sync apply resolves (sync/resolved-dirs.ts): what it answers matches
 * path resolution after the tree changes under it, as long as the apply forgets the paths it
 * removes or renames, as `applyChanges` does before each.
 */
import { describe, expect, it } from 'vitest';
import { createNodeSqliteBackend } from '../backends/node-sqlite/index.ts';
import { openWorkspace } from '../core/index.ts';
import { locationAt } from '../sync/changes.ts';
import { ResolvedDirectories } from '../sync/resolved-dirs.ts';

const DEEP = '/a/b/c/d/e/f/g/h/i/j';

describe('sync: the directories an apply resolved', () => {
  it('finds what path resolution finds after a directory above is renamed, removed or replaced', () => {
    const ws = openWorkspace(createNodeSqliteBackend());
    ws.mkdir(DEEP, { recursive: true });
    ws.writeFile(`${DEEP}/f`, 'old');
    const dirs = new ResolvedDirectories(ws.db);
    const same = (path: string) =>
      expect(dirs.locationAt(path)?.node?.inode).toBe(locationAt(ws.db, path)?.node?.inode);
    same(`${DEEP}/f`);
    // Renamed away and made again: the memo must not answer from the directory moved aside.
    dirs.forget('/a/b/c');
    ws.rename('/a/b/c', '/a/b/aside');
    ws.mkdir(DEEP, { recursive: true });
    ws.writeFile(`${DEEP}/f`, 'new');
    same(`${DEEP}/f`);
    expect(dirs.locationAt(`${DEEP}/f`)?.node?.size).toBe(3);
    expect(ws.readFile(`${dirs.locationAt(`${DEEP}/f`)?.realPath}`, 'utf8')).toBe('new');
    // Removed and replaced by a file: nothing below it.
    dirs.forget('/a/b/c/d');
    ws.rm('/a/b/c/d', { recursive: true });
    ws.writeFile('/a/b/c/d', 'file');
    expect(dirs.locationAt(`${DEEP}/f`)).toBeUndefined();
    same('/a/b/c/d');
    // A symlink on the way: resolved as path resolution does, through it.
    dirs.forget('/a/b/c/d');
    ws.rm('/a/b/c/d');
    ws.symlink('/a/b/aside/d', '/a/b/c/d');
    same(`${DEEP}/f`);
    expect(dirs.locationAt(`${DEEP}/f`)?.realPath).toBe('/a/b/aside/d/e/f/g/h/i/j/f');
  });
});
