// HPACK (RFC 7541), the header compression of HTTP/2, for the plugin's hand-written HTTP/2 framing.
//
// The decoder implements all of RFC 7541 (a peer such as nghttp2 or grpc-go uses Huffman strings and
// the dynamic table freely); the encoder is deliberately minimal and stateless: static-table indexed
// fields and literals without indexing, no Huffman, so any peer decodes its blocks and the encoder
// needs no state shared with the connection.
//
// A header block is a sequence of representations (§6); integers are prefixed integers (§5.1):
//   indexed field               1    | index (7-bit prefix)
//   literal, incremental index  01   | index (6-bit prefix) | [name string if index = 0] | value string
//   table size update           001  | size (5-bit prefix)   (only at the start of a block, §4.2)
//   literal, never indexed      0001 | index (4-bit prefix) | [name string if index = 0] | value string
//   literal, without indexing   0000 | index (4-bit prefix) | [name string if index = 0] | value string
//   string                      H | length (7-bit prefix) | length bytes (Huffman-coded if H = 1)
//   integer, N-bit prefix       value < 2^N - 1 in the prefix; else the prefix all ones, then
//                               value - (2^N - 1) in 7-bit groups, least significant first, the
//                               high bit set on every byte but the last
// Indices 1..61 name the static table (Appendix A), 62.. the dynamic table, newest entry first.
// Header bytes are latin1: a byte is one UTF-16 code unit of the strings this module returns.

/** What was wrong with a header block, for callers and tests to branch on. */
export type HpackErrorCode =
  'HPACK_BAD_HUFFMAN' | 'HPACK_BAD_INDEX' | 'HPACK_BAD_TABLE_SIZE' | 'HPACK_INTEGER_OVERFLOW' | 'HPACK_TRUNCATED'

/** A malformed header block (the connection error COMPRESSION_ERROR of RFC 7540 §4.3). */
export class HpackError extends Error {
  override name = 'HpackError'

  constructor(
    readonly code: HpackErrorCode,
    message: string,
  ) {
    super(`malformed HTTP/2 header block (COMPRESSION_ERROR): ${message}`)
  }
}

// ------------------------------------------------------------------------ static table (Appendix A)

/** The static table, index 1 first. */
export const STATIC_TABLE: ReadonlyArray<readonly [name: string, value: string]> = [
  [':authority', ''],
  [':method', 'GET'],
  [':method', 'POST'],
  [':path', '/'],
  [':path', '/index.html'],
  [':scheme', 'http'],
  [':scheme', 'https'],
  [':status', '200'],
  [':status', '204'],
  [':status', '206'],
  [':status', '304'],
  [':status', '400'],
  [':status', '404'],
  [':status', '500'],
  ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'],
  ['accept-language', ''],
  ['accept-ranges', ''],
  ['accept', ''],
  ['access-control-allow-origin', ''],
  ['age', ''],
  ['allow', ''],
  ['authorization', ''],
  ['cache-control', ''],
  ['content-disposition', ''],
  ['content-encoding', ''],
  ['content-language', ''],
  ['content-length', ''],
  ['content-location', ''],
  ['content-range', ''],
  ['content-type', ''],
  ['cookie', ''],
  ['date', ''],
  ['etag', ''],
  ['expect', ''],
  ['expires', ''],
  ['from', ''],
  ['host', ''],
  ['if-match', ''],
  ['if-modified-since', ''],
  ['if-none-match', ''],
  ['if-range', ''],
  ['if-unmodified-since', ''],
  ['last-modified', ''],
  ['link', ''],
  ['location', ''],
  ['max-forwards', ''],
  ['proxy-authenticate', ''],
  ['proxy-authorization', ''],
  ['range', ''],
  ['referer', ''],
  ['refresh', ''],
  ['retry-after', ''],
  ['server', ''],
  ['set-cookie', ''],
  ['strict-transport-security', ''],
  ['transfer-encoding', ''],
  ['user-agent', ''],
  ['vary', ''],
  ['via', ''],
  ['www-authenticate', ''],
]

const STATIC_COUNT = STATIC_TABLE.length

// ----------------------------------------------------------------------- Huffman code (Appendix B)

