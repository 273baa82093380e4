/**
 * The kernel's permission rules for a caller other than root, through the node:fs module: search
 * on every directory of a path, write and search on a parent to create, remove, rename and link,
 * the sticky bit, protected hard links, read to list, ownership for chmod, chown and utimes. The
 * table (conformance/permission-table.ts) is also run on real node:fs as that identity
 * (test/permissions-differential.test.ts). Identical on every backend.
 *
 * @module
 */
import { describe, expect } from 'vitest';
import { createNodeFs } from '../../adapters/node-fs/index.ts';
import { defineCase, expectFsckClean } from '../harness.ts';
import {
  CALLER,
  PERMISSION_STEPS,
  type PermissionFs,
  permissionSetup,
  runPermissionSteps,
} from '../permission-table.ts';
import type { ConformanceTarget } from '../target.ts';

const ROOT = { uid: 0, gid: 0 };
const same = (path: string) => path;

/** Cases for the permission model. */
export function permissionCases(target: ConformanceTarget): void {
  describe('permissions of a caller other than root', () => {
    defineCase(
      target,
      'every call answers as Linux does for the caller: EACCES, EPERM, or success (the table real node:fs gave)',
      (ctx) => {
        const fs = createNodeFs(ctx.ws) as unknown as PermissionFs;
        ctx.db.withOwner(ROOT, () => permissionSetup(fs, same));
        const results = runPermissionSteps(fs, same);
        expect(results).toEqual(PERMISSION_STEPS.map((step) => ({ name: step.name, result: step.expect })));
        expectFsckClean(ctx.ws);
      },
      { owner: CALLER },
    );

    defineCase(
      target,
      'a refused call changes nothing, and root is never checked',
      (ctx) => {
        const fs = createNodeFs(ctx.ws) as unknown as PermissionFs;
        ctx.db.withOwner(ROOT, () => permissionSetup(fs, same));
        const before = fs.readdirSync('/mine');
        expect(() => fs.renameSync('/mine/f', '/ro/g')).toThrow(expect.objectContaining({ code: 'EACCES' }));
        expect(() => fs.rmSync('/mine/sub', { recursive: true })).toThrow(expect.objectContaining({ code: 'EACCES' }));
        expect(fs.readdirSync('/mine')).toEqual(before);
        expect(fs.readFileSync('/mine/sub/x', 'utf8')).toBe('x');
        ctx.db.withOwner(ROOT, () => {
          expect(fs.readFileSync('/noexec/f', 'utf8')).toBe('f');
          fs.writeFileSync('/ro/new', 'root');
          fs.unlinkSync('/sticky/others');
          fs.chownSync('/mine/f', 2000, 2000);
          fs.utimesSync('/rootfile', 1, 2);
          expect(fs.readdirSync('/noread')).toEqual([]);
        });
        expect(fs.readFileSync('/ro/new', 'utf8')).toBe('root');
      },
      { owner: CALLER },
    );

    defineCase(
      target,
      'checks are off for the engine unless a provider turns them on, and off for a module built with checkPermissions: false',
      (ctx) => {
        ctx.ws.mkdir('/ro');
        ctx.ws.chmod('/ro', 0o555);
        ctx.ws.chown('/ro', 0, 0);
        ctx.ws.writeFile('/ro/f', 'engine');
        expect(ctx.db.checkPermissions).toBe(false);
        const trusted = createNodeFs(ctx.ws, { checkPermissions: false }) as unknown as PermissionFs;
        trusted.writeFileSync('/ro/g', 'trusted');
        expect(ctx.db.checkPermissions).toBe(false);
        const fs = createNodeFs(ctx.ws) as unknown as PermissionFs;
        expect(ctx.db.checkPermissions).toBe(true);
        expect(() => fs.writeFileSync('/ro/h', 'x')).toThrow(
          expect.objectContaining({ code: 'EACCES', syscall: 'open' }),
        );
        expect(fs.readdirSync('/ro')).toEqual(['f', 'g']);
      },
      { owner: CALLER },
    );
  });
}
