// The HTTP face of `tsvm serve` (node:http), answering like AvalancheGo's API server with
// gorilla/rpc in front of timestampvm (spec §3.1, §3.3):
//
//   /ext/bc/<chainID>, /ext/bc/timestampvm    chain API   (getBlock, proposeBlock)
//   /ext/vm/<vmID>,    /ext/vm/timestampvm    static API  (encode, decode)
//   /ext/health                               {"checks":{...},"healthy":true}
//   anything else                             404 "404 page not found"
//
// HTTP rules copied from gorilla: POST only (405), Content-Type before ';' lower-cased must be
// application/json (415), HTTP 200 for every JSON-RPC reply. Hardening of our own, which a real
// node puts elsewhere: a body limit (413), header/request timeouts, and, when bound to loopback,
// a Host check (403) so a web page cannot reach the node through DNS rebinding.
import {type IncomingMessage, type Server, type ServerResponse, createServer} from 'node:http'
import type {AddressInfo} from 'node:net'

import type {Dialect} from '../vm/formatting.js'
import {TsvmError} from '../vm/errors.js'
import {goDecodeUtf8} from '../rpc/json.js'
import {type ChainBackend, serveRpc} from '../rpc/service.js'

/** The alias under which the chain and the VM are also served. */
export const ALIAS = 'timestampvm'

/** Default request body limit: a getBlock/proposeBlock request is a few hundred bytes. */
export const DEFAULT_BODY_LIMIT = 1024 * 1024

/** What startServer needs: the chain, its IDs, the dialect, and where to listen. */
export interface ServerOptions {
  /** The chain backend (usually an Engine). */
  chain: ChainBackend
  /** The chain ID and VM ID, CB58. */
  chainId: string
  vmId: string
  dialect: Dialect
  host?: string
  port?: number
  bodyLimit?: number
  /** Extra facts for /ext/health (e.g. the tip); errors make the node unhealthy. */
  health?: () => Promise<Record<string, unknown>>
}

/** A running server. */
export interface RunningServer {
  server: Server
  host: string
  port: number
  /** Base URL, e.g. http://127.0.0.1:9650 */
  url: string
  endpoints: {chain: string; chainAlias: string; static: string; staticAlias: string; health: string}
  /** Stops accepting, lets in-flight requests finish, then resolves. */
  close(): Promise<void>
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost'])

/** True when `host` names the loopback interface. */
export function isLoopback(host: string): boolean {
  return LOOPBACK.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host)
}

/** True when a Host header names this machine's loopback: localhost, 127.0.0.1 or [::1], any port. */
export function allowedLoopbackHost(header: string | undefined): boolean {
  if (header === undefined) return true // HTTP/1.0 without Host: no browser sends that
  const m = /^(localhost|127\.0\.0\.1|\[::1\])(?::\d{1,5})?$/i.exec(header)
  return m !== null
}

function text(res: ServerResponse, status: number, body: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, {'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body), ...extra})
  res.end(body)
}

const JSON_TYPE = 'application/json; charset=utf-8'

function json(res: ServerResponse, status: number, body: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, {'Content-Type': JSON_TYPE, 'Content-Length': Buffer.byteLength(body), ...extra})
  res.end(body)
}

class BodyTooLarge extends Error {}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0)
    if (declared > limit) {
      reject(new BodyTooLarge())
      return
    }
    const parts: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > limit) {
        req.removeAllListeners('data')
        req.pause()
        reject(new BodyTooLarge())
        return
      }
      parts.push(chunk)
    })
    req.on('end', () => resolve(parts.length === 1 ? parts[0]! : Buffer.concat(parts)))
    req.on('error', reject)
  })
}

