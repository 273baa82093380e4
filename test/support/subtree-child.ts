/**
 * One of several processes working on a filesystem at once, each in a subtree of its own, so that
 * each can know exactly what its subtree must hold while the others change theirs.
 * Usage: node subtree-child.ts ROOT SEED OPS MODEL
 * - OPS > 0: empties ROOT, then applies OPS random operations under it (write, append, truncate,
 *   mkdir, rename of a file or of a whole directory, unlink, rm -r), with sizes on each side of
 *   64 KiB chunks, keeping a model (relative path → sha256 of the bytes, or 'dir'); writes the
 *   model to the file MODEL.
 * - OPS = 0: reads MODEL.
 * Then compares ROOT with the model and prints one JSON line: { entries, differ: [paths] }.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';

const [root, seedArg, opsArg, modelFile] = process.argv.slice(2);
let seed = Number(seedArg);
const random = (n: number): number => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return seed % n;
};
const sha = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');
const SIZES = [0, 1, 100, 4096, 65535, 65536, 65537, 200_000];

let model: Record<string, string> = {};
if (Number(opsArg) > 0) {
  fs.rmSync(root, { recursive: true, force: true });
  fs.mkdirSync(root);
  const content = new Map<string, Buffer>();
  const set = (path: string, bytes: Buffer): void => {
    content.set(path, bytes);
    model[path] = sha(bytes);
  };
  const drop = (prefix: string, moveTo?: string): void => {
    for (const path of Object.keys(model)) {
      if (path !== prefix && !path.startsWith(`${prefix}/`)) continue;
      if (moveTo !== undefined) {
        const to = moveTo + path.slice(prefix.length);
        model[to] = model[path];
        const bytes = content.get(path);
        if (bytes) content.set(to, bytes);
      }
      delete model[path];
      content.delete(path);
    }
  };
  const dirs = (): string[] => Object.keys(model).filter((path) => model[path] === 'dir');
  const files = (): string[] => Object.keys(model).filter((path) => model[path] !== 'dir');
  const pick = (list: string[]): string => list[random(list.length)];
  for (let n = 0; n < Number(opsArg); n++) {
    const dir = random(4) === 0 || dirs().length === 0 ? '' : pick(dirs());
    const op = random(10);
    if (op <= 2) {
      const path = random(3) === 0 && files().length > 0 ? pick(files()) : `${dir}/f${n}`;
      const bytes = Buffer.alloc(SIZES[random(SIZES.length)], n % 251);
      if (bytes.length >= 4) bytes.writeUInt32LE(n, random(bytes.length - 3));
      fs.writeFileSync(root + path, bytes);
      set(path, bytes);
    } else if (op === 3 && files().length > 0) {
      const path = pick(files());
      const more = Buffer.alloc(random(70_000), n % 256);
      fs.appendFileSync(root + path, more);
      set(path, Buffer.concat([content.get(path) as Buffer, more]));
    } else if (op === 4) {
      fs.mkdirSync(`${root}${dir}/d${n}`);
      model[`${dir}/d${n}`] = 'dir';
    } else if (op === 5 && files().length > 0) {
      const from = pick(files());
      fs.renameSync(root + from, `${root}${dir}/r${n}`);
      drop(from, `${dir}/r${n}`);
    } else if (op === 6 && dirs().length > 0) {
      const from = pick(dirs());
      const to = `${dir}/m${n}`;
      if (dir === from || dir.startsWith(`${from}/`)) continue; // into itself: EINVAL
      fs.renameSync(root + from, root + to);
      drop(from, to);
    } else if (op === 7 && files().length > 0) {
      const path = pick(files());
      fs.unlinkSync(root + path);
      drop(path);
    } else if (op === 8 && files().length > 0) {
      const path = pick(files());
      const length = random(130_000);
      fs.truncateSync(root + path, length);
      const bytes = Buffer.alloc(length);
      (content.get(path) as Buffer).copy(bytes, 0, 0, length);
      set(path, bytes);
    } else if (op === 9 && dirs().length > 0) {
      const path = pick(dirs());
      fs.rmSync(root + path, { recursive: true });
      drop(path);
    }
  }
  fs.writeFileSync(modelFile, JSON.stringify(model));
} else {
  model = JSON.parse(fs.readFileSync(modelFile, 'utf8'));
}

const found: Record<string, string> = {};
const walk = (relative: string): void => {
  for (const entry of fs.readdirSync(root + relative, { withFileTypes: true })) {
    const path = `${relative}/${entry.name}`;
    if (entry.isDirectory()) {
      found[path] = 'dir';
      walk(path);
    } else found[path] = sha(fs.readFileSync(root + path));
  }
};
walk('');
const paths = new Set([...Object.keys(model), ...Object.keys(found)]);
const differ = [...paths].filter((path) => model[path] !== found[path]);
process.stdout.write(`${JSON.stringify({ entries: Object.keys(model).length, differ })}\n`);
