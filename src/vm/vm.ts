// The embedded TimestampVM: Go's VM semantics (spec §4) on a persistent ChainState (spec §5).
//
// Where it copies Go on purpose: genesis (padded, timestamp 0, parent ids.Empty), Verify's rules
// and order, FIFO mempool with v1.3's off-by-one cap (refuse when len > limit, so limit+1 fit),
// rejected blocks persisted with status 2, getBlock looks at processing blocks first.
// Where it differs on purpose, so each CLI step can run in its own process:
//   - the mempool, processing blocks and the preference are persisted;
//   - a build whose block fails Verify leaves the payload queued (Go drops it);
//   - initialize with a different genesis on an initialized chain is GENESIS_MISMATCH (Go ignores it);
//   - accept is topological (parent must be the last accepted) and rejects every processing block
//     that no longer descends from the new tip, as the consensus engine would;
//   - a block built without an explicit timestamp gets max(now, parent's timestamp), where Go
//     takes the clock alone: a tip written by a clock that ran up to an hour ahead does not stop
//     the chain (the block still passes Go's Verify, which allows up to an hour ahead). A tip
//     an hour or more ahead of the clock cannot get a valid child at all, in Go or here: every
//     build and every proposal is then refused with CHAIN_AHEAD_OF_CLOCK, which says until when.
// Every transition is one atomic batch; accepting batches are synced before they are reported.
// After a failed write every later one is refused (DB_WRITE_FAILED, see state.ts) until
// recover() has reopened the database and reloaded what this VM keeps in memory.
import {
  type Block,
  makeBlock,
  MAX_FUTURE_SECONDS,
  spanText,
  Status,
  STATUS_NAMES,
  timeText,
  verifyBlock,
} from './block.js'
import {type AdoptOptions, type AdoptReport, adoptState} from './adopt.js'
import {type CheckReport, checkState} from './check.js'
import {allocBytes} from './codec.js'
import {idToString, toHex} from './encoding.js'
import {TsvmError} from './errors.js'
import {genesisBlock} from './genesis.js'
import {bytesEqual} from './hash.js'
import {type BlockRun, buildRun, EMPTY_RUN} from './run.js'
import {
  type BlockRecord,
  ChainState,
  type MempoolEntry,
  type OpenOptions,
  type PreparedWrite,
  StateBatch,
  type StateDb,
} from './state.js'

export type {BlockRecord} from './state.js'
export type {CheckProblem, CheckReport} from './check.js'
export type {AdoptOptions, AdoptReport} from './adopt.js'

/** Go v1.3's MaxMempoolSize: a proposal is refused when the mempool holds more than this. */
export const MAX_MEMPOOL_SIZE = 4096

/** Options of TimestampVM.open. */
export interface VmOptions {
  /** The clock, in milliseconds since the epoch (default Date.now). */
  now?: () => number
  /** Refuse proposals while the mempool holds more than this many payloads (default 4096, as Go). */
  mempoolLimit?: number
  /** How a state the Go VM wrote is adopted on open (batch size, a hook after each batch). */
  adopt?: AdoptOptions
  /**
   * Keep verified, undecided blocks in memory only, as Go does (default false). For a host that
   * owns its database for the VM's whole life and re-verifies after a restart (the node): verify
   * then writes nothing, and decides from memory, where it can, that a block is not stored yet.
   * The CLI keeps the default: its build and accept run in separate processes.
   */
  volatileProcessing?: boolean
}

/** What accepting a run of blocks writes and changes in memory, worked out before the write. */
interface AcceptPlan {
  /** The last block accepted. */
  readonly tip: Block
  /** Hex IDs of accepted blocks that were processing (empty when none was). */
  readonly accepted: Set<string>
  readonly rejected: Block[]
  readonly preferred: Uint8Array
  /** True when no block is left processing once the plan is applied. */
  readonly clearsProcessing: boolean
}

/** A group of acceptPayloadGroups whose write has been started. */
interface InflightGroup {
  /** Undefined for an empty group (nothing queued, no payloads). */
  readonly plan: AcceptPlan | undefined
  /** Its blocks (none for an empty group). */
  readonly run: BlockRun
  /** New payloads it took, and queued payloads it consumed. */
  readonly taken: number
  readonly queued: number
  readonly write: Promise<void>
  /** Set once the write has been awaited. */
  settled: boolean
}

/**
 * A group of blocks built as its payloads come, for acceptGroup (see openGroup): each payload
 * becomes a verified block on the one before at once, and its writes go to LevelDB's batch at
 * once, so when the write before it lands only the group's own write is left to start.
 */
export interface PayloadGroup {
  /** Builds one block for `payload` (32 bytes) on the group's tip; on BAD_LENGTH or a failed Verify the group stays as it was. */
  add(payload: Uint8Array): void
  /** Blocks in the group: the queued payloads it took, then one per add. */
  readonly size: number
  /** Drops the group unwritten (when the group it was built on failed). */
  discard(): Promise<void>
}

/** openGroup's group, as the VM sees it. */
interface BuildingGroup extends PayloadGroup {
  /** The block it builds on: the last accepted one, or the tip of the group before it. */
  readonly base: Block
  readonly chain: Block[]
  readonly batch: StateBatch
  readonly write: PreparedWrite
  /** Queued payloads it took (the first ones of the mempool). */
  readonly queued: number
  /** Set once acceptGroup or discard took it: a group is written at most once. */
  used: boolean
}

