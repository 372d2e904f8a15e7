// The AvalancheGo plugin, driven as the node drives it (the test suite's node-side harness: its
// own gRPC client, Runtime server and an in-memory rpcdb with the node's semantics). The node is
// Go, and grpc-go's per-call cost is far below grpc-js's, so here the harness plays it with a lean
// client on the plugin's own HTTP/2 framing (test/plugin/h2node.ts, `lean`) rather than grpc-js,
// which would mostly time the harness itself; one run with grpc-js on the node's side is kept in
// the accept figure's detail.
//   - handshake: spawn of the installed launcher → Runtime/Initialize received, measured by
//     `tsvm plugin probe`'s code, against `node -e 0` from spawn to exit, spawned alternately;
//   - accept: ParseBlock + BlockVerify + BlockAccept per block over gRPC, the VM's writes going to
//     the node's rpcdb, against the same VM embedded doing parseBlock + verify + accept in process.
//     "The same VM embedded" is the VM with the plugin's options (undecided blocks in memory only)
//     on LevelDB with unsynced writes: the node's rpcdb does not sync its writes and the harness
//     keeps them in memory, so a synced baseline would mostly measure fsync. It runs on tmpfs
//     when there is one, else on the bench's disk; the CLI's own setting (synced, undecided
//     blocks persisted) on the same storage is in the detail. Medians of the repeats;
//   - getBlock: HandleSimple getBlock calls (what the node makes of /ext/bc/<chainID> requests)
//     against `tsvm serve` getBlock over HTTP, same load generator, same block IDs, same concurrency.
import {randomBytes} from 'node:crypto'
import {existsSync} from 'node:fs'
import {mkdtemp, rm} from 'node:fs/promises'
import {join} from 'node:path'

import {Level} from 'level'

import {installPlugin} from '../src/plugin/install.js'
import {State, VmService} from '../src/plugin/messages.js'
import {probePlugin} from '../src/plugin/probe.js'
import {type Block, makeBlock, parseBlock} from '../src/vm/block.js'
import {idToString} from '../src/vm/encoding.js'
import {genesisBlock} from '../src/vm/genesis.js'
import {type StateDb} from '../src/vm/state.js'
import {TimestampVM} from '../src/vm/vm.js'
import {MemoryDb, startChain} from '../test/plugin/harness.js'
import {
  alternate,
  BIN,
  type Figure,
  ROOT,
  type Sizes,
  childEnv,
  median,
  nodeBare,
  now,
  progress,
  throughputFigure,
  timeFigure,
  tsvmOk,
} from './lib.js'
import type {LoadResult} from './load.js'
import {blockIds, loadRun, startServer} from './serve.js'

const GENESIS = new TextEncoder().encode('bench plugin')

/**
 * Blocks accepted before the clock starts, through the plugin and embedded alike. The plugin is a
 * fresh process each run while the embedded VM runs in the bench's own, already compiled after
 * the first repeat; without this the plugin's figure would include its JIT warming up, which a
 * node's long-lived plugin pays once. Both figures are steady-state.
 */
const WARM_UP = 300

/** `n` blocks on the genesis, as peers would send them (past timestamps, random payloads). */
function chainOf(n: number): Block[] {
  const blocks: Block[] = []
  let parent = genesisBlock(GENESIS)
  const data = randomBytes(32 * n)
  for (let i = 0; i < n; i++) {
    parent = makeBlock({
      parentId: parent.id,
      height: parent.height + 1n,
      timestamp: 1_700_000_000n + BigInt(i),
      data: data.subarray(32 * i, 32 * i + 32),
    })
    blocks.push(parent)
  }

  return blocks
}

/** Handshake latency of the installed launcher against `node -e 0`. */
async function handshake(sizes: Sizes, dir: string): Promise<Figure> {
  const {launcher} = await installPlugin({
    pluginDir: join(dir, 'plugins'),
    entry: join(ROOT, 'dist', 'bundle', 'plugin.js'),
  })
  const {as: ours, bs: bare} = await alternate(
    sizes.startupRuns,
    async () => ({ms: (await probePlugin(launcher)).handshakeMs, code: 0}),
    nodeBare,
    (i) => progress(`plugin: handshake ${i + 1}/${sizes.startupRuns}`),
  )
  return timeFigure({
    id: 'plugin.handshake',
    name: 'plugin handshake: spawn → Runtime/Initialize',
    value: median(ours),
    unit: 'ms',
    baseline: {name: 'node -e 0 (spawn to exit)', value: median(bare), unit: 'ms'},
    goal: '<= 3.0x',
    maxRatio: 3,
    detail: {runs: ours, baselineRuns: bare},
  })
}

/** LevelDB in `dir` whose writes never wait for the disk (as the node's rpcdb). */
function unsyncedLevel(dir: string): StateDb {
  const db = new Level<Uint8Array, Uint8Array>(dir, {keyEncoding: 'view', valueEncoding: 'view'})
  const batch = db.batch.bind(db) as () => ReturnType<typeof db.batch>
  ;(db as unknown as {batch: () => unknown}).batch = () => {
    const chained = batch()
    const write = chained.write.bind(chained)
    chained.write = ((options?: object) => write({...options, sync: false})) as typeof chained.write
    return chained
  }

  return db as unknown as StateDb
}

