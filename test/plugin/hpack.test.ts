// HPACK (src/plugin/hpack.ts): the examples of RFC 7541 Appendix C byte for byte (with the dynamic
// table after each block), the Huffman code against a plain bit-by-bit decode of it, the encoder's
// blocks back through the decoder, one malformed block per way a block can be malformed, and the
// header blocks a real peer (node:http2, which is nghttp2: Huffman strings and the dynamic table)
// sends to a raw TCP server that speaks just enough HTTP/2 to receive them.
import assert from 'node:assert/strict'
import * as http2 from 'node:http2'
import * as net from 'node:net'
import {describe, it} from 'node:test'

import {
  HUFFMAN_CODE,
  HpackDecoder,
  HpackError,
  type HpackErrorCode,
  STATIC_TABLE,
  decodeInteger,
  encodeHeaders,
  encodeInteger,
  huffmanDecode,
  huffmanEncode,
} from '../../src/plugin/hpack.js'

type Fields = Array<[string, string]>

const hex = (text: string) => Buffer.from(text.replaceAll(/\s+/g, ''), 'hex')

function refused(code: HpackErrorCode): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof HpackError, `expected an HpackError, got ${String(error)}`)
    assert.equal(error.code, code, error.message)
    return true
  }
}

/** Decodes a block and checks the fields, then the dynamic table (newest first) and its size. */
function step(decoder: HpackDecoder, block: string, fields: Fields, [table, size]: [Fields, number]): void {
  assert.deepEqual(decoder.decode(hex(block)), fields)
  assert.deepEqual(decoder.entries, table)
  assert.equal(decoder.tableSize, size)
  assert.equal(
    size,
    table.reduce((sum, [name, value]) => sum + name.length + value.length + 32, 0),
  )
}

// ------------------------------------------------------------------------------ Appendix C vectors

describe('RFC 7541 C.1: integers', () => {
  it('10 on a 5-bit prefix, 1337 on a 5-bit prefix, 42 on an 8-bit prefix', () => {
    assert.deepEqual(encodeInteger(10, 5, 0xe0), hex('ea'))
    assert.deepEqual(encodeInteger(1337, 5), hex('1f 9a 0a'))
    assert.deepEqual(encodeInteger(42, 8), hex('2a'))
    assert.deepEqual(decodeInteger(hex('ea'), 5), {end: 1, value: 10})
    assert.deepEqual(decodeInteger(hex('ff 9a 0a'), 5), {end: 3, value: 1337})
    assert.deepEqual(decodeInteger(hex('2a'), 8), {end: 1, value: 42})
  })

  it('round trips at every prefix length, across the one-byte boundary and up to 2^31 - 1', () => {
    for (let prefix = 1; prefix <= 8; prefix++) {
      const max = (1 << prefix) - 1
      for (const value of [0, 1, max - 1, max, max + 1, max + 127, max + 128, 1337, 2 ** 21, 2 ** 31 - 1]) {
        if (value < 0) continue
        const bytes = encodeInteger(value, prefix)
        assert.deepEqual(decodeInteger(bytes, prefix), {end: bytes.length, value}, `${value} on ${prefix} bits`)
      }
    }
  })
})

describe('RFC 7541 C.2: header field representations', () => {
  it('C.2.1 literal with indexing', () => {
    const d = new HpackDecoder()
    step(
      d,
      '400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572',
      [['custom-key', 'custom-header']],
      [[['custom-key', 'custom-header']], 55],
    )
  })

  it('C.2.2 literal without indexing', () => {
    step(new HpackDecoder(), '040c 2f73 616d 706c 652f 7061 7468', [[':path', '/sample/path']], [[], 0])
  })

  it('C.2.3 literal never indexed', () => {
    step(new HpackDecoder(), '1008 7061 7373 776f 7264 0673 6563 7265 74', [['password', 'secret']], [[], 0])
  })

  it('C.2.4 indexed field', () => {
    step(new HpackDecoder(), '82', [[':method', 'GET']], [[], 0])
  })
})

