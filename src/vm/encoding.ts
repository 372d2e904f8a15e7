// The text forms of bytes that AvalancheGo uses (spec §2):
//
//   CB58           base58(bitcoin alphabet) of  payload || sha256(payload)[28:32]
//   hex (checked)  "0x" + lowercase hex of      payload || sha256(payload)[28:32]
//   hexnc          "0x" + lowercase hex of      payload
//   ID             32 bytes, shown as CB58
//
// Decoding always verifies the checksum. Each failure has its own code so scripts can tell a
// typo (bad character) from a truncated paste (too short) from a corrupted value (checksum).
import {sha256 as nobleSha256} from '@noble/hashes/sha2.js'
import {base58} from '@scure/base'

import {TsvmError} from './errors.js'
import {bytesEqual} from './hash.js'

/** Length of the CB58/hex checksum: the last 4 bytes of one SHA-256. */
export const CHECKSUM_LENGTH = 4

/** Length of an ID (ids.ID) and of a block payload. */
export const ID_LENGTH = 32

/** ids.Empty: 32 zero bytes. */
export const EMPTY_ID: Uint8Array = new Uint8Array(ID_LENGTH)

const BASE58_ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'
const BASE58_OK = new Uint8Array(128)
for (const c of BASE58_ALPHABET) BASE58_OK[c.charCodeAt(0)] = 1

/**
 * The 4-byte checksum AvalancheGo appends: the last 4 bytes of one sha256(data)
 * (hashing.Checksum), not bitcoin's first 4 of a double hash. Computed with @noble/hashes, the
 * project's portable reference SHA-256 for CB58 and hex checksums; block IDs use node:crypto
 * (src/vm/hash.ts) for speed.
 */
export function checksum(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(CHECKSUM_LENGTH)
  checksumInto(data, out, 0)
  return out
}

// One fresh hasher cloned into one scratch hasher per checksum: the same noble SHA-256 without
// building a hasher and its buffers for every ID printed (a group commit prints 100,000).
// `_cloneInto` is in noble's public types but underscore-named: check it on noble upgrades.
const SHA256_FRESH = nobleSha256.create()
const sha256Scratch = nobleSha256.create()
const digestScratch = new Uint8Array(32)

function checksumInto(data: Uint8Array, out: Uint8Array, at: number): void {
  SHA256_FRESH._cloneInto(sha256Scratch)
  sha256Scratch.update(data)
  sha256Scratch.digestInto(digestScratch)
  for (let i = 0; i < CHECKSUM_LENGTH; i++) out[at + i] = digestScratch[32 - CHECKSUM_LENGTH + i]!
}

function withChecksum(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(data.length + CHECKSUM_LENGTH)
  out.set(data)
  checksumInto(data, out, data.length)
  return out
}

const BASE58_CODES = Uint8Array.from(BASE58_ALPHABET, (c) => c.charCodeAt(0))
/** 58^5: five base58 digits per division step; fits in 30 bits. */
const B58_STEP = 58 ** 5
const B58_STEP_INV = 1 / B58_STEP
/** Limbs of 23 bits: remainder · 2^23 + limb < 58^5 · 2^23 < 2^53, exact in a double. */
const LIMB_BITS = 23
const LIMB = 2 ** LIMB_BITS
const POW2 = Float64Array.from({length: LIMB_BITS + 8}, (_, i) => 2 ** i)
/** The two digits of each t < 58²: PAIRS[2t] PAIRS[2t + 1]. */
const PAIRS = new Uint8Array(2 * 58 * 58)
for (let t = 0; t < 58 * 58; t++) {
  PAIRS[2 * t] = BASE58_CODES[Math.trunc(t / 58)]!
  PAIRS[2 * t + 1] = BASE58_CODES[t % 58]!
}

/** Scratch space reused by base58Encode (it is synchronous, so one set is enough). */
let b58Limbs = new Float64Array(32)
let b58Out = new Uint8Array(96)

/**
 * Base58 (bitcoin alphabet) of bytes, byte-identical to @scure/base's base58.encode. The bytes
 * are read as 23-bit limbs and divided by 58^5 per pass (remainder · 2^23 + limb < 2^53, exact
 * in a double), so a 36-byte CB58 value takes 10 passes over at most 13 limbs instead of one
 * pass per output digit over every byte; a leading zero byte is a leading '1', as in bitcoin.
 */
