import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {base58} from '@scure/base'
import fc from 'fast-check'

import {
  base58Encode,
  cb58Decode,
  cb58Encode,
  EMPTY_ID,
  fromHex,
  hexDecode,
  hexEncode,
  hexNCEncode,
  idFromString,
  idToString,
  parsePayload,
  toHex,
} from '../../src/vm/encoding.js'
import {TsvmError} from '../../src/vm/errors.js'
import {errorCode} from '../helpers/errors.js'

const seq = (from: number, to: number) => Uint8Array.from({length: to - from + 1}, (_, i) => from + i)

// spec §2.4, from avalanchego's encoding_test.go and cb58_test.go
const VECTORS: Array<[Uint8Array, string, string]> = [
  [new Uint8Array(0), '45PJLL', '0x7852b855'],
  [Uint8Array.of(0), '1c7hwa', '0x0017afa01d'],
  [fromHex('00010203040506070809ff'), '1NVSVezva3bAtJesnUj', '0x00010203040506070809ff4482539c'],
  [
    seq(1, 32),
    'SkB92YpWm4Q2ijQHH34cqbKkCZWszsiQgHVjtNeFF2HdvDQU',
    '0x0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20b7a612c9',
  ],
  [
    new Uint8Array(32),
    '11111111111111111111111111111111LpoYY',
    '0x00000000000000000000000000000000000000000000000000000000000000000d5f2925',
  ],
  [
    fromHex('01020304' + '00'.repeat(28)),
    'SkB92DD9M2yeCadw22VbnxfV6b7W5YEnnLRs6fKivk6wh2Zy',
    '0x01020304000000000000000000000000000000000000000000000000000000003f004e9c',
  ],
  [
    fromHex('9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08'),
    cb58Encode(fromHex('9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08')),
    '0x9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08e82209f4',
  ],
]

describe('CB58 and hex known-answer vectors (spec §2.4)', () => {
  for (const [bytes, cb58, hex] of VECTORS) {
    it(`${toHex(bytes) || '(empty)'}`, () => {
      assert.equal(cb58Encode(bytes), cb58)
      assert.deepEqual(cb58Decode(cb58), bytes)
      assert.equal(hexEncode(bytes), hex)
      assert.deepEqual(hexDecode(hex), bytes)
    })
  }

  it('avalanchejs vectors', () => {
    assert.equal(cb58Encode(fromHex('00112233445566778899aabbccddeeff')), '148vjpuxYXixb8DcbaWyeDE2fEG')
    assert.equal(
      cb58Encode(fromHex('00fe7bd0e0032b8d2c1156841fa0601456aaac8f3c0ef16d8c')),
      '13cp39pSRSMbaxjaXZfFLXuiiK4FHDBQRBm35ab2',
    )
    assert.equal(
      cb58Encode(fromHex('008b46d254a083d10ce3f12f5e9543ba731f21f2a96feb2a60')),
      '12S5vHShaePQQAXjmjLC87s1Kxi9uM6YEkS2K5Hh',
    )
    assert.equal(cb58Decode('isGvtnDqETNmmFw7guSJ7mmWhCqboExrpmC8VsWxckHcH9oXb').length, 32)
    assert.equal(toHex(cb58Decode('isGvtnDqETNmmFw7guSJ7mmWhCqboExrpmC8VsWxckHcH9oXb')).slice(0, 8), '5f104ead')
  })

  it('ID vectors', () => {
    assert.equal(idToString(EMPTY_ID), '11111111111111111111111111111111LpoYY')
    const id24 = new Uint8Array(32)
    id24[0] = 24
    assert.equal(idToString(id24), 'Ba3mm8Ra8JYYebeZ9p7zw1ayorDbeD1euwxhgzSLsncKqGoNt')
    const ava = new Uint8Array(32)
    ava.set(new TextEncoder().encode('ava labs'))
    assert.equal(idToString(ava), 'jvYi6Tn9idMi7BaymUVi9zWjg5tpmW7trfKG1AYJLKZJ2fsU7')
  })
})

