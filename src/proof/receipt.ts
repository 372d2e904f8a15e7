// Receipts: the JSON file that proves an item existed by the time of a block (format version 1).
//
//   {
//     "format": "tsvm-receipt", "version": 1,
//     "item":    {"hash": <64 hex>, "name"?: <relative path>},
//     "merkle":  {"leaves": n >= 2, "index": i, "path": [{"side": "L"|"R", "hash": <64 hex>}, ...]} | null,
//     "payload": <64 hex>,                   the block data: the item hash, or the Merkle root
//     "block":   {"id": <CB58>, "bytes": <164 hex>, "height": "<dec>", "timestamp": "<dec unix s>",
//                 "time": <ISO 8601>} | null,    null while pending
//     "chain":   {"kind": "embedded"|"remote", "location": <data dir or endpoint>,
//                 "genesisID"?: <CB58>, "chainID"?: <CB58>},
//     "status":  "pending" | "complete",
//     "createdAt": <ISO 8601>
//   }
//
// Hex is lower-case without "0x". The parser is strict: unknown or missing fields, wrong types
// and bad lengths are RECEIPT_INVALID naming the field; it builds fresh objects field by field,
// so keys such as "__proto__" never reach a prototype. It checks form only; verify.ts checks
// that the parts agree with each other.
import {BLOCK_SIZE} from '../vm/block.js'
import {fromHex, idFromString, idToString, toHex} from '../vm/encoding.js'
import {TsvmError} from '../vm/errors.js'
import type {HexStep, PathStep} from './merkle.js'

/** The format tag of a receipt. */
export const RECEIPT_FORMAT = 'tsvm-receipt'
/** The one version this code reads and writes. */
export const RECEIPT_VERSION = 1

/** Receipts are small; anything larger is not one. */
export const MAX_RECEIPT_BYTES = 64 * 1024

/** The deepest path a receipt may hold (2^64 leaves). */
export const MAX_PATH_LENGTH = 64

/** The block a payload was accepted in, as a receipt records it. */
export interface ReceiptBlock {
  id: Uint8Array
  bytes: Uint8Array
  height: bigint
  timestamp: bigint
  /** ISO form of timestamp, for readers. */
  time: string
}

/** Where the payload was proposed. */
export interface ReceiptChain {
  kind: 'embedded' | 'remote'
  location: string
  genesisID?: Uint8Array
  chainID?: Uint8Array
}

/** A parsed receipt (bytes as Uint8Array, uint64s as bigint). */
export interface Receipt {
  item: {hash: Uint8Array; name?: string}
  merkle: {leaves: number; index: number; path: PathStep[]} | null
  payload: Uint8Array
  block: ReceiptBlock | null
  chain: ReceiptChain
  status: 'pending' | 'complete'
  createdAt: string
}

/** The ISO form of a block timestamp in unix seconds. */
export function isoTime(seconds: bigint): string {
  const ms = Number(seconds) * 1000
  if (!Number.isFinite(ms) || Math.abs(ms) > 8.64e15) return `@${seconds}`
  return new Date(ms).toISOString()
}

function fail(field: string, message: string): never {
  throw new TsvmError('RECEIPT_INVALID', `receipt field ${field}: ${message}`, {details: {field}})
}

type Obj = Record<string, unknown>

function object(value: unknown, field: string, keys: {required: string[]; optional?: string[]}): Obj {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(field, 'expected an object')
  const proto = Object.getPrototypeOf(value)
  if (proto !== Object.prototype && proto !== null) fail(field, 'expected a plain object')
  const allowed = new Set([...keys.required, ...(keys.optional ?? [])])
  for (const k of Object.keys(value)) {
    if (!allowed.has(k)) fail(field === '' ? k : `${field}.${k}`, 'unknown field (this is a version 1 receipt)')
  }
  for (const k of keys.required) if (!Object.hasOwn(value, k)) fail(field === '' ? k : `${field}.${k}`, 'missing')
  return value as Obj
}

function get(o: Obj, k: string): unknown {
  return Object.hasOwn(o, k) ? o[k] : undefined
}

function hex(value: unknown, field: string, bytes: number): Uint8Array {
  if (typeof value !== 'string') fail(field, `expected a string of ${bytes * 2} lower-case hex digits`)
  if (value.length !== bytes * 2 || !/^[0-9a-f]*$/.test(value)) {
    fail(field, `expected ${bytes * 2} lower-case hex digits without 0x (${bytes} bytes), got ${value.length} characters`)
  }
  return fromHex(value)
}

