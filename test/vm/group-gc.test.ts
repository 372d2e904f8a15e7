// What a group of blocks leaves to the old generation once it is dropped: nothing of its blocks.
// `tsvm serve` opens about a thousand groups a second under load; when each group's blocks
// outlived the young collections (an accessor's closure kept them, see OpenGroup in vm.ts), the
// server promoted them all and ran a full collection every second or so, which made its tail.
//
// Measured in a child process run with --expose-gc, on a real LevelDB: the old generation's
// growth over 2,000 groups of 5 blocks, each dropped before the next opens, after three young
// collections. Dropped groups leave about 50 bytes per block (native batch handles and the like);
// blocks kept alive through the young collections leave about 840.
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'

const VM_MODULE = new URL('../../src/vm/vm.js', import.meta.url).href
const GROUPS = 2000
const BLOCKS = 5

const CHILD = `
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

describe('a dropped group of blocks', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsvm-group-gc-'))
  after(() => rmSync(dir, {recursive: true, force: true}))

  it('leaves none of its blocks to the old generation', () => {
    const child = spawnSync(
      process.execPath,
      ['--expose-gc', '--input-type=module', '-e', CHILD, join(dir, 'chain'), String(GROUPS), String(BLOCKS)],
      {encoding: 'utf8', timeout: 120_000},
    )
    assert.equal(child.status, 0, child.stderr)
    const {grown} = JSON.parse(child.stdout) as {grown: number}
    const perBlock = grown / (GROUPS * BLOCKS)
    assert.ok(perBlock < 200, `the old generation grew by ${Math.round(perBlock)} bytes per block dropped`)
  })
})
