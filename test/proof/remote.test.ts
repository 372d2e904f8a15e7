// Stamping and verifying against a JSON-RPC node: the real server and RemoteChain in process,
// on 127.0.0.1, with the real embedded VM (fresh data dir) behind the server.
import assert from 'node:assert/strict'
import {createServer} from 'node:http'
import type {AddressInfo} from 'node:net'
import {writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {Engine} from '../../src/node/engine.js'
import {startServer} from '../../src/node/server.js'
import {RemoteChain} from '../../src/chain/remote.js'
import {stamp} from '../../src/proof/stamp.js'
import {upgradeReceipt} from '../../src/proof/upgrade.js'
import {loadReceipt, verifyReceipt} from '../../src/proof/verify.js'
import {idToString} from '../../src/vm/encoding.js'
import {TsvmError} from '../../src/vm/errors.js'
import {tempDir} from '../helpers/cli.js'
import {openTestVm} from '../helpers/real-vm.js'

let dir: string
let cleanup: () => Promise<void>
before(async () => {
  ;({dir, cleanup} = await tempDir('tsvm-proof-remote-'))
})
after(() => cleanup())

describe('proofs on a remote chain', () => {
  it('stamps through a node, verifies the block there, and upgrades a pending receipt', async () => {
    const vm = await openTestVm()
    const engine = new Engine(vm.engine)
    const server = await startServer({chain: engine, chainId: 'c', vmId: 'v', dialect: 'v1.3', port: 0})
    const chain = new RemoteChain(server.endpoints.chainAlias, {pollMs: 20})
    try {
      for (const f of ['a', 'b', 'c']) await writeFile(join(dir, `${f}.txt`), f)
      const res = await stamp(chain, ['a.txt', 'b.txt'], {cwd: dir, timeoutMs: 10_000})
      assert.equal(res.status, 'complete')
      const r = await loadReceipt(join(dir, 'b.txt.tsvm'))
      assert.equal(r.chain.kind, 'remote')
      assert.equal(r.chain.location, server.endpoints.chainAlias)
      const v = await verifyReceipt(r, {file: join(dir, 'b.txt'), chain})
      assert.equal(v.status, 'verified')
      assert.equal(v.checkedOn, server.endpoints.chainAlias)

      await stamp(chain, ['c.txt'], {cwd: dir, wait: false})
      const pending = join(dir, 'c.txt.tsvm')
      assert.equal((await loadReceipt(pending)).status, 'pending')
      // the node builds on its own; poll until the payload is in an accepted block
      let up = await upgradeReceipt(pending, chain)
      for (let i = 0; i < 200 && up.status === 'pending'; i++) {
        await new Promise((resolve) => {
          setTimeout(resolve, 25)
        })
        up = await upgradeReceipt(pending, chain)
      }

      assert.equal(up.status, 'upgraded')
      assert.equal(
        (await verifyReceipt(await loadReceipt(pending), {file: join(dir, 'c.txt'), chain})).status,
        'verified',
      )
    } finally {
      await chain.close()
      await server.close()
      await engine.close()
      await vm.close()
    }
  })

  it("learns the chain ID from a CB58 ID in the URL, else from the node's info.getBlockchainID for the alias", async () => {
    const chainID = 'SdVstz8FpkYxsneD2XQDk2CK7d1EBe4YVqkhftgbvUiyFfeHJ'
    const asked: unknown[] = []
    const info = createServer((req, res) => {
      let body = ''
      req.on('data', (c: Buffer) => {
        body += c.toString()
      })
      req.on('end', () => {
        const call = JSON.parse(body)
        asked.push([req.url, call.method, call.params])
        res.writeHead(200, {'content-type': 'application/json'})
        res.end(JSON.stringify({jsonrpc: '2.0', id: call.id, result: {blockchainID: chainID}}))
      })
    })
    await new Promise<void>((resolve) => {
      info.listen(0, '127.0.0.1', resolve)
    })
    const origin = `http://127.0.0.1:${(info.address() as AddressInfo).port}`
    const byId = new RemoteChain(`${origin}/ext/bc/${chainID}`)
    const byAlias = new RemoteChain(`${origin}/ext/bc/mychain`)
    try {
      assert.equal(idToString((await byId.identity()).chainID!), chainID)
      assert.deepEqual(asked, [], 'a CB58 chain ID in the URL needs no call')
      assert.equal(idToString((await byAlias.identity()).chainID!), chainID)
      assert.deepEqual(asked, [['/ext/info', 'info.getBlockchainID', {alias: 'mychain'}]])
    } finally {
      await byId.close()
      await byAlias.close()
      await new Promise((resolve) => {
        info.close(resolve)
      })
    }
  })

  it('an unreachable node is an RPC error, never a verdict on the receipt', async () => {
    const probe = createServer()
    await new Promise<void>((resolve) => {
      probe.listen(0, '127.0.0.1', resolve)
    })
    const {port} = probe.address() as AddressInfo
    await new Promise((resolve) => {
      probe.close(resolve)
    })
    const r = await loadReceipt(join(dir, 'a.txt.tsvm'))
    const chain = new RemoteChain(`http://127.0.0.1:${port}/ext/bc/timestampvm`, {timeoutMs: 2000})
    try {
      await assert.rejects(
        verifyReceipt(r, {file: join(dir, 'a.txt'), chain}),
        (e: unknown) => e instanceof TsvmError && e.code.startsWith('RPC_'),
      )
      assert.equal(
        (await verifyReceipt(r, {file: join(dir, 'a.txt')})).status,
        'consistent',
        'offline it is only consistent',
      )
    } finally {
      await chain.close()
    }
  })
})
