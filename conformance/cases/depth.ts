/**
 * Paths of any depth: Linux limits each argument of a system call to 4,096 bytes, not the depth
 * of a tree, so a workspace path may be far longer (up to 1 MiB), through the engine and the
 * provider the mount uses.
 *
 * @module
 */
import { describe, expect } from 'vitest';
import { SQLiteWorkspaceProvider } from '../../adapters/vfs/index.ts';
import { defineCase } from '../harness.ts';
import type { ConformanceTarget } from '../target.ts';

const NAME = 'n'.repeat(200);
/** A directory path `levels` names deep, each name 200 bytes. */
const deep = (levels: number, prefix = ''): string => `${prefix}/${Array(levels).fill(NAME).join('/')}`;

/** Cases for deep paths. */
export function depthCases(target: ConformanceTarget): void {
  describe('paths of any depth', () => {
    defineCase(target, 'a tree 40 levels of 200-byte names deep (8 KiB paths) works with every primitive', (ctx) => {
      const { ws } = ctx;
      const dir = deep(40);
      expect(new TextEncoder().encode(dir).length).toBeGreaterThan(8000);
      ws.mkdir(dir, { recursive: true });
      ws.writeFile(`${dir}/f`, 'deep');
      expect(ws.readFile(`${dir}/f`, 'utf8')).toBe('deep');
      expect(ws.stat(`${dir}/f`).size).toBe(4);
      expect(ws.readdir(dir).map((entry) => entry.name)).toEqual(['f']);
      ws.symlink('f', `${dir}/l`);
      expect(ws.realpath(`${dir}/l`)).toBe(`${dir}/f`);
      ws.link(`${dir}/f`, `${dir}/h`);
      ws.copyFile(`${dir}/f`, `${dir}/c`);
      ws.appendFile(`${dir}/c`, '!');
      ws.truncate(`${dir}/c`, 2);
      ws.chmod(`${dir}/c`, 0o600);
      expect(ws.find('/', '**/c')).toEqual([`${dir}/c`]);
      expect(ws.grep('deep', '/').map((match) => match.path)).toEqual([`${dir}/f`, `${dir}/h`]);
      ws.rm(`${dir}/c`);
      ws.unlink(`${dir}/h`);
      ws.rm('/' + NAME, { recursive: true });
      expect(ws.readdir('/')).toEqual([]);
    });

    defineCase(target, 'a rename that makes a path longer than 4 KiB leaves it usable', (ctx) => {
      const { ws } = ctx;
      ws.mkdir(deep(15), { recursive: true });
      ws.mkdir(deep(15, '/b'), { recursive: true });
      ws.writeFile(`${deep(15, '/b')}/f`, 'moved');
      // /n…/n (15 levels) gets /b's tree below it: 30 levels, about 6 KiB.
      ws.rename('/b', `${deep(15)}/b`);
      const moved = `${deep(15)}/b${deep(15)}/f`;
      expect(ws.stat(moved).size).toBe(5);
      expect(ws.readFile(moved, 'utf8')).toBe('moved');
    });

    defineCase(target, 'the provider (what the mount uses) creates, writes and reads at 8 KiB paths', (ctx) => {
      const p = new SQLiteWorkspaceProvider(ctx.ws);
      const dir = deep(40);
      p.mkdirSync(dir, { recursive: true });
      p.openWriteBufferForCreateSync(`${dir}/f`);
      p.writeRangeSync(`${dir}/f`, new TextEncoder().encode('buffered'), 0);
      p.releaseWriteBufferSync(`${dir}/f`);
      expect(p.readFileSync(`${dir}/f`, 'utf8')).toBe('buffered');
      p.renameSync(`${dir}/f`, `${dir}/g`);
      expect(p.statSync(`${dir}/g`).size).toBe(8);
      p.rmSync(`/${NAME}`, { recursive: true });
    });
  });
}
