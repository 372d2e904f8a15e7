// Hostile HTTP against the real `tsvm serve` on 127.0.0.1: every attack is answered with the
// right error or a closed connection, a normal request works after each, and the server's
// resident memory stays under a fixed bound. The stress run repeats this at a larger scale and
// waits for the server's own timeouts to drop slow clients.
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'

import {
  LOOPBACK_SPELLINGS,
  assertAlive,
  attacks,
  foreignHostsRefused,
  manyConnections,
  overCap,
  rssOf,
  slowClients,
} from './hostile.js'
import {type Target, startTarget} from './target.js'

/** No attack may push the server's resident memory past this. */
const RSS_LIMIT = 400 * 1024 * 1024

describe('hostile HTTP against tsvm serve', () => {
  let target: Target
  let peak = 0
  before(async () => {
    target = await startTarget()
  })
  after(() => target.close())

  for (const attack of attacks(1)) {
    it(attack.name, async () => {
      const n = await attack.run(target.port)
      assert.ok(n > 0)
      await assertAlive(target.port)
      peak = Math.max(peak, rssOf(target.pid))
      assert.ok(peak < RSS_LIMIT, `server RSS ${peak} bytes`)
    })
  }

  it('keeps answering while slow clients dribble headers and stall bodies', async () => {
    const slow = await slowClients(target.port, 50, 100)
    try {
      for (let i = 0; i < 5; i++) await assertAlive(target.port)
    } finally {
      slow.stop()
    }

    await assertAlive(target.port)
  })

  it('answers 300 connections opened at once', async () => {
    const ok = await manyConnections(target.port, 300)
    assert.equal(ok, 300)
    await assertAlive(target.port)
    assert.ok(rssOf(target.pid) < RSS_LIMIT)
  })
})

describe('hostile HTTP against tsvm serve with its limits set low', () => {
  let target: Target
  // Small enough to reach from a test; the timeouts are what the server must hold to.
  const CAP = 20
  before(async () => {
    target = await startTarget(['--max-connections', String(CAP), '--headers-timeout', '1', '--request-timeout', '2'])
  })
  after(() => target.close())

  it('answers connections over --max-connections with 503 and closes them, then serves again', async () => {
    const n = await overCap(target.port, CAP, 30)
    assert.equal(n, CAP + 30)
    await assertAlive(target.port)
  })

  it("drops slow clients once the configured timeouts pass, not node:http's 30 s later", async () => {
    const slow = await slowClients(target.port, 5, 100)
    try {
      // 2 s configured; 20 s is a generous bound that node:http's 30 s checking timer alone misses.
      const limit = Date.now() + 20_000
      while (slow.open() > 0 && Date.now() < limit)
        await new Promise((r) => {
          setTimeout(r, 100)
        })
      assert.equal(slow.open(), 0, `${slow.open()} of ${slow.sockets.length} slow connections still open after 20 s`)
    } finally {
      slow.stop()
    }

    await assertAlive(target.port)
  })
})

describe('tsvm serve bound to loopback spelled otherwise', () => {
  for (const host of LOOPBACK_SPELLINGS) {
    it(`--host ${host}: refuses foreign Host headers`, async () => {
      const target = await startTarget(['--host', host])
      try {
        assert.ok((await foreignHostsRefused(target.port, target.address)) > 0)
      } finally {
        await target.close()
      }
    })
  }
})
