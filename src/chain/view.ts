// The JSON view of a block shared by every command that shows one. Field names follow the
// JSON-RPC getBlock reply where they overlap (id, parentID, height, timestamp, data as
// checksummed hex like v1.3, decimal strings for uint64s); the rest are extras for humans.
import {type Block, type Status, STATUS_NAMES} from '../vm/block.js'
import {cb58Encode, hexEncode, idToString, toHex} from '../vm/encoding.js'

/** A block as --json prints it. */
export interface BlockJson {
  id: string
  parentID: string
  height: string
  timestamp: string
  /** ISO 8601 UTC, or null when the timestamp is outside what a JS Date can hold. */
  time: string | null
  /** Checksummed hex, as getBlock answers in v1.3. */
  data: string
  dataHex: string
  dataCB58: string
  status?: string
  /** The 82 block bytes in plain hex. */
  bytes: string
}

/** Largest |milliseconds| a JS Date holds (±100,000,000 days around 1970). */
const MAX_DATE_MS = 8_640_000_000_000_000n

/** ISO time of unix seconds, or null when outside the JS Date range (int64 timestamps may be). */
export function unixToIso(seconds: bigint): string | null {
  const ms = seconds * 1000n
  if (ms > MAX_DATE_MS || ms < -MAX_DATE_MS) return null
  return new Date(Number(ms)).toISOString()
}

/** The JSON view of a block, with its status when the caller knows it. */
export function blockJson(block: Block, status?: Status): BlockJson {
  const view: BlockJson = {
    id: idToString(block.id),
    parentID: idToString(block.parentId),
    height: block.height.toString(),
    timestamp: block.timestamp.toString(),
    time: unixToIso(block.timestamp),
    data: hexEncode(block.data),
    dataHex: toHex(block.data),
    dataCB58: cb58Encode(block.data),
    bytes: toHex(block.bytes),
  }
  if (status === undefined) return view
  const {bytes, ...rest} = view
  return {...rest, status: STATUS_NAMES[status], bytes}
}