export function base58Encode(data: Uint8Array): string {
  const start = base58Digits(data)
  return String.fromCharCode.apply(null, b58Out.subarray(start, b58End) as unknown as number[])
}

/** End of the digits base58Digits left in b58Out. */
let b58End = 0

/** Writes the base58 digits of `data` (ASCII codes) to b58Out[start, b58End) and returns start. */
function base58Digits(data: Uint8Array): number {
  let zeros = 0
  while (zeros < data.length && data[zeros] === 0) zeros++
  const n = data.length - zeros
  const limbCount = Math.ceil((8 * n) / LIMB_BITS)
  // At most 138 digits per 100 bytes, plus 5 for the last group and the leading '1's.
  const maxOut = zeros + Math.ceil(n * 1.38) + 6
  if (b58Limbs.length < limbCount) b58Limbs = new Float64Array(limbCount)
  if (b58Out.length < maxOut) b58Out = new Uint8Array(maxOut)
  const limbs = b58Limbs
  const out = b58Out
  // Most significant limb first; it takes the bits left over from whole limbs below it.
  let need = 8 * n - LIMB_BITS * (limbCount - 1)
  let acc = 0 // fewer than need + 8 ≤ 31 bits
  let bits = 0
  for (let j = zeros, i = 0; j < data.length; j++) {
    acc = acc * 256 + data[j]!
    bits += 8
    if (bits >= need) {
      const shift = bits - need
      const limb = Math.floor(acc / POW2[shift]!)
      limbs[i++] = limb
      acc -= limb * POW2[shift]!
      bits = shift
      need = LIMB_BITS
    }
  }

  let pos = maxOut // digits are written right to left
  let start = 0
  while (start < limbCount) {
    let rem = 0
    for (let i = start; i < limbCount; i++) {
      const x = rem * LIMB + limbs[i]!
      // A multiply instead of a divide; the estimate is off by at most one, corrected here.
      let q = Math.floor(x * B58_STEP_INV)
      rem = x - q * B58_STEP
      if (rem < 0) {
        q -= 1
        rem += B58_STEP
      } else if (rem >= B58_STEP) {
        q += 1
        rem -= B58_STEP
      }

      limbs[i] = q
    }

    while (start < limbCount && limbs[start] === 0) start++
    // The five digits of rem < 58^5: two pairs from the table, then the top digit. As int32
    // (`| 0`, not Math.trunc) V8 divides by the constant with a multiply, measurably faster here.
    // eslint-disable-next-line unicorn/prefer-math-trunc -- see above
    let r = rem | 0
    for (let k = 0; k < 2; k++) {
      // eslint-disable-next-line unicorn/prefer-math-trunc -- see above
      const q = (r / 3364) | 0
      const t = r - q * 3364
      out[--pos] = PAIRS[2 * t + 1]!
      out[--pos] = PAIRS[2 * t]!
      r = q
    }

    out[--pos] = BASE58_CODES[r]!
  }

  // The last group may have written leading zero digits ('1'); they are not part of the number.
  while (pos < maxOut && out[pos] === 49) pos++
  for (let i = 0; i < zeros; i++) out[--pos] = 49
  b58End = maxOut
  return pos
}

/** CB58-encodes bytes. */
export function cb58Encode(data: Uint8Array): string {
  return base58Encode(withChecksum(data))
}

const cb58Scratch = new Uint8Array(ID_LENGTH + CHECKSUM_LENGTH)
const cb58Id = cb58Scratch.subarray(0, ID_LENGTH)

/**
 * Writes the CB58 of a 32-byte ID as ASCII into `out` at `at` and returns how many bytes it
 * took (at most 50): what idToString returns, without a string or any allocation, for output
 * written straight into a buffer.
 */
export function idToCb58Into(id: Uint8Array, out: Uint8Array, at: number): number {
  if (id.length !== ID_LENGTH) throw new TsvmError('BAD_LENGTH', `an ID is ${ID_LENGTH} bytes, got ${id.length}`)
  return idsToCb58Into(id, 0, out, at)
}