function cb58Id(value: unknown, field: string): Uint8Array {
  if (typeof value !== 'string') fail(field, 'expected a CB58 ID string')
  try {
    return idFromString(value, field)
  } catch (error) {
    fail(field, (error as Error).message)
  }
}

function uint(value: unknown, field: string, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || value > max) {
    fail(field, `expected a non-negative integer up to ${max}`)
  }
  return value
}

function decimal(value: unknown, field: string, signed: boolean): bigint {
  const re = signed ? /^(0|-?[1-9][0-9]*)$/ : /^(0|[1-9][0-9]*)$/
  if (typeof value !== 'string' || value.length > 20 || !re.test(value)) {
    fail(field, `expected a ${signed ? 'signed ' : ''}decimal integer in a string`)
  }
  const v = BigInt(value)
  if (signed ? v < -(2n ** 63n) || v >= 2n ** 63n : v >= 2n ** 64n) fail(field, 'out of range')
  return v
}

function isoString(value: unknown, field: string): string {
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/.test(value) || Number.isNaN(Date.parse(value))) {
    fail(field, 'expected an ISO 8601 UTC time like 2026-01-02T03:04:05.000Z')
  }
  return value
}

function text(value: unknown, field: string, max = 4096): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > max) fail(field, `expected a non-empty string of at most ${max} characters`)
  return value
}

/** Parses and checks the form of a receipt's JSON text; RECEIPT_INVALID names the first bad field. */
export function parseReceipt(json: string): Receipt {
  if (json.length > MAX_RECEIPT_BYTES) fail('(file)', `larger than ${MAX_RECEIPT_BYTES} bytes: not a receipt`)
  let raw: unknown
  try {
    raw = JSON.parse(json)
  } catch (error) {
    fail('(file)', `not JSON: ${(error as Error).message}`)
  }
  return receiptFromJson(raw)
}

/** Checks the form of an already parsed JSON value and converts it to a Receipt. */
export function receiptFromJson(raw: unknown): Receipt {
  const o = object(raw, '', {required: ['format', 'version', 'item', 'merkle', 'payload', 'block', 'chain', 'status', 'createdAt']})
  if (get(o, 'format') !== RECEIPT_FORMAT) fail('format', `expected "${RECEIPT_FORMAT}": this file is not a tsvm receipt`)
  if (get(o, 'version') !== RECEIPT_VERSION) {
    fail('version', `unsupported version ${JSON.stringify(get(o, 'version'))}: this tsvm reads version ${RECEIPT_VERSION}; upgrade tsvm`)
  }

  const it = object(get(o, 'item'), 'item', {required: ['hash'], optional: ['name']})
  const item: Receipt['item'] = {hash: hex(get(it, 'hash'), 'item.hash', 32)}
  if (Object.hasOwn(it, 'name')) item.name = text(get(it, 'name'), 'item.name')

  let merkle: Receipt['merkle'] = null
  if (get(o, 'merkle') !== null) {
    const m = object(get(o, 'merkle'), 'merkle', {required: ['leaves', 'index', 'path']})
    const leaves = uint(get(m, 'leaves'), 'merkle.leaves')
    if (leaves < 2) fail('merkle.leaves', 'a tree has at least 2 leaves (a single item uses "merkle": null)')
    const index = uint(get(m, 'index'), 'merkle.index')
    if (index >= leaves) fail('merkle.index', `must be below merkle.leaves (${leaves})`)
    const p = get(m, 'path')
    if (!Array.isArray(p) || p.length === 0 || p.length > MAX_PATH_LENGTH) fail('merkle.path', `expected an array of 1 to ${MAX_PATH_LENGTH} steps`)
    const path = p.map((s, i): PathStep => {
      const step = object(s, `merkle.path[${i}]`, {required: ['side', 'hash']})
      const side = get(step, 'side')
      if (side !== 'L' && side !== 'R') fail(`merkle.path[${i}].side`, 'expected "L" or "R"')
      return {side, hash: hex(get(step, 'hash'), `merkle.path[${i}].hash`, 32)}
    })
    merkle = {leaves, index, path}
  }

  const payload = hex(get(o, 'payload'), 'payload', 32)

  const status = get(o, 'status')
  if (status !== 'pending' && status !== 'complete') fail('status', 'expected "pending" or "complete"')

  let block: ReceiptBlock | null = null
  if (get(o, 'block') === null) {
    if (status === 'complete') fail('block', 'a complete receipt names its block')
  } else {
    if (status === 'pending') fail('block', 'a pending receipt has "block": null')
    const b = object(get(o, 'block'), 'block', {required: ['id', 'bytes', 'height', 'timestamp', 'time']})
    block = {
      id: cb58Id(get(b, 'id'), 'block.id'),
      bytes: hex(get(b, 'bytes'), 'block.bytes', BLOCK_SIZE),
      height: decimal(get(b, 'height'), 'block.height', false),
      timestamp: decimal(get(b, 'timestamp'), 'block.timestamp', true),
      time: text(get(b, 'time'), 'block.time', 64),
    }
  }

  const c = object(get(o, 'chain'), 'chain', {required: ['kind', 'location'], optional: ['genesisID', 'chainID']})
  const kind = get(c, 'kind')
  if (kind !== 'embedded' && kind !== 'remote') fail('chain.kind', 'expected "embedded" or "remote"')
  const chain: ReceiptChain = {kind, location: text(get(c, 'location'), 'chain.location')}
  if (Object.hasOwn(c, 'genesisID')) chain.genesisID = cb58Id(get(c, 'genesisID'), 'chain.genesisID')
  if (Object.hasOwn(c, 'chainID')) chain.chainID = cb58Id(get(c, 'chainID'), 'chain.chainID')

  return {item, merkle, payload, block, chain, status, createdAt: isoString(get(o, 'createdAt'), 'createdAt')}
}

