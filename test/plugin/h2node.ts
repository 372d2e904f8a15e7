// The node's side of gRPC for the benchmark: AvalancheGo is Go, and its per-call cost is
// grpc-go's, far below grpc-js's or node:http2's, so a bench that played the node with either
// would mostly time the harness. This side stands in for a peer as cheap per call as grpc-go: it
// runs on the plugin's own HTTP/2 framing (src/plugin/h2.ts) with a unary-call layer of its own.
// Sharing the framing is deliberate and costs no coverage: the tests check the plugin's transport
// against two independent implementations (grpc-js, and node:http2's raw frames in
// h2grpc.test.ts); here it only has to be fast and correct enough to drive a chain, which the
// "benchmark's node side" test checks.
//
// Unary calls only: HEADERS (POST, :path, content-type application/grpc, te trailers), one
// length-prefixed message (flag 0 | uint32 BE length | bytes), then the reply's message and its
// grpc-status, from the trailers or from a trailers-only reply.
import {connect, createServer, type Socket} from 'node:net'

import {Connection, type Fields, H2Error} from '../../src/plugin/h2.js'
import {encodeHeaders} from '../../src/plugin/hpack.js'
import type {Method} from '../../src/plugin/messages.js'

type AnyMethod = Method<unknown, unknown, never, never>

/** A non-OK status as this client or server sees it. */
export class H2StatusError extends Error {
  constructor(
    readonly code: number,
    readonly details: string,
  ) {
    super(`${code}: ${details}`)
  }
}

const prefixed = (bytes: Uint8Array): Buffer => {
  const out = Buffer.allocUnsafe(5 + bytes.length)
  out[0] = 0
  out.writeUInt32BE(bytes.length, 1)
  out.set(bytes, 5)
  return out
}

function message(chunks: Buffer[]): Uint8Array {
  const all = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)
  if (all.length < 5 || all[0] !== 0 || all.readUInt32BE(1) !== all.length - 5)
    throw new H2StatusError(13, `not one uncompressed message (${all.length} bytes)`)
  return all.subarray(5)
}

const field = (fields: Fields, name: string): string | undefined => fields.find(([n]) => n === name)?.[1]

/** The node's client of one plugin address: one HTTP/2 connection, unary calls. */
export class H2NodeClient {
  private readonly conn: Connection
  private readonly heads = new Map<string, Buffer>()

  constructor(readonly address: string) {
    const [host, port] = address.split(':')
    this.conn = new Connection(connect({host, port: Number(port)}), {role: 'client'})
  }

  /** A call that can be cancelled (RST_STREAM CANCEL). */
  start<Req, Res, ReqIn>(m: Method<Req, Res, ReqIn, never>, request: ReqIn): {result: Promise<Res>; cancel(): void} {
    let head = this.heads.get(m.path)
    if (!head) {
      head = encodeHeaders([
        [':method', 'POST'],
        [':scheme', 'http'],
        [':path', m.path],
        [':authority', this.address],
        ['content-type', 'application/grpc'],
        ['te', 'trailers'],
      ])
      this.heads.set(m.path, head)
    }

    const stream = this.conn.request(head, prefixed(m.request.encode(request)))
    if (!stream) return {result: Promise.reject(new H2StatusError(14, 'connection closed')), cancel() {}}
    const result = new Promise<Res>((resolve, reject) => {
      const chunks: Buffer[] = []
      let status: number | undefined
      let details = ''
      stream.onHeaders = (fields) => {
        const s = field(fields, 'grpc-status')
        if (s === undefined) return
        status = Number(s)
        details = decodeURIComponent(field(fields, 'grpc-message') ?? '')
      }

      stream.onData = (c) => chunks.push(c)
      stream.onClose = () => reject(new H2StatusError(1, `no status (stream reset ${stream.rstCode})`))
      stream.onEnd = () => {
        if (status === undefined) reject(new H2StatusError(13, 'no grpc-status'))
        else if (status === 0) {
          try {
            resolve(m.response.decode(message(chunks)))
          } catch (error) {
            reject(error)
          }
        } else reject(new H2StatusError(status, details))
      }
    })
    return {
      result,
      cancel: () => {
        this.conn.reset(stream, H2Error.CANCEL)
        stream.onClose?.(H2Error.CANCEL)
      },
    }
  }

  call<Req, Res, ReqIn>(m: Method<Req, Res, ReqIn, never>, request: ReqIn): Promise<Res> {
    return this.start(m, request).result
  }

  close(): void {
    this.conn.close()
  }
}

const OK_HEADERS = encodeHeaders([
  [':status', '200'],
  ['content-type', 'application/grpc'],
])
const OK_TRAILERS = encodeHeaders([['grpc-status', '0']])

const trailersOnly = (code: number, text: string): Buffer =>
  encodeHeaders([
    [':status', '200'],
    ['content-type', 'application/grpc'],
    ['grpc-status', String(code)],
    ['grpc-message', encodeURIComponent(text)],
  ])

/** Serves unary methods on 127.0.0.1 (the node's rpcdb server in the bench). */
export async function serveH2(
  methods: Record<string, [AnyMethod, (request: never, call: never) => unknown]>,
): Promise<{address: string; stop(): void}> {
  const routes = new Map(Object.values(methods).map(([m, fn]) => [m.path, {m, fn}]))
  const connections = new Set<Connection>()
  const server = createServer((socket: Socket) => {
    const conn: Connection = new Connection(socket, {
      role: 'server',
      onClose: () => connections.delete(conn),
      onStream(stream, fields) {
        const route = routes.get(field(fields, ':path') ?? '')
        const chunks: Buffer[] = []
        stream.onData = (c) => chunks.push(c)
        stream.onEnd = async () => {
          if (!route)
            return conn.send(stream, {headers: trailersOnly(12, `unknown method ${field(fields, ':path')}`), end: true})
          try {
            const reply = prefixed(
              route.m.response.encode(
                (await route.fn(route.m.request.decode(message(chunks)) as never, undefined as never)) as never,
              ),
            )
            conn.send(stream, {headers: OK_HEADERS, data: reply, trailers: OK_TRAILERS, end: true})
          } catch (error) {
            const code = (error as {grpcCode?: number}).grpcCode ?? 2
            conn.send(stream, {headers: trailersOnly(code, (error as Error).message), end: true})
          }
        }
      },
    })
    connections.add(conn)
  })
  await new Promise<void>((resolve) => {
    server.listen(0, '127.0.0.1', resolve)
  })
  return {
    address: `127.0.0.1:${(server.address() as {port: number}).port}`,
    stop() {
      server.close()
      for (const c of connections) c.destroy()
    },
  }
}
