import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {Engine, type EngineVm} from '../../src/node/engine.js'
import {TsvmError} from '../../src/vm/errors.js'
import {rejectionCode} from '../helpers/errors.js'
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
    proposeMany(p) {
      counts.propose++
      return vm.proposeMany(p)
    },
    buildAndAccept(o) {
      counts.build++
      return vm.buildAndAccept(o)
    },
    failure: () => vm.failure?.(),
    recover: () => vm.recover!(),
    buildProblem: () => vm.buildProblem?.(),
  }
  if (options.acceptPayloads)
    wrapped.acceptPayloads = (p) => {
      counts.accept++
      return vm.acceptPayloads!(p)
    }

  return {vm: wrapped, counts}
}

/**
 * serve's adapter with its group writes logged, and the first held until `release` (a fake: the
 * only way to hold a synced write in flight at a known point), or failed with `fail`.
 */
function gated(vm: EngineVm, options: {fail?: Error} = {}) {
  const log: string[] = []
  let release!: () => void
  const gate = new Promise<void>((resolve) => {
    release = resolve
  })
  let calls = 0
  const wrapped: EngineVm = {
    ...vm,
    async acceptGroup(group) {
      const n = ++calls
      log.push(`write ${n} asked (${group.size})`)
      if (n === 1) {
        await gate
        if (options.fail) {
          await group.discard()
          throw options.fail
        }
      }

      const blocks = await vm.acceptGroup!(group)
      log.push(`write ${n} landed`)
      return blocks
    },
  }
  return {vm: wrapped, log, release}
}

const nextTurn = (): Promise<void> =>
  new Promise((resolve) => {
    setImmediate(resolve)
  })

