// Two CLI processes on one data dir, a CLI process against a running server, and many
// concurrent proposeBlock requests; see concurrency.ts for what each asserts.
import assert from 'node:assert/strict'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {toHex} from '../../src/vm/encoding.js'
import {tempDir, tsvm} from '../helpers/cli.js'
import {concurrentProposals, racingProposers} from './concurrency.js'
import {inspect, payloadOf} from './crash.js'
import {startServeChild} from './target.js'

describe('concurrency on one data dir', () => {
  let root: string
  let cleanup: () => Promise<void>
  before(async () => {
    ;({dir: root, cleanup} = await tempDir('tsvm-conc-'))
  })
  after(() => cleanup())

  it('a second process gets DB_LOCKED (exit 6) while a server holds the dir, and changes nothing', async () => {
    const dir = join(root, 'held')
    const seed = Array.from({length: 20}, (_, i) => toHex(payloadOf('held', i))).join('\n')
    assert.equal((await tsvm(['propose', '-', '--data-dir', dir], {input: seed})).code, 0)
    const before = await inspect(dir)
    const server = await startServeChild(dir)
    try {
      const attempts = [
        ['check'],
        ['blocks'],
        ['mempool'],
        ['propose', toHex(payloadOf('late', 1))],
        ['init'],
        ['last-accepted'],
      ]
      const results = await Promise.all(attempts.map((a) => tsvm([a[0]!, '--data-dir', dir, ...a.slice(1), '--json'])))
      for (const [i, r] of results.entries()) {
        assert.equal(r.code, 6, `tsvm ${attempts[i]![0]} exited ${r.code}: ${r.stdout}`)
        const {error} = JSON.parse(r.stdout) as {error: {code: string; message: string}}
        assert.equal(error.code, 'DB_LOCKED')
        assert.match(error.message, /another tsvm process/)
      }
    } finally {
      server.child.kill('SIGTERM')
      await server.exited
    }

    assert.deepEqual(await inspect(dir), before)
  })

  it('two bulk proposers started together: one waits out with DB_LOCKED or both finish, nothing half-done', async () => {
    await racingProposers(join(root, 'race'), 'race', 2)
  })

  it('400 proposeBlock requests from 40 clients: every Success:true payload in exactly one accepted block', async () => {
    const acked = await concurrentProposals(join(root, 'many'), 'many', 400, 40)
    assert.equal(acked, 400)
  })
})
