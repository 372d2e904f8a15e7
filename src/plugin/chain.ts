// The TimestampVM as AvalancheGo's consensus drives it over vm.VM: one instance per plugin
// process (the node runs one process per chain), created by Initialize on the node's rpcdb.
//
// What differs from the embedded chain, on purpose:
//   - The node decides: accept and reject come by ID in the node's order. A block already in the
//     decided state asked for (accept of an accepted block, reject of a rejected one) is a no-op,
//     not an error: a non-OK status on BlockAccept or BlockReject halts the chain. Accepting a
//     block rejects its conflicting siblings at once, as the embedded VM does; the node's
//     BlockReject for them then finds them rejected.
//   - SetPreference never fails (Go stores any ID): a preference the VM cannot build on is logged
//     and the previous one kept.
//   - BuildBlock stamps max(now, parent's time): Go stamps now, fails Verify when the parent is
//     ahead of the local clock and loses the payload; here the payload becomes a valid block.
//   - Initialize on an initialized store ignores the genesis bytes, as Go does.
//   - Verified, undecided blocks live in memory only, as in Go (the VM's volatileProcessing): the
//     node owns the database and re-verifies after a restart, so BlockVerify of a new block on a
//     processing parent or on a tip accepted here makes no rpcdb call at all.
// Every state transition goes through the VM's own queue (one at a time) and lands as one
// rpcdb WriteBatch before memory changes, so an API read sees the chain before or after an
// accept, never half of it.
import type {Block} from '../vm/block.js'
import {parseBlock, Status} from '../vm/block.js'
import {idToString} from '../vm/encoding.js'
import {TsvmError, isTsvmError} from '../vm/errors.js'
import {bytesEqual} from '../vm/hash.js'
import {TimestampVM} from '../vm/vm.js'
import type {ChainBackend} from '../rpc/service.js'
import {RpcDbClient, RpcLevel} from './rpcdb.js'

// What the gRPC server needs from the VM side, loaded with it after the handshake (server.ts).
export {parseBlock} from '../vm/block.js'
export {idToString} from '../vm/encoding.js'
export {answerRpcHttp} from '../rpc/http.js'

/** Options of a plugin chain. */
export interface PluginChainOptions {
  /** The clock in ms (default Date.now). */
  now?: () => number
  /** Diagnostics (stderr in the plugin process). */
  log?: (line: string) => void
}

/** A waiter of WaitForEvent. */
type Waiter = (ok: boolean) => void

/** The VM of one chain inside the plugin. */
export class PluginChain implements ChainBackend {
  private state = 0
  private readonly waiters = new Set<Waiter>()
  private pending: Array<{data: Uint8Array; resolve: (ok: boolean) => void; reject: (e: unknown) => void}> = []
  private flushing = false
  private closed = false

  private constructor(
    readonly vm: TimestampVM,
    private readonly db: RpcDbClient,
    private readonly options: PluginChainOptions,
  ) {}

  /**
   * Opens the chain on the node's database at `dbAddress`, creating the genesis from
   * `genesisBytes` on an empty store (ignored on an initialized one, as Go does).
   */
  static async open(
    dbAddress: string,
    genesisBytes: Uint8Array,
    name: string,
    options: PluginChainOptions = {},
  ): Promise<PluginChain> {
    const client = new RpcDbClient(dbAddress)
    const vm = await TimestampVM.openOn(new RpcLevel(client), name, {now: options.now, volatileProcessing: true})
    try {
      const adopted = vm.adoption
      if (adopted) {
        const how = adopted.resumed ? 'finished adopting' : 'adopted'
        options.log?.(
          `${how} the state the Go VM left: ${adopted.blocks} accepted and ${adopted.rejected} rejected blocks up to height ${adopted.lastAcceptedHeight}, in ${adopted.ms} ms`,
        )
      }

      if (!vm.isInitialized()) await vm.initialize(genesisBytes)
      // Go's Initialize ends with SetPreference(lastAccepted).
      const last = vm.lastAccepted()
      if (!bytesEqual(vm.preferredId(), last.id)) await vm.setPreference(last.id)
    } catch (error) {
      await vm.close()
      throw error
    }

    return new PluginChain(vm, client, options)
  }

  private log(line: string): void {
    this.options.log?.(line)
  }

  /** The last accepted block. */
  lastAccepted(): Block {
    return this.vm.lastAccepted()
  }

  /** The node's health report of its database (JSON); fails once the store has failed. */
  async databaseHealth(): Promise<unknown> {
    const text = await this.db.health()
    try {
      return JSON.parse(text) as unknown
    } catch {
      return text
    }
  }

  /** Records the consensus state: 2 bootstrapping, 3 normal operation (Go v1.3: others are `unknown state`). */
  setState(state: number): Block {
    if (state !== 2 && state !== 3) throw new TsvmError('INVALID_ARGUMENT', 'unknown state')
    this.state = state
    return this.vm.lastAccepted()
  }

  /** The recorded consensus state (0 before SetState). */
  get consensusState(): number {
    return this.state
  }

  // ------------------------------------------------------------------ the mempool and WaitForEvent