describe('decoding errors', () => {
  it('rejects the invalid hex vectors of avalanchego', () => {
    assert.equal(
      errorCode(() => hexDecode('0')),
      'HEX_MISSING_PREFIX',
    )
    assert.equal(
      errorCode(() => hexDecode('x')),
      'HEX_MISSING_PREFIX',
    )
    assert.equal(
      errorCode(() => hexDecode('0xg')),
      'HEX_INVALID',
    )
    assert.equal(
      errorCode(() => hexDecode('0x0017afa0Zd')),
      'HEX_INVALID',
    )
    assert.equal(
      errorCode(() => hexDecode('0xafafafafaf')),
      'HEX_BAD_CHECKSUM',
    )
    assert.equal(
      errorCode(() => hexDecode('0x0017')),
      'HEX_TOO_SHORT',
    )
  })

  it('hex digits of either case decode', () => {
    assert.deepEqual(hexDecode('0x0017AFA01D'), Uint8Array.of(0))
  })

  it('CB58: empty, bad character, too short, bad checksum', () => {
    assert.equal(
      errorCode(() => cb58Decode('')),
      'CB58_EMPTY',
    )
    assert.equal(
      errorCode(() => cb58Decode('0abc')),
      'CB58_BAD_CHAR',
    )
    assert.equal(
      errorCode(() => cb58Decode('1c7hwa\n')),
      'CB58_BAD_CHAR',
    )
    assert.equal(
      errorCode(() => cb58Decode('abc')),
      'CB58_TOO_SHORT',
    )
    assert.equal(
      errorCode(() => cb58Decode('1c7hwb')),
      'CB58_BAD_CHECKSUM',
    )
  })

  it('IDs must be 32 bytes and valid CB58', () => {
    assert.equal(
      errorCode(() => idFromString('')),
      'CB58_EMPTY',
    )
    assert.equal(
      errorCode(() => idFromString('foo')),
      'CB58_TOO_SHORT',
    )
    assert.equal(
      errorCode(() => idFromString('foobar')),
      'CB58_BAD_CHECKSUM',
    )
    assert.equal(
      errorCode(() => idFromString('1c7hwa')),
      'BAD_LENGTH',
    )
  })
})

describe('payload parsing', () => {
  const hash = '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08'
  const bytes = fromHex(hash)
  it('accepts hex with and without 0x, checksummed hex and CB58', () => {
    assert.deepEqual(parsePayload(hash), {data: bytes, format: 'hex'})
    assert.deepEqual(parsePayload('0x' + hash), {data: bytes, format: 'hex'})
    assert.deepEqual(parsePayload(hash.toUpperCase()).data, bytes)
    assert.deepEqual(parsePayload(hexEncode(bytes)), {data: bytes, format: 'hex-checksum'})
    assert.deepEqual(parsePayload(cb58Encode(bytes)), {data: bytes, format: 'cb58'})
  })
  it('rejects wrong lengths and garbage with distinct codes', () => {
    assert.equal(
      errorCode(() => parsePayload(hash.slice(2))),
      'PAYLOAD_INVALID',
    )
    assert.equal(
      errorCode(() => parsePayload(hash + '00')),
      'PAYLOAD_INVALID',
    )
    assert.equal(
      errorCode(() => parsePayload(cb58Encode(bytes.subarray(1)))),
      'BAD_LENGTH',
    )
    assert.equal(
      errorCode(() => parsePayload('0x' + hash + '00000000')),
      'HEX_BAD_CHECKSUM',
    )
    assert.equal(
      errorCode(() => parsePayload('not a hash!')),
      'CB58_BAD_CHAR',
    )
  })
})

describe('round trips on random bytes', () => {
  it('CB58, hex and hexnc', () => {
    fc.assert(
      fc.property(fc.uint8Array({maxLength: 100}), (b) => {
        assert.deepEqual(cb58Decode(cb58Encode(b)), b)
        assert.deepEqual(hexDecode(hexEncode(b)), b)
        assert.deepEqual(hexDecode(hexNCEncode(b), {checksum: false}), b)
        assert.deepEqual(fromHex(toHex(b)), b)
      }),
      {seed: 42, numRuns: 500},
    )
  })
  it('base58Encode matches @scure/base, leading zero bytes included', () => {
    const zeroLed = fc.tuple(fc.nat({max: 6}), fc.uint8Array({maxLength: 100})).map(([z, b]) => {
      const out = new Uint8Array(z + b.length)
      out.set(b, z)
      return out
    })
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({maxLength: 100}), zeroLed), (b) => {
        assert.equal(base58Encode(b), base58.encode(b))
      }),
      {seed: 58, numRuns: 3000},
    )
    for (const b of [
      new Uint8Array(0),
      new Uint8Array(36),
      new Uint8Array(36).fill(255),
      new Uint8Array(200).fill(255),
    ]) {
      assert.equal(base58Encode(b), base58.encode(b))
    }
  })
  it('a flipped character never decodes to the same bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({minLength: 1, maxLength: 40}), fc.nat(), (b, n) => {
        const s = hexEncode(b)
        const i = 2 + (n % (s.length - 2))
        const flipped = s.slice(0, i) + (s[i] === '0' ? '1' : '0') + s.slice(i + 1)
        assert.throws(() => hexDecode(flipped), TsvmError)
      }),
      {seed: 7, numRuns: 300},
    )
  })
})
