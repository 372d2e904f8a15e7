// `tsvm serve`: an embedded chain behind the JSON-RPC server, with a clean shutdown.
//
// The chain ID. On a real network it is the ID of the P-chain transaction that created the
// chain and cannot be derived from the VM (spec §6.4). A local server has no P-chain, so it
// takes a stable stand-in: CB58(sha256(genesis block ID ‖ "tsvm-local-chain")). The same data
// dir always gets the same chain ID across restarts, and two data dirs with different genesis
// data get different ones; nothing has to be stored. The alias /ext/bc/timestampvm always works.
import {readFileSync, realpathSync} from 'node:fs'

import type {Block} from '../vm/block.js'
import {idToString} from '../vm/encoding.js'
import {TsvmError} from '../vm/errors.js'
import type {TimestampVM} from '../vm/vm.js'
import type {Dialect} from '../vm/formatting.js'
import {concatBytes, sha256} from '../vm/hash.js'
import {vmIdStringFromName} from '../vm/vmid.js'
import {Engine, type EngineVm} from './engine.js'
import {haltHook} from './halt.js'
import {localNodeId} from './nodeapi.js'
import {DEFAULT_LIMITS, REFUSE_BACKLOG, type RunningServer, SHORT_ALIAS, startServer} from './server.js'

const CHAIN_ID_TAG = new TextEncoder().encode('tsvm-local-chain')

/** The local chain ID for a chain with this genesis block ID (see the comment above). */
export function localChainId(genesisId: Uint8Array): string {
  return idToString(sha256(concatBytes(genesisId, CHAIN_ID_TAG)))
}

/** What `tsvm serve --json` prints on start. */
export interface ServeInfo {
  chainID: string
  vmID: string
  /** A stable node ID for the data dir (Node-Id header, info.getNodeID). */
  nodeID: string
  endpoints: RunningServer['endpoints']
  /** The host as given, and the address it bound (127.1 and localhost bind 127.0.0.1). */
  host: string
  address: string
  port: number
  api: Dialect
  blockTime: number
  /** Connections served at once; one more gets a 503. */
  maxConnections: number
  /** What the operator should know, e.g. that the address is reachable from other machines. */
  warnings: string[]
}

/** What serveChain needs: the opened VM, its genesis ID, and how to listen. */
export interface ServeOptions {
  /** The opened VM; closed by `close()`. */
  vm: EngineVm & {close(): Promise<void>}
  genesisId: Uint8Array
  host?: string
  port?: number
  dialect?: Dialect
  /** Seconds between block builds; 0 builds as soon as proposals are written. */
  blockTime?: number
  bodyLimit?: number
  /** Connection cap and timeouts (see ServerOptions); the cap defaults to defaultMaxConnections(). */
  maxConnections?: number
  headersTimeoutMs?: number
  requestTimeoutMs?: number
  /** Host names answered besides IP literals ("*": any; default localhost), and origins given CORS headers (default "*"). */
  allowedHosts?: readonly string[]
  allowedOrigins?: readonly string[]
  /** tsvm's version, reported by info.getNodeVersion. */
  version?: string
  /** The data dir, whose path is taken out of every error text sent to clients. */
  dataDir?: string
  /** Told about accepted blocks and build errors (stderr in the command). */
  onAccepted?: (blocks: Block[]) => void
  onError?: (error: unknown) => void
  /** Told when the server starts to refuse proposals (a failed write, the clock) and when it takes them again. */
  onRefusing?: (reason: Error) => void
  onTaking?: () => void
}

/** A running `serve`: its start info, and close() that drains requests, writes proposals and closes the DB. */
export interface Serving {
  info: ServeInfo
  close(): Promise<void>
}

/** Starts the engine and the server over an opened VM. */
export async function serveChain(options: ServeOptions): Promise<Serving> {
  const dialect = options.dialect ?? 'v1.3'
  const blockTime = options.blockTime ?? 0
  let {onAccepted} = options
  const engine = new Engine(options.vm, {
    blockTimeMs: blockTime * 1000,
    onAccepted: (blocks) => onAccepted?.(blocks),
    onError: options.onError,
    onRefusing: options.onRefusing,
    onTaking: options.onTaking,
  })
  const hooked = haltHook(engine, options.onAccepted, process.env.TSVM_TEST_HALT_SERVE)
  onAccepted = hooked.onAccepted
  const chainID = localChainId(options.genesisId)
  const vmID = vmIdStringFromName('timestampvm')
  const nodeID = localNodeId(options.genesisId)
  let server: RunningServer
  try {
    server = await startServer({
      chain: hooked.chain,
      chainId: chainID,
      vmId: vmID,
      dialect,
      vmIds: [vmIdStringFromName(SHORT_ALIAS)],
      nodeId: nodeID,
      version: options.version,
      allowedHosts: options.allowedHosts,
      allowedOrigins: options.allowedOrigins,
      host: options.host,
      port: options.port,
      bodyLimit: options.bodyLimit,
      maxConnections: options.maxConnections ?? defaultMaxConnections(),
      headersTimeoutMs: options.headersTimeoutMs,
      requestTimeoutMs: options.requestTimeoutMs,
      redact: options.dataDir === undefined ? undefined : redactPaths(options.dataDir),
      async health() {
        // Unhealthy while proposals are refused: writes failed (until the database is reopened),
        // or the tip is an hour or more ahead of the clock (until the clock catches up).
        const problem = engine.problem()
        if (problem) throw problem
        const tip = await options.vm.getBlock(await options.vm.lastAcceptedId())
        return {lastAcceptedID: tip ? idToString(tip.id) : null, lastAcceptedHeight: tip ? String(tip.height) : null}
      },
    })
  } catch (error) {
    await engine.close()
    await options.vm.close()
    throw error
  }

  let closing: Promise<void> | undefined
  const warnings: string[] = []
  if (!server.loopback) {
    warnings.push(
      `listening on ${server.address} (not loopback): anyone who can reach port ${server.port} can read the chain and propose blocks`,
    )
  }

  const {max} = server.connections()
  const files = openFileLimit()
  if (files !== undefined && max + REFUSE_BACKLOG + FILE_RESERVE > files) {
    warnings.push(
      `up to ${max} connections with ${files} open files allowed: the database may run out of file descriptors; lower --max-connections to ${Math.max(1, files - REFUSE_BACKLOG - FILE_RESERVE)} or raise ulimit -n`,
    )
  }

  return {
    info: {
      chainID,
      vmID,
      nodeID,
      endpoints: server.endpoints,
      host: server.host,
      address: server.address,
      port: server.port,
      api: dialect,
      blockTime,
      maxConnections: max,
      warnings,
    },
    close(): Promise<void> {
      // Order matters: no new requests, in-flight ones answered, taken proposals written, DB closed.
      closing ??= (async () => {
        await server.close()
        await engine.close()
        await options.vm.close()
      })()
      return closing
    },
  }
}

