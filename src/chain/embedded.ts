// The embedded backend of Chain: a TimestampVM on a local data dir. Each call is a complete
// state transition on disk, so a script may run one tsvm command per step (propose --no-wait,
// build, accept, ...) and every process sees what the previous one left.
//
// A data dir without a chain gets the default genesis on first use: empty genesis bytes, i.e.
// a genesis block whose data is 32 zero bytes (Go pads the genesis with zeros, spec §4.1).
// `tsvm init` creates a chain with other genesis bytes instead.
import {existsSync} from 'node:fs'

import {type Block, Status} from '../vm/block.js'
import {diskOrPermissionError, undoCreate} from '../vm/datadir.js'
import {idToString} from '../vm/encoding.js'
import {TsvmError} from '../vm/errors.js'
import {type AdoptReport, TimestampVM, type VmOptions} from '../vm/vm.js'
import {adoptionSettings} from './adopt-hooks.js'
import type {
  BlocksOptions,
  Chain,
  ChainIdentity,
  CheckReport,
  ProposeOptions,
  ProposeResult,
  StoredBlock,
} from './chain.js'

/** The genesis bytes of a chain created implicitly: none, so the genesis data is all zeros. */
export const DEFAULT_GENESIS = new Uint8Array(0)

export interface EmbeddedOptions extends VmOptions {
  /** Create the default genesis when the data dir has no chain yet (default true; never with create false). */
  autoInit?: boolean
  /**
   * Create a database when the data dir does not exist or is empty (default: as autoInit). With
   * false such a dir is NOT_INITIALIZED and nothing is created: for commands that only read.
   */
  create?: boolean
  /** Told what the open adopted from a state the Go VM wrote (default: adoptionSettings.onAdopted). */
  onAdopted?: (report: AdoptReport, dataDir: string) => void
}

const accepted = (block: Block): StoredBlock => ({block, status: Status.Accepted})

/** A Chain backed by the embedded VM. */
export class EmbeddedChain implements Chain {
  readonly kind = 'embedded' as const

  private constructor(readonly vm: TimestampVM) {}

  /** Opens the chain in `dataDir`, creating the default genesis there unless autoInit is false. */
  static async open(dataDir: string, options: EmbeddedOptions = {}): Promise<EmbeddedChain> {
    const create = options.create ?? options.autoInit !== false
    const dirExisted = existsSync(dataDir)
    const vm = await TimestampVM.open(dataDir, {...options, create, adopt: options.adopt ?? adoptionSettings.adopt})
    try {
      if (vm.adoption) (options.onAdopted ?? adoptionSettings.onAdopted)?.(vm.adoption, vm.dir)
      if (!vm.isInitialized() && create && options.autoInit !== false) await vm.initialize(DEFAULT_GENESIS)
    } catch (error) {
      await vm.close()
      // A chain that could not get its genesis (a full disk) is not left behind half made.
      if (vm.created) undoCreate(vm.dir, dirExisted ? [] : undefined)
      const e = error as {message?: string}
      throw (
        (!(error instanceof TsvmError) && diskOrPermissionError(vm.dir, e?.message ?? String(error), error)) || error
      )
    }

    return new EmbeddedChain(vm)
  }

  /** What opening this chain adopted from a state the Go VM wrote, if anything. */
  get adoption(): AdoptReport | undefined {
    return this.vm.adoption
  }

  get location(): string {
    return this.vm.dir
  }

  /** Creates the chain from `genesisBytes`, or checks an existing chain has that genesis. */
  initialize(genesisBytes: Uint8Array): Promise<{genesis: Block; created: boolean}> {
    return this.vm.initialize(genesisBytes)
  }

