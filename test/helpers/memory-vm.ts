// An in-memory EngineVm for API tests: a genesis block, a FIFO mempool, blocks built with a
// deterministic clock. It counts batched writes so group commit can be observed.
import type {EngineVm} from '../../src/api/engine.js'
import {type Block, makeBlock} from '../../src/vm/block.js'
import {EMPTY_ID, toHex} from '../../src/vm/encoding.js'

export class MemoryVm implements EngineVm {
  readonly blocks = new Map<string, Block>()
  readonly mempool: Uint8Array[] = []
  tip: Block
  proposeCalls = 0
  buildCalls = 0
  clock = 1_700_000_000n
  /** Go v1.3's rule: refuse while more than this many payloads wait. */
  mempoolLimit = 4096

  constructor(genesisData: Uint8Array = new Uint8Array(32)) {
    const data = new Uint8Array(32)
    data.set(genesisData.subarray(0, 32))
    this.tip = makeBlock({parentId: EMPTY_ID, height: 0n, timestamp: 0n, data})
    this.blocks.set(toHex(this.tip.id), this.tip)
  }

  async lastAcceptedId(): Promise<Uint8Array> {
    return this.tip.id
  }

  async getBlock(id: Uint8Array): Promise<Block | undefined> {
    return this.blocks.get(toHex(id))
  }

  mempoolSize(): number {
    return this.mempool.length
  }

  async proposeMany(payloads: Uint8Array[]): Promise<boolean[]> {
    this.proposeCalls++
    return payloads.map((p) => {
      if (this.mempool.length > this.mempoolLimit) return false
      this.mempool.push(p)
      return true
    })
  }

  async buildAndAccept(options: {max?: number} = {}): Promise<Block[]> {
    this.buildCalls++
    const out: Block[] = []
    const max = options.max ?? Number.MAX_SAFE_INTEGER
    while (this.mempool.length > 0 && out.length < max) {
      const data = this.mempool.shift()!
      const block = makeBlock({parentId: this.tip.id, height: this.tip.height + 1n, timestamp: this.clock++, data})
      this.blocks.set(toHex(block.id), block)
      this.tip = block
      out.push(block)
    }
    return out
  }
}
