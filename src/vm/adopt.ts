// Adoption of a state the Go TimestampVM wrote (spec §5): it holds the blocks under
// sha256("block"), the last accepted ID under sha256("block") ‖ 00 and the initialized flag, and
// none of tsvm's own indexes (height, payload, genesis bytes, preferred; see state.ts). Adopting
// builds those indexes, so the same chain runs on tsvm from then on.
//
// Order, so that a crash at any point leaves a state the next open finishes and `check` refuses:
//   1. read and verify everything, writing nothing: every stored block's bytes hash to its key,
//      the walk from the last accepted block by parent IDs reaches a genesis (parent ids.Empty,
//      height 0, time 0) with heights +1 and timestamps never decreasing, and every accepted
//      block lies on that walk. A failure is ADOPT_FAILED with the height and ID where it stopped;
//   2. write the adoption marker (synced);
//   3. write the height and payload indexes in key order, in synced batches of at most
//      2 x `batchSize` writes (rejected blocks keep their status and get their payload entries,
//      as tsvm writes them when it rejects);
//   4. write the genesis bytes (the genesis block's padded data: Go keeps no other copy) and the
//      preference (the last accepted block), and remove the marker, in one synced batch.
// A marker found on open means steps 3-4 did not finish: everything is verified and written
// again (the writes are idempotent). The mempool and processing blocks start empty, as Go's do.
// Reading and checking the blocks is in adopt-scan.ts.
//
// Only ChainState's database handle (get, iterator) and batches are used, so the same code runs
// on a LevelDB directory and on any other store that ChainState is given.
import {adoptFailed, byPayload, type GoBlocks, scanBlockSpace, walk} from './adopt-scan.js'
import {WRAPPER_SIZE} from './block.js'
import {ID_LENGTH, idToString, toHex} from './encoding.js'
import {
  ADOPTING_KEY,
  blockKey,
  type ChainState,
  DATA_PREFIX,
  GENESIS_KEY,
  HEIGHT_PREFIX,
  INITIALIZED_KEY,
  LAST_ACCEPTED_KEY,
  MEMPOOL_PREFIX,
  PREFERRED_KEY,
  PROCESSING_PREFIX,
  prefixEnd,
  type PreparedWrite,
  readU64,
  StateBatch,
} from './state.js'

/** Blocks per index batch by default: at most 20,000 writes, about 2 MB. */
export const ADOPT_BATCH_SIZE = 10_000

/** Options of adoptState. */
export interface AdoptOptions {
  /** Blocks per index batch (default ADOPT_BATCH_SIZE): a batch holds at most twice as many writes. */
  batchSize?: number
  /** Called after each batch has been written: 1 is the marker, then the index batches, then the final one. */
  onBatch?: (batch: number, total: number) => void
  /** A clock in milliseconds for the report (default performance.now). */
  clock?: () => number
}

/** What an adoption did. */
export interface AdoptReport {
  /** Accepted blocks indexed, genesis included. */
  blocks: number
  /** Rejected blocks indexed. */
  rejected: number
  lastAcceptedHeight: string
  lastAcceptedID: string
  /** The genesis block's data, recorded as the genesis bytes (hex). */
  genesisData: string
  /** Batches written, marker and final batch included. */
  batches: number
  /** True when an earlier, interrupted adoption was finished. */
  resumed: boolean
  /** Wall time in milliseconds. */
  ms: number
}

/** What a state needs: nothing, an adoption, or the end of an interrupted one. */
export type AdoptionNeed = 'none' | 'adopt' | 'resume'

async function hasPrefix(state: ChainState, prefix: Uint8Array): Promise<boolean> {
  const keys = await state.db.keys({gte: prefix, lt: prefixEnd(prefix), limit: 1}).all()
  return keys.length > 0
}

/**
 * Whether `state` was written by the Go VM and not yet adopted: the initialized flag and the last
 * accepted ID are there and none of tsvm's own keys is; or an adoption was interrupted.
 */
export async function adoptionNeed(state: ChainState): Promise<AdoptionNeed> {
  const {db} = state
  if ((await db.get(ADOPTING_KEY)) !== undefined) return 'resume'
  if ((await db.get(INITIALIZED_KEY)) === undefined || (await db.get(LAST_ACCEPTED_KEY)) === undefined) return 'none'
  if ((await db.get(GENESIS_KEY)) !== undefined || (await db.get(PREFERRED_KEY)) !== undefined) return 'none'
  for (const prefix of [HEIGHT_PREFIX, DATA_PREFIX, MEMPOOL_PREFIX, PROCESSING_PREFIX]) {
    if (await hasPrefix(state, prefix)) return 'none'
  }

  return 'adopt'
}