  async propose(payloads: Uint8Array[], options: ProposeOptions = {}): Promise<ProposeResult> {
    if (options.accept === false) {
      // Nothing is queued that no block could be built from (the tip is an hour or more ahead of the clock).
      const unbuildable = this.vm.buildProblem()
      if (unbuildable) throw unbuildable
      const room = this.vm.mempoolRoom()
      if (payloads.length > room) {
        throw new TsvmError(
          'MEMPOOL_FULL',
          `the mempool has room for ${room} more payloads, not ${payloads.length}: nothing was queued; ` +
            'build and accept the queued ones first (tsvm propose without --no-wait, or tsvm build)',
          {details: {room, requested: payloads.length}},
        )
      }

      await this.vm.proposeMany(payloads)
      return {queued: payloads.length, accepted: []}
    }

    // Automine in groups as large as the mempool (a bounded batch): the queued payloads first,
    // then the new ones, built and accepted in one synced batch per group; one block per payload,
    // each verified, one fsync per group. New payloads skip the mempool: the blocks are the same.
    this.vm.checkBuildTimestamp(options.timestamp) // refuse before anything is built
    const result: ProposeResult = {queued: 0, accepted: [], rejected: []}
    const wereProcessing = this.vm.processingBlocks()
    const total = payloads.length + this.vm.mempool().length
    let done = 0
    await this.vm.acceptPayloadGroups(payloads, {
      groupSize: this.vm.mempoolLimit + 1,
      timestamp: options.timestamp,
      stop: () => options.signal?.aborted === true,
      onGroup(blocks, taken) {
        result.queued += taken
        done += blocks.length
        if (options.onAcceptedRun) options.onAcceptedRun(blocks)
        else if (options.onAccepted) options.onAccepted(blocks.blocks().map((b) => accepted(b)))
        else for (const b of blocks.blocks()) result.accepted.push(accepted(b))
        options.onProgress?.(done, total)
      },
    })
    for (const b of wereProcessing) {
      const now = await this.vm.getBlock(b.id)
      if (now?.status === Status.Rejected) result.rejected!.push(now)
    }

    return result
  }

  async getBlock(id: Uint8Array): Promise<StoredBlock> {
    const found = await this.vm.getBlock(id)
    if (!found) {
      throw new TsvmError(
        'BLOCK_NOT_FOUND',
        `couldn't get block ${idToString(id)} from the database: it does not exist on the chain in ${this.location}`,
      )
    }

    return found
  }

  async lastAccepted(): Promise<StoredBlock> {
    return accepted(this.vm.lastAccepted())
  }

  async getBlockAtHeight(height: bigint): Promise<StoredBlock> {
    const found = await this.vm.getBlockAtHeight(height)
    if (!found) {
      throw new TsvmError(
        'BLOCK_NOT_FOUND',
        `no accepted block at height ${height}: the last accepted height is ${this.vm.lastAccepted().height}`,
      )
    }

    return found
  }

  findByData(data: Uint8Array): Promise<StoredBlock[]> {
    return this.vm.findByData(data)
  }

  blocks(options: BlocksOptions = {}): AsyncIterable<StoredBlock> {
    return this.vm.acceptedBlocks(options)
  }

  async build(options: {timestamp?: bigint} = {}): Promise<StoredBlock> {
    return {block: await this.vm.buildBlock(options), status: Status.Processing}
  }

  async accept(id: Uint8Array): Promise<StoredBlock> {
    return accepted(await this.vm.accept(id))
  }

  async reject(id: Uint8Array): Promise<StoredBlock> {
    return {block: await this.vm.reject(id), status: Status.Rejected}
  }

  async mempool(): Promise<Uint8Array[]> {
    return this.vm.mempool()
  }

  /** Blocks built or verified but not yet accepted or rejected. */
  async processing(): Promise<StoredBlock[]> {
    return this.vm.processingBlocks().map((block) => ({block, status: Status.Processing}))
  }

  check(options: {onProgress?: (done: number, total: number) => void} = {}): Promise<CheckReport> {
    return this.vm.check(options)
  }

  /** The genesis block ID (none for a data dir without a chain yet). */
  async identity(): Promise<ChainIdentity> {
    if (!this.vm.isInitialized()) return {}
    const genesis = await this.vm.getBlockAtHeight(0n)
    return genesis ? {genesisID: genesis.block.id} : {}
  }

  close(): Promise<void> {
    return this.vm.close()
  }
}