/**
 * openGroup's group. A class, with its getter on the prototype, rather than an object literal
 * whose `size` getter closes over the group: V8 turns such objects into dictionary-mode ones with
 * an accessor pair each, and allocates accessor pairs in the old generation, where a dead one
 * keeps its getter, and all the getter closes over, through every young collection until the next
 * full one. So every group and every block in it was promoted (about 840 bytes per block; see
 * test/vm/group-gc.test.ts): under a steady load of proposals most of what the server promoted,
 * and most of its mark-compacts.
 */
class OpenGroup implements BuildingGroup {
  readonly chain: Block[] = []
  used = false
  readonly queued: number
  /** The block the next one is built on. */
  private tip: Block
  /** Every block of the group gets the time of its opening: it is not before any parent's. */
  private readonly time: bigint
  /** The clock at the opening, for Verify. */
  private readonly now: bigint

  constructor(
    readonly base: Block,
    readonly batch: StateBatch,
    readonly write: PreparedWrite,
    opening: {queued: number; time: bigint; now: bigint},
  ) {
    this.tip = base
    this.queued = opening.queued
    this.time = opening.time
    this.now = opening.now
  }

  get size(): number {
    return this.chain.length
  }

  add(payload: Uint8Array): void {
    if (payload.length !== 32) throw new TsvmError('BAD_LENGTH', `a payload is 32 bytes, got ${payload.length}`)
    this.store(this.build(copyPayload(payload)))
  }

  /** Builds the block of a queued payload and removes its mempool record in the same batch. */
  addQueued(entry: MempoolEntry): void {
    this.store(this.build(entry.data))
    this.batch.delMempool(entry.seq)
  }

  async discard(): Promise<void> {
    if (this.used) return
    this.used = true
    await this.write.discard()
  }

  private build(data: Uint8Array): Block {
    const {tip} = this
    const block = makeBlock({parentId: tip.id, height: tip.height + 1n, timestamp: this.time, data})
    verifyBlock(block, tip, this.now)
    return block
  }

  private store(block: Block): void {
    this.batch.storeBlock(block, Status.Accepted).putHeight(block)
    this.chain.push(block)
    this.tip = block
  }
}

/**
 * A payload's copy for a block, from the codec's shared chunks as the blocks' bytes are. A buffer
 * per group would stay alive while any of its blocks sits in the block cache, and under a steady
 * load a group holds only a few payloads: most of a buffer kept per few blocks.
 */
function copyPayload(payload: Uint8Array): Uint8Array {
  const data = allocBytes(payload.length)
  data.set(payload)
  return data
}

/** CHAIN_AHEAD_OF_CLOCK when `parent` is an hour or more ahead of `now`: no child of it can pass Verify. */
function aheadOfClock(parent: Block, now: bigint): TsvmError | undefined {
  if (parent.timestamp < now + MAX_FUTURE_SECONDS) return undefined
  const until = parent.timestamp - MAX_FUTURE_SECONDS + 1n
  return new TsvmError(
    'CHAIN_AHEAD_OF_CLOCK',
    `no block can be built: the block at height ${parent.height} is timestamped ${timeText(parent.timestamp)}, ` +
      `${spanText(parent.timestamp - now)} ahead of this machine's clock (${timeText(now)}), and a block may be neither earlier than its parent ` +
      `nor an hour or more ahead of the clock (the clock was probably ahead when that block was built): ` +
      `blocks can be built again from ${timeText(until)}, or once this machine's clock is set right if it is the one that is wrong`,
    {details: {tipTimestamp: parent.timestamp.toString(), now: now.toString(), buildableFrom: until.toString()}},
  )
}

/** BAD_LENGTH unless payloads[from, from + count) are all 32 bytes. */
function checkPayloads(payloads: Uint8Array[], from: number, count: number): void {
  for (let i = from; i < from + count; i++) {
    const {length} = payloads[i]!
    if (length !== 32) throw new TsvmError('BAD_LENGTH', `a payload is 32 bytes, got ${length}`)
  }
}

/** A TimestampVM on one data dir. */
export class TimestampVM {
  private initialized = false
  private last: Block | undefined
  private preferred: Uint8Array | undefined
  private readonly processing = new Map<string, Block>()
  private pool: MempoolEntry[] = []
  private nextSeq = 0n
  private queue: Promise<unknown> = Promise.resolve()
  private readonly now: () => number
  readonly mempoolLimit: number
  /** What open adopted from a state the Go VM wrote, or undefined when there was nothing to adopt. */
  adoption: AdoptReport | undefined
  private readonly volatile: boolean
  /** Volatile mode: the last accepted block was accepted (or created) by this instance. */
  private lastFresh = false
  /** Volatile mode: blocks this instance rejected above the last accepted height, by hex ID. */
  private readonly rejectedAbove = new Map<string, bigint>()
  /** Volatile mode: how many verifies had to read the store to learn whether a block is known. */
  private storeChecks = 0

  private constructor(
    private readonly state: ChainState,
    options: VmOptions,
  ) {
    this.now = options.now ?? Date.now
    this.mempoolLimit = options.mempoolLimit ?? MAX_MEMPOOL_SIZE
    this.volatile = options.volatileProcessing ?? false
  }

  /** Opens the VM on `dir` (created if missing). DB_LOCKED when another process or this one holds it. */
  static async open(dir: string, options: OpenOptions & VmOptions = {}): Promise<TimestampVM> {
    return TimestampVM.openState(await ChainState.open(dir, options), options)
  }

