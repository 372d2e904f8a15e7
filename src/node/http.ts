// The HTTP rules AvalancheGo's API server applies around its handlers (v1.14.2), as pure
// functions the server calls: the Host filter (--http-allowed-hosts), CORS (rs/cors v1.7.0 as the
// node configures it: the allowed origins, credentials allowed, default methods and headers), and
// gorilla/mux's path cleaning and decoding.
import {isIP} from 'node:net'

/** The node's refusal of a Host it does not serve: 403, this body, nosniff. */
export const INVALID_HOST_BODY = 'invalid host specified\n'

/** A Host filter: undefined when every Host is allowed ("*" listed). */
export type HostFilter = ReadonlySet<string> | undefined

/** The filter for a list of allowed host names (case-insensitive; "*" allows every Host). */
export function hostFilter(allowed: readonly string[]): HostFilter {
  if (allowed.includes('*')) return undefined
  return new Set(allowed.map((h) => h.toLowerCase()))
}

/**
 * The node's Host rule: an empty or missing Host, and any IP literal (any port), are allowed;
 * any other name must be listed. A name that resolves to this machine but is not listed is
 * refused, which is what stops a web page reaching the server through DNS rebinding.
 * One deliberate difference: a bracketed IPv6 literal without a port ("[::1]") counts as an IP
 * (Go's SplitHostPort fails on it and the node then refuses it unless listed).
 */
export function allowedHost(header: string | undefined, filter: HostFilter): boolean {
  if (filter === undefined || header === undefined || header === '') return true
  let host = header
  // net.SplitHostPort: "[v6]:port", "[v6]", "name:port"; more than one colon without brackets is not split.
  if (host.startsWith('[')) {
    const end = host.indexOf(']')
    if (end > 0 && (end === host.length - 1 || host[end + 1] === ':')) host = host.slice(1, end)
  } else {
    const colon = host.indexOf(':')
    if (colon !== -1 && colon === host.lastIndexOf(':')) host = host.slice(0, colon)
  }

  if (isIP(host) !== 0 && !host.includes('%')) return true
  return filter.has(host.toLowerCase())
}

// ------------------------------------------------------------------------------------------
// CORS, as rs/cors v1.7.0 with AllowedOrigins = the list and AllowCredentials = true.

const CORS_METHODS = new Set(['GET', 'POST', 'HEAD'])
const VARY_ENCODING_ORIGIN = 'Accept-Encoding, Origin'
const CORS_HEADERS = new Set(['origin', 'accept', 'content-type', 'x-requested-with'])

/** A compiled origin list: every origin allowed, or exact origins and one-'*' patterns (lower-cased). */
export interface CorsPolicy {
  all: boolean
  exact: ReadonlySet<string>
  patterns: ReadonlyArray<readonly [string, string]>
}

/** Compiles --allowed-origins: "*" allows every origin; "https://*.example.com" is a pattern. */
export function corsPolicy(origins: readonly string[]): CorsPolicy {
  const exact = new Set<string>()
  const patterns: Array<readonly [string, string]> = []
  let all = false
  for (const raw of origins) {
    const o = raw.toLowerCase()
    if (o === '*') all = true
    else if (o.includes('*')) {
      const star = o.indexOf('*')
      patterns.push([o.slice(0, star), o.slice(star + 1)] as const)
    } else exact.add(o)
  }

  return {all, exact, patterns}
}

function originAllowed(policy: CorsPolicy, origin: string): boolean {
  if (policy.all) return true
  const o = origin.toLowerCase()
  if (policy.exact.has(o)) return true
  return policy.patterns.some(
    ([pre, post]) => o.length >= pre.length + post.length && o.startsWith(pre) && o.endsWith(post),
  )
}

/** A preflight: OPTIONS with Access-Control-Request-Method (then no handler runs: 200 and these headers). */
export function isPreflight(method: string | undefined, requestMethod: string | string[] | undefined): boolean {
  return method === 'OPTIONS' && typeof requestMethod === 'string' && requestMethod !== ''
}

