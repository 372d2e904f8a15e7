// Reading and checking the block space the Go VM left (spec §5), for adopt.ts. Every stored block
// is copied into two packed tables, in key order (that is, by ID):
//
//   values  92 bytes per block, the stored blkWrapper as read:
//           00 00 | u32 82 | 00 00 | parent (32) at 8 | height at 40 | timestamp at 48 | data (32) at 56 | u32 status (last byte at 91)
//   ids     32 bytes per block, its key without the block prefix
//
// so that 100,000 blocks cost two allocations instead of a few objects each, and the walk down the
// chain and the index writes read bytes at offsets. The walk has a plain version (a map from ID to
// block, followed from the last accepted block by parent IDs) and a fast one (an array from height
// to block, checked link by link); both accept exactly the same states, the fast one is what runs,
// and the plain one says what is wrong when the fast one finds anything (test/vm/adopt.test.ts
// checks that they agree on damaged states).
import {Buffer} from 'node:buffer'
import {hash} from 'node:crypto'

import {BLOCK_SIZE, decodeWrapper, Status, WRAPPER_SIZE} from './block.js'
import {EMPTY_ID, ID_LENGTH, idToString} from './encoding.js'
import {TsvmError} from './errors.js'
import {BLOCK_PREFIX, prefixEnd, type StateDb} from './state.js'

/** Offsets in a stored blkWrapper (see the layout above). */
const PARENT_AT = 8
const HEIGHT_AT = 40
const TIME_AT = 48
const DATA_AT = 56
const STATUS_AT = WRAPPER_SIZE - 1

/** Entries per read of the block space, and the bytes one read may gather (classic-level's default is 16 KiB). */
const READ_ENTRIES = 1000
const READ_BYTES = 1 << 20

/** ADOPT_FAILED: the Go state cannot be adopted; nothing was written. */
export function adoptFailed(message: string, at?: {height?: bigint; id?: Uint8Array}): TsvmError {
  const details: Record<string, unknown> = {}
  if (at?.height !== undefined) details.height = at.height.toString()
  if (at?.id) details.id = idToString(at.id)
  return new TsvmError(
    'ADOPT_FAILED',
    `cannot adopt the chain the Go VM left: ${message}; nothing was written: restore the data dir from a backup of the Go node, or resync the chain`,
    {details},
  )
}

/** Every block stored in the block space, packed (see the file comment). */
export class GoBlocks {
  count = 0
  /** Accepted blocks among them. */
  accepted = 0
  values: Uint8Array
  ids: Uint8Array
  private view: DataView

  /** `capacity`: the blocks expected (at most 2^20 up front; the tables grow past it if need be). */
  constructor(capacity = 1024) {
    const n = Math.max(16, Math.min(capacity, 1 << 20))
    this.values = new Uint8Array(WRAPPER_SIZE * n)
    this.ids = new Uint8Array(ID_LENGTH * n)
    this.view = new DataView(this.values.buffer)
  }

  /** Appends a stored block; `key` is its full key (prefix and ID), `value` 92 bytes. */
  add(key: Uint8Array, value: Uint8Array): void {
    const i = this.count
    if (i * ID_LENGTH === this.ids.length) this.grow()
    this.values.set(value, i * WRAPPER_SIZE)
    const {ids} = this
    const at = i * ID_LENGTH
    for (let j = 0; j < ID_LENGTH; j++) ids[at + j] = key[BLOCK_PREFIX.length + j]!
    if (value[STATUS_AT] === Status.Accepted) this.accepted++
    this.count = i + 1
  }

  private grow(): void {
    const values = new Uint8Array(this.values.length * 2)
    values.set(this.values)
    const ids = new Uint8Array(this.ids.length * 2)
    ids.set(this.ids)
    this.values = values
    this.ids = ids
    this.view = new DataView(values.buffer)
  }

  isAccepted(i: number): boolean {
    return this.values[i * WRAPPER_SIZE + STATUS_AT] === Status.Accepted
  }

