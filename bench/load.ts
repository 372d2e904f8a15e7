// The load generator, run as its own process so it never shares an event loop with the server:
// an undici Pool (keep-alive, `concurrency` connections, one request in flight on each) sends
// POSTs to 127.0.0.1 until `requests` are done or `seconds` have passed, and prints one JSON line
// with the request rate, latency quantiles and the number of failures.
//
// Two shapes of load: closed (no `rate`: each connection sends its next request as soon as the
// last is answered, which finds the most the server can do, and whose latencies are mostly time
// spent queued behind the other connections), and open (`rate` requests per second on a fixed
// schedule, whatever the answers, as clients of a service arrive). Open-load latency runs from
// the moment a request was due, not when it was sent, so a stalled server cannot hide its stall
// by delaying the requests behind it. Open load goes through raw-http.ts, a minimal client that
// takes less of the CPU the server needs (the two share 2 cores here) than undici does.
//
// With `grpc`, the same requests go to an AvalancheGo plugin as http.HTTP/HandleSimple calls
// (what the node makes of a request to /ext/bc/<chainID>), over one gRPC connection as the node
// keeps one per chain, with the harness's lean client (test/plugin/h2node.ts); `url`
// is then the plugin's 127.0.0.1 address.
//
//   node dist/bench/load.js '{"url":"http://127.0.0.1:9650","path":"/ext/bc/timestampvm","kind":"getBlock",...}'
import {createHash} from 'node:crypto'
import {pathToFileURL} from 'node:url'

import {Pool} from 'undici'

import {HttpService} from '../src/plugin/messages.js'
import {H2NodeClient} from '../test/plugin/h2node.js'
import {RawPool} from './raw-http.js'

/** What the load generator is told (argv[2], JSON). */
export interface LoadSpec {
  url: string
  path: string
  /** getBlock cycles through `ids` (none: the last accepted); proposeBlock sends distinct payloads. */
  kind: 'getBlock' | 'proposeBlock'
  ids?: string[]
  requests: number
  seconds: number
  concurrency: number
  /** Open load: requests per second on a fixed schedule. */
  rate?: number
  /** Send each request as a HandleSimple call to the plugin at `url`'s host:port (closed load only). */
  grpc?: boolean
}

/** What it prints. */
export interface LoadResult {
  requests: number
  errors: number
  seconds: number
  rps: number
  p50Ms: number
  p99Ms: number
  maxMs: number
  /** The latency at each of CDF_POINTS, ms: the distribution the report draws. */
  cdf?: number[]
  firstError?: string
}

/** The fractions of requests at which load() reports the latency (LoadResult.cdf): every 1% and the far tail. */
export const CDF_POINTS: readonly number[] = [...Array.from({length: 99}, (_, i) => (i + 1) / 100), 0.995, 0.999, 1]

function body(spec: LoadSpec, i: number): string {
  if (spec.kind === 'getBlock') {
    const params = spec.ids && spec.ids.length > 0 ? `{"id":"${spec.ids[i % spec.ids.length]}"}` : '{}'
    return `{"jsonrpc":"2.0","method":"timestampvm.getBlock","params":${params},"id":${i}}`
  }

  // A distinct 32-byte payload per request (the request number in its last 8 bytes), as v1.3's
  // checksummed hex: 0x + hex(data || sha256(data)[28:32]) (spec §2.3, §3.2).
  const bytes = Buffer.alloc(32, 0xab)
  bytes.writeBigUInt64BE(BigInt(i), 24)
  const data = '0x' + bytes.toString('hex') + createHash('sha256').update(bytes).digest().subarray(28).toString('hex')
  return `{"jsonrpc":"2.0","method":"timestampvm.proposeBlock","params":{"data":"${data}"},"id":${i}}`
}

function failure(spec: LoadSpec, status: number, text: string): string | undefined {
  if (status !== 200) return `HTTP ${status}: ${text.slice(0, 200)}`
  if (text.includes('"error"')) return text.slice(0, 200)
  if (spec.kind === 'proposeBlock' && !/"success":true/i.test(text)) return text.slice(0, 200)
  return undefined
}

/**
 * Open load first runs this long unrecorded, so connections are open and both processes are
 * past their JIT warm-up: with half a second, the worst latencies of most runs fell in one
 * stall about a second after start, in the server and the generator alike.
 */
const WARMUP_SECONDS = 2

