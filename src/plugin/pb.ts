// A small protocol-buffers codec, driven by field tables written from the .proto files in
// ./proto (which are written from the rpcchainvm protocol tables). Static tables instead of a
// .proto parser at start-up (60-190 ms of the node's 5 s handshake budget) or generated classes.
//
// Wire format (proto3; every field here is one of these):
//   tag = varint(field << 3 | wire type)       0 varint, 1 fixed64, 2 length-delimited, 5 fixed32
//   uint32, uint64, bool, enum                  varint
//   int32, int64, enum < 0                      varint of the two's-complement 64-bit value: 10 bytes
//   sint32                                      varint of the zigzag value ((n << 1) ^ (n >> 31))
//   bytes, string, message                      varint length, then the bytes
// Implicit presence (no label): a default value (0, false, "", empty bytes) is not written and an
// absent field reads as the default. `optional`: written whenever set, undefined when absent. A
// message field always has presence: undefined when absent, a present empty one is `xx 00`.
// Repeated fields here hold bytes, strings or messages only, so packing never occurs.
// Fields are written in number order; reading takes any order, the last value wins, unknown
// fields are skipped and unknown enum numbers are kept.
import {TsvmError} from '../vm/errors.js'

/** The scalar types the tables use. */
export type ScalarKind = 'uint32' | 'int32' | 'sint32' | 'uint64' | 'int64' | 'bool' | 'enum' | 'bytes' | 'string'

/** Encodes and decodes one message type: T decoded, I what encode takes (every field optional). */
export interface Codec<T, I = Partial<T>> {
  encode(value: I): Uint8Array
  decode(bytes: Uint8Array): T
  /** The field table, by name (for checks against the .proto files). */
  readonly fields: Readonly<Record<string, FieldSpec>>
}

/** One field: number, type and label. */
export interface FieldSpec {
  readonly no: number
  readonly kind: ScalarKind | Codec<unknown, unknown>
  readonly label?: 'optional' | 'repeated' | undefined
}

type ScalarType<K> = K extends 'uint64' | 'int64'
  ? bigint
  : K extends 'bool'
    ? boolean
    : K extends 'bytes'
      ? Uint8Array
      : K extends 'string'
        ? string
        : K extends Codec<infer M, unknown>
          ? M
          : number

type InputType<K> = K extends Codec<unknown, infer I> ? I : ScalarType<K>

type FieldType<F extends FieldSpec> = F['label'] extends 'repeated'
  ? Array<ScalarType<F['kind']>>
  : F['label'] extends 'optional'
    ? ScalarType<F['kind']> | undefined
    : F['kind'] extends Codec<infer M, unknown>
      ? M | undefined
      : ScalarType<F['kind']>

type FieldInput<F extends FieldSpec> = F['label'] extends 'repeated'
  ? Array<InputType<F['kind']>>
  : InputType<F['kind']>

/** The decoded shape of a message with these fields. */
export type MessageOf<F extends Record<string, FieldSpec>> = {-readonly [K in keyof F]: FieldType<F[K]>}

/** What encode takes for a message with these fields: any field may be left out. */
export type MessageInput<F extends Record<string, FieldSpec>> = {-readonly [K in keyof F]?: FieldInput<F[K]>}

/** A field spec (number, type, label). */
export function field<const K extends ScalarKind | Codec<unknown, unknown>>(
  no: number,
  kind: K,
): {no: number; kind: K; label?: undefined}
export function field<const K extends ScalarKind | Codec<unknown, unknown>, const L extends 'optional' | 'repeated'>(
  no: number,
  kind: K,
  label: L,
): {no: number; kind: K; label: L}
export function field(
  no: number,
  kind: ScalarKind | Codec<unknown, unknown>,
  label?: 'optional' | 'repeated',
): FieldSpec {
  return label === undefined ? {no, kind} : {no, kind, label}
}

function malformed(what: string): TsvmError {
  return new TsvmError('INVALID_ARGUMENT', `malformed protobuf message: ${what}`)
}

const utf8Encoder = new TextEncoder()
const utf8Decoder = new TextDecoder()
const EMPTY = new Uint8Array(0)

/** Node's Buffer pool serves allocations below half its size from one shared slab. */
const POOLED_BELOW = Buffer.poolSize >>> 1