  /** Queues a payload (proposals arriving together share one WriteBatch); false when the mempool is full. */
  proposeBlock(data: Uint8Array): Promise<boolean> {
    if (this.closed)
      return Promise.reject(new TsvmError('SERVE_FAILED', 'the chain is shutting down: send the proposal again later'))
    return new Promise((resolve, reject) => {
      this.pending.push({data: data.slice(), resolve, reject})
      if (!this.flushing) {
        this.flushing = true
        setImmediate(() => {
          void this.flush()
        })
      }
    })
  }

  private async flush(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0)
      try {
        const taken = await this.vm.proposeMany(batch.map((p) => p.data))
        for (const [i, p] of batch.entries()) p.resolve(taken[i] === true)
        if (taken.some(Boolean)) this.notify()
      } catch (error) {
        for (const p of batch) p.reject(error)
      }
    }

    this.flushing = false
  }

  private notify(): void {
    if (this.vm.mempool().length === 0) return
    for (const w of this.waiters) w(true)
  }

  /**
   * Resolves true once there is something to build (at once when the mempool is not empty);
   * false when `signal` cancels the wait (the node's RST_STREAM) or the chain closes.
   */
  waitForBuild(signal: AbortSignal): Promise<boolean> {
    if (this.vm.mempool().length > 0) return Promise.resolve(true)
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        this.waiters.delete(waiter)
        signal.removeEventListener('abort', onAbort)
        resolve(ok)
      }

      const waiter: Waiter = (ok) => done(ok)
      const onAbort = () => done(false)
      if (signal.aborted) {
        resolve(false)
        return
      }

      this.waiters.add(waiter)
      signal.addEventListener('abort', onAbort, {once: true})
    })
  }

  /** How many WaitForEvent calls are waiting (for tests of cancellation). */
  get waiting(): number {
    return this.waiters.size
  }

  // ------------------------------------------------------------------ blocks

  /** A block of any status by ID (ChainBackend). */
  async getBlock(id: Uint8Array): Promise<Block | undefined> {
    if (id.length !== 32) return undefined
    return (await this.vm.getBlock(id))?.block
  }

  /** The last accepted ID (ChainBackend). */
  async lastAcceptedId(): Promise<Uint8Array> {
    return this.vm.lastAccepted().id
  }

  /** The accepted block ID at a height. */
  async idAtHeight(height: bigint): Promise<Uint8Array | undefined> {
    return (await this.vm.getBlockAtHeight(height))?.block.id
  }

  /** Builds a block from the oldest payload on the preferred block, stamped max(now, parent's time). */
  async buildBlock(): Promise<Block> {
    const parent = await this.vm.getBlock(this.vm.preferredId())
    const now = BigInt(Math.floor((this.options.now ?? Date.now)() / 1000))
    const timestamp = parent && parent.block.timestamp > now ? parent.block.timestamp : now
    return this.vm.buildBlock({timestamp})
  }

  /** Verifies a block's bytes against its parent; a new block stays findable by ID. */
  async verify(bytes: Uint8Array): Promise<Block> {
    const block = parseBlock(bytes)
    await this.vm.verify(block)
    return block
  }

  /** Accepts a verified block by ID; an accepted one again is a no-op. */
  async accept(id: Uint8Array): Promise<void> {
    const record = await this.vm.getBlock(id)
    if (record?.status === Status.Accepted) return
    await this.vm.accept(id)
  }

  /** Rejects a block by ID; a rejected one again is a no-op. */
  async reject(id: Uint8Array): Promise<void> {
    const record = await this.vm.getBlock(id)
    if (record?.status === Status.Rejected) return
    await this.vm.reject(id)
  }

  /** Stores the preference; one the VM cannot build on is logged and the old one kept (never an error). */
  async setPreference(id: Uint8Array): Promise<void> {
    try {
      await this.vm.setPreference(id)
    } catch (error) {
      if (!isTsvmError(error, 'BLOCK_NOT_FOUND', 'BLOCK_NOT_PROCESSING')) throw error
      this.log(`SetPreference(${idToString(id)}) kept the previous preference: ${error.message}`)
    }
  }

  /**
   * The block and its ancestors, newest first, as the node's own GetAncestors fallback does:
   * the first block always, then stop at the count, the time budget (ns), the size budget
   * (Σ len + 4) or an unknown parent. An unknown block gives an empty list.
   */
  async ancestors(id: Uint8Array, maxNum: number, maxSize: number, maxTimeNs: bigint): Promise<Uint8Array[]> {
    const started = process.hrtime.bigint()
    let block = await this.getBlock(id)
    if (block === undefined) return []
    const out = [block.bytes]
    let size = block.bytes.length + 4
    for (let n = 1; n < maxNum && process.hrtime.bigint() - started < maxTimeNs; n++) {
      const parent = await this.getBlock(block.parentId)
      if (parent === undefined) break
      const next = size + parent.bytes.length + 4
      if (next > maxSize) break
      out.push(parent.bytes)
      size = next
      block = parent
    }

    return out
  }

  /** Writes what proposals are pending, releases waiters and closes the database handle. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    while (this.flushing || this.pending.length > 0)
      await new Promise((r) => {
        setImmediate(r)
      })
    for (const w of this.waiters) w(false)
    await this.vm.close()
  }
}
