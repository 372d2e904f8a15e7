// Go `encoding/json` behaviour where the wire depends on it (spec §3.3, §3.5).
//
// Output: Go's encoder with EscapeHTML on, as json.NewEncoder writes it:
//   "  \\  \n \r \t          escaped with a backslash
//   < > &                    \u003c \u003e \u0026
//   other bytes < 0x20       \u00XX, lower-case hex. \b and \f too: Go <= 1.21 (the toolchains
//                            timestampvm v1.2/v1.3 and AvalancheGo 1.7-1.10 were built with)
//                            only learnt the short forms in Go 1.22. We copy the older nodes.
//   U+2028, U+2029           \u2028 \u2029
//   invalid UTF-8 (bytes)    \ufffd per bad byte, as utf8.DecodeRuneInString steps one byte
//   DEL and all else         as is
//
// Input: a hand-written reader that keeps every value's raw text, so a request `id` such as
// 18446744073709551615 or 1.0 is echoed byte for byte (JSON.parse would round or reformat it),
// with Go's error texts for the cases a client can provoke.

import {isUtf8} from 'node:buffer'

const HEX = '0123456789abcdef'

function escapeAscii(c: number): string | undefined {
  switch (c) {
    case 0x22: {
      return String.raw`\"`
    }

    case 0x5c: {
      return '\\\\'
    }

    case 0x0a: {
      return String.raw`\n`
    }

    case 0x0d: {
      return String.raw`\r`
    }

    case 0x09: {
      return String.raw`\t`
    }

    case 0x3c:
    case 0x3e:
    case 0x26: {
      return String.raw`\u00` + HEX[c >> 4]! + HEX[c & 15]!
    }

    default: {
      if (c < 0x20) return String.raw`\u00` + HEX[c >> 4]! + HEX[c & 15]!
      return undefined
    }
  }
}

/**
 * Decodes one rune at `i` as Go's utf8.DecodeRune does: the code point and its width, or
 * width 1 with cp -1 for any invalid or truncated sequence (overlong, surrogate, > U+10FFFF).
 */
export function goDecodeRune(b: Uint8Array, i: number): {cp: number; size: number} {
  const c0 = b[i]!
  if (c0 < 0x80) return {cp: c0, size: 1}
  const bad = {cp: -1, size: 1}
  const cont = (k: number, lo = 0x80, hi = 0xbf): number => {
    const c = b[i + k]
    return c === undefined || c < lo || c > hi ? -1 : c & 0x3f
  }

  if (c0 >= 0xc2 && c0 <= 0xdf) {
    const c1 = cont(1)
    return c1 < 0 ? bad : {cp: ((c0 & 0x1f) << 6) | c1, size: 2}
  }

  if (c0 >= 0xe0 && c0 <= 0xef) {
    const lo = c0 === 0xe0 ? 0xa0 : 0x80
    const hi = c0 === 0xed ? 0x9f : 0xbf
    const c1 = cont(1, lo, hi)
    if (c1 < 0) return bad
    const c2 = cont(2)
    return c2 < 0 ? bad : {cp: ((c0 & 0x0f) << 12) | (c1 << 6) | c2, size: 3}
  }

  if (c0 >= 0xf0 && c0 <= 0xf4) {
    const lo = c0 === 0xf0 ? 0x90 : 0x80
    const hi = c0 === 0xf4 ? 0x8f : 0xbf
    const c1 = cont(1, lo, hi)
    if (c1 < 0) return bad
    const c2 = cont(2)
    if (c2 < 0) return bad
    const c3 = cont(3)
    return c3 < 0 ? bad : {cp: ((c0 & 0x07) << 18) | (c1 << 12) | (c2 << 6) | c3, size: 4}
  }

  return bad
}

/** A Go string (raw bytes) as Go's JSON encoder writes it, quotes included. */
export function goJsonBytes(b: Uint8Array): string {
  let out = '"'
  let i = 0
  while (i < b.length) {
    const c = b[i]!
    if (c < 0x80) {
      out += escapeAscii(c) ?? String.fromCharCode(c)
      i++
      continue
    }

    const {cp, size} = goDecodeRune(b, i)
    if (cp < 0) out += String.raw`\ufffd`
    else if (cp === 0x2028 || cp === 0x2029) out += String.raw`\u202` + HEX[cp & 15]!
    else out += String.fromCodePoint(cp)
    i += size
  }

  return out + '"'
}

const encoder = new TextEncoder()

