// The timestampvm JSON-RPC services, transport-free: a request body in, the exact response body
// out, as AvalancheGo's gorilla json2 stack answers (spec §3). The HTTP layer (POST, Content-Type,
// status codes) lives in server.ts.
//
// Pipeline, in gorilla's order:
//   1. decode the envelope (Go json.Decoder: first value only)  -> -32700, always written
//   2. jsonrpc must be exactly "2.0"                            -> -32600
//   3. avalanchego's method rule: upper-case first letter rejected, then capitalised
//   4. service/method lookup                                    -> -32000 rpc: ...
//   5. params: object, else one-element array                   -> -32000 couldn't unmarshal ...
//   6. run the method; its error                                -> -32000 with "data":null
// A request without id (or with id null) runs but gets no body, except for parse errors.
import type {Block} from '../vm/block.js'
import {ID_LENGTH, idToString} from '../vm/encoding.js'
import {isTsvmError} from '../vm/errors.js'
import {
  DEFAULT_ENCODING,
  DIALECT_ENCODINGS,
  type Dialect,
  type Encoding,
  decodeWith,
  encodeWith,
  fitLength,
} from '../vm/formatting.js'
import {
  type JsonNode,
  fieldMatches,
  goCompact,
  goIsPrint,
  goJsonBytes,
  goJsonString,
  goQuote,
  readRpcRequest,
  requestAsData,
} from './json.js'

/** What the chain service needs from a chain: the tip, blocks of any status, and a mempool. */
export interface ChainBackend {
  /** ID of the last accepted block. */
  lastAcceptedId(): Promise<Uint8Array>
  /** A block by ID, whatever its status, or undefined. */
  getBlock(id: Uint8Array): Promise<Block | undefined>
  /**
   * What getBlock would give, when that needs no read (a block in memory), without waiting;
   * undefined means: ask getBlock (optional).
   */
  blockInMemory?(id: Uint8Array): Block | undefined
  /** Queues a payload; false when the mempool is full (v1.3 Success:false). */
  proposeBlock(data: Uint8Array): Promise<boolean>
}

/** A method of a node service (health, info): the Go args struct's fields, and the result's JSON text. */
export interface NodeMethod {
  fields: Record<string, FieldKind>
  run(args: ArgValues): Promise<string>
}

/** A node service other than timestampvm's, answered by the same gorilla pipeline: its name and methods by Go name (e.g. IsBootstrapped). */
export interface NodeService {
  name: string
  methods: ReadonlyMap<string, NodeMethod>
}

/** Which handler set answers: the chain API (/ext/bc/...), the static API (/ext/vm/...), or a node service (/ext/info, /ext/health). */
export type ServiceTarget =
  {kind: 'chain'; chain: ChainBackend} | {kind: 'static'} | {kind: 'node'; service: NodeService}

/** A response as the HTTP layer writes it: the body (undefined: write nothing) and whether the method ran. */
export interface RpcReply {
  body: string | undefined
  /** True when the method was invoked (gorilla then adds X-Content-Type-Options). */
  ran: boolean
}

/** JSON-RPC error codes json2 produces on this path. */
export const RPC_CODES = {PARSE: -32_700, INVALID_REQUEST: -32_600, SERVER: -32_000} as const

/** Exact error texts of timestampvm and avalanchego (spec §3.4). */
export const MESSAGES = {
  badArgs:
    "couldn't unmarshal an argument. Ensure arguments are valid and properly formatted. See documentation for example calls",
  upperCase: 'method must start with a non-uppercase letter',
  noBlock: "couldn't get block from database. Does it exist?",
  noLastAccepted: 'problem getting last accepted',
  badDataV12: 'data must be base 58 repr. of 32 bytes',
  badDataV13: 'data must be hex representation of 32 bytes',
  emptyData: 'argument Data cannot be empty',
  jsonrpc: 'jsonrpc must be 2.0',
  cb58Hint:
    '(this data is CB58, as in the timestampvm v1.2 tutorial: serve with `tsvm serve --api v1.2` for those examples)',
} as const

/** The most bytes `encode` will build for a `length`; Go has no such cap, a server must. */
export const MAX_ENCODE_LENGTH = 1 << 20

const METHODS = {chain: ['GetBlock', 'ProposeBlock'], static: ['Encode', 'Decode']} as const

class MethodError extends Error {}
class ArgsError extends Error {}

