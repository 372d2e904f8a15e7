// The HTTP face of `tsvm serve` (node:http), answering like AvalancheGo's API server with
// gorilla/rpc in front of timestampvm (spec §3.1, §3.3):
//
//   /ext/bc/<chainID>, /ext/bc/timestampvm               chain API   (getBlock, proposeBlock)
//   /ext/vm/<vmID>, /ext/vm/<ID of "timestamp">,
//   /ext/vm/timestampvm, /ext/vm/timestamp              static API  (encode, decode)
//   /ext/health (GET, or JSON-RPC health.*), /ext/health/{health,readiness,liveness}
//   /ext/info                                            info.* (nodeapi.ts)
//   anything else                                        404 "404 page not found"
//
// HTTP rules copied from gorilla: POST only (405), Content-Type before ';' lower-cased must be
// application/json (415), HTTP 200 for every JSON-RPC reply. Around them, AvalancheGo's API
// server (http.ts): the Host filter (403), CORS, path cleaning (301) and percent-decoded routing,
// gzip for replies of 1,400 bytes or more, and Node-Id on every reply. Hardening of our own, which
// a real node puts elsewhere:
// - a body limit (413);
// - header and request timeouts that hold to the configured values (408, then closed);
// - a connection cap: a connection over it gets an immediate 503 and is closed, so idle or slow
//   sockets cannot use up the process's file descriptors, which LevelDB needs for every write;
// - errors sent to clients never carry the data dir's path (`redact`).
import {type IncomingMessage, type Server, type ServerResponse, createServer} from 'node:http'
import {type AddressInfo, BlockList, type Socket, isIP} from 'node:net'
import {gzipSync} from 'node:zlib'

import type {Dialect} from '../vm/formatting.js'
import {TsvmError} from '../vm/errors.js'
import {goDecodeUtf8Raw, goEncodeRawText} from '../rpc/json.js'
import {type ChainBackend, type ServiceTarget, answerRpc} from '../rpc/service.js'
import {
  INVALID_HOST_BODY,
  actualCorsHeaders,
  allowedHost,
  cleanPath,
  corsPolicy,
  hostFilter,
  isPreflight,
  mayNeedCleaning,
  preflightHeaders,
  targetPath,
} from './http.js'
import {
  type CheckResult,
  type HealthKind,
  type NodeFacts,
  healthReply,
  healthService,
  infoService,
  localNodeId,
} from './nodeapi.js'

/** The alias under which the chain and the VM are also served. */
export const ALIAS = 'timestampvm'
/** The tutorial's other VM alias; the Go build scripts name the plugin by the VM ID of this name. */
export const SHORT_ALIAS = 'timestamp'

/** Replies this long or longer are gzipped for a client that accepts it (AvalancheGo's gziphandler minimum). */
export const GZIP_MIN_SIZE = 1400

/** Default request body limit: a getBlock/proposeBlock request is a few hundred bytes. */
export const DEFAULT_BODY_LIMIT = 1024 * 1024

/** Default limits: open connections, ms to receive a request's head, ms to receive a whole request, ms an idle keep-alive connection stays. */
export const DEFAULT_LIMITS = {
  maxConnections: 1000,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5000,
} as const

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
  /** More VM IDs (CB58) whose static API is served, e.g. the VM ID of "timestamp". */
  vmIds?: readonly string[]
  /** "NodeID-...", sent as Node-Id and by info.getNodeID (default: derived from the chain ID). */
  nodeId?: string
  /** tsvm's version, for info.getNodeVersion. */
  version?: string
  /** Host names answered besides IP literals ("*": any); default ["localhost"] as a node's --http-allowed-hosts. */
  allowedHosts?: readonly string[]
  /** Origins given CORS headers ("*": any, the default as on a node). */
  allowedOrigins?: readonly string[]
}

/** A running server. */
export interface RunningServer {
  server: Server
  /** The host as given. */
  host: string
  /** The address actually bound (e.g. 127.0.0.1 for 127.1 or localhost). */
  address: string
  /** Whether `address` is a loopback address. */
  loopback: boolean
  port: number
  /** Base URL on the bound address, e.g. http://127.0.0.1:9650 */
  url: string
  endpoints: {chain: string; chainAlias: string; static: string; staticAlias: string; health: string; info: string}
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

function text(res: ServerResponse, status: number, body: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    ...extra,
  })
  res.end(body)
}

