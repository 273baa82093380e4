/**
 * A one-line progress counter on stderr, redrawn at most every `intervalMs`. Silent when stderr
 * is not a terminal, so logs and pipes stay clean.
 *
 * @module
 */

/** A progress display. */
export interface Progress {
  /** Shows `text` as the current state (throttled). */
  update(text: string): void;
  /** Clears the line. */
  done(): void;
}

interface TtyLike {
  isTTY?: boolean;
  write(text: string): unknown;
}

/** Creates a progress line on `stream` (default stderr), or a no-op when it is not a TTY. */
export function createProgress(stream: TtyLike = process.stderr, intervalMs = 100): Progress {
  if (!stream.isTTY || process.env.DOFS_NO_PROGRESS) return { update() {}, done() {} };
  let last = 0;
  let shown = false;
  return {
    update(text) {
      const now = Date.now();
      if (now - last < intervalMs) return;
      last = now;
      shown = true;
      stream.write(`\r\x1b[K${text}`);
    },
    done() {
      if (shown) stream.write('\r\x1b[K');
      shown = false;
    },
  };
}
