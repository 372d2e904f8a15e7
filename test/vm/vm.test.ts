import assert from 'node:assert/strict'
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {Level} from 'level'

import {makeBlock, Status} from '../../src/vm/block.js'
import {EMPTY_ID, toHex} from '../../src/vm/encoding.js'
import {genesisBlock} from '../../src/vm/genesis.js'
import {bytesEqual, sha256} from '../../src/vm/hash.js'
import {BLOCK_PREFIX, heightKey, INITIALIZED_KEY, LAST_ACCEPTED_KEY, SINGLETON_PREFIX} from '../../src/vm/state.js'
import {TimestampVM} from '../../src/vm/vm.js'
import {type BatchingDb, watchBatchWrites} from '../helpers/batch-writes.js'
import {rejectionCode} from '../helpers/errors.js'

const GO_GENESIS = new Uint8Array([0, 0, 0, 0, 0])
const T0 = 1_700_000_000_000 // a fixed clock, ms

/** A payload whose first bytes are `head` (Go's tests use {0,0,0,0,n}). */
function payload(...head: number[]): Uint8Array {
  const d = new Uint8Array(32)
  d.set(head)
  return d
}

function numbered(i: number): Uint8Array {
  const d = new Uint8Array(32)
  new DataView(d.buffer).setUint32(28, i)
  return d
}

let root: string
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'tsvm-vm-'))
})
after(async () => {
  await rm(root, {recursive: true, force: true})
})

let n = 0
/** Every chain the tests make, and those damaged on purpose: the last test checks the rest. */
const made: string[] = []
const damaged = new Set<string>()
/** A fresh VM on its own directory with a settable clock. */
async function freshVm(options: {genesis?: Uint8Array; mempoolLimit?: number} = {}) {
  const dir = join(root, `chain-${n++}`)
  made.push(dir)
  const clock = {ms: T0}
  const vm = await TimestampVM.open(dir, {now: () => clock.ms, mempoolLimit: options.mempoolLimit})
  await vm.initialize(options.genesis ?? GO_GENESIS)
  return {vm, dir, clock}
}

/** The LevelDB handle under a VM's state, for watchBatchWrites. */
const stateDb = (vm: TimestampVM) => (vm as unknown as {state: {db: BatchingDb}}).state.db

async function rawDb(dir: string, fn: (db: Level<Uint8Array, Uint8Array>) => Promise<void>) {
  const db = new Level<Uint8Array, Uint8Array>(dir, {keyEncoding: 'view', valueEncoding: 'view'})
  await db.open()
  try {
    await fn(db)
  } finally {
    await db.close()
  }
}

