// The block engine behind `tsvm serve`: what consensus does for a single node. Proposals go to a
// bounded mempool; blocks are built and accepted at once (default) or every `blockTimeMs`.
//
// Group commit: proposals that arrive while a write is in flight wait for the next tick and
// then share one synced batch (proposeMany) and one buildAndAccept. A proposal resolves true
// only after its batch is on disk, so Success:true means the payload is durably in the mempool
// or in an accepted block. The VM's mempool cap decides which ones are refused (Success:false,
// as timestampvm v1.3 does when more than 4096 payloads wait). All VM calls run one at a time.
//
// Two states refuse proposals with an error instead (a JSON-RPC error, never Success:true):
//   - a failed write: the VM refuses every write until its database is reopened and a test write
//     reads back (see src/vm/state.ts); the batch whose write failed gets the error, and so does
//     every later one until a recovery, tried every `recoverMs`, succeeds;
//   - a tip an hour or more ahead of the clock: no block could be built from the payload, so it
//     is not taken (Go would queue it and fail every build until its clock catches up).
// problem() says which holds, for /ext/health.
import type {Block} from '../vm/block.js'
import type {PayloadGroup} from '../vm/vm.js'
import {TsvmError} from '../vm/errors.js'
import type {ChainBackend} from '../rpc/service.js'

/** The VM operations the engine drives. */
export interface EngineVm {
  /** ID of the last accepted block. */
  lastAcceptedId(): Promise<Uint8Array>
  /** A block by ID, any status, or undefined. */
  getBlock(id: Uint8Array): Promise<Block | undefined>
  /** getBlock's answer when it needs no read, else undefined (optional). */
  blockInMemory?(id: Uint8Array): Block | undefined
  /** Payloads waiting in the mempool. */
  mempoolSize(): Promise<number> | number
  /** Appends payloads to the mempool in one synced write; false for each one the full mempool refused. */
  proposeMany(payloads: Uint8Array[]): Promise<boolean[]>
  /** Builds and accepts blocks from the mempool (at most `max`), in order. */
  buildAndAccept(options?: {max?: number}): Promise<Block[]>
  /** Builds and accepts the queued payloads, then these, in one synced write (optional: saves a write per batch). */
  acceptPayloads?(payloads: Uint8Array[]): Promise<Block[]>
  /** Starts a group of blocks built as proposals come, on `after` or the last accepted block (optional, with acceptGroup). */
  openGroup?(after?: PayloadGroup): PayloadGroup
  /** Accepts a group in one synced write, after the group it was built on (optional, with openGroup). */
  acceptGroup?(group: PayloadGroup): Promise<Block[]>
  /** Why writes are refused since one failed, or undefined (optional). */
  failure?(): Error | undefined
  /** Reopens the database after a failed write; throws while it cannot (optional, with failure). */
  recover?(): Promise<void>
  /** Why no block can be built now (the clock), or undefined (optional). */
  buildProblem?(): Error | undefined
}

/** How the engine builds blocks and reports them. */
export interface EngineOptions {
  /** Build every this many ms; 0 or undefined builds as soon as a batch is written. */
  blockTimeMs?: number
  /** Told about blocks accepted and about build failures (for serve's log). */
  onAccepted?: (blocks: Block[]) => void
  onError?: (error: unknown) => void
  /** Told once when proposals start to be refused (see problem()), and once when they are taken again. */
  onRefusing?: (reason: Error) => void
  onTaking?: () => void
  /** How long to wait between attempts to reopen the database after a failed write (default 1000 ms). */
  recoverMs?: number
}

interface Waiter {
  data: Uint8Array
  resolve: (ok: boolean) => void
  reject: (error: unknown) => void
}

/** A group of blocks being built from proposals, and the proposals waiting on it. */
interface Building {
  group: PayloadGroup
  waiters: Waiter[]
  /** Opened while a write was in flight: each proposal is built as it comes (else all at once when it starts). */
  eager: boolean
}

/** What kind of refusal an error is: its code (the clock's message changes every second). */
const kind = (error: Error): string => String((error as {code?: unknown}).code ?? error.message)

