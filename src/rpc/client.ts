// JSON-RPC client for timestampvm endpoints: a real AvalancheGo node (/ext/bc/<chainID>) or a
// local `tsvm serve`. One undici Agent per client keeps the connection alive between calls.
// Every way a call can fail becomes a TsvmError with a code a script can branch on:
//
//   RPC_UNREACHABLE   nothing listens there (refused, DNS, reset before a reply)
//   RPC_TIMEOUT       connect, headers or body took too long
//   RPC_HTTP_ERROR    a non-2xx status (404/405/415/503 explained)
//   RPC_ERROR         a JSON-RPC error object: the node's own message
//   RPC_BAD_RESPONSE  a reply that is not a JSON-RPC response at all
import {Agent, request} from 'undici'

import {TsvmError} from '../vm/errors.js'
import type {Dialect} from '../vm/formatting.js'

/** Timeouts and headers of an RpcClient. */
export interface RpcClientOptions {
  /** Time allowed for the TCP/TLS connect (ms, default 5000). */
  connectTimeoutMs?: number
  /** Time allowed for the reply headers and for each body gap (ms, default 15000). */
  timeoutMs?: number
  /** Extra request headers (e.g. an auth header for a proxy in front of the node). */
  headers?: Record<string, string>
}

/** The largest reply body read; a getBlock reply is a few hundred bytes. */
const MAX_REPLY_BYTES = 4 * 1024 * 1024

/** A getBlock reply as the node sends it; `height` exists from timestampvm v1.2.9 on. */
export interface WireBlock {
  timestamp: string
  data: string
  height?: string
  id: string
  parentID: string
}

const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNRESET',
  'EPIPE',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
])
const TIMEOUTS = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT'])

function errorCode(err: unknown): string | undefined {
  const e = err as {code?: unknown; cause?: {code?: unknown}; errors?: Array<{code?: unknown}>}
  for (const c of [e?.code, e?.cause?.code, e?.errors?.[0]?.code]) if (typeof c === 'string') return c
  return undefined
}

function explainStatus(status: number, url: string, body: string): string {
  const origin = (() => {
    try {
      return new URL(url).origin
    } catch {
      return 'http://host:9650'
    }
  })()
  const chainHint = `use ${origin}/ext/bc/<chainID> (or ${origin}/ext/bc/timestampvm for a local tsvm serve)`
  switch (status) {
    case 404: {
      return `this URL is not a chain endpoint: ${chainHint}`
    }

    case 405: {
      return `the server refused the POST: this URL is not a JSON-RPC endpoint; ${chainHint}`
    }

    case 415: {
      return 'the server does not take application/json here: this URL is not a timestampvm JSON-RPC endpoint'
    }

    case 403: {
      return 'the server refused the request (Host check or access rule): connect through localhost or 127.0.0.1'
    }

    case 413: {
      return 'the request was larger than the server accepts'
    }

    case 503: {
      return body.includes('bootstrapping')
        ? 'the chain is not done bootstrapping on this node: wait and try again'
        : 'the node is unavailable right now: wait and try again'
    }

    default: {
      return 'the endpoint did not answer as a timestampvm JSON-RPC node'
    }
  }
}

/** A JSON-RPC 2.0 client for one endpoint URL. */
export class RpcClient {
  private readonly agent: Agent
  private nextId = 1

  constructor(
    readonly url: string,
    private readonly options: RpcClientOptions = {},
  ) {
    let parsed: URL
    try {
      parsed = new URL(url)
    } catch {
      throw new TsvmError(
        'USAGE',
        `endpoint ${JSON.stringify(url)} is not a URL: use http://host:9650/ext/bc/<chainID>`,
      )
    }

    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new TsvmError(
        'USAGE',
        `endpoint ${url} must be http:// or https://, e.g. http://127.0.0.1:9650/ext/bc/<chainID>`,
      )
    }