/** idToCb58Into for the ID at `from` in `ids` (IDs side by side, as in a block run). */
export function idsToCb58Into(ids: Uint8Array, from: number, out: Uint8Array, at: number): number {
  if (from < 0 || from + ID_LENGTH > ids.length) {
    throw new TsvmError('BAD_LENGTH', `no ${ID_LENGTH}-byte ID at ${from} of ${ids.length} bytes`)
  }

  const scratch = cb58Scratch
  for (let i = 0; i < ID_LENGTH; i++) scratch[i] = ids[from + i]!
  checksumInto(cb58Id, scratch, ID_LENGTH)
  const start = base58Digits(scratch)
  const digits = b58Out
  const end = b58End
  for (let i = start, o = at; i < end; i++, o++) out[o] = digits[i]!
  return end - start
}

/** Decodes CB58 and verifies its checksum; returns the payload without the checksum. */
export function cb58Decode(text: string): Uint8Array {
  if (text.length === 0) throw new TsvmError('CB58_EMPTY', 'CB58 string is empty: pass a CB58 value such as an ID')
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c >= 128 || BASE58_OK[c] === 0) {
      throw new TsvmError(
        'CB58_BAD_CHAR',
        `invalid base58 character ${JSON.stringify(text[i])} at position ${i}: CB58 uses 1-9, A-Z and a-z without 0, O, I and l`,
        {details: {position: i}},
      )
    }
  }

  const raw = base58.decode(text)
  if (raw.length < CHECKSUM_LENGTH) {
    throw new TsvmError(
      'CB58_TOO_SHORT',
      `CB58 string decodes to ${raw.length} bytes, fewer than the ${CHECKSUM_LENGTH}-byte checksum: was it cut short?`,
    )
  }

  const payload = raw.slice(0, raw.length - CHECKSUM_LENGTH)
  if (!bytesEqual(raw.subarray(raw.length - CHECKSUM_LENGTH), checksum(payload))) {
    throw new TsvmError(
      'CB58_BAD_CHECKSUM',
      `CB58 checksum does not match: the string ${JSON.stringify(text)} is mistyped or corrupted`,
    )
  }

  return payload
}

const HEX_DIGITS = '0123456789abcdef'
const HEX_VALUE = new Int8Array(128).fill(-1)
for (let i = 0; i < 16; i++) {
  HEX_VALUE[HEX_DIGITS.charCodeAt(i)] = i
  HEX_VALUE[HEX_DIGITS.toUpperCase().charCodeAt(i)] = i
}

/** Lower-case hex of bytes, no prefix. */
export function toHex(data: Uint8Array): string {
  // Node's native encoder over a view (no copy); blocks, IDs and payloads are hexed per block.
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('hex')
}

const HEX_ONLY = /^(?:[0-9a-fA-F]{2})*$/

/** Bytes of a hex string without prefix; either case; throws HEX_INVALID on odd length or a bad digit. */
export function fromHex(text: string): Uint8Array {
  // Valid input (the common case, e.g. every line of `propose -`) takes the native decoder;
  // anything else falls through to the checks below for a precise error.
  if (HEX_ONLY.test(text)) return new Uint8Array(Buffer.from(text, 'hex'))
  if (text.length % 2 !== 0) {
    throw new TsvmError('HEX_INVALID', `hex string has an odd number of digits (${text.length}): every byte needs two`)
  }

  const out = new Uint8Array(text.length / 2)
  for (let i = 0; i < out.length; i++) {
    const hi = hexDigit(text, 2 * i)
    const lo = hexDigit(text, 2 * i + 1)
    out[i] = (hi << 4) | lo
  }

  return out
}

function hexDigit(text: string, i: number): number {
  const c = text.charCodeAt(i)
  const v = c < 128 ? HEX_VALUE[c]! : -1
  if (v < 0) {
    throw new TsvmError(
      'HEX_INVALID',
      `invalid hex digit ${JSON.stringify(text[i])} at position ${i}: use 0-9 and a-f`,
      {
        details: {position: i},
      },
    )
  }

  return v
}

/** AvalancheGo's `hex` encoding: "0x" + hex of the bytes and their 4-byte checksum. */
export function hexEncode(data: Uint8Array): string {
  return '0x' + toHex(withChecksum(data))
}

/** AvalancheGo's `hexnc` encoding: "0x" + hex, no checksum. */
export function hexNCEncode(data: Uint8Array): string {
  return '0x' + toHex(data)
}