const REQUESTS: Fields[] = [
  [
    [':method', 'GET'],
    [':scheme', 'http'],
    [':path', '/'],
    [':authority', 'www.example.com'],
  ],
  [
    [':method', 'GET'],
    [':scheme', 'http'],
    [':path', '/'],
    [':authority', 'www.example.com'],
    ['cache-control', 'no-cache'],
  ],
  [
    [':method', 'GET'],
    [':scheme', 'https'],
    [':path', '/index.html'],
    [':authority', 'www.example.com'],
    ['custom-key', 'custom-value'],
  ],
]
const REQUEST_TABLES: Array<[Fields, number]> = [
  [[[':authority', 'www.example.com']], 57],
  [
    [
      ['cache-control', 'no-cache'],
      [':authority', 'www.example.com'],
    ],
    110,
  ],
  [
    [
      ['custom-key', 'custom-value'],
      ['cache-control', 'no-cache'],
      [':authority', 'www.example.com'],
    ],
    164,
  ],
]

describe('RFC 7541 C.3 and C.4: requests on one connection', () => {
  it('C.3 without Huffman coding', () => {
    const d = new HpackDecoder()
    const blocks = [
      '8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d',
      '8286 84be 5808 6e6f 2d63 6163 6865',
      '8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65',
    ]
    for (const [i, block] of blocks.entries()) step(d, block, REQUESTS[i], REQUEST_TABLES[i])
  })

  it('C.4 with Huffman coding', () => {
    const d = new HpackDecoder()
    const blocks = [
      '8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff',
      '8286 84be 5886 a8eb 1064 9cbf',
      '8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf',
    ]
    for (const [i, block] of blocks.entries()) step(d, block, REQUESTS[i], REQUEST_TABLES[i])
  })
})

const DATE1 = 'Mon, 21 Oct 2013 20:13:21 GMT'
const DATE2 = 'Mon, 21 Oct 2013 20:13:22 GMT'
const LOCATION = 'https://www.example.com'
const COOKIE = 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1'
const RESPONSES: Fields[] = [
  [
    [':status', '302'],
    ['cache-control', 'private'],
    ['date', DATE1],
    ['location', LOCATION],
  ],
  [
    [':status', '307'],
    ['cache-control', 'private'],
    ['date', DATE1],
    ['location', LOCATION],
  ],
  [
    [':status', '200'],
    ['cache-control', 'private'],
    ['date', DATE2],
    ['location', LOCATION],
    ['content-encoding', 'gzip'],
    ['set-cookie', COOKIE],
  ],
]
const RESPONSE_TABLES: Array<[Fields, number]> = [
  [
    [
      ['location', LOCATION],
      ['date', DATE1],
      ['cache-control', 'private'],
      [':status', '302'],
    ],
    222,
  ],
  [
    [
      [':status', '307'],
      ['location', LOCATION],
      ['date', DATE1],
      ['cache-control', 'private'],
    ],
    222,
  ],
  [
    [
      ['set-cookie', COOKIE],
      ['content-encoding', 'gzip'],
      ['date', DATE2],
    ],
    215,
  ],
]

describe('RFC 7541 C.5 and C.6: responses with a 256-byte table (evictions)', () => {
  it('C.5 without Huffman coding', () => {
    const d = new HpackDecoder(256)
    const blocks = [
      `4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133
       2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70
       6c65 2e63 6f6d`,
      '4803 3330 37c1 c0bf',
      `88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d
       54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049
       5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e
       3d31`,
    ]
    for (const [i, block] of blocks.entries()) step(d, block, RESPONSES[i], RESPONSE_TABLES[i])
  })

  it('C.6 with Huffman coding', () => {
    const d = new HpackDecoder(256)
    const blocks = [
      `4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6
       2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3`,
      '4883 640e ffc1 c0bf',
      `88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab
       77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f
       9587 3160 65c0 03ed 4ee5 b106 3d50 07`,
    ]
    for (const [i, block] of blocks.entries()) step(d, block, RESPONSES[i], RESPONSE_TABLES[i])
  })
})

