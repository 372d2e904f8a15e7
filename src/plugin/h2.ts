// HTTP/2 connections (RFC 9113) on a net.Socket, for gRPC's unary calls and nothing more:
// cleartext with prior knowledge, the framing, SETTINGS, flow control both ways, PING, RST_STREAM,
// GOAWAY and header blocks (hpack.ts). No priorities, no server push, no upgrade from HTTP/1.1.
//
// Why not node:http2: each block the node hands the plugin costs four round trips, and
// node:http2's per-stream machinery (a Duplex per stream, header objects built and checked in
// JavaScript, a reply leaving as separate writes for its headers, data and trailers) cost about
// 0.15 ms of CPU per call on each side, ten times the socket round trip itself. Here a call is a
// few small objects, a reply or a request leaves as one write, and header blocks that never
// change (a reply's 200 and its OK trailers, a method's request headers) are encoded once.
//
// A frame: length (24 bits) | type (8) | flags (8) | R (1) + stream id (31) | payload.
//   DATA 0 [END_STREAM 0x1, PADDED 0x8]   HEADERS 1 [END_STREAM, END_HEADERS 0x4, PADDED, PRIORITY 0x20]
//   PRIORITY 2   RST_STREAM 3   SETTINGS 4 [ACK 0x1]   PUSH_PROMISE 5   PING 6 [ACK]   GOAWAY 7
//   WINDOW_UPDATE 8   CONTINUATION 9 [END_HEADERS]
//
// Flow control: this side opens every window as wide as HTTP/2 allows (2^31-1) and tops it up
// when half of it is used, so a peer never waits on it; what this side sends follows the peer's
// windows and frame size, queueing what does not fit until its WINDOW_UPDATE.
import type {Socket} from 'node:net'

import {HpackDecoder, HpackError} from './hpack.js'

/** Header fields in wire order: lowercase names, latin1 values. */
export type Fields = Array<[string, string]>

/** The client's connection preface. */
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1')

const DATA = 0
const HEADERS = 1
const RST_STREAM = 3
const SETTINGS = 4
const PUSH_PROMISE = 5
const PING = 6
const GOAWAY = 7
const WINDOW_UPDATE = 8
const CONTINUATION = 9

const END_STREAM = 0x1
const ACK = 0x1
const END_HEADERS = 0x4
const PADDED = 0x8
const PRIORITY_FLAG = 0x20

/** HTTP/2 error codes (RFC 9113 §7). */
export const H2Error = {
  NO_ERROR: 0,
  PROTOCOL_ERROR: 1,
  INTERNAL_ERROR: 2,
  FLOW_CONTROL_ERROR: 3,
  STREAM_CLOSED: 5,
  FRAME_SIZE_ERROR: 6,
  REFUSED_STREAM: 7,
  CANCEL: 8,
  COMPRESSION_ERROR: 9,
  ENHANCE_YOUR_CALM: 11,
  INADEQUATE_SECURITY: 12,
} as const

const MAX_WINDOW = 2 ** 31 - 1
/** Stream IDs are 31 bits: a client past this one needs a new connection. */
const MAX_STREAM_ID = 2 ** 31 - 1
const DEFAULT_WINDOW = 65_535
/** The largest frame this side accepts (SETTINGS_MAX_FRAME_SIZE): a 1 MiB message takes one frame. */
const OUR_MAX_FRAME = 1 << 20
/** An HPACK dynamic table size update to 0 (RFC 7541 §6.3). */
const TABLE_SIZE_ZERO = Buffer.of(0x20)
/** Received bytes after which a window is topped up again. */
const TOP_UP = 2 ** 30
/** A header block larger than this (HEADERS + CONTINUATION) is refused: no gRPC call needs one. */
const MAX_HEADER_BLOCK = 1 << 20

