/**
 * An answer the mount decides itself (not the engine): an errno code name, sent to the kernel as
 * that error without a log line.
 *
 * @module
 */

/** An answer decided by the mount: its errno code name. */
export class Failure extends Error {
  readonly code: string;
  constructor(code: string) {
    super(code);
    this.code = code;
  }
}

/** Throws the {@link Failure} `code`. */
export const fail = (code: string): never => {
  throw new Failure(code);
};
