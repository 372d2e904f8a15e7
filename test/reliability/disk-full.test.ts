// A full disk under a live server, on a real small filesystem (a tmpfs): see disk-full.ts.
// Skipped, with the reason printed, where the runner cannot mount one (not root, not Linux).
import assert from 'node:assert/strict'
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {diskFullEpisode, type DiskFullStats, diskFullSupport, mountSmallDisk, type SmallDisk} from './disk-full.js'

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
    const stats: DiskFullStats = {acknowledged: 0, ackedWhileFull: 0, ackedAfterFreed: 0, failed: 0, unhealthy: 0, lost: 0, blocks: 0}
    await diskFullEpisode(disk!, {tag: 'full', warmup: 500, after: 1500, stageMs: 30_000, log: (l) => console.log(l)}, stats)
    assert.equal(stats.lost, 0)
  })
})
