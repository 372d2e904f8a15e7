// The JSON view of a block shared by every command that shows one (docs/json.md, type Block).
// Field names follow the JSON-RPC getBlock reply where they overlap (id, parentID, height,
// timestamp, data as checksummed hex like v1.3, decimal strings for uint64s); the rest are
// extras. Every field is always present: status is null when the command does not know it.
import {type Block, type Status, STATUS_NAMES} from '../vm/block.js'
import {cb58Encode, hexEncode, idToString, toHex} from '../vm/encoding.js'
import {bytesEqual} from '../vm/hash.js'

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
  /** Accepted, Processing or Rejected (Go's choices.Status names); null when not known (a parsed or receipt block). */
  status: string | null
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

// Blocks are mostly shown in chain order, where each parent ID is the previous block's ID: keep
// the last CB58 conversion so a run of N blocks converts N IDs, not 2N (each is a SHA-256 and a base58).
let lastId: Uint8Array | undefined
let lastIdText = ''

function idText(id: Uint8Array): string {
  if (lastId !== undefined && bytesEqual(id, lastId)) return lastIdText
  lastIdText = idToString(id)
  lastId = id
  return lastIdText
}

/** The JSON view of a block, with its status when the caller knows it. */
export function blockJson(block: Block, status?: Status): BlockJson {
  const parentID = idText(block.parentId)
  const view: BlockJson = {
    id: idText(block.id),
    parentID,
    height: block.height.toString(),
    timestamp: block.timestamp.toString(),
    time: unixToIso(block.timestamp),
    data: hexEncode(block.data),
    dataHex: toHex(block.data),
    dataCB58: cb58Encode(block.data),
    status: status === undefined ? null : STATUS_NAMES[status],
    bytes: toHex(block.bytes),
  }
  return view
}

/** The few fields a block table shows (height, ID, status, payload): what human output needs. */
export interface BlockRow {
  id: string
  height: string
  dataHex: string
  status?: string
}

/** A block as one table row, without the rest of the JSON view (cheap for thousands of blocks). */
export function blockRow(block: Block, status?: Status): BlockRow {
  const row: BlockRow = {id: idText(block.id), height: block.height.toString(), dataHex: toHex(block.data)}
  if (status !== undefined) row.status = STATUS_NAMES[status]
  return row
}
