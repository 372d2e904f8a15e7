// A timestampvm block, exactly as the Go codec lays it out (spec §1.3), 82 bytes:
//
//   offset  size  field
//        0     2  codec version, 00 00
//        2    32  parent block ID
//       34     8  height, uint64 BE
//       42     8  timestamp, int64 BE, unix seconds
//       50    32  data (the payload)
//
// Block ID = sha256 of those 82 bytes. The database value wraps them (spec §1.4), 92 bytes:
//
//   00 00 | u32 length (82) | block bytes | u32 status
import {allocBytes, CODEC_VERSION, MAX_CODEC_SIZE, Reader, writeU64} from './codec.js'
import {ID_LENGTH} from './encoding.js'
import {TsvmError} from './errors.js'
import {sha256Into} from './hash.js'

/** Size of a serialized block. */
export const BLOCK_SIZE = 82

/** Size of a stored block wrapper (version, length, block, status). */
export const WRAPPER_SIZE = 2 + 4 + BLOCK_SIZE + 4

/** A block's time may be at most this far ahead of the verifier's clock (exclusive), in seconds. */
export const MAX_FUTURE_SECONDS = 3600n

/** A block time (unix seconds) for messages: ISO 8601 in UTC, or the number where Date cannot show it. */
export function timeText(seconds: bigint): string {
  const ms = Number(seconds) * 1000
  return Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString().replace('.000Z', 'Z') : `${seconds} s`
}

/** A span of seconds for messages, in days, hours or minutes. */
export function spanText(seconds: bigint): string {
  const s = Number(seconds)
  if (s >= 2 * 86_400) return `${Math.round(s / 86_400)} days`
  if (s >= 2 * 3600) return `${Math.round(s / 3600)} hours`
  return `${Math.round(s / 60)} minutes`
}

/** choices.Status, with Go's numbers. */
export enum Status {
  Unknown = 0,
  Processing = 1,
  Rejected = 2,
  Accepted = 3,
}

/** The status names as AvalancheGo's JSON writes them. */
export const STATUS_NAMES: Record<Status, string> = {
  [Status.Unknown]: 'Unknown',
  [Status.Processing]: 'Processing',
  [Status.Rejected]: 'Rejected',
  [Status.Accepted]: 'Accepted',
}

/** The fields a block is built from. */
export interface BlockFields {
  readonly parentId: Uint8Array
  readonly height: bigint
  readonly timestamp: bigint
  readonly data: Uint8Array
}

/** A block with its serialized bytes and ID. */
export interface Block extends BlockFields {
  readonly id: Uint8Array
  readonly bytes: Uint8Array
}

/** Serializes block fields into the 82 codec bytes. */
export function serializeBlock(fields: BlockFields): Uint8Array {
  // Written in place rather than through Writer (no DataView or BigInt stores per block in a
  // group commit); the bytes and the BAD_LENGTH checks are Writer's.
  checkLength(fields.parentId)
  const out = allocBytes(BLOCK_SIZE) // codec version 00 00
  out.set(fields.parentId, 2)
  writeU64(out, 34, fields.height)
  writeU64(out, 42, fields.timestamp)
  checkLength(fields.data)
  out.set(fields.data, 50)
  return out
}

/**
 * A block's ID, sha256 of its bytes, in the codec's shared chunks as the bytes are. A 32-byte
 * array of its own would sit on V8's heap (typed arrays of at most 64 bytes do), and LevelDB's
 * native batch, which takes the ID as the height index's value, would first move it off the heap:
 * an allocation and an ArrayBuffer object per block served.
 */
function blockId(bytes: Uint8Array): Uint8Array {
  const id = allocBytes(ID_LENGTH)
  sha256Into(bytes, id, 0)
  return id
}

function checkLength(b: Uint8Array): void {
  if (b.length !== ID_LENGTH) throw new TsvmError('BAD_LENGTH', `expected ${ID_LENGTH} bytes, got ${b.length}`)
}

const MAX_U64 = 0xff_ff_ff_ff_ff_ff_ff_ffn
const MIN_I64 = -(2n ** 63n)
const MAX_I64 = 2n ** 63n - 1n

/** Builds a block from its fields: serializes it and computes its ID. */
export function makeBlock(fields: BlockFields): Block {
  if (fields.height < 0n || fields.height > MAX_U64) {
    throw new TsvmError('INVALID_ARGUMENT', `height ${fields.height} does not fit in a uint64`)
  }

  if (fields.timestamp < MIN_I64 || fields.timestamp > MAX_I64) {
    throw new TsvmError('INVALID_ARGUMENT', `timestamp ${fields.timestamp} does not fit in an int64`)
  }

  const bytes = serializeBlock(fields)
  return {
    parentId: fields.parentId,
    height: fields.height,
    timestamp: fields.timestamp,
    data: fields.data,
    bytes,
    id: blockId(bytes),
  }
}

