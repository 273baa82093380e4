/**
 * Directory moves in sync. A rename of a directory is one change row, whatever its size
 * (`Mutation.move`); the receiver replays it as one rename when its copy is in the state the
 * sender's was. When it is not (it deleted or moved the directory meanwhile, made something at the
 * destination, or got the destination's contents already), the sender restamps the moved subtree so
 * it travels as state, and the receiver takes the move as the deletion of the old path: the
 * state-based rule, under which nothing is lost. docs/sync-protocol.md, "Moves", says why.
 *
 * @module
 */
import type { Database } from '../core/database.ts';
import type { Mutation } from '../core/mutate.ts';
import { mutate } from '../core/mutate.ts';
import { isSameOrBelow } from '../core/paths.ts';
import { restampSubtree } from '../core/subtree.ts';
import { locationAt, type MoveEntry } from './changes.ts';

/** How a move meets the receiver: replayable, already reflected here, or not replayable. */
export type MoveFit = 'replay' | 'reflected' | 'expand';

/**
 * Whether the directory move `from` → `to` can be replayed here as one rename: `from` is a real
 * directory, nothing is at `to` and its parent is a real directory. When `from` is gone and
 * neither path changed here (`concurrent`), this side never had the directory there: it gets the
 * subtree at its current path as state (a new peer reads every live node so; a directory made
 * after the cursor arrives at its own position). Otherwise the move must travel as state.
 */
export function moveFit(db: Database, from: string, to: string, concurrent: (path: string) => boolean): MoveFit {
  if (from === to || isSameOrBelow(to, from)) return 'expand';
  const source = locationAt(db, from);
  const target = locationAt(db, to);
  const sourceIsDir = source?.node?.type === 'dir' && source.realPath === from;
  const targetParentOk = target !== undefined && target.parent.type === 'dir' && target.realPath === to;
  // A directory made here since the peer's base is another one that happens to bear the name.
  if (sourceIsDir && targetParentOk && !target.node && !concurrent(from)) return 'replay';
  if (!source?.node && !concurrent(from) && !concurrent(to)) return 'reflected';
  return 'expand';
}

/** A move's identity, to match the one a peer names. */
export const moveKey = (move: Pick<MoveEntry, 'rev' | 'from' | 'path'>): string =>
  `${move.rev}\0${move.from}\0${move.path}`;

/**
 * Makes the subtrees the `moves` put in place travel as state: every node below each destination
 * (the destination included) takes a new revision. Called on the side that made the moves when the
 * peer could not replay them; doing it twice only sends the same state twice.
 */
export function expandMoves(db: Database, moves: readonly MoveEntry[]): void {
  if (moves.length === 0) return;
  mutate(db, 'sync', undefined, (m: Mutation) => {
    for (const move of moves) {
      const node = locationAt(db, move.path)?.node;
      if (node?.type === 'dir') restampSubtree(db, m, node.inode);
    }
  });
}