/**
 * Bytes to a string the way Go's JSON decoder sees them: each byte that does not start a valid
 * UTF-8 sequence becomes one U+FFFD (WHATWG decoding would merge some runs into one).
 */
export function goDecodeUtf8(b: Uint8Array): string {
  if (isUtf8(b)) return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8')
  let out = ''
  for (let i = 0; i < b.length;) {
    const {cp, size} = goDecodeRune(b, i)
    out += cp < 0 ? '\uFFFD' : String.fromCodePoint(cp)
    i += size
  }

  return out
}

/**
 * A request body as text for the JSON reader, keeping what Go's decoder keeps: each byte that is
 * not part of valid UTF-8 becomes the lone surrogate U+DC00+byte (0x80-0xff), which valid UTF-8
 * never yields. The reader turns those into U+FFFD only while unquoting a string, as Go does; a
 * raw value (an id, params) keeps them and goEncodeRaw writes the original bytes back.
 */
export function goDecodeUtf8Raw(b: Uint8Array): string {
  if (isUtf8(b)) return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8')
  let out = ''
  for (let i = 0; i < b.length;) {
    const {cp, size} = goDecodeRune(b, i)
    out += cp < 0 ? String.fromCharCode(0xdc00 + b[i]!) : String.fromCodePoint(cp)
    i += size
  }

  return out
}

/** A kept invalid byte of goDecodeUtf8Raw: a low surrogate U+DC80-U+DCFF with no high one before it. */
const RAW_BYTE = /(?<![\uD800-\uDBFF])[\uDC80-\uDCFF]/g
const HAS_RAW_BYTE = new RegExp(RAW_BYTE.source)

/** Text to bytes as UTF-8, writing goDecodeUtf8Raw's kept bytes back as they came. */
export function goEncodeRaw(s: string): Buffer {
  if (!HAS_RAW_BYTE.test(s)) return Buffer.from(s, 'utf8')
  const parts: Buffer[] = []
  let last = 0
  for (const m of s.matchAll(RAW_BYTE)) {
    parts.push(Buffer.from(s.slice(last, m.index), 'utf8'), Buffer.of(m[0].charCodeAt(0) - 0xdc00))
    last = m.index + 1
  }

  parts.push(Buffer.from(s.slice(last), 'utf8'))
  return Buffer.concat(parts)
}

/**
 * goEncodeRaw for a writer that takes text: the text itself when it holds no kept raw byte (it
 * is then written as UTF-8 as it is), else goEncodeRaw's bytes. Lets node:http send a reply's
 * head and body in one write instead of two.
 */
export function goEncodeRawText(s: string): string | Buffer {
  return HAS_RAW_BYTE.test(s) ? goEncodeRaw(s) : s
}

/** A string as Go's JSON encoder writes it (lone surrogates count as U+FFFD, as Go would hold them). */
export function goJsonString(s: string): string {
  // Fast path: printable ASCII with nothing to escape.
  if (/^[\u0020-\u007E]*$/.test(s) && !/["\\<>&]/.test(s)) return '"' + s + '"'
  return goJsonBytes(encoder.encode(s))
}

/**
 * Compacts raw JSON text as Go's encoder does for a json.RawMessage: whitespace outside strings
 * dropped, < > & and U+2028/U+2029 escaped, everything else (number spelling included) kept.
 */
export function goCompact(raw: string): string {
  let out = ''
  let inString = false
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i]!
    const c = ch.charCodeAt(0)
    if (inString) {
      if (ch === '\\') {
        out += ch + (raw[i + 1] ?? '')
        i++
        continue
      }

      if (ch === '"') inString = false
    } else if (ch === '"') {
      inString = true
    } else if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) {
      continue
    }

    if (c === 0x3c || c === 0x3e || c === 0x26) out += String.raw`\u00` + HEX[c >> 4]! + HEX[c & 15]!
    else if (c === 0x2028 || c === 0x2029) out += String.raw`\u202` + HEX[c & 15]!
    else out += ch
  }

  return out
}

// ------------------------------------------------------------------------------------------
// Reading

/** A parsed JSON value that remembers its exact source text. */
export type JsonNode =
  | {kind: 'object'; raw: string; entries: Array<[string, JsonNode]>}
  | {kind: 'array'; raw: string; items: JsonNode[]}
  | {kind: 'string'; raw: string; value: string}
  | {kind: 'number'; raw: string}
  | {kind: 'bool'; raw: string; value: boolean}
  | {kind: 'null'; raw: string}

/** A Go json error: `message` is err.Error() as Go prints it. */
export class GoJsonError extends Error {
  override name = 'GoJsonError'
}

