// gRPC unary calls on the plugin's own HTTP/2 (h2.ts), both ways: the plugin's server (vm.VM, http.HTTP) and its
// clients (vm.runtime.Runtime/Initialize, rpcdb.Database, the node's Reader and Writer during an
// http.HTTP/Handle call). Messages go through the codecs of messages.ts.
//
// Why not @grpc/grpc-js, or node:http2: every block the node hands the plugin costs four round
// trips (ParseBlock, BlockVerify and BlockAccept from the node, the accept's rpcdb WriteBatch back
// to it). grpc-js's per-call work (call stack, filters, metadata objects, channel state) put one
// round trip at ~0.55 ms, node:http2's per-stream machinery at ~0.3 ms, against ~0.05 ms for the
// socket itself. Everything the plugin needs of gRPC is unary calls over cleartext HTTP/2, which
// runs here on the plugin's own HTTP/2 framing (h2.ts). grpc-js stays what the test harness plays
// the node with: the plugin is tested against an independent gRPC implementation.
//
// The wire, as grpc-go speaks it to plugins (cleartext HTTP/2 with prior knowledge):
//   request     HEADERS  :method POST, :scheme http, :path /<package>.<Service>/<Method>,
//                        content-type application/grpc, te trailers, [grpc-timeout 100m]
//               DATA     flag (1 byte: 0 = uncompressed) | length (uint32 BE) | message, END_STREAM
//   response    HEADERS  :status 200, content-type application/grpc
//               DATA     flag | length | message
//               HEADERS  grpc-status 0, END_STREAM (trailers)
//   failure     one HEADERS frame with END_STREAM ("trailers-only"): :status 200, content-type,
//               grpc-status N, grpc-message (UTF-8, bytes outside 0x20-0x7e and '%' as %XX)
// A unary call carries exactly one message each way. No compression is negotiated: a message
// flagged compressed, or a grpc-encoding other than identity, is refused as grpc-go refuses it.
// No message size limit (the node sets none either way; rpcchainvm notes §2.3). Cancellation is
// RST_STREAM both ways: a handler sees it as its call's AbortSignal (the node cancels WaitForEvent
// so). grpc-timeout is honoured when sent (the node sends none; the probe does). The node's
// keepalive PINGs are answered by h2.ts, and this side never pings (the node answers pings more
// often than every 5 s with GOAWAY too_many_pings).
import {connect, createServer, type Server, type Socket} from 'node:net'

import {Connection, H2Error, headerMap, type Stream} from './h2.js'
import {encodeHeaders} from './hpack.js'
import type {Method} from './messages.js'

/** gRPC status codes. */
export const Status = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const

/** A gRPC status code. */
export type StatusCode = (typeof Status)[keyof typeof Status]

const STATUS_NAMES = Object.fromEntries(Object.entries(Status).map(([name, code]) => [code, name])) as Record<
  number,
  string
>

/** A non-OK status: thrown by a handler to choose its code, or received by a client call. */
export class StatusError extends Error {
  /** The text that goes over the wire as grpc-message. */
  readonly details: string

  constructor(
    readonly code: number,
    details: string,
    message = details,
  ) {
    super(message)
    this.details = details
  }

  /** A status a client received: the message names the code, as grpc's clients print it. */
  static received(code: number, details: string): StatusError {
    return new StatusError(code, details, `${code} ${STATUS_NAMES[code] ?? 'UNKNOWN'}: ${details}`)
  }
}

// ------------------------------------------------------------------------------ shared wire code

/** One message with its 5-byte prefix. */
function frame(message: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + message.length)
  out[0] = 0
  out.writeUInt32BE(message.length, 1)
  out.set(message, 5)
  return out
}

/**
 * The single message of a unary call's DATA, or the status that refuses it. `side` names the
 * message in the error text ("request" or "response").
 */
export function unframe(data: Buffer, side: string): Uint8Array | StatusError {
  if (data.length === 0) return new StatusError(Status.INTERNAL, `no ${side} message: a unary call carries exactly one`)
  if (data.length < 5)
    return new StatusError(Status.INTERNAL, `${side} message prefix cut short (${data.length} of 5 bytes)`)
  const flag = data[0]!
  const length = data.readUInt32BE(1)
  if (flag === 1) {
    return new StatusError(
      Status.INTERNAL,
      `the ${side} message is flagged compressed, but no compression was negotiated (grpc-encoding identity): send it uncompressed`,
    )
  }

  if (flag !== 0) return new StatusError(Status.INTERNAL, `unexpected ${side} payload format ${flag} (flag must be 0)`)
  if (data.length < 5 + length)
    return new StatusError(Status.INTERNAL, `${side} message cut short: ${data.length - 5} of ${length} bytes`)
  if (data.length > 5 + length) return new StatusError(Status.INTERNAL, `more than one ${side} message on a unary call`)
  return data.subarray(5)
}