// --------------------------------------------------------------------------------- Huffman code

/** The plain decoder the table-driven one must agree with: walk the code one bit at a time. */
function plainHuffmanDecode(bytes: Uint8Array): null | string {
  const symbols = new Map(HUFFMAN_CODE.map(([code, bits], symbol) => [`${bits}:${code}`, symbol]))
  let text = ''
  let code = 0
  let bits = 0
  for (const byte of bytes) {
    for (let i = 7; i >= 0; i--) {
      code = code * 2 + ((byte >> i) & 1)
      bits++
      const symbol = symbols.get(`${bits}:${code}`)
      if (symbol === 256) return null
      if (symbol !== undefined) {
        text += String.fromCharCode(symbol)
        code = 0
        bits = 0
      }
    }
  }

  return bits <= 7 && code === 2 ** bits - 1 ? text : null
}

function fsmHuffmanDecode(bytes: Uint8Array): null | string {
  try {
    return huffmanDecode(bytes)
  } catch (error) {
    assert.ok(error instanceof HpackError && error.code === 'HPACK_BAD_HUFFMAN')
    return null
  }
}

/** A deterministic pseudo-random generator (xorshift32), so a failure reproduces. */
function random(seed: number): () => number {
  let x = seed
  return () => {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    return (x >>> 0) / 2 ** 32
  }
}

describe('Huffman code (RFC 7541 Appendix B)', () => {
  it('is the canonical, complete code of 257 symbols the RFC prints', () => {
    assert.equal(HUFFMAN_CODE.length, 257)
    // Complete: the code lengths fill the code space exactly (Kraft sum 1).
    assert.equal(
      HUFFMAN_CODE.reduce((sum, [, bits]) => sum + 2 ** (30 - bits), 0),
      2 ** 30,
    )
    // Canonical: ordered by (length, symbol), each code is the previous one plus one, shifted to its length.
    const order = [...HUFFMAN_CODE.keys()].sort((a, b) => HUFFMAN_CODE[a][1] - HUFFMAN_CODE[b][1] || a - b)
    let next = 0
    let length = HUFFMAN_CODE[order[0]][1]
    for (const symbol of order) {
      const [code, bits] = HUFFMAN_CODE[symbol]
      next *= 2 ** (bits - length)
      length = bits
      assert.equal(code, next, `symbol ${symbol}`)
      next++
    }

    // A few rows as printed.
    assert.deepEqual(HUFFMAN_CODE[47], [0x18, 6])
    assert.deepEqual(HUFFMAN_CODE[0], [0x1ff8, 13])
    assert.deepEqual(HUFFMAN_CODE[255], [0x3ffffee, 26])
    assert.deepEqual(HUFFMAN_CODE[256], [0x3fffffff, 30])
  })

  it('the table-driven decoder agrees with a bit-by-bit decode, on valid and random input', () => {
    const next = random(7)
    const every = String.fromCharCode(...Array.from({length: 256}, (_, i) => i))
    assert.equal(fsmHuffmanDecode(huffmanEncode(every)), every)
    assert.equal(plainHuffmanDecode(huffmanEncode(every)), every)
    for (let round = 0; round < 2000; round++) {
      const text = String.fromCharCode(...Array.from({length: Math.floor(next() * 40)}, () => Math.floor(next() * 256)))
      const coded = huffmanEncode(text)
      assert.equal(fsmHuffmanDecode(coded), text)
      assert.equal(plainHuffmanDecode(coded), text)
      // Random bytes: mostly ones, as long codes and EOS are all ones at the start.
      const noise = Uint8Array.from({length: Math.floor(next() * 12)}, () =>
        next() < 0.5 ? 0xff : Math.floor(next() * 256),
      )
      assert.equal(fsmHuffmanDecode(noise), plainHuffmanDecode(noise), Buffer.from(noise).toString('hex'))
    }
  })

  it('decodes strings of any length, the long ones past its reusable buffer included', () => {
    const next = random(3)
    for (const length of [40_000, 45_000, 200_000, 10]) {
      const text = Buffer.from(Array.from({length}, () => Math.floor(next() * 256))).toString('latin1')
      assert.equal(huffmanDecode(huffmanEncode(text)), text)
    }

    assert.throws(() => huffmanEncode('\u0100'), RangeError)
  })

  it('refuses EOS in a string, padding longer than 7 bits, and padding that is not all ones', () => {
    // EOS (30 ones) then 2 bits of padding.
    assert.throws(() => huffmanDecode(hex('ffff ffff')), refused('HPACK_BAD_HUFFMAN'))
    // 'a' (00011) then 11 ones: padding of more than 7 bits.
    assert.throws(() => huffmanDecode(hex('1fff')), refused('HPACK_BAD_HUFFMAN'))
    // 'a' (00011) then 000: padding that is not ones.
    assert.throws(() => huffmanDecode(hex('18')), refused('HPACK_BAD_HUFFMAN'))
    // 'a' then 111: right.
    assert.equal(huffmanDecode(hex('1f')), 'a')
    // Exactly a byte of ones after a whole symbol ('0', 00000, then 111 and 11111111): too long.
    assert.throws(() => huffmanDecode(hex('07ff')), refused('HPACK_BAD_HUFFMAN'))
    assert.equal(huffmanDecode(new Uint8Array(0)), '')
  })
})

