// A full disk under a live server, on a real small filesystem (a tmpfs): see disk-full.ts.
// Skipped, with the reason printed, where the runner cannot mount one (not root, not Linux).
import assert from 'node:assert/strict'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {toHex} from '../../src/vm/encoding.js'
import type {TsvmError} from '../../src/vm/errors.js'
import {TimestampVM} from '../../src/vm/vm.js'
import {tsvm} from '../helpers/cli.js'
import {rejectionCode} from '../helpers/errors.js'
import {inspect, payloadOf} from './crash.js'
import {
  diskFullEpisode,
  type DiskFullStats,
  diskFullSupport,
  fillDisk,
  mountSmallDisk,
  type SmallDisk,
} from './disk-full.js'

const unsupported = diskFullSupport()
if (unsupported !== undefined) console.log(`# disk-full tests skipped: ${unsupported}`)

describe('a full disk while serve runs', {skip: unsupported}, () => {
  let mountPoint: string
  let disk: SmallDisk | undefined
  before(async () => {
    mountPoint = await mkdtemp(join(tmpdir(), 'tsvm-full-'))
    disk = mountSmallDisk(mountPoint, 8)
  })
  after(async () => {
    disk?.unmount()
    await rm(mountPoint, {recursive: true, force: true})
  })

  it('fails the proposals it cannot write, says unhealthy, recovers once space is back, and loses no acknowledged payload', async () => {
    const stats: DiskFullStats = {
      acknowledged: 0,
      ackedWhileFull: 0,
      ackedAfterFreed: 0,
      failed: 0,
      unhealthy: 0,
      lost: 0,
      blocks: 0,
    }
    await diskFullEpisode(
      disk!,
      {tag: 'full', warmup: 500, after: 1500, stageMs: 30_000, log: (l) => console.log(l)},
      stats,
    )
    assert.equal(stats.lost, 0)
  })

  it('the VM refuses every write after a failed one, even once space is back, until recover() reopens the database', async () => {
    const dir = join(mountPoint, 'vm')
    const filler = join(mountPoint, 'filler')
    const acked: string[] = []
    let k = 0
    const next = (n: number) => Array.from({length: n}, () => payloadOf('vm', k++))
    const vm = await TimestampVM.open(dir)
    try {
      await vm.initialize(new Uint8Array(0))
      for (let i = 0; i < 20; i++) acked.push(...(await vm.acceptPayloads(next(100))).map((b) => toHex(b.data)))
      await fillDisk(filler)
      let failed: string | undefined
      for (let i = 0; i < 100_000 && failed === undefined; i++) {
        const p = next(1)
        try {
          await vm.acceptPayloads(p)
          acked.push(toHex(p[0]!))
        } catch (error) {
          failed = (error as TsvmError).code
        }
      }

      assert.equal(failed, 'DB_WRITE_FAILED')
      assert.equal(vm.failure?.code, 'DB_WRITE_FAILED')
      await rm(filler)
      // Space is back and LevelDB would take these: the handle must not.
      assert.equal(await rejectionCode(vm.acceptPayloads(next(1))), 'DB_WRITE_FAILED')
      assert.equal(await rejectionCode(vm.proposeMany(next(1))), 'DB_WRITE_FAILED')
      await vm.recover()
      assert.equal(vm.failure, undefined)
      acked.push(...(await vm.acceptPayloads(next(100))).map((b) => toHex(b.data)))
    } finally {
      await vm.close()
      await rm(filler, {force: true})
    }

    const after = await inspect(dir)
    assert.deepEqual(after.accepted, acked)
  })

  it('propose - that fills the disk stops with DB_WRITE_FAILED (exit 6); every block it printed is kept and check passes', async () => {
    // A disk of its own: the next open replays up to a whole write buffer (4 MiB) into a table,
    // so the reserve kept free for it is large.
    const own = await mkdtemp(join(tmpdir(), 'tsvm-full-cli-'))
    const small = mountSmallDisk(own, 16)
    const dir = join(own, 'cli')
    const reserve = join(own, 'reserve')
    const payloads = Array.from({length: 200_000}, (_, i) => toHex(payloadOf('cli', i)))
    let r
    let after
    try {
      await writeFile(reserve, Buffer.alloc(8 * 1024 * 1024))
      r = await tsvm(['propose', '-', '--data-dir', dir], {input: payloads.join('\n') + '\n', timeoutMs: 120_000})
      await rm(reserve)
      after = r.code === 6 ? await inspect(dir) : undefined
    } finally {
      small.unmount()
      await rm(own, {recursive: true, force: true})
    }

    assert.equal(r.code, 6, r.stderr)
    assert.match(r.stderr, /DB_WRITE_FAILED/)
    const printed = r.stdout
      .split('\n')
      .filter((l) => /\bAccepted\b/.test(l))
      .map((l) => l.trim().split(/\s+/).at(-1)!)
    assert.ok(printed.length > 0, 'the run printed no block before the disk filled')
    assert.ok(after)
    assert.deepEqual(after.accepted.slice(0, printed.length), printed)
    assert.deepEqual(
      after.accepted,
      payloads.slice(0, after.accepted.length),
      'the chain holds a prefix of the payloads, in order',
    )
  })
})