// The code of each symbol 0..255 and EOS (256), eight a row, as "code/length": the code as hex
// aligned to the least significant bit, its length in bits. Kept as text so that it reads as the
// RFC's table does and no formatter reflows it.
const HUFFMAN_TEXT = `
  1ff8/13     7fffd8/23   fffffe2/28  fffffe3/28  fffffe4/28  fffffe5/28  fffffe6/28  fffffe7/28
  fffffe8/28  ffffea/24   3ffffffc/30 fffffe9/28  fffffea/28  3ffffffd/30 fffffeb/28  fffffec/28
  fffffed/28  fffffee/28  fffffef/28  ffffff0/28  ffffff1/28  ffffff2/28  3ffffffe/30 ffffff3/28
  ffffff4/28  ffffff5/28  ffffff6/28  ffffff7/28  ffffff8/28  ffffff9/28  ffffffa/28  ffffffb/28
  14/6        3f8/10      3f9/10      ffa/12      1ff9/13     15/6        f8/8        7fa/11
  3fa/10      3fb/10      f9/8        7fb/11      fa/8        16/6        17/6        18/6
  0/5         1/5         2/5         19/6        1a/6        1b/6        1c/6        1d/6
  1e/6        1f/6        5c/7        fb/8        7ffc/15     20/6        ffb/12      3fc/10
  1ffa/13     21/6        5d/7        5e/7        5f/7        60/7        61/7        62/7
  63/7        64/7        65/7        66/7        67/7        68/7        69/7        6a/7
  6b/7        6c/7        6d/7        6e/7        6f/7        70/7        71/7        72/7
  fc/8        73/7        fd/8        1ffb/13     7fff0/19    1ffc/13     3ffc/14     22/6
  7ffd/15     3/5         23/6        4/5         24/6        5/5         25/6        26/6
  27/6        6/5         74/7        75/7        28/6        29/6        2a/6        7/5
  2b/6        76/7        2c/6        8/5         9/5         2d/6        77/7        78/7
  79/7        7a/7        7b/7        7ffe/15     7fc/11      3ffd/14     1ffd/13     ffffffc/28
  fffe6/20    3fffd2/22   fffe7/20    fffe8/20    3fffd3/22   3fffd4/22   3fffd5/22   7fffd9/23
  3fffd6/22   7fffda/23   7fffdb/23   7fffdc/23   7fffdd/23   7fffde/23   ffffeb/24   7fffdf/23
  ffffec/24   ffffed/24   3fffd7/22   7fffe0/23   ffffee/24   7fffe1/23   7fffe2/23   7fffe3/23
  7fffe4/23   1fffdc/21   3fffd8/22   7fffe5/23   3fffd9/22   7fffe6/23   7fffe7/23   ffffef/24
  3fffda/22   1fffdd/21   fffe9/20    3fffdb/22   3fffdc/22   7fffe8/23   7fffe9/23   1fffde/21
  7fffea/23   3fffdd/22   3fffde/22   fffff0/24   1fffdf/21   3fffdf/22   7fffeb/23   7fffec/23
  1fffe0/21   1fffe1/21   3fffe0/22   1fffe2/21   7fffed/23   3fffe1/22   7fffee/23   7fffef/23
  fffea/20    3fffe2/22   3fffe3/22   3fffe4/22   7ffff0/23   3fffe5/22   3fffe6/22   7ffff1/23
  3ffffe0/26  3ffffe1/26  fffeb/20    7fff1/19    3fffe7/22   7ffff2/23   3fffe8/22   1ffffec/25
  3ffffe2/26  3ffffe3/26  3ffffe4/26  7ffffde/27  7ffffdf/27  3ffffe5/26  fffff1/24   1ffffed/25
  7fff2/19    1fffe3/21   3ffffe6/26  7ffffe0/27  7ffffe1/27  3ffffe7/26  7ffffe2/27  fffff2/24
  1fffe4/21   1fffe5/21   3ffffe8/26  3ffffe9/26  ffffffd/28  7ffffe3/27  7ffffe4/27  7ffffe5/27
  fffec/20    fffff3/24   fffed/20    1fffe6/21   3fffe9/22   1fffe7/21   1fffe8/21   7ffff3/23
  3fffea/22   3fffeb/22   1ffffee/25  1ffffef/25  fffff4/24   fffff5/24   3ffffea/26  7ffff4/23
  3ffffeb/26  7ffffe6/27  3ffffec/26  3ffffed/26  7ffffe7/27  7ffffe8/27  7ffffe9/27  7ffffea/27
  7ffffeb/27  ffffffe/28  7ffffec/27  7ffffed/27  7ffffee/27  7ffffef/27  7fffff0/27  3ffffee/26
  3fffffff/30
`