export async function load(spec: LoadSpec): Promise<LoadResult> {
  const url = new URL(spec.url)
  if (url.hostname !== '127.0.0.1') throw new Error(`the load generator only talks to 127.0.0.1 (got ${url.hostname})`)
  // Closed load goes through undici, open load through the raw client, a plugin through gRPC; only one is made.
  if (spec.grpc && spec.rate !== undefined) throw new Error('gRPC load is closed load only')
  const plugin = spec.grpc ? new H2NodeClient(url.host) : undefined
  const raw = spec.rate === undefined || plugin ? undefined : new RawPool(Number(url.port), spec.path, spec.concurrency)
  const pool =
    raw || plugin
      ? undefined
      : new Pool(url.origin, {connections: spec.concurrency, pipelining: 1, keepAliveTimeout: 30_000})
  const utf8 = new TextEncoder()
  const warmup = spec.rate === undefined ? 0 : Math.ceil(spec.rate * WARMUP_SECONDS)
  // Bodies are made before the clock starts: the generator should measure the server, not itself.
  const bodies = Array.from({length: warmup + spec.requests}, (_, i) => body(spec, i))
  const latencies = new Float64Array(spec.requests)
  let next = 0
  let done = 0
  let errors = 0
  let firstError: string | undefined
  let recording = false
  async function send(i: number, due: number): Promise<void> {
    let bad: string | undefined
    try {
      if (plugin) {
        const res = await plugin.call(HttpService.HandleSimple, {
          method: 'POST',
          url: spec.path,
          requestHeaders: [{key: 'Content-Type', values: ['application/json']}],
          body: utf8.encode(bodies[i]!),
          responseHeaders: [],
        })
        bad = failure(spec, res.code, new TextDecoder().decode(res.body))
      } else if (raw) {
        const res = await raw.post(bodies[i]!)
        bad = failure(spec, res.status, res.body)
      } else {
        const res = await pool!.request({
          path: spec.path,
          method: 'POST',
          headers: {'content-type': 'application/json'},
          body: bodies[i],
        })
        bad = failure(spec, res.statusCode, await res.body.text())
      }
    } catch (error) {
      bad = String(error)
    }

    if (bad !== undefined) {
      errors++
      firstError ??= bad
    }

    if (recording) latencies[done++] = performance.now() - due
  }

  /** Open load: requests first..last-1 on a fixed schedule from now, until `seconds` have passed. */
  async function paced(first: number, last: number, seconds: number): Promise<void> {
    const interval = 1000 / spec.rate!
    const t0 = performance.now()
    const end = t0 + seconds * 1000
    const sent: Array<Promise<void>> = []
    next = first
    // Every millisecond, send whatever has come due (a timer, not a busy loop: the server needs the CPU).
    await new Promise<void>((resolve) => {
      const tick = () => {
        const t = performance.now()
        for (
          let due = t0 + (next - first) * interval;
          next < last && due <= t && due < end;
          due = t0 + (next - first) * interval
        )
          sent.push(send(next++, due))
        if (next >= last || t >= end) resolve()
        else setTimeout(tick, 1)
      }

      tick()
    })
    await Promise.all(sent)
  }

  if (warmup > 0) {
    await paced(0, warmup, WARMUP_SECONDS)
    errors = 0
    firstError = undefined
  }

  recording = true
  const start = performance.now()
  if (spec.rate === undefined) {
    const deadline = start + spec.seconds * 1000
    const worker = async () => {
      while (next < spec.requests && performance.now() < deadline) await send(next++, performance.now())
    }

    await Promise.all(Array.from({length: spec.concurrency}, worker))
  } else await paced(warmup, warmup + spec.requests, spec.seconds)
  const seconds = (performance.now() - start) / 1000
  await pool?.close()
  raw?.close()
  plugin?.close()
  const lat = Array.from(latencies.subarray(0, done)).sort((a, b) => a - b)
  const q = (p: number) => (lat.length === 0 ? 0 : lat[Math.min(lat.length - 1, Math.ceil(p * lat.length) - 1)]!)
  return {
    requests: done,
    errors,
    seconds,
    rps: done / seconds,
    p50Ms: q(0.5),
    p99Ms: q(0.99),
    maxMs: lat.at(-1) ?? 0,
    cdf: CDF_POINTS.map((p) => q(p)),
    firstError,
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await load(JSON.parse(process.argv[2] ?? '{}') as LoadSpec)
  process.stdout.write(JSON.stringify(result) + '\n')
}