// --------------------------------------------------------------------------------------- decoder

describe('HpackDecoder: the dynamic table', () => {
  it('a size update to 0 empties the table; a later one restores room, up to the maximum', () => {
    const d = new HpackDecoder()
    d.decode(hex('400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572'))
    assert.equal(d.tableSize, 55)
    assert.deepEqual(d.decode(hex('20 82')), [[':method', 'GET']])
    assert.equal(d.tableSize, 0)
    assert.deepEqual(d.entries, [])
    assert.equal(d.tableLimit, 0)
    // With a limit of 0 nothing is added.
    d.decode(hex('4001 61 0162'))
    assert.equal(d.tableSize, 0)
    assert.throws(() => d.decode(hex('be')), refused('HPACK_BAD_INDEX'))
    // Two updates at the start of a block (§4.2): the last one is the limit.
    d.decode(hex('20 3f e1 1f 4001 61 0162'))
    assert.equal(d.tableLimit, 4096)
    assert.deepEqual(d.entries, [['a', 'b']])
    assert.deepEqual(d.decode(hex('be')), [['a', 'b']])
  })

  it('a smaller limit evicts the oldest entries; an entry larger than the limit empties the table', () => {
    const d = new HpackDecoder(256)
    // Three entries of 34 bytes (1-byte name, 1-byte value).
    d.decode(hex('4001 61 0131 4001 62 0132 4001 63 0133'))
    assert.deepEqual(d.entries, [
      ['c', '3'],
      ['b', '2'],
      ['a', '1'],
    ])
    assert.deepEqual(d.decode(hex('3f 25 be bf')), [
      ['c', '3'],
      ['b', '2'],
    ])
    assert.equal(d.tableLimit, 68)
    assert.equal(d.tableSize, 68)
    assert.throws(() => d.decode(hex('c0')), refused('HPACK_BAD_INDEX'))
    // A 69-byte entry does not fit in 68: everything goes, nothing is added.
    d.decode(Buffer.concat([hex('4001 64 24'), Buffer.alloc(36, 0x25)]))
    assert.deepEqual(d.entries, [])
    assert.equal(d.tableSize, 0)
  })

  it('keeps every entry it can hold, evicting one at a time, over many blocks', () => {
    const d = new HpackDecoder(4096)
    const plain: Fields = []
    for (let i = 0; i < 500; i++) {
      const name = `x-${i}`
      const value = 'v'.repeat(i % 97)
      // Literal with incremental indexing, new name.
      const block = Buffer.concat([
        hex('40'),
        encodeInteger(name.length, 7),
        Buffer.from(name),
        encodeInteger(value.length, 7),
        Buffer.from(value),
      ])
      assert.deepEqual(d.decode(block), [[name, value]])
      plain.unshift([name, value])
      let size = plain.reduce((sum, [n, v]) => sum + n.length + v.length + 32, 0)
      while (size > 4096) {
        const [n, v] = plain.pop()!
        size -= n.length + v.length + 32
      }

      assert.equal(d.tableSize, size)
      // The oldest entry still held is addressable, and its neighbour beyond is not.
      const last = 61 + plain.length
      assert.deepEqual(d.decode(encodeInteger(last, 7, 0x80)), [plain.at(-1)])
      assert.throws(() => d.decode(encodeInteger(last + 1, 7, 0x80)), refused('HPACK_BAD_INDEX'))
    }

    assert.deepEqual(d.entries, plain)
  })

  it('literal names by dynamic index, never-indexed literals, and the name of a field is kept as sent', () => {
    const d = new HpackDecoder()
    d.decode(hex('4003 582d 41 0176'))
    assert.deepEqual(d.decode(hex('1f 2f 0177 0f 2f 0178 7e 0179')), [
      ['X-A', 'w'],
      ['X-A', 'x'],
      ['X-A', 'y'],
    ])
    assert.deepEqual(d.entries, [
      ['X-A', 'y'],
      ['X-A', 'v'],
    ])
  })
})