  /**
   * Opens the VM on a database opened elsewhere (the node's rpcdb, in the plugin); `name` stands
   * in for the data dir in messages. close() closes the database handle. A state the Go VM wrote
   * there is adopted as on a data dir.
   */
  static async openOn(db: StateDb, name: string, options: VmOptions = {}): Promise<TimestampVM> {
    return TimestampVM.openState(await ChainState.onDatabase(db, name), options)
  }

  /**
   * Opens the VM on an open ChainState (whatever database it holds). A state the Go VM wrote is
   * adopted first (see adopt.ts; the report is in `adoption`), as is an adoption left unfinished.
   * ADOPT_FAILED, nothing written, when that state is damaged. The state is closed on failure.
   */
  static async openState(state: ChainState, options: VmOptions = {}): Promise<TimestampVM> {
    const vm = new TimestampVM(state, options)
    try {
      vm.adoption = await adoptState(state, options.adopt)
      await vm.load()
    } catch (error) {
      await state.close()
      throw error
    }

    return vm
  }

  private async load(): Promise<void> {
    this.last = undefined
    this.preferred = undefined
    this.processing.clear()
    this.rejectedAbove.clear()
    this.lastFresh = false
    this.pool = []
    this.nextSeq = 0n
    this.initialized = await this.state.isInitialized()
    if (!this.initialized) return
    const lastId = await this.state.lastAcceptedId()
    const last = lastId && (await this.state.getStored(lastId))
    if (!last || last.status !== Status.Accepted) {
      throw new TsvmError('DB_CORRUPT', `the last accepted block of ${this.state.dir} is missing: run tsvm check`)
    }

    this.last = last.block
    this.pool = await this.state.loadMempool()
    this.nextSeq = this.pool.length > 0 ? this.pool.at(-1)!.seq + 1n : 0n
    for (const b of await this.state.loadProcessing()) this.processing.set(toHex(b.id), b)
    const pref = await this.state.preferredId()
    this.preferred =
      pref && (this.processing.has(toHex(pref)) || bytesEqual(pref, last.block.id)) ? pref : last.block.id
  }

  /** The data dir. */
  get dir(): string {
    return this.state.dir
  }

  /** True when this open created the database (the data dir was missing or held none). */
  get created(): boolean {
    return this.state.created
  }

  /** Runs state transitions one at a time, so concurrent callers never interleave. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn)
    this.queue = run.catch(() => {})
    return run
  }

  private nowSeconds(): bigint {
    return BigInt(Math.floor(this.now() / 1000))
  }

  /**
   * The timestamp of a block built now on `parent`: `timestamp` when given, else the clock, or
   * the parent's time when the clock reads earlier (Go takes the clock and fails Verify then).
   * CHAIN_AHEAD_OF_CLOCK when no timestamp can pass Verify: the parent is an hour or more ahead.
   */
  private buildTimestamp(parent: Block, now: bigint, timestamp?: bigint): bigint {
    const problem = aheadOfClock(parent, now)
    if (problem) throw problem
    if (timestamp !== undefined) return timestamp
    return now > parent.timestamp ? now : parent.timestamp
  }

  /**
   * Why no block can be built on the last accepted one now (CHAIN_AHEAD_OF_CLOCK), or undefined.
   * Lets a host refuse proposals it could not build and report itself unhealthy.
   */
  buildProblem(): TsvmError | undefined {
    return this.initialized && this.last ? aheadOfClock(this.last, this.nowSeconds()) : undefined
  }

  /** Why writes are refused (DB_WRITE_FAILED) until recover() succeeds, or undefined. */
  get failure(): TsvmError | undefined {
    return this.state.failure
  }

  /**
   * After a failed write: reopens the database, proves a synced write reads back, and reloads
   * the mempool, processing blocks, preference and tip from disk (the failed write may have
   * landed after all). DB_WRITE_FAILED, writes still refused, while that cannot be done; call
   * it again later. A tip below the one this VM had accepted means acknowledged blocks were
   * lost: DB_CORRUPT, and writes stay refused for good.
   */
  recover(): Promise<void> {
    return this.exclusive(async () => {
      if (!this.state.failure) return
      const before = this.last
      await this.state.reopen()
      await this.load()
      if (before && (!this.last || this.last.height < before.height)) {
        const error = new TsvmError(
          'DB_CORRUPT',
          `after reopening the database its last accepted height is ${this.last?.height ?? 'missing'}, below the ${before.height} accepted before a failed write: acknowledged blocks are missing; stop and run tsvm check`,
        )
        this.state.poison(error)
        throw error
      }
    })
  }

  private requireLast(): Block {
    if (!this.initialized || !this.last) {
      throw new TsvmError('NOT_INITIALIZED', `the chain in ${this.state.dir} has no genesis yet: run tsvm init`)
    }

    return this.last
  }