describe('Go suite ports (spec §4.6)', () => {
  it('TestGenesis', async () => {
    const {vm} = await freshVm()
    try {
      assert.equal(vm.isInitialized(), true)
      const last = vm.lastAccepted()
      assert.ok(!bytesEqual(last.id, EMPTY_ID))
      const got = await vm.getBlock(last.id)
      assert.ok(got)
      assert.equal(got.status, Status.Accepted)
      assert.deepEqual(got.block.parentId, EMPTY_ID)
      assert.deepEqual(got.block.data, payload(0, 0, 0, 0, 0))
      assert.equal(got.block.height, 0n)
      assert.equal(got.block.timestamp, 0n)
    } finally {
      await vm.close()
    }
  })

  it('TestHappyPath (fake clock)', async () => {
    const {vm, clock} = await freshVm()
    try {
      const genesis = vm.lastAccepted()
      await vm.setPreference(genesis.id)
      assert.equal(await vm.proposeBlock(payload(0, 0, 0, 0, 1)), true)
      const block2 = await vm.buildBlock()
      assert.equal(block2.timestamp, BigInt(T0 / 1000))
      await vm.verify(block2)
      await vm.accept(block2.id)
      await vm.setPreference(block2.id)
      assert.deepEqual(vm.lastAccepted().id, block2.id)
      const stored2 = await vm.getBlock(block2.id)
      assert.equal(stored2?.status, Status.Accepted)
      assert.deepEqual(stored2.block.parentId, genesis.id)
      assert.deepEqual(stored2.block.data, payload(0, 0, 0, 0, 1))
      await vm.verify(stored2.block) // verifying an accepted block passes again, as in Go

      clock.ms += 5000
      assert.equal(await vm.proposeBlock(payload(0, 0, 0, 0, 2)), true)
      const block3 = await vm.buildBlock()
      await vm.verify(block3)
      await vm.accept(block3.id)
      await vm.setPreference(block3.id)
      assert.deepEqual(vm.lastAccepted().id, block3.id)
      const stored3 = await vm.getBlock(block3.id)
      assert.deepEqual(stored3?.block.parentId, block2.id)
      assert.deepEqual(stored3?.block.data, payload(0, 0, 0, 0, 2))
      assert.equal(stored3?.block.timestamp, BigInt(T0 / 1000) + 5n)
      await vm.verify(stored3!.block)
      assert.deepEqual((await vm.getBlock(block2.id))?.block.id, block2.id)
      assert.deepEqual((await vm.getBlock(block3.id))?.block.id, block3.id)
      assert.deepEqual((await vm.check()).problems, [])
    } finally {
      await vm.close()
    }
  })

  it('TestService equivalent: the last accepted block is served when no ID is given', async () => {
    const {vm} = await freshVm()
    try {
      const last = vm.lastAccepted()
      assert.deepEqual((await vm.getBlockAtHeight(0n))?.block.id, last.id)
    } finally {
      await vm.close()
    }
  })

  it('genesis "e2e" has the ID of makeBlock of its fields and Go\'s keys', async () => {
    const genesis = new TextEncoder().encode('e2e')
    const {vm, dir} = await freshVm({genesis})
    const data = payload(0x65, 0x32, 0x65)
    const expected = makeBlock({parentId: EMPTY_ID, height: 0n, timestamp: 0n, data})
    assert.deepEqual(vm.lastAccepted().id, expected.id)
    assert.deepEqual(genesisBlock(Uint8Array.from([0x65, 0x32, 0x65, 0])).id, expected.id)
    await vm.close()
    assert.equal(toHex(BLOCK_PREFIX), '496aca80e4d8f29fb8e8cd816c3afb48d3f103970b3a2ee1600c08ca67326dee')
    assert.equal(toHex(SINGLETON_PREFIX), 'e234ee35f82c5dd3f2f20ef0835225e326805e56b5fe83ee5e56c0f899f4901d')
    await rawDb(dir, async (db) => {
      const wrapper = await db.get(Uint8Array.from([...BLOCK_PREFIX, ...expected.id]))
      assert.equal(toHex(wrapper!), '000000000052' + toHex(expected.bytes) + '00000003')
      assert.equal(toHex((await db.get(LAST_ACCEPTED_KEY))!), toHex(expected.id))
      assert.equal((await db.get(INITIALIZED_KEY))?.length, 0)
    })
  })

  it('GENESIS_TOO_LONG over 32 bytes', async () => {
    assert.equal(await rejectionCode(() => genesisBlock(new Uint8Array(33))), 'GENESIS_TOO_LONG')
  })
})

