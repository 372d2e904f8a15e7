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
// node puts elsewhere:
// - a body limit (413);
// - header and request timeouts that hold to the configured values (408, then closed);
// - a connection cap: a connection over it gets an immediate 503 and is closed, so idle or slow
//   sockets cannot use up the process's file descriptors, which LevelDB needs for every write;
// - when the address actually bound is loopback (whatever its spelling: 127.1, LOCALHOST,
//   ::ffff:127.0.0.1, ...), a Host check (403), so a web page cannot reach the node through DNS
//   rebinding;
// - errors sent to clients never carry the data dir's path (`redact`).
import {type IncomingMessage, type Server, type ServerResponse, createServer} from 'node:http'
import {type AddressInfo, BlockList, type Socket, isIP} from 'node:net'

import type {Dialect} from '../vm/formatting.js'
import {TsvmError} from '../vm/errors.js'
import {goDecodeUtf8} from '../rpc/json.js'
import {type ChainBackend, serveRpc} from '../rpc/service.js'

/** The alias under which the chain and the VM are also served. */
export const ALIAS = 'timestampvm'

/** Default request body limit: a getBlock/proposeBlock request is a few hundred bytes. */
export const DEFAULT_BODY_LIMIT = 1024 * 1024

/** Default limits: open connections, ms to receive a request's head, ms to receive a whole request, ms an idle keep-alive connection stays. */
export const DEFAULT_LIMITS = {maxConnections: 1000, headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, keepAliveTimeoutMs: 5_000} as const

/**
 * Connections over the cap that may wait (at most REFUSE_LINGER_MS) for their 503 to be read.
 * Beyond cap + this, node:http closes new connections at once, so the descriptors a flood can
 * take stay bounded either way.
 */
export const REFUSE_BACKLOG = 256
const REFUSE_LINGER_MS = 1000

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
  /** Connections served at once; one more gets a 503 and is closed (default 1000). */
  maxConnections?: number
  /** A request whose head is not complete after this many ms gets 408 and is closed (default 10 s). */
  headersTimeoutMs?: number
  /** A request not complete (head and body) after this many ms gets 408 and is closed (default 30 s). */
  requestTimeoutMs?: number
  /** An idle keep-alive connection is closed after this many ms (default 5 s). */
  keepAliveTimeoutMs?: number
  /** Rewrites an error text before it is sent to a client (e.g. to drop the data dir's path). */
  redact?: (text: string) => string
  /** Extra facts for /ext/health (e.g. the tip); errors make the node unhealthy. */
  health?: () => Promise<Record<string, unknown>>
}

/** A running server. */
export interface RunningServer {
  server: Server
  /** The host as given. */
  host: string
  /** The address actually bound (e.g. 127.0.0.1 for 127.1 or localhost). */
  address: string
  /** Whether `address` is a loopback address (then the Host header is checked). */
  loopback: boolean
  port: number
  /** Base URL on the bound address, e.g. http://127.0.0.1:9650 */
  url: string
  endpoints: {chain: string; chainAlias: string; static: string; staticAlias: string; health: string}
  /** Connections now served, and how many were refused over the cap since start. */
  connections(): {open: number; refused: number; max: number}
  /** Stops accepting, lets in-flight requests finish, then resolves. */
  close(): Promise<void>
}

const LOOPBACK = new BlockList()
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4')
LOOPBACK.addAddress('::1', 'ipv6')

/** True when `address` is an IP address of the loopback interface: 127.0.0.0/8, ::1, or 127/8 mapped into IPv6 (::ffff:127.x.y.z). */
export function isLoopbackAddress(address: string): boolean {
  const family = isIP(address)
  if (family === 0) return false
  try {
    return LOOPBACK.check(address, family === 6 ? 'ipv6' : 'ipv4')
  } catch {
    return false
  }
}

const PLAIN_LOOPBACK_HOST = /^(localhost|127\.0\.0\.1|\[::1\])(?::\d{1,5})?$/i

