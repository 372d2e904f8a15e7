// End to end: the real `tsvm serve` in a child process, the real binary as its client.
import assert from 'node:assert/strict'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {RpcClient} from '../../src/rpc/client.js'
import {localChainId} from '../../src/node/serve.js'
import {EmbeddedChain} from '../../src/chain/embedded.js'
import {hexEncode, toHex} from '../../src/vm/encoding.js'
import {sha256} from '../../src/vm/hash.js'
import {tempDir, tsvm, tsvmJson} from '../helpers/cli.js'
import {startServe} from '../helpers/serve.js'

const TEST_HASH = '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08' // sha256("test")

let root: string
let cleanup: () => Promise<void>
let n = 0
before(async () => {
  ;({dir: root, cleanup} = await tempDir('tsvm-serve-cli-'))
})
after(() => cleanup())
const newDir = (): string => join(root, `chain-${n++}`)

for (const api of ['v1.3', 'v1.2'] as const) {
  describe(`tsvm serve --api ${api} with the CLI as client`, () => {
    it('serves the data dir; propose --wait, get-block, last-accepted and blocks work through --endpoint', async () => {
      const dir = newDir()
      const node = await startServe(['--data-dir', dir, '--api', api])
      try {
        const {info} = node
        assert.equal(info.api, api)
        assert.equal(info.vmID, 'tGas3T58KzdjcJ2iKSyiYsWiqYctRXaPTqBCA11BqEkNg8kPc')
        assert.equal(info.endpoints.chain, `http://127.0.0.1:${info.port}/ext/bc/${info.chainID}`)
        const e = ['--endpoint', info.endpoints.chain]

        const proposed = await tsvmJson(['propose', TEST_HASH, '--wait', ...e])
        assert.equal(proposed.code, 0, proposed.stderr)
        assert.equal(proposed.json.queued, 1)
        const block = proposed.json.accepted[0]
        assert.equal(block.height, '1')
        assert.equal(block.dataHex, TEST_HASH)
        assert.equal(block.status, 'Accepted')

        const got = await tsvmJson(['get-block', block.id, ...e])
        assert.equal(got.code, 0, got.stderr)
        assert.equal(got.json.bytes, block.bytes)
        assert.equal(got.json.status, 'Accepted')

        // The alias and TSVM_ENDPOINT reach the same chain.
        const last = await tsvmJson(['last-accepted'], {env: {TSVM_ENDPOINT: info.endpoints.chainAlias}})
        assert.equal(last.code, 0, last.stderr)
        assert.equal(last.json.id, block.id)

        const second = await tsvmJson(['propose', sha256Hex('second'), ...e, '--api', api])
        assert.equal(second.json.accepted[0].height, '2')
        const list = await tsvmJson(['blocks', ...e])
        assert.deepEqual(
          list.json.map((b: {height: string}) => b.height),
          ['2', '1', '0'],
        )

        const missing = await tsvm(['get-block', '11111111111111111111111111111111LpoYY', ...e])
        assert.equal(missing.code, 3)
        const remoteOnly = await tsvmJson(['mempool', ...e])
        assert.equal(remoteOnly.code, 2)
        assert.equal(remoteOnly.json.error.code, 'REMOTE_UNSUPPORTED')
      } finally {
        assert.equal(await node.stop('SIGTERM'), 0)
      }
      // The data dir is closed and holds what was served.
      const chain = await EmbeddedChain.open(dir)
      try {
        assert.equal((await chain.lastAccepted()).block.height, 2n)
        assert.equal(localChainId((await chain.getBlockAtHeight(0n)).block.id), node.info.chainID)
      } finally {
        await chain.close()
      }
    })
  })
}

describe('tsvm serve lifecycle', () => {
  it('keeps the same chain ID across restarts and refuses a busy data dir', async () => {
    const dir = newDir()
    const first = await startServe(['--data-dir', dir])
    const busy = await tsvmJson(['serve', '--port', '0', '--data-dir', dir])
    assert.equal(busy.code, 6)
    assert.equal(busy.json.error.code, 'DB_LOCKED')
    assert.equal(await first.stop('SIGINT'), 0)
    const again = await startServe(['--data-dir', dir])
    assert.equal(again.info.chainID, first.info.chainID)
    assert.equal(await again.stop(), 0)
  })

  it('loses no accepted proposal on SIGTERM under load', async () => {
    const dir = newDir()
    const node = await startServe(['--data-dir', dir])
    const client = new RpcClient(node.info.endpoints.chainAlias, {timeoutMs: 20_000})
    const payloads = Array.from({length: 300}, (_, i) => sha256(Uint8Array.of(i >> 8, i & 255)))
    const answers = payloads.map((p) =>
      client.call<{Success: boolean}>('timestampvm.proposeBlock', {data: hexEncode(p)}).then(
        (r) => r.Success,
        () => false,
      ),
    )
    // Stop once the first proposal is answered, with the rest still in flight or queued.
    assert.equal(await answers[0], true)
    const exit = await node.stop('SIGTERM')
    const results = await Promise.all(answers)
    await client.close()
    assert.equal(exit, 0, node.stderr())
    const chain = await EmbeddedChain.open(dir)
    try {
      const stored = new Set<string>()
      for await (const b of chain.blocks({limit: 1000})) stored.add(toHex(b.block.data))
      for (const p of await chain.mempool()) stored.add(toHex(p))
      results.forEach((ok, i) => {
        if (ok) assert.ok(stored.has(toHex(payloads[i]!)), `payload ${i} got Success:true but is neither in a block nor queued`)
      })
    } finally {
      await chain.close()
    }
  })
})

function sha256Hex(s: string): string {
  return toHex(sha256(new TextEncoder().encode(s)))
}
