// The one interface chain commands talk to. Two backends implement it: the embedded VM on a
// local data dir (src/chain/embedded.ts) and a JSON-RPC node (src/chain/remote.ts). Commands
// never know which one they hold, so the same script runs against either.
import type {Block, Status} from '../vm/block.js'
import type {CheckReport} from '../vm/check.js'
import type {BlockRun} from '../vm/run.js'

export type {CheckProblem, CheckReport} from '../vm/check.js'
export type {BlockRun} from '../vm/run.js'

/** A block and what the chain knows of its status (a remote node does not report status: 'Unknown'). */
export interface StoredBlock {
  block: Block
  status: Status
}

/** The outcome of proposing payloads. */
export interface ProposeResult {
  /** Payloads queued (all of them, unless a bounded mempool refused some). */
  queued: number
  /** Blocks accepted by this call, in height order (empty with accept: false on the embedded chain). */
  accepted: StoredBlock[]
  /** Processing blocks this call rejected because the accepted ones conflict with them (embedded). */
  rejected?: StoredBlock[]
}

export interface ProposeOptions {
  /** Build and accept at once (embedded), or wait until accepted (remote). Default true. */
  accept?: boolean
  /** Block time in unix seconds for the blocks built (embedded only); still verified. */
  timestamp?: bigint
  /** Give up waiting after this long (remote, or when accept waits on a node). */
  timeoutMs?: number
  /** Called after each accepted block, for progress bars. */
  onProgress?: (done: number, total: number) => void
  /**
   * Called with each group of blocks as soon as it is accepted (embedded). Blocks handed here are
   * not also collected in the result's `accepted`, so memory stays flat however many payloads
   * there are. A backend that cannot stream ignores it and returns them in `accepted`.
   */
  onAccepted?: (blocks: StoredBlock[]) => void
  /**
   * The embedded chain's onAccepted for a group commit: the group's blocks, all accepted, as one
   * run (consecutive blocks side by side, see src/vm/run.ts) rather than as objects. When given,
   * the embedded chain calls it instead of onAccepted; a remote chain ignores it.
   */
  onAcceptedRun?: (blocks: BlockRun) => void
  /**
   * Stop early (embedded): once aborted, the groups already started are accepted and reported, and
   * no further payload is taken; the result's `queued` then says how many of `payloads` were used.
   */
  signal?: AbortSignal
}

export interface BlocksOptions {
  /** Start at this height and go down (default: the last accepted). */
  fromHeight?: bigint
  /** At most this many blocks. */
  limit?: number
}

/**
 * What identifies a chain, as opposed to where it is: the ID of its genesis block and, on a node,
 * the chain ID (on AvalancheGo the ID of the transaction that created the chain, which holds the
 * genesis, so it also fixes the genesis).
 */
export interface ChainIdentity {
  genesisID?: Uint8Array
  chainID?: Uint8Array
}

/** What every chain backend offers. */
export interface Chain {
  readonly kind: 'embedded' | 'remote'
  /** The data dir or endpoint, for messages. */
  readonly location: string

  /** Queues payloads and, by default, waits until each is in an accepted block. */
  propose(payloads: Uint8Array[], options?: ProposeOptions): Promise<ProposeResult>
  /** A block by ID (any status); BLOCK_NOT_FOUND when unknown. */
  getBlock(id: Uint8Array): Promise<StoredBlock>
  /** The last accepted block. */
  lastAccepted(): Promise<StoredBlock>
  /** The accepted block at a height; BLOCK_NOT_FOUND above the tip. */
  getBlockAtHeight(height: bigint): Promise<StoredBlock>
  /** Every known block whose payload is `data` (empty when none). */
  findByData(data: Uint8Array): Promise<StoredBlock[]>
  /** Accepted blocks, newest first, streamed. */
  blocks(options?: BlocksOptions): AsyncIterable<StoredBlock>

  /** Builds one block from the mempool and leaves it processing (embedded only). */
  build(options?: {timestamp?: bigint}): Promise<StoredBlock>
  /** Accepts a processing block (embedded only). */
  accept(id: Uint8Array): Promise<StoredBlock>
  /** Rejects a processing block (embedded only). */
  reject(id: Uint8Array): Promise<StoredBlock>
  /** The queued payloads, oldest first (embedded only). */
  mempool(): Promise<Uint8Array[]>
  /** Blocks built or verified but not yet accepted or rejected (embedded only; optional). */
  processing?(): Promise<StoredBlock[]>
  /** Re-verifies the whole stored chain (embedded only). */
  check(options?: {onProgress?: (done: number, total: number) => void}): Promise<CheckReport>

  /** What identifies this chain, as far as the backend can tell cheaply (optional). */
  identity?(): Promise<ChainIdentity>

  /** Releases the data dir or connection. */
  close(): Promise<void>
}