/**
 * Milliseconds of the embedded VM doing what the node asks of the plugin, in a fresh data dir:
 * `plugin` the plugin's setting (undecided blocks in memory, unsynced LevelDB), else the CLI's.
 */
async function embeddedAccept(dir: string, blocks: Block[], plugin: boolean): Promise<number> {
  const vm = plugin
    ? await TimestampVM.openOn(unsyncedLevel(dir), dir, {volatileProcessing: true})
    : await TimestampVM.open(dir)
  const one = async (b: Block): Promise<void> => {
    const block = parseBlock(b.bytes)
    await vm.verify(block)
    await vm.accept(block.id)
  }

  try {
    await vm.initialize(GENESIS)
    for (const b of blocks.slice(0, WARM_UP)) await one(b)
    const start = now()
    for (const b of blocks.slice(WARM_UP)) await one(b)
    return now() - start
  } finally {
    await vm.close()
  }
}

/** Per-block means of ParseBlock, BlockVerify and BlockAccept through a fresh plugin chain, and the total. */
async function pluginAccept(
  blocks: Block[],
  lean: boolean,
): Promise<{
  ms: number
  split: {parse: number; verify: number; accept: number}
  rpcdb: {batches: number; gets: number}
  started: Awaited<ReturnType<typeof startChain>>
}> {
  const n = blocks.length - WARM_UP
  const db = new MemoryDb()
  let gets = 0
  const get = db.get.bind(db)
  db.get = (key) => {
    gets++
    return get(key)
  }

  const started = await startChain({db, genesis: GENESIS, spawn: {lean}})
  const {chain} = started
  await chain.setState(State.BOOTSTRAPPING)
  const batchesBefore = db.batches.length
  const getsBefore = gets
  for (const b of blocks.slice(0, WARM_UP)) {
    await chain.parseBlock(b.bytes)
    await chain.verify(b.bytes)
    await chain.accept(b.id)
  }

  const t = {parse: 0, verify: 0, accept: 0}
  const start = now()
  for (const b of blocks.slice(WARM_UP)) {
    const t0 = now()
    await chain.parseBlock(b.bytes)
    const t1 = now()
    await chain.verify(b.bytes)
    const t2 = now()
    await chain.accept(b.id)
    t.parse += t1 - t0
    t.verify += t2 - t1
    t.accept += now() - t2
  }

  const ms = now() - start
  await chain.setState(State.NORMAL_OP)
  return {
    ms,
    split: {parse: t.parse / n, verify: t.verify / n, accept: t.accept / n},
    rpcdb: {batches: (db.batches.length - batchesBefore) / n, gets: (gets - getsBefore) / n},
    started,
  }
}

