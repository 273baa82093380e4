/**
 * The provider's file descriptors: small integers from 3 up, the lowest free one first, as
 * open(2) hands them out.
 *
 * @module
 */
import { fsError } from '../../core/index.ts';
import { checkFd } from './args.ts';

/** Open handles by fd. */
export class FdTable<H> {
  readonly #open = new Map<number, H>();

  /** Registers the handle `make` builds for the lowest free fd. */
  add(make: (fd: number) => H): H {
    let fd = 3;
    while (this.#open.has(fd)) fd++;
    const handle = make(fd);
    this.#open.set(fd, handle);
    return handle;
  }

  /** The handle of `fd`: node's argument errors for a non-fd, EBADF for one that is not open. */
  get(fd: unknown, syscall: string): H {
    const handle = this.#open.get(checkFd(fd));
    if (handle === undefined) throw fsError('EBADF', syscall);
    return handle;
  }

  /** Forgets `fd`. */
  delete(fd: number): void {
    this.#open.delete(fd);
  }

  /** How many fds are open. */
  get size(): number {
    return this.#open.size;
  }
}
