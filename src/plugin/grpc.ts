// gRPC glue between grpc-js and the codecs of messages.ts: service definitions for a server,
// and promise-returning unary calls for a client. Settings are the node's (§2.3 of the
// rpcchainvm notes): no 4 MiB message limit either way, no keepalive pings from our side (the
// node pings us every 30 s and enforces at least 5 s between pings), no idle or age limits.
import * as grpc from '@grpc/grpc-js'

import type {Method} from './messages.js'

/** Channel options for a server or a client of the node. */
export const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.max_receive_message_length': -1,
  'grpc.max_send_message_length': -1,
  // channelz (call statistics for grpc's debug service, which the plugin never serves) costs
  // work on every call.
  'grpc.enable_channelz': 0,
}

const toBuffer = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength)

/** A unary handler: the decoded request in, the response out; `call` gives cancellation. */
export type UnaryHandler<Req, ResIn> = (request: Req, call: grpc.ServerUnaryCall<Req, ResIn>) => Promise<ResIn> | ResIn

/** The handlers of a whole service, one per method. */
export type Handlers<S extends Record<string, Method<unknown, unknown, unknown, unknown>>> = {
  [K in keyof S]: S[K] extends Method<infer Req, unknown, unknown, infer ResIn> ? UnaryHandler<Req, ResIn> : never
}

/** A service's gRPC status error: what the node receives as a non-OK status. */
export class StatusError extends Error {
  constructor(
    readonly code: grpc.status,
    message: string,
  ) {
    super(message)
  }
}

/**
 * Adds a service to a server. A handler's error becomes status UNKNOWN with the error's message
 * (as a Go server's plain error does), or the status of a StatusError.
 */
export function addService<S extends Record<string, Method<unknown, unknown, unknown, unknown>>>(
  server: grpc.Server,
  service: S,
  handlers: Handlers<S>,
  onError?: (method: string, error: unknown) => void,
): void {
  const definition: Record<string, grpc.MethodDefinition<unknown, unknown>> = {}
  const implementation: grpc.UntypedServiceImplementation = {}
  for (const [name, method] of Object.entries(service)) {
    definition[name] = {
      path: method.path,
      requestStream: false,
      responseStream: false,
      requestSerialize: (v: unknown) => toBuffer(method.request.encode(v as never)),
      requestDeserialize: (b: Buffer) => method.request.decode(b),
      responseSerialize: (v: unknown) => toBuffer(method.response.encode(v as never)),
      responseDeserialize: (b: Buffer) => method.response.decode(b),
      originalName: name,
    }
    const handler = (handlers as Record<string, UnaryHandler<unknown, unknown>>)[name]!
    implementation[name] = (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      Promise.resolve()
        .then(() => handler(call.request, call))
        .then(
          (response) => callback(null, response),
          (error: unknown) => {
            onError?.(name, error)
            const code = error instanceof StatusError ? error.code : grpc.status.UNKNOWN
            callback({code, details: error instanceof Error ? error.message : String(error)})
          },
        )
    }
  }

  server.addService(definition, implementation)
}

/** Binds a server on 127.0.0.1 (never `localhost`, which may be ::1) and returns `127.0.0.1:<port>`. */
export function bindLoopback(server: grpc.Server, port = 0): Promise<string> {
  return new Promise((resolve, reject) => {
    server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (error, bound) => {
      if (error) reject(error)
      else resolve(`127.0.0.1:${bound}`)
    })
  })
}

/** A client connection to one address, with typed unary calls. */
export class UnaryClient {
  readonly client: grpc.Client

  constructor(address: string, options: grpc.ChannelOptions = {}) {
    // The node dials passthrough:///<addr>; grpc-js has no such scheme, and an IP literal already
    // skips name resolution.
    this.client = new grpc.Client(address, grpc.credentials.createInsecure(), {...CHANNEL_OPTIONS, ...options})
  }

  /** Calls a unary method; waits for the connection to be ready (WaitForReady, as the node does). */
  call<Req, Res, ReqIn>(
    method: Method<Req, Res, ReqIn, unknown>,
    request: ReqIn,
    options: {signal?: AbortSignal; deadline?: number} = {},
  ): Promise<Res> {
    return new Promise((resolve, reject) => {
      const call = this.client.makeUnaryRequest<ReqIn, Res>(
        method.path,
        (v) => toBuffer(method.request.encode(v)),
        (b) => method.response.decode(b),
        request,
        new grpc.Metadata({waitForReady: true}),
        options.deadline === undefined ? {} : {deadline: options.deadline},
        (error, response) => {
          options.signal?.removeEventListener('abort', onAbort)
          if (error) reject(error)
          else resolve(response!)
        },
      )
      const onAbort = () => call.cancel()
      if (options.signal?.aborted) call.cancel()
      else options.signal?.addEventListener('abort', onAbort, {once: true})
    })
  }

  close(): void {
    this.client.close()
  }
}