/** The Huffman code of Appendix B: [code (aligned to the least significant bit), length in bits] of symbols 0..256 (256 is EOS). */
export const HUFFMAN_CODE: ReadonlyArray<readonly [code: number, bits: number]> = HUFFMAN_TEXT.trim()
  .split(/\s+/)
  .map((entry) => {
    const [code, bits] = entry.split('/')
    return [Number.parseInt(code, 16), Number(bits)] as const
  })

const EOS = 256

// The decoder is a state machine that consumes four bits at a time, built once from the code: its
// states are the 256 internal nodes of the code's binary tree (state 0 the root). Each code is at
// least 5 bits long, so a nibble completes at most one symbol. Table entry (state << 4 | nibble):
//   bits 0-7 the next state, bits 8-15 the symbol completed, EMIT if one was, FAIL if the nibble
//   runs into EOS (a decoder must treat EOS in a string as an error, §5.2).
// ACCEPT[state] says a string may end in that state: at a symbol boundary (the root), or after at
// most 7 bits that are all ones (the most significant bits of EOS, the only padding allowed).
// Compared with walking the tree bit by bit this is one table read per four bits and no branches
// on bits; test/plugin/hpack.test.ts checks it against a bit-by-bit decode of the same code.
const EMIT = 1 << 16
const FAIL = 1 << 17
const HUFFMAN_FSM = new Uint32Array(256 * 16)
const HUFFMAN_ACCEPT = new Uint8Array(256)

function buildHuffmanFsm(): void {
  // The tree: child[node * 2 + bit] is an internal node (>= 0) or a leaf, -(symbol + 1).
  const child: number[] = [0, 0]
  let nodes = 1
  for (const [symbol, [code, bits]] of HUFFMAN_CODE.entries()) {
    let node = 0
    for (let i = bits - 1; i >= 0; i--) {
      const slot = node * 2 + ((code >>> i) & 1)
      if (i === 0) {
        child[slot] = -(symbol + 1)
      } else {
        if (child[slot] === 0) {
          child[slot] = nodes++
          child.push(0, 0)
        }

        node = child[slot]
      }
    }
  }

  // A complete prefix code of 257 symbols has 256 internal nodes and no empty branch.
  if (nodes !== 256 || child.includes(0)) throw new Error('HPACK Huffman table: not a complete prefix code')
  // Depth and all-ones-ness of each node's path from the root, for ACCEPT.
  const depth = new Int32Array(256)
  const ones = new Uint8Array(256)
  ones[0] = 1
  for (let node = 0; node < 256; node++) {
    for (let bit = 0; bit < 2; bit++) {
      const next = child[node * 2 + bit]
      if (next > 0) {
        depth[next] = depth[node] + 1
        ones[next] = ones[node] & bit
      }
    }
  }

  for (let state = 0; state < 256; state++) {
    HUFFMAN_ACCEPT[state] = state === 0 || (ones[state] === 1 && depth[state] <= 7) ? 1 : 0
    for (let nibble = 0; nibble < 16; nibble++) {
      let node = state
      let entry = 0
      for (let i = 3; i >= 0; i--) {
        const next = child[node * 2 + ((nibble >>> i) & 1)]
        if (next >= 0) {
          node = next
        } else if (next === -(EOS + 1)) {
          entry = FAIL
          break
        } else {
          entry = EMIT | ((-next - 1) << 8)
          node = 0
        }
      }

      HUFFMAN_FSM[(state << 4) | nibble] = entry | (entry & FAIL ? 0 : node)
    }
  }
}

buildHuffmanFsm()

/** Where huffmanDecode writes the bytes of a string before making it one string; reused below 64 KiB. */
let scratch = Buffer.allocUnsafe(4096)
const SCRATCH_MAX = 65_536

const eosInString = () => new HpackError('HPACK_BAD_HUFFMAN', 'a Huffman-coded string contains the EOS symbol')

