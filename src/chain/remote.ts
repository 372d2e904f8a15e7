// The Chain backend for a JSON-RPC node: a real AvalancheGo node running timestampvm, or a
// local `tsvm serve`. The node only offers getBlock and proposeBlock, so everything else is
// built from them: heights by walking parents, status by ancestry of the tip. Every block a
// node sends is rebuilt into its 82 bytes and must hash to the ID it claims.
//
// Build, accept, reject, mempool and check are consensus' business on a real network: they
// fail with REMOTE_UNSUPPORTED.
import {type RpcClientOptions, RpcClient, TimestampVmClient, type WireBlock} from '../rpc/client.js'
import {type Block, Status, makeBlock} from '../vm/block.js'
import {
  EMPTY_ID,
  ID_LENGTH,
  cb58Decode,
  hexDecode,
  hexEncode,
  cb58Encode,
  idFromString,
  idToString,
} from '../vm/encoding.js'
import {TsvmError, isTsvmError} from '../vm/errors.js'
import type {Dialect} from '../vm/formatting.js'
import {bytesEqual} from '../vm/hash.js'
import {BlockRun, type CacheRejection, cacheFile} from './header-cache.js'
import type {
  BlocksOptions,
  Chain,
  ChainIdentity,
  CheckReport,
  ProposeOptions,
  ProposeResult,
  StoredBlock,
} from './chain.js'

/** A progress line for a long walk (the CLI passes a stderr reporter: TTY only, silent under --json). */
export type WalkProgress = (
  label: string,
) => {update: (done: number, total: number) => void; end: () => void} | undefined

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
  /**
   * Where verified blocks are kept between runs, one file per chain ID (src/chain/header-cache.ts).
   * Without it, or when the chain ID cannot be told, blocks are kept for this process only.
   */
  cacheDir?: string
  /** Reports a walk over more than WALK_PROGRESS_AFTER blocks. */
  progress?: WalkProgress
}

/** How many parents a height lookup may walk (v1.2 replies have no height). */
const MAX_WALK = 1_000_000

/** A walk over more blocks than this shows progress. */
const WALK_PROGRESS_AFTER = 200

const NOT_FOUND = "couldn't get block from database. Does it exist?"

const sleep = (ms: number): Promise<void> =>
  new Promise((r) => {
    setTimeout(r, ms)
  })

/** The fields of a getBlock reply, decoded; the height only when the node sent one (v1.3). */
interface WireFields {
  id: Uint8Array
  idText: string
  parentId: Uint8Array
  parentText: string
  timestamp: bigint
  data: Uint8Array
  height?: bigint
}

/**
 * Opens a RemoteChain after checking the URL's shape: a bare host (no path) is a common slip,
 * so it is refused with the URL to use instead.
 */
export function openRemote(endpoint: string, options: RemoteOptions = {}): RemoteChain {
  let url: URL
  try {
    url = new URL(endpoint)
  } catch {
    throw new TsvmError(
      'USAGE',
      `endpoint ${JSON.stringify(endpoint)} is not a URL: use http://host:9650/ext/bc/<chainID>`,
    )
  }

  if (url.pathname === '/' || url.pathname === '') {
    throw new TsvmError(
      'USAGE',
      `endpoint ${endpoint} names no chain: use ${url.origin}/ext/bc/<chainID> (a local tsvm serve also answers at ${url.origin}/ext/bc/timestampvm)`,
    )
  }

  return new RemoteChain(endpoint, options)
}

/**
 * A Chain on a JSON-RPC endpoint.
 *
 * Reads go through `run`, a verified run of consecutive blocks [lo, hi] loaded from the cache dir.
 * Each command first links the node's tip to it (sync): it walks parents from the tip until it
 * meets a block the run holds, so it fetches only the blocks added since the last run, and every
 * block of the run from there down is then proven to be an ancestor of the tip, i.e. Accepted.
 * A run the tip never meets (another chain under the same file name, a tampered file) is dropped.
 * Lower heights are fetched on demand (walking down from lo) and kept too.
 */
export class RemoteChain implements Chain {
  readonly kind = 'remote' as const
  private readonly api: TimestampVmClient
  /** Heights learnt outside the run (blocks off the accepted chain, while waiting), by CB58 ID. */
  private readonly heights = new Map<string, bigint>()
  private run = new BlockRun()
  /** The highest height of `run` proven on the node's chain by this process's last sync. */
  private provenHi = -1n
  private cache: {dir: string; path: string; chainId: Uint8Array} | undefined
  private loading: Promise<void> | undefined
  private dirty = false
  /** Why the cache file was not used, when it was refused (tests and debugging). */
  cacheRejected: CacheRejection | undefined

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

