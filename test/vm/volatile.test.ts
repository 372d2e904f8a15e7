// The VM's volatileProcessing option (the plugin's setting): verified, undecided blocks in memory
// only, and verify deciding from memory, where it safely can, that a block is not stored yet.
import assert from 'node:assert/strict'
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {type Block, makeBlock, Status} from '../../src/vm/block.js'
import {TimestampVM} from '../../src/vm/vm.js'
import {rejectionCode} from '../helpers/errors.js'

const GENESIS = new Uint8Array([1, 2, 3])
const NOW_MS = 1_700_000_100_000
const T = 1_700_000_000n

let root: string
let n = 0
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'tsvm-volatile-'))
})
after(async () => {
  await rm(root, {recursive: true, force: true})
})

function child(parent: Block, tag: number): Block {
  const data = new Uint8Array(32)
  data[0] = tag
  return makeBlock({parentId: parent.id, height: parent.height + 1n, timestamp: T + parent.height, data})
}

async function open(dir: string, volatileProcessing?: boolean): Promise<TimestampVM> {
  return TimestampVM.open(dir, {now: () => NOW_MS, volatileProcessing})
}

async function fresh(volatileProcessing?: boolean): Promise<{vm: TimestampVM; dir: string; genesis: Block}> {
  const dir = join(root, `chain-${n++}`)
  const vm = await open(dir, volatileProcessing)
  const {genesis} = await vm.initialize(GENESIS)
  return {vm, dir, genesis}
}

async function statusOf(vm: TimestampVM, b: Block): Promise<Status | undefined> {
  return (await vm.getBlock(b.id))?.status
}

describe('volatileProcessing', () => {
  it('off (the CLI default): a verified block is stored as processing and found after a reopen', async () => {
    const {vm, dir, genesis} = await fresh()
    const a = child(genesis, 1)
    await vm.verify(a)
    await vm.close()
    const again = await open(dir)
    try {
      assert.equal(await statusOf(again, a), Status.Processing)
      await again.accept(a.id)
      assert.equal(await statusOf(again, a), Status.Accepted)
    } finally {
      await again.close()
    }
  })

  it('on: a verified block is found while processing, accepted as before, and not stored while undecided', async () => {
    const {vm, dir, genesis} = await fresh(true)
    const a = child(genesis, 1)
    const b = child(a, 2)
    await vm.verify(a)
    await vm.verify(b)
    assert.equal(await statusOf(vm, a), Status.Processing)
    assert.deepEqual(
      vm.processingBlocks().map((x) => x.height),
      [1n, 2n],
    )
    // Both blocks rest on blocks known here: no store read was needed.
    assert.equal(vm.verifyStoreChecks, 0)
    await vm.accept(a.id)
    assert.equal(await statusOf(vm, a), Status.Accepted)
    await vm.close()
    const again = await open(dir, true)
    try {
      assert.equal(await statusOf(again, a), Status.Accepted)
      assert.equal(await statusOf(again, b), undefined, 'an undecided block is not stored')
      // After a reopen the node verifies again; the first block on the loaded tip reads the store.
      await again.verify(b)
      assert.equal(again.verifyStoreChecks, 1)
      await again.verify(child(b, 3))
      assert.equal(again.verifyStoreChecks, 1)
      await again.accept(b.id)
      assert.equal(again.lastAccepted().height, 2n)
    } finally {
      await again.close()
    }
  })

  it('on: an accepted block verified again stays accepted', async () => {
    const {vm, genesis} = await fresh(true)
    try {
      const a = child(genesis, 1)
      await vm.verify(a)
      await vm.accept(a.id)
      await vm.verify(a)
      assert.equal(await statusOf(vm, a), Status.Accepted)
      assert.equal(vm.processingBlocks().length, 0)
      assert.equal(vm.verifyStoreChecks, 1)
    } finally {
      await vm.close()
    }
  })

  it('on: a block rejected above the tip (a losing branch) verified again stays rejected, before and after a reopen', async () => {
    const {vm, dir, genesis} = await fresh(true)
    const a = child(genesis, 1)
    const b1 = child(genesis, 2)
    const b2 = child(b1, 3)
    await vm.verify(a)
    await vm.verify(b1)
    await vm.verify(b2)
    await vm.accept(a.id)
    assert.equal(await statusOf(vm, b2), Status.Rejected)
    await vm.verify(b2)
    assert.equal(await statusOf(vm, b2), Status.Rejected)
    assert.equal(vm.processingBlocks().length, 0)
    assert.equal(await rejectionCode(vm.accept(b2.id)), 'BLOCK_NOT_PROCESSING')
    await vm.close()
    const again = await open(dir, true)
    try {
      await again.verify(b2)
      assert.equal(await statusOf(again, b2), Status.Rejected)
      assert.equal(again.processingBlocks().length, 0)
    } finally {
      await again.close()
    }
  })

  it('on: a child of the tip rejected on its own, verified again, stays rejected; the tip moving on forgets it safely', async () => {
    const {vm, genesis} = await fresh(true)
    try {
      const a = child(genesis, 1)
      const c = child(a, 2)
      await vm.verify(a)
      await vm.accept(a.id)
      await vm.verify(c)
      await vm.reject(c.id)
      await vm.verify(c)
      assert.equal(await statusOf(vm, c), Status.Rejected)
      assert.equal(await rejectionCode(vm.accept(c.id)), 'BLOCK_NOT_PROCESSING')
      // A sibling of c is accepted: c is now at the tip's height and is read from the store.
      const d = child(a, 3)
      await vm.verify(d)
      await vm.accept(d.id)
      await vm.verify(c)
      assert.equal(await statusOf(vm, c), Status.Rejected)
      assert.equal(vm.processingBlocks().length, 0)
    } finally {
      await vm.close()
    }
  })
})