const JSON_TYPE = 'application/json; charset=utf-8'

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
    blockInMemory:
      chain.blockInMemory &&
      ((id) => {
        try {
          return chain.blockInMemory!(id)
        } catch (error) {
          return fail(error)
        }
      }),
    proposeBlock: (data) => chain.proposeBlock(data).catch(fail),
  }
}

/** The limits in effect, checked: the head must be due no later than the whole request. */
function limitsOf(options: ServerOptions): {
  maxConnections: number
  headersTimeoutMs: number
  requestTimeoutMs: number
  keepAliveTimeoutMs: number
} {
  const l = {
    maxConnections: options.maxConnections ?? DEFAULT_LIMITS.maxConnections,
    headersTimeoutMs: options.headersTimeoutMs ?? DEFAULT_LIMITS.headersTimeoutMs,
    requestTimeoutMs: options.requestTimeoutMs ?? DEFAULT_LIMITS.requestTimeoutMs,
    keepAliveTimeoutMs: options.keepAliveTimeoutMs ?? DEFAULT_LIMITS.keepAliveTimeoutMs,
  }
  for (const [name, value] of Object.entries(l)) {
    if (!Number.isSafeInteger(value) || value < 1)
      throw new TsvmError('USAGE', `${name} must be a positive integer (got ${value})`)
  }

  if (l.headersTimeoutMs > l.requestTimeoutMs) {
    throw new TsvmError(
      'USAGE',
      `the header timeout (${l.headersTimeoutMs} ms) is longer than the request timeout (${l.requestTimeoutMs} ms): the head is part of the request; lower the first or raise the second`,
    )
  }

  return l
}

/** Whether Accept-Encoding takes gzip (q above 0), as gziphandler reads it. */
function acceptsGzip(header: string | undefined): boolean {
  if (header === undefined || !header.includes('gzip')) return false
  for (const part of header.split(',')) {
    const [coding, ...params] = part.split(';').map((x) => x.trim())
    if (coding?.toLowerCase() !== 'gzip') continue
    const q = params.find((p) => /^q\s*=/i.test(p))
    return q === undefined || Number(q.split('=')[1]) > 0
  }

  return false
}

/**
 * Writes a reply, gzipped when the client accepts it and it is at least GZIP_MIN_SIZE bytes. A
 * text body is written as UTF-8: node:http then sends it in the same write as the head (a Buffer
 * body goes as a second buffer of a writev).
 */
function send(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  headers: Record<string, string | number>,
  body: string | Buffer,
): void {
  // `headers` is the caller's own object for this reply: completed in place, not copied.
  const length = Buffer.byteLength(body)
  if (length >= GZIP_MIN_SIZE && acceptsGzip(req.headers['accept-encoding'])) {
    const zipped = gzipSync(body)
    headers['Content-Encoding'] = 'gzip'
    headers['Content-Length'] = zipped.length
    res.writeHead(status, headers)
    res.end(zipped)
    return
  }

  headers['Content-Length'] = length
  res.writeHead(status, headers)
  res.end(body)
}

/** gorilla's reading of Content-Type: the part before ';', lower-cased when it is not application/json already. */
function mediaType(header: string | undefined): string {
  if (header === 'application/json') return header
  const type = (header ?? '').split(';')[0]!
  return type.toLowerCase() === 'application/json' ? 'application/json' : type
}

/** Writes a JSON-RPC reply with status 200: its text as UTF-8, except the request's invalid bytes, written back as they came (goEncodeRawText). */
function sendReply(
  req: IncomingMessage,
  res: ServerResponse,
  headers: Record<string, string | number>,
  body: string,
): void {
  // A text whose UTF-8 length is its length is ASCII, so it holds no such byte: it goes as it is,
  // and latin1 writes those bytes without a UTF-8 encoder.
  const length = Buffer.byteLength(body)
  if (length === body.length && length < GZIP_MIN_SIZE) {
    headers['Content-Length'] = length
    res.writeHead(200, headers)
    res.end(body, 'latin1')
    return
  }

  send(req, res, 200, headers, goEncodeRawText(body))
}

