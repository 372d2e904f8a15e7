import assert from 'node:assert/strict'
import {createServer} from 'node:http'
import type {AddressInfo} from 'node:net'
import {describe, it} from 'node:test'

import {Engine, type EngineOptions} from '../../src/node/engine.js'
import {startServer} from '../../src/node/server.js'
import {RemoteChain, openRemote} from '../../src/chain/remote.js'
import {Status} from '../../src/vm/block.js'
import {hexEncode, idToString} from '../../src/vm/encoding.js'
import type {Dialect} from '../../src/vm/formatting.js'
import {sha256} from '../../src/vm/hash.js'
import {genesisBlock} from '../../src/vm/genesis.js'
import type {TimestampVM} from '../../src/vm/vm.js'
import {openTestVm} from '../helpers/real-vm.js'
import {exitCodeFor} from '../../src/errors.js'
import type {TsvmError} from '../../src/vm/errors.js'

const code = (c: string) => (e: {code?: string}) => e.code === c
const payload = (s: string): Uint8Array => sha256(new TextEncoder().encode(s))

async function withNode(
  dialect: Dialect,
  fn: (chain: RemoteChain, vm: TimestampVM) => Promise<void>,
  engineOptions: EngineOptions = {},
  mempoolLimit = 4096,
): Promise<void> {
  const t = await openTestVm({mempoolLimit})
  const engine = new Engine(t.engine, engineOptions)
  const s = await startServer({chain: engine, chainId: 'c', vmId: 'v', dialect, port: 0})
  const chain = new RemoteChain(s.endpoints.chainAlias, {pollMs: 20})
  try {
    await fn(chain, t.vm)
  } finally {
    await chain.close()
    await s.close()
    await engine.close()
    await t.close()
  }
}

for (const dialect of ['v1.2', 'v1.3'] as const) {
  describe(`RemoteChain on a ${dialect} node`, () => {
    it('proposes, waits for acceptance and reads blocks back with checked IDs and heights', () =>
      withNode(dialect, async (chain, vm) => {
        assert.equal(await chain.dialect(), dialect)
        const res = await chain.propose([payload('a'), payload('b')], {timeoutMs: 10_000})
        assert.equal(res.queued, 2)
        assert.deepEqual(
          res.accepted.map((b) => b.block.data),
          [payload('a'), payload('b')],
        )
        assert.deepEqual(
          res.accepted.map((b) => b.block.height),
          [1n, 2n],
        )
        const tip = await chain.lastAccepted()
        assert.deepEqual(tip.block.id, vm.lastAccepted().id)
        assert.equal(tip.block.height, 2n)
        const one = await chain.getBlock(res.accepted[0]!.block.id)
        assert.equal(one.status, Status.Accepted)
        assert.equal(one.block.height, 1n)
        assert.deepEqual((await chain.getBlockAtHeight(1n)).block.id, one.block.id)
        assert.deepEqual((await chain.getBlockAtHeight(0n)).block.height, 0n)
        await assert.rejects(chain.getBlockAtHeight(3n), code('BLOCK_NOT_FOUND'))
        const found = await chain.findByData(payload('b'))
        assert.equal(found.length, 1)
        assert.equal(found[0]!.block.height, 2n)
        const heights: bigint[] = []
        for await (const b of chain.blocks()) heights.push(b.block.height)
        assert.deepEqual(heights, [2n, 1n, 0n])
        const some: bigint[] = []
        for await (const b of chain.blocks({fromHeight: 1n, limit: 1})) some.push(b.block.height)
        assert.deepEqual(some, [1n])
      }))

    it('reports an unknown block as BLOCK_NOT_FOUND', () =>
      withNode(dialect, async (chain) => {
        await assert.rejects(chain.getBlock(payload('nothing')), code('BLOCK_NOT_FOUND'))
      }))
  })
}

