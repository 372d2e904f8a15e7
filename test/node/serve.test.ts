import assert from 'node:assert/strict'
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, it} from 'node:test'

import {RpcClient} from '../../src/rpc/client.js'
import {EmbeddedChain} from '../../src/chain/embedded.js'
import {
  type OpenChain,
  V12_MEMPOOL_LIMIT,
  defaultMaxConnections,
  localChainId,
  redactPaths,
  serveChain,
  serveDataDir,
} from '../../src/node/serve.js'
import {cb58Encode, hexEncode, toHex} from '../../src/vm/encoding.js'
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

  it('gives a v1.2 server a capped mempool and refuses a proposal over the cap; v1.3 keeps the default', async () => {
    const base = await mkdtemp(join(tmpdir(), 'tsvm-serve-cap-'))
    try {
      const asked: Array<{mempoolLimit?: number}> = []
      // The chain opens as the serve command opens it, with the cap it is asked for scaled down to
      // 3 (262,144 proposals would take most of a minute); the cap asked for is checked exactly.
      const open: OpenChain = async (dir, options) => {
        asked.push(options)
        const chain = await EmbeddedChain.open(dir, {
          ...options,
          ...(options.mempoolLimit === undefined ? {} : {mempoolLimit: 3}),
        })
        return {vm: chain.vm, location: chain.location, close: () => chain.close()}
      }

      // A long block time: proposals wait in the mempool.
      const v12 = await serveDataDir(join(base, 'v12'), open, {dialect: 'v1.2', port: 0, blockTime: 3600})
      try {
        assert.deepEqual(asked, [{mempoolLimit: V12_MEMPOOL_LIMIT}])
        assert.equal(V12_MEMPOOL_LIMIT, 262_144)
        const client = new RpcClient(v12.info.endpoints.chain)
        try {
          // v1.2 takes CB58 data.
          const propose = (i: number) =>
            client.call<{Success: boolean}>('timestampvm.proposeBlock', {data: cb58Encode(sha256(Uint8Array.of(i)))})
          // As Go v1.3 checks its cap (the length before appending), the mempool holds cap + 1;
          // the next proposal is answered Success:false and queues nothing.
          for (let i = 0; i <= 3; i++) assert.equal((await propose(i)).Success, true, `proposal ${i}`)
          assert.equal((await propose(4)).Success, false)
          assert.equal((await propose(5)).Success, false)
        } finally {
          await client.close()
        }
      } finally {
        await v12.close()
      }

      const v13 = await serveDataDir(join(base, 'v13'), open, {dialect: 'v1.3', port: 0})
      await v13.close()
      assert.deepEqual(asked.at(-1), {})
    } finally {
      await rm(base, {recursive: true, force: true})
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