/** The headers of a preflight's 200 reply (only Vary when the origin, method or headers are not allowed). */
export function preflightHeaders(
  policy: CorsPolicy,
  origin: string | undefined,
  requestMethod: string,
  requestHeaders: string | undefined,
): Record<string, string> {
  const out: Record<string, string> = {Vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers'}
  if (!origin || !originAllowed(policy, origin)) return out
  const method = requestMethod.toUpperCase()
  if (method !== 'OPTIONS' && !CORS_METHODS.has(method)) return out
  const asked = (requestHeaders ?? '')
    .split(',')
    .map((h) => h.trim())
    .filter((h) => h !== '')
    .map((name) => canonicalHeader(name))
  if (!asked.every((h) => CORS_HEADERS.has(h.toLowerCase()))) return out
  out['Access-Control-Allow-Origin'] = policy.all ? '*' : origin
  out['Access-Control-Allow-Methods'] = method
  if (asked.length > 0) out['Access-Control-Allow-Headers'] = asked.join(', ')
  out['Access-Control-Allow-Credentials'] = 'true'
  return out
}

/** The CORS headers of an actual request's reply, added to `into`: Vary: Origin always, the rest for an allowed origin and method. */
export function actualCorsHeaders(
  policy: CorsPolicy,
  origin: string | undefined,
  method: string | undefined,
  into: Record<string, string>,
): void {
  // The usual case is a constant: not a new string to build and check on every reply.
  into.Vary = into.Vary === 'Accept-Encoding' ? VARY_ENCODING_ORIGIN : into.Vary ? `${into.Vary}, Origin` : 'Origin'
  if (!origin || method === 'OPTIONS' || !CORS_METHODS.has(method ?? '')) return
  if (!originAllowed(policy, origin)) return
  into['Access-Control-Allow-Origin'] = policy.all ? '*' : origin
  into['Access-Control-Allow-Credentials'] = 'true'
}

/** Go's http.CanonicalHeaderKey: content-type -> Content-Type. */
function canonicalHeader(name: string): string {
  if (!/^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$/.test(name)) return name
  return name.toLowerCase().replaceAll(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase())
}

// ------------------------------------------------------------------------------------------
// Paths, as gorilla/mux routes them.

/** Go's path.Clean, keeping a trailing slash as gorilla/mux's cleanPath does. */
export function cleanPath(p: string): string {
  if (p === '') return '/'
  const rooted = p.startsWith('/') ? p : '/' + p
  const out: string[] = []
  for (const part of rooted.split('/')) {
    if (part === '' || part === '.') continue
    if (part === '..') out.pop()
    else out.push(part)
  }

  let clean = '/' + out.join('/')
  if (rooted.endsWith('/') && clean !== '/') clean += '/'
  return clean
}

/** Whether a path may need cleaning: cheap test on the hot path before cleanPath. */
export function mayNeedCleaning(p: string): boolean {
  return p.includes('//') || p.includes('/.') || !p.startsWith('/')
}

/**
 * The path of a request target as Go's url.ParseRequestURI reads it: origin-form (/x?y) or
 * absolute-form (http://host/x?y), percent-decoded. `raw` keeps it encoded (for Location), and
 * undefined means the target does not parse (Go answers 400).
 */
export function targetPath(url: string): {path: string; raw: string; query: string} | undefined {
  let target = url
  if (!target.startsWith('/')) {
    const m = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/.exec(target)
    if (!m) return target === '*' ? {path: '*', raw: '*', query: ''} : undefined
    target = target.slice(m[0].length)
    if (target === '' || target.startsWith('?')) target = '/' + target
  }

  const q = target.indexOf('?')
  const raw = q === -1 ? target : target.slice(0, q)
  const query = q === -1 ? '' : target.slice(q)
  if (!raw.includes('%')) return {path: raw, raw, query}
  if (/%(?![0-9A-Fa-f]{2})/.test(raw)) return undefined
  try {
    return {path: decodeURIComponent(raw), raw, query}
  } catch {
    // Not UTF-8 once decoded: Go keeps the bytes, which match no route.
    return {
      path: raw.replaceAll(/%([0-9A-Fa-f]{2})/g, (_m, h: string) => String.fromCharCode(Number.parseInt(h, 16))),
      raw,
      query,
    }
  }
}