/**
 * A plain Uint8Array of `n` uninitialised bytes, carved from Node's Buffer pool when it is small:
 * an encoded message lives only until it is framed and written, and a fresh ArrayBuffer of its
 * own (a malloc and, later, a sweep) for each was a tenth of a gRPC call's CPU.
 */
function scratch(n: number): Uint8Array {
  if (n >= POOLED_BELOW) return new Uint8Array(n)
  const b = Buffer.allocUnsafe(n)
  return new Uint8Array(b.buffer, b.byteOffset, n)
}

/** A growable output buffer. */
class Writer {
  buf: Uint8Array = new Uint8Array(64)
  pos = 0

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return
    let size = this.buf.length * 2
    while (size < this.pos + n) size *= 2
    const next = scratch(size)
    next.set(this.buf.subarray(0, this.pos))
    this.buf = next
  }

  /** A varint of a non-negative safe integer. */
  uvarint(n: number): void {
    this.room(10)
    while (n > 0x7f) {
      this.buf[this.pos++] = (n % 128) | 0x80
      n = Math.floor(n / 128)
    }

    this.buf[this.pos++] = n
  }

  /** A varint of a 64-bit value (taken modulo 2^64, so negative values take 10 bytes). */
  varint64(v: bigint): void {
    let u = BigInt.asUintN(64, v)
    if (u <= 0x1f_ff_ff_ff_ff_ff_ffn) {
      this.uvarint(Number(u))
      return
    }

    this.room(10)
    while (u > 0x7fn) {
      this.buf[this.pos++] = Number(u & 0x7fn) | 0x80
      u >>= 7n
    }

    this.buf[this.pos++] = Number(u)
  }

  bytes(b: Uint8Array): void {
    this.uvarint(b.length)
    this.room(b.length)
    this.buf.set(b, this.pos)
    this.pos += b.length
  }

  finish(): Uint8Array {
    return this.buf.subarray(0, this.pos)
  }
}

/** A cursor over an input buffer. */
class Reader {
  pos = 0

  constructor(readonly buf: Uint8Array) {}

  get done(): boolean {
    return this.pos >= this.buf.length
  }

  /** A varint as a bigint (up to 10 bytes, modulo 2^64). */
  varint64(): bigint {
    let result = 0n
    let shift = 0n
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.buf.length) throw malformed('truncated varint')
      const b = this.buf[this.pos++]!
      result |= BigInt(b & 0x7f) << shift
      if (b < 0x80) return BigInt.asUintN(64, result)
      shift += 7n
    }

    throw malformed('varint longer than 10 bytes')
  }

  /** A varint's low 32 bits as an unsigned number (the rest is consumed). */
  varint32(): number {
    let result = 0
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.buf.length) throw malformed('truncated varint')
      const b = this.buf[this.pos++]!
      if (i < 5) result += (b & 0x7f) * 2 ** (7 * i)
      if (b < 0x80) return result % 2 ** 32
    }

    throw malformed('varint longer than 10 bytes')
  }

  /** A length-delimited field's bytes (a view into the input). */
  delimited(): Uint8Array {
    const len = this.varint32()
    if (len > this.buf.length - this.pos) throw malformed('length past the end of the message')
    const out = this.buf.subarray(this.pos, this.pos + len)
    this.pos += len
    return out
  }

  skip(wireType: number): void {
    switch (wireType) {
      case 0: {
        this.varint32()
        return
      }

      case 1: {
        this.advance(8)
        return
      }

      case 2: {
        this.delimited()
        return
      }

      case 5: {
        this.advance(4)
        return
      }

      default: {
        throw malformed(`unsupported wire type ${wireType}`)
      }
    }
  }

  private advance(n: number): void {
    if (n > this.buf.length - this.pos) throw malformed('truncated fixed-width field')
    this.pos += n
  }
}

function wireTypeOf(kind: ScalarKind | Codec<unknown, unknown>): number {
  return kind === 'bytes' || kind === 'string' || typeof kind !== 'string' ? 2 : 0
}

function isDefault(kind: ScalarKind, v: unknown): boolean {
  switch (kind) {
    case 'bytes': {
      return (v as Uint8Array).length === 0
    }

    case 'string': {
      return v === ''
    }

    case 'bool': {
      return v === false
    }

    case 'uint64':
    case 'int64': {
      return v === 0n
    }

    default: {
      return v === 0
    }
  }
}