function errorBody(code: number, message: string, data: string, id: string | undefined): string {
  return `{"jsonrpc":"2.0","error":{"code":${code},"message":${goJsonString(message)},"data":${data}},"id":${idText(id)}}\n`
}

function idText(id: string | undefined): string {
  return id === undefined ? 'null' : goCompact(id)
}

/** avalanchego's codec wrapper: rejects an upper-case first letter, then capitalises it (spec §3.1). */
export function capitaliseMethod(method: string): string {
  const dot = method.indexOf('.')
  if (dot === -1) return method
  const fn = method.slice(dot + 1)
  const first = String.fromCodePoint(fn.codePointAt(0) ?? 0xfffd)
  if (fn === '' || first === '\uFFFD') return method
  if (/^\p{Lu}$/u.test(first)) throw new MethodError(MESSAGES.upperCase)
  const up = first.toUpperCase()
  return method.slice(0, dot + 1) + ([...up].length === 1 ? up : first) + fn.slice(first.length)
}

// The spellings clients send: capitaliseMethod + lookup answer these without splitting or regexes.
const KNOWN: Record<'chain' | 'static', ReadonlyMap<string, string>> = {
  chain: new Map([
    ['timestampvm.getBlock', 'GetBlock'],
    ['timestampvm.proposeBlock', 'ProposeBlock'],
  ]),
  static: new Map([
    ['timestampvm.encode', 'Encode'],
    ['timestampvm.decode', 'Decode'],
  ]),
}

function lookup(method: string, service: string, methods: readonly string[] | ReadonlyMap<string, unknown>): string {
  const parts = method.split('.')
  if (parts.length !== 2) throw new MethodError(`rpc: service/method request ill-formed: ${goQuote(method)}`)
  if (parts[0] !== service) throw new MethodError(`rpc: can't find service ${goQuote(method)}`)
  const known = Array.isArray(methods)
    ? methods.includes(parts[1]!)
    : (methods as ReadonlyMap<string, unknown>).has(parts[1]!)
  if (!known) throw new MethodError(`rpc: can't find method ${goQuote(method)}`)
  return parts[1]!
}

// ------------------------------------------------------------------------------------------
// Argument decoding, as json.Unmarshal into the Go args structs. Any failure is ArgsError.

/** How a Go args field is decoded. */
export type FieldKind = 'string' | 'id' | 'encoding' | 'int32'
/** Decoded args by field name. */
export type ArgValues = Record<string, string | Uint8Array | Encoding | number | undefined>

function decodeField(
  kind: FieldKind,
  node: JsonNode,
  dialect: Dialect,
): string | Uint8Array | Encoding | number | undefined | null {
  // null leaves the Go field as it was (a *ids.ID pointer becomes nil).
  if (node.kind === 'null') return kind === 'id' ? undefined : null
  switch (kind) {
    case 'string': {
      if (node.kind !== 'string') throw new ArgsError()
      return node.value
    }

    case 'id': {
      // ids.ID.UnmarshalJSON takes the raw text between the quotes, escapes and all.
      if (node.kind !== 'string') throw new ArgsError()
      const text = node.raw.slice(1, -1)
      const known = decodedIds.get(text)
      if (known !== undefined) return known
      const bytes = goFormattingDecode('cb58', text, dialect)
      if (typeof bytes === 'string' || bytes.length !== ID_LENGTH) throw new ArgsError()
      if (decodedIds.size >= ID_CACHE_SIZE) decodedIds.clear()
      decodedIds.set(text, bytes)
      return bytes
    }

    case 'encoding': {
      // formatting.Encoding.UnmarshalJSON lower-cases the raw token and compares it quoted.
      const lower = node.raw.toLowerCase()
      const found = DIALECT_ENCODINGS[dialect].find((e) => `"${e}"` === lower)
      if (found === undefined) throw new ArgsError()
      return found
    }

    case 'int32': {
      if (node.kind !== 'number' || !/^-?\d+$/.test(node.raw)) throw new ArgsError()
      const n = Number(node.raw)
      if (n < -(2 ** 31) || n > 2 ** 31 - 1) throw new ArgsError()
      return n === 0 ? 0 : n
    }
  }
}

function decodeObject(node: JsonNode, fields: Record<string, FieldKind>, dialect: Dialect, into: ArgValues): void {
  if (node.kind !== 'object') throw new ArgsError()
  for (const [key, value] of node.entries) {
    const name = Object.hasOwn(fields, key) ? key : Object.keys(fields).find((f) => fieldMatches(key, f))
    if (name === undefined) continue
    const v = decodeField(fields[name]!, value, dialect)
    if (v !== null) into[name] = v
  }
}

