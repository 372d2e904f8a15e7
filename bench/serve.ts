// `tsvm serve` under load: getBlock req/s against a bare node:http server answering a fixed
// body of the same size; proposeBlock's req/s (closed load: as fast as it answers) and its error
// count, beside the durable floor's under the same load; proposeBlock's p99 at the goal's 5,000
// req/s (open load on a fixed schedule) against the durable floor at the same rate (node:http and
// a bare classic-level group commit of the same writes, http-baseline.ts); the server's peak RSS. The load generator (load.ts) is its own
// process, as is each server.
//
// The p99 is read at the goal's rate, not at saturation: a closed load of 32 connections keeps
// the server's queue full by design, so its latencies measure the queue (on a 2-core machine a
// bare node:http server answering a fixed body shows a p99 over 10 ms that way). Both are in the
// figure's detail.
import {type ChildProcess, spawn} from 'node:child_process'
import {join} from 'node:path'

import {
  BENCH_DIST,
  BIN,
  type Figure,
  type Sizes,
  childEnv,
  median,
  progress,
  readHwmKb,
  run,
  throughputFigure,
  timeFigure,
  tsvmOk,
} from './lib.js'
import type {LoadResult, LoadSpec} from './load.js'

/** The proposeBlock goal's rate: the open load its p99 is read at. */
const PROPOSE_RATE = 5000

export interface Served {
  child: ChildProcess
  port: number
  /** The chain endpoint path, e.g. /ext/bc/timestampvm. */
  path: string
  stop(): Promise<void>
}

/** Spawns a server and waits for the first stdout line that names its port. */
export function startServer(args: string[], env: Record<string, string>): Promise<Served> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {env, stdio: ['ignore', 'pipe', 'pipe']})
    let out = ''
    let err = ''
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`server did not start in 30 s:\n${out}\n${err}`))
    }, 30_000)
    const stop = () =>
      new Promise<void>((done) => {
        if (child.exitCode !== null || child.signalCode !== null) {
          done()
          return
        }

        child.once('close', () => done())
        child.kill('SIGTERM')
        setTimeout(() => child.kill('SIGKILL'), 10_000).unref()
      })
    child.stderr!.on('data', (b: Buffer) => {
      err += b.toString('utf8')
    })
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString('utf8')
      // `tsvm serve --json` prints its start info as JSON; the baseline prints {"port": n}.
      const m = /"port"\s*:\s*(\d+)/.exec(out) ?? /127\.0\.0\.1:(\d+)/.exec(out)
      if (m) {
        clearTimeout(timer)
        const alias = /"chainAlias"\s*:\s*"([^"]+)"/.exec(out)?.[1]
        const path = alias ? new URL(alias, 'http://127.0.0.1').pathname : '/ext/bc/timestampvm'
        resolve({child, port: Number(m[1]), path, stop})
      }
    })
    child.on('close', (code) => {
      clearTimeout(timer)
      reject(new Error(`server exited (${code}) before it listened:\n${out}\n${err}`))
    })
  })
}

/** Runs the load generator as its own process. */
export async function loadRun(spec: LoadSpec): Promise<LoadResult> {
  const r = await run(process.execPath, [join(BENCH_DIST, 'load.js'), JSON.stringify(spec)], {
    timeoutMs: (spec.seconds + 60) * 1000,
  })
  if (r.code !== 0) throw new Error(`load generator failed (${r.code}): ${r.stderr}`)
  return JSON.parse(r.stdout) as LoadResult
}

/** One JSON-RPC call to a served chain. */
export async function rpc(
  port: number,
  path: string,
  method: string,
  params: unknown,
): Promise<{result?: Record<string, string>; error?: unknown}> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method: 'POST',
    headers: {'content-type': 'application/json'},
    body: JSON.stringify({jsonrpc: '2.0', method, params, id: 1}),
  })
  return (await res.json()) as {result?: Record<string, string>; error?: unknown}
}

/** Block IDs to read: walk back from the tip (at most 256), so lookups are spread over the chain. */
export async function blockIds(port: number, path: string): Promise<string[]> {
  const ids: string[] = []
  let reply = await rpc(port, path, 'timestampvm.getBlock', {})
  while (reply.result && ids.length < 256) {
    ids.push(reply.result.id as string)
    if (reply.result.height === '0') break
    reply = await rpc(port, path, 'timestampvm.getBlock', {id: reply.result.parentID})
  }

  return ids
}