/** Serialises VM access, batches proposals and builds blocks; a ChainBackend for the service. */
export class Engine implements ChainBackend {
  private pending: Waiter[] = []
  private queue: Promise<void> = Promise.resolve()
  private flushScheduled = false
  private timer: NodeJS.Timeout | undefined
  private closed = false
  /** The next recovery attempt, while writes are refused. */
  private recovery: NodeJS.Timeout | undefined
  /** The reason proposals are refused, as last reported through onRefusing. */
  private refusing: Error | undefined
  /** Pipelined mode (at once, with openGroup): the group taking proposals, and the one being written. */
  private open: Building | undefined
  private writing: Building | undefined
  /** Settles when the group being written has landed and the group after it (if any) is started. */
  private landing: Promise<void> | undefined

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
    return this.pending.length + (this.open?.waiters.length ?? 0)
  }

  /** Pipelined mode: proposals in the group being written, and in the group being built behind it. */
  groups(): {writing: number; building: number} {
    return {writing: this.writing?.waiters.length ?? 0, building: this.open?.waiters.length ?? 0}
  }

  /** Whether proposals go through openGroup/acceptGroup (blocks built at once, by a VM that has them). */
  private get pipelined(): boolean {
    return this.timer === undefined && this.vm.openGroup !== undefined && this.vm.acceptGroup !== undefined
  }

  async lastAcceptedId(): Promise<Uint8Array> {
    return this.vm.lastAcceptedId()
  }

  getBlock(id: Uint8Array): Promise<Block | undefined> {
    // Not async: the VM's promise is handed on as it is, without the extra turns an async return costs.
    return this.vm.getBlock(id)
  }

  blockInMemory(id: Uint8Array): Block | undefined {
    return this.vm.blockInMemory?.(id)
  }

  async proposeBlock(data: Uint8Array): Promise<boolean> {
    if (this.closed)
      throw new TsvmError('SERVE_FAILED', 'the server is shutting down: proposal not taken, send it again later')
    if (this.pipelined) return this.proposeInGroup(data)
    return new Promise<boolean>((resolve, reject) => {
      this.pending.push({data: data.slice(), resolve, reject})
      if (!this.flushScheduled) {
        this.flushScheduled = true
        // The next turn of the event loop: everything proposed meanwhile joins this batch.
        setImmediate(() => this.enqueue(() => this.flush()))
      }
    })
  }

  /**
   * Pipelined group commit. While a write is in flight, a proposal is built into a block of the
   * open group at once (the main thread is otherwise idle then); the group grows and is written
   * the moment the write before lands, before that one's proposals are answered: the disk starts on
   * the next write while the replies are made. While no write is in flight, the open group takes
   * what is proposed until the next turn of the event loop, then is built in one pass and written.
   * Each group's write starts only after the one
   * before it landed (one synced LevelDB write at a time, in order), and a proposal resolves true
   * only once the write holding its block has landed, so every earlier write has landed too.
   */
  private proposeInGroup(data: Uint8Array): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      let {open} = this
      if (open === undefined) {
        const refused = this.noteProblem()
        if (refused) {
          this.watchStorage()
          reject(refused)
          return
        }

        try {
          open = {group: this.vm.openGroup!(this.writing?.group), waiters: [], eager: this.writing !== undefined}
        } catch (error) {
          this.watchStorage()
          reject(error)
          return
        }

        this.open = open
        if (this.writing === undefined) setImmediate(() => this.startGroup())
      }

      if (!open.eager) {
        open.waiters.push({data: new Uint8Array(data), resolve, reject})
        return
      }

      try {
        open.group.add(data)
      } catch (error) {
        reject(error)
        return
      }

      open.waiters.push({data, resolve, reject})
    })
  }

  /** Writes the open group, unless one is being written (then it follows that one). */
  private startGroup(): void {
    const building = this.open
    if (building === undefined || this.writing !== undefined) return
    this.open = undefined
    if (!building.eager) {
      // Taken while nothing was being written: built now, in one pass, as they came.
      const built: Waiter[] = []
      for (const w of building.waiters) {
        try {
          building.group.add(w.data)
          built.push(w)
        } catch (error) {
          w.reject(error)
        }
      }

      building.waiters = built
    }

    this.writing = building
    this.landing = this.vm.acceptGroup!(building.group).then(
      (blocks) => {
        this.writing = undefined
        // The next group's write first: it goes to disk while these proposals are answered.
        this.startGroup()
        if (blocks.length > 0) this.options.onAccepted?.(blocks)
        for (const w of building.waiters) w.resolve(true)
      },
      async (error: unknown) => {
        this.writing = undefined
        // The open group was built on blocks that are not written: it goes too, with the same answer.
        const next = this.open
        this.open = undefined
        await next?.group.discard().catch(() => {})
        if (!this.watchStorage()) this.options.onError?.(error)
        for (const w of [...building.waiters, ...(next?.waiters ?? [])]) w.reject(error)
      },
    )
  }

  private enqueue(job: () => Promise<void>): Promise<void> {
    const next = this.queue.then(job, job)
    this.queue = next.catch(() => {})
    return this.queue
  }

  /** Why proposals are refused now: writes refused after a failed one, or no block can be built; undefined when healthy. */
  problem(): Error | undefined {
    return this.vm.failure?.() ?? this.vm.buildProblem?.()
  }

  private async flush(): Promise<void> {
    this.flushScheduled = false
    const batch = this.pending.splice(0)
    if (batch.length === 0) return
    const refused = this.noteProblem()
    if (refused) {
      for (const w of batch) w.reject(refused)
      this.watchStorage()
      return
    }

    if (this.timer === undefined && this.vm.acceptPayloads) {
      // At once: the batch becomes accepted blocks in one synced write, no mempool round trip
      // (half the fsyncs per batch, so twice the proposals a client waiting on each can make).
      try {
        const blocks = await this.vm.acceptPayloads(batch.map((w) => w.data))
        if (blocks.length > 0) this.options.onAccepted?.(blocks)
        for (const w of batch) w.resolve(true)
        return
      } catch (error) {
        // The write failed: this batch gets the error, and writes are refused until a recovery.
        if (this.watchStorage()) {
          for (const w of batch) w.reject(error)
          return
        }

        // Nothing was written (e.g. a block failed Verify): queue them durably as below instead.
        this.options.onError?.(error)
      }
    }

    let taken: boolean[]
    try {
      taken = await this.vm.proposeMany(batch.map((w) => w.data))
    } catch (error) {
      for (const w of batch) w.reject(error)
      this.watchStorage()
      return
    }

    if (this.timer === undefined) await this.build()
    for (const [i, w] of batch.entries()) w.resolve(taken[i] === true)
  }

  private async build(): Promise<void> {
    try {
      if ((await this.vm.mempoolSize()) === 0) return
      const blocks = await this.vm.buildAndAccept({})
      if (blocks.length > 0) this.options.onAccepted?.(blocks)
    } catch (error) {
      // The payloads stay in the mempool; the next tick tries again.
      if (!this.watchStorage()) this.options.onError?.(error)
    }
  }

  /** problem(), reported through onRefusing/onTaking when it changes. */
  private noteProblem(): Error | undefined {
    const problem = this.problem()
    if (problem && kind(problem) !== (this.refusing && kind(this.refusing))) this.options.onRefusing?.(problem)
    else if (!problem && this.refusing) this.options.onTaking?.()
    this.refusing = problem
    return problem
  }

  /** True when writes are refused after a failed one; then makes sure a recovery is scheduled. */
  private watchStorage(): boolean {
    if (!this.vm.failure?.()) return false
    this.noteProblem()
    if (this.recovery === undefined && !this.closed && this.vm.recover) {
      this.recovery = setTimeout(() => {
        void this.enqueue(async () => {
          this.recovery = undefined
          if (this.closed) return
          try {
            await this.vm.recover!()
          } catch {
            // Still refused (the disk is still full, say): try again after the next interval.
          }

          if (this.watchStorage()) return
          this.noteProblem()
          // Payloads that were queued before the failure are built now, not at the next proposal.
          if (this.timer === undefined) await this.build()
        })
      }, this.options.recoverMs ?? 1000)
    }

    return true
  }

  /** Stops the timer and waits until every taken proposal is written (and built, at once mode). */
  async close(): Promise<void> {
    this.closed = true
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
    if (this.recovery) clearTimeout(this.recovery)
    this.recovery = undefined
    // Pipelined: the group being written lands, then the open one (started as it lands).
    while (this.writing !== undefined || this.open !== undefined) {
      if (this.writing === undefined) this.startGroup()
      await this.landing
    }

    // Bounded: each round writes what is pending; no new proposals are taken once closed.
    for (let round = 0; round < 3; round++) {
      await this.enqueue(() => this.flush())
      if (this.pending.length === 0) break
    }
  }
}
