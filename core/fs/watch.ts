/**
 * watch: change events from the engine's own commits (no polling).
 *
 * @module
 */
import type { ChangeEvent, Database } from '../database.ts';
import { isSameOrBelow, parentPath } from '../paths.ts';
import { resolve } from '../resolve.ts';

/** One event delivered to a watcher. */
export interface WatchEvent {
  /** `rename` when a name appeared or disappeared, `change` for content or attributes (as node:fs.watch). */
  eventType: 'rename' | 'change';
  /** The changed path relative to the watched directory, or the watched file's own name. */
  filename: string;
  /** The changed absolute path. */
  path: string;
  /** The revision of the change. */
  rev: number;
}

/** Options for {@link watch}. */
export interface WatchOptions {
  /** Report changes at any depth below a watched directory, not only its direct entries. */
  recursive?: boolean;
  /** Aborting it closes the watcher. */
  signal?: AbortSignal;
}

/** A live watcher: an async iterable of events that can also be closed. */
export interface Watcher extends AsyncIterable<WatchEvent> {
  /** Stops delivering events and ends iteration. */
  close(): void;
}

/**
 * Watches `path` (following symlinks; ENOENT if missing). Events arrive after each committed
 * mutation that touches the path, a direct entry of it, or with `recursive` anything below it.
 * Pass `listener` for callback style, or iterate the returned watcher.
 */
export function watch(
  db: Database,
  path: string,
  options: WatchOptions | null = {},
  listener?: (event: WatchEvent) => void,
): Watcher {
  options ??= {};
  const watched = resolve(db, path, { follow: true, syscall: 'watch' }).realPath;
  const queue: WatchEvent[] = [];
  const waiting: Array<(result: IteratorResult<WatchEvent>) => void> = [];
  let closed = false;

  const relevant = (changed: string): string | undefined => {
    if (changed === watched) return watched.slice(watched.lastIndexOf('/') + 1);
    if (!isSameOrBelow(changed, watched)) return undefined;
    if (!options.recursive && parentPath(changed) !== watched) return undefined;
    return changed.slice(watched === '/' ? 1 : watched.length + 1);
  };
  const deliver = (event: WatchEvent): void => {
    listener?.(event);
    const next = waiting.shift();
    if (next) next({ value: event, done: false });
    else if (!listener) queue.push(event);
  };
  const unsubscribe = db.onChange((events: readonly ChangeEvent[]) => {
    for (const change of events) {
      const filename = relevant(change.path);
      if (filename !== undefined)
        deliver({ eventType: change.eventType, filename, path: change.path, rev: change.rev });
    }
  });
  const close = (): void => {
    if (closed) return;
    closed = true;
    unsubscribe();
    options.signal?.removeEventListener('abort', close);
    for (const resolveNext of waiting.splice(0)) resolveNext({ value: undefined, done: true });
  };
  if (options.signal?.aborted) close();
  options.signal?.addEventListener('abort', close);

  return {
    close,
    [Symbol.asyncIterator](): AsyncIterator<WatchEvent> {
      return {
        next: () => {
          const event = queue.shift();
          if (event) return Promise.resolve({ value: event, done: false });
          if (closed) return Promise.resolve({ value: undefined, done: true });
          return new Promise((resolveNext) => waiting.push(resolveNext));
        },
        return: () => {
          close();
          return Promise.resolve({ value: undefined, done: true });
        },
      };
    },
  };
}
