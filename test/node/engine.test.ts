import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {Engine, type EngineVm} from '../../src/node/engine.js'
import {NOW_MS, openTestVm} from '../helpers/real-vm.js'

const payload = (i: number): Uint8Array => Uint8Array.from({length: 32}, (_, k) => (i + k) & 0xff)

/**
 * serve's adapter over the real VM, wrapped to count calls (the only way to observe group
 * commit). Without acceptPayloads the engine takes its mempool path (proposeMany, then
 * buildAndAccept), as with a VM that lacks it or when it fails.
 */
function counting(vm: EngineVm, options: {acceptPayloads: boolean}) {
  const counts = {propose: 0, build: 0, accept: 0}
  const wrapped: EngineVm = {
    lastAcceptedId: () => vm.lastAcceptedId(),
    getBlock: (id) => vm.getBlock(id),
    mempoolSize: () => vm.mempoolSize(),
    proposeMany: (p) => (counts.propose++, vm.proposeMany(p)),
    buildAndAccept: (o) => (counts.build++, vm.buildAndAccept(o)),
  }
  if (options.acceptPayloads) wrapped.acceptPayloads = (p) => (counts.accept++, vm.acceptPayloads!(p))
  return {vm: wrapped, counts}
}

describe('Engine', () => {
  it('group-commits concurrent proposals: one write, one build, every payload accepted in order', async () => {
    const t = await openTestVm()
    try {
      const {vm, counts} = counting(t.engine, {acceptPayloads: false})
      const engine = new Engine(vm)
      const results = await Promise.all(Array.from({length: 20}, (_, i) => engine.proposeBlock(payload(i))))
      assert.deepEqual(results, Array(20).fill(true))
      assert.equal(counts.propose, 1)
      assert.equal(counts.build, 1)
      assert.equal(t.vm.lastAccepted().height, 20n)
      assert.deepEqual(t.vm.lastAccepted().data, payload(19))
      await engine.close()
    } finally {
      await t.close()
    }
  })

  it('group-commits through acceptPayloads when the VM has it: one write for the whole batch', async () => {
    const t = await openTestVm()
    try {
      const {vm, counts} = counting(t.engine, {acceptPayloads: true})
      const engine = new Engine(vm)
      const results = await Promise.all(Array.from({length: 20}, (_, i) => engine.proposeBlock(payload(i))))
      assert.deepEqual(results, Array(20).fill(true))
      assert.deepEqual(counts, {propose: 0, build: 0, accept: 1})
      assert.equal(t.vm.lastAccepted().height, 20n)
      assert.deepEqual(t.vm.lastAccepted().data, payload(19))
      await engine.close()
    } finally {
      await t.close()
    }
  })

  it('answers false for the payloads the full mempool refused (Go accepts cap + 1)', async () => {
    const t = await openTestVm({mempoolLimit: 3})
    try {
      const engine = new Engine(t.engine, {blockTimeMs: 3_600_000})
      const got: boolean[] = []
      for (let i = 0; i < 5; i++) got.push(await engine.proposeBlock(payload(i)))
      assert.deepEqual(got, [true, true, true, true, false])
      assert.equal(t.vm.mempool().length, 4)
      assert.equal(t.vm.lastAccepted().height, 0n)
      await engine.close()
    } finally {
      await t.close()
    }
  })

  it('writes taken proposals on close and refuses new ones with SERVE_FAILED', async () => {
    const t = await openTestVm()
    try {
      const engine = new Engine(t.engine)
      const pending = engine.proposeBlock(payload(7))
      await engine.close()
      assert.equal(await pending, true)
      assert.deepEqual(t.vm.lastAccepted().data, payload(7))
      await assert.rejects(engine.proposeBlock(payload(8)), (e: {code?: string}) => e.code === 'SERVE_FAILED')
    } finally {
      await t.close()
    }
  })

  it('keeps payloads durable when a build fails and reports the failure', async () => {
    // A real Verify failure: the last accepted block is from a later time than the clock now reads.
    let now = NOW_MS + 60_000
    const t = await openTestVm({now: () => now})
    try {
      await t.vm.acceptPayloads([payload(0)])
      now = NOW_MS
      const {vm} = counting(t.engine, {acceptPayloads: false})
      const errors: unknown[] = []
      const engine = new Engine(vm, {onError: (e) => errors.push(e)})
      assert.equal(await engine.proposeBlock(payload(1)), true)
      assert.equal(t.vm.mempool().length, 1)
      assert.equal(errors.length, 1)
      await engine.close()
    } finally {
      await t.close()
    }
  })

  it('rejects proposals whose batch write fails', async () => {
    const t = await openTestVm()
    try {
      const {vm} = counting(t.engine, {acceptPayloads: false})
      // A fake fault: a failing disk write cannot be caused for real here.
      vm.proposeMany = async () => {
        throw new Error('disk full')
      }
      const engine = new Engine(vm)
      await assert.rejects(engine.proposeBlock(payload(1)), /disk full/)
      await engine.close()
    } finally {
      await t.close()
    }
  })
})
