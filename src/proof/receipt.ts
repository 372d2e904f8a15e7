// Receipts: the JSON file that proves an item existed by the time of a block.
//
//   {
//     "format": "tsvm-receipt", "version": 2,            (1: still read and verified, see below)
//     "item":    {"hash": <64 hex>, "name"?: <relative path>},
//     "merkle":  {"leaves": n >= 2, "index": i, "path": [{"side": "L"|"R", "hash": <64 hex>}, ...]} | null,
//     "payload": <64 hex>,                   the block data: the item hash, or the Merkle root
//     "block":   {"id": <CB58>, "bytes": <164 hex>, "height": "<dec>", "timestamp": "<dec unix s>",
//                 "time": <ISO 8601>} | null,    null while pending
//     "headers"?: [<164 hex>, ...],          version 2: the accepted blocks after "block", each the
//                                            child of the one before (added by upgrade --checkpoint)
//     "chain":   {"kind": "embedded"|"remote", "location": <data dir (home as ~) or endpoint>,
//                 "genesisID"?: <CB58>, "chainID"?: <CB58>},
//     "status":  "pending" | "complete",
//     "createdAt": <ISO 8601>
//   }
//
// Version 2 differs from version 1 in the Merkle leaf, which binds the leaf count and index
// (merkle.ts), and in the optional headers. What the proof covers: item.hash, merkle (v2: all of
// it; v1: the path, not the position), payload, block, headers. Not covered, and shown as such:
// item.name, chain.location, createdAt, status.
//
// Hex is lower-case without "0x". The parser is strict: unknown, missing or duplicated fields,
// wrong types and bad lengths are RECEIPT_INVALID naming the field; it builds fresh objects field
// by field, so keys such as "__proto__" never reach a prototype. It checks form only; verify.ts
// checks that the parts agree with each other.
import {homedir} from 'node:os'
import {isAbsolute, join, relative, resolve, sep} from 'node:path'

import type {Chain} from '../chain/chain.js'
import {BLOCK_SIZE} from '../vm/block.js'
import {fromHex, idFromString, idToString, toHex} from '../vm/encoding.js'
import {TsvmError} from '../vm/errors.js'
import type {HexStep, PathStep} from './merkle.js'

/** The format tag of a receipt. */
export const RECEIPT_FORMAT = 'tsvm-receipt'
/** The version this code writes. */
export const RECEIPT_VERSION = 2
/** The versions this code reads. */
export const RECEIPT_VERSIONS: readonly ReceiptVersion[] = [1, 2]

/** A receipt format version. */
export type ReceiptVersion = 1 | 2

/** Receipts are small (headers make them grow ~170 bytes a block); anything larger is not one. */
export const MAX_RECEIPT_BYTES = 2 * 1024 * 1024

/** The most headers a receipt may carry: its block is at most this far below its checkpoint. */
export const MAX_HEADERS = 10_000

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
  /** The format version; absent means RECEIPT_VERSION (what a new receipt is written as). */
  version?: ReceiptVersion
  item: {hash: Uint8Array; name?: string}
  merkle: {leaves: number; index: number; path: PathStep[]} | null
  payload: Uint8Array
  block: ReceiptBlock | null
  /** Version 2: the 82-byte blocks above `block`, lowest first, each the child of the one before. */
  headers?: Uint8Array[]
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

// Control characters (C0, DEL, C1), and characters that reorder or hide text (bidi controls,
// zero-width and other invisible format characters, line and paragraph separators).
const UNPRINTABLE =
  /[\u0000-\u001F\u007F-\u009F\u00AD\u061C\u180E\u200B-\u200F\u2028-\u202E\u2060-\u206F\uFEFF\uFFF9-\uFFFB]/gu

/**
 * `text` with every control or invisible formatting character written as \xNN or \u{NNNN}, so
 * text taken from a receipt (or any untrusted source) cannot move the cursor, recolour, clear
 * or reorder what a terminal shows.
 */