  /** Block i's ID (a view). */
  id(i: number): Uint8Array {
    return this.ids.subarray(i * ID_LENGTH, (i + 1) * ID_LENGTH)
  }

  /** Block i's parent ID (a view). */
  parent(i: number): Uint8Array {
    const at = i * WRAPPER_SIZE + PARENT_AT
    return this.values.subarray(at, at + ID_LENGTH)
  }

  /** Block i's payload (a view). */
  data(i: number): Uint8Array {
    const at = i * WRAPPER_SIZE + DATA_AT
    return this.values.subarray(at, at + ID_LENGTH)
  }

  height(i: number): bigint {
    return this.view.getBigUint64(i * WRAPPER_SIZE + HEIGHT_AT)
  }

  timestamp(i: number): bigint {
    return this.view.getBigInt64(i * WRAPPER_SIZE + TIME_AT)
  }
}

/**
 * Checks a stored blkWrapper and that its block hashes to its key, without building a Block.
 * Anything but the one valid layout (92 bytes: codec 00 00, length 82, block codec 00 00, status
 * 2 or 3) goes to decodeWrapper, which says what is wrong.
 */
function checkStored(key: Uint8Array, value: Uint8Array): void {
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
    (v[STATUS_AT] === Status.Accepted || v[STATUS_AT] === Status.Rejected)
  if (!layout) {
    const id = key.slice(BLOCK_PREFIX.length)
    let record
    try {
      record = decodeWrapper(value)
    } catch (error) {
      throw adoptFailed(`the block stored under ${idToString(id)} does not decode (${(error as Error).message})`, {id})
    }

    throw adoptFailed(
      `the block at height ${record.block.height} (${idToString(id)}) is stored with status ${record.status}`,
      {height: record.block.height, id},
    )
  }

  // One char per byte: compared with the key in place, no Buffer made for the digest.
  const digest = hash('sha256', new Uint8Array(v.buffer, v.byteOffset + 6, BLOCK_SIZE), 'binary')
  for (let j = 0; j < ID_LENGTH; j++) {
    if (digest.codePointAt(j) !== key[BLOCK_PREFIX.length + j]) {
      const id = key.slice(BLOCK_PREFIX.length)
      const height = new DataView(v.buffer, v.byteOffset, v.byteLength).getBigUint64(HEIGHT_AT)
      const actual = Uint8Array.from(digest, (c) => c.codePointAt(0)!)
      throw adoptFailed(
        `the block at height ${height} stored under ${idToString(id)} hashes to ${idToString(actual)}`,
        {
          height,
          id,
        },
      )
    }
  }
}

/**
 * Reads the whole block space in key order and checks every stored block (layout, status, hash);
 * ADOPT_FAILED at the first that fails. The next read is in flight while a chunk is checked.
 * `capacity` sizes the tables for the blocks expected.
 */
export async function scanBlockSpace(db: StateDb, capacity?: number): Promise<GoBlocks> {
  const blocks = new GoBlocks(capacity)
  const it = db.iterator({gte: BLOCK_PREFIX, lt: prefixEnd(BLOCK_PREFIX), highWaterMarkBytes: READ_BYTES} as object)
  let pending = it.nextv(READ_ENTRIES)
  try {
    for (;;) {
      const entries = await pending
      if (entries.length === 0) break
      pending = it.nextv(READ_ENTRIES)
      for (const entry of entries) addStored(blocks, entry[0], entry[1])
    }
  } finally {
    await pending.catch(() => {})
    await it.close()
  }

  return blocks
}

/** Checks one entry of the block space and adds it to `blocks` (the last accepted ID is skipped). */
function addStored(blocks: GoBlocks, key: Uint8Array, value: Uint8Array): void {
  if (key.length !== BLOCK_PREFIX.length + ID_LENGTH) {
    if (key.length === BLOCK_PREFIX.length + 1 && key[BLOCK_PREFIX.length] === 0) return // the last accepted ID
    throw adoptFailed(`unexpected key of ${key.length} bytes in the block space`)
  }

  checkStored(key, value)
  blocks.add(key, value)
}