  /**
   * Creates the genesis block from `genesisBytes` (at most 32, right-padded), or, on an
   * initialized chain, checks that they give the same genesis (GENESIS_MISMATCH otherwise).
   */
  initialize(genesisBytes: Uint8Array): Promise<{genesis: Block; created: boolean}> {
    return this.exclusive(async () => {
      const genesis = genesisBlock(genesisBytes)
      if (this.initialized) {
        const existing = await this.storedGenesis()
        if (existing && !bytesEqual(existing.id, genesis.id)) {
          throw new TsvmError(
            'GENESIS_MISMATCH',
            `${this.state.dir} already holds a chain whose genesis data is ${toHex(existing.data)}, not ${toHex(genesis.data)}: ` +
              'use another --data-dir for a new chain (the existing chain was left untouched)',
            {details: {existingGenesisID: idToString(existing.id), requestedGenesisID: idToString(genesis.id)}},
          )
        }

        return {genesis: existing ?? genesis, created: false}
      }

      const batch = new StateBatch()
        .storeBlock(genesis, Status.Accepted)
        .setAccepted(genesis)
        .setInitialized(genesisBytes)
        .setPreferred(genesis.id)
      await this.state.write(batch, {sync: true})
      this.initialized = true
      this.last = genesis
      this.lastFresh = true
      this.preferred = genesis.id
      return {genesis, created: true}
    })
  }

  private async storedGenesis(): Promise<Block | undefined> {
    const id = await this.state.idAtHeight(0n)
    if (id) return (await this.state.getStored(id))?.block
    // A chain written by the Go VM has no height index: fall back to the recorded genesis bytes.
    const bytes = await this.state.genesisBytes()
    return bytes && genesisBlock(bytes)
  }

  /** True once a genesis block exists. */
  isInitialized(): boolean {
    return this.initialized
  }

  /** The last accepted block; NOT_INITIALIZED before initialize. */
  lastAccepted(): Block {
    return this.requireLast()
  }

  /** The ID new blocks are built on. */
  preferredId(): Uint8Array {
    this.requireLast()
    return this.preferred!
  }

  /** A block and its status: processing blocks first, then stored ones. */
  getBlock(id: Uint8Array): Promise<BlockRecord | undefined> {
    // Usually none is processing: then the store's promise is handed on as it is (not hexing the
    // ID for the lookup, nor taking the extra turns an async function's return costs).
    if (this.processing.size === 0) return this.state.getStored(id)
    return this.getProcessingOrStored(id)
  }

  /**
   * getBlock's answer when it needs no read: a processing block or one in the block cache.
   * Undefined means the block is not in memory (it may still be stored): ask getBlock.
   */
  blockInMemory(id: Uint8Array): BlockRecord | undefined {
    if (this.processing.size > 0) {
      const p = this.processing.get(toHex(id))
      if (p) return {block: p, status: Status.Processing}
    }

    return this.state.cachedStored(id)
  }

  private async getProcessingOrStored(id: Uint8Array): Promise<BlockRecord | undefined> {
    const p = this.processing.get(toHex(id))
    if (p) return {block: p, status: Status.Processing}
    return this.state.getStored(id)
  }

  /** The accepted block at a height. */
  async getBlockAtHeight(height: bigint): Promise<BlockRecord | undefined> {
    const id = await this.state.idAtHeight(height)
    return id && this.getBlock(id)
  }

  /** Every known block (any status) whose payload is `data`. */
  async findByData(data: Uint8Array): Promise<BlockRecord[]> {
    const out: BlockRecord[] = []
    for (const id of await this.state.idsByData(data)) {
      const r = await this.getBlock(id)
      if (r) out.push(r)
    }

    return out
  }

  /** Accepted blocks from `fromHeight` (default the tip) down, streamed from the database. */
  async *acceptedBlocks(options: {fromHeight?: bigint; limit?: number} = {}): AsyncGenerator<BlockRecord> {
    const top = this.requireLast().height
    const from = options.fromHeight === undefined || options.fromHeight > top ? top : options.fromHeight
    if (from < 0n || options.limit === 0) return
    for await (const [height, id] of this.state.heightsDescending(from, options.limit ?? -1)) {
      const r = await this.state.getStored(id)
      if (!r) throw new TsvmError('DB_CORRUPT', `the block at height ${height} is indexed but missing: run tsvm check`)
      yield r
    }
  }

  /** Queues one payload; false when the mempool is full (Go v1.3's Success:false). */
  async proposeBlock(data: Uint8Array): Promise<boolean> {
    return (await this.proposeMany([data]))[0]!
  }

  /** Queues payloads in one durable batch; each entry is false when the mempool was full for it. */
  proposeMany(payloads: Uint8Array[]): Promise<boolean[]> {
    return this.exclusive(async () => {
      this.requireLast()
      for (const p of payloads) {
        if (p.length !== 32) throw new TsvmError('BAD_LENGTH', `a payload is 32 bytes, got ${p.length}`)
      }

      const batch = new StateBatch()
      const added: MempoolEntry[] = []
      const result = payloads.map((data) => {
        // Go v1.3: `if len(mempool) > MaxMempoolSize { return false }`, checked before appending.
        if (this.pool.length + added.length > this.mempoolLimit) return false
        const entry = {seq: this.nextSeq + BigInt(added.length), data: data.slice()}
        added.push(entry)
        batch.putMempool(entry.seq, entry.data)
        return true
      })
      await this.state.write(batch, {sync: true})
      this.pool.push(...added)
      this.nextSeq += BigInt(added.length)
      return result
    })
  }

  /** The queued payloads, oldest first. */
  mempool(): Uint8Array[] {
    return this.pool.map((e) => e.data)
  }

  /** How many more payloads proposeMany would take now. */
  mempoolRoom(): number {
    return Math.max(0, this.mempoolLimit + 1 - this.pool.length)
  }

  /** Blocks verified but not yet accepted or rejected. */
  processingBlocks(): Block[] {
    return [...this.processing.values()]
  }