/** Go's quoteChar for syntax errors: 'x', with Go escapes for odd characters. */
function quoteChar(ch: string): string {
  if (ch === "'") return `'\\''`
  if (ch === '"') return `'"'`
  const q = goQuote(ch)
  return "'" + q.slice(1, -1) + "'"
}

/** True for what Go's unicode.IsPrint calls printable: letters, marks, numbers, punctuation, symbols and ASCII space. */
export function goIsPrint(cp: number): boolean {
  if (cp === 0x20) return true
  return /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u.test(String.fromCodePoint(cp))
}

/** strconv.Quote (also fmt's %q) of a valid string. */
export function goQuote(s: string): string {
  let out = '"'
  for (const ch of s) {
    const cp = ch.codePointAt(0)!
    if (ch === '"' || ch === '\\') out += '\\' + ch
    else if (goIsPrint(cp) && !(cp >= 0xd800 && cp <= 0xdfff)) out += ch
    else
      switch (cp) {
        case 7: {
          out += String.raw`\a`
          break
        }

        case 8: {
          out += String.raw`\b`
          break
        }

        case 12: {
          out += String.raw`\f`
          break
        }

        case 10: {
          out += String.raw`\n`
          break
        }

        case 13: {
          out += String.raw`\r`
          break
        }

        case 9: {
          out += String.raw`\t`
          break
        }

        case 11: {
          out += String.raw`\v`
          break
        }

        default: {
          if (cp < 0x20 || cp === 0x7f) out += String.raw`\x` + HEX[cp >> 4]! + HEX[cp & 15]!
          else if (cp >= 0xd800 && cp <= 0xdfff) out += String.raw`\ufffd`
          else if (cp < 0x10000) out += String.raw`\u` + cp.toString(16).padStart(4, '0')
          else out += String.raw`\U` + cp.toString(16).padStart(8, '0')
        }
      }
  }

  return out + '"'
}

/** Go's scanner refuses more nesting than this (and so a deep body cannot exhaust our stack). */
const MAX_DEPTH = 10_000

const SIMPLE_ESCAPES: Record<string, string> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
}

class Reader {
  i = 0

  constructor(readonly s: string) {}

  fail(what: string): never {
    if (this.i >= this.s.length) throw new GoJsonError('unexpected EOF')
    // Go's scanner reports one byte, shown as the code point of that byte's value.
    const cp = this.s.codePointAt(this.i)!
    // A byte kept by goDecodeUtf8Raw is reported as itself.
    const byte =
      cp < 0x80 ? cp : cp >= 0xdc80 && cp <= 0xdcff ? cp - 0xdc00 : encoder.encode(String.fromCodePoint(cp))[0]!
    throw new GoJsonError(`invalid character ${quoteChar(String.fromCharCode(byte))} ${what}`)
  }

  skipWs(): void {
    const {s} = this
    for (let c = s.charCodeAt(this.i); c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09; c = s.charCodeAt(this.i))
      this.i++
  }

  /**
   * Reads one value. Iterative, with an explicit stack of open containers, so nesting up to
   * Go's limit cannot exhaust the call stack.
   */
  value(context: string): JsonNode {
    type Frame =
      | {kind: 'object'; start: number; entries: Array<[string, JsonNode]>; key: string}
      | {kind: 'array'; start: number; items: JsonNode[]}
    const stack: Frame[] = []
    let ctx = context
    for (;;) {
      this.skipWs()
      const start = this.i
      const ch = this.s[this.i]
      let node: JsonNode | undefined
      if (ch === '{' || ch === '[') {
        if (stack.length + 1 > MAX_DEPTH) this.fail('exceeded max depth')
        this.i++
        this.skipWs()
        if (ch === '{' && this.s[this.i] === '}') {
          this.i++
          node = {kind: 'object', raw: this.s.slice(start, this.i), entries: []}
        } else if (ch === '[' && this.s[this.i] === ']') {
          this.i++
          node = {kind: 'array', raw: this.s.slice(start, this.i), items: []}
        } else {
          stack.push(
            ch === '{' ? {kind: 'object', start, entries: [], key: this.key()} : {kind: 'array', start, items: []},
          )
          ctx = 'looking for beginning of value'
          continue
        }
      } else {
        node = this.scalar(start, ctx)
      }

      // Attach the finished value to its container, closing containers as they end.
      for (;;) {
        const top = stack.at(-1)
        if (top === undefined) return node
        if (top.kind === 'array') top.items.push(node)
        else top.entries.push([top.key, node])
        this.skipWs()
        const c = this.s[this.i]
        if (c === ',') {
          this.i++
          if (top.kind === 'object') top.key = this.key()
          break
        }

        if (c === (top.kind === 'array' ? ']' : '}')) {
          this.i++
          stack.pop()
          const raw = this.s.slice(top.start, this.i)
          node =
            top.kind === 'array' ? {kind: 'array', raw, items: top.items} : {kind: 'object', raw, entries: top.entries}
          continue
        }

        this.fail(top.kind === 'array' ? 'after array element' : 'after object key:value pair')
      }

      ctx = 'looking for beginning of value'
    }
  }