/** grpc-message's percent-encoding of UTF-8 text (gRPC over HTTP/2, "Responses"). */
export function encodeGrpcMessage(text: string): string {
  if (/^[\u0020-\u0024\u0026-\u007E]*$/.test(text)) return text
  let out = ''
  for (const b of Buffer.from(text, 'utf8'))
    out +=
      b < 0x20 || b > 0x7e || b === 0x25 ? `%${b.toString(16).toUpperCase().padStart(2, '0')}` : String.fromCodePoint(b)
  return out
}

/** Decodes grpc-message; a malformed escape is kept as it came. */
export function decodeGrpcMessage(text: string): string {
  if (!text.includes('%')) return text
  const bytes: number[] = []
  for (let i = 0; i < text.length; i++) {
    const hex = text.slice(i + 1, i + 3)
    if (text[i] === '%' && /^[\dA-Fa-f]{2}$/.test(hex)) {
      bytes.push(Number.parseInt(hex, 16))
      i += 2
    } else bytes.push(...Buffer.from(text[i]!, 'utf8'))
  }

  return Buffer.from(bytes).toString('utf8')
}

const TIMEOUT_UNITS: Record<string, number> = {H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000_001}

/** grpc-timeout in ms: 1 to 8 digits and a unit; undefined if malformed. */
export function parseGrpcTimeout(value: string): number | undefined {
  const m = /^(\d{1,8})([HMSmun])$/.exec(value)
  return m ? Number(m[1]) * TIMEOUT_UNITS[m[2]!]! : undefined
}

/** The status of an HTTP response that is not gRPC (gRPC's "HTTP to gRPC status code mapping"). */
const HTTP_STATUS_CODES: Record<number, StatusCode> = {
  400: Status.INTERNAL,
  401: Status.UNAUTHENTICATED,
  403: Status.PERMISSION_DENIED,
  404: Status.UNIMPLEMENTED,
  429: Status.UNAVAILABLE,
  502: Status.UNAVAILABLE,
  503: Status.UNAVAILABLE,
  504: Status.UNAVAILABLE,
}

/** The status of a stream the peer reset without a grpc-status. */
function rstStatusCode(code: number): StatusCode {
  if (code === H2Error.REFUSED_STREAM) return Status.UNAVAILABLE
  if (code === H2Error.CANCEL) return Status.CANCELLED
  if (code === H2Error.ENHANCE_YOUR_CALM) return Status.RESOURCE_EXHAUSTED
  if (code === H2Error.INADEQUATE_SECURITY) return Status.PERMISSION_DENIED
  return Status.INTERNAL
}

const isGrpcContentType = (ct: unknown): boolean => typeof ct === 'string' && /^application\/grpc([+;]|$)/.test(ct)

// ------------------------------------------------------------------------------------ server

/** Any method (its request and response codecs are used with the types they declare). */
type AnyMethod = Method<unknown, unknown, never, never>

/** What a handler knows of its call. */
export interface CallContext {
  /** Aborted when the caller cancels (RST_STREAM), its deadline passes or the connection drops. */
  readonly signal: AbortSignal
}

/** A unary handler: the decoded request in, the response out. */
export type UnaryHandler<Req, ResIn> = (request: Req, call: CallContext) => Promise<ResIn> | ResIn

/** The handlers of a whole service, one per method. */
export type Handlers<S extends Record<string, AnyMethod>> = {
  [K in keyof S]: S[K] extends Method<infer Req, unknown, never, infer ResIn> ? UnaryHandler<Req, ResIn> : never
}

interface Route {
  name: string
  method: AnyMethod
  handler: UnaryHandler<unknown, unknown>
  onError?: ((method: string, error: unknown) => void) | undefined
}

/** A reply's headers and its OK trailers never change: encoded once. */
const OK_HEADERS = encodeHeaders([
  [':status', '200'],
  ['content-type', 'application/grpc'],
])
const OK_TRAILERS = encodeHeaders([['grpc-status', '0']])

/** One call on the server side: answers once, whatever comes first (reply, failure, cancel, deadline). */
class ServerCall implements CallContext {
  private abort: AbortController | undefined
  private cancelled = false
  private timer: NodeJS.Timeout | undefined
  done = false