describe('Engine', () => {
  it('pipelines: the group built during a write is written as soon as that write lands, before its proposals are answered', async () => {
    const t = await openTestVm()
    try {
      const {vm, log, release} = gated(t.engine)
      const engine = new Engine(vm)
      const propose = async (i: number) => {
        const ok = await engine.proposeBlock(payload(i))
        log.push(`answer ${i}`)
        return ok
      }

      const first = [0, 1, 2].map((i) => propose(i))
      await nextTurn()
      assert.deepEqual(engine.groups(), {writing: 3, building: 0})
      const second = [3, 4].map((i) => propose(i))
      assert.deepEqual(engine.groups(), {writing: 3, building: 2})
      await nextTurn()
      assert.equal(t.vm.lastAccepted().height, 0n, 'nothing lands while the first write is held')
      assert.deepEqual(log, ['write 1 asked (3)'])
      release()
      assert.deepEqual(
        await Promise.all([...first, ...second]),
        Array.from({length: 5}, () => true),
      )
      assert.deepEqual(log, [
        'write 1 asked (3)',
        'write 1 landed',
        'write 2 asked (2)',
        'answer 0',
        'answer 1',
        'answer 2',
        'write 2 landed',
        'answer 3',
        'answer 4',
      ])
      for (let h = 1; h <= 5; h++)
        assert.deepEqual((await t.vm.getBlockAtHeight(BigInt(h)))?.block.data, payload(h - 1))
      await engine.close()
      assert.deepEqual((await t.vm.check()).problems, [])
    } finally {
      await t.close()
    }
  })

  it('pipelines: when a write fails, the group built on it is dropped and its proposals get the error too', async () => {
    const t = await openTestVm()
    try {
      const errors: unknown[] = []
      const {vm, log, release} = gated(t.engine, {fail: new Error('disk gone')})
      const engine = new Engine(vm, {onError: (e) => errors.push(e)})
      const first = [0, 1].map((i) => engine.proposeBlock(payload(i)))
      await nextTurn()
      const second = [2, 3].map((i) => engine.proposeBlock(payload(i)))
      release()
      for (const p of [...first, ...second]) await assert.rejects(p, /disk gone/)
      assert.deepEqual(log, ['write 1 asked (2)'], 'the group built on the failed one is never written')
      assert.equal(t.vm.lastAccepted().height, 0n)
      assert.equal(errors.length, 1)
      assert.equal(await engine.proposeBlock(payload(9)), true)
      assert.deepEqual(t.vm.lastAccepted().data, payload(9))
      assert.equal(t.vm.lastAccepted().height, 1n)
      await engine.close()
    } finally {
      await t.close()
    }
  })

  it('group-commits concurrent proposals: one write, one build, every payload accepted in order', async () => {
    const t = await openTestVm()
    try {
      const {vm, counts} = counting(t.engine, {acceptPayloads: false})
      const engine = new Engine(vm)
      const results = await Promise.all(Array.from({length: 20}, (_, i) => engine.proposeBlock(payload(i))))
      assert.deepEqual(results, Array.from({length: 20}).fill(true))
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
      assert.deepEqual(results, Array.from({length: 20}).fill(true))
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
    const t = await openTestVm()
    try {
      const {vm} = counting(t.engine, {acceptPayloads: false})
      // A fake fault: a Verify failure other than the clock's cannot happen on a real chain.
      vm.buildAndAccept = async () => {
        throw new TsvmError('BLOCK_TIMESTAMP_FUTURE', 'a block failed Verify')
      }

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

  it('refuses what it could not build: a tip an hour or more ahead of the clock, until the clock catches up', async () => {
    let now = NOW_MS + 400 * 86_400_000
    const t = await openTestVm({now: () => now})
    try {
      await t.vm.acceptPayloads([payload(0)])
      now = NOW_MS
      const events: string[] = []
      for (const acceptPayloads of [true, false]) {
        const {vm} = counting(t.engine, {acceptPayloads})
        const engine = new Engine(vm, {
          onRefusing: (e) => events.push(`refusing ${(e as TsvmError).code}`),
          onTaking: () => events.push('taking'),
        })
        assert.equal(await rejectionCode(engine.proposeBlock(payload(1))), 'CHAIN_AHEAD_OF_CLOCK')
        assert.equal(await rejectionCode(engine.proposeBlock(payload(2))), 'CHAIN_AHEAD_OF_CLOCK')
        assert.equal((engine.problem() as TsvmError | undefined)?.code, 'CHAIN_AHEAD_OF_CLOCK')
        assert.equal(t.vm.mempool().length, 0, 'nothing queued that cannot be built')
        now = NOW_MS + 400 * 86_400_000 - 3_000_000
        assert.equal(engine.problem(), undefined)
        assert.equal(await engine.proposeBlock(payload(3 + Number(acceptPayloads))), true)
        now = NOW_MS
        await engine.close()
      }

      assert.deepEqual(events, ['refusing CHAIN_AHEAD_OF_CLOCK', 'taking', 'refusing CHAIN_AHEAD_OF_CLOCK', 'taking'])
    } finally {
      await t.close()
    }
  })

  it('after a failed write: fails that batch, refuses the next ones without writing, recovers, then takes proposals again', async () => {
    const t = await openTestVm()
    try {
      const {vm, counts} = counting(t.engine, {acceptPayloads: true})
      // A fake fault with the VM's contract: the write fails and writes stay refused until recover().
      let failure: Error | undefined
      let recoveries = 0
      let failNext = true
      vm.acceptPayloads = async (p) => {
        counts.accept++
        if (failure) throw failure
        if (failNext) {
          failNext = false
          failure = new TsvmError('DB_WRITE_FAILED', 'a write to the database failed (No space left on device)')
          throw failure
        }

        return t.vm.acceptPayloads(p)
      }

      vm.failure = () => failure
      vm.recover = async () => {
        recoveries++
        if (recoveries < 3) throw failure // the disk is still full twice
        failure = undefined
      }

      const events: string[] = []
      let taking: () => void = () => {}
      const took = new Promise<void>((resolve) => {
        taking = resolve
      })
      const engine = new Engine(vm, {
        recoverMs: 1,
        onRefusing: (e) => events.push(`refusing ${(e as TsvmError).code}`),
        onTaking() {
          events.push('taking')
          return taking()
        },
      })
      assert.equal(await rejectionCode(engine.proposeBlock(payload(1))), 'DB_WRITE_FAILED')
      const writesAfterFailure = counts.accept
      await took
      assert.equal(recoveries, 3)
      assert.equal(await engine.proposeBlock(payload(2)), true)
      assert.equal(counts.accept, writesAfterFailure + 1)
      assert.deepEqual(events, ['refusing DB_WRITE_FAILED', 'taking'])
      await engine.close()
    } finally {
      await t.close()
    }
  })

  it('refuses proposals without writing while writes are refused', async () => {
    const t = await openTestVm()
    try {
      const {vm, counts} = counting(t.engine, {acceptPayloads: true})
      const failure = new TsvmError('DB_WRITE_FAILED', 'a write to the database failed')
      vm.failure = () => failure
      vm.recover = async () => {
        throw failure
      }

      const engine = new Engine(vm, {recoverMs: 60_000})
      assert.equal(await rejectionCode(engine.proposeBlock(payload(1))), 'DB_WRITE_FAILED')
      assert.equal(await rejectionCode(engine.proposeBlock(payload(2))), 'DB_WRITE_FAILED')
      assert.deepEqual(counts, {propose: 0, build: 0, accept: 0})
      assert.equal(engine.problem(), failure)
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
