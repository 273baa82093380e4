/**
 * The node:fs module has node's whole surface: every function and class of `node:fs` and of
 * `fs.promises`, every method of a FileHandle, with what is left out named here and why.
 */
import realFs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createNodeFs, FileHandle } from '../adapters/node-fs/index.ts';
import { createNodeSqliteBackend } from '../backends/node-sqlite/index.ts';
import { openWorkspace } from '../core/index.ts';

/**
 * Left out, and why:
 * - Utf8Stream: node 24's experimental (stability 1) fast logger sink (sonic-boom), a writer to a
 *   real process fd; it is not a filesystem operation.
 * - lchmod and lchmodSync: node defines them only on macOS (they are undefined on Linux, as here;
 *   promises.lchmod rejects with ERR_METHOD_NOT_IMPLEMENTED, as node's does on Linux).
 */
const LEFT_OUT = ['Utf8Stream'];

describe('the node:fs module’s surface', () => {
  const ws = openWorkspace(createNodeSqliteBackend());
  const fs = createNodeFs(ws) as unknown as Record<string, unknown> & { promises: Record<string, unknown> };

  it('has every function and class node:fs has, of the same kind', () => {
    const differ = Object.keys(realFs).filter(
      (key) => typeof (realFs as unknown as Record<string, unknown>)[key] !== typeof fs[key],
    );
    expect(differ).toEqual(LEFT_OUT);
    for (const key of Object.keys(realFs).filter((k) => k.endsWith('Sync')))
      expect(typeof fs[key], key).toBe(typeof (realFs as unknown as Record<string, unknown>)[key]);
    expect(typeof (fs.realpath as { native: unknown }).native).toBe('function');
    expect(typeof (fs.realpathSync as { native: unknown }).native).toBe('function');
    expect(Object.getOwnPropertyDescriptor(fs, 'promises')?.enumerable).toBe(true);
  });

  it('has every fs.promises function, and constants equal to node’s on this platform', () => {
    for (const key of Object.keys(realFs.promises))
      expect(typeof fs.promises[key], key).toBe(typeof (realFs.promises as Record<string, unknown>)[key]);
    const theirs = realFs.constants as unknown as Record<string, number>;
    const ours = fs.constants as Record<string, number>;
    expect(Object.keys(ours).sort()).toEqual(Object.keys(theirs).sort());
    for (const key of Object.keys(ours)) expect(ours[key], key).toBe(theirs[key]);
  });

  it('has every FileHandle method node’s FileHandle has', async () => {
    const handle = await realFs.promises.open(import.meta.filename);
    const methods = Object.getOwnPropertyNames(Object.getPrototypeOf(handle)).filter((name) => name !== 'constructor');
    await handle.close();
    for (const method of methods) expect(method in FileHandle.prototype, method).toBe(true);
    expect(Symbol.asyncDispose in FileHandle.prototype).toBe(true);
    ws.close();
  });
});
