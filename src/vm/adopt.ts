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
import {Buffer} from 'node:buffer'
import {hash} from 'node:crypto'

import {BLOCK_SIZE, decodeWrapper, Status, WRAPPER_SIZE} from './block.js'
import {EMPTY_ID, ID_LENGTH, idToString, toHex} from './encoding.js'
import {TsvmError} from './errors.js'
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
  type PreparedWrite,
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

/** What the walk needs of a stored block; the bytes are views into the values read. */
interface Scanned {
  id: Uint8Array
  /** The parent ID as a one-char-per-byte string, the key of the map the walk follows. */
  parent: string
  height: bigint
  timestamp: bigint
  data: Uint8Array
}

/** An ID as a string of one char per byte: a cheap, exact map key (hex costs twice as much). */
const idKey = (bytes: Uint8Array, start = 0): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset + start, ID_LENGTH).toString('latin1')

/**
 * Decodes a stored blkWrapper and checks that its block hashes to `id`, without building a Block:
 * on the 100,000 blocks of a large chain, decodeWrapper's copies and objects cost three times the
 * read itself. Anything but the one valid layout (92 bytes: codec 00 00, length 82, block codec
 * 00 00, status 2 or 3) goes to decodeWrapper, which says what is wrong; the adoption tests check
 * that the indexes written from these views are the ones tsvm writes from Blocks.
 */
function scanBlock(id: Uint8Array, value: Uint8Array): {block: Scanned; status: Status} {
  const v = value
  const layout =
    v.length === WRAPPER_SIZE &&
    v[0] === 0 &&
    v[1] === 0 &&
    v[2] === 0 &&
    v[3] === 0 &&
    v[4] === 0 &&
    v[5] === BLOCK_SIZE &&
    v[6] === 0 &&
    v[7] === 0 &&
    v[88] === 0 &&
    v[89] === 0 &&
    v[90] === 0 &&
    (v[91] === Status.Accepted || v[91] === Status.Rejected)
  if (!layout) {
    let record
    try {
      record = decodeWrapper(value)
    } catch (error) {
      throw failed(`the block stored under ${idToString(id)} does not decode (${(error as Error).message})`, {id})
    }

    throw failed(
      `the block at height ${record.block.height} (${idToString(id)}) is stored with status ${record.status}`,
      {height: record.block.height, id},
    )
  }

  const view = new DataView(v.buffer, v.byteOffset, v.byteLength)
  const height = view.getBigUint64(40)
  const digest = hash('sha256', v.subarray(6, 6 + BLOCK_SIZE), 'binary')
  if (digest !== idKey(id)) {
    const actual = Uint8Array.from(digest, (c) => c.charCodeAt(0))
    throw failed(`the block at height ${height} stored under ${idToString(id)} hashes to ${idToString(actual)}`, {
      height,
      id,
    })
  }

  return {
    block: {id, parent: idKey(v, 8), height, timestamp: view.getBigInt64(48), data: v.subarray(56, 56 + ID_LENGTH)},
    status: v[91] as Status,
  }
}

/** Reads and checks every stored block; returns the accepted chain from genesis up and the rejected blocks. */
async function readGoState(state: ChainState): Promise<{chain: Scanned[]; rejected: Scanned[]}> {
  const lastId = await state.db.get(LAST_ACCEPTED_KEY)
  if (!lastId || lastId.length !== ID_LENGTH)
    throw failed(`the last accepted ID is ${lastId ? `${lastId.length} bytes, not ${ID_LENGTH}` : 'missing'}`)
  const accepted = new Map<string, Scanned>()
  const rejected: Scanned[] = []
  // One pass over the block space in key order (nextv: a thousand entries per call), instead of a
  // random read per block; the walk below then follows parent IDs in memory.
  const it = state.db.iterator({gte: BLOCK_PREFIX, lt: prefixEnd(BLOCK_PREFIX)})
  try {
    for (;;) {
      const entries = await it.nextv(1000)
      if (entries.length === 0) break
      for (const [key, value] of entries) {
        const id = key.subarray(BLOCK_PREFIX.length)
        if (id.length === 1 && id[0] === 0) continue // the last accepted ID
        if (id.length !== ID_LENGTH) throw failed(`unexpected key of ${key.length} bytes in the block space`)
        const {block, status} = scanBlock(id, value)
        if (status === Status.Accepted) accepted.set(idKey(id), block)
        else rejected.push(block)
      }
    }
  } finally {
    await it.close()
  }

  // The walk from the last accepted block down to genesis by parent IDs.
  let block = accepted.get(idKey(lastId))
  if (!block) throw failed(`the last accepted block ${idToString(lastId)} is not stored as accepted`, {id: lastId})
  const chain: Scanned[] = [block]
  while (block.height > 0n) {
    const parent = accepted.get(block.parent)
    if (!parent) {
      const parentId = Uint8Array.from(block.parent, (c) => c.charCodeAt(0))
      throw failed(
        `the walk from the last accepted block stopped at height ${block.height} (${idToString(block.id)}): its parent ${idToString(parentId)} is not stored as accepted`,
        {height: block.height, id: block.id},
      )
    }

    if (parent.height + 1n !== block.height) {
      throw failed(
        `the block at height ${block.height} (${idToString(block.id)}) has a parent of height ${parent.height}`,
        {height: block.height, id: block.id},
      )
    }

    if (block.timestamp < parent.timestamp) {
      throw failed(`the block at height ${block.height} (${idToString(block.id)}) is timestamped before its parent`, {
        height: block.height,
        id: block.id,
      })
    }

    chain.push(parent)
    block = parent
  }

  if (block.parent !== idKey(EMPTY_ID) || block.timestamp !== 0n) {
    throw failed(
      `the block at height 0 (${idToString(block.id)}) is not a genesis block (parent ids.Empty, timestamp 0)`,
      {height: 0n, id: block.id},
    )
  }

  if (chain.length !== accepted.size) {
    const on = new Set(chain.map((b) => idKey(b.id)))
    const off = [...accepted.values()].find((b) => !on.has(idKey(b.id)))!
    throw failed(
      `the accepted block at height ${off.height} (${idToString(off.id)}) is not on the chain of the last accepted block`,
      {height: off.height, id: off.id},
    )
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
  const tip = chain.at(-1)!
  const total = 2 + Math.ceil((chain.length + rejected.length) / batchSize)
  let batches = 0
  const landed = () => {
    batches++
    options.onBatch?.(batches, total)
  }

  await state.write(new StateBatch().setAdopting(tip.id), {sync: true})
  landed()
  // Pipelined: the next batch is filled while LevelDB writes the one before. A batch is reported
  // once written, before the next one is handed over, so a halt after batch N leaves exactly the
  // batches up to N on disk.
  const all = [...chain, ...rejected]
  let inflight: Promise<void> | undefined
  let next: PreparedWrite | undefined
  try {
    for (let i = 0; i < all.length; i += batchSize) {
      const batch = state.directBatch()
      next = state.prepare(batch)
      const end = Math.min(all.length, i + batchSize)
      for (let j = i; j < end; j++) {
        const b = all[j]!
        batch.putData(b)
        if (j < chain.length) batch.putHeight(b)
      }

      if (inflight) {
        await inflight
        landed()
      }

      inflight = next.write()
      next = undefined
    }

    if (inflight) {
      await inflight
      landed()
    }
  } catch (error) {
    await next?.discard()
    throw error
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
