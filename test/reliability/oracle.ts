// Independent reference decoders for the fuzz properties: written from the spec (§1.3, §1.4,
// §2) with node:crypto and BigInt, sharing no code with src/vm, so a bug in one is not hidden
// by the same bug in the other. Each returns the decoded value or undefined for invalid input.
import {createHash} from 'node:crypto'

const ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'

function sha256(b: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(b).digest())
}

function checked(raw: Uint8Array): Uint8Array | undefined {
  if (raw.length < 4) return undefined
  const payload = raw.slice(0, -4)
  const sum = sha256(payload).subarray(28)
  for (let i = 0; i < 4; i++) if (raw[raw.length - 4 + i] !== sum[i]) return undefined
  return payload
}

/** Plain base58 (bitcoin alphabet) by big-integer arithmetic. */
export function base58Raw(text: string): Uint8Array | undefined {
  let n = 0n
  let zeros = 0
  let leading = true
  for (const c of text) {
    const v = ALPHABET.indexOf(c)
    if (v === -1) return undefined
    if (leading && v === 0) zeros++
    else leading = false
    n = n * 58n + BigInt(v)
  }

  const bytes: number[] = []
  while (n > 0n) {
    bytes.unshift(Number(n & 0xffn))
    n >>= 8n
  }

  return Uint8Array.from([...Array.from<number>({length: zeros}).fill(0), ...bytes])
}

/** CB58: base58 of payload || last 4 bytes of sha256(payload). Empty text is invalid. */
export function cb58(text: string): Uint8Array | undefined {
  if (text === '') return undefined
  const raw = base58Raw(text)
  return raw === undefined ? undefined : checked(raw)
}

/** Hex digits (either case, even count) to bytes. */
export function hexRaw(text: string): Uint8Array | undefined {
  if (text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) return undefined
  return Uint8Array.from(text.match(/../g) ?? [], (h) => Number.parseInt(h, 16))
}

/** Checksummed hex: "0x" + hex of payload || checksum. */
export function hexChecked(text: string): Uint8Array | undefined {
  if (!text.startsWith('0x')) return undefined
  const raw = hexRaw(text.slice(2))
  return raw === undefined ? undefined : checked(raw)
}

/** A 32-byte payload as the CLI accepts it (spec §2 and the propose command's forms). */
export function payload(text: string): Uint8Array | undefined {
  const t = text.trim()
  const prefixed = t.startsWith('0x') || t.startsWith('0X')
  const body = prefixed ? t.slice(2) : t
  if (/^[0-9a-fA-F]{64}$/.test(body)) return hexRaw(body)
  if (prefixed && /^[0-9a-fA-F]{72}$/.test(body)) return hexChecked('0x' + body)
  // Text that is all hex digits (or 0x-prefixed) is read as hex of the wrong length, never as CB58.
  if (prefixed || /^[0-9a-fA-F]+$/.test(t)) return undefined
  const d = cb58(t)
  return d !== undefined && d.length === 32 ? d : undefined
}

/** A block as Go's codec parses it: 82 bytes, version 0. */
export function block(
  bytes: Uint8Array,
): {parentId: Uint8Array; height: bigint; timestamp: bigint; data: Uint8Array} | undefined {
  if (bytes.length !== 82 || bytes[0] !== 0 || bytes[1] !== 0) return undefined
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  return {
    parentId: bytes.slice(2, 34),
    height: view.getBigUint64(34),
    timestamp: view.getBigInt64(42),
    data: bytes.slice(50, 82),
  }
}

/** A stored block wrapper: 00 00 | u32 82 | block | u32 status in 1..3. */
export function wrapper(bytes: Uint8Array): {blockBytes: Uint8Array; status: number} | undefined {
  if (bytes.length !== 92 || bytes[0] !== 0 || bytes[1] !== 0) return undefined
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (view.getUint32(2) !== 82) return undefined
  const blockBytes = bytes.slice(6, 88)
  if (block(blockBytes) === undefined) return undefined
  const status = view.getUint32(88)
  if (status < 1 || status > 3) return undefined
  return {blockBytes, status}
}
