// A run of consecutive blocks built in one group commit, held side by side in two buffers rather
// than as one Block object with four small arrays each: `propose -` builds 100,000 of them, and
// those objects lived just long enough (from building until their group was written and
// printed) to be copied by every young-generation collection and promoted to the old one.
//
//   bytes   block i's 82 codec bytes at 82·i (spec §1.3: version, parent ID, height, timestamp, data)
//   ids     block i's ID, sha256 of those bytes, at 32·i
//
// Block i's parent is block i-1 (block 0's is the block the run was built on); every block of a
// run has the same timestamp. Block objects are made on demand (block(i), blocks()).
import {writeU53, writeU64} from './codec.js'
import {type Block, BLOCK_SIZE, makeBlock} from './block.js'
import {ID_LENGTH} from './encoding.js'
import {TsvmError} from './errors.js'
import {sha256Into} from './hash.js'

/** Where a block's fields sit in its 82 codec bytes. */
const PARENT_AT = 2
const HEIGHT_AT = 34
const TIMESTAMP_AT = 42
const DATA_AT = 50

const MAX_U64 = 0xff_ff_ff_ff_ff_ff_ff_ffn

/** Consecutive blocks, parent to child, as two buffers (see the top of this file). */
export class BlockRun {
  constructor(
    /** How many blocks. */
    readonly length: number,
    /** Block i's codec bytes at BLOCK_SIZE·i. */
    readonly bytes: Uint8Array,
    /** Block i's ID at ID_LENGTH·i. */
    readonly ids: Uint8Array,
    /** Height of block 0; block i is at firstHeight + i. */
    readonly firstHeight: bigint,
  ) {}

  /** Block i as a Block, with its own copies of the bytes. */
  block(i: number): Block {
    if (!Number.isInteger(i) || i < 0 || i >= this.length) {
      throw new TsvmError('INTERNAL', `block ${i} of a run of ${this.length}`)
    }

    const bytes = this.bytes.slice(BLOCK_SIZE * i, BLOCK_SIZE * (i + 1))
    const view = new DataView(bytes.buffer)
    return {
      parentId: bytes.subarray(PARENT_AT, PARENT_AT + ID_LENGTH),
      height: this.firstHeight + BigInt(i),
      timestamp: view.getBigInt64(TIMESTAMP_AT),
      data: bytes.subarray(DATA_AT, DATA_AT + ID_LENGTH),
      bytes,
      id: this.ids.slice(ID_LENGTH * i, ID_LENGTH * (i + 1)),
    }
  }

  /** Every block as a Block, parent first. */
  blocks(): Block[] {
    return Array.from({length: this.length}, (_, i) => this.block(i))
  }
}

/** A run of no blocks. */
export const EMPTY_RUN = new BlockRun(0, new Uint8Array(0), new Uint8Array(0), 0n)

/** What buildRun builds. */
export interface RunSpec {
  /** The block the run is built on. */
  parent: Block
  /** Every block's timestamp. */
  timestamp: bigint
  /** How many blocks. */
  count: number
  /** Block i's payload (32 bytes, copied). */
  data: (i: number) => Uint8Array
  /** Throws when a block fails Verify against its parent (called for block 0). */
  verify: (block: Block, parent: Block) => void
}

/** Scratch for one block's bytes while it is hashed (buildRun is synchronous). */
const scratch = new Uint8Array(BLOCK_SIZE)

/**
 * Builds `count` blocks on `parent`, block i holding payload `data(i)`, all timestamped
 * `timestamp`. Block 0 is made and verified as makeBlock and `verify` do (height
 * range, timestamp range, Verify against `parent`); every later block then passes the same
 * checks by construction, as Go's Verify would find: its parent is the block before it, its
 * height is one more, its timestamp equals its parent's, and it is no further ahead of the clock
 * than block 0. Heights past uint64 fail as makeBlock does, before anything is built.
 */
export function buildRun({parent, timestamp, count, data, verify}: RunSpec): BlockRun {
  if (count === 0) return EMPTY_RUN
  const firstHeight = parent.height + 1n
  const lastHeight = parent.height + BigInt(count)
  if (lastHeight > MAX_U64) {
    const over = parent.height < MAX_U64 ? MAX_U64 + 1n : firstHeight
    throw new TsvmError('INVALID_ARGUMENT', `height ${over} does not fit in a uint64`)
  }

  const first = makeBlock({parentId: parent.id, height: firstHeight, timestamp, data: data(0)})
  verify(first, parent)
  const bytes = new Uint8Array(BLOCK_SIZE * count)
  const ids = new Uint8Array(ID_LENGTH * count)
  bytes.set(first.bytes)
  ids.set(first.id)
  // The template of every later block: version and timestamp stay, the rest is rewritten.
  scratch.set(first.bytes)
  // Heights as doubles while they are exact (every real chain); bigints beyond.
  const exact = lastHeight <= BigInt(Number.MAX_SAFE_INTEGER)
  const base = exact ? Number(firstHeight) : 0
  for (let i = 1; i < count; i++) {
    const payload = data(i)
    if (payload.length !== ID_LENGTH) {
      throw new TsvmError('BAD_LENGTH', `expected ${ID_LENGTH} bytes, got ${payload.length}`)
    }

    for (let k = 0, from = ID_LENGTH * (i - 1); k < ID_LENGTH; k++) scratch[PARENT_AT + k] = ids[from + k]!
    if (exact) {
      writeU53(scratch, HEIGHT_AT, base + i)
    } else {
      writeU64(scratch, HEIGHT_AT, firstHeight + BigInt(i))
    }

    for (let k = 0; k < ID_LENGTH; k++) scratch[DATA_AT + k] = payload[k]!
    bytes.set(scratch, BLOCK_SIZE * i)
    sha256Into(scratch, ids, ID_LENGTH * i)
  }

  return new BlockRun(count, bytes, ids, firstHeight)
}