describe('HpackDecoder: malformed blocks are refused with HpackError', () => {
  const cases: Array<[string, string, HpackErrorCode]> = [
    ['indexed field with index 0', '80', 'HPACK_BAD_INDEX'],
    ['indexed field past the static table with an empty dynamic table', 'be', 'HPACK_BAD_INDEX'],
    ['indexed field with a large index', 'ff ff 7f', 'HPACK_BAD_INDEX'],
    ['literal whose indexed name is past the table', '7f 00 0161', 'HPACK_BAD_INDEX'],
    ['never-indexed literal whose indexed name is past the table', '1f 2f 0161', 'HPACK_BAD_INDEX'],
    ['integer cut short', 'ff', 'HPACK_TRUNCATED'],
    ['integer cut short after a continuation byte', 'ff 80', 'HPACK_TRUNCATED'],
    ['literal without its name', '40', 'HPACK_TRUNCATED'],
    ['literal without its value', '4001 61', 'HPACK_TRUNCATED'],
    ['value longer than the rest of the block', '4001 61 0561 62', 'HPACK_TRUNCATED'],
    ['Huffman value longer than the rest of the block', '04 85 1f', 'HPACK_TRUNCATED'],
    ['name length past the block', '00 7f ff ff 03', 'HPACK_TRUNCATED'],
    ['integer above 2^31 - 1', 'ff ff ff ff ff 0f', 'HPACK_INTEGER_OVERFLOW'],
    ['integer of endless zero groups', 'ff 80 80 80 80 80 80 80 00', 'HPACK_INTEGER_OVERFLOW'],
    ['string length above 2^31 - 1', '00 7f ff ff ff ff 0f', 'HPACK_INTEGER_OVERFLOW'],
    ['size update above the maximum', '3f e2 1f', 'HPACK_BAD_TABLE_SIZE'],
    ['size update after a field', '82 20', 'HPACK_BAD_TABLE_SIZE'],
    ['Huffman value holding EOS', '04 84 ffff ffff', 'HPACK_BAD_HUFFMAN'],
    ['Huffman value padded with more than 7 bits', '04 82 1fff', 'HPACK_BAD_HUFFMAN'],
    ['Huffman value padded with zeros', '04 81 18', 'HPACK_BAD_HUFFMAN'],
    ['Huffman name holding EOS', '00 84 ffff ffff 0161', 'HPACK_BAD_HUFFMAN'],
  ]
  for (const [what, block, code] of cases) {
    it(what, () => {
      assert.throws(() => new HpackDecoder().decode(hex(block)), refused(code))
    })
  }

  it('the one size update allowed at 4096 is accepted (the boundary of the case above)', () => {
    assert.deepEqual(new HpackDecoder().decode(hex('3f e1 1f')), [])
    assert.throws(() => new HpackDecoder(4095).decode(hex('3f e1 1f')), refused('HPACK_BAD_TABLE_SIZE'))
  })

  it('decodes a view into a larger buffer without reading outside it', () => {
    const backing = hex('ff 82 86 ff')
    assert.deepEqual(new HpackDecoder().decode(new Uint8Array(backing.buffer, backing.byteOffset + 1, 2)), [
      [':method', 'GET'],
      [':scheme', 'http'],
    ])
    assert.throws(
      () => new HpackDecoder().decode(new Uint8Array(backing.buffer, backing.byteOffset + 1, 3)),
      refused('HPACK_TRUNCATED'),
    )
  })

  it('refuses a table size it cannot hold', () => {
    assert.throws(() => new HpackDecoder(-1), RangeError)
    assert.throws(() => new HpackDecoder(1.5), RangeError)
  })
})

