// The Chain backend for a JSON-RPC node: a real AvalancheGo node running timestampvm, or a
// local `tsvm serve`. The node only offers getBlock and proposeBlock, so everything else is
// built from them: heights by walking parents, status by ancestry of the tip. Every block a
// node sends is rebuilt into its 82 bytes and must hash to the ID it claims.
//
// Build, accept, reject, mempool and check are consensus' business on a real network: they
// fail with REMOTE_UNSUPPORTED.
import {type RpcClientOptions, RpcClient, TimestampVmClient, type WireBlock} from '../rpc/client.js'
import {type Block, Status, makeBlock} from '../vm/block.js'
import {EMPTY_ID, ID_LENGTH, cb58Decode, hexDecode, hexEncode, cb58Encode, idFromString, idToString} from '../vm/encoding.js'
import {TsvmError, isTsvmError} from '../vm/errors.js'
import type {Dialect} from '../vm/formatting.js'
import {bytesEqual} from '../vm/hash.js'
import type {BlocksOptions, Chain, ChainIdentity, CheckReport, ProposeOptions, ProposeResult, StoredBlock} from './chain.js'

/** Client options plus the dialect and the bounds of scans and waits. */
export interface RemoteOptions extends RpcClientOptions {
  /** Force the API dialect instead of reading it from the node. */
  dialect?: Dialect
  /** How far back findByData scans (blocks, default 10000). */
  scanLimit?: number
  /** Default wait for propose (ms, default 60000). */
  waitTimeoutMs?: number
  /** Poll interval while waiting (ms, default 250). */
  pollMs?: number
}

/** How many parents a height lookup may walk (v1.2 replies have no height). */
const MAX_WALK = 1_000_000

/** How far below the tip getBlock still establishes a block's status. */
const ANCESTRY_WALK = 1000n

const NOT_FOUND = "couldn't get block from database. Does it exist?"

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/**
 * Opens a RemoteChain after checking the URL's shape: a bare host (no path) is a common slip,
 * so it is refused with the URL to use instead.
 */
export function openRemote(endpoint: string, options: RemoteOptions = {}): RemoteChain {
  let url: URL
  try {
    url = new URL(endpoint)
  } catch {
    throw new TsvmError('USAGE', `endpoint ${JSON.stringify(endpoint)} is not a URL: use http://host:9650/ext/bc/<chainID>`)
  }
  if (url.pathname === '/' || url.pathname === '') {
    throw new TsvmError(
      'USAGE',
      `endpoint ${endpoint} names no chain: use ${url.origin}/ext/bc/<chainID> (a local tsvm serve also answers at ${url.origin}/ext/bc/timestampvm)`,
    )
  }
  return new RemoteChain(endpoint, options)
}

/** A Chain on a JSON-RPC endpoint. */
export class RemoteChain implements Chain {
  readonly kind = 'remote' as const
  private readonly api: TimestampVmClient
  /** Heights learnt so far, by CB58 ID (v1.2 replies lack them). */
  private readonly heights = new Map<string, bigint>()

  constructor(
    readonly location: string,
    private readonly options: RemoteOptions = {},
  ) {
    this.api = new TimestampVmClient(new RpcClient(location, options), options.dialect)
  }

  /** The dialect in use (forced or detected). */
  dialect(): Promise<Dialect> {
    return this.api.dialect()
  }

  /** Rebuilds a block from a reply and checks that its bytes hash to the claimed ID. */
  private async toBlock(wire: WireBlock): Promise<Block> {
    const bad = (why: string): TsvmError =>
      new TsvmError('RPC_BAD_RESPONSE', `${this.location} sent block ${wire.id} that does not check out: ${why}`)
    let parentId: Uint8Array
    let data: Uint8Array
    let timestamp: bigint
    try {
      parentId = idFromString(wire.parentID, 'parentID')
      data = wire.data.startsWith('0x') ? hexDecode(wire.data) : cb58Decode(wire.data)
      if (!/^\d+$/.test(wire.timestamp)) throw new Error(`timestamp ${JSON.stringify(wire.timestamp)} is not a uint64`)
      // The node sends the int64 block time as a uint64 (json.Uint64): undo the wrap.
      timestamp = BigInt.asIntN(64, BigInt(wire.timestamp))
      idFromString(wire.id, 'id')
    } catch (error) {
      throw bad((error as Error).message)
    }
    if (data.length !== ID_LENGTH) throw bad(`data is ${data.length} bytes, not 32`)
    let height: bigint
    if (wire.height !== undefined) {
      if (!/^\d+$/.test(wire.height)) throw bad(`height ${JSON.stringify(wire.height)} is not a number`)
      height = BigInt(wire.height)
    } else {
      height = await this.heightOf(wire)
    }
    const block = makeBlock({parentId, height, timestamp, data})
    if (idToString(block.id) !== wire.id) throw bad(`sha256 of the rebuilt 82 bytes is ${idToString(block.id)}`)
    this.heights.set(wire.id, height)
    return block
  }