export function printable(text: string): string {
  return text.replaceAll(UNPRINTABLE, (c) => {
    const cp = c.codePointAt(0)!
    return cp <= 0xff ? `\\x${cp.toString(16).padStart(2, '0')}` : `\\u{${cp.toString(16)}}`
  })
}

function fail(field: string, message: string): never {
  const shown = printable(field)
  throw new TsvmError('RECEIPT_INVALID', `receipt field ${shown}: ${message}`, {details: {field: shown}})
}

type Obj = Record<string, unknown>

function object(
  value: unknown,
  field: string,
  keys: {required: string[]; optional?: string[]},
  version: ReceiptVersion = RECEIPT_VERSION,
): Obj {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(field, 'expected an object')
  const proto = Object.getPrototypeOf(value)
  if (proto !== Object.prototype && proto !== null) fail(field, 'expected a plain object')
  // a few keys each: searching the two short lists costs less than building a Set per object
  for (const k of Object.keys(value)) {
    if (!keys.required.includes(k) && !keys.optional?.includes(k))
      fail(field === '' ? k : `${field}.${k}`, `unknown field (this is a version ${version} receipt)`)
  }

  for (const k of keys.required) if (!Object.hasOwn(value, k)) fail(field === '' ? k : `${field}.${k}`, 'missing')
  return value as Obj
}

function get(o: Obj, k: string): unknown {
  return Object.hasOwn(o, k) ? o[k] : undefined
}

/**
 * The long field values decoded last (block bytes and ID, headers): the receipts of one stamp run
 * share them, and a batch verify reads thousands in a row. Each caller gets its own copy.
 */
const decoded = new Map<string, Uint8Array>()

function remembered(text: string, decode: () => Uint8Array): Uint8Array {
  let bytes = decoded.get(text)
  if (bytes === undefined) {
    if (decoded.size >= 16) decoded.clear()
    bytes = decode()
    decoded.set(text, bytes)
  }

  return bytes.slice()
}

function hex(value: unknown, field: string, bytes: number): Uint8Array {
  if (typeof value !== 'string') fail(field, `expected a string of ${bytes * 2} lower-case hex digits`)
  if (value.length === bytes * 2) {
    // the common case first: a value decoded just before, or one decoding pass that also checks the digits
    const known = bytes > 32 ? decoded.get(value) : lowerHex(value)
    if (known !== undefined) return bytes > 32 ? known.slice() : known
  }

  if (value.length !== bytes * 2 || !/^[0-9a-f]*$/.test(value)) {
    fail(
      field,
      `expected ${bytes * 2} lower-case hex digits without 0x (${bytes} bytes), got ${value.length} characters`,
    )
  }

  return bytes > 32 ? remembered(value, () => fromHex(value)) : fromHex(value)
}

/** Value of each lower-case hex digit by char code; -1 for anything else. */
const LOWER_HEX = Int8Array.from({length: 128}, (_, c) =>
  c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : -1,
)

/**
 * The bytes of an even-length string of lower-case hex digits, or undefined when it is not one
 * (the caller then decodes or refuses it the usual way). One pass and one allocation: a receipt
 * holds about sixteen 32-byte hashes, and a batch verify reads thousands of receipts.
 */
function lowerHex(text: string): Uint8Array | undefined {
  const out = new Uint8Array(text.length >> 1)
  for (let i = 0; i < out.length; i++) {
    const hi = text.charCodeAt(2 * i)
    const lo = text.charCodeAt(2 * i + 1)
    const v = ((hi < 128 ? LOWER_HEX[hi]! : -1) << 4) | (lo < 128 ? LOWER_HEX[lo]! : -1)
    if (v < 0) return undefined
    out[i] = v
  }

  return out
}