/** Decodes "0x"-prefixed hex; with `checksum` (the default) verifies and strips the 4-byte checksum. */
export function hexDecode(text: string, options: {checksum?: boolean} = {}): Uint8Array {
  if (!text.startsWith('0x')) {
    throw new TsvmError(
      'HEX_MISSING_PREFIX',
      `hex value must start with "0x" (lower-case x): got ${JSON.stringify(text.slice(0, 8))}`,
    )
  }

  const raw = fromHex(text.slice(2))
  if (options.checksum === false) return raw
  if (raw.length < CHECKSUM_LENGTH) {
    throw new TsvmError(
      'HEX_TOO_SHORT',
      `checksummed hex decodes to ${raw.length} bytes, fewer than the ${CHECKSUM_LENGTH}-byte checksum: was it cut short?`,
    )
  }

  const payload = raw.slice(0, raw.length - CHECKSUM_LENGTH)
  if (!bytesEqual(raw.subarray(raw.length - CHECKSUM_LENGTH), checksum(payload))) {
    throw new TsvmError(
      'HEX_BAD_CHECKSUM',
      'hex checksum does not match: the value is mistyped or corrupted (for hex without a checksum use the hexnc encoding)',
    )
  }

  return payload
}

/** The string form of an ID: CB58. */
export function idToString(id: Uint8Array): string {
  if (id.length !== ID_LENGTH) throw new TsvmError('BAD_LENGTH', `an ID is ${ID_LENGTH} bytes, got ${id.length}`)
  return cb58Encode(id)
}

/** Parses a CB58 ID; errors say which part was wrong. `what` names the value in messages. */
export function idFromString(text: string, what = 'ID'): Uint8Array {
  let bytes: Uint8Array
  try {
    bytes = cb58Decode(text)
  } catch (error) {
    if (error instanceof TsvmError) {
      throw new TsvmError(error.code, `${what} ${JSON.stringify(text)} is not valid CB58: ${error.message}`, {
        cause: error,
      })
    }

    throw error
  }

  if (bytes.length !== ID_LENGTH) {
    throw new TsvmError(
      'BAD_LENGTH',
      `${what} must be ${ID_LENGTH} bytes (got ${bytes.length}): pass a CB58 ID like 11111111111111111111111111111111LpoYY`,
    )
  }

  return bytes
}

/** The formats a 32-byte payload may be given in on the command line. */
export type PayloadFormat = 'hex' | 'hex-checksum' | 'cb58'

/**
 * Parses a 32-byte payload: 64 hex digits (with or without "0x"), checksummed hex
 * ("0x" + 72 digits), or CB58. Anything else is an error that lists the accepted forms.
 */
export function parsePayload(text: string): {data: Uint8Array; format: PayloadFormat} {
  const t = text.trim()
  const body = t.startsWith('0x') || t.startsWith('0X') ? t.slice(2) : t
  if (/^[0-9a-fA-F]*$/.test(body) && (body.length === 64 || (body.length === 72 && body !== t))) {
    if (body.length === 64) return {data: fromHex(body), format: 'hex'}
    return {data: hexDecode('0x' + body), format: 'hex-checksum'}
  }

  if (t.startsWith('0x') || t.startsWith('0X') || /^[0-9a-fA-F]+$/.test(t)) {
    const digits = body.length
    throw new TsvmError(
      'PAYLOAD_INVALID',
      `data must be 32 bytes: got ${digits} hex digits, expected 64 (or 72 with a checksum): pass a 64-char hex hash, checksummed hex, CB58, or --file`,
    )
  }

  let data: Uint8Array
  try {
    data = cb58Decode(t)
  } catch (error) {
    if (error instanceof TsvmError) {
      throw new TsvmError(
        error.code,
        `data ${JSON.stringify(t.length > 80 ? t.slice(0, 80) + '…' : t)} is neither 64-char hex nor valid CB58 (${error.message}): pass a 64-char hex hash, checksummed hex, CB58, or --file`,
        {cause: error},
      )
    }

    throw error
  }

  if (data.length !== ID_LENGTH) {
    throw new TsvmError(
      'BAD_LENGTH',
      `data must be 32 bytes (got ${data.length}): pass a 64-char hex hash, checksummed hex, CB58, or --file`,
    )
  }

  return {data, format: 'cb58'}
}
