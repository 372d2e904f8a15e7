// What --endpoint commands cost a node, counted at the node: the figures docs/node.md quotes.
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'

import {BlockRun, cacheFile} from '../../src/chain/header-cache.js'
import {idFromString, idToString} from '../../src/vm/encoding.js'
import {tempDir, tsvmJson} from '../helpers/cli.js'
import {type CountingNode, countingNode} from '../helpers/counting-node.js'
import {HAVE_SCRIPT, tsvmOnTty} from '../helpers/pty.js'

const LONG = 3000
const NEW = 10

const COMMANDS = {
  'last-accepted': ['last-accepted'],
  'blocks --limit 5': ['blocks', '--limit', '5'],
  'get-block --height 10': ['get-block', '--height', '10'],
} as const
type Command = keyof typeof COMMANDS

/** Calls per command on a cold cache, warm, and after NEW blocks, on a chain of LONG blocks. */
const EXPECTED: Record<'v1.2' | 'v1.3', Record<Command, [number, number, number]>> = {
  // No heights in the replies: the first run walks to genesis, later ones to the cached tip.
  'v1.2': {
    'last-accepted': [LONG + 1, 1, NEW],
    'blocks --limit 5': [LONG + 1, 1, NEW],
    'get-block --height 10': [LONG + 1, 1, NEW],
  },
  // Heights in the replies: the tip alone answers last-accepted; walks go only as far as asked.
  'v1.3': {
    'last-accepted': [1, 1, 1],
    'blocks --limit 5': [5, 1, NEW],
    'get-block --height 10': [LONG + 1 - 10, 1, NEW],
  },
}

for (const dialect of ['v1.2', 'v1.3'] as const) {
  describe(`--endpoint on a ${dialect} node with ${LONG} blocks: calls per command`, () => {
    let node: CountingNode
    before(async () => {
      node = await countingNode(dialect, LONG)
    })
    after(() => node.close())

    it('cold, warm and after new blocks, with the same answers as the chain', async () => {
      const dirs: Array<{dir: string; cleanup: () => Promise<void>}> = []
      try {
        const runs = await Promise.all(
          (Object.keys(COMMANDS) as Command[]).map(async (name) => {
            const cache = await tempDir('tsvm-cache-')
            dirs.push(cache)
            const proxy = await node.proxy()
            const args = [...COMMANDS[name], '--endpoint', proxy.url]
            const env = {env: {TSVM_CACHE_DIR: cache.dir}}
            const counts: number[] = []
            const outputs: unknown[] = []
            for (const phase of ['cold', 'warm']) {
              proxy.reset()
              const r = await tsvmJson(args, env)
              assert.equal(r.code, 0, `${name} ${phase}: ${r.stderr}`)
              counts.push(proxy.count())
              outputs.push(r.json)
            }

            return {name, proxy, args, env, counts, outputs}
          }),
        )
        await node.addBlocks(NEW, 'new')
        for (const r of runs) {
          r.proxy.reset()
          const out = await tsvmJson(r.args, r.env)
          assert.equal(out.code, 0, out.stderr)
          r.counts.push(r.proxy.count())
          r.outputs.push(out.json)
        }

        const got = Object.fromEntries(runs.map((r) => [r.name, r.counts]))
        assert.deepEqual(got, EXPECTED[dialect])

        const by = Object.fromEntries(runs.map((r) => [r.name, r.outputs])) as Record<Command, any[]>
        const tip = idToString((await node.blockAt(LONG)).id)
        const newTip = idToString((await node.blockAt(LONG + NEW)).id)
        assert.deepEqual(
          by['last-accepted'].map((b) => [b.id, b.height, b.status]),
          [
            [tip, String(LONG), 'Accepted'],
            [tip, String(LONG), 'Accepted'],
            [newTip, String(LONG + NEW), 'Accepted'],
          ],
        )
        for (const [i, top] of [LONG, LONG, LONG + NEW].entries()) {
          const list = by['blocks --limit 5'][i].blocks as Array<{height: string; status: string}>
          assert.deepEqual(
            list.map((b) => [b.height, b.status]),
            [0, 1, 2, 3, 4].map((k) => [String(top - k), 'Accepted']),
          )
        }

        const ten = idToString((await node.blockAt(10)).id)
        for (const b of by['get-block --height 10'])
          assert.deepEqual([b.id, b.height, b.status], [ten, '10', 'Accepted'])
      } finally {
        for (const d of dirs) await d.cleanup()
      }
    })
  })
}

describe('the block cache shared by processes', () => {
  let node: CountingNode
  before(async () => {
    node = await countingNode('v1.2', 300)
  })
  after(() => node.close())

  it('two processes filling one cold cache at once both answer right and leave a whole file', async () => {
    const {dir, cleanup} = await tempDir('tsvm-cache-')
    try {
      const [p1, p2] = [await node.proxy(), await node.proxy()]
      const env = {env: {TSVM_CACHE_DIR: dir}}
      const [a, b] = await Promise.all([
        tsvmJson(['blocks', '--limit', '3', '--endpoint', p1.url], env),
        tsvmJson(['get-block', '--height', '0', '--endpoint', p2.url], env),
      ])
      assert.equal(a.code, 0, a.stderr)
      assert.equal(b.code, 0, b.stderr)
      assert.deepEqual(
        a.json.blocks.map((x: {height: string}) => x.height),
        ['300', '299', '298'],
      )
      assert.equal(b.json.id, idToString((await node.blockAt(0)).id))
      const chainId = idFromString(node.chainID)
      const file = await BlockRun.load(cacheFile(dir, chainId), chainId)
      assert.equal(file.rejected, undefined)
      assert.deepEqual([file.run.lo, file.run.hi], [0n, 300n])
      p1.reset()
      const warm = await tsvmJson(['last-accepted', '--endpoint', p1.url], env)
      assert.equal(warm.json.height, '300')
      assert.equal(p1.count(), 1)
    } finally {
      await cleanup()
    }
  })

  it(
    'shows progress of a first long walk on a terminal, and nothing under --json',
    {skip: !HAVE_SCRIPT && 'needs util-linux script'},
    async () => {
      const {dir, cleanup} = await tempDir('tsvm-cache-')
      try {
        const p = await node.proxy()
        const shown = await tsvmOnTty(['last-accepted', '--endpoint', p.url], {TSVM_CACHE_DIR: dir})
        assert.equal(shown.code, 0, shown.output)
        assert.match(shown.output, /reading new blocks from http:\/\/127\.0\.0\.1:\d+\/ext\/bc\/\S+ 250/)
        await cleanup()
        const quiet = await tsvmOnTty(['last-accepted', '--endpoint', p.url, '--json'], {TSVM_CACHE_DIR: dir})
        assert.equal(quiet.code, 0, quiet.output)
        assert.doesNotMatch(quiet.output, /reading/)
      } finally {
        await cleanup()
      }
    },
  )
})
