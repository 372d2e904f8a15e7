// Concurrency: CLI processes racing for one data dir, and many clients proposing at once.
import assert from 'node:assert/strict'
import {Agent} from 'node:http'

import {toHex} from '../../src/vm/encoding.js'
import {tsvm} from '../helpers/cli.js'
import {assertNoDuplicates, inspect, payloadOf, proposeOver} from './crash.js'
import {startServeChild} from './target.js'

/**
 * Starts `pairs` pairs of bulk `tsvm propose -` runs on one data dir at the same moment. Each
 * run ends with exit 0 (it got the dir) or exit 6 DB_LOCKED (the other had it); a run that
 * finished has every payload accepted once, a locked-out run left nothing. Returns the count of
 * DB_LOCKED refusals seen.
 */
export async function racingProposers(dir: string, tag: string, pairs: number, size = 400): Promise<number> {
  let locked = 0
  const expected: string[] = []
  for (let p = 0; p < pairs; p++) {
    const inputs = [0, 1].map((side) =>
      Array.from({length: size}, (_, i) => toHex(payloadOf(`${tag}/${p}/${side}`, i))),
    )
    const runs = await Promise.all(
      inputs.map((lines) => tsvm(['propose', '-', '--data-dir', dir, '--json'], {input: lines.join('\n')})),
    )
    for (const [side, r] of runs.entries()) {
      if (r.code === 0) {
        expected.push(...inputs[side]!)
        continue
      }

      assert.equal(r.code, 6, `a racing propose exited ${r.code}: ${r.stdout} ${r.stderr}`)
      assert.equal((JSON.parse(r.stdout) as {error: {code: string}}).error.code, 'DB_LOCKED')
      locked++
    }
  }

  const after = await inspect(dir)
  assertNoDuplicates(after)
  const accepted = new Set(after.accepted)
  const missing = expected.filter((p) => !accepted.has(p))
  assert.equal(missing.length, 0, `${missing.length} payloads of finished runs are not accepted`)
  assert.equal(after.mempool.length, 0)
  const ours = new Set(
    Array.from({length: pairs}, (_, p) =>
      [0, 1].flatMap((side) => Array.from({length: size}, (_, i) => toHex(payloadOf(`${tag}/${p}/${side}`, i)))),
    ).flat(),
  )
  const done = new Set(expected)
  const stray = after.accepted.filter((p) => ours.has(p) && !done.has(p))
  assert.equal(stray.length, 0, `${stray.length} payloads of a refused run were stored`)
  return locked
}

/**
 * `count` proposeBlock requests from `clients` concurrent clients to one server, which is then
 * stopped cleanly (SIGTERM). Every payload answered Success:true must be in exactly one
 * accepted block. Returns how many were answered Success:true.
 */
export async function concurrentProposals(dir: string, tag: string, count: number, clients: number): Promise<number> {
  const server = await startServeChild(dir)
  const agent = new Agent({keepAlive: true, maxSockets: clients})
  const acked: string[] = []
  let nextIndex = 0
  try {
    await Promise.all(
      Array.from({length: clients}, async () => {
        while (nextIndex < count) {
          const data = payloadOf(tag, nextIndex++)
          if (await proposeOver(agent, server.port, data, nextIndex)) acked.push(toHex(data))
        }
      }),
    )
  } finally {
    agent.destroy()
    server.child.kill('SIGTERM')
    await server.exited
  }

  assert.equal(server.child.exitCode, 0, 'the server did not shut down cleanly')
  const after = await inspect(dir)
  assertNoDuplicates(after)
  const accepted = new Set(after.accepted)
  const missing = acked.filter((p) => !accepted.has(p))
  assert.equal(
    missing.length,
    0,
    `${missing.length} of ${acked.length} payloads answered Success:true are not in an accepted block`,
  )
  return acked.length
}