/** Decodes a Huffman-coded string (§5.2) to latin1 text; throws HpackError on EOS or bad padding. */
export function huffmanDecode(bytes: Uint8Array, start = 0, end = bytes.length): string {
  // Every code is at least 5 bits, so `n` bytes decode to at most 8n/5 symbols.
  const most = Math.ceil(((end - start) * 8) / 5)
  if (scratch.length < most && most <= SCRATCH_MAX) scratch = Buffer.allocUnsafe(SCRATCH_MAX)
  const out = most <= scratch.length ? scratch : Buffer.allocUnsafe(most)
  const fsm = HUFFMAN_FSM
  let n = 0
  let state = 0
  for (let i = start; i < end; i++) {
    const byte = bytes[i]
    let entry = fsm[(state << 4) | (byte >>> 4)]
    if (entry & (EMIT | FAIL)) {
      if (entry & FAIL) throw eosInString()
      out[n++] = (entry >>> 8) & 0xff
    }

    entry = fsm[((entry & 0xff) << 4) | (byte & 0xf)]
    if (entry & (EMIT | FAIL)) {
      if (entry & FAIL) throw eosInString()
      out[n++] = (entry >>> 8) & 0xff
    }

    state = entry & 0xff
  }

  if (!HUFFMAN_ACCEPT[state]) {
    throw new HpackError(
      'HPACK_BAD_HUFFMAN',
      'a Huffman-coded string ends in padding that is longer than 7 bits or not all ones',
    )
  }

  return out.toString('latin1', 0, n)
}

/** The Huffman code (§5.2) of latin1 text, padded with ones; the inverse of huffmanDecode. */
export function huffmanEncode(text: string): Uint8Array {
  let bitCount = 0
  for (let i = 0; i < text.length; i++) {
    const char = text.charCodeAt(i)
    if (char > 0xff)
      throw new RangeError(`${JSON.stringify(text)} has a character above U+00FF: header bytes are latin1`)
    bitCount += HUFFMAN_CODE[char][1]
  }

  const out = new Uint8Array(Math.ceil(bitCount / 8))
  let acc = 0 // pending bits, at most 7 + 30, kept below 2^53 as a plain number
  let pending = 0
  let n = 0
  for (let i = 0; i < text.length; i++) {
    const [code, bits] = HUFFMAN_CODE[text.charCodeAt(i)]
    acc = acc * 2 ** bits + code
    pending += bits
    while (pending >= 8) {
      pending -= 8
      const byte = Math.floor(acc / 2 ** pending)
      out[n++] = byte
      acc -= byte * 2 ** pending
    }
  }

  if (pending > 0) out[n] = (acc << (8 - pending)) | (0xff >>> pending)
  return out
}

// --------------------------------------------------------------------------------------- decoder

/** The largest integer a block may carry (a length, an index or a table size): far above any real one. */
const MAX_INTEGER = 2 ** 31 - 1

/** A cursor over one header block: its integers (§5.1) and string literals (§5.2). */
class BlockReader {
  readonly buf: Buffer
  readonly end: number
  pos: number

  constructor(block: Uint8Array, pos = 0) {
    this.buf = Buffer.isBuffer(block) ? block : Buffer.from(block.buffer, block.byteOffset, block.byteLength)
    this.end = this.buf.length
    this.pos = pos
  }

  /** The prefixed integer whose first byte is at `pos` (the caller has checked there is one). */
  integer(prefixBits: number): number {
    const {buf, end} = this
    const max = (1 << prefixBits) - 1
    let value = buf[this.pos++] & max
    if (value < max) return value
    for (let shift = 0; ; shift += 7) {
      if (this.pos >= end) throw new HpackError('HPACK_TRUNCATED', 'the block ends inside an integer')
      const byte = buf[this.pos++]
      value += (byte & 0x7f) * 2 ** shift
      // Zero groups could go on forever without growing the value; 5 groups already hold 31 bits.
      if (value > MAX_INTEGER || (byte & 0x80 && shift >= 28)) {
        throw new HpackError('HPACK_INTEGER_OVERFLOW', `an integer exceeds ${MAX_INTEGER}`)
      }

      if ((byte & 0x80) === 0) return value
    }
  }

  /** The string literal whose first byte is at `pos`, as latin1 text. */
  string(what: string): string {
    if (this.pos >= this.end) throw new HpackError('HPACK_TRUNCATED', `the block ends before a ${what}`)
    const huffman = this.buf[this.pos] & 0x80
    const length = this.integer(7)
    if (length > this.end - this.pos) {
      throw new HpackError('HPACK_TRUNCATED', `a ${what} of ${length} bytes runs past the block's end`)
    }

    const start = this.pos
    this.pos += length
    return huffman ? huffmanDecode(this.buf, start, this.pos) : this.buf.toString('latin1', start, this.pos)
  }
}

