import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {RpcClient} from '../../src/api/client.js'
import {localChainId, serveChain} from '../../src/api/serve.js'
import {hexEncode, toHex} from '../../src/vm/encoding.js'
import {sha256} from '../../src/vm/hash.js'
import {MemoryVm} from '../helpers/memory-vm.js'

class ClosableVm extends MemoryVm {
  closed = false
  async close(): Promise<void> {
    this.closed = true
  }
}

describe('serveChain', () => {
  it('derives a stable chain ID per genesis', () => {
    const a = new MemoryVm(new TextEncoder().encode('a')).tip.id
    const b = new MemoryVm(new TextEncoder().encode('b')).tip.id
    assert.equal(localChainId(a), localChainId(a))
    assert.notEqual(localChainId(a), localChainId(b))
  })

  it('serves the chain at its ID, and on close answers in-flight proposals before closing the VM', async () => {
    const vm = new ClosableVm()
    const serving = await serveChain({vm, genesisId: vm.tip.id, port: 0})
    assert.equal(serving.info.chainID, localChainId(vm.tip.id))
    assert.ok(serving.info.endpoints.chain.endsWith(`/ext/bc/${serving.info.chainID}`))
    const client = new RpcClient(serving.info.endpoints.chain)
    const payloads = Array.from({length: 50}, (_, i) => sha256(Uint8Array.of(i)))
    const calls = payloads.map((p) => client.call<{Success: boolean}>('timestampvm.proposeBlock', {data: hexEncode(p)}).then((r) => r.Success, () => false))
    // Close once the first is answered, with the rest in flight: every Success:true must be in a block.
    assert.equal(await calls[0], true)
    await serving.close()
    const answers = await Promise.all(calls)
    await client.close()
    assert.equal(vm.closed, true)
    const inBlocks = new Set([...vm.blocks.values()].map((b) => toHex(b.data)))
    answers.forEach((ok, i) => {
      if (ok) assert.ok(inBlocks.has(toHex(payloads[i]!)), `payload ${i} answered true but is in no block`)
    })
    assert.ok(answers.some((ok) => ok))
  })
})
