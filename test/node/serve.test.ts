import assert from 'node:assert/strict'
import {rm} from 'node:fs/promises'
import {describe, it} from 'node:test'

import {RpcClient} from '../../src/rpc/client.js'
import {defaultMaxConnections, localChainId, redactPaths, serveChain} from '../../src/node/serve.js'
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
      const vm = {
        ...t.engine,
        async close() {
          closed = true
          return t.engine.close()
        },
      }
      const genesisId = t.vm.lastAccepted().id
      const serving = await serveChain({vm, genesisId, port: 0})
      assert.equal(serving.info.chainID, localChainId(genesisId))
      assert.ok(serving.info.endpoints.chain.endsWith(`/ext/bc/${serving.info.chainID}`))
      const client = new RpcClient(serving.info.endpoints.chain)
      const payloads = Array.from({length: 50}, (_, i) => sha256(Uint8Array.of(i)))
      const calls = payloads.map((p) =>
        client.call<{Success: boolean}>('timestampvm.proposeBlock', {data: hexEncode(p)}).then(
          (r) => r.Success,
          () => false,
        ),
      )
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
      for (const [i, ok] of answers.entries()) {
        if (ok) assert.ok(inBlocks.has(toHex(payloads[i]!)), `payload ${i} answered true but is in no block`)
      }

      assert.ok(answers.some(Boolean))
    } finally {
      await t.close()
    }
  })

  it('sends a storage error to clients without the data dir path', async () => {
    const t = await openTestVm()
    try {
      const serving = await serveChain({vm: t.engine, genesisId: t.vm.lastAccepted().id, port: 0, dataDir: t.dir})
      try {
        // A real LevelDB failure: with the directory gone, the next log file cannot be created.
        // 20,000 blocks (over LevelDB's 4 MB write buffer) make the next write need one.
        await rm(t.dir, {recursive: true})
        await t.vm.acceptPayloads(Array.from({length: 20_000}, (_, i) => sha256(Uint8Array.of(i >> 8, i & 255, 7))))
        const client = new RpcClient(serving.info.endpoints.chainAlias)
        const failed = await client.call('timestampvm.proposeBlock', {data: hexEncode(sha256(Uint8Array.of(1)))}).then(
          () => assert.fail('a proposal was acknowledged with the data dir gone'),
          (error: Error & {code?: string}) => error,
        )
        await client.close()
        assert.equal(failed.code, 'RPC_ERROR', failed.message)
        assert.match(failed.message, /IO error: \[data dir\]\/\d+\.log/)
        assert.ok(!failed.message.includes(t.dir), failed.message)
      } finally {
        await serving.close().catch(() => {})
      }
    } finally {
      await t.close()
    }
  })

  it('redacts the data dir as given and as resolved; caps connections at half the open-file limit when lower', () => {
    const redact = redactPaths('/srv/tsvm/chain')
    assert.equal(
      redact('IO error: /srv/tsvm/chain/000004.log: x; again /srv/tsvm/chain'),
      'IO error: [data dir]/000004.log: x; again [data dir]',
    )
    assert.equal(defaultMaxConnections(), 1000)
    assert.equal(defaultMaxConnections(1_048_576), 1000)
    assert.equal(defaultMaxConnections(1024), 512)
    assert.equal(defaultMaxConnections(1), 1)
  })
})