/** Decodes a prefixed integer (§5.1) of `prefixBits` bits starting at `bytes[pos]`; returns it and the position after it. */
export function decodeInteger(bytes: Uint8Array, prefixBits: number, pos = 0): {end: number; value: number} {
  if (pos >= bytes.length) throw new HpackError('HPACK_TRUNCATED', 'no integer: the block ends')
  const reader = new BlockReader(bytes, pos)
  const value = reader.integer(prefixBits)
  return {end: reader.pos, value}
}

/** A prefixed integer (§5.1) of `prefixBits` bits, its first byte or-ed with `flags` (the representation's pattern). */
export function encodeInteger(value: number, prefixBits: number, flags = 0): Buffer {
  const out = Buffer.allocUnsafe(6)
  const end = writeInteger(out, 0, prefixBits, value)
  out[0] |= flags
  return out.subarray(0, end)
}

const NO_ENTRY: readonly [string, string] = ['', '']

/** Decodes the header blocks of one connection, in order (it keeps the dynamic table across blocks). */
export class HpackDecoder {
  // The dynamic table as a ring: the newest entry at `head`, older ones after it (mod capacity).
  // No entry is smaller than 32 bytes, so a table of at most maxTableSize holds maxTableSize/32.
  private readonly capacity: number
  private count = 0
  private head = 0
  private limit: number
  private readonly ring: Array<readonly [name: string, value: string]>
  private size = 0

  constructor(readonly maxTableSize = 4096) {
    if (!Number.isSafeInteger(maxTableSize) || maxTableSize < 0 || maxTableSize > MAX_INTEGER) {
      throw new RangeError(`maxTableSize must be an integer from 0 to ${MAX_INTEGER} (got ${maxTableSize})`)
    }

    this.limit = maxTableSize
    this.capacity = Math.max(1, Math.floor(maxTableSize / 32))
    // `new Array(n).fill()` makes the ring in well under a microsecond; Array.from({length: n}) takes ~10 us.
    // eslint-disable-next-line unicorn/no-new-array
    this.ring = new Array<readonly [string, string]>(this.capacity).fill(NO_ENTRY)
  }

  /** The dynamic table's entries, newest (index 62) first. */
  get entries(): Array<[name: string, value: string]> {
    const out: Array<[string, string]> = []
    for (let i = 0; i < this.count; i++) {
      const [name, value] = this.ring[(this.head + i) % this.capacity]
      out.push([name, value])
    }

    return out
  }

  /** The dynamic table's current maximum size, as last set by a size update (initially maxTableSize). */
  get tableLimit(): number {
    return this.limit
  }

  /** The dynamic table's size: the sum of its entries' sizes (name bytes + value bytes + 32). */
  get tableSize(): number {
    return this.size
  }

  /** The fields of one complete header block (HEADERS + CONTINUATION fragments joined), in order; throws HpackError. */
  decode(block: Uint8Array): Array<[name: string, value: string]> {
    const reader = new BlockReader(block)
    const fields: Array<[string, string]> = []
    while (reader.pos < reader.end) {
      const first = reader.buf[reader.pos]
      if (first & 0x80) {
        // Indexed header field (§6.1).
        const entry = this.field(reader.integer(7))
        fields.push([entry[0], entry[1]])
      } else if (first & 0x40 || (first & 0x20) === 0) {
        // Literal header field: with incremental indexing (§6.2.1), without indexing (§6.2.2) or never
        // indexed (§6.2.3).
        const indexing = (first & 0x40) !== 0
        const index = reader.integer(indexing ? 6 : 4)
        const name = index === 0 ? reader.string('field name') : this.field(index)[0]
        const value = reader.string('field value')
        fields.push([name, value])
        if (indexing) this.insert(name, value)
      } else {
        // Dynamic table size update (§6.3): only at the start of a block (§4.2).
        if (fields.length > 0) {
          throw new HpackError('HPACK_BAD_TABLE_SIZE', 'a dynamic table size update follows a header field')
        }

        const limit = reader.integer(5)
        if (limit > this.maxTableSize) {
          throw new HpackError(
            'HPACK_BAD_TABLE_SIZE',
            `a dynamic table size update to ${limit} exceeds the ${this.maxTableSize} this side allows`,
          )
        }

        this.limit = limit
        this.evict(0)
      }
    }

    return fields
  }

  /** Evicts the oldest entries until `room` more bytes fit within the limit (§4.3, §4.4). */
  private evict(room: number): void {
    while (this.count > 0 && this.size + room > this.limit) {
      const slot = (this.head + this.count - 1) % this.capacity
      const [name, value] = this.ring[slot]
      this.size -= name.length + value.length + 32
      this.ring[slot] = NO_ENTRY
      this.count--
    }
  }