describe('verification through the VM (spec §4.6 extra cases)', () => {
  it('equal timestamp passes; now+3599 passes and now+3600 fails; height skip and unknown parent fail', async () => {
    const {vm} = await freshVm()
    try {
      const g = vm.lastAccepted()
      const now = BigInt(T0 / 1000)
      await vm.verify(makeBlock({parentId: g.id, height: 1n, timestamp: 0n, data: payload(1)}))
      await vm.verify(makeBlock({parentId: g.id, height: 1n, timestamp: now + 3599n, data: payload(2)}))
      assert.equal(
        await rejectionCode(
          vm.verify(makeBlock({parentId: g.id, height: 1n, timestamp: now + 3600n, data: payload(3)})),
        ),
        'BLOCK_TIMESTAMP_FUTURE',
      )
      assert.equal(
        await rejectionCode(vm.verify(makeBlock({parentId: g.id, height: 2n, timestamp: 1n, data: payload(4)}))),
        'BLOCK_BAD_HEIGHT',
      )
      assert.equal(
        await rejectionCode(
          vm.verify(makeBlock({parentId: sha256(payload(9)), height: 1n, timestamp: 1n, data: payload(5)})),
        ),
        'BLOCK_PARENT_UNKNOWN',
      )
      assert.equal(vm.processingBlocks().length, 2) // the two that passed, as Go's verifiedBlocks
      await vm.proposeBlock(payload(6))
      assert.equal(await rejectionCode(vm.buildBlock({timestamp: now + 3600n})), 'BLOCK_TIMESTAMP_FUTURE')
      assert.equal(vm.mempool().length, 1, 'a failed build leaves the payload queued (Go drops it)')
      const b = await vm.buildBlock({timestamp: now + 3599n})
      assert.equal(b.timestamp, now + 3599n)
      assert.equal(vm.mempool().length, 0)
    } finally {
      await vm.close()
    }
  })

  it("a build on a parent from the future takes the parent's time while that is within the hour (Go would fail)", async () => {
    const {vm} = await freshVm()
    try {
      const now = BigInt(T0 / 1000)
      await vm.acceptPayloads([payload(1)], {timestamp: now + 3599n})
      await vm.proposeBlock(payload(2))
      const built = await vm.buildBlock()
      assert.equal(built.timestamp, now + 3599n)
      await vm.accept(built.id)
      const [next] = await vm.acceptPayloads([payload(3)])
      assert.equal(next!.timestamp, now + 3599n)
      assert.equal(
        await rejectionCode(vm.acceptPayloads([payload(4)], {timestamp: now})),
        'BLOCK_TIMESTAMP_EARLY',
        'an explicit timestamp is still verified',
      )
    } finally {
      await vm.close()
    }
  })

  it('a tip an hour or more ahead of the clock: every build refused with CHAIN_AHEAD_OF_CLOCK, check reports it, until the clock catches up', async () => {
    const {vm, clock} = await freshVm()
    try {
      // One run with the clock 400 days ahead.
      const real = clock.ms
      clock.ms = real + 400 * 86_400_000
      await vm.acceptPayloads([payload(1)])
      assert.equal(vm.buildProblem(), undefined)
      clock.ms = real
      assert.equal(vm.buildProblem()?.code, 'CHAIN_AHEAD_OF_CLOCK')
      assert.match(vm.buildProblem()!.message, /400 days ahead/)
      await vm.proposeBlock(payload(2))
      assert.equal(await rejectionCode(vm.buildBlock()), 'CHAIN_AHEAD_OF_CLOCK')
      assert.equal(await rejectionCode(vm.buildAndAccept()), 'CHAIN_AHEAD_OF_CLOCK')
      assert.equal(await rejectionCode(vm.acceptPayloads([payload(3)])), 'CHAIN_AHEAD_OF_CLOCK')
      assert.equal(await rejectionCode(async () => vm.checkBuildTimestamp(BigInt(real / 1000))), 'CHAIN_AHEAD_OF_CLOCK')
      assert.equal(vm.mempool().length, 1, 'the queued payload stays')
      const report = await vm.check()
      assert.equal(report.ok, false)
      assert.deepEqual(
        report.problems.map((p) => p.kind),
        ['tip-in-future'],
      )
      // Within the hour of the tip, the chain builds again (on the tip's time) and check passes.
      clock.ms = real + 400 * 86_400_000 - 3_599_000
      assert.equal(vm.buildProblem(), undefined)
      assert.equal((await vm.buildAndAccept()).length, 1)
      assert.equal((await vm.check()).ok, true)
    } finally {
      await vm.close()
    }
  })
})