  constructor(
    private readonly conn: Connection,
    private readonly stream: Stream,
  ) {
    stream.onClose = () => this.cancel()
  }

  /** Made on first use: most handlers never look at it. */
  get signal(): AbortSignal {
    if (!this.abort) {
      this.abort = new AbortController()
      if (this.cancelled) this.abort.abort()
    }

    return this.abort.signal
  }

  deadline(ms: number): void {
    // setTimeout cannot wait longer than 2^31-1 ms (it would fire at once); such a deadline never comes.
    if (ms > 2 ** 31 - 1) return
    this.timer = setTimeout(() => {
      this.fail(Status.DEADLINE_EXCEEDED, 'the deadline (grpc-timeout) passed before the reply')
      this.aborted()
    }, ms)
    this.timer.unref()
  }

  private aborted(): void {
    this.cancelled = true
    this.abort?.abort()
  }

  private cancel(): void {
    clearTimeout(this.timer)
    if (this.done) return
    this.done = true
    this.aborted()
  }

  private end(): boolean {
    if (this.done || this.stream.closed) return false
    this.done = true
    clearTimeout(this.timer)
    return true
  }

  reply(message: Uint8Array): void {
    if (!this.end()) return
    this.conn.send(this.stream, {headers: OK_HEADERS, data: frame(message), trailers: OK_TRAILERS, end: true})
  }

  /** Trailers-only: one HEADERS frame that ends the stream. */
  fail(code: number, details: string, httpStatus = 200, extra: Array<[string, string]> = []): void {
    if (!this.end()) return
    const headers = encodeHeaders([
      [':status', String(httpStatus)],
      ['content-type', 'application/grpc'],
      ...extra,
      ['grpc-status', String(code)],
      ['grpc-message', encodeGrpcMessage(details)],
    ])
    this.conn.send(this.stream, {headers, end: true})
  }
}

/** A gRPC server of unary methods on 127.0.0.1. */
export class GrpcServer {
  private readonly routes = new Map<string, Route>()
  private readonly services = new Set<string>()
  private readonly connections = new Set<Connection>()
  private readonly server: Server

  constructor() {
    this.server = createServer((socket: Socket) => {
      const conn: Connection = new Connection(socket, {
        role: 'server',
        onStream: (stream, fields) => this.onStream(conn, stream, fields),
        onClose: () => this.connections.delete(conn),
      })
      this.connections.add(conn)
    })
  }

  /**
   * Adds a service. A handler's error becomes status UNKNOWN with the error's message (as a Go
   * server's plain error does), or the status of a StatusError; `onError` hears of it first.
   */
  addService<S extends Record<string, AnyMethod>>(
    service: S,
    handlers: Handlers<S>,
    onError?: (method: string, error: unknown) => void,
  ): void {
    for (const [name, method] of Object.entries(service)) {
      const handler = (handlers as Record<string, UnaryHandler<unknown, unknown>>)[name]!
      this.routes.set(method.path, {name, method, handler, onError})
      this.services.add(method.path.slice(1, method.path.lastIndexOf('/')))
    }
  }

