// `tsvm serve`: an embedded chain behind the JSON-RPC server, with a clean shutdown.
//
// The chain ID. On a real network it is the ID of the P-chain transaction that created the
// chain and cannot be derived from the VM (spec §6.4). A local server has no P-chain, so it
// takes a stable stand-in: CB58(sha256(genesis block ID ‖ "tsvm-local-chain")). The same data
// dir always gets the same chain ID across restarts, and two data dirs with different genesis
// data get different ones; nothing has to be stored. The alias /ext/bc/timestampvm always works.
import type {Block} from '../vm/block.js'
import {idToString} from '../vm/encoding.js'
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
