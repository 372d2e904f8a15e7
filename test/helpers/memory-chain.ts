// An in-memory Chain for proof tests: real blocks (makeBlock), a mempool, and a flag to hold
// blocks back so pending receipts can be produced and completed later.
import type {Chain, ProposeOptions, ProposeResult, StoredBlock} from '../../src/chain/chain.js'
import {makeBlock, Status} from '../../src/vm/block.js'
import {EMPTY_ID, toHex} from '../../src/vm/encoding.js'
import {TsvmError} from '../../src/vm/errors.js'
import {bytesEqual} from '../../src/vm/hash.js'

export class MemoryChain implements Chain {
  readonly kind: 'embedded' | 'remote'
  readonly location: string
  readonly stored: StoredBlock[] = []
  queue: Uint8Array[] = []
  time = 1_700_000_000n
  proposals = 0

  constructor(kind: 'embedded' | 'remote' = 'embedded', location = '/tmp/memory-chain') {
    this.kind = kind
    this.location = location
    this.stored.push({block: makeBlock({parentId: EMPTY_ID, height: 0n, timestamp: 0n, data: new Uint8Array(32)}), status: Status.Accepted})
  }

  private tip(): StoredBlock {
    return this.stored.filter((b) => b.status === Status.Accepted).at(-1)!
  }

  async propose(payloads: Uint8Array[], options: ProposeOptions = {}): Promise<ProposeResult> {
    this.proposals++
    this.queue.push(...payloads)
    if (options.accept === false) return {queued: payloads.length, accepted: []}
    const accepted: StoredBlock[] = []
    while (this.queue.length > 0) accepted.push(await this.accept((await this.build()).block.id))
    return {queued: payloads.length, accepted}
  }

  async build(): Promise<StoredBlock> {
    const data = this.queue.shift()
    if (!data) throw new TsvmError('MEMPOOL_EMPTY', 'mempool is empty')
    const parent = this.tip().block
    this.time += 10n
    const sb = {block: makeBlock({parentId: parent.id, height: parent.height + 1n, timestamp: this.time, data}), status: Status.Processing}
    this.stored.push(sb)
    return sb
  }

  private find(id: Uint8Array): StoredBlock {
    const sb = this.stored.find((b) => bytesEqual(b.block.id, id))
    if (!sb) throw new TsvmError('BLOCK_NOT_FOUND', `block ${toHex(id)} not found`)
    return sb
  }

  async accept(id: Uint8Array): Promise<StoredBlock> {
    const sb = this.find(id)
    sb.status = Status.Accepted
    return sb
  }

  async reject(id: Uint8Array): Promise<StoredBlock> {
    const sb = this.find(id)
    sb.status = Status.Rejected
    return sb
  }

  async getBlock(id: Uint8Array): Promise<StoredBlock> {
    const sb = this.find(id)
    return this.kind === 'remote' ? {block: sb.block, status: Status.Unknown} : sb
  }

  async lastAccepted(): Promise<StoredBlock> {
    return this.tip()
  }

  async getBlockAtHeight(height: bigint): Promise<StoredBlock> {
    const sb = this.stored.find((b) => b.status === Status.Accepted && b.block.height === height)
    if (!sb) throw new TsvmError('BLOCK_NOT_FOUND', `no accepted block at height ${height}`)
    return sb
  }

  async findByData(data: Uint8Array): Promise<StoredBlock[]> {
    return this.stored.filter((b) => bytesEqual(b.block.data, data))
  }

  async *blocks(): AsyncIterable<StoredBlock> {
    yield* this.stored.filter((b) => b.status === Status.Accepted).reverse()
  }

  async mempool(): Promise<Uint8Array[]> {
    return [...this.queue]
  }

  async check() {
    return {ok: true, blocks: this.stored.length, lastAcceptedHeight: this.tip().block.height.toString(), problems: []}
  }

  async close(): Promise<void> {}
}