function cb58Id(value: unknown, field: string): Uint8Array {
  if (typeof value !== 'string') fail(field, 'expected a CB58 ID string')
  try {
    return remembered(value, () => idFromString(value, field))
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
  if (
    typeof value !== 'string' ||
    !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/.test(value) ||
    Number.isNaN(Date.parse(value))
  ) {
    fail(field, 'expected an ISO 8601 UTC time like 2026-01-02T03:04:05.000Z')
  }

  return value
}

function text(value: unknown, field: string, max = 4096): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > max)
    fail(field, `expected a non-empty string of at most ${max} characters`)
  return value
}

/**
 * The first object key that appears twice in one object of `json` (text JSON.parse accepted), as
 * a field path such as "item.hash", or undefined. JSON.parse keeps the last of duplicated keys
 * and other parsers the first, so a receipt with duplicates would read differently elsewhere.
 */
export function duplicateKey(json: string): string | undefined {
  type Frame = {keys: Set<string> | null; path: string; key: string; index: number; expectKey: boolean}
  const stack: Frame[] = []
  const where = (f: Frame | undefined): string =>
    f === undefined ? '' : f.keys ? (f.path === '' ? f.key : `${f.path}.${f.key}`) : `${f.path}[${f.index}]`
  // Jumps from one structural character to the next, and over a string to its closing quote (a
  // receipt is mostly long hex strings; a batch verify reads thousands of receipts).
  const structural = /["{}[\],]/g
  for (let m = structural.exec(json); m !== null; m = structural.exec(json)) {
    const i = m.index
    const c = json[i]
    switch (c) {
      case '"': {
        let j = json.indexOf('"', i + 1)
        for (;;) {
          if (j < 0) return undefined // unterminated: JSON.parse has refused it already
          let slashes = 0
          while (json[j - 1 - slashes] === '\\') slashes++
          if (slashes % 2 === 0) break
          j = json.indexOf('"', j + 1)
        }

        const top = stack.at(-1)
        if (top?.keys && top.expectKey) {
          const raw = json.slice(i, j + 1)
          const key = raw.includes('\\') ? (JSON.parse(raw) as string) : raw.slice(1, -1)
          if (top.keys.has(key)) return top.path === '' ? key : `${top.path}.${key}`
          top.keys.add(key)
          top.key = key
          top.expectKey = false
        }

        structural.lastIndex = j + 1
        break
      }

      case '{':
      case '[': {
        stack.push({
          keys: c === '{' ? new Set() : null,
          path: where(stack.at(-1)),
          key: '',
          index: 0,
          expectKey: c === '{',
        })
        break
      }

      case '}':
      case ']': {
        stack.pop()
        break
      }

      default: {
        // ','
        const top = stack.at(-1)
        if (top?.keys) top.expectKey = true
        else if (top) top.index++
      }
    }
  }

  return undefined
}

/**
 * How many object keys the text of a JSON value (one JSON.parse accepted) holds, duplicates
 * included: every string followed by a colon. Outside strings a quote can only open a string,
 * so the scan jumps from quote to quote.
 */
export function keyCount(json: string): number {
  let n = 0
  let i = json.indexOf('"')
  while (i !== -1) {
    let j = json.indexOf('"', i + 1)
    for (;;) {
      if (j < 0) return n // unterminated: JSON.parse has refused it already
      let slashes = 0
      while (json.charCodeAt(j - 1 - slashes) === 92) slashes++ // backslashes: an odd count escapes the quote
      if (slashes % 2 === 0) break
      j = json.indexOf('"', j + 1)
    }

    let k = j + 1
    for (let c = json.charCodeAt(k); c === 32 || c === 10 || c === 13 || c === 9; c = json.charCodeAt(++k));
    if (json.charCodeAt(k) === 58) n++ // ':'
    i = json.indexOf('"', k)
  }

  return n
}

/** How many keys the objects of a parsed JSON value hold (JSON.parse keeps one of duplicated keys). */
function parsedKeyCount(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0
  let n = 0
  if (Array.isArray(value)) {
    for (const v of value) n += parsedKeyCount(v)
    return n
  }

  for (const k in value) {
    if (Object.hasOwn(value, k)) n += 1 + parsedKeyCount((value as Obj)[k])
  }

  return n
}

/** Parses and checks the form of a receipt's JSON text; RECEIPT_INVALID names the first bad field. */
export function parseReceipt(json: string): Receipt {
  if (json.length > MAX_RECEIPT_BYTES) fail('(file)', `larger than ${MAX_RECEIPT_BYTES} bytes: not a receipt`)
  let raw: unknown
  try {
    raw = JSON.parse(json)
  } catch (error) {
    fail('(file)', `not JSON (${printable((error as Error).message.split('\n')[0]!)}): pass a .tsvm receipt`)
  }

  // Counting keys is several times cheaper than naming a duplicate: duplicateKey runs only when
  // the text has more keys than the parsed value, which is exactly when a key appears twice.
  const dup = keyCount(json) === parsedKeyCount(raw) ? undefined : duplicateKey(json)
  if (dup !== undefined)
    fail(dup, 'appears twice: a receipt names each field once (another JSON reader could take the other value)')
  return receiptFromJson(raw)
}

/** Checks the form of an already parsed JSON value and converts it to a Receipt. */
export function receiptFromJson(raw: unknown): Receipt {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    fail('(file)', 'expected a JSON object: this file is not a tsvm receipt')
  if (get(raw as Obj, 'format') !== RECEIPT_FORMAT)
    fail('format', `expected "${RECEIPT_FORMAT}": this file is not a tsvm receipt`)
  const rawVersion = get(raw as Obj, 'version')
  if (!RECEIPT_VERSIONS.includes(rawVersion as ReceiptVersion)) {
    const shown = rawVersion === undefined ? 'none' : printable(JSON.stringify(rawVersion))
    fail(
      'version',
      `unsupported version ${shown}: this tsvm reads versions ${RECEIPT_VERSIONS.join(' and ')}; upgrade tsvm`,
    )
  }

  const version = rawVersion as ReceiptVersion
  const top = ['format', 'version', 'item', 'merkle', 'payload', 'block', 'chain', 'status', 'createdAt']
  const o = object(raw, '', {required: top, optional: version === 2 ? ['headers'] : []}, version)

  const it = object(get(o, 'item'), 'item', {required: ['hash'], optional: ['name']}, version)
  const item: Receipt['item'] = {hash: hex(get(it, 'hash'), 'item.hash', 32)}
  if (Object.hasOwn(it, 'name')) item.name = text(get(it, 'name'), 'item.name')

  let merkle: Receipt['merkle'] = null
  if (get(o, 'merkle') !== null) {
    const m = object(get(o, 'merkle'), 'merkle', {required: ['leaves', 'index', 'path']}, version)
    const leaves = uint(get(m, 'leaves'), 'merkle.leaves')
    if (leaves < 2) fail('merkle.leaves', 'a tree has at least 2 leaves (a single item uses "merkle": null)')
    const index = uint(get(m, 'index'), 'merkle.index')
    if (index >= leaves) fail('merkle.index', `must be below merkle.leaves (${leaves})`)
    const p = get(m, 'path')
    if (!Array.isArray(p) || p.length === 0 || p.length > MAX_PATH_LENGTH)
      fail('merkle.path', `expected an array of 1 to ${MAX_PATH_LENGTH} steps`)
    const path = p.map((s, i): PathStep => {
      const step = object(s, `merkle.path[${i}]`, {required: ['side', 'hash']}, version)
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
    const b = object(get(o, 'block'), 'block', {required: ['id', 'bytes', 'height', 'timestamp', 'time']}, version)
    block = {
      id: cb58Id(get(b, 'id'), 'block.id'),
      bytes: hex(get(b, 'bytes'), 'block.bytes', BLOCK_SIZE),
      height: decimal(get(b, 'height'), 'block.height', false),
      timestamp: decimal(get(b, 'timestamp'), 'block.timestamp', true),
      time: text(get(b, 'time'), 'block.time', 64),
    }
  }

  let headers: Uint8Array[] | undefined
  if (Object.hasOwn(o, 'headers')) {
    if (block === null) fail('headers', 'a pending receipt has no headers')
    const h = get(o, 'headers')
    if (!Array.isArray(h) || h.length === 0 || h.length > MAX_HEADERS)
      fail('headers', `expected an array of 1 to ${MAX_HEADERS} blocks in hex`)
    headers = h.map((x, i) => hex(x, `headers[${i}]`, BLOCK_SIZE))
  }

  const c = object(
    get(o, 'chain'),
    'chain',
    {required: ['kind', 'location'], optional: ['genesisID', 'chainID']},
    version,
  )
  const kind = get(c, 'kind')
  if (kind !== 'embedded' && kind !== 'remote') fail('chain.kind', 'expected "embedded" or "remote"')
  const chain: ReceiptChain = {kind, location: text(get(c, 'location'), 'chain.location')}
  if (Object.hasOwn(c, 'genesisID')) chain.genesisID = cb58Id(get(c, 'genesisID'), 'chain.genesisID')
  if (Object.hasOwn(c, 'chainID')) chain.chainID = cb58Id(get(c, 'chainID'), 'chain.chainID')

  const createdAt = isoString(get(o, 'createdAt'), 'createdAt')
  return {version, item, merkle, payload, block, ...(headers === undefined ? {} : {headers}), chain, status, createdAt}
}

/** The JSON value of a receipt, fields in their documented order. */
export function receiptToJson(r: Receipt): Record<string, unknown> {
  const item: Record<string, unknown> = {hash: toHex(r.item.hash)}
  if (r.item.name !== undefined) item.name = r.item.name
  const chain: Record<string, unknown> = {kind: r.chain.kind, location: r.chain.location}
  if (r.chain.genesisID) chain.genesisID = idToString(r.chain.genesisID)
  if (r.chain.chainID) chain.chainID = idToString(r.chain.chainID)
  const json: Record<string, unknown> = {
    format: RECEIPT_FORMAT,
    version: r.version ?? RECEIPT_VERSION,
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
  }
  if (r.headers !== undefined && r.headers.length > 0) json.headers = r.headers.map((b) => toHex(b))
  return Object.assign(json, {chain, status: r.status, createdAt: r.createdAt})
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
export function receiptSerializer(
  shared: Omit<Receipt, 'item' | 'merkle'>,
): (item: Receipt['item'], merkle: SerializerMerkle) => string {
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

/** The home directory as receipts write it. */
const HOME_MARK = '~'

/**
 * How a receipt records where a chain is: an embedded data dir with the home directory written
 * as ~ (a receipt handed to others does not carry the stamper's home path), an endpoint without
 * user name, password or query (which may hold credentials).
 */
export function recordedLocation(kind: ReceiptChain['kind'], location: string, home = homedir()): string {
  if (kind === 'remote') {
    try {
      const url = new URL(location)
      url.username = ''
      url.password = ''
      url.search = ''
      url.hash = ''
      return url.toString()
    } catch {
      return location
    }
  }

  const abs = resolve(location)
  const rel = relative(home, abs)
  if (home === '' || rel.startsWith('..') || isAbsolute(rel)) return abs
  return rel === '' ? HOME_MARK : `${HOME_MARK}/${rel.split(sep).join('/')}`
}

/** The local path of an embedded chain's recorded location (~ expanded). */
export function localDataDir(location: string, home = homedir()): string {
  if (location === HOME_MARK) return home
  if (location.startsWith(HOME_MARK + '/')) return join(home, ...location.slice(2).split('/'))
  return location
}

/** What the chain part of a new receipt says about `chain`: where it is, and what identifies it. */
export async function describeChain(chain: Chain): Promise<ReceiptChain> {
  const out: ReceiptChain = {kind: chain.kind, location: recordedLocation(chain.kind, chain.location)}
  const id = (await chain.identity?.()) ?? {}
  if (id.genesisID) out.genesisID = id.genesisID
  if (id.chainID) out.chainID = id.chainID
  return out
}
