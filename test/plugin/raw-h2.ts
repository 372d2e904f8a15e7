// gRPC requests made by hand with node:http2 (nghttp2), for tests that check the plugin's wire
// behaviour rather than a client's view of it: every reply header, trailers-only or not.
import * as http2 from 'node:http2'

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => {
    setTimeout(resolve, ms)
  })
}

export interface RawReply {
  headers: http2.IncomingHttpHeaders
  /** True when the first HEADERS frame ended the stream (trailers-only). */
  headersOnly: boolean
  data: Buffer
  trailers: http2.IncomingHttpHeaders | undefined
}

export function raw(
  session: http2.ClientHttp2Session,
  path: string,
  body: Buffer[],
  extra: http2.OutgoingHttpHeaders = {},
): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const stream = session.request({
      ':method': 'POST',
      ':path': path,
      'content-type': 'application/grpc',
      te: 'trailers',
      ...extra,
    })
    const reply: RawReply = {headers: {}, headersOnly: false, data: Buffer.alloc(0), trailers: undefined}
    stream.on('response', (h, flags) => {
      reply.headers = h
      reply.headersOnly = (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) !== 0
    })
    stream.on('data', (d: Buffer) => {
      reply.data = Buffer.concat([reply.data, d])
    })
    stream.on('trailers', (t) => {
      reply.trailers = t
    })
    stream.on('error', reject)
    stream.on('close', () => resolve(reply))
    // Each element its own DATA frame, a tick apart: a message may arrive in pieces.
    const send = async () => {
      for (const [i, part] of body.entries()) {
        if (i > 0) await sleep(1)
        stream.write(part)
      }

      stream.end()
    }

    send().catch(reject)
  })
}

export const prefix = (flag: number, length: number) => {
  const p = Buffer.alloc(5)
  p[0] = flag
  p.writeUInt32BE(length, 1)
  return p
}