describe('mempool', () => {
  it('refuses the 4098th proposal (Go v1.3: refuse when len > 4096)', async () => {
    const {vm} = await freshVm()
    try {
      const payloads = Array.from({length: 4098}, (_, i) => numbered(i))
      const result = await vm.proposeMany(payloads)
      assert.equal(result.filter(Boolean).length, 4097)
      assert.equal(result[4096], true)
      assert.equal(result[4097], false)
      assert.equal(await vm.proposeBlock(payload(1)), false)
      assert.equal(vm.mempool().length, 4097)
      assert.equal(vm.mempoolRoom(), 0)
    } finally {
      await vm.close()
    }
  })

  it('is FIFO and respects a configured limit', async () => {
    const {vm} = await freshVm({mempoolLimit: 2})
    try {
      assert.deepEqual(await vm.proposeMany([payload(1), payload(2), payload(3), payload(4)]), [
        true,
        true,
        true,
        false,
      ])
      assert.deepEqual(vm.mempool(), [payload(1), payload(2), payload(3)])
      const b = await vm.buildBlock()
      assert.deepEqual(b.data, payload(1))
      assert.equal(await rejectionCode(vm.proposeBlock(new Uint8Array(31))), 'BAD_LENGTH')
    } finally {
      await vm.close()
    }
  })

  it('MEMPOOL_EMPTY when there is nothing to build', async () => {
    const {vm} = await freshVm()
    try {
      assert.equal(await rejectionCode(vm.buildBlock()), 'MEMPOOL_EMPTY')
      assert.deepEqual(await vm.buildAndAccept(), [])
    } finally {
      await vm.close()
    }
  })
})

