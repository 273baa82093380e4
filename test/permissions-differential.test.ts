/**
 * The permission table of the conformance suite (conformance/permission-table.ts) run on real
 * node:fs by a process of the table's identity, in a temporary directory root set up: the table's
 * expected results must be what Linux gives. Switching users takes root; elsewhere the case is
 * skipped by name.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CALLER, PERMISSION_STEPS, permissionSetup } from '../conformance/permission-table.ts';

const TABLE = fileURLToPath(new URL('../conformance/permission-table.ts', import.meta.url));
const isRoot = process.getuid?.() === 0;

describe('permission table against real node:fs', () => {
  it.skipIf(!isRoot)(
    'as uid 1000 in a directory made by root, every step answers as the table says (needs root)',
    () => {
      const dir = fs.mkdtempSync(join(tmpdir(), 'dofs-perm-'));
      try {
        const at = (path: string) => (path === '/' ? dir : dir + path);
        permissionSetup(fs, at);
        // The child runs the steps as the caller; the table module is plain TypeScript node strips.
        const child = `const table = await import(${JSON.stringify(TABLE)});
        const fs = await import('node:fs');
        const dir = ${JSON.stringify(dir)};
        process.stdout.write(JSON.stringify(table.runPermissionSteps(fs, (p) => (p === '/' ? dir : dir + p))));`;
        const run = spawnSync(process.execPath, ['--input-type=module', '-e', child], {
          uid: CALLER.uid,
          gid: CALLER.gid,
          encoding: 'utf8',
        });
        expect(run.stderr).toBe('');
        expect(run.status).toBe(0);
        expect(JSON.parse(run.stdout)).toEqual(
          PERMISSION_STEPS.map((step) => ({ name: step.name, result: step.expect })),
        );
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
