/**
 * Formatting and parsing helpers for human-facing output and option values.
 *
 * @module
 */
import { S_IFDIR, S_IFLNK, S_IFMT, type StatInfo } from '../../core/index.ts';
import { UsageError } from './errors.ts';

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** `1536` → `1.5 KiB`. */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(value < 10 ? 2 : 1)} ${UNITS[unit]}`;
}

/** `1234567` → `1,234,567`. */
export function formatCount(count: number): string {
  return count.toLocaleString('en-US');
}

/** `1 file`, `2 files`; `1 directory`, `3 directories` with `many` given. */
export function plural(count: number, one: string, many = `${one}s`): string {
  return `${formatCount(count)} ${count === 1 ? one : many}`;
}

/**
 * A name as `ls` shows it: as it is, unless it holds control characters (a newline would forge a
 * line of output), then JSON-quoted with them escaped (`"a\nb"`).
 */
export function displayName(name: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this looks for
  return /[\u0000-\u001f\u007f]/.test(name) ? JSON.stringify(name) : name;
}

/** The `ls -l` mode column: `drwxr-xr-x`. */
export function modeString(mode: number): string {
  const type = mode & S_IFMT;
  const kind = type === S_IFDIR ? 'd' : type === S_IFLNK ? 'l' : '-';
  const bits = 'rwxrwxrwx';
  let text = '';
  for (let i = 0; i < 9; i++) text += mode & (1 << (8 - i)) ? bits[i] : '-';
  const chars = text.split('');
  if (mode & 0o4000) chars[2] = chars[2] === 'x' ? 's' : 'S';
  if (mode & 0o2000) chars[5] = chars[5] === 'x' ? 's' : 'S';
  if (mode & 0o1000) chars[8] = chars[8] === 'x' ? 't' : 'T';
  return kind + chars.join('');
}

/** A local, sortable timestamp: `2026-11-24 02:57`. */
export function formatTime(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** One `ls -l` line. */
export function longListing(info: StatInfo, name: string, target?: string): string {
  const link = target === undefined ? '' : ` -> ${target}`;
  return `${modeString(info.mode)} ${String(info.nlink).padStart(3)} ${String(info.size).padStart(12)} ${formatTime(info.mtimeMs)} ${name}${link}`;
}

/** Parses a non-negative integer option (`--safety-window-ms 0`). */
export function parseCount(value: string, option: string): number {
  if (!/^\d+$/.test(value.trim())) throw new UsageError(`${option} must be a non-negative integer, got '${value}'`);
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new UsageError(`${option} is too large: '${value}'`);
  return n;
}

/** Parses a byte size with an optional binary suffix: `65536`, `64k`, `64KiB`, `1m`. */
export function parseSize(value: string, option: string): number {
  const match = /^(\d+)\s*(?:([kmg])(?:i?b)?|b)?$/i.exec(value.trim());
  if (!match) throw new UsageError(`${option} must be a size such as 65536, 64k or 1m, got '${value}'`);
  const scale = { k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[(match[2] ?? '').toLowerCase()] ?? 1;
  return Number(match[1]) * scale;
}

/** Parses an octal mode (`644`, `0o755`, `0755`). */
export function parseMode(value: string, option: string): number {
  const match = /^(?:0o?)?([0-7]{1,4})$/i.exec(value.trim());
  if (!match) throw new UsageError(`${option} must be an octal mode such as 644 or 0755, got '${value}'`);
  return Number.parseInt(match[1], 8);
}

/**
 * A sync endpoint's URL, checked before dialling: `http:`, `https:`, `ws:` or `wss:`, with a host.
 * A URL without a scheme (`localhost:8787/ws/x/sync`) is a usage error suggesting `http://`.
 */
export function parseSyncUrl(value: string, option: string): string {
  const schemes = ['http:', 'https:', 'ws:', 'wss:'];
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (url && schemes.includes(url.protocol) && url.host) return value;
  const hostLike = /^[\w.-]+:\d+(\/|$)/.test(value) || /^[\w-]+\.[\w.-]+(\/|$)/.test(value);
  const guess = hostLike ? `; did you mean http://${value}?` : '';
  throw new UsageError(
    `${option}: expected an http://, https://, ws:// or wss:// URL such as https://worker.example/ws/NAME/sync, got '${value}'${guess}`,
  );
}

/** Refuses a glob whose `[` is never closed: it would match nothing, silently. */
export function checkGlob(glob: string, option: string): string {
  let open = -1;
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '\\') i++;
    else if (c === '[' && open === -1) open = i;
    else if (c === ']' && open !== -1 && i > open + 1) open = -1;
  }
  if (open !== -1) {
    throw new UsageError(`${option}: unclosed '[' in '${glob}' (at ${open + 1}); write '\\[' to match a literal '['`);
  }
  return glob;
}