/** The JSON value of a receipt, fields in their documented order. */
export function receiptToJson(r: Receipt): Record<string, unknown> {
  const item: Record<string, unknown> = {hash: toHex(r.item.hash)}
  if (r.item.name !== undefined) item.name = r.item.name
  const chain: Record<string, unknown> = {kind: r.chain.kind, location: r.chain.location}
  if (r.chain.genesisID) chain.genesisID = idToString(r.chain.genesisID)
  if (r.chain.chainID) chain.chainID = idToString(r.chain.chainID)
  return {
    format: RECEIPT_FORMAT,
    version: RECEIPT_VERSION,
    item,
    merkle: r.merkle && {
      leaves: r.merkle.leaves,
      index: r.merkle.index,
      path: r.merkle.path.map((s) => ({side: s.side, hash: toHex(s.hash)})),
    },
    payload: toHex(r.payload),
    block: r.block && {
      id: idToString(r.block.id),
      bytes: toHex(r.block.bytes),
      height: r.block.height.toString(),
      timestamp: r.block.timestamp.toString(),
      time: r.block.time,
    },
    chain,
    status: r.status,
    createdAt: r.createdAt,
  }
}

/** The text of a receipt file: pretty JSON and a final newline. */
export function serializeReceipt(r: Receipt): string {
  return JSON.stringify(receiptToJson(r), null, 2) + '\n'
}

/** What receiptSerializer takes for the Merkle part: a path of byte or hex siblings. */
export type SerializerMerkle = {leaves: number; index: number; path: ReadonlyArray<PathStep | HexStep>} | null

/**
 * Serializes many receipts that differ only in item and merkle (one stamp run): the shared parts
 * (block, chain, CB58 IDs) are rendered once, and the item and Merkle parts by hand in the layout
 * JSON.stringify(_, null, 2) gives them. Same text as serializeReceipt of each receipt.
 */
export function receiptSerializer(shared: Omit<Receipt, 'item' | 'merkle'>): (item: Receipt['item'], merkle: SerializerMerkle) => string {
  const mark = '\u0000slot'
  const json = receiptToJson({...shared, item: {hash: new Uint8Array(32)}, merkle: null})
  const [head, middle, tail] = JSON.stringify({...json, item: mark, merkle: mark}, null, 2).split(JSON.stringify(mark))
  if (tail === undefined) throw new Error('receipt template lost its slots')
  const end = tail + '\n'
  return (item, merkle) => {
    // JSON.stringify of a lone string escapes exactly as it would inside the object.
    const name = item.name === undefined ? '' : `,\n    "name": ${JSON.stringify(item.name)}`
    let m = 'null'
    if (merkle) {
      m = `{\n    "leaves": ${merkle.leaves},\n    "index": ${merkle.index},\n    "path": [`
      for (let i = 0; i < merkle.path.length; i++) {
        const step = merkle.path[i]!
        const hex = 'hex' in step ? step.hex : toHex(step.hash)
        m += `${i === 0 ? '' : ','}\n      {\n        "side": "${step.side}",\n        "hash": "${hex}"\n      }`
      }
      m += merkle.path.length === 0 ? ']\n  }' : '\n    ]\n  }'
    }
    return `${head}{\n    "hash": "${toHex(item.hash)}"${name}\n  }${middle}${m}${end}`
  }
}