/** One stream of a connection: what arrives is handed to its callbacks, in order. */
export class Stream {
  /** What this side may still send on it (the peer's window). */
  sendWindow: number
  /** Bytes received since the last WINDOW_UPDATE for it. */
  received = 0
  /** This side has sent END_STREAM. */
  localEnded = false
  /** The peer has sent END_STREAM. */
  remoteEnded = false
  closed = false
  /** The RST_STREAM code that closed it, if one did. */
  rstCode: number | undefined
  /** Data waiting for the peer's window, and what follows it. */
  queued: {data: Buffer; trailers: Buffer | undefined; end: boolean} | undefined
  /** A header block arrived (a response's headers, or trailers). */
  onHeaders: ((fields: Fields, endStream: boolean) => void) | undefined
  onData: ((chunk: Buffer) => void) | undefined
  /** The peer ended its side. */
  onEnd: (() => void) | undefined
  /** The stream ended abnormally: reset by the peer (with its code), or the connection was lost. */
  onClose: ((rstCode?: number) => void) | undefined

  constructor(
    readonly id: number,
    window: number,
  ) {
    this.sendWindow = window
  }
}

export interface ConnectionOptions {
  /** A client sends the preface and opens odd streams; a server accepts them. */
  role: 'client' | 'server'
  /** Server: a new stream opened by the peer, with its request headers. */
  onStream?: (stream: Stream, fields: Fields, endStream: boolean) => void
  /** The socket closed; every open stream has had its onClose. */
  onClose?: (error: Error | undefined) => void
}

// Polling after a write. The node's calls are serial: a reply goes out, the node works for a
// moment, and its next call arrives, so every call hands the work from one process to the other
// and back. When this process then sleeps in epoll, its CPU may halt, and the node's next write
// must wake it: on a virtual machine without guest halt-polling that costs tens of microseconds
// on both sides. Keeping the event loop polling (setImmediate makes libuv poll with a zero
// timeout) for a short window after each write keeps the CPU running while an answer is likely,
// as Go's scheduler spins before it parks. The window costs at most that much CPU per write and
// nothing at all while no calls come; `setPollAfterWrite(0)` turns it off.
let pollAfterWriteMs = 0
let pollUntil = 0
let polling = false

/** Keep the event loop polling for `ms` milliseconds after each write, process-wide (0: off). */
export function setPollAfterWrite(ms: number): void {
  pollAfterWriteMs = ms
}

/** Whether the event loop is being kept polling now. */
export function pollingAfterWrite(): boolean {
  return polling
}

function poll(): void {
  if (pollAfterWriteMs > 0 && performance.now() < pollUntil) setImmediate(poll)
  else polling = false
}

function keepPolling(): void {
  pollUntil = performance.now() + pollAfterWriteMs
  if (polling) return
  polling = true
  setImmediate(poll)
}

/** Writes a frame header at `at`. */
function head(out: Buffer, at: number, length: number, type: number, flags: number, id: number): void {
  out[at] = length >>> 16
  out[at + 1] = (length >>> 8) & 0xff
  out[at + 2] = length & 0xff
  out[at + 3] = type
  out[at + 4] = flags
  out.writeUInt32BE(id, at + 5)
}

/** One frame. */
function frameOf(type: number, flags: number, id: number, payload?: Uint8Array): Buffer {
  const n = payload?.length ?? 0
  const out = Buffer.allocUnsafe(9 + n)
  head(out, 0, n, type, flags, id)
  if (payload) out.set(payload, 9)
  return out
}

/** SETTINGS of this side: wide stream windows, large frames, no server push from a server. */
function ourSettings(role: 'client' | 'server'): Buffer {
  const entries: Array<[number, number]> = [
    [0x4, MAX_WINDOW], // INITIAL_WINDOW_SIZE
    [0x5, OUR_MAX_FRAME], // MAX_FRAME_SIZE
  ]
  if (role === 'client') entries.unshift([0x2, 0]) // ENABLE_PUSH off
  const payload = Buffer.allocUnsafe(6 * entries.length)
  for (const [i, [id, value]] of entries.entries()) {
    payload.writeUInt16BE(id, 6 * i)
    payload.writeUInt32BE(value, 6 * i + 2)
  }

  return frameOf(SETTINGS, 0, 0, payload)
}