// --------------------------------------------------------------------------------------- encoder

describe('encodeHeaders', () => {
  it('indexes exact static matches, names static names, and writes other names as literals', () => {
    assert.deepEqual(
      encodeHeaders([
        [':method', 'POST'],
        [':scheme', 'http'],
        [':status', '200'],
        [':path', '/vm.VM/Initialize'],
        ['content-type', 'application/grpc'],
        ['te', 'trailers'],
        ['www-authenticate', ''],
      ]),
      Buffer.concat([
        hex('83 86 88'),
        hex('04 11'),
        Buffer.from('/vm.VM/Initialize'),
        hex('0f 10 10'),
        Buffer.from('application/grpc'),
        hex('00 02'),
        Buffer.from('te'),
        hex('08'),
        Buffer.from('trailers'),
        hex('bd'),
      ]),
    )
    assert.deepEqual(encodeHeaders([]), Buffer.alloc(0))
  })

  it('round trips through a decoder, which keeps no entry (the encoder never indexes)', () => {
    const next = random(11)
    const d = new HpackDecoder()
    for (let round = 0; round < 300; round++) {
      const fields: Fields = Array.from({length: Math.floor(next() * 12)}, () => {
        if (next() < 0.3) {
          const [name, value] = STATIC_TABLE[Math.floor(next() * STATIC_TABLE.length)]
          return [name, next() < 0.5 ? value : `${value}x`]
        }

        const length = next() < 0.1 ? 200 + Math.floor(next() * 20_000) : Math.floor(next() * 30)
        const value = String.fromCharCode(...Array.from({length}, () => Math.floor(next() * 256)))
        return [`x-name-${Math.floor(next() * 1000)}`, value]
      })
      assert.deepEqual(d.decode(encodeHeaders(fields)), fields)
      assert.equal(d.tableSize, 0)
    }
  })

  it('sizes its block exactly at every integer boundary (lengths and static name indices)', () => {
    const d = new HpackDecoder()
    for (const length of [1, 126, 127, 128, 129, 254, 255, 256, 16_510, 16_511, 16_512, 70_000]) {
      for (const [name, index] of [
        [':status', 14],
        ['accept-charset', 15],
        ['www-authenticate', 61],
        ['x'.repeat(length), 0],
      ] as const) {
        const fields: Fields = [[name, 'v'.repeat(length)]]
        const block = encodeHeaders(fields)
        const nameLength = index === 0 ? encodeInteger(length, 7).length + length + 1 : index < 15 ? 1 : 2
        assert.equal(block.length, nameLength + encodeInteger(length, 7).length + length, `${name}: ${length}`)
        assert.deepEqual(d.decode(block), fields)
      }
    }
  })

  it('refuses text that is not latin1 rather than mangling it', () => {
    assert.throws(() => encodeHeaders([['x-name', 'caf\u00E9 \u65E5']]), RangeError)
    assert.deepEqual(new HpackDecoder().decode(encodeHeaders([['x-name', 'caf\u00E9']])), [['x-name', 'caf\u00E9']])
  })
})

// ------------------------------------------------------------------------ against nghttp2 (node:http2)

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1')
const SETTINGS = hex('000000 04 00 00000000')
const SETTINGS_ACK = hex('000000 04 01 00000000')