  /** A v1.2 reply has no height: walk parents to a block of known height (genesis is 0). */
  private async heightOf(wire: WireBlock): Promise<bigint> {
    const known = this.heights.get(wire.id)
    if (known !== undefined) return known
    const path: string[] = []
    let cur = wire
    for (let steps = 0; steps < MAX_WALK; steps++) {
      const h = this.heights.get(cur.id)
      if (h !== undefined) return this.record(path, h)
      if (bytesEqual(idFromString(cur.parentID, 'parentID'), EMPTY_ID)) return this.record(path.concat(cur.id), -1n)
      path.push(cur.id)
      cur = await this.api.getBlock(cur.parentID)
    }
    throw new TsvmError('RPC_BAD_RESPONSE', `${this.location}: no genesis within ${MAX_WALK} parents of ${wire.id}`)
  }

  private record(path: string[], base: bigint): bigint {
    // path[0] is the block asked about; the last element sits right above `base`.
    for (let i = path.length - 1, h = base + 1n; i >= 0; i--, h++) this.heights.set(path[i]!, h)
    return this.heights.get(path[0]!) ?? base
  }

  private async fetch(id?: string): Promise<Block> {
    try {
      return await this.toBlock(await this.api.getBlock(id))
    } catch (error) {
      if (isTsvmError(error, 'RPC_ERROR') && String(error.details?.rpcMessage) === NOT_FOUND) {
        throw new TsvmError('BLOCK_NOT_FOUND', `block ${id} is not known to ${this.location}`, {cause: error})
      }
      throw error
    }
  }

  async lastAccepted(): Promise<StoredBlock> {
    return {block: await this.fetch(), status: Status.Accepted}
  }

  async getBlock(id: Uint8Array): Promise<StoredBlock> {
    const block = await this.fetch(idToString(id))
    const tip = await this.fetch()
    return {block, status: (await this.isAncestor(block, tip)) ? Status.Accepted : Status.Unknown}
  }

  /**
   * True when `block` is `tip` or one of its ancestors. Walks at most ANCESTRY_WALK parents;
   * a block deeper than that is reported Unknown rather than costing thousands of calls.
   */
  private async isAncestor(block: Block, tip: Block): Promise<boolean> {
    if (block.height > tip.height || tip.height - block.height > ANCESTRY_WALK) return false
    const at = await this.walkTo(tip, block.height)
    return bytesEqual(at.id, block.id)
  }

  private async walkTo(from: Block, height: bigint): Promise<Block> {
    let cur = from
    for (let n = 0n; cur.height > height && n <= from.height; n++) cur = await this.fetch(idToString(cur.parentId))
    return cur
  }

  async getBlockAtHeight(height: bigint): Promise<StoredBlock> {
    const tip = await this.fetch()
    if (height > tip.height || height < 0n) {
      throw new TsvmError('BLOCK_NOT_FOUND', `no accepted block at height ${height}: the tip of ${this.location} is at ${tip.height}`)
    }
    return {block: await this.walkTo(tip, height), status: Status.Accepted}
  }

  async findByData(data: Uint8Array): Promise<StoredBlock[]> {
    const found: StoredBlock[] = []
    for await (const b of this.blocks({limit: this.options.scanLimit ?? 10_000})) {
      if (bytesEqual(b.block.data, data)) found.push(b)
    }
    return found
  }

  async *blocks(options: BlocksOptions = {}): AsyncIterable<StoredBlock> {
    const tip = await this.fetch()
    let cur: Block | undefined = options.fromHeight !== undefined && options.fromHeight < tip.height ? await this.walkTo(tip, options.fromHeight) : tip
    if (options.fromHeight !== undefined && options.fromHeight > tip.height) return
    const limit = options.limit ?? Number.MAX_SAFE_INTEGER
    for (let n = 0; cur !== undefined && n < limit; n++) {
      yield {block: cur, status: Status.Accepted}
      cur = cur.height === 0n ? undefined : await this.fetch(idToString(cur.parentId))
    }
  }

  async propose(payloads: Uint8Array[], options: ProposeOptions = {}): Promise<ProposeResult> {
    const dialect = await this.api.dialect()
    const start = await this.fetch()
    let queued = 0
    for (const p of payloads) {
      const ok = await this.api.proposeBlock(dialect === 'v1.2' ? cb58Encode(p) : hexEncode(p))
      if (!ok) {
        throw new TsvmError('MEMPOOL_FULL', `${this.location} refused the payload: its mempool is full (${queued} of ${payloads.length} queued); wait for blocks and send the rest again`, {
          details: {queued},
        })
      }
      queued++
    }
    if (options.accept === false) return {queued, accepted: []}
    return {queued, accepted: await this.waitFor(payloads, start, options)}
  }