/** gorilla's ReadRequest: params as an object, else as a one-element array; null/absent/[] give zero args. */
export function decodeParams(
  params: JsonNode | undefined,
  fields: Record<string, FieldKind>,
  dialect: Dialect,
): ArgValues {
  const args: ArgValues = {}
  if (params === undefined) return args
  try {
    decodeObject(params, fields, dialect, args)
    return args
  } catch (error) {
    if (!(error instanceof ArgsError)) throw error
  }

  if (params.kind !== 'array') throw new ArgsError()
  const first = params.items[0]
  const fresh: ArgValues = {}
  if (first === undefined || first.kind === 'null') return fresh
  decodeObject(first, fields, dialect, fresh)
  return fresh
}

// ------------------------------------------------------------------------------------------
// formatting.Decode with Go's error texts

const utf8 = new TextEncoder()
const B58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'

/** Go's %#U for a byte value as a rune: U+0067 'g'. */
function goHashU(cp: number): string {
  const u = 'U+' + cp.toString(16).toUpperCase().padStart(4, '0')
  return goIsPrint(cp) ? `${u} '${String.fromCodePoint(cp)}'` : u
}

const bad = (c: number): boolean => !((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46))

/** The error Go's hex.DecodeString gives for `hex`, in its order, or undefined when valid. */
export function goHexError(hex: string): string | undefined {
  const b = utf8.encode(hex)
  let j = 1
  for (; j < b.length; j += 2) {
    if (bad(b[j - 1]!)) return `encoding/hex: invalid byte: ${goHashU(b[j - 1]!)}`
    if (bad(b[j]!)) return `encoding/hex: invalid byte: ${goHashU(b[j]!)}`
  }

  if (b.length % 2 === 1) {
    if (bad(b[j - 1]!)) return `encoding/hex: invalid byte: ${goHashU(b[j - 1]!)}`
    return 'encoding/hex: odd length hex string'
  }

  return undefined
}

/**
 * mr-tron/base58's first complaint about a string, or undefined when every rune is a digit.
 * v1.2.0 (in timestampvm v1.2's AvalancheGo) capitalised both texts; later versions do not.
 */
function base58Error(text: string, dialect: Dialect): string | undefined {
  const v12 = dialect === 'v1.2'
  for (const ch of text) {
    const cp = ch.codePointAt(0)!
    if (cp > 127) return v12 ? 'High-bit set on invalid digit' : 'high-bit set on invalid digit'
    if (!B58.includes(ch)) {
      const q = ch === "'" ? String.raw`\'` : ch === '"' ? '"' : goQuote(ch).slice(1, -1)
      return `${v12 ? 'Invalid' : 'invalid'} base58 digit ('${q}')`
    }
  }

  return undefined
}

/** Go's formatting.Decode: the bytes, or the error text Go would give (spec §2.3). */
export function goFormattingDecode(encoding: Encoding, text: string, dialect: Dialect = 'v1.3'): Uint8Array | string {
  if (text === '') return new Uint8Array(0)
  if (encoding === 'cb58') {
    const e = base58Error(text, dialect)
    if (e !== undefined) return e
  } else if (encoding !== 'json') {
    if (!text.startsWith('0x')) return 'missing 0x prefix to hex encoding'
    const e = goHexError(text.slice(2))
    if (e !== undefined) return e
  }

  try {
    return decodeWith(encoding, text)
  } catch (error) {
    if (!isTsvmError(error)) throw error
    switch (error.code) {
      case 'CB58_TOO_SHORT':
      case 'HEX_TOO_SHORT': {
        return 'input string is smaller than the checksum size'
      }

      case 'CB58_BAD_CHECKSUM':
      case 'HEX_BAD_CHECKSUM': {
        return 'invalid input checksum'
      }

      case 'HEX_MISSING_PREFIX': {
        return 'missing 0x prefix to hex encoding'
      }

      case 'BAD_ENCODING': {
        return 'unsupported encoding in method'
      }

      default: {
        return error.message
      }
    }
  }
}

// ------------------------------------------------------------------------------------------
// The methods

function quoted(text: string): string {
  return goJsonString(text)
}

// A getBlock reply costs four SHA-256 and three base58 conversions. Blocks are immutable and the
// state cache hands out one Block object per ID, so a reply is built once per block and dialect;
// and IDs asked for again are not decoded again (the cache is cleared when full).
const replies = new WeakMap<Block, Partial<Record<Dialect, string>>>()
const decodedIds = new Map<string, Uint8Array>()
const ID_CACHE_SIZE = 4096

