// AvalancheGo's `formatting` encodings, by API dialect (spec §2.3):
//
//   dialect  names accepted (case-insensitive)  default  notes
//   v1.2     cb58, hex, json                    cb58     hex carries a checksum
//   v1.3     hex, hexnc, hexc, json             hex      hex = hexc (checksum), hexnc none
//
// `json` parses as a name but cannot encode or decode bytes ("unsupported encoding in method").
// An empty string decodes to no bytes in every encoding, as Go's formatting.Decode does.
import {cb58Decode, cb58Encode, hexDecode, hexEncode, hexNCEncode} from './encoding.js'
import {TsvmError} from './errors.js'

/** The API dialects: timestampvm v1.2.x (avalanchego 1.7.x) and v1.3.x (avalanchego 1.9+/1.10). */
export type Dialect = 'v1.2' | 'v1.3'

/** An encoding name in canonical lower case. */
export type Encoding = 'cb58' | 'hex' | 'hexnc' | 'hexc' | 'json'

/** The encodings each dialect knows. */
export const DIALECT_ENCODINGS: Record<Dialect, readonly Encoding[]> = {
  'v1.2': ['cb58', 'hex', 'json'],
  'v1.3': ['hex', 'hexnc', 'hexc', 'json'],
}

/** The encoding used when a request names none. */
export const DEFAULT_ENCODING: Record<Dialect, Encoding> = {'v1.2': 'cb58', 'v1.3': 'hex'}

function unsupported(): never {
  throw new TsvmError('BAD_ENCODING', 'unsupported encoding in method: json cannot carry raw bytes, use hex or cb58')
}

/** Encodes bytes; every encoding but hexnc appends the 4-byte checksum. */
export function encodeWith(encoding: Encoding, bytes: Uint8Array): string {
  switch (encoding) {
    case 'cb58': {
      return cb58Encode(bytes)
    }

    case 'hex':
    case 'hexc': {
      return hexEncode(bytes)
    }

    case 'hexnc': {
      return hexNCEncode(bytes)
    }

    case 'json': {
      return unsupported()
    }
  }
}

/** Decodes text, verifying the checksum where the encoding has one. "" is no bytes. */
export function decodeWith(encoding: Encoding, text: string): Uint8Array {
  if (text === '') return new Uint8Array(0)
  switch (encoding) {
    case 'cb58': {
      return cb58Decode(text)
    }

    case 'hex':
    case 'hexc': {
      return hexDecode(text)
    }

    case 'hexnc': {
      return hexDecode(text, {checksum: false})
    }

    case 'json': {
      return unsupported()
    }
  }
}

/**
 * The static API's `length` rule (spec §3.2): with length > 0 the bytes are copied into a
 * zero-filled buffer of that size (truncated or right-padded); otherwise they are unchanged.
 */
export function fitLength(bytes: Uint8Array, length: number): Uint8Array {
  if (length <= 0) return bytes
  const out = new Uint8Array(length)
  out.set(bytes.subarray(0, length))
  return out
}

/** The encodings the CLI offers: every dialect's byte encodings (json carries no bytes). */
export const BYTE_ENCODINGS = ['hex', 'hexnc', 'hexc', 'cb58'] as const

/**
 * Decodes text in `encoding`, or, when none is given, as AvalancheGo values look: "0x…" is
 * checksummed hex, anything else CB58. Hex pasted without its "0x" gets HEX_MISSING_PREFIX
 * rather than a puzzling base58 error.
 */
export function decodeDetect(text: string, encoding?: Encoding): {encoding: Encoding; bytes: Uint8Array} {
  // tsvm prints plain hex without 0x (dataHex, payloads, hashes): read it back too
  const bareHex = /^(?:[0-9a-fA-F]{2})+$/.test(text)
  if (encoding !== undefined)
    return {encoding, bytes: decodeWith(encoding, bareHex && encoding !== 'cb58' ? `0x${text}` : text)}
  if (text.startsWith('0x')) return {encoding: 'hex', bytes: decodeWith('hex', text)}
  try {
    return {encoding: 'cb58', bytes: decodeWith('cb58', text)}
  } catch (error) {
    if (error instanceof TsvmError && bareHex) return {encoding: 'hexnc', bytes: decodeWith('hexnc', `0x${text}`)}
    if (error instanceof TsvmError && error.code === 'CB58_BAD_CHAR' && /^(0X)?[0-9a-fA-F]+$/.test(text)) {
      throw new TsvmError(
        'HEX_MISSING_PREFIX',
        `${JSON.stringify(text.length > 24 ? text.slice(0, 24) + '…' : text)} looks like hex but has no "0x" prefix (lower-case x): AvalancheGo hex always starts with 0x`,
        {cause: error},
      )
    }

    throw error
  }
}

/** The bytes as text when they are valid UTF-8 without control characters (tab, CR, LF allowed); else undefined. */
export function printableText(bytes: Uint8Array): string | undefined {
  let text: string
  try {
    text = new TextDecoder('utf8', {fatal: true, ignoreBOM: true}).decode(bytes)
  } catch {
    return undefined
  }

  return /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/.test(text) ? undefined : text
}

/** Printable text followed by zero bytes (a VM name, the static API's padded encode output): the text and how many zeros follow. */
export function paddedText(bytes: Uint8Array): {text: string; zeros: number} | undefined {
  let end = bytes.length
  while (end > 0 && bytes[end - 1] === 0) end--
  if (end === 0 || end === bytes.length) return undefined
  const text = printableText(bytes.subarray(0, end))
  return text === undefined ? undefined : {text, zeros: bytes.length - end}
}