/**
 * True when a Host header names this machine's loopback: localhost or a loopback IP literal
 * (127.x.y.z, [::1], [::ffff:127.x.y.z], in any spelling a URL parser reads as one), any port.
 * A name other than localhost is refused even if it resolves to loopback: that is DNS rebinding.
 */
export function allowedLoopbackHost(header: string | undefined): boolean {
  if (header === undefined) return true // HTTP/1.0 without Host: no browser sends that
  if (PLAIN_LOOPBACK_HOST.test(header)) return true
  if (!/^[A-Za-z0-9.:[\]-]+$/.test(header)) return false // no user info, path, spaces or non-ASCII
  let hostname: string
  try {
    hostname = new URL(`http://${header}/`).hostname
  } catch {
    return false
  }
  if (hostname === 'localhost') return true
  return isLoopbackAddress(hostname.startsWith('[') ? hostname.slice(1, -1) : hostname)
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

/** A chain backend whose errors reach clients only through `redact`. */
function redacting(chain: ChainBackend, redact: (text: string) => string): ChainBackend {
  const fail = (error: unknown): never => {
    const message = error instanceof Error ? error.message : String(error)
    throw new Error(redact(message), {cause: error})
  }
  return {
    lastAcceptedId: () => chain.lastAcceptedId().catch(fail),
    getBlock: (id) => chain.getBlock(id).catch(fail),
    proposeBlock: (data) => chain.proposeBlock(data).catch(fail),
  }
}

/** The limits in effect, checked: the head must be due no later than the whole request. */
function limitsOf(options: ServerOptions): {maxConnections: number; headersTimeoutMs: number; requestTimeoutMs: number; keepAliveTimeoutMs: number} {
  const l = {
    maxConnections: options.maxConnections ?? DEFAULT_LIMITS.maxConnections,
    headersTimeoutMs: options.headersTimeoutMs ?? DEFAULT_LIMITS.headersTimeoutMs,
    requestTimeoutMs: options.requestTimeoutMs ?? DEFAULT_LIMITS.requestTimeoutMs,
    keepAliveTimeoutMs: options.keepAliveTimeoutMs ?? DEFAULT_LIMITS.keepAliveTimeoutMs,
  }
  for (const [name, value] of Object.entries(l)) {
    if (!Number.isSafeInteger(value) || value < 1) throw new TsvmError('USAGE', `${name} must be a positive integer (got ${value})`)
  }
  if (l.headersTimeoutMs > l.requestTimeoutMs) {
    throw new TsvmError(
      'USAGE',
      `the header timeout (${l.headersTimeoutMs} ms) is longer than the request timeout (${l.requestTimeoutMs} ms): the head is part of the request; lower the first or raise the second`,
    )
  }
  return l
}

/** Starts the JSON-RPC server; resolves once it listens. */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1'
  const limit = options.bodyLimit ?? DEFAULT_BODY_LIMIT
  const limits = limitsOf(options)
  const redact = options.redact ?? ((text: string) => text)
  const chain = options.redact ? redacting(options.chain, redact) : options.chain
  // Decided from the address bound once listening; until then (no request can come yet) checked.
  let checkHost = true
  const chainPaths = new Set([`/ext/bc/${options.chainId}`, `/ext/bc/${ALIAS}`])
  const staticPaths = new Set([`/ext/vm/${options.vmId}`, `/ext/vm/${ALIAS}`])
  let closing = false
  let inFlight = 0
  let drained: (() => void) | undefined
  let open = 0
  let refused = 0
  const refusing = new Set<Socket>()
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
      target === 'chain' ? {kind: 'chain', chain} : {kind: 'static'},
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
    // At the cap the next client is refused: not healthy, whatever the chain says.
    const full = open >= limits.maxConnections
    const connections = {connections: open, maxConnections: limits.maxConnections, refusedConnections: refused}
    try {
      const message = {...(await options.health?.()), ...connections, ...(closing ? {closing: true} : {})}
      check = {message, timestamp, duration: Number(process.hrtime.bigint() - started)}
      if (full) {
        healthy = false
        check.error = {message: `${open} connections open, the limit: new connections are refused with 503`}
      }
    } catch (error) {
      healthy = false
      check = {error: {message: redact((error as Error).message)}, timestamp, duration: Number(process.hrtime.bigint() - started)}
    }
    json(res, healthy ? 200 : 503, JSON.stringify({checks: {[ALIAS]: check}, healthy}) + '\n', bye)
  }

  // node:http checks headersTimeout and requestTimeout only on a timer that runs every
  // connectionsCheckingInterval (30 s by default), so a 10 s timeout acted after up to 40 s. Here
  // the timer runs every tenth of the header timeout (at most every second): no timeout acts later
  // than that past its configured value.
  const server = createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(limits.headersTimeoutMs / 10))),
    },
    (req, res) => {
      inFlight++
      handle(req, res)
        .catch((error: unknown) => {
          if (!res.headersSent) text(res, 500, `internal error: ${redact((error as Error).message)}\n`)
          else res.destroy()
        })
        .finally(() => {
          inFlight--
          if (inFlight === 0) drained?.()
        })
    },
  )
  server.maxHeadersCount = 100
  // The cap. node:http sets a connection up in its own 'connection' listener; this one runs
  // instead and passes on only the connections under the cap. Over it, a 503 is written at once,
  // before any request is read, and the connection closes: the client gets a clear answer fast
  // (also /ext/health, whose 503 means unhealthy), and what the client sends meanwhile is read
  // and dropped, so the close is not a reset that could swallow the 503. Those connections wait
  // at most REFUSE_LINGER_MS; beyond REFUSE_BACKLOG of them, node:net closes new ones at once.
  const setUp = server.listeners('connection') as Array<(socket: Socket) => void>
  if (setUp.length === 0) throw new TsvmError('INTERNAL', 'node:http installed no connection listener: this Node.js version is not supported')
  server.removeAllListeners('connection')
  server.maxConnections = limits.maxConnections + REFUSE_BACKLOG
  const busy = `server busy: ${limits.maxConnections} connections open, the most it serves at once; try again shortly\n`
  const busyReply =
    'HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n' +
    `Content-Length: ${Buffer.byteLength(busy)}\r\nRetry-After: 1\r\nConnection: close\r\n\r\n${busy}`
  server.on('connection', (socket: Socket) => {
    if (open >= limits.maxConnections) {
      refused++
      refusing.add(socket)
      socket.on('error', () => {})
      socket.once('close', () => refusing.delete(socket))
      socket.setTimeout(REFUSE_LINGER_MS, () => socket.destroy())
      socket.resume()
      socket.end(busyReply)
      return
    }
    open++
    socket.once('close', () => open--)
    for (const listener of setUp) listener.call(server, socket)
  })

  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      reject(
        new TsvmError(
          // the address given cannot be used (taken, privileged, not this machine's): a usage error, not a crash
          error.code === 'EADDRINUSE' || error.code === 'EACCES' || error.code === 'EADDRNOTAVAIL' ? 'PORT_UNAVAILABLE' : 'SERVE_FAILED',
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
  const bound = server.address() as AddressInfo
  const port = bound.port
  const loopback = isLoopbackAddress(bound.address)
  checkHost = loopback
  const url = `http://${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${port}`
  return {
    server,
    host,
    address: bound.address,
    loopback,
    port,
    url,
    endpoints: {
      chain: `${url}/ext/bc/${options.chainId}`,
      chainAlias: `${url}/ext/bc/${ALIAS}`,
      static: `${url}/ext/vm/${options.vmId}`,
      staticAlias: `${url}/ext/vm/${ALIAS}`,
      health: `${url}/ext/health`,
    },
    connections: () => ({open, refused, max: limits.maxConnections}),
    async close(): Promise<void> {
      closing = true
      for (const socket of refusing) socket.destroy()
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()))
      server.closeIdleConnections()
      // Bound the whole wait, the in-flight part too: server.close() stops node:http's timeout
      // checks, so a request whose head or body never completes would hold close() forever.
      const timer = setTimeout(() => server.closeAllConnections(), 5_000)
      if (inFlight > 0) await new Promise<void>((resolve) => (drained = resolve))
      server.closeIdleConnections()
      await stopped
      clearTimeout(timer)
    },
  }
}