/**
 * Adopts a state the Go VM wrote, or finishes an interrupted adoption (see the file comment).
 * Undefined when there is nothing to adopt; ADOPT_FAILED, nothing written, for a damaged state.
 */
export async function adoptState(state: ChainState, options: AdoptOptions = {}): Promise<AdoptReport | undefined> {
  const need = await adoptionNeed(state)
  if (need === 'none') return undefined
  const clock = options.clock ?? (() => performance.now())
  const start = clock()
  const batchSize = Math.max(1, options.batchSize ?? ADOPT_BATCH_SIZE)
  const lastId = await state.db.get(LAST_ACCEPTED_KEY)
  if (!lastId || lastId.length !== ID_LENGTH)
    throw adoptFailed(`the last accepted ID is ${lastId ? `${lastId.length} bytes, not ${ID_LENGTH}` : 'missing'}`)
  // The last accepted block's height says how many blocks to expect (its value is checked with
  // the others during the scan; here it only sizes the tables).
  const tipValue = await state.db.get(blockKey(lastId))
  const tipHeight = tipValue?.length === WRAPPER_SIZE ? readU64(tipValue, 40) : 0n
  const blocks = await scanBlockSpace(state.db, Number(tipHeight < 1n << 24n ? tipHeight : 0n) + 1024)
  const chain = walk(blocks, lastId)
  const tip = chain.at(-1)!
  const genesis = chain[0]!
  const tipId = new Uint8Array(blocks.id(tip))
  const writes = new IndexWrites(blocks, chain)
  // The marker, the index batches, then the genesis bytes and preference with the marker's
  // removal. Pipelined: each batch is filled while LevelDB writes the one before, and handed over
  // only once that one is written and reported, so a halt after batch N leaves exactly the batches
  // up to N on disk. Each is synced: LevelDB does not sync a log file when it moves on to a new
  // one, so the final synced write alone would not make index batches in an earlier log durable,
  // and a power cut could keep that write (no marker) and lose some of them.
  const fills: Array<(batch: StateBatch) => void> = [(b) => b.setAdopting(tipId)]
  for (let from = 0; from < writes.length; from += 2 * batchSize)
    fills.push((b) => writes.fill(b, from, Math.min(writes.length, from + 2 * batchSize)))
  fills.push((b) =>
    b
      .setGenesisBytes(new Uint8Array(blocks.data(genesis)))
      .setPreferred(tipId)
      .clearAdopting(),
  )
  let batches = 0
  const landed = () => {
    batches++
    options.onBatch?.(batches, fills.length)
  }

  let inflight: Promise<void> | undefined
  let next: PreparedWrite | undefined
  try {
    for (const fill of fills) {
      const batch = state.directBatch()
      next = state.prepare(batch)
      fill(batch)
      if (inflight) {
        await inflight
        landed()
      }

      inflight = next.write({sync: true})
      next = undefined
    }

    await inflight
    landed()
  } catch (error) {
    await next?.discard()
    throw error
  }

  return {
    blocks: chain.length,
    rejected: blocks.count - chain.length,
    lastAcceptedHeight: String(chain.length - 1),
    lastAcceptedID: idToString(tipId),
    genesisData: toHex(blocks.data(genesis)),
    batches,
    resumed: need === 'resume',
    ms: clock() - start,
  }
}

/**
 * The index writes of an adoption as one sequence in key order: the height index (height to
 * block ID, ascending), and the payload index (payload ‖ block ID, every block, rejected ones
 * included, as tsvm writes them when it rejects) in the order byPayload gives; whichever prefix
 * is lower first. Only the speed depends on that order: LevelDB stores the same keys either way.
 */
class IndexWrites {
  readonly length: number
  private readonly heightsFirst: boolean
  private readonly order: Uint32Array

  constructor(
    private readonly blocks: GoBlocks,
    private readonly chain: Int32Array,
  ) {
    this.length = chain.length + blocks.count
    this.heightsFirst = compareBytes(HEIGHT_PREFIX, DATA_PREFIX) < 0
    this.order = byPayload(blocks)
  }

  /** Adds writes [from, to) of the sequence to `batch`. */
  fill(batch: StateBatch, from: number, to: number): void {
    const {blocks, chain, order} = this
    const heights = chain.length
    for (let w = from; w < to; w++) {
      const k = this.heightsFirst ? w : (w + heights) % this.length
      if (k < heights) batch.putHeight({height: BigInt(k), id: blocks.id(chain[k]!)})
      else {
        const b = order[k - heights]!
        batch.putData({data: blocks.data(b), id: blocks.id(b)})
      }
    }
  }
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!
  return a.length - b.length
}