function windowUpdate(id: number, increment: number): Buffer {
  const out = Buffer.allocUnsafe(13)
  head(out, 0, 4, WINDOW_UPDATE, 0, id)
  out.writeUInt32BE(increment, 9)
  return out
}

/** A failure of the connection as a whole: GOAWAY with `code`, then close. */
class ConnectionError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message)
  }
}

/** Header fields as an object: the first value of each name. */
export function headerMap(fields: Fields): Record<string, string> {
  const map: Record<string, string> = Object.create(null)
  for (const [name, value] of fields) if (map[name] === undefined) map[name] = value
  return map
}

/** An HTTP/2 connection over a connected socket. */
export class Connection {
  private readonly streams = new Map<number, Stream>()
  private readonly decoder = new HpackDecoder()
  private nextId = 1
  private lastPeerId = 0
  private peerMaxFrame = 16_384
  private peerWindow = DEFAULT_WINDOW
  private sendWindow = DEFAULT_WINDOW
  private received = 0
  /** Streams with data waiting for a window. */
  private readonly blocked = new Set<Stream>()
  /** Input not yet a whole frame. */
  private pending: Buffer[] = []
  private pendingBytes = 0
  private prefaceLeft: number
  /** A header block being continued: its stream, END_STREAM, fragments. */
  private block: {id: number; end: boolean; parts: Buffer[]; size: number} | undefined
  /** Frames of this tick, written together. */
  private out: Buffer[] = []
  private flushing = false
  /** The peer lowered its header table below 4096: the next header block must say size 0 first. */
  private tableUpdate = false
  private tableSignalled = 4096
  /** GOAWAY was sent or received: no new streams. */
  goingAway = false
  closed = false
  /** What closed the socket, when it was an error. */
  error: Error | undefined

  constructor(
    readonly socket: Socket,
    private readonly options: ConnectionOptions,
  ) {
    this.prefaceLeft = options.role === 'server' ? PREFACE.length : 0
    socket.setNoDelay(true)
    socket.on('data', (chunk: Buffer) => this.input(chunk))
    socket.on('error', (error) => this.lost(error))
    socket.once('close', () => this.lost())
    if (options.role === 'client') this.write(PREFACE)
    this.write(ourSettings(options.role))
    this.write(windowUpdate(0, MAX_WINDOW - DEFAULT_WINDOW))
  }

  /** Streams open now. */
  get size(): number {
    return this.streams.size
  }

  // ------------------------------------------------------------------------------ output

  private write(frame: Buffer): void {
    if (this.closed) return
    this.out.push(frame)
    if (this.flushing) return
    this.flushing = true
    process.nextTick(() => this.flush())
  }

  private flush(): void {
    this.flushing = false
    const {out} = this
    if (out.length === 0 || this.closed) return
    this.out = []
    this.socket.write(out.length === 1 ? out[0]! : Buffer.concat(out))
    if (pollAfterWriteMs > 0) keepPolling()
  }

  /** Header block fragments as HEADERS (+ CONTINUATION) frames within the peer's frame size. */
  private headerFrames(id: number, encoded: Buffer, end: boolean): Buffer {
    let block = encoded
    if (this.tableUpdate) {
      // RFC 7541 §4.2: a peer that shrinks its table must see the change at the start of the
      // next block. This side never indexes, so it always says 0.
      this.tableUpdate = false
      block = Buffer.concat([TABLE_SIZE_ZERO, block])
    }

    const max = this.peerMaxFrame
    if (block.length <= max) {
      const out = Buffer.allocUnsafe(9 + block.length)
      head(out, 0, block.length, HEADERS, END_HEADERS | (end ? END_STREAM : 0), id)
      block.copy(out, 9)
      return out
    }

    const frames: Buffer[] = []
    for (let at = 0; at < block.length; at += max) {
      const part = block.subarray(at, at + max)
      const last = at + max >= block.length
      const type = at === 0 ? HEADERS : CONTINUATION
      frames.push(frameOf(type, (last ? END_HEADERS : 0) | (at === 0 && end ? END_STREAM : 0), id, part))
    }

    return Buffer.concat(frames)
  }