  /**
   * Builds a block from the oldest payload on top of the preferred block (height + 1, timestamp
   * now unless given) and verifies it as Go does. On success the payload leaves the mempool and
   * the block is processing; on failure nothing changes (Go would drop the payload).
   */
  buildBlock(options: {timestamp?: bigint} = {}): Promise<Block> {
    return this.exclusive(async () => {
      this.requireLast()
      const head = this.pool[0]
      if (!head)
        throw new TsvmError(
          'MEMPOOL_EMPTY',
          'there is no block to propose: the mempool is empty; run tsvm propose first',
        )
      const parent = await this.getBlock(this.preferred!)
      if (!parent) throw new TsvmError('BLOCK_NOT_FOUND', `couldn't get preferred block ${idToString(this.preferred!)}`)
      const now = this.nowSeconds()
      const block = makeBlock({
        parentId: parent.block.id,
        height: parent.block.height + 1n,
        timestamp: this.buildTimestamp(parent.block, now, options.timestamp),
        data: head.data,
      })
      verifyBlock(block, parent.block, now)
      await this.state.write(new StateBatch().delMempool(head.seq).putProcessing(block), {sync: true})
      this.pool.shift()
      this.processing.set(toHex(block.id), block)
      return block
    })
  }

  /**
   * Verifies a block as Go's Block.Verify does (parent known, height + 1, timestamp not before the
   * parent's and less than an hour ahead). A new block that passes becomes processing.
   */
  verify(block: Block): Promise<void> {
    return this.exclusive(async () => {
      this.requireLast()
      const parent = await this.getBlock(block.parentId)
      verifyBlock(block, parent?.block, this.nowSeconds())
      if (this.volatile) {
        if (this.processing.has(toHex(block.id))) return
        if (!this.surelyNew(block)) {
          this.storeChecks++
          if (await this.state.getStored(block.id)) return
        }

        this.processing.set(toHex(block.id), block)
        return
      }

      if (await this.getBlock(block.id)) return
      await this.state.write(new StateBatch().putProcessing(block), {sync: true})
      this.processing.set(toHex(block.id), block)
    })
  }

  /**
   * Volatile mode: true when `block` (verified, not processing) cannot be stored, so verify need
   * not read the store. Stored blocks are accepted (height at most the last accepted's) or
   * rejected. A block above the last accepted height whose parent is processing here, or is the
   * last accepted block accepted here, was not rejected by this instance (rejectedAbove) and was
   * not rejected before it: a rejected block's parent is rejected, or a sibling of the block or
   * of an ancestor was accepted, which would leave the parent below the last accepted height.
   * Anything else (after a reopen, old heights, unknown parents) is read from the store.
   */
  private surelyNew(block: Block): boolean {
    const last = this.last!
    if (block.height <= last.height || this.rejectedAbove.has(toHex(block.id))) return false
    if (this.processing.has(toHex(block.parentId))) return true
    return this.lastFresh && bytesEqual(block.parentId, last.id)
  }

  /** Volatile mode: notes rejected blocks above the last accepted height; forgets those at or below it. */
  private noteRejected(rejected: readonly Block[]): void {
    if (!this.volatile) return
    const floor = this.last!.height
    for (const b of rejected) if (b.height > floor) this.rejectedAbove.set(toHex(b.id), b.height)
    for (const [k, h] of this.rejectedAbove) if (h <= floor) this.rejectedAbove.delete(k)
  }

  /** How many verifies read the store to learn whether a block is known (volatile mode; for tests and benchmarks). */
  get verifyStoreChecks(): number {
    return this.storeChecks
  }

  private async requireProcessing(id: Uint8Array, action: string): Promise<Block> {
    const b = this.processing.get(toHex(id))
    if (b) return b
    const stored = await this.state.getStored(id)
    if (stored) {
      throw new TsvmError(
        'BLOCK_NOT_PROCESSING',
        `block ${idToString(id)} is ${STATUS_NAMES[stored.status]}: only a processing block can be ${action}`,
        {details: {status: STATUS_NAMES[stored.status]}},
      )
    }

    throw new TsvmError(
      'BLOCK_NOT_FOUND',
      `block ${idToString(id)} is not known: processing blocks are listed by tsvm mempool`,
    )
  }

  /** True when `block` reaches `ancestor` through blocks of `processing` only. */
  private descendsFrom(
    block: Block,
    ancestor: Uint8Array,
    processing: ReadonlyMap<string, Block> = this.processing,
  ): boolean {
    let cur = block
    for (;;) {
      if (bytesEqual(cur.parentId, ancestor)) return true
      const p = processing.get(toHex(cur.parentId))
      if (!p) return false
      cur = p
    }
  }