describe('RemoteChain limits', () => {
  it('refuses an endpoint without a chain path with USAGE', () => {
    assert.throws(() => openRemote('http://127.0.0.1:9650'), code('USAGE'))
    assert.throws(() => openRemote('127.0.0.1:9650/ext/bc/x'), code('USAGE'))
  })

  it('returns at once with accept: false and times out waiting with WAIT_TIMEOUT', () =>
    withNode(
      'v1.3',
      async (chain, vm) => {
        const res = await chain.propose([payload('x')], {accept: false})
        assert.deepEqual(res, {queued: 1, accepted: []})
        assert.equal(vm.mempool().length, 1)
        await assert.rejects(chain.propose([payload('y')], {timeoutMs: 150}), (error: Error) => {
          assert.equal((error as TsvmError).code, 'WAIT_TIMEOUT')
          // The advice names commands that exist.
          assert.match(error.message, /check later with tsvm blocks .* or tsvm get-block <id>$/)
          assert.doesNotMatch(error.message, /\bfind\b/)
          return true
        })
      },
      {blockTimeMs: 3_600_000},
    ))

  it('waits across block-time ticks until the payloads are accepted', () =>
    withNode(
      'v1.3',
      async (chain) => {
        const res = await chain.propose([payload('tick-1'), payload('tick-2')], {timeoutMs: 10_000})
        assert.deepEqual(
          res.accepted.map((b) => b.block.data),
          [payload('tick-1'), payload('tick-2')],
        )
      },
      {blockTimeMs: 50},
    ))

  it('reports a full mempool as MEMPOOL_FULL', () =>
    withNode(
      'v1.3',
      async (chain) => {
        await chain.propose([payload('1')], {accept: false})
        await assert.rejects(chain.propose([payload('2')], {accept: false}), (error: TsvmError) => {
          assert.equal(error.code, 'MEMPOOL_FULL')
          // A temporary node condition (exit 5), not invalid input (4).
          assert.equal(exitCodeFor(error), 5)
          return true
        })
      },
      {blockTimeMs: 3_600_000},
      0,
    ))

  it('refuses build, accept, reject, mempool and check with REMOTE_UNSUPPORTED', () =>
    withNode('v1.3', async (chain) => {
      await assert.rejects(chain.build(), code('REMOTE_UNSUPPORTED'))
      await assert.rejects(chain.accept(payload('a')), code('REMOTE_UNSUPPORTED'))
      await assert.rejects(chain.reject(payload('a')), code('REMOTE_UNSUPPORTED'))
      await assert.rejects(chain.mempool(), code('REMOTE_UNSUPPORTED'))
      await assert.rejects(chain.check(), code('REMOTE_UNSUPPORTED'))
    }))

  it('reports a block whose bytes do not hash to its ID as RPC_BAD_RESPONSE', async () => {
    // A fake node: a real one never serves a block whose bytes do not hash to its ID.
    const g = genesisBlock(new Uint8Array(0))
    const lie = {
      timestamp: '1',
      data: hexEncode(g.data),
      height: '0',
      id: idToString(g.id),
      parentID: idToString(g.parentId),
    }
    const server = createServer((req, res) => {
      let body = ''
      req.on('data', (c: Buffer) => {
        body += c
      })
      req.on('end', () => {
        const {id} = JSON.parse(body) as {id: number}
        res.writeHead(200, {'Content-Type': 'application/json'})
        res.end(JSON.stringify({jsonrpc: '2.0', result: lie, id}))
      })
    })
    await new Promise<void>((r) => {
      server.listen(0, '127.0.0.1', r)
    })
    const chain = new RemoteChain(`http://127.0.0.1:${(server.address() as AddressInfo).port}/ext/bc/x`)
    try {
      await assert.rejects(chain.lastAccepted(), code('RPC_BAD_RESPONSE'))
    } finally {
      await chain.close()
      server.closeAllConnections()
      await new Promise<void>((r) => {
        server.close(() => r())
      })
    }
  })
})
