// `tsvm serve`: an embedded chain behind the JSON-RPC server, with a clean shutdown.
//
// The chain ID. On a real network it is the ID of the P-chain transaction that created the
// chain and cannot be derived from the VM (spec §6.4). A local server has no P-chain, so it
// takes a stable stand-in: CB58(sha256(genesis block ID ‖ "tsvm-local-chain")). The same data
// dir always gets the same chain ID across restarts, and two data dirs with different genesis
// data get different ones; nothing has to be stored. The alias /ext/bc/timestampvm always works.
import {EmbeddedChain} from '../chain/embedded.js'
import type {Block} from '../vm/block.js'
import {idToString} from '../vm/encoding.js'
import {TsvmError} from '../vm/errors.js'
import type {TimestampVM} from '../vm/vm.js'
import type {Dialect} from '../vm/formatting.js'
import {concatBytes, sha256} from '../vm/hash.js'
import {vmIdStringFromName} from '../vm/vmid.js'
import {Engine, type EngineVm} from './engine.js'
import {type RunningServer, startServer} from './server.js'

const CHAIN_ID_TAG = new TextEncoder().encode('tsvm-local-chain')

/** The local chain ID for a chain with this genesis block ID (see the comment above). */
export function localChainId(genesisId: Uint8Array): string {
  return idToString(sha256(concatBytes(genesisId, CHAIN_ID_TAG)))
}

/** What `tsvm serve --json` prints on start. */
export interface ServeInfo {
  chainID: string
  vmID: string
  endpoints: RunningServer['endpoints']
  host: string
  port: number
  api: Dialect
  blockTime: number
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
  const engine = new Engine(options.vm, {
    blockTimeMs: blockTime * 1000,
    onAccepted: options.onAccepted,
    onError: options.onError,
    onRefusing: options.onRefusing,
    onTaking: options.onTaking,
  })
  const chainID = localChainId(options.genesisId)
  const vmID = vmIdStringFromName('timestampvm')
  let server: RunningServer
  try {
    server = await startServer({
      chain: engine,
      chainId: chainID,
      vmId: vmID,
      dialect,
      host: options.host,
      port: options.port,
      bodyLimit: options.bodyLimit,
      health: async () => {
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
  return {
    info: {chainID, vmID, endpoints: server.endpoints, host: server.host, port: server.port, api: dialect, blockTime},
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

/** The embedded TimestampVM as the engine drives it. */
export function engineVm(vm: TimestampVM): EngineVm & {close(): Promise<void>} {
  return {
    lastAcceptedId: async () => vm.lastAccepted().id,
    getBlock: async (id) => (await vm.getBlock(id))?.block,
    mempoolSize: () => vm.mempool().length,
    proposeMany: (payloads) => vm.proposeMany(payloads),
    buildAndAccept: (options) => vm.buildAndAccept(options ?? {}),
    acceptPayloads: (payloads) => vm.acceptPayloads(payloads),
    failure: () => vm.failure,
    recover: () => vm.recover(),
    buildProblem: () => vm.buildProblem(),
    close: () => vm.close(),
  }
}

/** Opens the chain in `dataDir` (default genesis when new, as every chain command does) and serves it. */
export async function serveDataDir(dataDir: string, options: Omit<ServeOptions, 'vm' | 'genesisId'>): Promise<Serving & {dataDir: string}> {
  const chain = await EmbeddedChain.open(dataDir)
  let genesisId: Uint8Array
  try {
    const genesis = await chain.vm.getBlockAtHeight(0n)
    if (genesis === undefined) throw new TsvmError('DB_CORRUPT', `the chain in ${dataDir} has no block at height 0: run tsvm check`)
    genesisId = genesis.block.id
  } catch (error) {
    await chain.close()
    throw error
  }
  const serving = await serveChain({...options, vm: engineVm(chain.vm), genesisId})
  return {...serving, dataDir: chain.location}
}
