import assert from 'node:assert/strict'
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {EmbeddedChain} from '../../src/chain/embedded.js'
import {openChain} from '../../src/chain/open.js'
import {chainOptions} from '../../src/flags.js'
import {Status} from '../../src/vm/block.js'
import {TsvmError} from '../../src/vm/errors.js'
import {genesisBlock} from '../../src/vm/genesis.js'
import {rejectionCode} from '../helpers/errors.js'

const T0 = 1_700_000_000_000

function numbered(i: number): Uint8Array {
  const d = new Uint8Array(32)
  new DataView(d.buffer).setUint32(28, i)
  return d
}

let root: string
let n = 0
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'tsvm-chain-'))
})
after(async () => {
  await rm(root, {recursive: true, force: true})
})
const fresh = (options: {mempoolLimit?: number} = {}) =>
  EmbeddedChain.open(join(root, `c${n++}`), {now: () => T0, ...options})

describe('EmbeddedChain', () => {
  it('creates the default genesis (empty: all-zero data) on first use', async () => {
    const chain = await fresh()
    try {
      const last = await chain.lastAccepted()
      assert.deepEqual(last.block.id, genesisBlock(new Uint8Array(0)).id)
      assert.deepEqual(last.block.data, new Uint8Array(32))
    } finally {
      await chain.close()
    }
  })

  it('automines in groups when the payloads outnumber the mempool: one block each, contiguous', async () => {
    const chain = await fresh({mempoolLimit: 3})
    try {
      const progress: number[] = []
      const payloads = Array.from({length: 10}, (_, i) => numbered(i))
      await chain.propose([numbered(2000)], {accept: false})
      const stale = await chain.build()
      await chain.propose([numbered(1000)], {accept: false})
      const result = await chain.propose(payloads, {onProgress: (done) => progress.push(done)})
      assert.deepEqual(
        result.rejected?.map((r) => [r.block.id, r.status]),
        [[stale.block.id, Status.Rejected]],
      )
      assert.equal(result.queued, 10)
      assert.equal(result.accepted.length, 11, 'the payload queued before is mined first')
      for (const [i, b] of result.accepted.entries()) {
        assert.equal(b.block.height, BigInt(i + 1))
        assert.equal(b.status, Status.Accepted)
      }

      assert.deepEqual(result.accepted[0]!.block.data, numbered(1000))
      assert.deepEqual(result.accepted[10]!.block.data, numbered(9))
      assert.ok(progress.length >= 3, `progress reported per group: ${progress}`)
      assert.equal(progress.at(-1), 11)
      assert.deepEqual(await chain.mempool(), [])
      assert.equal((await chain.check()).ok, true)
    } finally {
      await chain.close()
    }
  })

  it('refuses --no-accept beyond the mempool room and a bad timestamp, queueing nothing', async () => {
    const chain = await fresh({mempoolLimit: 2})
    try {
      assert.equal(
        await rejectionCode(chain.propose([numbered(1), numbered(2), numbered(3), numbered(4)], {accept: false})),
        'MEMPOOL_FULL',
      )
      assert.deepEqual(await chain.mempool(), [])
      assert.equal(
        await rejectionCode(chain.propose([numbered(1)], {timestamp: BigInt(T0 / 1000) + 3600n})),
        'BLOCK_TIMESTAMP_FUTURE',
      )
      assert.deepEqual(await chain.mempool(), [])
      const r = await chain.propose([numbered(1)], {timestamp: BigInt(T0 / 1000) + 3599n})
      assert.equal(r.accepted[0]!.block.timestamp, BigInt(T0 / 1000) + 3599n)
    } finally {
      await chain.close()
    }
  })

  it('BLOCK_NOT_FOUND for an unknown ID or a height above the tip', async () => {
    const chain = await fresh()
    try {
      assert.equal(await rejectionCode(chain.getBlock(numbered(5))), 'BLOCK_NOT_FOUND')
      assert.equal(await rejectionCode(chain.getBlockAtHeight(1n)), 'BLOCK_NOT_FOUND')
      assert.deepEqual(await chain.findByData(numbered(5)), [])
    } finally {
      await chain.close()
    }
  })

  it('build, accept and reject leave the right statuses', async () => {
    const chain = await fresh()
    try {
      await chain.propose([numbered(1), numbered(2)], {accept: false})
      const a = await chain.build()
      const b = await chain.build()
      assert.equal(a.status, Status.Processing)
      assert.equal((await chain.processing()).length, 2)
      await chain.reject(b.block.id)
      await chain.accept(a.block.id)
      assert.equal((await chain.getBlock(b.block.id)).status, Status.Rejected)
      assert.deepEqual((await chain.lastAccepted()).block.id, a.block.id)
    } finally {
      await chain.close()
    }
  })
})

describe('openChain and chain flags', () => {
  it('an endpoint opens the remote backend (nothing is contacted before a call); a bare host is USAGE', async () => {
    const remote = await openChain({endpoint: 'http://127.0.0.1:9650/ext/bc/x', api: 'v1.2'})
    assert.equal(remote.kind, 'remote')
    await remote.close()
    assert.equal(await rejectionCode(openChain({endpoint: 'http://127.0.0.1:9650'})), 'USAGE')
  })

  it('a flag beats the environment; both variables set is a usage error; the default is <dataDir>/chain', () => {
    const config = {dataDir: '/home/u/.local/share/tsvm'}
    assert.deepEqual(chainOptions({}, config, {}), {dataDir: '/home/u/.local/share/tsvm/chain'})
    assert.deepEqual(chainOptions({}, config, {TSVM_DATA_DIR: '/d'}), {dataDir: '/d'})
    assert.deepEqual(chainOptions({}, config, {TSVM_ENDPOINT: 'http://e'}), {endpoint: 'http://e'})
    assert.deepEqual(chainOptions({'data-dir': '/x'}, config, {TSVM_ENDPOINT: 'http://e'}), {dataDir: '/x'})
    assert.deepEqual(chainOptions({endpoint: 'http://f'}, config, {TSVM_DATA_DIR: '/d'}), {endpoint: 'http://f'})
    assert.deepEqual(chainOptions({api: 'v1.2'}, config, {TSVM_ENDPOINT: 'http://e'}), {
      endpoint: 'http://e',
      api: 'v1.2',
    })
    // A node's blocks are cached under the oclif cache dir, or TSVM_CACHE_DIR; a data dir needs no cache.
    const withCache = {...config, cacheDir: '/home/u/.cache/tsvm'}
    assert.deepEqual(chainOptions({endpoint: 'http://f'}, withCache, {}), {
      endpoint: 'http://f',
      cacheDir: '/home/u/.cache/tsvm/chains',
    })
    assert.deepEqual(chainOptions({endpoint: 'http://f'}, withCache, {TSVM_CACHE_DIR: '/c'}), {
      endpoint: 'http://f',
      cacheDir: '/c',
    })
    assert.deepEqual(chainOptions({'data-dir': '/x'}, withCache, {TSVM_CACHE_DIR: '/c'}), {dataDir: '/x'})
    assert.throws(
      () => chainOptions({}, config, {TSVM_DATA_DIR: '/d', TSVM_ENDPOINT: 'http://e'}),
      (e: unknown) => e instanceof TsvmError && e.code === 'USAGE',
    )
  })
})
