import assert from 'node:assert/strict'
import {readFile, readdir, writeFile} from 'node:fs/promises'
import {after, before, describe, it} from 'node:test'

import {BlockRun, cacheFile} from '../../src/chain/header-cache.js'
import {RemoteChain} from '../../src/chain/remote.js'
import {type Block, Status, makeBlock} from '../../src/vm/block.js'
import {idFromString} from '../../src/vm/encoding.js'
import {sha256} from '../../src/vm/hash.js'
import {tempDir} from '../helpers/cli.js'
import {type CountingNode, type CountingProxy, countingNode} from '../helpers/counting-node.js'

const LONG = 3000

/** One "command": a fresh RemoteChain on the cache dir, closed (and its cache written) afterwards. */
async function run<T>(url: string, cacheDir: string, fn: (chain: RemoteChain) => Promise<T>): Promise<T> {
  const chain = new RemoteChain(url, {cacheDir})
  try {
    return await fn(chain)
  } finally {
    await chain.close()
  }
}

async function heights(chain: RemoteChain, options: {fromHeight?: bigint; limit?: number}): Promise<bigint[]> {
  const out: bigint[] = []
  for await (const b of chain.blocks(options)) out.push(b.block.height)
  return out
}

for (const dialect of ['v1.2', 'v1.3'] as const) {
  describe(`block cache on a ${dialect} node with ${LONG} blocks`, () => {
    let node: CountingNode
    let proxy: CountingProxy
    before(async () => {
      node = await countingNode(dialect, LONG)
      proxy = await node.proxy()
    })
    after(() => node.close())

    it('a block far below the tip is Accepted, and the walk to it is paid once', async () => {
      const {dir, cleanup} = await tempDir()
      try {
        const deep = await node.blockAt(10)
        proxy.reset()
        const first = await run(proxy.url, dir, (c) => c.getBlock(deep.id))
        assert.equal(first.status, Status.Accepted)
        assert.equal(first.block.height, 10n)
        assert.ok(proxy.count() > LONG - 20, `the first lookup walks the chain (${proxy.count()} calls)`)
        proxy.reset()
        const again = await run(proxy.url, dir, (c) => c.getBlock(deep.id))
        assert.equal(again.status, Status.Accepted)
        assert.equal(proxy.count(), 2, 'warm: the block and the tip')
      } finally {
        await cleanup()
      }
    })
  })
}

const SHORT = 200

for (const dialect of ['v1.2', 'v1.3'] as const) {
  describe(`a spoilt block cache on a ${dialect} node`, () => {
    let node: CountingNode
    let proxy: CountingProxy
    before(async () => {
      node = await countingNode(dialect, SHORT)
      proxy = await node.proxy()
    })
    after(() => node.close())

    it('a tampered cache file is refused, the answers stay right, and the file is rebuilt', async () => {
      const {dir, cleanup} = await tempDir()
      try {
        await run(proxy.url, dir, (c) => c.getBlockAtHeight(0n))
        const path = cacheFile(dir, idFromString(node.chainID))
        const good = await readFile(path)
        assert.equal(good.length, 40 + 82 * (SHORT + 1))
        for (const [what, bytes] of tamperings(good)) {
          await writeFile(path, bytes)
          const chain = new RemoteChain(proxy.url, {cacheDir: dir})
          try {
            const b = await chain.getBlockAtHeight(100n)
            assert.deepEqual(b.block.id, (await node.blockAt(100)).id, what)
            assert.deepEqual(await heights(chain, {fromHeight: 102n, limit: 3}), [102n, 101n, 100n], what)
            assert.notEqual(chain.cacheRejected, undefined, `${what}: refused`)
          } finally {
            await chain.close()
          }

          const reread = await BlockRun.load(path, idFromString(node.chainID))
          assert.equal(reread.rejected, undefined, `${what}: rewritten whole`)
          assert.ok(reread.run.size > 100, what)
        }
      } finally {
        await cleanup()
      }
    })
  })
}

/** Ways to spoil a cache file: a flipped payload byte mid-chain, another chain ID, a cut, a wrong magic. */
function tamperings(good: Uint8Array): Array<[string, Uint8Array]> {
  const flipped = good.slice()
  flipped[40 + 82 * 100 + 60] ^= 1
  const topFlipped = good.slice()
  topFlipped[good.length - 5] ^= 1
  const chain = good.slice()
  chain[10] ^= 1
  return [
    ['a flipped payload byte', flipped],
    ['a flipped byte in the top block', topFlipped],
    ['another chain ID', chain],
    ['a cut file', good.slice(0, -7)],
    ['a wrong magic', Uint8Array.from([0x7b, ...good.slice(1)])],
  ]
}