    this.agent = new Agent({
      connect: {timeout: options.connectTimeoutMs ?? 5000},
      keepAliveTimeout: 4000,
      connections: 8,
    })
  }

  /** Calls `method` with `params` and returns the `result`; throws RPC_* TsvmErrors. */
  async call<T>(method: string, params: unknown): Promise<T> {
    const id = this.nextId++
    const body = JSON.stringify({jsonrpc: '2.0', method, params, id})
    const timeout = this.options.timeoutMs ?? 15_000
    let status: number
    let text: string
    try {
      const res = await request(this.url, {
        method: 'POST',
        headers: {'content-type': 'application/json', ...this.options.headers},
        body,
        dispatcher: this.agent,
        headersTimeout: timeout,
        bodyTimeout: timeout,
      })
      status = res.statusCode
      const chunks: Buffer[] = []
      let size = 0
      for await (const chunk of res.body) {
        size += (chunk as Buffer).length
        if (size > MAX_REPLY_BYTES) {
          res.body.destroy()
          throw new TsvmError(
            'RPC_BAD_RESPONSE',
            `${this.url} sent a reply over ${MAX_REPLY_BYTES} bytes to ${method}: not a timestampvm node?`,
          )
        }

        chunks.push(chunk as Buffer)
      }

      text = Buffer.concat(chunks).toString('utf8')
    } catch (error) {
      throw this.transportError(error, method)
    }

    if (status < 200 || status > 299) {
      const excerpt = text.length > 200 ? text.slice(0, 200) + '…' : text
      throw new TsvmError(
        'RPC_HTTP_ERROR',
        `${this.url} answered ${method} with HTTP ${status}: ${explainStatus(status, this.url, text)} (body: ${JSON.stringify(excerpt.trim())})`,
        {
          details: {status, body: excerpt},
        },
      )
    }

    let reply: {jsonrpc?: unknown; result?: unknown; error?: {code?: unknown; message?: unknown}; id?: unknown}
    try {
      reply = JSON.parse(text) as typeof reply
    } catch {
      throw new TsvmError(
        'RPC_BAD_RESPONSE',
        `${this.url} answered ${method} with something that is not JSON: ${JSON.stringify(text.slice(0, 120))}`,
      )
    }

    if (reply === null || typeof reply !== 'object') {
      throw new TsvmError(
        'RPC_BAD_RESPONSE',
        `${this.url} answered ${method} with JSON that is not a JSON-RPC response`,
      )
    }

    if (reply.error !== undefined && reply.error !== null) {
      const message = typeof reply.error.message === 'string' ? reply.error.message : JSON.stringify(reply.error)
      throw new TsvmError('RPC_ERROR', `${method} failed on ${this.url}: ${message}`, {
        details: {rpcCode: reply.error.code, rpcMessage: message},
      })
    }

    if (!('result' in reply) || reply.id !== id) {
      throw new TsvmError('RPC_BAD_RESPONSE', `${this.url} answered ${method} without a result for request id ${id}`)
    }

    return reply.result as T
  }

  private transportError(error: unknown, method: string): TsvmError {
    if (error instanceof TsvmError) return error
    const code = errorCode(error)
    const msg = (error as Error)?.message ?? String(error)
    if (code !== undefined && TIMEOUTS.has(code)) {
      return new TsvmError(
        'RPC_TIMEOUT',
        `${method} on ${this.url} timed out (${code}): the node is slow or stuck; try again or raise --timeout`,
        {
          cause: error,
          details: {errno: code},
        },
      )
    }

    if (code !== undefined && UNREACHABLE.has(code)) {
      return new TsvmError(
        'RPC_UNREACHABLE',
        `cannot reach ${this.url} (${code}): check that the node is running and the URL is right, or start a local one with \`tsvm serve\``,
        {cause: error, details: {errno: code}},
      )
    }

    return new TsvmError('RPC_UNREACHABLE', `request to ${this.url} failed: ${msg}`, {
      cause: error,
      details: {errno: code},
    })
  }

  /** Releases the kept-alive connections. */
  async close(): Promise<void> {
    await this.agent.close()
  }
}

/** timestampvm's API over an RpcClient, with the dialect told by the node's own replies. */
export class TimestampVmClient {
  private dialectValue: Dialect | undefined

  constructor(
    readonly rpc: RpcClient,
    forced?: Dialect,
  ) {
    this.dialectValue = forced
  }

  /** Calls a chain method, explaining the replies of an endpoint that is not a timestampvm chain. */
  private async chainCall<T>(method: string, params: unknown): Promise<T> {
    try {
      return await this.rpc.call<T>(method, params)
    } catch (error) {
      if (!(error instanceof TsvmError) || error.code !== 'RPC_ERROR') throw error
      const msg = String(error.details?.rpcMessage ?? '')
      const hint = msg.startsWith("rpc: can't find method")
        ? 'this endpoint has no timestampvm chain methods: /ext/vm/... is the static API, the chain is at /ext/bc/<chainID>'
        : msg.startsWith("rpc: can't find service")
          ? 'this endpoint does not serve timestampvm: is <chainID> the ID of a timestampvm chain?'
          : undefined
      if (hint === undefined) throw error
      throw new TsvmError('RPC_ERROR', `${error.message}: ${hint}`, {cause: error, details: error.details})
    }
  }

  /** A block by CB58 ID, or the last accepted one. */
  async getBlock(id?: string): Promise<WireBlock> {
    const result = await this.chainCall<WireBlock>('timestampvm.getBlock', id === undefined ? {id: null} : {id})
    checkWireBlock(result, this.rpc.url)
    this.dialectValue ??= dialectOf(result)
    return result
  }

  /** The API dialect: forced, or read from a getBlock reply. */
  async dialect(): Promise<Dialect> {
    if (this.dialectValue === undefined) await this.getBlock()
    return this.dialectValue!
  }

  /** Proposes a payload already encoded for the dialect; false when the node's mempool is full. */
  async proposeBlock(data: string): Promise<boolean> {
    const result = await this.chainCall<{Success?: unknown}>('timestampvm.proposeBlock', {data})
    if (typeof result?.Success !== 'boolean') {
      throw new TsvmError('RPC_BAD_RESPONSE', `${this.rpc.url} answered proposeBlock without a boolean Success`)
    }

    return result.Success
  }

  async close(): Promise<void> {
    await this.rpc.close()
  }
}

/** v1.3 replies carry `height` or checksummed-hex data; v1.2.1 neither. */
export function dialectOf(block: WireBlock): Dialect {
  return block.height !== undefined || block.data.startsWith('0x') ? 'v1.3' : 'v1.2'
}

function checkWireBlock(b: WireBlock, url: string): void {
  const ok =
    b !== null &&
    typeof b === 'object' &&
    typeof b.timestamp === 'string' &&
    typeof b.data === 'string' &&
    typeof b.id === 'string' &&
    typeof b.parentID === 'string' &&
    (b.height === undefined || typeof b.height === 'string')
  if (!ok)
    throw new TsvmError(
      'RPC_BAD_RESPONSE',
      `${url} answered getBlock with a reply that is not a timestampvm block: ${JSON.stringify(b).slice(0, 200)}`,
    )
}
