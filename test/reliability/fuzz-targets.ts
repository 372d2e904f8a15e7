// Fuzz properties for every parser that reads outside input. Each target is checked three ways:
//   robust      arbitrary input either decodes or throws a TsvmError, never anything else
//   exact       it decodes exactly when the independent oracle (oracle.ts) says the input is valid,
//               and to the same value
//   round-trip  encoding a valid value and decoding it gives the value back
// The fast suite runs these with a fixed seed; the stress runner with many more runs and fresh seeds.
import assert from 'node:assert/strict'

import fc from 'fast-check'

import {decodeWrapper, encodeWrapper, makeBlock, parseBlock, Status} from '../../src/vm/block.js'
import {
  cb58Decode,
  cb58Encode,
  hexDecode,
  hexEncode,
  hexNCEncode,
  idFromString,
  parsePayload,
  toHex,
} from '../../src/vm/encoding.js'
import {TsvmError} from '../../src/vm/errors.js'
import {decodeDetect, decodeWith, type Encoding} from '../../src/vm/formatting.js'
import * as oracle from './oracle.js'

/** What a decoder did with one input. */
export type Outcome<T> = {ok: true; value: T} | {ok: false; error: TsvmError}

/** Runs a decoder; anything thrown that is not a TsvmError fails the property. */
export function outcome<T>(fn: () => T): Outcome<T> {
  try {
    return {ok: true, value: fn()}
  } catch (error) {
    if (!(error instanceof TsvmError)) {
      // eslint-disable-next-line unicorn/prefer-type-error -- a failed property, not a type check
      throw new Error(`threw ${(error as Error)?.name ?? typeof error} instead of a TsvmError: ${String(error)}`, {
        cause: error,
      })
    }

    return {ok: false, error}
  }
}

/** Asserts that the decoder accepted exactly what the oracle accepts, with the same bytes. */
function agree(got: Outcome<Uint8Array>, want: Uint8Array | undefined, input: unknown): void {
  if (want === undefined) {
    assert.equal(got.ok, false, `accepted invalid input ${JSON.stringify(input)}`)
  } else {
    assert.ok(got.ok, `rejected valid input ${JSON.stringify(input)}: ${got.ok ? '' : got.error.code}`)
    assert.deepEqual(got.value, want)
  }
}

const B58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'
const NEAR = `${B58}0OIl+/=xX -_\u00E9\u0661\uFEFF\t\n`

const bytes32 = fc.uint8Array({minLength: 32, maxLength: 32})

/** Applies one small edit to a string: the edits a mistyped or truncated paste makes. */
function mutateString(base: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc.tuple(base, fc.nat(), fc.constantFrom(...NEAR), fc.integer({min: 0, max: 5})).map(([s, at, ch, op]) => {
    const i = s.length === 0 ? 0 : at % s.length
    switch (op) {
      case 0: {
        return s.slice(0, i) + ch + s.slice(i + 1) // substitute
      }

      case 1: {
        return s.slice(0, i) + s.slice(i + 1) // delete
      }

      case 2: {
        return s.slice(0, i) + ch + s.slice(i) // insert
      }

      case 3: {
        return s.slice(0, i) // truncate
      }

      case 4: {
        return s + ch // append
      }

      default: {
        return ch + s // prepend
      }
    }
  })
}

const b58String = fc.stringOf(fc.constantFrom(...B58), {maxLength: 60})
const hexString = fc.stringOf(fc.constantFrom(...'0123456789abcdefABCDEF'), {maxLength: 80})
const validCb58 = fc.uint8Array({maxLength: 40}).map((b) => cb58Encode(b))
const validHex = fc.uint8Array({maxLength: 40}).map((b) => hexEncode(b))