describe('block cache keys', () => {
  it('two URLs of one chain share the cache; another chain gets its own file; a file of another chain under this ID is refused', async () => {
    const {dir, cleanup} = await tempDir()
    const a = await countingNode('v1.2', 50)
    const b = await countingNode('v1.2', 40, new TextEncoder().encode('another genesis'))
    try {
      const [a1, a2] = [await a.proxy(), await a.proxy()]
      assert.notEqual(a1.url, a2.url)
      const tipA = await run(a1.url, dir, (c) => c.lastAccepted())
      assert.equal(a1.count(), 51, 'cold: the tip and 50 parents')
      const viaOther = await run(a2.url, dir, (c) => c.lastAccepted())
      assert.equal(a2.count(), 1, 'the other URL finds the cache warm')
      assert.deepEqual(viaOther.block.id, tipA.block.id)

      const b1 = await b.proxy()
      const tipB = await run(b1.url, dir, (c) => c.lastAccepted())
      assert.equal(tipB.block.height, 40n)
      assert.equal(b1.count(), 41, 'another chain does not use the first one’s cache')
      assert.deepEqual((await readdir(dir)).sort(), [`${a.chainID}.blocks`, `${b.chainID}.blocks`].sort())

      // Chain B's blocks filed under A's chain ID (header rewritten to match): valid blocks, wrong
      // chain. A's tip never meets them, so they are dropped and A's answers are A's.
      const bFile = await readFile(cacheFile(dir, idFromString(b.chainID)))
      const forged = Buffer.concat([bFile.subarray(0, 8), idFromString(a.chainID), bFile.subarray(40)])
      await writeFile(cacheFile(dir, idFromString(a.chainID)), forged)
      const chain = new RemoteChain(a1.url, {cacheDir: dir})
      try {
        const tip = await chain.lastAccepted()
        assert.deepEqual(tip.block.id, tipA.block.id)
        assert.equal(tip.block.height, 50n)
        assert.deepEqual((await chain.getBlockAtHeight(20n)).block.id, (await a.blockAt(20)).id)
        assert.equal(chain.cacheRejected, 'link')
      } finally {
        await chain.close()
      }

      const rebuilt = await BlockRun.load(cacheFile(dir, idFromString(a.chainID)), idFromString(a.chainID))
      assert.equal(rebuilt.rejected, undefined)
      assert.deepEqual(rebuilt.run.at(50n)?.id, tipA.block.id)
    } finally {
      await a.close()
      await b.close()
      await cleanup()
    }
  })

  it('new blocks on top of a cached chain cost one call each', async () => {
    const {dir, cleanup} = await tempDir()
    const a = await countingNode('v1.3', 30)
    try {
      const p = await a.proxy()
      await run(p.url, dir, (c) => c.getBlockAtHeight(0n))
      assert.equal(p.count(), 31)
      await a.addBlocks(5)
      p.reset()
      const b = await run(p.url, dir, (c) => c.getBlockAtHeight(3n))
      assert.deepEqual(b.block.id, (await a.blockAt(3)).id)
      assert.equal(p.count(), 5, 'the tip and 4 parents down to the cached block 30')
      const cached = await BlockRun.load(cacheFile(dir, idFromString(a.chainID)), idFromString(a.chainID))
      assert.deepEqual([cached.run.lo, cached.run.hi], [0n, 35n])
    } finally {
      await a.close()
      await cleanup()
    }
  })
})

const chainOf = (n: number, salt: number): Block[] => {
  const out: Block[] = []
  let parentId: Uint8Array = new Uint8Array(32)
  for (let h = 0; h < n; h++) {
    const b = makeBlock({
      parentId,
      height: BigInt(h),
      timestamp: BigInt(h),
      data: sha256(Uint8Array.of(salt, h & 255, h >> 8)),
    })
    out.push(b)
    parentId = b.id
  }

  return out
}

describe('BlockRun', () => {
  it('finds every block by ID across table growth, grows at both ends, and forgets what it drops', () => {
    const blocks = chainOf(5000, 1)
    const run = new BlockRun()
    for (const b of blocks.slice(2000)) assert.ok(run.pushTop(b))
    for (const b of blocks.slice(0, 2000).reverse()) assert.ok(run.pushBottom(b))
    assert.deepEqual([run.lo, run.hi, run.size], [0n, 4999n, 5000])
    for (const b of blocks) assert.equal(run.heightOf(b.id), b.height)
    assert.deepEqual(run.at(1234n)?.bytes, blocks[1234]!.bytes)
    // Not linked: refused.
    const other = chainOf(3, 2)
    assert.equal(run.pushTop(other[1]!), false)
    assert.equal(run.pushBottom(other[0]!), false)
    assert.equal(run.heightOf(other[2]!.id), undefined)
    run.truncateAbove(2999n)
    assert.equal(run.hi, 2999n)
    assert.equal(run.heightOf(blocks[3000]!.id), undefined)
    assert.equal(run.heightOf(blocks[2999]!.id), 2999n)
    assert.ok(run.pushTop(blocks[3000]!))
    assert.equal(run.heightOf(blocks[3000]!.id), 3000n)
  })
})