type Block = {block: Buffer; flags: number; streamId: number}

/**
 * Accepts one HTTP/2 connection on 127.0.0.1 and collects its first `count` header blocks, each the
 * HEADERS fragment (padding and priority stripped) joined with its CONTINUATION fragments. It sends
 * only an empty SETTINGS frame and the ACK of the client's SETTINGS: it never answers a request.
 */
async function collectBlocks(
  count: number,
  options: http2.ClientSessionOptions,
  makeRequests: (session: http2.ClientHttp2Session) => void,
): Promise<{authority: string; blocks: Block[]}> {
  const blocks: Block[] = []
  let client: http2.ClientHttp2Session | undefined
  const server = net.createServer()
  try {
    const done = new Promise<void>((resolve, reject) => {
      server.on('connection', (socket) => {
        socket.on('error', reject)
        socket.write(SETTINGS)
        let input = Buffer.alloc(0)
        let prefaceSeen = false
        let open: Block | undefined // a header block waiting for CONTINUATION
        socket.on('data', (chunk: Buffer) => {
          input = Buffer.concat([input, chunk])
          if (!prefaceSeen) {
            if (input.length < PREFACE.length) return
            assert.deepEqual(input.subarray(0, PREFACE.length), PREFACE)
            input = input.subarray(PREFACE.length)
            prefaceSeen = true
          }

          while (input.length >= 9) {
            const length = input.readUIntBE(0, 3)
            if (input.length < 9 + length) break
            const type = input[3]
            const flags = input[4]
            const streamId = input.readUInt32BE(5) & 0x7f_ff_ff_ff
            let payload = input.subarray(9, 9 + length)
            input = input.subarray(9 + length)
            if (type === 4 && (flags & 0x1) === 0) socket.write(SETTINGS_ACK)
            if (type === 1) {
              assert.equal(open, undefined, 'HEADERS while a header block is open')
              if (flags & 0x8) payload = payload.subarray(1, payload.length - payload[0])
              if (flags & 0x20) payload = payload.subarray(5)
              open = {block: Buffer.from(payload), flags, streamId}
            } else if (type === 9) {
              assert.ok(open && open.streamId === streamId, 'CONTINUATION without its HEADERS')
              open.block = Buffer.concat([open.block, payload])
            } else {
              assert.equal(open, undefined, `frame type ${type} inside a header block`)
              continue
            }

            if (flags & 0x4) {
              blocks.push(open)
              open = undefined
              if (blocks.length === count) resolve()
            }
          }
        })
      })
    })
    await new Promise<void>((resolve) => {
      server.listen(0, '127.0.0.1', resolve)
    })
    const {port} = server.address() as net.AddressInfo
    client = http2.connect(`http://127.0.0.1:${port}`, options)
    client.on('error', () => {})
    makeRequests(client)
    await done
    return {authority: `127.0.0.1:${port}`, blocks}
  } finally {
    client?.destroy()
    server.close()
  }
}

const fill = (i: number) => `fill-${i}-${'abcdefghijklmnopqrstuvwxyz0123456789'.repeat(3)}`