/** Starts the JSON-RPC server; resolves once it listens. */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1'
  const limit = options.bodyLimit ?? DEFAULT_BODY_LIMIT
  const checkHost = isLoopback(host)
  const chainPaths = new Set([`/ext/bc/${options.chainId}`, `/ext/bc/${ALIAS}`])
  const staticPaths = new Set([`/ext/vm/${options.vmId}`, `/ext/vm/${ALIAS}`])
  let closing = false
  let inFlight = 0
  let drained: (() => void) | undefined

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const bye: Record<string, string> = closing ? {Connection: 'close'} : {}
    if (checkHost && !allowedLoopbackHost(req.headers.host)) {
      text(res, 403, `host not allowed: ${req.headers.host}: this server only answers requests addressed to localhost, 127.0.0.1 or [::1]\n`)
      return
    }
    const path = (req.url ?? '/').split('?')[0]!
    if (path === '/ext/health') {
      await health(res, bye)
      return
    }
    const target = chainPaths.has(path) ? 'chain' : staticPaths.has(path) ? 'static' : undefined
    if (target === undefined) {
      text(res, 404, '404 page not found\n', bye)
      return
    }
    // gorilla/rpc ServeHTTP, in its order (spec §3.3).
    if (req.method !== 'POST') {
      text(res, 405, `rpc: POST method required, received ${req.method}`, bye)
      return
    }
    const contentType = (req.headers['content-type'] ?? '').split(';')[0]!
    if (contentType.toLowerCase() !== 'application/json') {
      text(res, 415, `rpc: unrecognized Content-Type: ${contentType}`, bye)
      return
    }
    let body: Buffer
    try {
      body = await readBody(req, limit)
    } catch (error) {
      if (error instanceof BodyTooLarge) {
        text(res, 413, `request body is larger than ${limit} bytes\n`, {Connection: 'close'})
        res.on('finish', () => req.socket.destroy())
        return
      }
      throw error
    }
    const reply = await serveRpc(
      goDecodeUtf8(body),
      target === 'chain' ? {kind: 'chain', chain: options.chain} : {kind: 'static'},
      options.dialect,
    )
    if (reply.body === undefined) {
      const headers: Record<string, string> = {...bye}
      if (reply.ran) headers['X-Content-Type-Options'] = 'nosniff'
      res.writeHead(200, {...headers, 'Content-Length': '0'})
      res.end()
      return
    }
    // The usual reply (a method ran, not closing), with its headers in json()'s order, built directly.
    if (reply.ran && bye.Connection === undefined) {
      res.writeHead(200, {
        'Content-Type': JSON_TYPE,
        'Content-Length': Buffer.byteLength(reply.body),
        'X-Content-Type-Options': 'nosniff',
      })
      res.end(reply.body)
      return
    }
    const headers: Record<string, string> = {...bye}
    if (reply.ran) headers['X-Content-Type-Options'] = 'nosniff'
    json(res, 200, reply.body, headers)
  }

  async function health(res: ServerResponse, bye: Record<string, string>): Promise<void> {
    const timestamp = new Date().toISOString()
    const started = process.hrtime.bigint()
    let check: Record<string, unknown>
    let healthy = !closing
    try {
      const message = {...(await options.health?.()), ...(closing ? {closing: true} : {})}
      check = {message, timestamp, duration: Number(process.hrtime.bigint() - started)}
    } catch (error) {
      healthy = false
      check = {error: {message: (error as Error).message}, timestamp, duration: Number(process.hrtime.bigint() - started)}
    }
    json(res, healthy ? 200 : 503, JSON.stringify({checks: {[ALIAS]: check}, healthy}) + '\n', bye)
  }

  const server = createServer({requestTimeout: 30_000, headersTimeout: 10_000, keepAliveTimeout: 5_000}, (req, res) => {
    inFlight++
    handle(req, res)
      .catch((error: unknown) => {
        if (!res.headersSent) text(res, 500, `internal error: ${(error as Error).message}\n`)
        else res.destroy()
      })
      .finally(() => {
        inFlight--
        if (inFlight === 0) drained?.()
      })
  })
  server.maxHeadersCount = 100

  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      reject(
        new TsvmError(
          'SERVE_FAILED',
          error.code === 'EADDRINUSE'
            ? `port ${options.port} on ${host} is already in use: stop the other server or pass --port`
            : `cannot listen on ${host}:${options.port}: ${error.message}`,
          {cause: error},
        ),
      )
    }
    server.once('error', onError)
    server.listen(options.port ?? 9650, host, () => {
      server.off('error', onError)
      resolve()
    })
  })
  const port = (server.address() as AddressInfo).port
  const shown = host.includes(':') ? `[${host}]` : host
  const url = `http://${shown}:${port}`
  return {
    server,
    host,
    port,
    url,
    endpoints: {
      chain: `${url}/ext/bc/${options.chainId}`,
      chainAlias: `${url}/ext/bc/${ALIAS}`,
      static: `${url}/ext/vm/${options.vmId}`,
      staticAlias: `${url}/ext/vm/${ALIAS}`,
      health: `${url}/ext/health`,
    },
    async close(): Promise<void> {
      closing = true
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()))
      server.closeIdleConnections()
      if (inFlight > 0) await new Promise<void>((resolve) => (drained = resolve))
      server.closeIdleConnections()
      // Bound the wait for sockets that keep a request half-open.
      const timer = setTimeout(() => server.closeAllConnections(), 5_000)
      await stopped
      clearTimeout(timer)
    },
  }
}