  /** Polls the tip until every payload sits in an accepted block above `start`. */
  private async waitFor(payloads: Uint8Array[], start: Block, options: ProposeOptions): Promise<StoredBlock[]> {
    const timeoutMs = options.timeoutMs ?? this.options.waitTimeoutMs ?? 60_000
    const deadline = Date.now() + timeoutMs
    const wanted = payloads.map((p) => p)
    const accepted: Block[] = []
    const seen = new Set<string>([idToString(start.id)])
    let lastTip = start
    let pause = this.options.pollMs ?? 250
    while (wanted.length > 0) {
      const tip = await this.fetch()
      if (!bytesEqual(tip.id, lastTip.id)) {
        // New blocks: walk back from the new tip to what we have already looked at.
        const fresh: Block[] = []
        let cur: Block = tip
        for (let n = 0; n < 100_000 && !seen.has(idToString(cur.id)) && cur.height > start.height; n++) {
          fresh.push(cur)
          seen.add(idToString(cur.id))
          cur = await this.fetch(idToString(cur.parentId))
        }
        for (const b of fresh.reverse()) {
          const i = wanted.findIndex((w) => bytesEqual(w, b.data))
          if (i >= 0) {
            wanted.splice(i, 1)
            accepted.push(b)
            options.onProgress?.(accepted.length, payloads.length)
          }
        }
        lastTip = tip
      }
      if (wanted.length === 0) break
      if (Date.now() >= deadline) {
        throw new TsvmError(
          'WAIT_TIMEOUT',
          `${wanted.length} of ${payloads.length} payloads were not in an accepted block after ${timeoutMs} ms; they may still be accepted: check later with tsvm blocks (the newest blocks and their data) or tsvm get-block <id>`,
          {details: {pending: wanted.length, accepted: accepted.length}},
        )
      }
      await sleep(Math.min(pause, Math.max(0, deadline - Date.now())))
      pause = Math.min(pause * 2, 2000)
    }
    accepted.sort((a, b) => (a.height < b.height ? -1 : a.height > b.height ? 1 : 0))
    return accepted.map((block) => ({block, status: Status.Accepted}))
  }

  private unsupported(what: string): never {
    throw new TsvmError(
      'REMOTE_UNSUPPORTED',
      `${what} is not available on a remote node (${this.location}): on a network only consensus builds, accepts and rejects blocks, and a node exposes just getBlock and proposeBlock. Use a local data dir (--data-dir) for this.`,
    )
  }

  async build(): Promise<StoredBlock> {
    return this.unsupported('build')
  }

  async accept(_id: Uint8Array): Promise<StoredBlock> {
    return this.unsupported('accept')
  }

  async reject(_id: Uint8Array): Promise<StoredBlock> {
    return this.unsupported('reject')
  }

  async mempool(): Promise<Uint8Array[]> {
    return this.unsupported('mempool')
  }

  async check(): Promise<CheckReport> {
    return this.unsupported('check')
  }

  /**
   * The chain ID this endpoint serves: the CB58 ID in its path (/ext/bc/<chainID>), else what the
   * node's info API (info.getBlockchainID) answers for the alias in the path; none when neither
   * tells. The genesis ID is not looked up: the node API has no way to it short of walking every
   * block, and on AvalancheGo the chain ID already fixes the genesis.
   */
  async identity(): Promise<ChainIdentity> {
    this.identityValue ??= this.lookUpChainId().then((chainID) => (chainID ? {chainID} : {}))
    return this.identityValue
  }

  private identityValue: Promise<ChainIdentity> | undefined

  private async lookUpChainId(): Promise<Uint8Array | undefined> {
    let url: URL
    try {
      url = new URL(this.location)
    } catch {
      return undefined
    }
    const m = /^\/ext\/bc\/([^/]+)\/?$/.exec(url.pathname)
    if (!m) return undefined
    const name = decodeURIComponent(m[1]!)
    try {
      return idFromString(name)
    } catch {
      // an alias such as /ext/bc/timestampvm: ask the node which chain it names
    }
    const info = new RpcClient(`${url.origin}/ext/info`, {...this.options, timeoutMs: this.options.timeoutMs ?? 5000})
    try {
      const reply = await info.call<{blockchainID?: unknown}>('info.getBlockchainID', {alias: name})
      return typeof reply?.blockchainID === 'string' ? idFromString(reply.blockchainID) : undefined
    } catch {
      return undefined
    } finally {
      await info.close()
    }
  }

  async close(): Promise<void> {
    await this.api.close()
  }
}