/**
 * The string as one run of characters. A string built by concatenation is a tree of its pieces,
 * which V8 copies into one run each time it is read as a whole (written to a socket, measured):
 * a cached reply kept as a tree would be copied piece by piece on every request. Reading it as a
 * number makes V8 replace the tree by its flat copy, once.
 */
function flat(text: string): string {
  // eslint-disable-next-line no-implicit-coercion -- the conversion is the point (see above); its value is not used
  void +text
  return text
}

/** The getBlock reply in the dialect's shape and key order (spec §3.2). */
export function blockReply(block: Block, dialect: Dialect): string {
  const cached = replies.get(block)
  const hit = cached?.[dialect]
  if (hit !== undefined) return hit
  // json.Uint64(block.Timestamp().Unix()): an int64 converted to uint64, so a negative time wraps.
  const ts = BigInt.asUintN(64, block.timestamp)
  const text = flat(
    dialect === 'v1.2'
      ? `{"timestamp":"${ts}","data":${quoted(encodeWith('cb58', block.data))},"id":${quoted(idToString(block.id))},"parentID":${quoted(idToString(block.parentId))}}`
      : `{"timestamp":"${ts}","data":${quoted(encodeWith('hex', block.data))},"height":"${block.height}","id":${quoted(idToString(block.id))},"parentID":${quoted(idToString(block.parentId))}}`,
  )
  if (cached) cached[dialect] = text
  else replies.set(block, {[dialect]: text})
  return text
}

async function getBlock(chain: ChainBackend, args: ArgValues, dialect: Dialect): Promise<string> {
  let id = args.id as Uint8Array | undefined
  if (id === undefined) {
    try {
      id = await chain.lastAcceptedId()
    } catch {
      throw new MethodError(MESSAGES.noLastAccepted)
    }
  }

  const block = await chain.getBlock(id)
  if (block === undefined) throw new MethodError(MESSAGES.noBlock)
  return blockReply(block, dialect)
}

async function proposeBlock(chain: ChainBackend, args: ArgValues, dialect: Dialect): Promise<string> {
  const enc: Encoding = dialect === 'v1.2' ? 'cb58' : 'hex'
  const bytes = goFormattingDecode(enc, (args.data as string | undefined) ?? '')
  if (typeof bytes === 'string' || bytes.length !== ID_LENGTH) {
    if (dialect === 'v1.2') throw new MethodError(MESSAGES.badDataV12)
    // A deliberate deviation from Go's text, only for data Go would refuse anyway: the tutorial's
    // curl sends CB58 (timestampvm v1.2), which a v1.3 server rightly refuses; say what to do.
    const cb58 = goFormattingDecode('cb58', (args.data as string | undefined) ?? '')
    if (typeof cb58 !== 'string' && cb58.length === ID_LENGTH)
      throw new MethodError(`${MESSAGES.badDataV13} ${MESSAGES.cb58Hint}`)
    throw new MethodError(MESSAGES.badDataV13)
  }

  const ok = await chain.proposeBlock(bytes)
  return `{"Success":${ok}}`
}

function encode(args: ArgValues, dialect: Dialect): string {
  const data = utf8.encode((args.data as string | undefined) ?? '')
  if (data.length === 0) throw new MethodError(MESSAGES.emptyData)
  const length = (args.length as number | undefined) ?? 0
  if (length > MAX_ENCODE_LENGTH) {
    throw new MethodError(
      `couldn't encode data as string: length ${length} is over this server's limit of ${MAX_ENCODE_LENGTH} bytes`,
    )
  }

  const encoding = (args.encoding as Encoding | undefined) ?? DEFAULT_ENCODING[dialect]
  if (encoding === 'json') throw new MethodError("couldn't encode data as string: unsupported encoding in method")
  const text = encodeWith(encoding, fitLength(data, length))
  return `{"bytes":${quoted(text)},"encoding":"${encoding}"}`
}

function decode(args: ArgValues, dialect: Dialect): string {
  const encoding = (args.encoding as Encoding | undefined) ?? DEFAULT_ENCODING[dialect]
  const bytes = goFormattingDecode(encoding, (args.bytes as string | undefined) ?? '', dialect)
  if (typeof bytes === 'string') throw new MethodError(`couldn't Decode data as string: ${bytes}`)
  return `{"data":${goJsonBytes(bytes)},"encoding":"${encoding}"}`
}