describe('HpackDecoder against nghttp2 (node:http2 client, raw TCP server)', () => {
  const printable = String.fromCharCode(...Array.from({length: 95}, (_, i) => 0x20 + i))
  // Requests: [method, path, headers (ordinary fields, in order), sensitive names].
  const requests: Array<[string, string, Fields, string[]]> = [
    [
      'POST',
      '/vm.VM/Initialize',
      [
        ['content-type', 'application/grpc'],
        ['te', 'trailers'],
        ['grpc-timeout', '100m'],
        ['user-agent', 'grpc-go/1.64.0'],
      ],
      [],
    ],
    // The same again: nghttp2 sends the fields as dynamic-table indices.
    [
      'POST',
      '/vm.VM/Initialize',
      [
        ['content-type', 'application/grpc'],
        ['te', 'trailers'],
        ['grpc-timeout', '100m'],
        ['user-agent', 'grpc-go/1.64.0'],
      ],
      [],
    ],
    [
      'GET',
      '/a/b?c=d&e=%20',
      [
        ['authorization', 'Bearer abc.def.ghi'],
        ['x-odd', `${printable}\t${printable}`],
        ["x-!#$%&'*+-.^_`|~09", 'name of every token character'],
        ['x-empty', ''],
        ['x-tab', 'a\tb'],
      ],
      [],
    ],
    ['POST', '/vm.VM/BuildBlock', [['x-secret', 'never index me']], ['x-secret']],
    // Long values: one above the table's size (never indexed), one that needs CONTINUATION frames.
    [
      'POST',
      '/vm.VM/ParseBlock',
      [
        ['x-long', printable.repeat(60)],
        ['x-longer', `${'0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'.repeat(700)}<{\\`],
      ],
      [],
    ],
    // Forty distinct 140-byte fields: more than 4096 bytes, so the table evicts.
    ['GET', '/fill', Array.from({length: 40}, (_, i): [string, string] => [`x-fill-${i}`, fill(i)]), []],
    // Some of them again, old (evicted) and recent (still held), and the first request's fields.
    [
      'POST',
      '/vm.VM/Initialize',
      [
        ['x-fill-0', fill(0)],
        ['x-fill-39', fill(39)],
        ['x-fill-38', fill(38)],
        ['content-type', 'application/grpc'],
        ['x-fill-1', fill(1)],
      ],
      [],
    ],
    ['GET', '/', [['x-secret', 'never index me']], ['x-secret']],
  ]

  // The same requests plainly, with HEADERS frames padded (PADDED), and with a priority in them (PRIORITY).
  const variants: Array<[string, http2.ClientSessionOptions, http2.ClientSessionRequestOptions, number]> = [
    ['plain HEADERS', {}, {}, 0],
    ['padded HEADERS', {paddingStrategy: http2.constants.PADDING_STRATEGY_MAX}, {}, 0x8],
    ['HEADERS with a priority', {}, {exclusive: true, weight: 200}, 0x20],
  ]
  for (const [variant, sessionOptions, requestOptions, flag] of variants) {
    it(`decodes every header block of ${requests.length} requests on one connection (${variant})`, async () => {
      const {authority, blocks} = await collectBlocks(requests.length, sessionOptions, (session) => {
        for (const [method, path, fields, sensitive] of requests) {
          const headers: http2.OutgoingHttpHeaders = {':method': method, ':path': path}
          for (const [name, value] of fields) headers[name] = value
          if (sensitive.length > 0) (headers as Record<symbol, unknown>)[http2.sensitiveHeaders] = sensitive
          const stream = session.request(headers, {...requestOptions, endStream: true})
          stream.on('error', () => {})
        }
      })
      if (flag)
        assert.ok(
          blocks.some((block) => block.flags & flag),
          `no HEADERS frame had flag ${flag}`,
        )
      const decoder = new HpackDecoder()
      for (const [i, {block, streamId}] of blocks.entries()) {
        assert.equal(streamId, 2 * i + 1)
        const decoded = decoder.decode(block)
        const [method, path, fields] = requests[i]
        const pseudo = decoded.filter(([name]) => name.startsWith(':'))
        assert.deepEqual(
          pseudo.sort(([a], [b]) => a.localeCompare(b)),
          [
            [':authority', authority],
            [':method', method],
            [':path', path],
            [':scheme', 'http'],
          ],
          `request ${i}`,
        )
        assert.deepEqual(
          decoded.filter(([name]) => !name.startsWith(':')),
          fields,
          `request ${i}`,
        )
      }

      // The peer did use the dynamic table: the repeated request is a fraction of the first.
      assert.ok(
        blocks[1].block.length * 3 < blocks[0].block.length,
        `${blocks[1].block.length} vs ${blocks[0].block.length}`,
      )
      assert.ok(decoder.tableSize > 0 && decoder.tableSize <= 4096)
      // The CONTINUATION case did arise: a block above the 16384-byte frame size.
      assert.ok(blocks[4].block.length > 16_384)
    })
  }
})
