// A TimestampVM subnet moving from the Go VM to tsvm: the node's rpcdb holds only what the Go VM
// wrote (its `block` and `singleton` spaces), and the plugin's Initialize adopts it. The chain
// then answers as the chain tsvm itself built: the same last accepted block, the same
// GetBlockIDAtHeight answers, GetAncestors down to the genesis, and the same keys in the store.
import assert from 'node:assert/strict'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {VmService} from '../../src/plugin/messages.js'
import {sha256} from '../../src/vm/hash.js'
import {GENESIS_KEY} from '../../src/vm/state.js'
import {genesisData} from '../../src/vm/genesis.js'
import {toHex} from '../../src/vm/encoding.js'
import {TimestampVM} from '../../src/vm/vm.js'
import {tempDir} from '../helpers/cli.js'
import {buildChain, dump, stripToGo} from '../helpers/go-state.js'
import {MemoryDb, type NodeBlock, type NodeChain, startChain} from './harness.js'

const BLOCKS = 300
const e2e = new TextEncoder().encode('e2e')
const hex = (u: Uint8Array): string => Buffer.from(u).toString('hex')

describe('the plugin on an rpcdb the Go VM wrote', () => {
  let cleanup: () => Promise<void>
  let original: Map<string, string>
  const heights = new Map<bigint, string>()
  let chain: NodeChain
  let last: NodeBlock
  let db: MemoryDb

  before(async () => {
    const tmp = await tempDir('tsvm-plugin-adopt-')
    cleanup = tmp.cleanup
    const dir = join(tmp.dir, 'chain')
    await buildChain(dir, BLOCKS, 3)
    original = await dump(dir)
    const vm = await TimestampVM.open(dir, {create: false})
    try {
      for (let h = 0n; h <= BigInt(BLOCKS); h++) heights.set(h, hex((await vm.getBlockAtHeight(h))!.block.id))
    } finally {
      await vm.close()
    }

    assert.ok((await stripToGo(dir)) > BLOCKS, 'the tsvm-only keys are gone')
    db = new MemoryDb()
    for (const [k, v] of await dump(dir)) db.data.set(k, new Uint8Array(Buffer.from(v, 'hex')))
    ;({chain, last} = await startChain({db, genesis: e2e}))
  })
  after(async () => {
    await chain?.stop()
    await cleanup?.()
  })

  it('Initialize reports the last accepted block the Go VM left', () => {
    assert.equal(last.height, BigInt(BLOCKS))
    assert.equal(hex(last.id), heights.get(BigInt(BLOCKS)))
  })

  it('GetBlockIDAtHeight answers every height from the adopted index', async () => {
    for (const h of [0n, 1n, 2n, 150n, BigInt(BLOCKS - 1), BigInt(BLOCKS)]) {
      assert.equal(hex((await chain.idAtHeight(h))!), heights.get(h), `height ${h}`)
    }

    assert.equal(await chain.idAtHeight(BigInt(BLOCKS + 1)), undefined)
  })

  it('GetAncestors walks from the tip to the genesis by parent IDs', async () => {
    const r = await chain.vm.call(VmService.GetAncestors, {
      blkId: last.id,
      maxBlocksNum: BLOCKS + 10,
      maxBlocksSize: 1 << 22,
      maxBlocksRetrivalTime: 60_000_000_000n,
    })
    assert.equal(r.blksBytes.length, BLOCKS + 1)
    for (const [i, bytes] of r.blksBytes.entries())
      assert.equal(hex(sha256(bytes)), heights.get(BigInt(BLOCKS - i)), `ancestor ${i}`)
  })

  it('leaves the store holding what tsvm itself would have written (genesis bytes padded)', () => {
    const expected = new Map(original)
    expected.set(toHex(GENESIS_KEY), toHex(genesisData(e2e)))
    const now = new Map([...db.data].map(([k, v]) => [k, hex(v)]))
    assert.deepEqual(new Map([...now].sort()), new Map([...expected].sort()))
  })
})
