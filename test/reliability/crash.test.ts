// A handful of seeded SIGKILLs against bulk `tsvm propose -` runs and against a server under a
// proposeBlock load, each followed by the full set of checks in crash.ts. The stress run does
// the same at least 50 times with fresh seeds.
import assert from 'node:assert/strict'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {tempDir} from '../helpers/cli.js'
import {type CrashStats, HALT_MOMENTS, proposeRound, serveRound} from './crash.js'
import {rng} from './random.js'

describe('crash consistency (seeded SIGKILLs)', () => {
  let dir: string
  let cleanup: () => Promise<void>
  before(async () => {
    ;({dir, cleanup} = await tempDir('tsvm-crash-'))
  })
  after(() => cleanup())

  it('bulk propose: 3 kills, every printed result kept, the killed run leaves a prefix', async () => {
    const next = rng(101)
    const stats: CrashStats = {kills: 0, acknowledged: 0, lost: 0}
    let known
    for (let i = 0; i < 3; i++) known = await proposeRound(join(dir, 'propose'), `p${i}`, next, stats, 1200, known)
    assert.equal(stats.kills, 3)
    assert.equal(stats.lost, 0)
  })

  it('serve under proposeBlock load: 3 kills, every Success:true payload kept', async () => {
    const next = rng(202)
    const stats: CrashStats = {kills: 0, acknowledged: 0, lost: 0}
    let known
    for (let i = 0; i < 3; i++) known = await serveRound(join(dir, 'serve'), `s${i}`, next, stats, 800, known)
    assert.equal(stats.kills, 3)
    assert.ok(stats.acknowledged > 0, 'the load generator got no Success:true at all')
    assert.equal(stats.lost, 0)
  })

  it('serve halted while two groups are in flight, at each moment of the pipeline: every Success:true payload kept, the chain a prefix', async () => {
    const next = rng(303)
    const stats: CrashStats = {kills: 0, acknowledged: 0, lost: 0}
    let known
    for (const [i, moment] of HALT_MOMENTS.entries())
      known = await serveRound(join(dir, 'in-flight'), `h${i}`, next, stats, 0, known, `${moment}:${5 + i}`)
    assert.equal(stats.kills, HALT_MOMENTS.length)
    assert.equal(stats.lost, 0)
  })
})
