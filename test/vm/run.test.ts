import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import fc from 'fast-check'

import {type Block, makeBlock, Status, verifyBlock} from '../../src/vm/block.js'
import {TsvmError} from '../../src/vm/errors.js'
import {buildRun, EMPTY_RUN} from '../../src/vm/run.js'
import {StateBatch} from '../../src/vm/state.js'

const payload = (n: number) => {
  const p = new Uint8Array(32)
  p[0] = n >>> 8
  p[31] = n
  return p
}

/** The blocks makeBlock chains on `parent`, one per payload, all with `timestamp`. */
function reference(parent: Block, timestamp: bigint, payloads: Uint8Array[]): Block[] {
  const out: Block[] = []
  for (const data of payloads) {
    parent = makeBlock({parentId: parent.id, height: parent.height + 1n, timestamp, data})
    out.push(parent)
  }

  return out
}

const genesisAt = (height: bigint, timestamp = 1_700_000_000n) =>
  makeBlock({parentId: new Uint8Array(32), height, timestamp, data: new Uint8Array(32)})

const noVerify = () => {}

describe('buildRun', () => {
  it('builds the blocks makeBlock chains, at any height, with any payloads', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.bigUint({max: 2n ** 20n}), fc.constant(2n ** 53n - 3n), fc.bigUint({max: 2n ** 64n - 40n})),
        fc.bigInt({min: -(2n ** 63n), max: 2n ** 63n - 1n}),
        fc.array(fc.uint8Array({minLength: 32, maxLength: 32}), {minLength: 1, maxLength: 12}),
        (height, timestamp, payloads) => {
          const parent = genesisAt(height)
          const run = buildRun({parent, timestamp, count: payloads.length, data: (i) => payloads[i]!, verify: noVerify})
          assert.equal(run.length, payloads.length)
          assert.equal(run.firstHeight, height + 1n)
          assert.deepEqual(run.blocks(), reference(parent, timestamp, payloads))
        },
      ),
      {seed: 7, numRuns: 300},
    )
  })

  it('copies the payloads: changing them afterwards changes no block', () => {
    const payloads = [payload(1), payload(2), payload(3)]
    const run = buildRun({parent: genesisAt(0n), timestamp: 5n, count: 3, data: (i) => payloads[i]!, verify: noVerify})
    const before = run.blocks()
    for (const p of payloads) p.fill(0xff)
    assert.deepEqual(run.blocks(), before)
  })

  it('verifies the first block against the parent, and refuses heights past uint64 before building', () => {
    const parent = genesisAt(10n, 100n)
    const seen: Array<[bigint, bigint]> = []
    buildRun({parent, timestamp: 100n, count: 3, data: payload, verify: (b, p) => seen.push([b.height, p.height])})
    assert.deepEqual(seen, [[11n, 10n]])
    assert.throws(
      () => buildRun({parent, timestamp: 99n, count: 3, data: payload, verify: (b, p) => verifyBlock(b, p, 200n)}),
      (e: unknown) => e instanceof TsvmError && e.code === 'BLOCK_TIMESTAMP_EARLY',
    )
    const top = genesisAt(2n ** 64n - 3n)
    assert.equal(buildRun({parent: top, timestamp: 1n, count: 2, data: payload, verify: noVerify}).length, 2)
    assert.throws(
      () => buildRun({parent: top, timestamp: 1n, count: 3, data: payload, verify: noVerify}),
      (e: unknown) => e instanceof TsvmError && e.code === 'INVALID_ARGUMENT' && e.message.includes(`${2n ** 64n}`),
    )
  })

  it('refuses a payload that is not 32 bytes', () => {
    const payloads = [payload(1), new Uint8Array(31)]
    assert.throws(
      () => buildRun({parent: genesisAt(0n), timestamp: 1n, count: 2, data: (i) => payloads[i]!, verify: noVerify}),
      (e: unknown) => e instanceof TsvmError && e.code === 'BAD_LENGTH',
    )
  })

  it('an empty run has no blocks', () => {
    assert.equal(buildRun({parent: genesisAt(0n), timestamp: 1n, count: 0, data: payload, verify: noVerify}), EMPTY_RUN)
    assert.deepEqual(EMPTY_RUN.blocks(), [])
  })
})

/** A sink that records copies of what it is given (as classic-level copies into its batch), or the arrays themselves. */
function sink(copy: boolean) {
  const ops: Array<[string, string]> = []
  const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')
  const keep = (b: Uint8Array) => (copy ? hex(b) : b)
  const held: Array<[Uint8Array | string, Uint8Array | string]> = []
  return {
    put(key: Uint8Array, value: Uint8Array) {
      held.push([keep(key), keep(value)])
    },
    del() {
      throw new Error('no deletes expected')
    },
    ops() {
      for (const [k, v] of held) ops.push([typeof k === 'string' ? k : hex(k), typeof v === 'string' ? v : hex(v)])
      return ops
    },
  }
}

describe('StateBatch.storeRun', () => {
  it('writes what storeBlock(Accepted) and putHeight write per block, through a copying sink or not', () => {
    const payloads = Array.from({length: 40}, (_, i) => payload(i))
    const parent = genesisAt(2n ** 32n - 20n)
    const run = buildRun({parent, timestamp: 9n, count: payloads.length, data: (i) => payloads[i]!, verify: noVerify})
    const expected = new StateBatch()
    for (const b of reference(parent, 9n, payloads)) expected.storeBlock(b, Status.Accepted).putHeight(b)
    const want = expected.keys.map((k, i) => [
      Buffer.from(k).toString('hex'),
      Buffer.from(expected.values[i]!).toString('hex'),
    ])
    for (const copies of [true, false]) {
      const s = sink(copies)
      const batch = new StateBatch(s as unknown as ConstructorParameters<typeof StateBatch>[0], copies).storeRun(run)
      assert.equal(batch.size, want.length)
      assert.deepEqual(s.ops(), want, copies ? 'scratch arrays, copied by the sink' : 'fresh arrays, kept by the sink')
      assert.deepEqual(batch.runs, [run])
    }

    const listed = new StateBatch().storeRun(run)
    assert.deepEqual(
      listed.keys.map((k, i) => [Buffer.from(k).toString('hex'), Buffer.from(listed.values[i]!).toString('hex')]),
      want,
    )
  })
})