  /**
   * Works out the acceptance of `chain` (consecutive blocks on the last accepted), given the
   * processing blocks and preference it will meet: every processing block that does not descend
   * from its tip is rejected. Adds the writes to `batch`; changes nothing.
   */
  private planAccepted(
    chain: Block[],
    batch: StateBatch,
    processing: ReadonlyMap<string, Block> = this.processing,
    preferredNow: Uint8Array | undefined = this.preferred,
    stored = false,
  ): AcceptPlan {
    const tip = chain.at(-1)!
    // With nothing processing (every automine group commit), skip the per-block hex lookups.
    const accepted = new Set(processing.size === 0 ? [] : chain.map((b) => toHex(b.id)))
    for (const b of chain) {
      // `stored`: the blocks and heights are in the batch already (openGroup's add)
      if (!stored) batch.storeBlock(b, Status.Accepted).putHeight(b)
      if (processing.size > 0 && processing.has(toHex(b.id))) batch.delProcessing(b.id)
    }

    batch.setLastAccepted(tip.id)
    const undecided = [...processing.values()].filter((b) => !accepted.has(toHex(b.id)))
    const rejected = undecided.filter((b) => !this.descendsFrom(b, tip.id, processing))
    for (const b of rejected) batch.storeBlock(b, Status.Rejected).delProcessing(b.id)
    const pref = preferredNow && processing.get(toHex(preferredNow))
    const keepPref = pref !== undefined && !accepted.has(toHex(pref.id)) && this.descendsFrom(pref, tip.id, processing)
    const preferred = keepPref ? pref.id : tip.id
    batch.setPreferred(preferred)
    return {tip, accepted, rejected, preferred, clearsProcessing: rejected.length === undecided.length}
  }

  /** Applies a plan in memory once its batch is on disk. */
  private applyAccepted(plan: AcceptPlan): void {
    for (const k of plan.accepted) this.processing.delete(k)
    for (const b of plan.rejected) this.processing.delete(toHex(b.id))
    this.last = plan.tip
    this.preferred = plan.preferred
    this.lastFresh = true
    this.noteRejected(plan.rejected)
  }

  /**
   * Writes the acceptance of `chain` (consecutive blocks on the last accepted) and rejects every
   * processing block that does not descend from its tip, in one synced batch.
   */
  private async commitAccepted(chain: Block[], batch: StateBatch): Promise<void> {
    const plan = this.planAccepted(chain, batch)
    await this.state.write(batch, {sync: true})
    this.applyAccepted(plan)
  }

  /**
   * Accepts a processing block whose parent is the last accepted (ACCEPT_OUT_OF_ORDER otherwise);
   * its conflicting siblings and their descendants are rejected. The preference moves to it
   * unless it already points at one of its descendants.
   */
  accept(id: Uint8Array): Promise<Block> {
    return this.exclusive(async () => {
      const last = this.requireLast()
      const block = await this.requireProcessing(id, 'accepted')
      if (!bytesEqual(block.parentId, last.id)) {
        throw new TsvmError(
          'ACCEPT_OUT_OF_ORDER',
          `block ${idToString(id)} (height ${block.height}) does not extend the last accepted block ${idToString(last.id)} ` +
            `(height ${last.height}): accept its processing ancestors first`,
        )
      }

      await this.commitAccepted([block], new StateBatch())
      return block
    })
  }

  /** Rejects a processing block and its processing descendants; they are stored with status 2. */
  reject(id: Uint8Array): Promise<Block> {
    return this.exclusive(async () => {
      this.requireLast()
      const block = await this.requireProcessing(id, 'rejected')
      const doomed = [block, ...[...this.processing.values()].filter((b) => this.descendsFrom(b, block.id))]
      const batch = new StateBatch()
      for (const b of doomed) batch.storeBlock(b, Status.Rejected).delProcessing(b.id)
      const prefGone = doomed.some((b) => bytesEqual(b.id, this.preferred!))
      if (prefGone) batch.setPreferred(this.last!.id)
      await this.state.write(batch, {sync: true})
      for (const b of doomed) this.processing.delete(toHex(b.id))
      if (prefGone) this.preferred = this.last!.id
      this.noteRejected(doomed)
      return block
    })
  }

  /** Sets the block new blocks are built on: the last accepted or a processing block. */
  setPreference(id: Uint8Array): Promise<void> {
    return this.exclusive(async () => {
      const last = this.requireLast()
      if (!bytesEqual(id, last.id) && !this.processing.has(toHex(id))) {
        const known = await this.state.getStored(id)
        throw new TsvmError(
          known ? 'BLOCK_NOT_PROCESSING' : 'BLOCK_NOT_FOUND',
          `cannot prefer block ${idToString(id)}: prefer the last accepted block or a processing block`,
        )
      }

      await this.state.write(new StateBatch().setPreferred(id))
      this.preferred = id
    })
  }

  /**
   * Automine: pops up to `max` payloads (default all), builds one block per payload on the last
   * accepted block, verifies each, and accepts them all in one synced batch (a group commit).
   * Conflicting processing blocks are rejected. If a block fails Verify nothing changes.
   */
  buildAndAccept(options: {max?: number; timestamp?: bigint} = {}): Promise<Block[]> {
    return this.exclusive(async () => {
      this.requireLast()
      const n = Math.min(options.max ?? this.pool.length, this.pool.length)
      if (n <= 0) return []
      const chain = await this.acceptEntries(this.pool.slice(0, n), options.timestamp)
      this.pool.splice(0, n)
      return chain
    })
  }

  /**
   * Proposes and accepts in one step: the queued payloads first (FIFO), then `payloads`, one
   * block each on the last accepted, each verified, all in one synced batch. The same blocks as
   * proposeMany + buildAndAccept, with one fsync instead of two and no mempool records for
   * `payloads` (so the mempool cap does not apply to them). If a block fails Verify nothing changes.
   */
  acceptPayloads(payloads: Uint8Array[], options: {timestamp?: bigint} = {}): Promise<Block[]> {
    return this.exclusive(async () => {
      this.requireLast()
      const entries = this.groupEntries(payloads, true)
      if (entries.length === 0) return []
      const queued = this.pool.length
      const chain = await this.acceptEntries(entries, options.timestamp)
      this.pool.splice(0, queued)
      return chain
    })
  }

