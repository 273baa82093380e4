/**
 * The bytes and layouts workloads use, made before the timed part (portable: Node and workerd).
 */
import { Buffer } from 'node:buffer';

export const KiB = 1024;
export const MiB = 1024 * KiB;

/** `size` random bytes (incompressible, nothing deduplicates by accident), as a Buffer (some peers need one). */
export function randomBuffer(size: number): Buffer {
  const out = Buffer.allocUnsafeSlow(size);
  for (let at = 0; at < size; at += 65_536) crypto.getRandomValues(out.subarray(at, Math.min(size, at + 65_536)));
  return out;
}

/** A deterministic PRNG (xorshift32), for offsets that are the same on every system. */
export function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4_294_967_296;
  };
}

/** Where `count` small files go: 100 per leaf directory, 10 leaves per top directory, under `root`. */
export interface SmallLayout {
  root: string;
  dirs: string[];
  leaves: string[];
  files: string[];
}

export function smallLayout(root: string, count: number): SmallLayout {
  const leaves: string[] = [];
  const dirs: string[] = [];
  const files: string[] = [];
  const extensions = ['ts', 'js', 'md'];
  for (let i = 0; i < count; i++) {
    const leaf = Math.floor(i / 100);
    const top = Math.floor(leaf / 10);
    const leafDir = `${root}/d${top}/e${leaf % 10}`;
    if (i % 100 === 0) {
      if (leaf % 10 === 0) dirs.push(`${root}/d${top}`);
      dirs.push(leafDir);
      leaves.push(leafDir);
    }
    files.push(`${leafDir}/f${i}.${extensions[i % 3]}`);
  }
  return { root, dirs, leaves, files };
}

/** The needle grep looks for: on one line of every 50th file. */
export const NEEDLE = 'needle-7f3a';

/** 1 KiB of text for small file `i`: distinct per file; every 50th holds {@link NEEDLE}. */
export function smallContent(i: number, size = KiB): Buffer {
  const lines: string[] = [];
  let length = 0;
  for (let line = 0; length < size; line++) {
    const text =
      i % 50 === 0 && line === 3
        ? `// ${NEEDLE} in file ${i}`
        : `export const value_${i}_${line} = ${(i * 31 + line * 17) % 1000}; // filler text`;
    lines.push(text);
    length += text.length + 1;
  }
  return Buffer.from(
    `${lines
      .join('\n')
      .slice(0, size - 1)
      .padEnd(size - 1, ' ')}\n`,
  );
}