  /** The field at an index of the combined static and dynamic table (§2.3.3). */
  private field(index: number): readonly [string, string] {
    if (index <= STATIC_COUNT) {
      if (index === 0) throw new HpackError('HPACK_BAD_INDEX', 'a field refers to index 0, which is no entry')
      return STATIC_TABLE[index - 1]
    }

    const i = index - STATIC_COUNT - 1
    if (i >= this.count) {
      throw new HpackError(
        'HPACK_BAD_INDEX',
        `index ${index} is past the table's end (61 static entries and ${this.count} dynamic ones)`,
      )
    }

    return this.ring[(this.head + i) % this.capacity]
  }

  /** Adds an entry as the newest, evicting to make room; an entry larger than the limit empties the table (§4.4). */
  private insert(name: string, value: string): void {
    const size = name.length + value.length + 32
    this.evict(size)
    if (size > this.limit) return
    this.head = (this.head + this.capacity - 1) % this.capacity
    this.ring[this.head] = [name, value]
    this.count++
    this.size += size
  }
}

// --------------------------------------------------------------------------------------- encoder

/** Each static name: its first index, and the index of each of its values. */
const STATIC_NAMES = new Map<string, {index: number; values: Map<string, number>}>()
for (const [i, [name, value]] of STATIC_TABLE.entries()) {
  let entry = STATIC_NAMES.get(name)
  if (entry === undefined) {
    entry = {index: i + 1, values: new Map()}
    STATIC_NAMES.set(name, entry)
  }

  entry.values.set(value, i + 1)
}

/** The number of bytes of a prefixed integer (§5.1). */
function integerLength(prefixBits: number, value: number): number {
  let rest = value - ((1 << prefixBits) - 1)
  if (rest < 0) return 1
  let length = 2
  while (rest >= 0x80) {
    rest >>>= 7
    length++
  }

  return length
}

/** Writes a prefixed integer (§5.1) at `pos`, the bits above the prefix zero; returns the new position. */
function writeInteger(out: Buffer, pos: number, prefixBits: number, value: number): number {
  const max = (1 << prefixBits) - 1
  if (value < max) {
    out[pos++] = value
    return pos
  }

  out[pos++] = max
  let rest = value - max
  while (rest >= 0x80) {
    out[pos++] = (rest & 0x7f) | 0x80
    rest >>>= 7
  }

  out[pos++] = rest
  return pos
}

/** Writes a string literal without Huffman coding (§5.2); returns the new position. */
function writeString(out: Buffer, pos: number, text: string): number {
  pos = writeInteger(out, pos, 7, text.length)
  // A loop beats Buffer#write (a call into C++) on the short strings headers are, and checks as it goes.
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    if (code > 0xff) {
      throw new RangeError(`header text ${JSON.stringify(text)} has a character above U+00FF: header bytes are latin1`)
    }

    out[pos++] = code
  }

  return pos
}

/**
 * A header block for the fields, in order: static-table indexed field when name and value match, else a literal WITHOUT indexing (with the static name index when the name matches), no Huffman, no dynamic table (so the encoder is stateless and any peer decodes it).
 * Names go out as given (HTTP/2 wants them lowercase); a character above U+00FF is a RangeError.
 */
export function encodeHeaders(fields: ReadonlyArray<readonly [string, string]>): Buffer {
  // Two passes, so that the block is allocated at its size (a subarray of a larger one costs more).
  let size = 0
  for (const [name, value] of fields) {
    const known = STATIC_NAMES.get(name)
    if (known === undefined) {
      size += 1 + integerLength(7, name.length) + name.length
    } else if (known.values.has(value)) {
      size += 1
      continue
    } else {
      size += integerLength(4, known.index)
    }

    size += integerLength(7, value.length) + value.length
  }

  const out = Buffer.allocUnsafe(size)
  let pos = 0
  for (const [name, value] of fields) {
    const known = STATIC_NAMES.get(name)
    if (known === undefined) {
      out[pos++] = 0
      pos = writeString(out, pos, name)
    } else {
      const index = known.values.get(value)
      if (index !== undefined) {
        out[pos++] = 0x80 | index
        continue
      }

      pos = writeInteger(out, pos, 4, known.index)
    }

    pos = writeString(out, pos, value)
  }

  return out
}