/** The host a request is for: an absolute-form target's authority (as Go's net/http takes it), else the Host header. */
function requestHost(req: IncomingMessage): string | undefined {
  const {url} = req
  if (url === undefined || url.startsWith('/')) return req.headers.host
  const m = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/(?:[^/?#@]*@)?([^/?#]*)/.exec(url)
  return m && m[1] !== '' ? m[1] : req.headers.host
}

/** node:http's status for a request it could not read, by error code (400 Bad Request otherwise). */
const CLIENT_ERROR_STATUS: Record<string, string> = {
  ERR_HTTP_REQUEST_TIMEOUT: '408 Request Timeout',
  HPE_HEADER_OVERFLOW: '431 Request Header Fields Too Large',
  HPE_CHUNK_EXTENSIONS_OVERFLOW: '413 Payload Too Large',
}

function redirect(res: ServerResponse, location: string, headers: Record<string, string>): void {
  res.writeHead(301, {...headers, Location: location, 'Content-Length': '0'})
  res.end()
}

/** Starts the JSON-RPC server; resolves once it listens. */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1'
  const limit = options.bodyLimit ?? DEFAULT_BODY_LIMIT
  const limits = limitsOf(options)
  const redact = options.redact ?? ((text: string) => text)
  const chain = options.redact ? redacting(options.chain, redact) : options.chain
  const hosts = hostFilter(options.allowedHosts ?? ['localhost'])
  const cors = corsPolicy(options.allowedOrigins ?? ['*'])
  const nodeId = options.nodeId ?? localNodeId(new TextEncoder().encode(options.chainId))
  const chainPaths = new Set([`/ext/bc/${options.chainId}`, `/ext/bc/${ALIAS}`])
  const vmIds = [options.vmId, ...(options.vmIds ?? [])]
  const staticPaths = new Set([...vmIds.map((id) => `/ext/vm/${id}`), `/ext/vm/${ALIAS}`, `/ext/vm/${SHORT_ALIAS}`])
  const healthPaths: ReadonlyMap<string, HealthKind> = new Map([
    ['/ext/health/health', 'health'],
    ['/ext/health/readiness', 'readiness'],
    ['/ext/health/liveness', 'liveness'],
  ])
  const facts: NodeFacts = {
    nodeId,
    chainId: options.chainId,
    chainAliases: [ALIAS],
    // The first VM ID carries both aliases (a node maps an alias to one ID); the others are listed without.
    vms: Object.fromEntries(vmIds.map((id, i) => [id, i === 0 ? [ALIAS, SHORT_ALIAS] : []])),
    version: options.version ?? '0.0.0',
  }
  const chainTarget: ServiceTarget = {kind: 'chain', chain}
  const staticTarget: ServiceTarget = {kind: 'static'}
  let closing = false
  let inFlight = 0
  let drained: (() => void) | undefined
  let open = 0
  let refused = 0
  const refusing = new Set<Socket>()
  let lastAllowedHost: string | undefined = ''

  /** The checks behind /ext/health: the node's "bootstrapped" (readiness) and tsvm's "timestampvm" (liveness). */
  async function checks(kind: HealthKind): Promise<Record<string, CheckResult>> {
    const out: Record<string, CheckResult> = {}
    if (kind !== 'liveness') out.bootstrapped = {message: [], timestamp: new Date(), duration: 0}
    if (kind === 'readiness') return out
    const timestamp = new Date()
    const started = process.hrtime.bigint()
    // At the cap the next client is refused: not healthy, whatever the chain says.
    const connections = {connections: open, maxConnections: limits.maxConnections, refusedConnections: refused}
    try {
      const message = {...(await options.health?.()), ...connections, ...(closing ? {closing: true} : {})}
      const check: CheckResult = {message, timestamp, duration: Number(process.hrtime.bigint() - started)}
      if (closing) check.error = 'shutting down: new requests are refused'
      else if (open >= limits.maxConnections)
        check.error = `${open} connections open, the limit: new connections are refused with 503`
      out[ALIAS] = check
    } catch (error) {
      out[ALIAS] = {
        error: redact((error as Error).message),
        timestamp,
        duration: Number(process.hrtime.bigint() - started),
      }
    }

    return out
  }

  const healthTarget: ServiceTarget = {kind: 'node', service: healthService(checks)}
  const infoTarget: ServiceTarget = {kind: 'node', service: infoService(facts)}

  /** The Host filter. Every request on a connection usually names the same Host: the last one allowed is not checked again. */
  function hostAllowed(req: IncomingMessage): boolean {
    if (hosts === undefined) return true
    const host = requestHost(req)
    if (host === lastAllowedHost) return true
    if (!allowedHost(host, hosts)) return false
    lastAllowedHost = host
    return true
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // AvalancheGo's order: Node-Id on everything, then the Host filter, then gzip (Vary), CORS, routing.
    const headers: Record<string, string> = closing ? {Connection: 'close', 'Node-Id': nodeId} : {'Node-Id': nodeId}
    if (!hostAllowed(req)) {
      send(
        req,
        res,
        403,
        {...headers, 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff'},
        INVALID_HOST_BODY,
      )
      return
    }

    headers.Vary = 'Accept-Encoding'
    if (isPreflight(req.method, req.headers['access-control-request-method'])) {
      const h = preflightHeaders(
        cors,
        req.headers.origin,
        req.headers['access-control-request-method'] as string,
        req.headers['access-control-request-headers'],
      )
      h.Vary = `Accept-Encoding, ${h.Vary}`
      res.writeHead(200, {...headers, ...h, 'Content-Length': '0'})
      res.end()
      return
    }

    actualCorsHeaders(cors, req.headers.origin, req.method, headers)
    const url = req.url ?? '/'
    let path = url
    const q = url.indexOf('?')
    if (q !== -1) path = url.slice(0, q)
    if (path.includes('%') || !path.startsWith('/')) {
      const target = targetPath(url)
      if (target === undefined) {
        text(res, 400, '400 Bad Request', {...headers, Connection: 'close'})
        return
      }

      path = target.path
      if (mayNeedCleaning(path) && req.method !== 'CONNECT') {
        const clean = cleanPath(path)
        if (clean !== path) return redirect(res, cleanPath(target.raw) + target.query, headers)
      }
    } else if (mayNeedCleaning(path) && req.method !== 'CONNECT') {
      const clean = cleanPath(path)
      if (clean !== path) return redirect(res, clean + (q === -1 ? '' : url.slice(q)), headers)
    }

    let target: ServiceTarget
    if (chainPaths.has(path)) target = chainTarget
    else if (staticPaths.has(path)) target = staticTarget
    else if (path === '/ext/info') target = infoTarget
    else if (path === '/ext/health' && req.method !== 'GET') target = healthTarget
    else if (path === '/ext/health' || healthPaths.has(path)) {
      const {json: body, healthy} = await healthReply(checks, healthPaths.get(path) ?? 'health')
      send(req, res, healthy ? 200 : 503, {...headers, 'Content-Type': 'application/json'}, body + '\n')
      return
    } else {
      send(
        req,
        res,
        404,
        {...headers, 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff'},
        '404 page not found\n',
      )
      return
    }

    // gorilla/rpc ServeHTTP, in its order (spec §3.3).
    if (req.method !== 'POST') {
      text(res, 405, `rpc: POST method required, received ${req.method}`, headers)
      return
    }

    const contentType = mediaType(req.headers['content-type'])
    if (contentType !== 'application/json') {
      text(res, 415, `rpc: unrecognized Content-Type: ${contentType}`, headers)
      return
    }

    let body: Buffer
    try {
      body = await readBody(req, limit)
    } catch (error) {
      if (error instanceof BodyTooLarge) {
        text(res, 413, `request body is larger than ${limit} bytes\n`, {...headers, Connection: 'close'})
        res.on('finish', () => req.socket.destroy())
        return
      }

      throw error
    }

    // A getBlock of a block in memory is answered at once, without a promise per layer below.
    const answer = answerRpc(goDecodeUtf8Raw(body), target, options.dialect)
    const reply = answer instanceof Promise ? await answer : answer
    if (reply.ran) headers['X-Content-Type-Options'] = 'nosniff'
    if (reply.body === undefined) {
      res.writeHead(200, {...headers, 'Content-Length': '0'})
      res.end()
      return
    }

    const replyHeaders: Record<string, string | number> = headers
    replyHeaders['Content-Type'] = JSON_TYPE
    sendReply(req, res, replyHeaders, reply.body)
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
      const done = (): void => {
        inFlight--
        if (inFlight === 0) drained?.()
      }

      handle(req, res).then(done, (error: unknown) => {
        try {
          if (res.headersSent) res.destroy()
          else text(res, 500, `internal error: ${redact((error as Error).message)}\n`)
        } finally {
          done()
        }
      })
    },
  )
  server.maxHeadersCount = 100
  // A client that half-closes its socket after sending (shutdown(SHUT_WR), `curl` through some
  // proxies) still gets its reply: node:http otherwise aborts the request on the client's FIN.
  ;(server as Server & {httpAllowHalfOpen: boolean}).httpAllowHalfOpen = true
  // The cap. node:http sets a connection up in its own 'connection' listener; this one runs
  // instead and passes on only the connections under the cap. Over it, a 503 is written at once,
  // before any request is read, and the connection closes: the client gets a clear answer fast
  // (also /ext/health, whose 503 means unhealthy), and what the client sends meanwhile is read
  // and dropped, so the close is not a reset that could swallow the 503. Those connections wait
  // at most REFUSE_LINGER_MS; beyond REFUSE_BACKLOG of them, node:net closes new ones at once.
  const setUp = server.listeners('connection') as Array<(socket: Socket) => void>
  if (setUp.length === 0)
    throw new TsvmError('INTERNAL', 'node:http installed no connection listener: this Node.js version is not supported')
  server.removeAllListeners('connection')
  server.maxConnections = limits.maxConnections + REFUSE_BACKLOG
  const busy = `server busy: ${limits.maxConnections} connections open, the most it serves at once; try again shortly\n`
  // Node-Id and Vary on these replies too, as on every routed one (gzip, then CORS).
  const always = `Node-Id: ${nodeId}\r\nVary: Accept-Encoding, Origin\r\n`
  const busyReply =
    'HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n' +
    `Content-Length: ${Buffer.byteLength(busy)}\r\nRetry-After: 1\r\n${always}Connection: close\r\n\r\n${busy}`
  // node:http's own replies to a request it cannot read (the 408 of a slow client, 400, 431, 413),
  // with the same status lines, plus Node-Id and Vary.
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    const message = (socket as Socket & {_httpMessage?: {headersSent: boolean}})._httpMessage
    if (error.code !== 'ECONNRESET' && socket.writable && !message?.headersSent) {
      const status = CLIENT_ERROR_STATUS[error.code ?? ''] ?? '400 Bad Request'
      socket.write(`HTTP/1.1 ${status}\r\n${always}Connection: close\r\n\r\n`)
    }

    socket.destroy()
  })
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
          error.code === 'EADDRINUSE' || error.code === 'EACCES' || error.code === 'EADDRNOTAVAIL'
            ? 'PORT_UNAVAILABLE'
            : 'SERVE_FAILED',
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
  const {port} = bound
  const loopback = isLoopbackAddress(bound.address)
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
      info: `${url}/ext/info`,
    },
    connections: () => ({open, refused, max: limits.maxConnections}),
    async close(): Promise<void> {
      closing = true
      for (const socket of refusing) socket.destroy()
      const stopped = new Promise<void>((resolve) => {
        server.close(() => resolve())
      })
      server.closeIdleConnections()
      // Bound the whole wait, the in-flight part too: server.close() stops node:http's timeout
      // checks, so a request whose head or body never completes would hold close() forever.
      const timer = setTimeout(() => server.closeAllConnections(), 5000)
      if (inFlight > 0)
        await new Promise<void>((resolve) => {
          drained = resolve
        })
      server.closeIdleConnections()
      await stopped
      clearTimeout(timer)
    },
  }
}