  /** As much of `data` as the windows allow, in DATA frames; returns what was sent and what is left. */
  private dataFrames(stream: Stream, data: Buffer, end: boolean): {frames: Buffer | undefined; rest: Buffer} {
    const n = Math.min(data.length, stream.sendWindow, this.sendWindow)
    const whole = n === data.length
    if (n <= 0 && !(whole && data.length === 0)) return {frames: undefined, rest: data}
    const max = this.peerMaxFrame
    const count = Math.max(1, Math.ceil(n / max))
    const out = Buffer.allocUnsafe(9 * count + n)
    let at = 0
    for (let i = 0; i < count; i++) {
      const part = Math.min(max, n - i * max)
      const last = i === count - 1
      head(out, at, part, DATA, last && whole && end ? END_STREAM : 0, stream.id)
      data.copy(out, at + 9, i * max, i * max + part)
      at += 9 + part
    }

    stream.sendWindow -= n
    this.sendWindow -= n
    return {frames: out, rest: data.subarray(n)}
  }

  /**
   * Sends on a stream, in order: a header block, data, a trailer block (each optional); `end`
   * ends this side with the last of them. Data beyond the peer's windows waits for them.
   */
  send(
    stream: Stream,
    parts: {headers?: Buffer | undefined; data?: Buffer | undefined; trailers?: Buffer | undefined; end: boolean},
  ): void {
    if (stream.closed || stream.localEnded || this.closed) return
    const {headers, data, trailers, end} = parts
    const frames: Buffer[] = []
    if (headers) frames.push(this.headerFrames(stream.id, headers, end && data === undefined && !trailers))
    let rest: Buffer | undefined
    if (data) {
      const sent = this.dataFrames(stream, data, end && !trailers)
      if (sent.frames) frames.push(sent.frames)
      if (sent.rest.length > 0) rest = sent.rest
    }

    if (rest) {
      stream.queued = {data: rest, trailers, end}
      this.blocked.add(stream)
    } else if (trailers) frames.push(this.headerFrames(stream.id, trailers, end))
    for (const f of frames) this.write(f)
    if (end && !rest) this.endLocal(stream)
  }

  /** Sends what waits for a window, as far as the windows now go. */
  private unblock(): void {
    for (const stream of this.blocked) {
      if (this.sendWindow <= 0) return
      const q = stream.queued
      if (!q || stream.closed) {
        this.blocked.delete(stream)
        continue
      }

      const sent = this.dataFrames(stream, q.data, q.end && !q.trailers)
      if (sent.frames) this.write(sent.frames)
      if (sent.rest.length > 0) {
        q.data = sent.rest
        continue
      }

      stream.queued = undefined
      this.blocked.delete(stream)
      if (q.trailers) this.write(this.headerFrames(stream.id, q.trailers, q.end))
      if (q.end) this.endLocal(stream)
    }
  }

  private endLocal(stream: Stream): void {
    stream.localEnded = true
    if (stream.remoteEnded) return this.forget(stream)
    // A server that has answered asks the client to stop sending its request, without error (§8.1).
    if (this.options.role === 'server') {
      this.write(this.rst(stream.id, H2Error.NO_ERROR))
      this.forget(stream)
    }
  }

  private rst(id: number, code: number): Buffer {
    const out = Buffer.allocUnsafe(13)
    head(out, 0, 4, RST_STREAM, 0, id)
    out.writeUInt32BE(code, 9)
    return out
  }

  /** Resets a stream from this side (a client's cancel is CANCEL); its onClose is not called. */
  reset(stream: Stream, code: number): void {
    if (stream.closed) return
    this.write(this.rst(stream.id, code))
    this.forget(stream)
  }

  private forget(stream: Stream): void {
    stream.closed = true
    stream.queued = undefined
    this.streams.delete(stream.id)
    this.blocked.delete(stream)
    if (this.goingAway && this.streams.size === 0) this.end()
  }