  /** The cache file in use, if any. */
  async cachePath(): Promise<string | undefined> {
    await this.loadCache()
    return this.cache?.path
  }

  private loadCache(): Promise<void> {
    this.loading ??= (async () => {
      const dir = this.options.cacheDir
      if (dir === undefined) return
      const {chainID} = await this.identity()
      if (chainID === undefined) return
      const path = cacheFile(dir, chainID)
      const {run, rejected} = await BlockRun.load(path, chainID)
      this.run = run
      this.cache = {dir, path, chainId: chainID}
      this.cacheRejected = rejected
      this.dirty = rejected !== undefined
    })()
    return this.loading
  }

  private bad(idText: string, why: string): TsvmError {
    return new TsvmError('RPC_BAD_RESPONSE', `${this.location} sent block ${idText} that does not check out: ${why}`)
  }

  /** Decodes a reply's fields; the hash is checked once the height is known (toBlock). */
  private decode(wire: WireBlock): WireFields {
    try {
      const parentId = idFromString(wire.parentID, 'parentID')
      const data = wire.data.startsWith('0x') ? hexDecode(wire.data) : cb58Decode(wire.data)
      if (!/^\d+$/.test(wire.timestamp)) throw new Error(`timestamp ${JSON.stringify(wire.timestamp)} is not a uint64`)
      // The node sends the int64 block time as a uint64 (json.Uint64): undo the wrap.
      const timestamp = BigInt.asIntN(64, BigInt(wire.timestamp))
      const id = idFromString(wire.id, 'id')
      if (data.length !== ID_LENGTH) throw new Error(`data is ${data.length} bytes, not 32`)
      const fields: WireFields = {id, idText: wire.id, parentId, parentText: wire.parentID, timestamp, data}
      if (wire.height !== undefined) {
        if (!/^\d+$/.test(wire.height)) throw new Error(`height ${JSON.stringify(wire.height)} is not a number`)
        fields.height = BigInt(wire.height)
      }

      return fields
    } catch (error) {
      throw this.bad(wire.id, (error as Error).message)
    }
  }

  /** Rebuilds a block at a height and checks that its 82 bytes hash to the claimed ID. */
  private toBlock(w: WireFields, height: bigint): Block {
    if (w.height !== undefined && w.height !== height)
      throw this.bad(w.idText, `height ${w.height} where its parent puts it at ${height}`)
    let block: Block
    try {
      block = makeBlock({parentId: w.parentId, height, timestamp: w.timestamp, data: w.data})
    } catch (error) {
      throw this.bad(w.idText, (error as Error).message)
    }

    if (!bytesEqual(block.id, w.id))
      throw this.bad(w.idText, `sha256 of the rebuilt 82 bytes is ${idToString(block.id)}`)
    return block
  }

  private async getWire(id?: string): Promise<WireBlock> {
    try {
      return await this.api.getBlock(id)
    } catch (error) {
      if (isTsvmError(error, 'RPC_ERROR') && String(error.details?.rpcMessage) === NOT_FOUND) {
        throw new TsvmError('BLOCK_NOT_FOUND', `block ${id} is not known to ${this.location}`, {cause: error})
      }

      throw error
    }
  }

  /** The height of a block whose reply has none: from the run, or by walking to a known block or genesis. */
  private async heightOf(w: WireFields): Promise<bigint> {
    const path: string[] = []
    let cur = w
    for (let steps = 0; steps < MAX_WALK; steps++) {
      const h = this.heights.get(cur.idText) ?? this.run.heightOf(cur.id)
      if (h !== undefined) return this.record(path, h)
      if (bytesEqual(cur.parentId, EMPTY_ID)) return this.record(path.concat(cur.idText), -1n)
      path.push(cur.idText)
      cur = this.decode(await this.getWire(cur.parentText))
    }

    throw new TsvmError('RPC_BAD_RESPONSE', `${this.location}: no genesis within ${MAX_WALK} parents of ${w.idText}`)
  }

  private record(path: string[], base: bigint): bigint {
    // path[0] is the block asked about; the last element sits right above `base`.
    for (let i = path.length - 1, h = base + 1n; i >= 0; i--, h++) this.heights.set(path[i]!, h)
    return path.length === 0 ? base : this.heights.get(path[0]!)!
  }

  private walkProgress(label: string): {step: (total: number) => void; end: () => void} {
    let done = 0
    let shown: ReturnType<WalkProgress> | null = null
    return {
      step: (total) => {
        done++
        if (done < WALK_PROGRESS_AFTER || this.options.progress === undefined) return
        shown ??= this.options.progress(label) ?? undefined
        if (done % 50 === 0) shown?.update(done, total)
      },
      end: () => shown?.end(),
    }
  }

