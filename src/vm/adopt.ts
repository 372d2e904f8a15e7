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
//   3. write the height and payload indexes in batches of `batchSize` blocks (rejected blocks keep
//      their status and get their payload entries, as tsvm writes them when it rejects);
//   4. write the genesis bytes (the genesis block's padded data: Go keeps no other copy) and the
//      preference (the last accepted block), and remove the marker, in one synced batch.
// A marker found on open means steps 3-4 did not finish: everything is verified and written
// again (the writes are idempotent). The mempool and processing blocks start empty, as Go's do.
//
// Only ChainState's database handle (get, iterator) and batches are used, so the same code runs
// on a LevelDB directory and on any other store that ChainState is given.
import {type Block, decodeWrapper, Status} from './block.js'
import {EMPTY_ID, ID_LENGTH, idToString, toHex} from './encoding.js'
import {TsvmError} from './errors.js'
import {bytesEqual} from './hash.js'
import {
  ADOPTING_KEY,
  BLOCK_PREFIX,
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
  StateBatch,
} from './state.js'

/** Blocks per index batch by default: about 20,000 writes, a few MB. */
export const ADOPT_BATCH_SIZE = 10_000

/** Options of adoptState. */
export interface AdoptOptions {
  /** Blocks per index batch (default ADOPT_BATCH_SIZE). */
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

function failed(message: string, at?: {height?: bigint; id?: Uint8Array}): TsvmError {
  const details: Record<string, unknown> = {}
  if (at?.height !== undefined) details.height = at.height.toString()
  if (at?.id) details.id = idToString(at.id)
  return new TsvmError(
    'ADOPT_FAILED',
    `cannot adopt the chain the Go VM left: ${message}; nothing was written: restore the data dir from a backup of the Go node, or resync the chain`,
    {details},
  )
}

/** Reads and checks every stored block; returns the accepted chain from genesis up and the rejected blocks. */
async function readGoState(state: ChainState): Promise<{chain: Block[]; rejected: Block[]}> {
  const lastId = await state.db.get(LAST_ACCEPTED_KEY)
  if (!lastId || lastId.length !== ID_LENGTH) throw failed(`the last accepted ID is ${lastId ? `${lastId.length} bytes, not ${ID_LENGTH}` : 'missing'}`)
  const accepted = new Map<string, Block>()
  const rejected: Block[] = []
  // One pass over the block space in key order (nextv: a thousand entries per call), instead of a
  // random read per block; the walk below then follows parent IDs in memory.
  const it = state.db.iterator({gte: BLOCK_PREFIX, lt: prefixEnd(BLOCK_PREFIX)})
  try {
    for (;;) {
      const entries = await it.nextv(1000)
      if (entries.length === 0) break
      for (const [key, value] of entries) {
        const rest = key.subarray(BLOCK_PREFIX.length)
        if (rest.length === 1 && rest[0] === 0) continue // the last accepted ID
        if (rest.length !== ID_LENGTH) throw failed(`unexpected key of ${key.length} bytes in the block space`)
        let record
        try {
          record = decodeWrapper(value)
        } catch (error) {
          throw failed(`the block stored under ${idToString(rest)} does not decode (${(error as Error).message})`, {id: rest})
        }
        const {block, status} = record
        if (!bytesEqual(block.id, rest)) {
          throw failed(`the block at height ${block.height} stored under ${idToString(rest)} hashes to ${idToString(block.id)}`, {height: block.height, id: rest})
        }
        if (status === Status.Accepted) accepted.set(toHex(block.id), block)
        else if (status === Status.Rejected) rejected.push(block)
        else throw failed(`the block at height ${block.height} (${idToString(block.id)}) is stored with status ${status}`, {height: block.height, id: block.id})
      }
    }
  } finally {
    await it.close()
  }

  // The walk from the last accepted block down to genesis by parent IDs.
  let block = accepted.get(toHex(lastId))
  if (!block) throw failed(`the last accepted block ${idToString(lastId)} is not stored as accepted`, {id: lastId})
  const chain: Block[] = [block]
  while (block.height > 0n) {
    const parent = accepted.get(toHex(block.parentId))
    if (!parent) {
      throw failed(
        `the walk from the last accepted block stopped at height ${block.height} (${idToString(block.id)}): its parent ${idToString(block.parentId)} is not stored as accepted`,
        {height: block.height, id: block.id},
      )
    }
    if (parent.height + 1n !== block.height) {
      throw failed(`the block at height ${block.height} (${idToString(block.id)}) has a parent of height ${parent.height}`, {height: block.height, id: block.id})
    }
    if (block.timestamp < parent.timestamp) {
      throw failed(`the block at height ${block.height} (${idToString(block.id)}) is timestamped before its parent`, {height: block.height, id: block.id})
    }
    chain.push(parent)
    block = parent
  }
  if (!bytesEqual(block.parentId, EMPTY_ID) || block.timestamp !== 0n) {
    throw failed(`the block at height 0 (${idToString(block.id)}) is not a genesis block (parent ids.Empty, timestamp 0)`, {height: 0n, id: block.id})
  }
  if (chain.length !== accepted.size) {
    const on = new Set(chain.map((b) => toHex(b.id)))
    const off = [...accepted.values()].find((b) => !on.has(toHex(b.id)))!
    throw failed(`the accepted block at height ${off.height} (${idToString(off.id)}) is not on the chain of the last accepted block`, {height: off.height, id: off.id})
  }
  chain.reverse()
  return {chain, rejected}
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
  const {chain, rejected} = await readGoState(state)
  const genesis = chain[0]!
  const tip = chain[chain.length - 1]!
  const total = 2 + Math.ceil((chain.length + rejected.length) / batchSize)
  let batches = 0
  const landed = () => {
    batches++
    options.onBatch?.(batches, total)
  }

  await state.write(new StateBatch().setAdopting(tip.id), {sync: true})
  landed()
  const all = [...chain, ...rejected]
  for (let i = 0; i < all.length; i += batchSize) {
    const batch = state.directBatch()
    const end = Math.min(all.length, i + batchSize)
    for (let j = i; j < end; j++) {
      const b = all[j]!
      batch.putData(b)
      if (j < chain.length) batch.putHeight(b)
    }
    await state.prepare(batch).write()
    landed()
  }
  await state.write(new StateBatch().setGenesisBytes(genesis.data).setPreferred(tip.id).clearAdopting(), {sync: true})
  landed()
  return {
    blocks: chain.length,
    rejected: rejected.length,
    lastAcceptedHeight: tip.height.toString(),
    lastAcceptedID: idToString(tip.id),
    genesisData: toHex(genesis.data),
    batches,
    resumed: need === 'resume',
    ms: clock() - start,
  }
}