const FIELDS: Record<string, Record<string, FieldKind>> = {
  GetBlock: {id: 'id'},
  ProposeBlock: {data: 'string'},
  Encode: {data: 'string', encoding: 'encoding', length: 'int32'},
  Decode: {bytes: 'string', encoding: 'encoding'},
}

/** Answers one JSON-RPC request body exactly as timestampvm on AvalancheGo would. */
export async function serveRpc(body: string, target: ServiceTarget, dialect: Dialect): Promise<RpcReply> {
  return answerRpc(body, target, dialect)
}

/**
 * serveRpc's answer, at once (not a promise) when no method has to wait: the errors before a
 * method runs, and getBlock of a block in memory (blockInMemory), which is most of a node's
 * reads. Everything else is a promise of the answer.
 */
export function answerRpc(body: string, target: ServiceTarget, dialect: Dialect): RpcReply | Promise<RpcReply> {
  const {request, error} = readRpcRequest(body)
  if (error !== undefined) {
    return {body: errorBody(RPC_CODES.PARSE, error, requestAsData(request), request.id), ran: false}
  }

  const {id} = request
  const reply = (text: string, ran: boolean): RpcReply => ({body: id === undefined ? undefined : text, ran})
  if (request.jsonrpc !== '2.0') {
    return reply(errorBody(RPC_CODES.INVALID_REQUEST, MESSAGES.jsonrpc, requestAsData(request), id), false)
  }

  let method: string
  let args: ArgValues
  try {
    method =
      target.kind === 'node'
        ? lookup(capitaliseMethod(request.method), target.service.name, target.service.methods)
        : (KNOWN[target.kind].get(request.method) ??
          lookup(capitaliseMethod(request.method), 'timestampvm', METHODS[target.kind]))

    try {
      args = decodeParams(
        request.params,
        target.kind === 'node' ? target.service.methods.get(method)!.fields : FIELDS[method]!,
        dialect,
      )
    } catch (error_) {
      if (error_ instanceof ArgsError) throw new MethodError(MESSAGES.badArgs)
      throw error_
    }
  } catch (error_) {
    if (error_ instanceof MethodError) return reply(errorBody(RPC_CODES.SERVER, error_.message, 'null', id), false)
    throw error_
  }

  const now =
    target.kind === 'chain' && method === 'GetBlock' ? blockInMemoryReply(target.chain, args, dialect, id) : undefined
  return now ?? runMethod({id, method, args}, target, dialect)
}

/** getBlock's reply when it needs no read (ChainBackend.blockInMemory), else undefined. */
function blockInMemoryReply(
  chain: ChainBackend,
  args: ArgValues,
  dialect: Dialect,
  id: string | undefined,
): RpcReply | undefined {
  if (args.id === undefined || chain.blockInMemory === undefined) return undefined
  try {
    const block = chain.blockInMemory(args.id as Uint8Array)
    return block === undefined ? undefined : methodResult(blockReply(block, dialect), id)
  } catch (error_) {
    return methodFailure(error_, id)
  }
}

/** The reply of a method that ran and returned `result` (none for a notification). */
function methodResult(result: string, id: string | undefined): RpcReply {
  return {body: id === undefined ? undefined : `{"jsonrpc":"2.0","result":${result},"id":${idText(id)}}\n`, ran: true}
}

/** The reply of a method that ran and failed: an application error to gorilla too (a storage error, say). */
function methodFailure(error: unknown, id: string | undefined): RpcReply {
  const message = error instanceof Error ? error.message : String(error)
  return {body: id === undefined ? undefined : errorBody(RPC_CODES.SERVER, message, 'null', id), ran: true}
}

/** Runs a decoded call's method and writes its reply (or its failure). */
async function runMethod(
  {id, method, args}: {id: string | undefined; method: string; args: ArgValues},
  target: ServiceTarget,
  dialect: Dialect,
): Promise<RpcReply> {
  try {
    let result: string
    if (target.kind === 'node') {
      result = await target.service.methods.get(method)!.run(args)
    } else if (target.kind === 'chain') {
      result =
        method === 'GetBlock'
          ? await getBlock(target.chain, args, dialect)
          : await proposeBlock(target.chain, args, dialect)
    } else {
      result = method === 'Encode' ? encode(args, dialect) : decode(args, dialect)
    }

    return methodResult(result, id)
  } catch (error_) {
    return methodFailure(error_, id)
  }
}