/** Accept throughput through the plugin against the embedded VM; then getBlock through HandleSimple against tsvm serve. */
export async function pluginFigures(sizes: Sizes, dir: string): Promise<Figure[]> {
  const figures: Figure[] = [await handshake(sizes, dir)]

  const n = Math.min(sizes.acceptBlocks, 2000)
  const blocks = chainOf(WARM_UP + n)
  const shm = existsSync('/dev/shm') ? await mkdtemp('/dev/shm/tsvm-bench-plugin-') : undefined
  const ours: number[] = []
  const fast: number[] = []
  const cli: number[] = []
  const split = {parse: [] as number[], verify: [] as number[], accept: [] as number[]}
  let rpcdb = {batches: 0, gets: 0}
  let last: Awaited<ReturnType<typeof startChain>> | undefined
  try {
    for (let r = 0; r < sizes.repeats; r++) {
      progress(`plugin: accept run ${r + 1}/${sizes.repeats}, ${n} blocks through the plugin and embedded`)
      const run = await pluginAccept(blocks, true)
      const {started} = run
      ours.push(run.ms)
      split.parse.push(run.split.parse)
      split.verify.push(run.split.verify)
      split.accept.push(run.split.accept)
      rpcdb = run.rpcdb
      // The last run's chain stays up for the getBlock load.
      if (last) await last.chain.stop()
      last = started
      const base = shm ?? dir
      fast.push(await embeddedAccept(join(base, `embedded-${r}`), blocks, true))
      cli.push(await embeddedAccept(join(base, `embedded-cli-${r}`), blocks, false))
    }

    // The same through grpc-js on the node's side (an independent gRPC implementation, as in the tests).
    progress(`plugin: accept through grpc-js on the node's side, ${n} blocks`)
    const viaGrpcJs = await pluginAccept(blocks, false)
    await viaGrpcJs.started.chain.stop()

    // The floor of each of those calls on this machine now: a bare Version round trip.
    const roundTrips: number[] = []
    for (let i = 0; i < 200; i++) {
      const t0 = now()
      await last!.chain.vm.call(VmService.Version, {})
      roundTrips.push(now() - t0)
    }

    const baselineMs = fast
    figures.push(
      throughputFigure({
        id: 'plugin.accept',
        name: 'plugin accept: ParseBlock + BlockVerify + BlockAccept over gRPC, rpcdb writes',
        value: (n * 1000) / median(ours),
        unit: 'blocks/s',
        baseline: {
          name: `the same VM embedded (parse, verify, accept; undecided blocks in memory, unsynced LevelDB on ${shm ? 'tmpfs' : 'disk'})`,
          value: (n * 1000) / median(baselineMs),
          unit: 'blocks/s',
        },
        goal: '>= 0.3x',
        minRatio: 0.3,
        detail: {
          blocks: n,
          warmUpBlocks: WARM_UP,
          ms: ours,
          baselineMs,
          // The CLI's setting on the same storage: every write synced, undecided blocks persisted.
          embeddedCliBlocksPerSecond: (n * 1000) / median(cli),
          embeddedCliMs: cli,
          // Where the time goes: the node's wait per call, and the rpcdb calls the plugin makes back.
          perBlockMeanMs: {
            parseBlock: median(split.parse),
            blockVerify: median(split.verify),
            blockAccept: median(split.accept),
          },
          rpcdbPerBlock: rpcdb,
          // One run with grpc-js playing the node (client and rpcdb server) instead of the lean client.
          nodeSideGrpcJs: {blocksPerSecond: (n * 1000) / viaGrpcJs.ms, perBlockMeanMs: viaGrpcJs.split},
          // Each block costs 3 calls from the node plus the rpcdb calls back, each a round trip
          // between two processes; on a busy machine each waits for both to be scheduled.
          grpcRoundTripMs: {
            median: median(roundTrips),
            mean: roundTrips.reduce((x, y) => x + y, 0) / roundTrips.length,
          },
          roundTripsPerBlock: 3 + rpcdb.batches + rpcdb.gets,
          // What the plugin could reach if each block cost only those round trips at the median:
          // the plugin's own work is what separates the figure from this one.
          transportFloorBlocksPerSecond: 1000 / ((3 + rpcdb.batches + rpcdb.gets) * median(roundTrips)),
        },
      }),
    )

    // getBlock: the plugin's chain (n blocks) and a tsvm serve chain of as many blocks.
    const plugin = last!
    const pluginIds = blocks.slice(-256).map((b) => idToString(b.id))
    const dataDir = join(dir, 'serve-chain')
    const env = childEnv({TSVM_DATA_DIR: dataDir})
    await tsvmOk(['init'], {env})
    const input = Array.from(
      chainOf(WARM_UP + n),
      (b) => Buffer.from(b.bytes.subarray(50)).toString('hex') + '\n',
    ).join('')
    await tsvmOk(['propose', '-'], {env, input})
    progress('plugin: getBlock through HandleSimple against tsvm serve')
    const server = await startServer([BIN, 'serve', '--host', '127.0.0.1', '--port', '0', '--json'], env)
    const viaPlugin: LoadResult[] = []
    const viaServe: LoadResult[] = []
    try {
      const serveIds = await blockIds(server.port, server.path)
      const common = {
        kind: 'getBlock' as const,
        requests: sizes.serveRequests,
        seconds: sizes.serveSeconds,
        concurrency: sizes.serveConcurrency,
      }
      for (let i = 0; i < sizes.repeats; i++) {
        viaPlugin.push(
          await loadRun({
            ...common,
            url: `http://${plugin.plugin.handshake!.addr}`,
            path: '/ext/bc/chain',
            ids: pluginIds,
            grpc: true,
          }),
        )
        viaServe.push(
          await loadRun({...common, url: `http://127.0.0.1:${server.port}`, path: server.path, ids: serveIds}),
        )
      }
    } finally {
      await server.stop()
    }

    const errors = [...viaPlugin, ...viaServe].reduce((k, r) => k + r.errors, 0)
    const get = throughputFigure({
      id: 'plugin.getBlock',
      name: 'plugin getBlock through HandleSimple (gRPC)',
      value: median(viaPlugin.map((r) => r.rps)),
      unit: 'req/s',
      baseline: {name: 'tsvm serve getBlock (HTTP)', value: median(viaServe.map((r) => r.rps)), unit: 'req/s'},
      goal: '0 errors',
      detail: {
        p99Ms: median(viaPlugin.map((r) => r.p99Ms)),
        baselineP99Ms: median(viaServe.map((r) => r.p99Ms)),
        errors,
        firstError: [...viaPlugin, ...viaServe].find((r) => r.firstError)?.firstError,
        concurrency: sizes.serveConcurrency,
        runs: viaPlugin,
        baselineRuns: viaServe,
      },
    })
    get.met = errors === 0
    figures.push(get)
  } finally {
    await last?.chain.stop()
    if (shm) await rm(shm, {recursive: true, force: true})
  }

  return figures
}
