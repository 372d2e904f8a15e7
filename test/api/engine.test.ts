import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {Engine} from '../../src/api/engine.js'
import {MemoryVm} from '../helpers/memory-vm.js'

const payload = (i: number): Uint8Array => Uint8Array.from({length: 32}, (_, k) => (i + k) & 0xff)

describe('Engine', () => {
  it('group-commits concurrent proposals: one write, one build, every payload accepted in order', async () => {
    const vm = new MemoryVm()
    const engine = new Engine(vm)
    const results = await Promise.all(Array.from({length: 20}, (_, i) => engine.proposeBlock(payload(i))))
    assert.deepEqual(results, Array(20).fill(true))
    assert.equal(vm.proposeCalls, 1)
    assert.equal(vm.buildCalls, 1)
    assert.equal(vm.tip.height, 20n)
    assert.deepEqual(vm.tip.data, payload(19))
    await engine.close()
  })

  it('answers false for the payloads the full mempool refused (Go accepts cap + 1)', async () => {
    const vm = new MemoryVm()
    vm.mempoolLimit = 3
    const engine = new Engine(vm, {blockTimeMs: 3_600_000})
    const got: boolean[] = []
    for (let i = 0; i < 5; i++) got.push(await engine.proposeBlock(payload(i)))
    assert.deepEqual(got, [true, true, true, true, false])
    assert.equal(vm.mempool.length, 4)
    assert.equal(vm.tip.height, 0n)
    await engine.close()
  })

  it('writes taken proposals on close and refuses new ones with SERVE_FAILED', async () => {
    const vm = new MemoryVm()
    const engine = new Engine(vm)
    const pending = engine.proposeBlock(payload(7))
    await engine.close()
    assert.equal(await pending, true)
    assert.deepEqual(vm.tip.data, payload(7))
    await assert.rejects(engine.proposeBlock(payload(8)), (e: {code?: string}) => e.code === 'SERVE_FAILED')
  })

  it('keeps payloads durable when a build fails and reports the failure', async () => {
    const vm = new MemoryVm()
    vm.buildAndAccept = async () => {
      throw new Error('clock behind parent')
    }
    const errors: unknown[] = []
    const engine = new Engine(vm, {onError: (e) => errors.push(e)})
    assert.equal(await engine.proposeBlock(payload(1)), true)
    assert.equal(vm.mempool.length, 1)
    assert.equal(errors.length, 1)
    await engine.close()
  })

  it('rejects proposals whose batch write fails', async () => {
    const vm = new MemoryVm()
    vm.proposeMany = async () => {
      throw new Error('disk full')
    }
    const engine = new Engine(vm)
    await assert.rejects(engine.proposeBlock(payload(1)), /disk full/)
    await engine.close()
  })
})
