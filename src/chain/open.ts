// Picks the chain backend for a command: the embedded VM on a data dir, or a node's JSON-RPC
// endpoint. This is the one place that knows both; commands only see the Chain interface.
import {TsvmError} from '../vm/errors.js'
import type {Block} from '../vm/block.js'
import type {Dialect} from '../vm/formatting.js'
import type {Chain} from './chain.js'
import {EmbeddedChain, type EmbeddedOptions} from './embedded.js'
import type {WalkProgress} from './remote.js'

export interface OpenChainOptions extends EmbeddedOptions {
  /** The embedded chain's data dir. */
  dataDir?: string
  /** A node's chain endpoint (http://host:port/ext/bc/<chain>); takes precedence over dataDir. */
  endpoint?: string
  /** The node's API dialect; read from its replies when not given. */
  api?: Dialect
  /** Where a node's verified blocks are kept between runs (see src/chain/header-cache.ts). */
  cacheDir?: string
  /** Progress of a long walk over a node's blocks. */
  progress?: WalkProgress
}

/**
 * Opens the chain the options name. An embedded chain is created in a missing or empty data dir
 * only when `create` is true (the default unless autoInit is false); commands that only read pass
 * `create: false` and get NOT_INITIALIZED there, with nothing created.
 */
export async function openChain(options: OpenChainOptions): Promise<Chain> {
  if (options.endpoint !== undefined) {
    // Loaded on demand: the HTTP client (undici) is most of a chain command's code, and the
    // embedded chain never needs it.
    const {openRemote} = await import('./remote.js')
    return openRemote(options.endpoint, {dialect: options.api, cacheDir: options.cacheDir, progress: options.progress})
  }

  if (options.dataDir === undefined) throw new TsvmError('USAGE', 'no chain given: pass --data-dir or --endpoint')
  return EmbeddedChain.open(options.dataDir, options)
}

/** Runs `fn` on the chain and closes it afterwards, whatever happens. */
export async function withChain<T>(options: OpenChainOptions, fn: (chain: Chain) => Promise<T>): Promise<T> {
  const chain = await openChain(options)
  try {
    return await fn(chain)
  } finally {
    await chain.close()
  }
}

/** Creates the embedded chain in the data dir with these genesis bytes, or checks it has them. */
export async function initChain(
  options: OpenChainOptions,
  genesisBytes: Uint8Array,
): Promise<{genesis: Block; created: boolean; location: string}> {
  if (options.endpoint !== undefined) {
    throw new TsvmError(
      'REMOTE_UNSUPPORTED',
      'a node chain is created on the node (its genesis is part of the CreateChainTx): init works on --data-dir only',
    )
  }

  if (options.dataDir === undefined) throw new TsvmError('USAGE', 'no data dir given: pass --data-dir')
  const chain = await EmbeddedChain.open(options.dataDir, {...options, autoInit: false, create: true})
  try {
    return {...(await chain.initialize(genesisBytes)), location: chain.location}
  } finally {
    await chain.close()
  }
}