/** Runs the server figures in a fresh scratch dir (proposeBlock first, so getBlock has blocks to read). */
export async function serveFigures(sizes: Sizes, dir: string): Promise<Figure[]> {
  const dataDir = join(dir, 'chain')
  const env = childEnv({TSVM_DATA_DIR: dataDir})
  await tsvmOk(['init'], {env})
  progress('serve: starting tsvm serve and a bare node:http server')
  const server = await startServer([BIN, 'serve', '--host', '127.0.0.1', '--port', '0', '--json'], env)
  const figures: Figure[] = []
  try {
    const common = {
      url: `http://127.0.0.1:${server.port}`,
      seconds: sizes.serveSeconds,
      concurrency: sizes.serveConcurrency,
    }
    // The bare server answers every POST with one fixed body: a getBlock reply of this chain.
    const fixed = JSON.stringify(await rpc(server.port, server.path, 'timestampvm.getBlock', {}))
    const baseline = await startServer([join(BENCH_DIST, 'http-baseline.js'), fixed], childEnv())
    const bareUrl = `http://127.0.0.1:${baseline.port}`
    const accepted = JSON.stringify({jsonrpc: '2.0', result: {success: true}, id: 1})
    const floor = await startServer([join(BENCH_DIST, 'http-baseline.js'), accepted, join(dir, 'floor')], childEnv())
    const floorUrl = `http://127.0.0.1:${floor.port}`
    // The same server on its own new chain, with V8's worker pool cut to one thread (node's
    // --v8-pool-size, default 4): on a 2-core machine shared with the load generator, V8's
    // parallel and concurrent GC tasks on four threads compete with both for the cores.
    const pooledEnv = childEnv({TSVM_DATA_DIR: join(dir, 'chain-v8-pool-1')})
    await tsvmOk(['init'], {env: pooledEnv})
    const pooled = await startServer(
      ['--v8-pool-size=1', BIN, 'serve', '--host', '127.0.0.1', '--port', '0', '--json'],
      pooledEnv,
    )
    const pooledPaced: LoadResult[] = []
    const proposals: LoadResult[] = []
    const bareProposals: LoadResult[] = []
    const floorProposals: LoadResult[] = []
    const paced: LoadResult[] = []
    const barePaced: LoadResult[] = []
    const floorPaced: LoadResult[] = []
    const paceSeconds = sizes.serveSeconds / 2
    const pace = {
      rate: PROPOSE_RATE,
      seconds: paceSeconds,
      requests: Math.min(sizes.serveRequests, Math.ceil(PROPOSE_RATE * paceSeconds)),
      concurrency: 64,
    }
    const ours: LoadResult[] = []
    const bare: LoadResult[] = []
    try {
      // First, while the chain and the floor's database are both new, so LevelDB's compactions
      // (which grow with the data) weigh the same on both.
      progress(
        `serve: proposeBlock at ${PROPOSE_RATE} req/s (and the durable floor and the bare server at the same rate)`,
      )
      for (let i = 0; i < sizes.repeats; i++) {
        paced.push(await loadRun({...common, ...pace, path: server.path, kind: 'proposeBlock'}))
        floorPaced.push(await loadRun({...common, ...pace, url: floorUrl, path: '/', kind: 'proposeBlock'}))
        barePaced.push(await loadRun({...common, ...pace, url: bareUrl, path: '/', kind: 'getBlock'}))
        pooledPaced.push(
          await loadRun({
            ...common,
            ...pace,
            url: `http://127.0.0.1:${pooled.port}`,
            path: pooled.path,
            kind: 'proposeBlock',
          }),
        )
      }

      await pooled.stop()

      progress('serve: proposeBlock load (and the bare server and the durable floor at the same concurrency)')
      for (let i = 0; i < sizes.repeats; i++) {
        proposals.push(
          await loadRun({...common, path: server.path, kind: 'proposeBlock', requests: sizes.serveRequests}),
        )
        bareProposals.push(
          await loadRun({...common, url: bareUrl, path: '/', kind: 'getBlock', requests: sizes.serveRequests}),
        )
        floorProposals.push(
          await loadRun({...common, url: floorUrl, path: '/', kind: 'proposeBlock', requests: sizes.serveRequests}),
        )
      }

      const ids = await blockIds(server.port, server.path)
      progress('serve: getBlock load against tsvm serve and the bare server')
      for (let i = 0; i < sizes.repeats; i++) {
        ours.push(await loadRun({...common, path: server.path, kind: 'getBlock', ids, requests: sizes.serveRequests}))
        bare.push(
          await loadRun({...common, url: bareUrl, path: '/', kind: 'getBlock', ids, requests: sizes.serveRequests}),
        )
      }
    } finally {
      await baseline.stop()
      await floor.stop()
      await pooled.stop()
    }

    const p99 = median(paced.map((p) => p.p99Ms))
    const pacedErrors = paced.reduce((n, p) => n + p.errors, 0)
    const errors = proposals.reduce((n, p) => n + p.errors, pacedErrors)
    const propose = throughputFigure({
      id: 'serve.proposeBlock',
      name: 'tsvm serve proposeBlock (closed load)',
      value: median(proposals.map((p) => p.rps)),
      unit: 'req/s',
      // What this machine's loopback HTTP allows at the same concurrency.
      baseline: {name: 'bare node:http, fixed body', value: median(bareProposals.map((r) => r.rps)), unit: 'req/s'},
      goal: '>= 0.6x, 0 errors',
      minRatio: 0.6,
      detail: {
        p99Ms: median(proposals.map((p) => p.p99Ms)),
        baselineP99Ms: median(bareProposals.map((p) => p.p99Ms)),
        errors,
        concurrency: sizes.serveConcurrency,
        // The same closed load on the durable floor: what a server that commits each proposal
        // (synced, grouped) before answering can do here, beside the bare server that writes nothing.
        durableFloor: {
          rps: median(floorProposals.map((p) => p.rps)),
          ratio: median(proposals.map((p) => p.rps)) / median(floorProposals.map((p) => p.rps)),
          floorToBare: median(floorProposals.map((p) => p.rps)) / median(bareProposals.map((p) => p.rps)),
          errors: floorProposals.reduce((n, p) => n + p.errors, 0),
          runs: floorProposals,
        },
        runs: proposals,
        baselineRuns: bareProposals,
      },
    })
    propose.met = propose.met === true && errors === 0
    figures.push(propose)
    // The goal is a ratio to the durable floor: how far the server is from what node:http,
    // LevelDB and the disk allow at the same rate on this machine (the floor itself has missed an
    // absolute 10 ms here, so only the ratio says what tsvm's own code costs).
    const tail = timeFigure({
      id: 'serve.proposeBlock.p99',
      name: `tsvm serve proposeBlock p99 at ${PROPOSE_RATE} req/s (open load)`,
      value: p99,
      unit: 'ms',
      baseline: {
        name: 'node:http + classic-level group commit of the same writes',
        value: median(floorPaced.map((p) => p.p99Ms)),
        unit: 'ms',
      },
      goal: '<= 1.3x, 0 errors',
      maxRatio: 1.3,
      detail: {
        p50Ms: median(paced.map((p) => p.p50Ms)),
        achievedRate: median(paced.map((p) => p.rps)),
        errors: pacedErrors,
        bareFixedBodyP99Ms: median(barePaced.map((p) => p.p99Ms)),
        // tsvm serve run as `node --v8-pool-size=1` (e.g. NODE_OPTIONS=--v8-pool-size=1), same load.
        v8PoolSize1: {
          p99Ms: median(pooledPaced.map((p) => p.p99Ms)),
          ratio: median(pooledPaced.map((p) => p.p99Ms)) / median(floorPaced.map((p) => p.p99Ms)),
          p50Ms: median(pooledPaced.map((p) => p.p50Ms)),
          errors: pooledPaced.reduce((n, p) => n + p.errors, 0),
          runs: pooledPaced,
        },
        runs: paced,
        baselineRuns: floorPaced,
        bareFixedBodyRuns: barePaced,
      },
    })
    tail.met = tail.met === true && pacedErrors === 0
    figures.push(tail)

    const getErrors = ours.reduce((n, p) => n + p.errors, 0)
    const get = throughputFigure({
      id: 'serve.getBlock',
      name: 'tsvm serve getBlock',
      value: median(ours.map((r) => r.rps)),
      unit: 'req/s',
      baseline: {name: 'bare node:http, fixed body', value: median(bare.map((r) => r.rps)), unit: 'req/s'},
      goal: '>= 0.8x',
      minRatio: 0.8,
      detail: {
        p99Ms: median(ours.map((r) => r.p99Ms)),
        errors: getErrors,
        concurrency: sizes.serveConcurrency,
        runs: ours,
        baselineRuns: bare,
      },
    })
    if (getErrors > 0) get.met = false
    figures.push(get, {
      id: 'serve.rss',
      name: 'tsvm serve peak RSS under load',
      value: (readHwmKb(server.child.pid) ?? 0) / 1024,
      unit: 'MiB',
      detail: {},
    })
  } finally {
    await server.stop()
  }

  return figures
}