  /**
   * Starts a group of blocks to accept with acceptGroup: on the tip of `after`, a group whose
   * write may still be in flight, or else on the last accepted block with the queued payloads
   * first. Payloads are built into verified blocks as they are added (PayloadGroup.add), so the
   * building of one group overlaps the synced write of the one before. Changes nothing until
   * acceptGroup; DB_WRITE_FAILED while writes are refused.
   */
  openGroup(after?: PayloadGroup): PayloadGroup {
    const previous = after as BuildingGroup | undefined
    const base = previous ? (previous.chain.at(-1) ?? previous.base) : this.requireLast()
    // Read only here, synchronously (the group keeps its count): no copy of the pool.
    const queued = previous ? [] : this.pool
    const batch = this.state.directBatch()
    const write = this.state.prepare(batch)
    const now = this.nowSeconds()
    const group = new OpenGroup(base, batch, write, {queued: queued.length, time: this.buildTimestamp(base, now), now})
    try {
      for (const entry of queued) group.addQueued(entry)
    } catch (error) {
      write.discard().catch(() => {})
      throw error
    }

    return group
  }

  /**
   * Accepts a group from openGroup in one synced batch and returns its blocks once they are on
   * disk: the group it was built on must have been accepted first (ACCEPT_OUT_OF_ORDER
   * otherwise, writing nothing). Writes land in the order they are made (ChainState.prepare
   * starts one only after the one before it has landed), so a group never lands before its parent.
   */
  acceptGroup(group: PayloadGroup): Promise<Block[]> {
    const g = group as BuildingGroup
    return this.exclusive(async () => {
      const last = this.requireLast()
      if (g.used) throw new TsvmError('INTERNAL', 'this block group was already written or dropped')
      g.used = true
      if (!bytesEqual(g.base.id, last.id)) {
        await g.write.discard()
        throw new TsvmError(
          'ACCEPT_OUT_OF_ORDER',
          `a group of ${g.chain.length} blocks was built on block ${idToString(g.base.id)} (height ${g.base.height}), which is not the last accepted block ${idToString(last.id)} (height ${last.height}): nothing was written`,
        )
      }

      if (g.chain.length === 0) {
        await g.write.discard()
        return []
      }

      const plan = this.planAccepted(g.chain, g.batch, this.processing, this.preferred, true)
      await g.write.write({sync: true})
      this.applyAccepted(plan)
      this.pool.splice(0, g.queued)
      return g.chain
    })
  }

  /**
   * acceptPayloads over many payloads in groups of `groupSize` blocks, one synced batch each:
   * the first group is the queued payloads and as many new ones as fill it (at least one), the
   * next groups take `groupSize` new payloads each. `onGroup` reports each group once its batch
   * is on disk, with the number of new payloads it took. Pipelined: while one group's write is
   * in flight the next group is built, verified and handed to LevelDB (not written) and the group
   * before is reported. A failure stops the run; the groups before it stay accepted and reported.
   */
  acceptPayloadGroups(
    payloads: Uint8Array[],
    options: {
      groupSize: number
      timestamp?: bigint
      onGroup: (blocks: BlockRun, taken: number) => void
      stop?: () => boolean
    },
  ): Promise<void> {
    return this.exclusive(async () => {
      let parent = this.requireLast()
      let inflight: InflightGroup | undefined
      let unwritten: PreparedWrite | undefined
      let reporting = false
      const report = (g: InflightGroup) => {
        reporting = true
        options.onGroup(g.run, g.taken)
        reporting = false
      }

      try {
        for (let next = 0; next === 0 || next < payloads.length;) {
          // asked to stop (an interrupt): the groups started land and are reported, no new one begins
          if (next > 0 && options.stop?.()) break
          const first = next === 0
          const queued = first ? this.pool : []
          const take = Math.max(1, options.groupSize - queued.length)
          const taken = Math.min(take, payloads.length - next)
          checkPayloads(payloads, next, taken)
          let plan: AcceptPlan | undefined
          let run = EMPTY_RUN
          if (queued.length + taken > 0) {
            // Each write goes to LevelDB as it is made, and the blocks are built into one run's
            // buffers: nothing per block outlives this loop but those bytes.
            const batch = this.state.directBatch()
            unwritten = this.state.prepare(batch)
            const data = (i: number) => (i < queued.length ? queued[i]!.data : payloads[next + i - queued.length]!)
            run = this.buildRun(parent, queued.length + taken, data, options.timestamp)
            for (const entry of queued) batch.delMempool(entry.seq)
            if (inflight?.plan && !inflight.plan.clearsProcessing) {
              await this.landed(inflight)
              report(inflight)
              inflight = undefined
            }

            // While the group before is in flight, this plan meets the state it leaves behind: no
            // block processing (so nothing to reject) and the preference on its tip.
            plan = this.planRun(run, batch, inflight ? new Map() : this.processing)
            parent = plan.tip
          }

          next += take
          const before = inflight
          if (before) await this.landed(before)
          const write = unwritten?.write({sync: true}) ?? Promise.resolve()
          unwritten = undefined
          inflight = {plan, run, taken, queued: queued.length, write, settled: false}
          if (before) report(before)
        }

        const last = inflight!
        await this.landed(last)
        report(last)
      } catch (error) {
        await unwritten?.discard()
        // A group in flight lands (or fails) before the error is passed on; it is reported
        // unless reporting is what failed.
        if (inflight && !inflight.settled) {
          await this.landed(inflight)
          if (!reporting) report(inflight)
        }

        throw error
      }
    })
  }