function writeValue(w: Writer, kind: ScalarKind | Codec<unknown, unknown>, v: unknown): void {
  if (typeof kind !== 'string') {
    w.bytes(kind.encode(v as never))
    return
  }

  switch (kind) {
    case 'bytes': {
      w.bytes(v as Uint8Array)
      return
    }

    case 'string': {
      w.bytes(utf8Encoder.encode(v as string))
      return
    }

    case 'bool': {
      w.uvarint(v ? 1 : 0)
      return
    }

    case 'uint64':
    case 'int64': {
      w.varint64(v as bigint)
      return
    }

    case 'sint32': {
      const n = v as number
      w.uvarint(((n << 1) ^ (n >> 31)) >>> 0)
      return
    }

    case 'uint32': {
      w.uvarint((v as number) >>> 0)
      return
    }

    default: {
      // int32 and enum: a negative value is sign-extended to 64 bits.
      const n = v as number
      if (n >= 0) w.uvarint(n)
      else w.varint64(BigInt(n))
    }
  }
}

function readValue(r: Reader, kind: ScalarKind | Codec<unknown, unknown>): unknown {
  if (typeof kind !== 'string') return kind.decode(r.delimited())
  switch (kind) {
    case 'bytes': {
      return new Uint8Array(r.delimited()) // a copy, and a plain Uint8Array even when the input is a Buffer
    }

    case 'string': {
      return utf8Decoder.decode(r.delimited())
    }

    case 'bool': {
      return r.varint64() !== 0n
    }

    case 'uint64': {
      return r.varint64()
    }

    case 'int64': {
      return BigInt.asIntN(64, r.varint64())
    }

    case 'uint32': {
      return r.varint32()
    }

    case 'sint32': {
      const z = r.varint32()
      return (z >>> 1) ^ -(z & 1)
    }

    default: {
      // eslint-disable-next-line unicorn/prefer-math-trunc -- the two's-complement wrap to int32 is the point, not truncation
      return r.varint32() | 0
    }
  }
}

function defaultOf(spec: FieldSpec): unknown {
  if (spec.label === 'repeated') return []
  if (spec.label === 'optional' || typeof spec.kind !== 'string') return undefined
  switch (spec.kind) {
    case 'bytes': {
      return EMPTY
    }

    case 'string': {
      return ''
    }

    case 'bool': {
      return false
    }

    case 'uint64':
    case 'int64': {
      return 0n
    }

    default: {
      return 0
    }
  }
}

/** A codec for a message with these fields. */
export function message<const F extends Record<string, FieldSpec>>(fields: F): Codec<MessageOf<F>, MessageInput<F>> {
  const names = Object.keys(fields).sort((a, b) => fields[a]!.no - fields[b]!.no)
  const specs = names.map((name) => ({name, ...fields[name]!, wire: wireTypeOf(fields[name]!.kind)}))
  const byNumber = new Map(specs.map((s) => [s.no, s]))
  return {
    fields,
    encode(value) {
      const w = new Writer()
      const v = value as Record<string, unknown>
      for (const s of specs) {
        const x = v[s.name]
        if (x === undefined) continue
        const tag = (s.no << 3) | s.wire
        if (s.label === 'repeated') {
          for (const item of x as unknown[]) {
            w.uvarint(tag)
            writeValue(w, s.kind, item)
          }

          continue
        }

        if (s.label !== 'optional' && typeof s.kind === 'string' && isDefault(s.kind, x)) continue
        w.uvarint(tag)
        writeValue(w, s.kind, x)
      }

      return w.finish()
    },
    decode(bytes) {
      const out: Record<string, unknown> = {}
      for (const s of specs) out[s.name] = defaultOf(s)
      const r = new Reader(bytes)
      while (!r.done) {
        const tag = r.varint32()
        const no = tag >>> 3
        const wire = tag & 7
        if (no === 0) throw malformed('field number 0')
        const s = byNumber.get(no)
        if (s === undefined) {
          r.skip(wire)
          continue
        }

        if (wire !== s.wire) throw malformed(`field ${no} has wire type ${wire}, expected ${s.wire}`)
        const value = readValue(r, s.kind)
        if (s.label === 'repeated') (out[s.name] as unknown[]).push(value)
        else out[s.name] = value
      }

      return out as MessageOf<F>
    },
  }
}

/** google.protobuf.Empty: no fields, zero bytes. */
export const Empty = message({})