/**
 * Parses block bytes as Go's ParseBlock does: exactly 82 bytes with codec version 0, no
 * semantic checks. The ID is the sha256 of the given bytes.
 */
export function parseBlock(bytes: Uint8Array): Block {
  if (bytes.length > MAX_CODEC_SIZE) {
    throw new TsvmError('BLOCK_TOO_LARGE', `block bytes exceed the codec maximum: ${bytes.length} > ${MAX_CODEC_SIZE}`)
  }

  if (bytes.length < 2) {
    throw new TsvmError(
      'BLOCK_BAD_LENGTH',
      `a block is ${BLOCK_SIZE} bytes, got ${bytes.length}: couldn't unpack codec version`,
    )
  }

  const version = (bytes[0]! << 8) | bytes[1]!
  if (version !== CODEC_VERSION) {
    throw new TsvmError('BLOCK_BAD_VERSION', `unknown codec version ${version}: timestampvm blocks start with 00 00`)
  }

  if (bytes.length !== BLOCK_SIZE) {
    const how = bytes.length < BLOCK_SIZE ? 'truncated' : `${bytes.length - BLOCK_SIZE} trailing bytes`
    throw new TsvmError('BLOCK_BAD_LENGTH', `a block is exactly ${BLOCK_SIZE} bytes, got ${bytes.length} (${how})`)
  }

  const r = new Reader(bytes, 'block')
  r.u16('codec version')
  const parentId = r.fixed(ID_LENGTH, 'parent ID')
  const height = r.u64('height')
  const timestamp = r.i64('timestamp')
  const data = r.fixed(ID_LENGTH, 'data')
  r.end()
  const own = bytes.slice()
  return {parentId, height, timestamp, data, bytes: own, id: blockId(own)}
}

/** Encodes the database value for a block: blkWrapper{Blk []byte; Status uint32}. */
export function encodeWrapper(blockBytes: Uint8Array, status: Status): Uint8Array {
  const n = blockBytes.length
  const out = allocBytes(2 + 4 + n + 4) // codec version 00 00
  out[2] = n >>> 24
  out[3] = n >>> 16
  out[4] = n >>> 8
  out[5] = n
  out.set(blockBytes, 6)
  out[6 + n] = status >>> 24
  out[7 + n] = status >>> 16
  out[8 + n] = status >>> 8
  out[9 + n] = status
  return out
}

/** Decodes a stored block wrapper into the block and its status. */
export function decodeWrapper(value: Uint8Array): {block: Block; status: Status} {
  try {
    const r = new Reader(value, 'block wrapper')
    const version = r.u16('codec version')
    if (version !== CODEC_VERSION) throw new TsvmError('WRAPPER_INVALID', `unknown codec version ${version}`)
    const blockBytes = r.slice('block', BLOCK_SIZE)
    const status = r.u32('status')
    r.end()
    if (status < Status.Processing || status > Status.Accepted) {
      throw new TsvmError('WRAPPER_INVALID', `unknown block status ${status}`)
    }

    return {block: parseBlock(blockBytes), status: status as Status}
  } catch (error) {
    if (error instanceof TsvmError && error.code === 'WRAPPER_INVALID') throw error
    throw new TsvmError('WRAPPER_INVALID', `stored block is malformed: ${(error as Error).message}`, {cause: error})
  }
}

/**
 * Block.Verify's rules, in Go's order (spec §4.2), given the parent (or undefined when it is
 * not known) and the verifier's clock in whole unix seconds. Equal timestamps pass, as in Go.
 */
export function verifyBlock(block: BlockFields, parent: BlockFields | undefined, nowSeconds: bigint): void {
  if (parent === undefined) {
    throw new TsvmError(
      'BLOCK_PARENT_UNKNOWN',
      'error while retrieving data from database: the parent block is not known',
    )
  }

  if (block.height !== parent.height + 1n) {
    throw new TsvmError(
      'BLOCK_BAD_HEIGHT',
      `expected block to have height ${parent.height + 1n}, but found ${block.height}`,
    )
  }

  if (block.timestamp < parent.timestamp) {
    throw new TsvmError(
      'BLOCK_TIMESTAMP_EARLY',
      `block's timestamp is earlier than its parent's timestamp (${block.timestamp} < ${parent.timestamp})`,
    )
  }

  if (block.timestamp >= nowSeconds + MAX_FUTURE_SECONDS) {
    throw new TsvmError(
      'BLOCK_TIMESTAMP_FUTURE',
      `block's timestamp is more than 1 hour ahead of local time (${block.timestamp} >= ${nowSeconds} + ${MAX_FUTURE_SECONDS})`,
    )
  }
}