  /**
   * Fetches the node's tip and links it to the run: walks parents from the tip until a block the
   * run holds (or genesis, or, when replies carry heights and the run is empty, the tip alone),
   * checks each block, and puts them on top of the run. Returns the tip.
   */
  private async sync(first?: WireBlock): Promise<Block> {
    await this.loadCache()
    const {run} = this
    const tip = this.decode(first ?? (await this.getWire()))
    const held = run.heightOf(tip.id)
    if (held !== undefined) {
      // No new block (or a node behind the cache): the run is proven up to the tip.
      this.provenHi = held
      return run.at(held)!
    }

    const pending = new PendingBlocks()
    pending.push(tip)
    const progress = this.walkProgress(`reading new blocks from ${this.location}`)
    let base: bigint // the height right below the lowest pending block
    try {
      for (let cur = tip; ;) {
        const parentHeight = run.heightOf(cur.parentId)
        if (parentHeight !== undefined) {
          base = parentHeight
          break
        }

        if (bytesEqual(cur.parentId, EMPTY_ID)) {
          base = -1n
          break
        }

        if (cur.height !== undefined && (run.empty || cur.height - 1n <= run.hi)) {
          // Heights are in the replies: with nothing held there is nothing to link to; and a run
          // the walk passed without meeting is not this chain's: drop it.
          base = cur.height - 1n
          break
        }

        if (pending.length >= MAX_WALK)
          throw new TsvmError(
            'RPC_BAD_RESPONSE',
            `${this.location}: no genesis within ${MAX_WALK} parents of ${tip.idText}`,
          )
        cur = this.decode(await this.getWire(cur.parentText))
        pending.push(cur)
        progress.step(tip.height === undefined ? 0 : Number(tip.height - (run.empty ? 0n : run.hi)))
      }
    } finally {
      progress.end()
    }

    if (!run.empty && base !== run.hi) {
      // The tip meets the run below its top (blocks above are not on this chain), or not at all.
      if (base >= run.lo && base < run.hi && run.heightOf(pending.lowestParent()) === base) run.truncateAbove(base)
      else run.clear()
      this.cacheRejected ??= 'link'
    }

    for (let h = base + 1n, w = pending.pop(); w !== undefined; h++, w = pending.pop()) {
      if (!run.pushTop(this.toBlock(w, h))) throw this.bad(w.idText, `it does not follow block ${h - 1n}`)
    }

    this.dirty = true
    this.provenHi = run.hi
    return run.at(run.hi)!
  }

  /** Walks down from the run's lowest block to `height`, checking and keeping every block. */
  private async extendDown(height: bigint): Promise<void> {
    const {run} = this
    const total = Number(run.lo - height)
    const progress = this.walkProgress(`reading blocks from ${this.location}`)
    try {
      while (run.lo > height) {
        const below = run.lowest!
        const w = this.decode(await this.getWire(idToString(below.parentId)))
        const b = this.toBlock(w, run.lo - 1n)
        if (!run.pushBottom(b)) throw this.bad(w.idText, `it is not the parent of block ${run.lo}`)
        this.dirty = true
        progress.step(total)
      }
    } finally {
      progress.end()
    }
  }

  /** The accepted block at a height at or below the synced tip. */
  private async accepted(height: bigint): Promise<Block> {
    if (height < this.run.lo) await this.extendDown(height)
    return this.run.at(height)!
  }

  async lastAccepted(): Promise<StoredBlock> {
    const wire = await this.getWire()
    // A v1.3 reply carries its height: one call. A v1.2 reply needs the walk to the run.
    if (wire.height !== undefined) {
      const w = this.decode(wire)
      return {block: this.toBlock(w, w.height!), status: Status.Accepted}
    }

    return {block: await this.sync(wire), status: Status.Accepted}
  }

  async getBlock(id: Uint8Array): Promise<StoredBlock> {
    const w = this.decode(await this.getWire(idToString(id)))
    const tip = await this.sync()
    const held = this.run.heightOf(w.id)
    if (held !== undefined && held <= this.provenHi) return {block: this.run.at(held)!, status: Status.Accepted}
    const block = this.toBlock(w, w.height ?? (await this.heightOf(w)))
    if (block.height > tip.height) return {block, status: Status.Unknown}
    const at = await this.accepted(block.height)
    return {block, status: bytesEqual(at.id, block.id) ? Status.Accepted : Status.Unknown}
  }

  async getBlockAtHeight(height: bigint): Promise<StoredBlock> {
    const tip = await this.sync()
    if (height > tip.height || height < 0n) {
      throw new TsvmError(
        'BLOCK_NOT_FOUND',
        `no accepted block at height ${height}: the tip of ${this.location} is at ${tip.height}`,
      )
    }

    return {block: await this.accepted(height), status: Status.Accepted}
  }

