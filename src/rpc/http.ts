// gorilla/rpc's ServeHTTP without a socket (spec §3.3): method, Content-Type and body in; status,
// headers and body out. For hosts that receive the HTTP request as data rather than on a socket
// (the AvalancheGo plugin's HandleSimple and Handle). Headers use Go's canonical spelling, which
// is what a Go handler writes and what the node copies verbatim.
import type {Dialect} from '../vm/formatting.js'
import {goDecodeUtf8Raw, goEncodeRaw} from './json.js'
import {type ServiceTarget, serveRpc} from './service.js'

/** One HTTP reply as data. */
export interface RpcHttpReply {
  status: number
  /** Response headers in Go's canonical spelling, in the order gorilla sets them. */
  headers: Array<[string, string]>
  body: Uint8Array
}

const utf8 = new TextEncoder()
const TEXT = 'text/plain; charset=utf-8'
const JSON_TYPE = 'application/json; charset=utf-8'

/** Answers one HTTP request to a JSON-RPC endpoint as gorilla's server does (405, 415, else 200). */
export async function answerRpcHttp(
  request: {method: string; contentType: string | undefined; body: Uint8Array},
  target: ServiceTarget,
  dialect: Dialect,
): Promise<RpcHttpReply> {
  if (request.method !== 'POST') {
    return {
      status: 405,
      headers: [['Content-Type', TEXT]],
      body: utf8.encode(`rpc: POST method required, received ${request.method}`),
    }
  }

  const contentType = (request.contentType ?? '').split(';')[0]!
  if (contentType.toLowerCase() !== 'application/json') {
    return {
      status: 415,
      headers: [['Content-Type', TEXT]],
      body: utf8.encode(`rpc: unrecognized Content-Type: ${contentType}`),
    }
  }

  const reply = await serveRpc(goDecodeUtf8Raw(request.body), target, dialect)
  const headers: Array<[string, string]> = []
  if (reply.body !== undefined) headers.push(['Content-Type', JSON_TYPE])
  if (reply.ran) headers.push(['X-Content-Type-Options', 'nosniff'])
  return {status: 200, headers, body: reply.body === undefined ? new Uint8Array(0) : goEncodeRaw(reply.body)}
}
