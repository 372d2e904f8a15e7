// The block engine behind `tsvm serve`: what consensus does for a single node. Proposals go to a
// bounded mempool; blocks are built and accepted at once (default) or every `blockTimeMs`.
//
// Group commit: proposals that arrive while a write is in flight wait for the next tick and
// then share one synced batch (proposeMany) and one buildAndAccept. A proposal resolves true
// only after its batch is on disk, so Success:true means the payload is durably in the mempool
// or in an accepted block. The VM's mempool cap decides which ones are refused (Success:false,
// as timestampvm v1.3 does when more than 4096 payloads wait). All VM calls run one at a time.
import type {Block} from '../vm/block.js'
import {TsvmError} from '../vm/errors.js'
import type {ChainBackend} from '../rpc/service.js'

/** The VM operations the engine drives. */
export interface EngineVm {
  /** ID of the last accepted block. */
  lastAcceptedId(): Promise<Uint8Array>
  /** A block by ID, any status, or undefined. */
  getBlock(id: Uint8Array): Promise<Block | undefined>
  /** Payloads waiting in the mempool. */
  mempoolSize(): Promise<number> | number
  /** Appends payloads to the mempool in one synced write; false for each one the full mempool refused. */
  proposeMany(payloads: Uint8Array[]): Promise<boolean[]>
  /** Builds and accepts blocks from the mempool (at most `max`), in order. */
  buildAndAccept(options?: {max?: number}): Promise<Block[]>
  /** Builds and accepts the queued payloads, then these, in one synced write (optional: saves a write per batch). */
  acceptPayloads?(payloads: Uint8Array[]): Promise<Block[]>
}

/** How the engine builds blocks and reports them. */
export interface EngineOptions {
  /** Build every this many ms; 0 or undefined builds as soon as a batch is written. */
  blockTimeMs?: number
  /** Told about blocks accepted and about build failures (for serve's log). */
  onAccepted?: (blocks: Block[]) => void
  onError?: (error: unknown) => void
}

interface Waiter {
  data: Uint8Array
  resolve: (ok: boolean) => void
  reject: (error: unknown) => void
}

/** Serialises VM access, batches proposals and builds blocks; a ChainBackend for the service. */
export class Engine implements ChainBackend {
  private pending: Waiter[] = []
  private queue: Promise<void> = Promise.resolve()
  private flushScheduled = false
  private timer: NodeJS.Timeout | undefined
  private closed = false

  constructor(
    private readonly vm: EngineVm,
    private readonly options: EngineOptions = {},
  ) {
    if (options.blockTimeMs && options.blockTimeMs > 0) {
      this.timer = setInterval(() => this.enqueue(() => this.build()), options.blockTimeMs)
      this.timer.unref()
    }
  }

  /** Payloads accepted by proposeBlock but not yet written. */
  get unwritten(): number {
    return this.pending.length
  }

  async lastAcceptedId(): Promise<Uint8Array> {
    return this.vm.lastAcceptedId()
  }

  async getBlock(id: Uint8Array): Promise<Block | undefined> {
    return this.vm.getBlock(id)
  }

  async proposeBlock(data: Uint8Array): Promise<boolean> {
    if (this.closed) throw new TsvmError('SERVE_FAILED', 'the server is shutting down: proposal not taken, send it again later')
    return new Promise<boolean>((resolve, reject) => {
      this.pending.push({data: data.slice(), resolve, reject})
      if (!this.flushScheduled) {
        this.flushScheduled = true
        // The next turn of the event loop: everything proposed meanwhile joins this batch.
        setImmediate(() => this.enqueue(() => this.flush()))
      }
    })
  }

  private enqueue(job: () => Promise<void>): Promise<void> {
    const next = this.queue.then(job, job)
    this.queue = next.catch(() => {})
    return this.queue
  }

  private async flush(): Promise<void> {
    this.flushScheduled = false
    const batch = this.pending.splice(0)
    if (batch.length === 0) return
    if (this.timer === undefined && this.vm.acceptPayloads) {
      // At once: the batch becomes accepted blocks in one synced write, no mempool round trip
      // (half the fsyncs per batch, so twice the proposals a client waiting on each can make).
      try {
        const blocks = await this.vm.acceptPayloads(batch.map((w) => w.data))
        if (blocks.length > 0) this.options.onAccepted?.(blocks)
        for (const w of batch) w.resolve(true)
        return
      } catch (error) {
        // Nothing was written (e.g. a block failed Verify): queue them durably as below instead.
        this.options.onError?.(error)
      }
    }
    let taken: boolean[]
    try {
      taken = await this.vm.proposeMany(batch.map((w) => w.data))
    } catch (error) {
      for (const w of batch) w.reject(error)
      return
    }
    if (this.timer === undefined) await this.build()
    batch.forEach((w, i) => w.resolve(taken[i] === true))
  }

  private async build(): Promise<void> {
    try {
      if ((await this.vm.mempoolSize()) === 0) return
      const blocks = await this.vm.buildAndAccept({})
      if (blocks.length > 0) this.options.onAccepted?.(blocks)
    } catch (error) {
      // The payloads stay in the mempool; the next tick tries again.
      this.options.onError?.(error)
    }
  }

  /** Stops the timer and waits until every taken proposal is written (and built, at once mode). */
  async close(): Promise<void> {
    this.closed = true
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
    // Bounded: each round writes what is pending; no new proposals are taken once closed.
    for (let round = 0; round < 3; round++) {
      await this.enqueue(() => this.flush())
      if (this.pending.length === 0) break
    }
  }
}
