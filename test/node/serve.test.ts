import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {RpcClient} from '../../src/rpc/client.js'
import {localChainId, serveChain} from '../../src/node/serve.js'
import {hexEncode, toHex} from '../../src/vm/encoding.js'
import {genesisBlock} from '../../src/vm/genesis.js'
import {sha256} from '../../src/vm/hash.js'
import {TimestampVM} from '../../src/vm/vm.js'
import {fixedNow, openTestVm} from '../helpers/real-vm.js'

describe('serveChain', () => {
  it('derives a stable chain ID per genesis', () => {
    const a = genesisBlock(new TextEncoder().encode('a')).id
    const b = genesisBlock(new TextEncoder().encode('b')).id
    assert.equal(localChainId(a), localChainId(a))
    assert.notEqual(localChainId(a), localChainId(b))
  })

  it('serves the chain at its ID, and on close answers in-flight proposals before closing the VM', async () => {
    const t = await openTestVm()
    try {
      let closed = false
      const vm = {...t.engine, close: async () => ((closed = true), t.engine.close())}
      const genesisId = t.vm.lastAccepted().id
      const serving = await serveChain({vm, genesisId, port: 0})
      assert.equal(serving.info.chainID, localChainId(genesisId))
      assert.ok(serving.info.endpoints.chain.endsWith(`/ext/bc/${serving.info.chainID}`))
      const client = new RpcClient(serving.info.endpoints.chain)
      const payloads = Array.from({length: 50}, (_, i) => sha256(Uint8Array.of(i)))
      const calls = payloads.map((p) => client.call<{Success: boolean}>('timestampvm.proposeBlock', {data: hexEncode(p)}).then((r) => r.Success, () => false))
      // Close once the first is answered, with the rest in flight: every Success:true must be in a block.
      assert.equal(await calls[0], true)
      await serving.close()
      const answers = await Promise.all(calls)
      await client.close()
      assert.equal(closed, true)
      // Read back from the data dir as a later process would.
      const reopened = await TimestampVM.open(t.dir, {now: fixedNow})
      const inBlocks = new Set<string>()
      for await (const b of reopened.acceptedBlocks()) inBlocks.add(toHex(b.block.data))
      await reopened.close()
      answers.forEach((ok, i) => {
        if (ok) assert.ok(inBlocks.has(toHex(payloads[i]!)), `payload ${i} answered true but is in no block`)
      })
      assert.ok(answers.some((ok) => ok))
    } finally {
      await t.close()
    }
  })
})