/** Descriptors kept for the database (its log, manifest, lock and table files) and the process. */
const FILE_RESERVE = 256

/** The process's open-file limit (Linux), or undefined where it cannot be read. */
export function openFileLimit(): number | undefined {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))
    return m ? Number(m[1]) : undefined
  } catch {
    return undefined
  }
}

/**
 * The default connection cap: 1000, or half the open-file limit when that is lower, so idle
 * connections can never take the descriptors the database needs to write.
 */
export function defaultMaxConnections(files = openFileLimit()): number {
  if (files === undefined) return DEFAULT_LIMITS.maxConnections
  return Math.max(1, Math.min(DEFAULT_LIMITS.maxConnections, Math.floor(files / 2)))
}

/** Replaces the data dir's path (as given and as resolved) in error texts sent to clients. */
export function redactPaths(dataDir: string): (text: string) => string {
  const paths = new Set([dataDir])
  try {
    paths.add(realpathSync(dataDir))
  } catch {
    // not there (any more): the path as given is all there is to hide
  }

  // Longest first, so a path and its symlinked twin do not leave pieces of each other.
  const sorted = [...paths].filter((p) => p.length > 1).sort((a, b) => b.length - a.length)
  return (text) => {
    let out = text
    for (const p of sorted) out = out.split(p).join('[data dir]')
    return out
  }
}

/** The embedded TimestampVM as the engine drives it. */
export function engineVm(vm: TimestampVM): EngineVm & {close(): Promise<void>} {
  return {
    lastAcceptedId: async () => vm.lastAccepted().id,
    getBlock: (id) => vm.getBlock(id).then((record) => record?.block),
    blockInMemory: (id) => vm.blockInMemory(id)?.block,
    mempoolSize: () => vm.mempool().length,
    proposeMany: (payloads) => vm.proposeMany(payloads),
    buildAndAccept: (options) => vm.buildAndAccept(options ?? {}),
    acceptPayloads: (payloads) => vm.acceptPayloads(payloads),
    openGroup: (after) => vm.openGroup(after),
    acceptGroup: (group) => vm.acceptGroup(group),
    failure: () => vm.failure,
    recover: () => vm.recover(),
    buildProblem: () => vm.buildProblem(),
    close: () => vm.close(),
  }
}

/** The mempool cap of a v1.2 server (Go v1.2.1 had none; 32-byte payloads, so at most about 30 MB). */
export const V12_MEMPOOL_LIMIT = 262_144

/** A chain in a data dir as serve needs it: the command opens it (src/chain), serve hosts it. */
export interface ServedChain {
  readonly vm: TimestampVM
  /** The data dir as opened (absolute). */
  readonly location: string
  close(): Promise<void>
}

/** Opens a data dir's chain (the embedded chain's open, handed in by the command). */
export type OpenChain = (dataDir: string, options: {mempoolLimit?: number}) => Promise<ServedChain>

/** Opens the chain in `dataDir` with `open` (default genesis when new, as every chain command does) and serves it. */
export async function serveDataDir(
  dataDir: string,
  open: OpenChain,
  options: Omit<ServeOptions, 'vm' | 'genesisId'>,
): Promise<Serving & {dataDir: string}> {
  // Go v1.2.1 had no mempool cap (Success:true always). Memory still needs a bound: v1.2 takes
  // V12_MEMPOOL_LIMIT payloads, 64 times v1.3's 4096, and blocks are built as they arrive.
  const chain = await open(dataDir, options.dialect === 'v1.2' ? {mempoolLimit: V12_MEMPOOL_LIMIT} : {})
  let genesisId: Uint8Array
  try {
    const genesis = await chain.vm.getBlockAtHeight(0n)
    if (genesis === undefined)
      throw new TsvmError('DB_CORRUPT', `the chain in ${dataDir} has no block at height 0: run tsvm check`)
    genesisId = genesis.block.id
  } catch (error) {
    await chain.close()
    throw error
  }

  const serving = await serveChain({...options, vm: engineVm(chain.vm), genesisId, dataDir: chain.location})
  return {...serving, dataDir: chain.location}
}

/**
 * The first SIGINT or SIGTERM, listened for from the call on (a supervisor may send one right
 * after the start line). A second signal while draining ends the process at once (exit 130).
 */
export function stopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      // eslint-disable-next-line n/no-process-exit -- a second signal while draining means now, as in any server
      process.once(signal, () => process.exit(130))
      resolve(signal)
    }

    process.once('SIGINT', () => stop('SIGINT'))
    process.once('SIGTERM', () => stop('SIGTERM'))
  })
}