  /** An object key and its colon. */
  key(): string {
    this.skipWs()
    if (this.s[this.i] !== '"') this.fail('looking for beginning of object key string')
    const key = this.string()
    this.skipWs()
    if (this.s[this.i] !== ':') this.fail('after object key')
    this.i++
    return key
  }

  scalar(start: number, context: string): JsonNode {
    const ch = this.s[this.i]
    if (ch === '"') {
      const value = this.string()
      return {kind: 'string', raw: this.s.slice(start, this.i), value}
    }

    if (ch === '-' || (ch !== undefined && ch >= '0' && ch <= '9')) return this.number(start)
    if (ch === 't') return this.literal('true', start, {kind: 'bool', raw: 'true', value: true})
    if (ch === 'f') return this.literal('false', start, {kind: 'bool', raw: 'false', value: false})
    if (ch === 'n') return this.literal('null', start, {kind: 'null', raw: 'null'})
    return this.fail(context)
  }

  literal(word: string, start: number, node: JsonNode): JsonNode {
    for (let k = 0; k < word.length; k++) {
      if (this.s[start + k] !== word[k]) {
        this.i = start + k
        this.fail(`in literal ${word} (expecting '${word[k]}')`)
      }
    }

    this.i = start + word.length
    return node
  }

  number(start: number): JsonNode {
    const {s} = this
    const digit = (): boolean => this.i < s.length && s[this.i]! >= '0' && s[this.i]! <= '9'
    if (s[this.i] === '-') {
      this.i++
      if (!digit()) this.fail('in numeric literal')
    }

    if (s[this.i] === '0') this.i++
    else while (digit()) this.i++
    if (s[this.i] === '.') {
      this.i++
      if (!digit()) this.fail('after decimal point in numeric literal')
      while (digit()) this.i++
    }

    if (s[this.i] === 'e' || s[this.i] === 'E') {
      this.i++
      if (s[this.i] === '+' || s[this.i] === '-') this.i++
      if (!digit()) this.fail('in exponent of numeric literal')
      while (digit()) this.i++
    }

    return {kind: 'number', raw: s.slice(start, this.i)}
  }

  /** Reads a string literal at `i` and returns its value (bad surrogate escapes become U+FFFD, as in Go). */
  string(): string {
    const {s} = this
    this.i++ // opening quote
    let out = ''
    for (;;) {
      // A run of plain characters is copied in one slice, not one character at a time.
      const run = this.i
      let c = s.charCodeAt(run)
      let kept = false
      while (c >= 0x20 && c !== 0x22 && c !== 0x5c) {
        if (c >= 0xdc80 && c <= 0xdcff) kept = true
        c = s.charCodeAt(++this.i)
      }

      // Bytes kept by goDecodeUtf8Raw become U+FFFD here, while unquoting, as in Go.
      if (this.i > run) out += kept ? s.slice(run, this.i).replaceAll(RAW_BYTE, '\uFFFD') : s.slice(run, this.i)
      if (this.i >= s.length) this.fail('')
      const ch = s[this.i]!
      if (ch === '"') {
        this.i++
        return out
      }

      if (c < 0x20) this.fail('in string literal')
      if (ch !== '\\') {
        out += ch
        this.i++
        continue
      }

      this.i++
      const e = s[this.i]
      if (e === undefined) this.fail('')
      if (e! in SIMPLE_ESCAPES) {
        out += SIMPLE_ESCAPES[e!]
        this.i++
        continue
      }

      if (e !== 'u') this.fail('in string escape code')
      this.i++
      const unit = this.hex4()
      if (unit >= 0xd800 && unit < 0xdc00 && s[this.i] === '\\' && s[this.i + 1] === 'u') {
        const save = this.i
        this.i += 2
        const low = this.hex4()
        if (low >= 0xdc00 && low < 0xe000) {
          out += String.fromCharCode(unit, low)
          continue
        }

        this.i = save
        out += '\uFFFD'
        continue
      }

      out += unit >= 0xd800 && unit < 0xe000 ? '\uFFFD' : String.fromCharCode(unit)
    }
  }

