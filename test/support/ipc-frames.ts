/**
 * Sync frames over a Node IPC channel (a child process's `process`, or the parent's handle on
 * it), so a replica in another process reaches an authority through the real RPC session and
 * frames, and a SIGKILL cuts it as a dropped connection would.
 */
import type { Frame, FramePipe } from '../../sync/frames.ts';

/** The part of a ChildProcess or of a child's `process` the pipe uses. */
export interface IpcChannel {
  send?(message: unknown, handle: undefined, options: undefined, callback: (error: Error | null) => void): boolean;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  on(event: 'disconnect', listener: () => void): unknown;
}

/** A frame pipe over `channel` (spawned with `serialization: 'advanced'`, so bytes stay bytes). */
export function ipcFramePipe(channel: IpcChannel): FramePipe {
  const queue: Frame[] = [];
  let waiting: { resolve: (frame: Frame) => void; reject: (error: Error) => void } | undefined;
  let closed: Error | undefined;
  channel.on('message', (frame) => {
    if (waiting) {
      const { resolve } = waiting;
      waiting = undefined;
      resolve(frame as Frame);
    } else queue.push(frame as Frame);
  });
  const close = (error: Error) => {
    closed ??= error;
    waiting?.reject(closed);
    waiting = undefined;
  };
  channel.on('disconnect', () => close(new Error('the IPC channel closed')));
  return {
    send(frame) {
      if (closed) throw closed;
      // A send to a process killed meanwhile fails later (EPIPE): it closes the pipe, as a dropped
      // connection would, instead of surfacing as the channel's unhandled 'error' event.
      channel.send?.(frame, undefined, undefined, (error) => {
        if (error) close(error);
      });
    },
    receive() {
      if (queue.length > 0) return Promise.resolve(queue.shift() as Frame);
      if (closed) return Promise.reject(closed);
      return new Promise((resolve, reject) => {
        waiting = { resolve, reject };
      });
    },
  };
}