describe('accept and reject', () => {
  it('accepting rejects siblings; rejected blocks persist with status 2', async () => {
    const {vm, dir} = await freshVm()
    const g = vm.lastAccepted()
    await vm.proposeMany([payload(1), payload(2), payload(3)])
    const a = await vm.buildBlock()
    const b = await vm.buildBlock() // preference did not move: a sibling of a
    assert.deepEqual(b.parentId, g.id)
    await vm.setPreference(a.id)
    const c = await vm.buildBlock() // child of a
    assert.deepEqual(c.parentId, a.id)
    assert.equal(await rejectionCode(vm.accept(c.id)), 'ACCEPT_OUT_OF_ORDER')
    await vm.accept(a.id)
    assert.equal((await vm.getBlock(b.id))?.status, Status.Rejected)
    assert.equal((await vm.getBlock(c.id))?.status, Status.Processing)
    assert.deepEqual(vm.preferredId(), a.id, 'accept moves the preference to the accepted block')
    assert.equal(await rejectionCode(vm.accept(b.id)), 'BLOCK_NOT_PROCESSING')
    assert.equal(await rejectionCode(vm.reject(a.id)), 'BLOCK_NOT_PROCESSING')
    assert.equal(await rejectionCode(vm.accept(sha256(payload(7)))), 'BLOCK_NOT_FOUND')
    await vm.reject(c.id)
    assert.deepEqual(vm.preferredId(), a.id)
    assert.deepEqual((await vm.check()).problems, [])
    await vm.close()

    const again = await TimestampVM.open(dir)
    try {
      assert.equal((await again.getBlock(b.id))?.status, Status.Rejected)
      assert.equal((await again.getBlock(c.id))?.status, Status.Rejected)
      assert.deepEqual(again.lastAccepted().id, a.id)
      assert.deepEqual(
        (await again.findByData(payload(2))).map((r) => r.status),
        [Status.Rejected],
      )
    } finally {
      await again.close()
    }

    await rawDb(dir, async (db) => {
      const w = await db.get(Uint8Array.from([...BLOCK_PREFIX, ...b.id]))
      assert.equal(toHex(w!.subarray(88)), '00000002')
    })
  })

  it('reject takes processing descendants with it', async () => {
    const {vm} = await freshVm()
    try {
      await vm.proposeMany([payload(1), payload(2)])
      const a = await vm.buildBlock()
      await vm.setPreference(a.id)
      const c = await vm.buildBlock()
      await vm.reject(a.id)
      assert.equal((await vm.getBlock(c.id))?.status, Status.Rejected)
      assert.deepEqual(vm.preferredId(), vm.lastAccepted().id)
      assert.equal(await rejectionCode(vm.setPreference(a.id)), 'BLOCK_NOT_PROCESSING')
    } finally {
      await vm.close()
    }
  })

  it('buildAndAccept makes one block per payload in one batch, heights contiguous, and rejects conflicts', async () => {
    const {vm} = await freshVm()
    try {
      await vm.proposeMany([payload(9)])
      const pending = await vm.buildBlock()
      await vm.proposeMany(Array.from({length: 50}, (_, i) => numbered(i)))
      const blocks = await vm.buildAndAccept({max: 40})
      assert.equal(blocks.length, 40)
      for (const [i, b] of blocks.entries()) assert.equal(b.height, BigInt(i + 1))
      assert.equal(vm.mempool().length, 10)
      assert.equal((await vm.getBlock(pending.id))?.status, Status.Rejected)
      const listed = []
      for await (const r of vm.acceptedBlocks({limit: 5})) listed.push(r.block.height)
      assert.deepEqual(listed, [40n, 39n, 38n, 37n, 36n])
      const low = []
      for await (const r of vm.acceptedBlocks({fromHeight: 2n})) low.push(r.block.height)
      assert.deepEqual(low, [2n, 1n, 0n])
      assert.equal((await vm.getBlockAtHeight(7n))?.block.id.length, 32)
      assert.equal(await vm.getBlockAtHeight(41n), undefined)
      assert.equal((await vm.findByData(numbered(3))).length, 1)
      const report = await vm.check()
      assert.deepEqual(report.problems, [])
      assert.equal(report.lastAcceptedHeight, '40')
    } finally {
      await vm.close()
    }
  })

  it('acceptPayloads makes the blocks proposeMany + buildAndAccept would, queued ones first, in one synced write', async () => {
    const a = await freshVm()
    const b = await freshVm()
    try {
      const queued = [payload(7)]
      const fresh = Array.from({length: 20}, (_, i) => numbered(i))
      await a.vm.proposeMany(queued)
      await a.vm.proposeMany(fresh)
      const viaMempool = await a.vm.buildAndAccept()
      await b.vm.proposeMany(queued)
      const writes = watchBatchWrites(stateDb(b.vm))
      const direct = await b.vm.acceptPayloads(fresh)
      assert.deepEqual(writes.options, [{sync: true}])
      assert.deepEqual(
        direct.map((x) => toHex(x.id)),
        viaMempool.map((x) => toHex(x.id)),
      )
      assert.deepEqual(direct[0]!.data, payload(7))
      assert.deepEqual(b.vm.mempool(), [])
      assert.equal(await rejectionCode(b.vm.acceptPayloads([new Uint8Array(31)])), 'BAD_LENGTH')
      assert.deepEqual((await b.vm.check()).problems, [])
    } finally {
      await a.vm.close()
      await b.vm.close()
    }
  })

  it('acceptPayloadGroups writes one synced batch per group, reports each after it lands, and matches acceptPayloads', async () => {
    const a = await freshVm({mempoolLimit: 3})
    const b = await freshVm({mempoolLimit: 3})
    try {
      const fresh = Array.from({length: 10}, (_, i) => numbered(i))
      await a.vm.proposeMany([payload(7)])
      const expected = [
        ...(await a.vm.acceptPayloads(fresh.slice(0, 3))),
        ...(await a.vm.acceptPayloads(fresh.slice(3, 7))),
      ]
      expected.push(...(await a.vm.acceptPayloads(fresh.slice(7))))
      await b.vm.proposeMany([payload(7)])
      const writes = watchBatchWrites(stateDb(b.vm))
      // `started`: a group is reported once the next group's write is in LevelDB, not before,
      // so the disk works while the report and the next build run.
      const groups: Array<{heights: bigint[]; taken: number; landed: number; started: number}> = []
      await b.vm.acceptPayloadGroups(fresh, {
        groupSize: 4,
        onGroup: (blocks, taken) =>
          groups.push({
            heights: blocks.blocks().map((x) => x.height),
            taken,
            landed: writes.landed.length,
            started: writes.started.length,
          }),
      })
      assert.ok(
        writes.options.every((o) => o?.sync === true),
        'every group write is synced',
      )
      assert.deepEqual(groups, [
        {heights: [1n, 2n, 3n, 4n], taken: 3, landed: 1, started: 2},
        {heights: [5n, 6n, 7n, 8n], taken: 4, landed: 2, started: 3},
        {heights: [9n, 10n, 11n], taken: 3, landed: 3, started: 3},
      ])
      assert.deepEqual(toHex(b.vm.lastAccepted().id), toHex(expected.at(-1)!.id))
      assert.deepEqual(b.vm.mempool(), [])
      assert.deepEqual((await b.vm.check()).problems, [])
    } finally {
      await a.vm.close()
      await b.vm.close()
    }
  })

  it('openGroup/acceptGroup: a group built on one not yet accepted is refused, writing nothing; the same blocks as acceptPayloads', async () => {
    const a = await freshVm()
    const b = await freshVm()
    try {
      await a.vm.proposeMany([payload(7)])
      const expected = [
        ...(await a.vm.acceptPayloads([numbered(1), numbered(2)])),
        ...(await a.vm.acceptPayloads([numbered(3)])),
      ]
      await b.vm.proposeMany([payload(7)])
      const first = b.vm.openGroup()
      first.add(numbered(1))
      first.add(numbered(2))
      assert.throws(
        () => first.add(new Uint8Array(31)),
        (e: {code?: string}) => e.code === 'BAD_LENGTH',
      )
      const second = b.vm.openGroup(first)
      second.add(numbered(3))
      assert.deepEqual([first.size, second.size], [3, 1])
      assert.equal(await rejectionCode(b.vm.acceptGroup(second)), 'ACCEPT_OUT_OF_ORDER')
      assert.equal(b.vm.lastAccepted().height, 0n)
      assert.equal(b.vm.mempool().length, 1)
      const landed = await b.vm.acceptGroup(first)
      assert.deepEqual(
        landed.map((x) => x.height),
        [1n, 2n, 3n],
      )
      assert.deepEqual(b.vm.mempool(), [])
      assert.equal(await rejectionCode(b.vm.acceptGroup(second)), 'INTERNAL', 'a refused group is not written later')
      const third = b.vm.openGroup(first)
      third.add(numbered(3))
      await b.vm.acceptGroup(third)
      assert.deepEqual(toHex(b.vm.lastAccepted().id), toHex(expected.at(-1)!.id))
      assert.deepEqual((await b.vm.check()).problems, [])
    } finally {
      await a.vm.close()
      await b.vm.close()
    }
  })

  it('acceptPayloadGroups: a failing group or report stops the run after the group in flight has landed', async () => {
    const {vm} = await freshVm()
    try {
      const reported: bigint[][] = []
      const payloads = [numbered(1), numbered(2), numbered(3), new Uint8Array(31), numbered(5)]
      const run = vm.acceptPayloadGroups(payloads, {
        groupSize: 2,
        onGroup: (blocks) => reported.push(blocks.blocks().map((x) => x.height)),
      })
      assert.equal(await rejectionCode(run), 'BAD_LENGTH')
      assert.deepEqual(reported, [[1n, 2n]], 'the group before the bad one is accepted and reported')
      assert.equal(vm.lastAccepted().height, 2n)
      const fails = vm.acceptPayloadGroups([numbered(6), numbered(7), numbered(8)], {
        groupSize: 1,
        onGroup() {
          throw new Error('stdout closed')
        },
      })
      await assert.rejects(fails, /stdout closed/)
      // The first group was reported (and threw) while the second was in flight: that one landed too.
      assert.equal(vm.lastAccepted().height, 4n)
      assert.deepEqual((await vm.getBlockAtHeight(4n))?.block.data, numbered(7))
      assert.deepEqual((await vm.check()).problems, [])
    } finally {
      await vm.close()
    }
  })

  it('acceptPayloadGroups accepts processing blocks it rebuilds, and a group waits for one that leaves blocks processing', async () => {
    const {vm} = await freshVm({mempoolLimit: 0})
    try {
      await vm.proposeMany([numbered(1)])
      const built = await vm.buildBlock()
      await vm.setPreference(built.id)
      await vm.proposeMany([numbered(2)])
      const child = await vm.buildBlock()
      assert.deepEqual(child.parentId, built.id)
      // The first group rebuilds `built` exactly and leaves `child` processing (it descends from
      // the new tip); the second group rebuilds `child`.
      const reported: string[][] = []
      await vm.acceptPayloadGroups([numbered(1), numbered(2), numbered(3)], {
        groupSize: 1,
        onGroup: (blocks) => reported.push(blocks.blocks().map((x) => toHex(x.id))),
      })
      assert.deepEqual(reported.slice(0, 2), [[toHex(built.id)], [toHex(child.id)]])
      assert.equal(reported.length, 3)
      assert.deepEqual(vm.processingBlocks(), [])
      assert.equal((await vm.getBlock(child.id))?.status, Status.Accepted)
      assert.deepEqual(toHex(vm.preferredId()), reported[2]![0])
      assert.deepEqual((await vm.check()).problems, [])
    } finally {
      await vm.close()
    }
  })

  it('serialises concurrent transitions', async () => {
    const {vm} = await freshVm()
    try {
      await vm.proposeMany([payload(1), payload(2), payload(3)])
      const built = await Promise.all([vm.buildBlock(), vm.buildBlock(), vm.buildBlock()])
      assert.equal(new Set(built.map((b) => toHex(b.data))).size, 3)
    } finally {
      await vm.close()
    }
  })
})