  /**
   * Client: opens a stream with a request (header block, then data ending it). Undefined when
   * the connection takes no new streams (closed, going away, or out of stream IDs).
   */
  request(headers: Buffer, data: Buffer): Stream | undefined {
    if (this.closed || this.goingAway || this.nextId > MAX_STREAM_ID) return undefined
    const stream = new Stream(this.nextId, this.peerWindow)
    this.nextId += 2
    this.streams.set(stream.id, stream)
    this.send(stream, {headers, data, end: true})
    return stream
  }

  /** Stops taking new streams (GOAWAY NO_ERROR); the connection closes when its streams are done. */
  close(): void {
    if (this.closed) return
    if (!this.goingAway) {
      this.goingAway = true
      this.write(this.goaway(H2Error.NO_ERROR, ''))
    }

    if (this.streams.size === 0) this.end()
  }

  /** Closes the socket at once; open streams see onClose. */
  destroy(): void {
    this.socket.destroy()
  }

  private end(): void {
    this.flush()
    this.socket.end()
  }

  private goaway(code: number, text: string): Buffer {
    const debug = Buffer.from(text, 'utf8')
    const payload = Buffer.allocUnsafe(8 + debug.length)
    payload.writeUInt32BE(this.lastPeerId, 0)
    payload.writeUInt32BE(code, 4)
    debug.copy(payload, 8)
    return frameOf(GOAWAY, 0, 0, payload)
  }

  /** A connection error: GOAWAY with its code and text, then close. */
  private fail(error: ConnectionError): void {
    if (this.closed) return
    this.goingAway = true
    this.write(this.goaway(error.code, error.message))
    this.flush()
    this.socket.end()
    this.lost(error)
  }

  private lost(error?: Error): void {
    if (this.closed) return
    this.closed = true
    this.error = error
    this.out = []
    const streams = [...this.streams.values()]
    this.streams.clear()
    this.blocked.clear()
    for (const s of streams) {
      s.closed = true
      s.onClose?.()
    }

    if (!this.socket.destroyed) this.socket.destroySoon()
    this.options.onClose?.(error)
  }

  // ------------------------------------------------------------------------------- input

  private input(chunk: Buffer): void {
    if (this.closed) return
    let buf = chunk
    if (this.pendingBytes > 0) {
      this.pending.push(chunk)
      this.pendingBytes += chunk.length
      // Wait for the whole frame before joining the pieces (a large frame arrives in many reads).
      if (this.pendingBytes < this.needed()) return
      buf = Buffer.concat(this.pending, this.pendingBytes)
      this.pending = []
      this.pendingBytes = 0
    }

    let at = 0
    try {
      if (this.prefaceLeft > 0) {
        const n = Math.min(this.prefaceLeft, buf.length)
        const offset = PREFACE.length - this.prefaceLeft
        if (!buf.subarray(0, n).equals(PREFACE.subarray(offset, offset + n)))
          throw new ConnectionError(
            H2Error.PROTOCOL_ERROR,
            'expected the HTTP/2 connection preface: this is a gRPC server (cleartext HTTP/2 with prior knowledge)',
          )
        this.prefaceLeft -= n
        at = n
      }

      while (buf.length - at >= 9) {
        const length = (buf[at]! << 16) | (buf[at + 1]! << 8) | buf[at + 2]!
        if (length > OUR_MAX_FRAME)
          throw new ConnectionError(
            H2Error.FRAME_SIZE_ERROR,
            `a frame of ${length} bytes is over SETTINGS_MAX_FRAME_SIZE ${OUR_MAX_FRAME}`,
          )
        if (buf.length - at < 9 + length) break
        const type = buf[at + 3]!
        const flags = buf[at + 4]!
        const id = buf.readUInt32BE(at + 5) & 0x7f_ff_ff_ff
        const payload = buf.subarray(at + 9, at + 9 + length)
        at += 9 + length
        this.frame(type, flags, id, payload)
        if (this.closed) return
      }
    } catch (error) {
      if (error instanceof ConnectionError) return this.fail(error)
      throw error
    }

    if (at < buf.length) {
      const rest = buf.subarray(at)
      this.pending = [rest]
      this.pendingBytes = rest.length
    }
  }