  /** Listens on 127.0.0.1 (never `localhost`, which may be ::1); returns `127.0.0.1:<port>`. */
  listen(port = 0): Promise<string> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject)
      this.server.listen(port, '127.0.0.1', () => {
        this.server.off('error', reject)
        resolve(`127.0.0.1:${(this.server.address() as {port: number}).port}`)
      })
    })
  }

  /** Stops listening; open connections finish their calls, then close. */
  close(): void {
    this.server.close()
    for (const c of this.connections) c.close()
  }

  /** Stops at once: connections are dropped and their calls cancelled. */
  destroy(): void {
    this.server.close()
    for (const c of this.connections) c.destroy()
  }

  private onStream(conn: Connection, stream: Stream, fields: Array<[string, string]>): void {
    const headers = headerMap(fields)
    const call = new ServerCall(conn, stream)
    const path = headers[':path'] ?? ''
    // A refused call's request is dropped by the connection as it arrives (the stream is reset
    // with NO_ERROR once the answer is out), so the peer is never stuck on flow control.
    if (headers[':method'] !== 'POST')
      return call.fail(Status.INTERNAL, `gRPC calls are POST requests (got ${headers[':method']})`, 405)
    if (!isGrpcContentType(headers['content-type']))
      return call.fail(
        Status.INTERNAL,
        `unexpected content-type ${JSON.stringify(headers['content-type'])}: expected application/grpc`,
        415,
      )
    const route = this.routes.get(path)
    if (!route) {
      const slash = path.lastIndexOf('/')
      const service = path.slice(1, Math.max(slash, 1))
      return call.fail(
        Status.UNIMPLEMENTED,
        this.services.has(service)
          ? `unknown method ${path.slice(slash + 1)} for service ${service}`
          : `unknown service ${service}`,
      )
    }

    const encoding = headers['grpc-encoding']
    if (encoding !== undefined && encoding !== 'identity')
      return call.fail(
        Status.UNIMPLEMENTED,
        `grpc-encoding ${encoding} is not supported: send messages uncompressed (identity)`,
        200,
        [['grpc-accept-encoding', 'identity']],
      )

    const timeout = headers['grpc-timeout']
    if (timeout !== undefined) {
      const ms = parseGrpcTimeout(timeout)
      if (ms === undefined) return call.fail(Status.INTERNAL, `malformed grpc-timeout ${JSON.stringify(timeout)}`)
      call.deadline(ms)
    }

    if (stream.remoteEnded) return this.dispatch(call, route, Buffer.alloc(0))
    const chunks: Buffer[] = []
    stream.onData = (chunk) => chunks.push(chunk)
    stream.onEnd = () => this.dispatch(call, route, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks))
  }

  private dispatch(call: ServerCall, route: Route, data: Buffer): void {
    if (call.done) return
    const message = unframe(data, 'request')
    if (message instanceof StatusError) return call.fail(message.code, message.details)
    let request: unknown
    try {
      request = route.method.request.decode(message)
    } catch (error) {
      return call.fail(
        Status.INTERNAL,
        `the request does not decode as ${route.method.path}'s: ${(error as Error).message}`,
      )
    }

    const failed = (error: unknown) => {
      route.onError?.(route.name, error)
      if (error instanceof StatusError) call.fail(error.code, error.details)
      else call.fail(Status.UNKNOWN, error instanceof Error ? error.message : String(error))
    }

    const answer = (response: unknown) => {
      let bytes: Uint8Array
      try {
        bytes = route.method.response.encode(response as never)
      } catch (error) {
        return failed(error)
      }

      call.reply(bytes)
    }

    try {
      const result = route.handler(request, call)
      if (result instanceof Promise) result.then(answer, failed)
      else answer(result)
    } catch (error) {
      failed(error)
    }
  }
}

// ------------------------------------------------------------------------------------ client

/** Options of one client call. */
export interface CallOptions {
  /** Cancels the call (RST_STREAM CANCEL); it then fails with CANCELLED. */
  signal?: AbortSignal | undefined
  /** Absolute time in ms (Date.now()): sent as grpc-timeout, and the call fails with DEADLINE_EXCEEDED after it. */
  deadline?: number | undefined
}

/**
 * A client connection to one `host:port`, with typed unary calls. One HTTP/2 connection, opened
 * on the first call and again after it closes. A refused connection fails the call with
 * UNAVAILABLE: every address the plugin dials is listening before the node hands it over.
 */
export class UnaryClient {
  private conn: Connection | undefined
  private active = 0
  private closed = false
  /** The request header block of each method, encoded once. */
  private readonly blocks = new Map<string, Buffer>()

  constructor(readonly address: string) {}

  private connection(): Connection {
    const c = this.conn
    if (c && !c.closed && !c.goingAway) return c
    const colon = this.address.lastIndexOf(':')
    const socket = connect({host: this.address.slice(0, colon), port: Number(this.address.slice(colon + 1))})
    const conn: Connection = new Connection(socket, {
      role: 'client',
      onClose: () => {
        if (this.conn === conn) this.conn = undefined
      },
    })
    this.conn = conn
    return conn
  }

  private requestBlock(path: string): Buffer {
    let block = this.blocks.get(path)
    if (!block) {
      block = encodeHeaders([
        [':method', 'POST'],
        [':scheme', 'http'],
        [':path', path],
        [':authority', this.address],
        ['content-type', 'application/grpc'],
        ['te', 'trailers'],
      ])
      this.blocks.set(path, block)
    }

    return block
  }

