// The node's side of gRPC on plain node:http2, for the benchmark: AvalancheGo is Go, and its
// per-call cost is grpc-go's, far below grpc-js's, so a bench that played the node with grpc-js
// would mostly time the harness. Written apart from the plugin's own transport
// (src/plugin/h2grpc.ts) on purpose: the harness must not share gRPC code with what it tests.
// The tests keep driving the plugin with grpc-js (harness.ts), an independent implementation.
//
// Unary calls only: HEADERS (POST, :path, content-type application/grpc, te trailers), one
// length-prefixed message (flag 0 | uint32 BE length | bytes), then the reply's message and its
// grpc-status, from the trailers or from a trailers-only reply.
import * as http2 from 'node:http2'
import {connect, type Socket} from 'node:net'

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
  const out = Buffer.alloc(5 + bytes.length)
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

/** The node's client of one plugin address: one HTTP/2 connection, unary calls. */
export class H2NodeClient {
  private readonly session: http2.ClientHttp2Session

  constructor(readonly address: string) {
    const [host, port] = address.split(':')
    this.session = http2.connect(`http://${address}`, {
      createConnection: () => connect({host, port: Number(port), noDelay: true}),
      maxSessionMemory: Number.MAX_SAFE_INTEGER,
    })
    this.session.on('error', () => {})
  }

  /** A call that can be cancelled (RST_STREAM CANCEL). */
  start<Req, Res, ReqIn>(m: Method<Req, Res, ReqIn, never>, request: ReqIn): {result: Promise<Res>; cancel(): void} {
    const stream = this.session.request({
      ':method': 'POST',
      ':path': m.path,
      'content-type': 'application/grpc',
      te: 'trailers',
    })
    const result = new Promise<Res>((resolve, reject) => {
      const chunks: Buffer[] = []
      let status: number | undefined
      let details = ''
      const take = (h: http2.IncomingHttpHeaders) => {
        if (h['grpc-status'] === undefined) return
        status = Number(h['grpc-status'])
        details = decodeURIComponent(String(h['grpc-message'] ?? ''))
      }

      stream.on('response', take)
      stream.on('trailers', take)
      stream.on('data', (c: Buffer) => chunks.push(c))
      stream.on('error', () => {})
      stream.once('close', () => {
        if (status === undefined) reject(new H2StatusError(1, `no status (stream reset ${stream.rstCode})`))
        else if (status === 0) {
          try {
            resolve(m.response.decode(message(chunks)))
          } catch (error) {
            reject(error)
          }
        } else reject(new H2StatusError(status, details))
      })
    })
    stream.end(prefixed(m.request.encode(request)))
    return {result, cancel: () => stream.close(http2.constants.NGHTTP2_CANCEL)}
  }

  call<Req, Res, ReqIn>(m: Method<Req, Res, ReqIn, never>, request: ReqIn): Promise<Res> {
    return this.start(m, request).result
  }

  close(): void {
    this.session.close()
  }
}

function trailersOnly(stream: http2.ServerHttp2Stream, code: number, text: string): void {
  stream.respond(
    {':status': 200, 'content-type': 'application/grpc', 'grpc-status': code, 'grpc-message': encodeURIComponent(text)},
    {endStream: true},
  )
}

/** Serves unary methods on 127.0.0.1 (the node's rpcdb server in the bench). */
export async function serveH2(
  methods: Record<string, [AnyMethod, (request: never, call: never) => unknown]>,
): Promise<{address: string; stop(): void}> {
  const routes = new Map(Object.values(methods).map(([m, fn]) => [m.path, {m, fn}]))
  const server = http2.createServer({maxSessionMemory: Number.MAX_SAFE_INTEGER})
  const sessions = new Set<http2.ServerHttp2Session>()
  server.on('connection', (s: Socket) => s.setNoDelay(true))
  server.on('session', (s) => {
    sessions.add(s)
    s.on('error', () => {})
    s.once('close', () => sessions.delete(s))
  })
  server.on('stream', (stream, headers) => {
    stream.on('error', () => {})
    const chunks: Buffer[] = []
    stream.on('data', (c: Buffer) => chunks.push(c))
    stream.once('end', async () => {
      const route = routes.get(String(headers[':path']))
      if (!route) return trailersOnly(stream, 12, `unknown method ${headers[':path']}`)
      try {
        const reply = prefixed(
          route.m.response.encode(
            (await route.fn(route.m.request.decode(message(chunks)) as never, undefined as never)) as never,
          ),
        )
        if (stream.destroyed) return
        stream.respond({':status': 200, 'content-type': 'application/grpc'}, {waitForTrailers: true})
        stream.once('wantTrailers', () => stream.sendTrailers({'grpc-status': '0'}))
        stream.end(reply)
      } catch (error) {
        if (!stream.destroyed)
          trailersOnly(stream, (error as {grpcCode?: number}).grpcCode ?? 2, (error as Error).message)
      }
    })
  })
  await new Promise<void>((resolve) => {
    server.listen(0, '127.0.0.1', resolve)
  })
  return {
    address: `127.0.0.1:${(server.address() as {port: number}).port}`,
    stop() {
      server.close()
      for (const s of sessions) s.destroy()
    },
  }
}
