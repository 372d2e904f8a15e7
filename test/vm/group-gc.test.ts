// What accepting and dropping blocks leaves alive, measured in a child process run with
// --expose-gc on a real LevelDB. `tsvm serve` accepts thousands of blocks a second under load;
// whatever keeps each one past two young collections gets it promoted, and the old generation's
// collections that follow were most of the server's tail.
//
// - A dropped group of blocks: the old generation's growth over 2,000 groups of 5 blocks, each
//   dropped before the next opens, after three young collections. Dropped groups leave about 50
//   bytes per block (native batch handles and the like); blocks kept alive through the young
//   collections (an accessor's closure kept them, see OpenGroup in vm.ts) leave about 840.
// - Accepted blocks: how many of 2,000 accepted blocks the VM still holds after a full collection
//   (weak references to each): the cache takes in only the newest written blocks (WRITTEN_WINDOW
//   in state.ts), not Go's 8,192.
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'

const VM_MODULE = new URL('../../src/vm/vm.js', import.meta.url).href
const STATE_MODULE = new URL('../../src/vm/state.js', import.meta.url).href
const GROUPS = 2000
const BLOCKS = 5

const GROUPS_CHILD = `
import v8 from 'node:v8'
import {TimestampVM} from ${JSON.stringify(VM_MODULE)}
const [dir, groups, blocks] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3])]
const vm = await TimestampVM.open(dir)
await vm.initialize(new Uint8Array(32))
const payloads = Array.from({length: blocks}, (_, i) => new Uint8Array(32).fill(i + 1))
const oldUsed = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'old_space').space_used_size
async function run(n) {
  for (let i = 0; i < n; i++) {
    const group = vm.openGroup()
    for (const p of payloads) group.add(p)
    await group.discard()
  }
}
await run(500) // compiled and warm before measuring
gc()
gc()
const before = oldUsed()
await run(groups)
gc({type: 'minor'})
gc({type: 'minor'})
gc({type: 'minor'})
const grown = oldUsed() - before
await vm.close()
process.stdout.write(JSON.stringify({grown}))
`

const ACCEPTED = 2000
/** Blocks per acceptPayloads call: the cache keeps or drops a batch's records whole. */
const BATCH = 100

const ACCEPT_CHILD = `
import {TimestampVM} from ${JSON.stringify(VM_MODULE)}
import {WRITTEN_WINDOW} from ${JSON.stringify(STATE_MODULE)}
const [dir, total, batch] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3])]
const vm = await TimestampVM.open(dir)
await vm.initialize(new Uint8Array(32))
const refs = []
for (let done = 0; done < total; done += batch) {
  const payloads = Array.from({length: batch}, (_, i) => {
    const p = new Uint8Array(32)
    new DataView(p.buffer).setUint32(0, done + i + 1)
    return p
  })
  for (const block of await vm.acceptPayloads(payloads)) refs.push(new WeakRef(block))
}
await new Promise((resolve) => setImmediate(resolve)) // weak references made in a job hold until it ends
gc()
const alive = refs.filter((r) => r.deref() !== undefined).length
await vm.close()
process.stdout.write(JSON.stringify({alive, window: WRITTEN_WINDOW}))
`

/** Runs one of the scripts above in a child with --expose-gc; its JSON answer. */
function measure(script: string, args: string[]): unknown {
  const child = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script, ...args], {
    encoding: 'utf8',
    timeout: 120_000,
  })
  assert.equal(child.status, 0, child.stderr)
  return JSON.parse(child.stdout)
}

describe('what blocks leave behind', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsvm-group-gc-'))
  after(() => rmSync(dir, {recursive: true, force: true}))

  it('a dropped group leaves none of its blocks to the old generation', () => {
    const {grown} = measure(GROUPS_CHILD, [join(dir, 'groups'), String(GROUPS), String(BLOCKS)]) as {grown: number}
    const perBlock = grown / (GROUPS * BLOCKS)
    assert.ok(perBlock < 200, `the old generation grew by ${Math.round(perBlock)} bytes per block dropped`)
  })

  it('accepted blocks are held for the cache only as far as its window of written blocks', () => {
    const {alive, window} = measure(ACCEPT_CHILD, [join(dir, 'accepted'), String(ACCEPTED), String(BATCH)]) as {
      alive: number
      window: number
    }
    // Whole batches are kept or dropped: up to one batch beyond the window.
    assert.ok(window + BATCH < ACCEPTED / 2)
    assert.ok(alive < window + BATCH, `${alive} of ${ACCEPTED} accepted blocks are still alive (window ${window})`)
  })
})