/** The walk of the plain version: an ID as a string of one char per byte, a cheap exact map key. */
const idKey = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, ID_LENGTH).toString('latin1')

/**
 * The plain walk: from the last accepted block down to a genesis (parent ids.Empty, height 0,
 * time 0) by parent IDs through a map of the accepted blocks, heights -1 and timestamps never
 * increasing on the way, and no accepted block off that walk. Returns the chain as block indexes
 * by height; ADOPT_FAILED with the height and ID where it stopped.
 */
export function walkPlain(blocks: GoBlocks, lastId: Uint8Array): Int32Array {
  const accepted = new Map<string, number>()
  for (let i = 0; i < blocks.count; i++) if (blocks.isAccepted(i)) accepted.set(idKey(blocks.id(i)), i)
  let b = accepted.get(idKey(lastId))
  if (b === undefined)
    throw adoptFailed(`the last accepted block ${idToString(lastId)} is not stored as accepted`, {id: lastId})
  const chain: number[] = [b]
  while (blocks.height(b) > 0n) {
    const height = blocks.height(b)
    const at = {height, id: blocks.id(b)}
    const p = accepted.get(idKey(blocks.parent(b)))
    if (p === undefined) {
      throw adoptFailed(
        `the walk from the last accepted block stopped at height ${height} (${idToString(at.id)}): its parent ${idToString(blocks.parent(b))} is not stored as accepted`,
        at,
      )
    }

    if (blocks.height(p) + 1n !== height)
      throw adoptFailed(
        `the block at height ${height} (${idToString(at.id)}) has a parent of height ${blocks.height(p)}`,
        at,
      )
    if (blocks.timestamp(b) < blocks.timestamp(p))
      throw adoptFailed(`the block at height ${height} (${idToString(at.id)}) is timestamped before its parent`, at)
    chain.push(p)
    b = p
  }

  if (idKey(blocks.parent(b)) !== idKey(EMPTY_ID) || blocks.timestamp(b) !== 0n) {
    throw adoptFailed(
      `the block at height 0 (${idToString(blocks.id(b))}) is not a genesis block (parent ids.Empty, timestamp 0)`,
      {height: 0n, id: blocks.id(b)},
    )
  }

  if (chain.length !== accepted.size) {
    const on = new Set(chain)
    const off = [...accepted.values()].find((i) => !on.has(i))!
    throw adoptFailed(
      `the accepted block at height ${blocks.height(off)} (${idToString(blocks.id(off))}) is not on the chain of the last accepted block`,
      {height: blocks.height(off), id: blocks.id(off)},
    )
  }

  return Int32Array.from(chain.reverse())
}

/**
 * The fast walk: accepts exactly what walkPlain accepts, without a map. A chain that covers every
 * accepted block from a genesis at height 0 puts the n accepted blocks at heights 0 to n-1, one
 * each, the last accepted block at n-1; then every link is checked by index. Anything else is
 * handed to walkPlain, which throws what it finds.
 */
export function walk(blocks: GoBlocks, lastId: Uint8Array): Int32Array {
  const byHeight = heightsOf(blocks)
  if (byHeight && endsHold(blocks, byHeight, lastId) && timesHold(blocks, byHeight) && linksHold(blocks, byHeight))
    return byHeight
  walkPlain(blocks, lastId)
  throw new TsvmError('INTERNAL', 'the adoption walk refused a chain that its plain version accepts')
}

/** The accepted blocks by height, when the n of them are at heights 0 to n-1, one each. */
function heightsOf(blocks: GoBlocks): Int32Array | undefined {
  const n = blocks.accepted
  const {count, values} = blocks
  const view = new DataView(values.buffer, values.byteOffset, values.byteLength)
  const byHeight = new Int32Array(n).fill(-1)
  for (let i = 0; i < count; i++) {
    const at = i * WRAPPER_SIZE
    if (values[at + STATUS_AT] !== Status.Accepted) continue
    const h = view.getUint32(at + HEIGHT_AT + 4)
    if (view.getUint32(at + HEIGHT_AT) !== 0 || h >= n || byHeight[h] !== -1) return undefined
    byHeight[h] = i
  }

  return n > 0 ? byHeight : undefined
}