/** Strings that hit every branch of the text decoders: random, near-valid and valid. */
const anyText = fc.oneof(
  fc.string({maxLength: 90}),
  fc.fullUnicodeString({maxLength: 40}),
  b58String,
  hexString,
  hexString.map((h) => '0x' + h),
  validCb58,
  validHex,
  mutateString(validCb58),
  mutateString(validHex),
  bytes32.map((b) => toHex(b)),
  bytes32.map((b) => hexNCEncode(b)),
  bytes32.map((b) => hexEncode(b)),
  bytes32.map((b) => cb58Encode(b)),
  mutateString(bytes32.chain((b) => fc.constantFrom(toHex(b), hexEncode(b), cb58Encode(b), '0X' + toHex(b)))),
)

const validBlockBytes = fc
  .record({parentId: bytes32, height: fc.bigUintN(64), timestamp: fc.bigIntN(64), data: bytes32})
  .map((f) => makeBlock(f).bytes)

/** Applies one edit to bytes: flip, cut, extend, or overwrite a length/version field. */
function mutateBytes(base: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> {
  return fc
    .tuple(base, fc.nat(), fc.integer({min: 0, max: 255}), fc.integer({min: 0, max: 3}))
    .map(([b, at, v, op]) => {
      const i = b.length === 0 ? 0 : at % b.length
      const out = Uint8Array.from(b)
      switch (op) {
        case 0: {
          if (out.length > 0) out[i] = v
          return out
        }

        case 1: {
          return out.slice(0, i)
        }

        case 2: {
          return Uint8Array.from([...out, v])
        }

        default: {
          if (out.length > 0) out[i] ^= 1 << (v % 8)
          return out
        }
      }
    })
}

const validWrapper = fc
  .tuple(validBlockBytes, fc.constantFrom(Status.Processing, Status.Rejected, Status.Accepted))
  .map(([b, s]) => encodeWrapper(b, s))

const anyBlockBytes = fc.oneof(
  fc.uint8Array({maxLength: 200}),
  fc.uint8Array({minLength: 80, maxLength: 84}),
  validBlockBytes,
  mutateBytes(validBlockBytes),
)

const anyWrapperBytes = fc.oneof(
  fc.uint8Array({maxLength: 120}),
  fc.uint8Array({minLength: 90, maxLength: 94}),
  validWrapper,
  mutateBytes(validWrapper),
  validBlockBytes.map((b) => encodeWrapper(b, Status.Accepted)).chain((w) => mutateBytes(fc.constant(w))),
)

/** A named property; `property` builds a fresh one each time it is run. */
export interface FuzzTarget {
  name: string
  property: () => fc.IProperty<any> | fc.IAsyncProperty<any>
  /** Relative cost: the fast suite runs `runs / cost` cases. */
  cost?: number
}

/** The pure parsers: blocks, stored wrappers, CB58, hex, IDs, payloads, API encodings. */
export const PARSER_TARGETS: FuzzTarget[] = [
  {
    name: 'parseBlock accepts exactly 82-byte version-0 blocks and reads every field',
    property: () =>
      fc.property(anyBlockBytes, (b) => {
        const got = outcome(() => parseBlock(b))
        const want = oracle.block(b)
        if (want === undefined) {
          assert.equal(got.ok, false, `accepted ${toHex(b)}`)
          return
        }

        assert.ok(got.ok, `rejected ${toHex(b)}`)
        assert.deepEqual(got.value.parentId, want.parentId)
        assert.equal(got.value.height, want.height)
        assert.equal(got.value.timestamp, want.timestamp)
        assert.deepEqual(got.value.data, want.data)
        assert.deepEqual(makeBlock(got.value).bytes, b)
      }),
  },
  {
    name: 'decodeWrapper accepts exactly well-formed stored blocks and fails only with WRAPPER_INVALID',
    property: () =>
      fc.property(anyWrapperBytes, (w) => {
        const got = outcome(() => decodeWrapper(w))
        const want = oracle.wrapper(w)
        if (!got.ok) assert.equal(got.error.code, 'WRAPPER_INVALID')
        if (want === undefined) {
          assert.equal(got.ok, false, `accepted ${toHex(w)}`)
          return
        }

        assert.ok(got.ok, `rejected ${toHex(w)}`)
        assert.deepEqual(got.value.block.bytes, want.blockBytes)
        assert.equal(got.value.status, want.status)
        assert.deepEqual(encodeWrapper(got.value.block.bytes, got.value.status), w)
      }),
  },
  {
    name: 'cb58Decode agrees with a big-integer base58 decoder and round-trips',
    property: () =>
      fc.property(anyText, (t) => {
        const got = outcome(() => cb58Decode(t))
        agree(got, oracle.cb58(t), t)
        if (got.ok) assert.equal(cb58Encode(got.value), t)
      }),
  },
  {
    name: 'hexDecode (checksummed and not) agrees with the reference and round-trips',
    property: () =>
      fc.property(anyText, (t) => {
        const got = outcome(() => hexDecode(t))
        agree(got, oracle.hexChecked(t), t)
        if (got.ok) assert.equal(hexEncode(got.value), '0x' + t.slice(2).toLowerCase())
        const nc = outcome(() => hexDecode(t, {checksum: false}))
        agree(nc, t.startsWith('0x') ? oracle.hexRaw(t.slice(2)) : undefined, t)
      }),
  },
  {
    name: 'idFromString accepts exactly CB58 of 32 bytes',
    property: () =>
      fc.property(anyText, (t) => {
        const want = oracle.cb58(t)
        agree(
          outcome(() => idFromString(t)),
          want?.length === 32 ? want : undefined,
          t,
        )
      }),
  },
  {
    name: 'parsePayload accepts exactly the documented 32-byte forms',
    property: () =>
      fc.property(anyText, (t) => {
        const got = outcome(() => parsePayload(t))
        agree(got.ok ? {ok: true, value: got.value.data} : got, oracle.payload(t), t)
      }),
  },
  {
    name: 'parsePayload round-trips every form with surrounding whitespace',
    property: () =>
      fc.property(bytes32, fc.constantFrom('', ' ', '\t', '\n', ' \r\n'), (d, ws) => {
        for (const [text, format] of [
          [toHex(d), 'hex'],
          [toHex(d).toUpperCase(), 'hex'],
          [hexNCEncode(d), 'hex'],
          [hexEncode(d), 'hex-checksum'],
          [cb58Encode(d), 'cb58'],
        ] as const) {
          const p = parsePayload(ws + text + ws)
          assert.deepEqual(p.data, d)
          assert.equal(p.format, format)
        }
      }),
  },
  {
    name: 'decodeWith/decodeDetect fail only with TsvmError and round-trip',
    property: () =>
      fc.property(
        anyText,
        // eslint-disable-next-line unicorn/no-useless-undefined -- undefined is one of the drawn values (auto-detect)
        fc.constantFrom<Encoding | undefined>('cb58', 'hex', 'hexc', 'hexnc', 'json', undefined),
        (t, enc) => {
          const got = outcome(() => (enc === undefined ? decodeDetect(t).bytes : decodeWith(enc, t)))
          if (t === '') {
            // Go's formatting.Decode: empty text is no bytes in every encoding
            assert.ok(got.ok && got.value.length === 0)
            return
          }

          // decodeDetect reads plain hex without 0x (what tsvm prints) as hexnc when it is not CB58
          const bare = /^(?:[0-9a-fA-F]{2})+$/.test(t)
          const want =
            enc === 'json'
              ? undefined
              : enc === 'hexnc'
                ? t.startsWith('0x')
                  ? oracle.hexRaw(t.slice(2))
                  : undefined
                : enc === 'cb58' || (enc === undefined && !t.startsWith('0x'))
                  ? (oracle.cb58(t) ?? (enc === undefined && bare ? oracle.hexRaw(t) : undefined))
                  : oracle.hexChecked(t)
          agree(got, want, t)
        },
      ),
  },
]