  /** Calls a unary method. */
  call<Req, Res, ReqIn>(
    method: Method<Req, Res, ReqIn, never>,
    request: ReqIn,
    options: CallOptions = {},
  ): Promise<Res> {
    const refused = (code: number, details: string) => Promise.reject(StatusError.received(code, details))
    if (this.closed) return refused(Status.UNAVAILABLE, `the client of ${this.address} is closed`)
    if (options.signal?.aborted) return refused(Status.CANCELLED, 'cancelled before it started')
    let body: Buffer
    try {
      body = frame(method.request.encode(request))
    } catch (error) {
      return refused(Status.INTERNAL, `the request does not encode: ${(error as Error).message}`)
    }

    let block = this.requestBlock(method.path)
    if (options.deadline !== undefined) {
      const ms = Math.max(1, Math.ceil(options.deadline - Date.now()))
      // The encoding is stateless, so two blocks one after the other are one valid block.
      block = Buffer.concat([block, encodeHeaders([['grpc-timeout', `${Math.min(ms, 99_999_999)}m`]])])
    }

    const conn = this.connection()
    const stream = conn.request(block, body)
    if (!stream) return refused(Status.UNAVAILABLE, `${this.address}: the connection takes no new calls`)
    return new Promise<Res>((resolve, reject) => {
      this.await(conn, stream, method, options, {resolve, reject})
    })
  }

  /** Reads one call's reply (or failure) off its stream. */
  private await<Res>(
    conn: Connection,
    stream: Stream,
    method: Method<unknown, Res, never, never>,
    options: CallOptions,
    {resolve, reject}: {resolve: (response: Res) => void; reject: (error: StatusError) => void},
  ): void {
    let timer: NodeJS.Timeout | undefined
    let local: StatusError | undefined
    if (this.active++ === 0) conn.socket.ref()
    const chunks: Buffer[] = []
    let response: Record<string, string> | undefined
    let trailers: Record<string, string> | undefined
    let settled = false
    const stop = (error: StatusError) => {
      local ??= error
      conn.reset(stream, H2Error.CANCEL)
      settle()
    }

    const onAbort = () => stop(StatusError.received(Status.CANCELLED, 'cancelled by the caller'))

    const settle = () => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      options.signal?.removeEventListener('abort', onAbort)
      if (--this.active === 0 && !conn.closed) conn.socket.unref()
      if (local) return reject(local)
      const last = trailers ?? response
      const status = last?.['grpc-status']
      if (status === undefined) {
        const http = response === undefined ? undefined : Number(response[':status'])
        if (http !== undefined && http !== 200)
          return reject(
            StatusError.received(HTTP_STATUS_CODES[http] ?? Status.UNKNOWN, `HTTP status ${http} from ${this.address}`),
          )
        if (stream.rstCode !== undefined)
          return reject(
            StatusError.received(rstStatusCode(stream.rstCode), `the stream was reset (HTTP/2 code ${stream.rstCode})`),
          )
        if (conn.closed)
          return reject(
            StatusError.received(
              Status.UNAVAILABLE,
              `${this.address}: ${conn.error?.message ?? 'the connection closed before the reply'}`,
            ),
          )
        return reject(StatusError.received(Status.INTERNAL, 'the stream ended without a grpc-status'))
      }

      const code = Number(status)
      if (code !== Status.OK) return reject(StatusError.received(code, decodeGrpcMessage(last!['grpc-message'] ?? '')))
      if (!isGrpcContentType(response?.['content-type']))
        return reject(
          StatusError.received(
            Status.INTERNAL,
            `unexpected content-type ${JSON.stringify(response?.['content-type'])}`,
          ),
        )
      const message = unframe(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks), 'response')
      if (message instanceof StatusError) return reject(StatusError.received(message.code, message.details))
      try {
        resolve(method.response.decode(message))
      } catch (error) {
        reject(
          StatusError.received(
            Status.INTERNAL,
            `the response does not decode as ${method.path}'s: ${(error as Error).message}`,
          ),
        )
      }
    }

    stream.onHeaders = (fields) => {
      if (response === undefined) response = headerMap(fields)
      else trailers = headerMap(fields)
    }

    stream.onData = (chunk) => chunks.push(chunk)
    stream.onEnd = settle
    stream.onClose = settle
    // setTimeout cannot wait longer than 2^31-1 ms (it would fire at once).
    if (options.deadline !== undefined && options.deadline - Date.now() < 2 ** 31 - 1) {
      timer = setTimeout(
        () => stop(StatusError.received(Status.DEADLINE_EXCEEDED, 'the deadline passed before the reply')),
        Math.max(0, options.deadline - Date.now()),
      )
    }

    options.signal?.addEventListener('abort', onAbort, {once: true})
  }

  /** Closes the connection once its pending calls have finished; later calls fail. */
  close(): void {
    this.closed = true
    this.conn?.close()
  }
}