  /** Bytes the pending input must reach to hold its next whole frame (or the preface). */
  private needed(): number {
    if (this.prefaceLeft > 0) return 1
    const first = this.pending[0]!
    if (this.pendingBytes < 9 || first.length < 3) return 9
    return 9 + ((first[0]! << 16) | (first[1]! << 8) | first[2]!)
  }

  private frame(type: number, flags: number, id: number, payload: Buffer): void {
    if (this.block && type !== CONTINUATION)
      throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'a header block was interrupted by another frame')
    switch (type) {
      case DATA: {
        return this.data(flags, id, payload)
      }

      case HEADERS: {
        return this.headers(flags, id, payload)
      }

      case CONTINUATION: {
        const b = this.block
        if (!b || b.id !== id) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'CONTINUATION without a header block')
        b.parts.push(payload)
        b.size += payload.length
        if (b.size > MAX_HEADER_BLOCK)
          throw new ConnectionError(H2Error.ENHANCE_YOUR_CALM, `a header block over ${MAX_HEADER_BLOCK} bytes`)
        if (flags & END_HEADERS) {
          this.block = undefined
          this.fields(id, Buffer.concat(b.parts, b.size), b.end)
        }

        return
      }

      case RST_STREAM: {
        if (id === 0 || payload.length !== 4) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'malformed RST_STREAM')
        const stream = this.streams.get(id)
        if (!stream) return
        stream.rstCode = payload.readUInt32BE(0)
        this.forget(stream)
        return stream.onClose?.(stream.rstCode)
      }

      case SETTINGS: {
        return this.settings(flags, id, payload)
      }

      case PUSH_PROMISE: {
        throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'server push is disabled (SETTINGS_ENABLE_PUSH 0)')
      }

      case PING: {
        if (id !== 0 || payload.length !== 8) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, 'malformed PING')
        if (!(flags & ACK)) this.write(frameOf(PING, ACK, 0, payload))
        return
      }

      case GOAWAY: {
        if (id !== 0 || payload.length < 8) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'malformed GOAWAY')
        return this.goneAway(payload.readUInt32BE(0) & 0x7f_ff_ff_ff)
      }

      case WINDOW_UPDATE: {
        if (payload.length !== 4) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, 'malformed WINDOW_UPDATE')
        const increment = payload.readUInt32BE(0) & 0x7f_ff_ff_ff
        if (id === 0) {
          if (increment === 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'WINDOW_UPDATE of 0')
          this.sendWindow += increment
          if (this.sendWindow > MAX_WINDOW)
            throw new ConnectionError(H2Error.FLOW_CONTROL_ERROR, 'the connection window went over 2^31-1')
        } else {
          const stream = this.streams.get(id)
          if (!stream) return
          if (increment === 0) return this.streamError(stream, H2Error.PROTOCOL_ERROR)
          stream.sendWindow += increment
          if (stream.sendWindow > MAX_WINDOW) return this.streamError(stream, H2Error.FLOW_CONTROL_ERROR)
        }

        return this.unblock()
      }

      default: // PRIORITY, and frame types this side does not know, are ignored (§5.5)
    }
  }

  /** A stream error: RST_STREAM with the code; the stream's owner hears of it as a reset. */
  private streamError(stream: Stream, code: number): void {
    this.reset(stream, code)
    stream.rstCode = code
    stream.onClose?.(code)
  }

  private data(flags: number, id: number, payload: Buffer): void {
    if (id === 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'DATA on stream 0')
    // Flow control counts the whole payload, padding included.
    this.received += payload.length
    if (this.received >= TOP_UP) {
      this.write(windowUpdate(0, this.received))
      this.received = 0
    }

    const stream = this.streams.get(id)
    if (!stream || stream.remoteEnded) return
    let body = payload
    if (flags & PADDED) body = unpad(payload)
    const end = (flags & END_STREAM) !== 0
    stream.received += payload.length
    if (stream.received >= TOP_UP && !end) {
      this.write(windowUpdate(id, stream.received))
      stream.received = 0
    }

    if (body.length > 0) stream.onData?.(body)
    if (end) this.remoteEnd(stream)
  }

  private headers(flags: number, id: number, payload: Buffer): void {
    if (id === 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'HEADERS on stream 0')
    let block = payload
    if (flags & PADDED) block = unpad(block)
    if (flags & PRIORITY_FLAG) {
      if (block.length < 5) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, 'HEADERS too short for its priority')
      block = block.subarray(5)
    }

    const end = (flags & END_STREAM) !== 0
    if (flags & END_HEADERS) return this.fields(id, block, end)
    this.block = {id, end, parts: [Buffer.from(block)], size: block.length}
  }

  /** A whole header block for stream `id`: decoded in every case (it updates the table), then delivered. */
  private fields(id: number, block: Buffer, end: boolean): void {
    let fields: Fields
    try {
      fields = this.decoder.decode(block)
    } catch (error) {
      if (error instanceof HpackError) throw new ConnectionError(H2Error.COMPRESSION_ERROR, error.message)
      throw error
    }

    const stream = this.streams.get(id)
    if (stream) {
      if (stream.remoteEnded) return
      stream.onHeaders?.(fields, end)
      if (end && !stream.closed) this.remoteEnd(stream)
      return
    }

    if (this.options.role === 'client' || id <= this.lastPeerId) return // a stream already closed
    if (id % 2 === 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, `a client opened even stream ${id}`)
    this.lastPeerId = id
    if (this.goingAway) return this.write(this.rst(id, H2Error.REFUSED_STREAM))
    const opened = new Stream(id, this.peerWindow)
    this.streams.set(id, opened)
    if (end) opened.remoteEnded = true
    this.options.onStream?.(opened, fields, end)
  }

  private remoteEnd(stream: Stream): void {
    stream.remoteEnded = true
    if (stream.localEnded) this.forget(stream)
    stream.onEnd?.()
  }

  private settings(flags: number, id: number, payload: Buffer): void {
    if (id !== 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'SETTINGS on a stream')
    if (flags & ACK) return
    if (payload.length % 6 !== 0) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, 'malformed SETTINGS')
    for (let at = 0; at < payload.length; at += 6) {
      const key = payload.readUInt16BE(at)
      const value = payload.readUInt32BE(at + 2)
      switch (key) {
        case 0x1: {
          // HEADER_TABLE_SIZE
          if (value < this.tableSignalled) {
            this.tableSignalled = 0
            this.tableUpdate = true
          }

          break
        }

        case 0x4: {
          // INITIAL_WINDOW_SIZE
          if (value > MAX_WINDOW)
            throw new ConnectionError(H2Error.FLOW_CONTROL_ERROR, `SETTINGS_INITIAL_WINDOW_SIZE ${value} over 2^31-1`)
          const delta = value - this.peerWindow
          this.peerWindow = value
          for (const s of this.streams.values()) s.sendWindow += delta
          break
        }

        case 0x5: {
          // MAX_FRAME_SIZE
          if (value < 16_384 || value > 16_777_215)
            throw new ConnectionError(H2Error.PROTOCOL_ERROR, `SETTINGS_MAX_FRAME_SIZE ${value} out of range`)
          this.peerMaxFrame = value
          break
        }

        default:
      }

      // ENABLE_PUSH: this side never pushes. MAX_CONCURRENT_STREAMS: the node sets none.
      // MAX_HEADER_LIST_SIZE: advisory.
    }

    this.write(frameOf(SETTINGS, ACK, 0))
    this.unblock()
  }

  private goneAway(lastId: number): void {
    this.goingAway = true
    if (this.options.role === 'client') {
      // Streams the peer never saw are refused: they fail as not processed. (Deleting from a
      // Map while iterating it is safe.)
      for (const s of this.streams.values())
        if (s.id > lastId) {
          s.rstCode = H2Error.REFUSED_STREAM
          this.forget(s)
          s.onClose?.(H2Error.REFUSED_STREAM)
        }
    }

    if (this.streams.size === 0) this.end()
  }
}

function unpad(payload: Buffer): Buffer {
  if (payload.length === 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'a padded frame without its pad length')
  const pad = payload[0]!
  if (pad >= payload.length) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'padding as long as the frame')
  return payload.subarray(1, payload.length - pad)
}