/** The top is the last accepted block, the bottom a genesis (parent ids.Empty, timestamp 0). */
function endsHold(blocks: GoBlocks, byHeight: Int32Array, lastId: Uint8Array): boolean {
  const tip = blocks.id(byHeight.at(-1)!)
  const genesis = byHeight[0]!
  return (
    tip.every((b, k) => b === lastId[k]) &&
    blocks.parent(genesis).every((b) => b === 0) &&
    blocks.timestamp(genesis) === 0n
  )
}

/** No timestamp is before the one a height down (int64: high words signed, low words unsigned). */
function timesHold(blocks: GoBlocks, byHeight: Int32Array): boolean {
  const view = new DataView(blocks.values.buffer, blocks.values.byteOffset, blocks.values.byteLength)
  let hi = view.getInt32(byHeight[0]! * WRAPPER_SIZE + TIME_AT)
  let lo = view.getUint32(byHeight[0]! * WRAPPER_SIZE + TIME_AT + 4)
  for (let h = 1; h < byHeight.length; h++) {
    const at = byHeight[h]! * WRAPPER_SIZE + TIME_AT
    const nextHi = view.getInt32(at)
    const nextLo = view.getUint32(at + 4)
    if (nextHi < hi || (nextHi === hi && nextLo < lo)) return false
    hi = nextHi
    lo = nextLo
  }

  return true
}

/** Every accepted block above genesis names as parent the ID of the block a height down (rows read in storage order). */
function linksHold(blocks: GoBlocks, byHeight: Int32Array): boolean {
  const {count, values, ids} = blocks
  const vv = new DataView(values.buffer, values.byteOffset, values.byteLength)
  const iv = new DataView(ids.buffer, ids.byteOffset, ids.byteLength)
  for (let i = 0; i < count; i++) {
    const at = i * WRAPPER_SIZE
    if (values[at + STATUS_AT] !== Status.Accepted) continue
    const h = vv.getUint32(at + HEIGHT_AT + 4)
    if (h === 0) continue
    const p = byHeight[h - 1]! * ID_LENGTH
    for (let k = 0; k < ID_LENGTH; k += 4) if (vv.getUint32(at + PARENT_AT + k) !== iv.getUint32(p + k)) return false
  }

  return true
}

/**
 * The blocks in the order of their payload-index keys (payload, then ID), for writing the index
 * in key order: LevelDB takes sorted writes at about twice the rate of random ones, and its tables
 * then need no merging. Sorted on the first 8 bytes of the payload (a stable radix sort, so equal
 * payloads keep ID order); only the speed depends on the order, not what is written.
 */
export function byPayload(blocks: GoBlocks): Uint32Array {
  const n = blocks.count
  const hi = new Uint32Array(n)
  const lo = new Uint32Array(n)
  const view = new DataView(blocks.values.buffer)
  for (let i = 0; i < n; i++) {
    hi[i] = view.getUint32(i * WRAPPER_SIZE + DATA_AT)
    lo[i] = view.getUint32(i * WRAPPER_SIZE + DATA_AT + 4)
  }

  let order = new Uint32Array(n)
  for (let i = 0; i < n; i++) order[i] = i
  let next = new Uint32Array(n)
  const counts = new Uint32Array(1 << 16)
  // Least significant 16 bits first: four passes over the 64-bit prefix.
  for (const [words, shift] of [
    [lo, 0],
    [lo, 16],
    [hi, 0],
    [hi, 16],
  ] as const) {
    counts.fill(0)
    for (let i = 0; i < n; i++) counts[(words[i]! >>> shift) & 0xff_ff]!++
    let sum = 0
    for (let d = 0; d < counts.length; d++) {
      const c = counts[d]!
      counts[d] = sum
      sum += c
    }

    for (let i = 0; i < n; i++) {
      const b = order[i]!
      next[counts[(words[b]! >>> shift) & 0xff_ff]!++] = b
    }

    ;[order, next] = [next, order]
  }

  return order
}
