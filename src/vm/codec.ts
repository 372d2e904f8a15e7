// avalanchego's linear codec, reduced to what timestampvm uses (spec §1.2):
//
//   u16 codec version (always 00 00) | fields in declaration order, no names, no padding
//   uN      big-endian, fixed width; iN as two's complement
//   [N]byte N raw bytes, no length prefix
//   []byte  u32 BE length | bytes
//
// Reader checks every length before reading, so a short buffer is an error, never a partial value.
import {TsvmError} from './errors.js'

/** The only codec version timestampvm registers. */
export const CODEC_VERSION = 0

/** avalanchego's default codec manager limit on a marshalled value (256 KiB). */
export const MAX_CODEC_SIZE = 256 * 1024

/** Appends fixed-width big-endian fields to a buffer sized up front. */
export class Writer {
  readonly bytes: Uint8Array
  private readonly view: DataView
  private offset = 0

  constructor(size: number) {
    this.bytes = new Uint8Array(size)
    this.view = new DataView(this.bytes.buffer)
  }

  u16(v: number): this {
    this.view.setUint16(this.offset, v)
    this.offset += 2
    return this
  }

  u32(v: number): this {
    this.view.setUint32(this.offset, v)
    this.offset += 4
    return this
  }

  u64(v: bigint): this {
    this.view.setBigUint64(this.offset, v)
    this.offset += 8
    return this
  }

  i64(v: bigint): this {
    this.view.setBigInt64(this.offset, v)
    this.offset += 8
    return this
  }

  /** A fixed-size array: raw bytes, no length prefix; `b` must be exactly `n` bytes. */
  fixed(b: Uint8Array, n: number): this {
    if (b.length !== n) throw new TsvmError('BAD_LENGTH', `expected ${n} bytes, got ${b.length}`)
    this.bytes.set(b, this.offset)
    this.offset += n
    return this
  }

  /** A byte slice: u32 length, then the bytes. */
  slice(b: Uint8Array): this {
    this.u32(b.length)
    this.bytes.set(b, this.offset)
    this.offset += b.length
    return this
  }

  /** The written bytes; throws if the buffer was not filled exactly. */
  done(): Uint8Array {
    if (this.offset !== this.bytes.length) {
      throw new TsvmError('INTERNAL', `codec wrote ${this.offset} of ${this.bytes.length} bytes`)
    }

    return this.bytes
  }
}

/** Reads fixed-width big-endian fields, checking the length before every read. */
export class Reader {
  private readonly view: DataView
  offset = 0

  constructor(
    readonly bytes: Uint8Array,
    private readonly what = 'value',
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  }

  get remaining(): number {
    return this.bytes.length - this.offset
  }

  private need(n: number, field: string): void {
    if (this.remaining < n) {
      throw new TsvmError(
        'BAD_LENGTH',
        `${this.what} is truncated: ${field} needs ${n} bytes at offset ${this.offset}, only ${this.remaining} left`,
      )
    }
  }

  u16(field: string): number {
    this.need(2, field)
    const v = this.view.getUint16(this.offset)
    this.offset += 2
    return v
  }

  u32(field: string): number {
    this.need(4, field)
    const v = this.view.getUint32(this.offset)
    this.offset += 4
    return v
  }

  u64(field: string): bigint {
    this.need(8, field)
    const v = this.view.getBigUint64(this.offset)
    this.offset += 8
    return v
  }

  i64(field: string): bigint {
    this.need(8, field)
    const v = this.view.getBigInt64(this.offset)
    this.offset += 8
    return v
  }

  /** `n` raw bytes (a copy, so the caller may keep it). */
  fixed(n: number, field: string): Uint8Array {
    this.need(n, field)
    const v = this.bytes.slice(this.offset, this.offset + n)
    this.offset += n
    return v
  }

  /** A u32-length-prefixed byte slice of at most `max` bytes. */
  slice(field: string, max = MAX_CODEC_SIZE): Uint8Array {
    const n = this.u32(`${field} length`)
    if (n > max) throw new TsvmError('BAD_LENGTH', `${this.what}: ${field} length ${n} exceeds the maximum ${max}`)
    return this.fixed(n, field)
  }

  /** Throws unless every byte was read: decoders reject trailing bytes. */
  end(): void {
    if (this.remaining !== 0) {
      throw new TsvmError('BAD_LENGTH', `${this.what} has ${this.remaining} trailing bytes after offset ${this.offset}`)
    }
  }
}

/** Writes a safe integer `n` (0 ≤ n < 2^53) as 8 big-endian bytes at `at`, in two 32-bit halves. */
export function writeU53(out: Uint8Array, at: number, n: number): void {
  const hi = Math.floor(n / 0x1_00_00_00_00)
  const lo = n - hi * 0x1_00_00_00_00
  out[at] = hi >>> 24
  out[at + 1] = hi >>> 16
  out[at + 2] = hi >>> 8
  out[at + 3] = hi
  out[at + 4] = lo >>> 24
  out[at + 5] = lo >>> 16
  out[at + 6] = lo >>> 8
  out[at + 7] = lo
}

/**
 * Writes `v` as 8 big-endian bytes at `at`, two's complement modulo 2^64 like DataView's BigInt
 * setters. Values below 2^53 (every real height, sequence number and timestamp) take two 32-bit
 * halves without BigInt arithmetic: this runs several times per block in a group commit.
 */
export function writeU64(out: Uint8Array, at: number, v: bigint): void {
  if (v >= 0n && v <= 0x1f_ff_ff_ff_ff_ff_ffn) {
    writeU53(out, at, Number(v))
    return
  }

  new DataView(out.buffer, out.byteOffset, out.byteLength).setBigUint64(at, BigInt.asUintN(64, v))
}

/** Size of the chunks allocBytes carves small arrays from. */
const SLAB_SIZE = 16 * 1024
let slab = new ArrayBuffer(SLAB_SIZE)
let slabUsed = 0

/**
 * `n` fresh zero bytes, carved from a shared 16 KiB chunk when small. A group commit makes
 * several small arrays per block (block bytes, keys, values) that live until the batch is
 * written; above 64 bytes each `new Uint8Array` is its own off-heap buffer, which costs far
 * more to allocate and to collect than a view of a chunk. A chunk is freed once no view of it
 * is left, so a long-lived value keeps its chunk alive: use it for short-lived bytes, or for
 * bytes that live as long as the blocks carved next to them (a block's bytes, its payload).
 */
export function allocBytes(n: number): Uint8Array {
  if (n > 1024) return new Uint8Array(n)
  if (slabUsed + n > SLAB_SIZE) {
    slab = new ArrayBuffer(SLAB_SIZE)
    slabUsed = 0
  }

  // The constructor rather than subarray, which takes twice as long in V8.
  const out = new Uint8Array(slab, slabUsed, n)
  slabUsed += n
  return out
}