  async *blocks(options: BlocksOptions = {}): AsyncIterable<StoredBlock> {
    const tip = await this.sync()
    const start = options.fromHeight ?? tip.height
    if (start > tip.height) return
    const limit = options.limit ?? Number.MAX_SAFE_INTEGER
    for (let h = start, n = 0; h >= 0n && n < limit; h--, n++)
      yield {block: await this.accepted(h), status: Status.Accepted}
  }

  async findByData(data: Uint8Array): Promise<StoredBlock[]> {
    const found: StoredBlock[] = []
    for await (const b of this.blocks({limit: this.options.scanLimit ?? 10_000})) {
      if (bytesEqual(b.block.data, data)) found.push(b)
    }

    return found
  }

  async propose(payloads: Uint8Array[], options: ProposeOptions = {}): Promise<ProposeResult> {
    const dialect = await this.api.dialect()
    const start = await this.sync()
    let queued = 0
    for (const p of payloads) {
      const ok = await this.api.proposeBlock(dialect === 'v1.2' ? cb58Encode(p) : hexEncode(p))
      if (!ok) {
        throw new TsvmError(
          'MEMPOOL_FULL',
          `${this.location} refused the payload: its mempool is full (${queued} of ${payloads.length} queued); wait for blocks and send the rest again`,
          {
            details: {queued},
          },
        )
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
    let lastTip = start
    let pause = this.options.pollMs ?? 250
    while (wanted.length > 0) {
      const tip = await this.sync()
      if (!bytesEqual(tip.id, lastTip.id)) {
        // New blocks: sync linked them to what we had looked at; take them from the run.
        const fresh: Block[] = []
        for (let h = lastTip.height + 1n; h <= tip.height; h++) fresh.push(await this.accepted(h))
        for (const b of fresh) {
          const i = wanted.findIndex((w) => bytesEqual(w, b.data))
          if (i !== -1) {
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
    try {
      if (this.dirty && this.cache !== undefined)
        await this.run.save(this.cache.path, this.cache.chainId, this.cache.dir)
    } catch {
      // A cache that cannot be written costs time on the next run, never a wrong answer.
    } finally {
      await this.api.close()
    }
  }
}

/**
 * Replies walked from the tip down, packed (113 bytes each) until their heights are known: a
 * first walk down a v1.2 chain of a million blocks holds 113 MB, not a million objects.
 */
class PendingBlocks {
  private static readonly SIZE = 32 + 32 + 32 + 8 + 1 + 8
  private static readonly PER_CHUNK = 8192
  private readonly chunks: Uint8Array[] = []
  private count = 0

  get length(): number {
    return this.count
  }

  push(w: WireFields): void {
    const per = PendingBlocks.PER_CHUNK
    if (this.count % per === 0) this.chunks.push(new Uint8Array(per * PendingBlocks.SIZE))
    const chunk = this.chunks.at(-1)!
    const off = (this.count % per) * PendingBlocks.SIZE
    chunk.set(w.id, off)
    chunk.set(w.parentId, off + 32)
    chunk.set(w.data, off + 64)
    const view = new DataView(chunk.buffer, chunk.byteOffset + off + 96, 17)
    view.setBigInt64(0, w.timestamp)
    view.setUint8(8, w.height === undefined ? 0 : 1)
    view.setBigUint64(9, w.height ?? 0n)
    this.count++
  }

  /** The parent ID of the lowest block pushed. */
  lowestParent(): Uint8Array {
    const off = ((this.count - 1) % PendingBlocks.PER_CHUNK) * PendingBlocks.SIZE
    return this.chunks.at(-1)!.slice(off + 32, off + 64)
  }

  /** Takes the lowest block pushed. */
  pop(): WireFields | undefined {
    if (this.count === 0) return undefined
    this.count--
    const per = PendingBlocks.PER_CHUNK
    const chunk = this.chunks.at(-1)!
    const off = (this.count % per) * PendingBlocks.SIZE
    const id = chunk.slice(off, off + 32)
    const parentId = chunk.slice(off + 32, off + 64)
    const view = new DataView(chunk.buffer, chunk.byteOffset + off + 96, 17)
    const w: WireFields = {
      id,
      idText: idToString(id),
      parentId,
      parentText: idToString(parentId),
      timestamp: view.getBigInt64(0),
      data: chunk.slice(off + 64, off + 96),
    }
    if (view.getUint8(8) === 1) w.height = view.getBigUint64(9)
    if (this.count % per === 0) this.chunks.pop()
    return w
  }
}