describe('persistence', () => {
  it('keeps the chain, the mempool and processing blocks across a restart', async () => {
    const {vm, dir} = await freshVm()
    await vm.proposeMany([payload(1), payload(2), payload(3)])
    await vm.buildAndAccept({max: 1})
    const proc = await vm.buildBlock()
    const last = vm.lastAccepted()
    await vm.close()

    const again = await TimestampVM.open(dir, {now: () => T0})
    try {
      assert.deepEqual(again.lastAccepted(), last)
      assert.deepEqual(again.mempool(), [payload(3)])
      assert.deepEqual((await again.getBlock(proc.id))?.status, Status.Processing)
      await again.accept(proc.id)
      assert.deepEqual(again.lastAccepted().id, proc.id)
      await again.proposeBlock(payload(4))
      assert.deepEqual(again.mempool(), [payload(3), payload(4)])
      assert.deepEqual((await again.check()).problems, [])
    } finally {
      await again.close()
    }
  })

  it('a different genesis on an initialized chain is GENESIS_MISMATCH and leaves the chain intact', async () => {
    const {vm, dir} = await freshVm({genesis: new TextEncoder().encode('one')})
    await vm.proposeBlock(payload(1))
    await vm.buildAndAccept()
    const last = vm.lastAccepted()
    await vm.close()

    const again = await TimestampVM.open(dir)
    try {
      assert.equal(await rejectionCode(again.initialize(new TextEncoder().encode('two'))), 'GENESIS_MISMATCH')
      const same = await again.initialize(Uint8Array.from([0x6f, 0x6e, 0x65, 0, 0]))
      assert.equal(same.created, false)
      assert.deepEqual(again.lastAccepted(), last)
      assert.deepEqual((await again.check()).problems, [])
    } finally {
      await again.close()
    }
  })

  it('NOT_INITIALIZED before a genesis', async () => {
    const vm = await TimestampVM.open(join(root, 'empty'))
    try {
      assert.equal(vm.isInitialized(), false)
      assert.equal(await rejectionCode(() => vm.lastAccepted()), 'NOT_INITIALIZED')
      assert.equal(await rejectionCode(vm.proposeBlock(payload(1))), 'NOT_INITIALIZED')
    } finally {
      await vm.close()
    }
  })

  it('refuses a second open of the same dir in one process with DB_LOCKED, and the first stays usable', async () => {
    const {vm, dir} = await freshVm()
    try {
      assert.equal(await rejectionCode(TimestampVM.open(dir)), 'DB_LOCKED')
      assert.equal(await rejectionCode(TimestampVM.open(dir + '/')), 'DB_LOCKED')
      await vm.proposeBlock(payload(1))
      assert.equal((await vm.buildAndAccept()).length, 1)
    } finally {
      await vm.close()
    }

    const reopened = await TimestampVM.open(dir)
    await reopened.close()
  })

  it('DB_CORRUPT when the last accepted block does not decode, and the dir is released', async () => {
    const {vm, dir} = await freshVm()
    const last = vm.lastAccepted()
    await vm.close()
    damaged.add(dir)
    await rawDb(dir, (db) => db.put(Uint8Array.from([...BLOCK_PREFIX, ...last.id]), new Uint8Array([0, 0, 1])))
    assert.equal(await rejectionCode(TimestampVM.open(dir)), 'DB_CORRUPT')
    await rawDb(dir, (db) => db.del(LAST_ACCEPTED_KEY))
    assert.equal(await rejectionCode(TimestampVM.open(dir)), 'DB_CORRUPT')
  })

  it('DB_OPEN_FAILED when the path is not a directory', async () => {
    const {writeFile} = await import('node:fs/promises')
    const file = join(root, 'a-file')
    await writeFile(file, 'x')
    assert.equal(await rejectionCode(TimestampVM.open(join(file, 'db'))), 'DB_OPEN_FAILED')
  })
})

