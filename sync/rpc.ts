/**
 * Sync calls as Cap'n Web RPC over any transport: the authority serves its endpoint as an RPC
 * target, a replica dials it and sees an endpoint again. The WebSocket and the in-process
 * transport both use this, so both carry the same frames.
 *
 * @module
 */
import { type AnyRpcTransport, RpcSession, RpcTarget } from 'capnweb';
import { type ErrorCode, FsError } from '../core/errors.ts';
import { forwardEndpoint, type SyncEndpoint } from './endpoint.ts';

/** Exposes an endpoint's calls as an RPC target (Cap'n Web calls only methods of RpcTarget subclasses). */
class SyncTarget extends RpcTarget implements SyncEndpoint {
  readonly #endpoint: SyncEndpoint;

  constructor(endpoint: SyncEndpoint) {
    super();
    this.#endpoint = endpoint;
  }
  hello(...args: Parameters<SyncEndpoint['hello']>) {
    return this.#endpoint.hello(...args);
  }
  fetchChanges(...args: Parameters<SyncEndpoint['fetchChanges']>) {
    return this.#endpoint.fetchChanges(...args);
  }
  fetchManifest(...args: Parameters<SyncEndpoint['fetchManifest']>) {
    return this.#endpoint.fetchManifest(...args);
  }
  hasObjects(...args: Parameters<SyncEndpoint['hasObjects']>) {
    return this.#endpoint.hasObjects(...args);
  }
  fetchObjects(...args: Parameters<SyncEndpoint['fetchObjects']>) {
    return this.#endpoint.fetchObjects(...args);
  }
  pushObjects(...args: Parameters<SyncEndpoint['pushObjects']>) {
    return this.#endpoint.pushObjects(...args);
  }
  stageList(...args: Parameters<SyncEndpoint['stageList']>) {
    return this.#endpoint.stageList(...args);
  }
  pushChanges(...args: Parameters<SyncEndpoint['pushChanges']>) {
    return this.#endpoint.pushChanges(...args);
  }
  expandMoves(...args: Parameters<SyncEndpoint['expandMoves']>) {
    return this.#endpoint.expandMoves(...args);
  }
  chunkDigests(...args: Parameters<SyncEndpoint['chunkDigests']>) {
    return this.#endpoint.chunkDigests(...args);
  }
  fetchChunkGroups(...args: Parameters<SyncEndpoint['fetchChunkGroups']>) {
    return this.#endpoint.fetchChunkGroups(...args);
  }
  snapshotNames(...args: Parameters<SyncEndpoint['snapshotNames']>) {
    return this.#endpoint.snapshotNames(...args);
  }
  takeForkSnapshot(...args: Parameters<SyncEndpoint['takeForkSnapshot']>) {
    return this.#endpoint.takeForkSnapshot(...args);
  }
  dropForkSnapshot(...args: Parameters<SyncEndpoint['dropForkSnapshot']>) {
    return this.#endpoint.dropForkSnapshot(...args);
  }
  forkRows(...args: Parameters<SyncEndpoint['forkRows']>) {
    return this.#endpoint.forkRows(...args);
  }
  forkChanges(...args: Parameters<SyncEndpoint['forkChanges']>) {
    return this.#endpoint.forkChanges(...args);
  }
  forkStates(...args: Parameters<SyncEndpoint['forkStates']>) {
    return this.#endpoint.forkStates(...args);
  }
  checkForkTarget(...args: Parameters<SyncEndpoint['checkForkTarget']>) {
    return this.#endpoint.checkForkTarget(...args);
  }
  stageReset(...args: Parameters<SyncEndpoint['stageReset']>) {
    return this.#endpoint.stageReset(...args);
  }
  stageRows(...args: Parameters<SyncEndpoint['stageRows']>) {
    return this.#endpoint.stageRows(...args);
  }
  stageEntries(...args: Parameters<SyncEndpoint['stageEntries']>) {
    return this.#endpoint.stageEntries(...args);
  }
  stageBase(...args: Parameters<SyncEndpoint['stageBase']>) {
    return this.#endpoint.stageBase(...args);
  }
  commitFork(...args: Parameters<SyncEndpoint['commitFork']>) {
    return this.#endpoint.commitFork(...args);
  }
  mergeCandidates(...args: Parameters<SyncEndpoint['mergeCandidates']>) {
    return this.#endpoint.mergeCandidates(...args);
  }
  commitMerge(...args: Parameters<SyncEndpoint['commitMerge']>) {
    return this.#endpoint.commitMerge(...args);
  }
}

/**
 * Errors cross the wire as plain Errors carrying only their message. An FsError's message says
 * everything it holds (`CODE: description (detail), syscall 'path' -> 'dest'`), so it is rebuilt
 * whole when the parse makes exactly the same message; otherwise the code is put back on the Error.
 */
function revive(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  const code = /^(E[A-Z_]+): /.exec(error.message)?.[1] as ErrorCode | undefined;
  if (!code) return error;
  const prefix = new FsError(code, 'x').message.slice(0, -', x'.length);
  const parts = /^(?: \((.*)\))?, ([A-Za-z_]+)(?: '(.*?)'(?: -> '(.*)')?)?$/s.exec(error.message.slice(prefix.length));
  if (error.message.startsWith(prefix) && parts) {
    const [, detail, syscall, path, dest] = parts;
    const rebuilt = new FsError(code, syscall, path, dest, { detail, cause: error });
    if (rebuilt.message === error.message) return rebuilt;
  }
  if (!('code' in error)) Object.assign(error, { code });
  return error;
}

/** Serves `endpoint` to the peer at the other end of `transport`. */
export function serveRpc(transport: AnyRpcTransport, endpoint: SyncEndpoint): void {
  new RpcSession(transport, new SyncTarget(endpoint));
}

type Stub = Record<string, (...args: unknown[]) => Promise<unknown>> & Disposable;

/** A dialled RPC session: an endpoint whose calls go through `around`, and a way to end it. */
export interface DialledRpc {
  /**
   * The remote endpoint; `around` sees each call's name and arguments and makes it with `call()`
   * (errors come back with their code).
   */
  forward(
    around: (method: keyof SyncEndpoint, args: unknown[], call: () => Promise<unknown>) => Promise<unknown>,
  ): SyncEndpoint;
  /** Ends the session. */
  close(): void;
}

/** Dials the endpoint served at the other end of `transport`. */
export function dialRpc(transport: AnyRpcTransport): DialledRpc {
  const stub = new RpcSession(transport).getRemoteMain() as unknown as Stub;
  return {
    forward: (around) =>
      forwardEndpoint((method, args) =>
        around(method, args, () =>
          stub[method](...args).catch((error: unknown) => {
            throw revive(error);
          }),
        ),
      ),
    close: () => stub[Symbol.dispose]?.(),
  };
}