  hex4(): number {
    let v = 0
    for (let k = 0; k < 4; k++) {
      const ch = this.s[this.i]
      if (ch === undefined) this.fail('')
      const d = Number.parseInt(ch!, 16)
      if (Number.isNaN(d) || !/[0-9a-fA-F]/.test(ch!)) this.fail(String.raw`in \u hexadecimal character escape`)
      v = v * 16 + d
      this.i++
    }

    return v
  }
}

/**
 * Reads the first JSON value of `text` as Go's json.Decoder does: what follows it is ignored.
 * Throws GoJsonError with Go's text: `EOF` for no value, `unexpected EOF`, `invalid character ...`.
 */
export function readFirstValue(text: string): JsonNode {
  const r = new Reader(text)
  r.skipWs()
  if (r.i >= text.length) throw new GoJsonError('EOF')
  return r.value('looking for beginning of value')
}

/** Parses a complete JSON text (trailing non-space is an error, as in json.Unmarshal). */
export function parseJson(text: string): JsonNode {
  const r = new Reader(text)
  const v = r.value('looking for beginning of value')
  r.skipWs()
  if (r.i < text.length) r.fail('after top-level value')
  return v
}

/** Go's name for a JSON value kind in UnmarshalTypeError messages. */
export function goKindName(node: JsonNode): string {
  return node.kind === 'bool' ? 'bool' : node.kind
}

const fold = (s: string): string => s.replaceAll('\u017F', 's').replaceAll('\u212A', 'k').toLowerCase()

/**
 * Finds the entry for a struct field as encoding/json does: an exact key match wins, then a
 * case-insensitive one (with Go's extra folds ſ→s and K→k); the last matching key wins.
 */
export function fieldMatches(key: string, field: string): boolean {
  if (key === field) return true
  return fold(key) === fold(field)
}

/** The JSON-RPC request envelope as gorilla's json2 holds it: params and id stay raw. */
export interface RpcRequest {
  jsonrpc: string
  method: string
  /** Raw params text, or undefined for absent/null. */
  params: JsonNode | undefined
  /** Raw id text as sent (not yet compacted), or undefined for absent/null (a notification). */
  id: string | undefined
}

/** The outcome of reading a request body: the request, and Go's decode error if any. */
export interface ReadRequestResult {
  request: RpcRequest
  error: string | undefined
}

/**
 * Decodes a request body into json2's serverRequest: syntax errors leave it empty, type errors
 * keep the fields that did decode (Go records the first error and carries on).
 */
export function readRpcRequest(body: string): ReadRequestResult {
  const request: RpcRequest = {jsonrpc: '', method: '', params: undefined, id: undefined}
  let node: JsonNode
  try {
    node = readFirstValue(body)
  } catch (error) {
    if (error instanceof GoJsonError) return {request, error: error.message}
    throw error
  }

  if (node.kind === 'null') return {request, error: undefined}
  if (node.kind !== 'object') {
    return {request, error: `json: cannot unmarshal ${goKindName(node)} into Go value of type json2.serverRequest`}
  }

  let error: string | undefined
  const fields = ['jsonrpc', 'method', 'params', 'id'] as const
  for (const [key, value] of node.entries) {
    // Exact matches take precedence over folded ones, as in Go's field lookup.
    const field =
      key === 'jsonrpc' || key === 'method' || key === 'params' || key === 'id'
        ? key
        : fields.find((f) => fieldMatches(key, f))
    if (field === undefined) continue
    if (field === 'params' || field === 'id') {
      const raw = value.kind === 'null' ? undefined : value
      if (field === 'params') request.params = raw
      else request.id = raw?.raw
      continue
    }

    if (value.kind === 'null') continue
    if (value.kind === 'string') {
      request[field] = value.value
    } else {
      error ??= `json: cannot unmarshal ${goKindName(value)} into Go struct field serverRequest.${field} of type string`
    }
  }

  return {request, error}
}

const raw = (text: string | undefined): string => (text === undefined ? 'null' : goCompact(text))

/** The request object as json2 echoes it in -32700/-32600 error data. */
export function requestAsData(req: RpcRequest): string {
  return `{"jsonrpc":${goJsonString(req.jsonrpc)},"method":${goJsonString(req.method)},"params":${raw(req.params?.raw)},"id":${raw(req.id)}}`
}
