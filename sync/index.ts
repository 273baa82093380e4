/**
 * Sync between an authority (a Durable Object) and replicas (a container's node:sqlite file):
 * change stream, cursors, content-addressed objects, apply, endpoint, driver and transports.
 *
 * The wire ({@link serveSyncWebSocket} in a Durable Object, {@link connectSyncWebSocket} in a
 * replica, {@link checkBearerToken} for the Worker in front) is Cap'n Web over a WebSocket. Nothing
 * here imports a Node-only module: the whole module runs in workerd (with `nodejs_compat`, for
 * `node:crypto`) and in Node 22.13+.
 *
 * @module dofs-sqlite/sync
 */
export {
  type ApplyOptions,
  type ApplyResult,
  applyChanges,
  type RefusedEntry,
  type SyncConflict,
  validateEntry,
} from './apply.ts';
export {
  createBranch,
  currentBranch,
  deleteBranch,
  listBranches,
  MAIN_BRANCH,
  mergeBranch,
  switchBranch,
} from './branches.ts';
export {
  type ChangeBatch,
  type ChangeCursor,
  type ChangeEntry,
  type CoalesceOptions,
  coalesceChanges,
  compareChangeCursors,
  currentRev,
  DELETION_POSITION,
  type DeleteEntry,
  type DirEntry,
  type EntryChunk,
  entryBytes,
  type FileEntry,
  fetchChanges,
  HOLE,
  type MoveEntry,
  materialiseChange,
  type NodeFields,
  PAGE_BYTES,
  type PathState,
  type SpecialEntry,
  START_CURSOR,
  type SymlinkEntry,
} from './changes.ts';
export {
  type ChunkDelta,
  type ChunkDigests,
  type ChunkGroup,
  type ChunkGroupRequest,
  chunkDigests,
  chunkGroups,
  DELTA_GROUP,
  DELTA_MIN_CHUNKS,
  expandDeltas,
  fileDigests,
  type StagedLists,
  toDelta,
} from './chunk-delta.ts';
export {
  COMPACTION_INTERVAL_MS,
  type CompactOptions,
  type CompactResult,
  compactChanges,
  compactedRev,
  compactFully,
  type ManifestPage,
  needsResync,
  readManifest,
} from './compact.ts';
export {
  createSyncDriver,
  type SyncDriver,
  type SyncDriverOptions,
  type SyncProgress,
  type SyncReport,
} from './driver.ts';
export {
  createStaging,
  createSyncEndpoint,
  type EndpointOptions,
  type FetchOptions,
  forwardEndpoint,
  type Hello,
  MAX_BATCH_BYTES,
  MAX_BATCH_ENTRIES,
  MAX_HASHES_PER_CALL,
  type PushRequest,
  type PushResponse,
  type Staging,
  SYNC_METHODS,
  type SyncEndpoint,
  type Welcome,
} from './endpoint.ts';
export {
  type ForkResult,
  fork,
  local,
  type MergeConflict,
  type MergePlan,
  type MergeResult,
  merge,
  type WorkspaceAccess,
} from './fork.ts';
export {
  decodeFrame,
  encodeFrame,
  type Frame,
  type FramePipe,
  type FrameTransport,
  frameBytes,
  frameTransport,
} from './frames.ts';
export { DEFAULT_IGNORE, isIgnored } from './ignore.ts';
export { connectInProcess, type InProcessOptions, type WireCounters } from './in-process.ts';
export { LIST_PART, type ListPart } from './list-parts.ts';
export {
  durableObjectCacheBytes,
  ENGINE_WORKING_BYTES,
  ISOLATE_MEMORY_BYTES,
  MEMORY_MARGIN_FRACTION,
  SYNC_MESSAGE_RESERVE_BYTES,
} from './memory.ts';
export {
  type ChangeMemo,
  type ChangePage,
  type ForkRow,
  localSource,
  type MergeSource,
  remoteSource,
} from './merge-source.ts';
export { localTarget, type MergeTarget, remoteTarget } from './merge-target.ts';
export { expandMoves } from './moves.ts';
export {
  buildManifest,
  fetchObjects,
  hasObjects,
  missingObjects,
  pushObjects,
  type SyncObject,
  stageBlob,
  verifyObject,
} from './objects.ts';
export {
  assertAppliedPushCursor,
  readPushCursor,
  readWatermark,
  recordRefusals,
  replicaId,
  resetPeer,
  type UnsyncedEntry,
  unsyncedEntries,
  writePushCursor,
  writeWatermark,
} from './peers.ts';
export {
  checkBearerToken,
  connectSyncWebSocket,
  MAX_MESSAGE_BYTES,
  type SocketCounters,
  type SyncConnection,
  serveSyncWebSocket,
} from './websocket.ts';
