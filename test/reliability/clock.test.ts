// A clock that jumped ahead: one run with the clock 400 days ahead writes a tip no later block
// can follow until real time catches up. check, propose and serve must say so (and why) instead
// of calling the chain fine or acknowledging payloads that cannot be built.
import assert from 'node:assert/strict'
import {Agent} from 'node:http'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {TimestampVM} from '../../src/vm/vm.js'
import {tempDir, tsvmJson} from '../helpers/cli.js'
import {payloadOf} from './crash.js'
import {healthStatus, propose} from './disk-full.js'
import {startServeChild} from './target.js'

const DAYS_400 = 400 * 86_400_000

describe('a tip written by a clock 400 days ahead', () => {
  let root: string
  let cleanup: () => Promise<void>
  let dir: string
  before(async () => {
    ;({dir: root, cleanup} = await tempDir('tsvm-clock-'))
    dir = join(root, 'chain')
    const vm = await TimestampVM.open(dir, {now: () => Date.now() + DAYS_400})
    try {
      await vm.initialize(new Uint8Array(0))
      await vm.acceptPayloads([payloadOf('ahead', 0), payloadOf('ahead', 1)])
    } finally {
      await vm.close()
    }
  })
  after(() => cleanup())

  it('check fails with tip-in-future and says the data is intact', async () => {
    const r = await tsvmJson(['check', '--data-dir', dir])
    assert.equal(r.code, 4)
    assert.equal(r.json.error.code, 'CHAIN_CHECK_FAILED')
    assert.deepEqual(
      r.json.error.problems.map((p: {kind: string}) => p.kind),
      ['tip-in-future'],
    )
    assert.match(r.json.error.message, /intact/)
  })

  it('propose (with and without --no-accept) refuses with CHAIN_AHEAD_OF_CLOCK and queues nothing', async () => {
    const hex = Buffer.from(payloadOf('ahead', 2)).toString('hex')
    for (const extra of [[], ['--no-wait']]) {
      const r = await tsvmJson(['propose', hex, '--data-dir', dir, ...extra])
      assert.equal(r.code, 4, JSON.stringify(r.json))
      assert.equal(r.json.error.code, 'CHAIN_AHEAD_OF_CLOCK')
      assert.match(r.json.error.message, /400 days ahead/)
    }

    const pool = await tsvmJson(['mempool', '--data-dir', dir])
    assert.equal(pool.code, 0)
    assert.equal(JSON.stringify(pool.json).includes(hex), false, 'a refused payload was queued')
  })

  it('serve answers proposeBlock with an error, not Success:true, and /ext/health says unhealthy', async () => {
    const server = await startServeChild(dir)
    const agent = new Agent({keepAlive: true})
    try {
      assert.equal(await propose(agent, server.port, payloadOf('ahead', 3), 1), 'error')
      assert.equal(await healthStatus(server.port), 503)
    } finally {
      agent.destroy()
      server.child.kill('SIGTERM')
      await server.exited
    }

    const vm = await TimestampVM.open(dir)
    try {
      assert.equal(vm.mempool().length, 0)
      assert.equal(vm.lastAccepted().height, 2n)
    } finally {
      await vm.close()
    }
  })
})