describe('check', () => {
  it('finds a deleted height-index key and a block stored under the wrong ID', async () => {
    const {vm, dir} = await freshVm()
    await vm.proposeMany([payload(1), payload(2), payload(3)])
    await vm.buildAndAccept()
    assert.equal((await vm.check()).ok, true)
    await vm.close()

    damaged.add(dir)
    await rawDb(dir, (db) => db.del(heightKey(2n)))
    let again = await TimestampVM.open(dir)
    let report = await again.check()
    await again.close()
    assert.equal(report.ok, false)
    assert.ok(report.problems.some((p) => p.kind === 'height-gap'))
    assert.ok(report.problems.some((p) => p.kind === 'not-indexed'))

    const bogus = sha256(payload(42))
    await rawDb(dir, async (db) => {
      const genesisKey = Uint8Array.from([...BLOCK_PREFIX, ...genesisBlock(GO_GENESIS).id])
      await db.put(Uint8Array.from([...BLOCK_PREFIX, ...bogus]), (await db.get(genesisKey))!)
    })
    again = await TimestampVM.open(dir)
    report = await again.check()
    await again.close()
    assert.ok(report.problems.some((p) => p.kind === 'id-mismatch'))
  })
})

describe('every chain made above', () => {
  it('passes check after a restart', async () => {
    const healthy = made.filter((d) => !damaged.has(d))
    assert.ok(healthy.length >= 15)
    for (const dir of healthy) {
      const vm = await TimestampVM.open(dir)
      try {
        assert.deepEqual((await vm.check()).problems, [], dir)
      } finally {
        await vm.close()
      }
    }
  })
})