  /** Waits for a group's write and applies it in memory. */
  private async landed(group: InflightGroup): Promise<void> {
    group.settled = true
    await group.write
    if (group.plan) this.applyAccepted(group.plan)
    this.pool.splice(0, group.queued)
  }

  /** The entries of one group: with `queued`, the queued payloads first; then our own copy of `payloads`. */
  private groupEntries(payloads: Uint8Array[], queued: boolean): Array<{seq?: bigint; data: Uint8Array}> {
    for (const p of payloads) {
      if (p.length !== 32) throw new TsvmError('BAD_LENGTH', `a payload is 32 bytes, got ${p.length}`)
    }

    const entries: Array<{seq?: bigint; data: Uint8Array}> = queued ? [...this.pool] : []
    // One buffer for the group rather than one small ArrayBuffer per payload.
    const copy = new ArrayBuffer(32 * payloads.length)
    for (let i = 0; i < payloads.length; i++) {
      const data = new Uint8Array(copy, 32 * i, 32)
      data.set(payloads[i]!)
      entries.push({data})
    }

    return entries
  }

  /** `count` blocks on `parent`, block i holding a copy of data(i), each verified (see buildRun in run.ts). */
  private buildRun(parent: Block, count: number, data: (i: number) => Uint8Array, timestamp?: bigint): BlockRun {
    const now = this.nowSeconds()
    // Every block of the group gets the first one's time: it is not before any parent's.
    const time = this.buildTimestamp(parent, now, timestamp)
    return buildRun({parent, timestamp: time, count, data, verify: (block, p) => verifyBlock(block, p, now)})
  }

  /**
   * planAccepted for a run: its blocks go into `batch` from the run's buffers when nothing is
   * processing (every automine group but one after `tsvm build`), as Block objects otherwise.
   */
  private planRun(run: BlockRun, batch: StateBatch, processing: ReadonlyMap<string, Block>): AcceptPlan {
    if (processing.size > 0) return this.planAccepted(run.blocks(), batch, processing)
    const tip = run.block(run.length - 1)
    batch.storeRun(run).setLastAccepted(tip.id).setPreferred(tip.id)
    return {tip, accepted: new Set(), rejected: [], preferred: tip.id, clearsProcessing: true}
  }

  /** Builds one block per entry on the last accepted, verifies each, and commits them all (and the removal of queued entries) in one synced batch. */
  private async acceptEntries(
    entries: ReadonlyArray<{seq?: bigint; data: Uint8Array}>,
    timestamp: bigint | undefined,
  ): Promise<Block[]> {
    const batch = new StateBatch()
    const chain = this.buildChain(entries, this.requireLast(), timestamp, batch)
    await this.commitAccepted(chain, batch)
    return chain
  }

  /** One block per entry on `parent`, each verified; the removal of queued entries goes into `batch`. */
  private buildChain(
    entries: ReadonlyArray<{seq?: bigint; data: Uint8Array}>,
    parent: Block,
    timestamp: bigint | undefined,
    batch?: StateBatch,
  ): Block[] {
    const now = this.nowSeconds()
    // Every block of the group gets the first one's time: it is not before any parent's.
    const time = this.buildTimestamp(parent, now, timestamp)
    const chain: Block[] = []
    for (const entry of entries) {
      const block = makeBlock({
        parentId: parent.id,
        height: parent.height + 1n,
        timestamp: time,
        data: entry.data,
      })
      verifyBlock(block, parent, now)
      if (entry.seq !== undefined) batch?.delMempool(entry.seq)
      chain.push(block)
      parent = block
    }

    return chain
  }

  /**
   * Throws what Verify would say about a block built now on the last accepted block with this
   * timestamp (default now), without changing anything: lets callers refuse before queueing.
   */
  checkBuildTimestamp(timestamp?: bigint): void {
    const parent = this.requireLast()
    const now = this.nowSeconds()
    const probe = {
      parentId: parent.id,
      height: parent.height + 1n,
      timestamp: this.buildTimestamp(parent, now, timestamp),
      data: parent.data,
    }
    verifyBlock(probe, parent, now)
  }

  /**
   * Re-checks the whole stored chain (like git fsck): reports problems, never throws for them.
   * NOT_INITIALIZED for a database with no key at all: a chain whose creation stopped (a kill, a
   * power cut) before its genesis was written. There is no chain to check, nothing is lost, and
   * the next command that creates a chain there completes it.
   */
  check(options: {onProgress?: (done: number, total: number) => void} = {}): Promise<CheckReport> {
    const expectedBlocks = this.last === undefined ? 0 : Number(this.last.height) + 1
    return this.exclusive(async () => {
      if (!this.initialized && (await this.state.isEmpty())) {
        throw new TsvmError(
          'NOT_INITIALIZED',
          `no chain in ${this.state.dir}: its database is empty (it was created, but stopped before the genesis was written); create the chain there with tsvm init, propose or stamp`,
          {details: {dataDir: this.state.dir}},
        )
      }

      return checkState(this.state, {nowSeconds: this.nowSeconds(), expectedBlocks, ...options})
    })
  }

  /** Closes the database and frees the data dir. */
  close(): Promise<void> {
    return this.exclusive(() => this.state.close())
  }
}
