// Adopting a state the Go VM wrote (src/vm/adopt.ts), in process: the indexes it writes are
// exactly tsvm's, an adoption stopped after any batch is finished by the next open, and damaged
// states are refused with nothing written. The real binary and SIGKILL are in test/commands/adopt.test.ts.
import assert from 'node:assert/strict'
import {cp} from 'node:fs/promises'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {byPayload, GoBlocks, scanBlockSpace, walk, walkPlain} from '../../src/vm/adopt-scan.js'
import {adoptionNeed, adoptState} from '../../src/vm/adopt.js'
import {decodeWrapper, encodeWrapper, Status} from '../../src/vm/block.js'
import {idToString, toHex} from '../../src/vm/encoding.js'
import {genesisData} from '../../src/vm/genesis.js'
import {
  BLOCK_PREFIX,
  blockKey,
  ChainState,
  GENESIS_KEY,
  LAST_ACCEPTED_KEY,
  prefixEnd,
  SINGLETON_PREFIX,
} from '../../src/vm/state.js'
import {TimestampVM} from '../../src/vm/vm.js'
import {tempDir} from '../helpers/cli.js'
import {rejectionCode} from '../helpers/errors.js'
import {buildChain, dump, stripToGo, withDb} from '../helpers/go-state.js'

const BLOCKS = 1200
const REJECTED = 3
const e2e = new TextEncoder().encode('e2e')
const genesisKeyHex = toHex(GENESIS_KEY)

/** The keys of a tsvm data dir as an adoption must leave them: the same, with the genesis bytes padded. */
function expected(original: Map<string, string>): Map<string, string> {
  const out = new Map(original)
  out.set(genesisKeyHex, toHex(genesisData(e2e)))
  return out
}

/** What a walk returns, or the error it throws, as text to compare. */
function outcome(f: () => Int32Array): string {
  try {
    return `chain ${f().join(',')}`
  } catch (error) {
    const {code, message, details} = error as {code?: string; message: string; details?: unknown}
    return `${code}: ${message} ${JSON.stringify(details)}`
  }
}

describe('adopting a Go state', () => {
  let root: string
  let cleanup: () => Promise<void>
  let original: Map<string, string>
  let goDir: string
  let goKeys: Map<string, string>
  let n = 0
  const copy = async (from = goDir) => {
    const to = join(root, `copy-${n++}`)
    await cp(from, to, {recursive: true})
    return to
  }

  before(async () => {
    ;({dir: root, cleanup} = await tempDir('tsvm-adopt-'))
    const tsvmDir = join(root, 'tsvm')
    await buildChain(tsvmDir, BLOCKS, REJECTED)
    original = await dump(tsvmDir)
    goDir = await copy(tsvmDir)
    assert.ok((await stripToGo(goDir)) > 2 * BLOCKS)
    goKeys = await dump(goDir)
  })
  after(() => cleanup())

  it('writes exactly the indexes tsvm keeps, rejected blocks included, and the chain checks', async () => {
    const dir = await copy()
    const vm = await TimestampVM.open(dir, {adopt: {batchSize: 100}})
    try {
      assert.deepEqual(
        {...vm.adoption!, ms: 0},
        {
          blocks: BLOCKS + 1,
          rejected: REJECTED,
          lastAcceptedHeight: String(BLOCKS),
          lastAcceptedID: idToString(vm.lastAccepted().id),
          genesisData: toHex(genesisData(e2e)),
          // The marker, the index (a height and a payload entry per accepted block, a payload entry
          // per rejected one) in batches of at most 2 x 100 writes, the final batch.
          batches: 2 + Math.ceil((2 * (BLOCKS + 1) + REJECTED) / 200),
          resumed: false,
          ms: 0,
        },
      )
      const report = await vm.check()
      assert.deepEqual(report.problems, [])
      assert.equal(report.blocks, BLOCKS + 1 + REJECTED)
      // init --genesis matches by padded data: "e2e" and its 32-byte padding are the same chain.
      assert.equal((await vm.initialize(e2e)).created, false)
      assert.equal((await vm.initialize(genesisData(e2e))).created, false)
      assert.equal(await rejectionCode(vm.initialize(new TextEncoder().encode('other'))), 'GENESIS_MISMATCH')
    } finally {
      await vm.close()
    }

    assert.deepEqual(await dump(dir), expected(original))
  })

  it('a tsvm data dir is not adopted again, and a new one has nothing to adopt', async () => {
    const dir = await copy()
    await (await TimestampVM.open(dir)).close()
    const vm = await TimestampVM.open(dir)
    assert.equal(vm.adoption, undefined)
    await vm.close()
    const fresh = await TimestampVM.open(join(root, 'fresh'))
    assert.equal(fresh.adoption, undefined)
    await fresh.close()
  })

  it('stopped after any batch, the state is refused by check and the next open finishes it', async () => {
    const batchSize = 300
    const total = 2 + Math.ceil((2 * (BLOCKS + 1) + REJECTED) / (2 * batchSize))
    for (let stop = 1; stop < total; stop++) {
      const dir = await copy()
      const state = await ChainState.open(dir)
      try {
        const halted = new Error('halt')
        await assert.rejects(
          adoptState(state, {
            batchSize,
            onBatch(b) {
              if (b === stop) throw halted
            },
          }),
          (e) => e === halted,
        )
        assert.equal(await adoptionNeed(state), 'resume', `after batch ${stop}`)
        const {checkState} = await import('../../src/vm/check.js')
        const report = await checkState(state)
        assert.ok(
          report.problems.some((p) => p.kind === 'adoption-incomplete'),
          `check after batch ${stop}`,
        )
      } finally {
        await state.close()
      }

      const vm = await TimestampVM.open(dir, {adopt: {batchSize}})
      assert.equal(vm.adoption?.resumed, true)
      assert.deepEqual((await vm.check()).problems, [])
      await vm.close()
      assert.deepEqual(await dump(dir), expected(original), `after batch ${stop}`)
    }
  })

  it('refuses a missing parent with the height and ID where the walk stopped, writing nothing', async () => {
    const dir = await copy()
    // Remove the block at height 500: the walk from the tip stops at 501.
    const {at501} = await withDb(dir, async (db) => {
      let cur = await db.get(LAST_ACCEPTED_KEY)
      let {block} = decodeWrapper((await db.get(blockKey(cur!)))!)
      while (block.height > 501n) {
        cur = block.parentId
        block = decodeWrapper((await db.get(blockKey(cur)))!).block
      }

      await db.del(blockKey(block.parentId))
      return {at501: block}
    })
    const before = await dump(dir)
    const error = await TimestampVM.open(dir).then(
      () => assert.fail('opened'),
      (error_) => error_,
    )
    assert.equal(error.code, 'ADOPT_FAILED')
    assert.deepEqual(error.details, {height: '501', id: idToString(at501.id)})
    assert.match(error.message, /height 501/)
    assert.deepEqual(await dump(dir), before)
  })

  it('refuses a block whose bytes do not hash to its key, writing nothing', async () => {
    const dir = await copy()
    const victim = await withDb(dir, async (db) => {
      const tip = await db.get(LAST_ACCEPTED_KEY)
      const tipBlock = decodeWrapper((await db.get(blockKey(tip!)))!).block
      const parentKey = blockKey(tipBlock.parentId)
      const parent = decodeWrapper((await db.get(parentKey))!).block
      const bytes = parent.bytes.slice()
      // eslint-disable-next-line unicorn/prefer-at -- an assignment target: .at() cannot be assigned to
      bytes[bytes.length - 1]! ^= 1 // one bit of the payload
      await db.put(parentKey, encodeWrapper(bytes, Status.Accepted))
      return parent
    })
    const before = await dump(dir)
    const error = await TimestampVM.open(dir).then(
      () => assert.fail('opened'),
      (error_) => error_,
    )
    assert.equal(error.code, 'ADOPT_FAILED')
    assert.deepEqual(error.details, {height: String(victim.height), id: idToString(victim.id)})
    assert.deepEqual(await dump(dir), before)
  })

  it('refuses an accepted block off the chain of the last accepted one, and a block stored as processing', async () => {
    for (const status of [Status.Accepted, Status.Processing]) {
      const dir = await copy()
      // One of the rejected blocks, rewritten with another status.
      const victim = await withDb(dir, async (db) => {
        for await (const [k, v] of db.iterator({gte: BLOCK_PREFIX, lt: prefixEnd(BLOCK_PREFIX)})) {
          if (v.length !== 92) continue
          const record = decodeWrapper(v)
          if (record.status !== Status.Rejected) continue
          await db.put(k, encodeWrapper(record.block.bytes, status))
          return record.block
        }

        throw new Error('no rejected block')
      })
      const before = await dump(dir)
      const error = await TimestampVM.open(dir).then(
        () => assert.fail('opened'),
        (error_) => error_,
      )
      assert.equal(error.code, 'ADOPT_FAILED')
      assert.deepEqual(error.details, {height: String(victim.height), id: idToString(victim.id)})
      assert.deepEqual(await dump(dir), before)
    }
  })

  it('the stripped state holds only Go keys, and check reports its missing indexes', async () => {
    for (const k of goKeys.keys())
      assert.ok(k.startsWith(toHex(BLOCK_PREFIX)) || k.startsWith(toHex(SINGLETON_PREFIX)), k)
    assert.equal(goKeys.size, BLOCKS + 1 + REJECTED + 2)
    const dir = await copy()
    const state = await ChainState.open(dir)
    try {
      assert.equal(await adoptionNeed(state), 'adopt')
      const {checkState} = await import('../../src/vm/check.js')
      assert.ok((await checkState(state)).problems.some((p) => p.kind === 'not-indexed'))
    } finally {
      await state.close()
    }
  })

  it('the fast walk accepts and refuses exactly what the plain walk does, with the same error', async () => {
    const state = await ChainState.open(await copy())
    let blocks: GoBlocks
    let lastId: Uint8Array
    try {
      blocks = await scanBlockSpace(state.db)
      lastId = (await state.db.get(LAST_ACCEPTED_KEY))!
    } finally {
      await state.close()
    }

    /** A copy of the tables with block i's stored value changed by `change`. */
    const mutated = (change: (value: Uint8Array) => void, i: number): GoBlocks => {
      const out = new GoBlocks(16)
      for (let j = 0; j < blocks.count; j++) {
        const value = blocks.values.slice(j * 92, (j + 1) * 92)
        if (j === i) change(value)
        const key = new Uint8Array(64)
        key.set(BLOCK_PREFIX)
        key.set(blocks.id(j), 32)
        out.add(key, value)
      }

      return out
    }

    // A fixed sequence of blocks and changes (no randomness: the same cases on every run).
    let seed = 12_345
    const changes: Array<[string, (v: Uint8Array) => void]> = [
      [
        'a parent byte',
        (v) => {
          v[8 + (seed % 32)]! ^= 1
        },
      ],
      [
        'a height byte',
        (v) => {
          v[40 + (seed % 8)]! ^= 1 << (seed % 8)
        },
      ],
      [
        'the height +1',
        (v) => {
          v[47]! += 1
        },
      ],
      [
        'a timestamp byte',
        (v) => {
          v[48 + (seed % 8)]! ^= 1 << (seed % 8)
        },
      ],
      [
        'the timestamp -1',
        (v) => {
          v[55]! -= 1
        },
      ],
      [
        'the status',
        (v) => {
          v[91] = v[91] === Status.Accepted ? Status.Rejected : Status.Accepted
        },
      ],
      [
        'the height of another block',
        (v) => {
          const other = ((seed * 7) % blocks.count) * 92
          v.set(blocks.values.subarray(other + 40, other + 48), 40)
        },
      ],
    ]
    let refused = 0
    assert.equal(
      outcome(() => walk(blocks, lastId)),
      outcome(() => walkPlain(blocks, lastId)),
    )
    assert.match(
      outcome(() => walk(blocks, lastId)),
      /^chain /,
    )
    for (let n = 0; n < 120; n++) {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
      const i = seed % blocks.count
      const [what, change] = changes[n % changes.length]!
      const b = mutated(change, i)
      const fast = outcome(() => walk(b, lastId))
      assert.equal(
        fast,
        outcome(() => walkPlain(b, lastId)),
        `${what} of block ${i}`,
      )
      if (!fast.startsWith('chain')) {
        assert.match(fast, /^ADOPT_FAILED: /)
        refused++
      }
    }

    assert.ok(refused > 60, `${refused} of 120 changes refused`)
    // The last accepted ID another block's: the parent of the tip, and a rejected block.
    const parentOfTip = blocks.parent(walk(blocks, lastId).at(-1)!)
    assert.equal(
      outcome(() => walk(blocks, parentOfTip)),
      outcome(() => walkPlain(blocks, parentOfTip)),
    )
    assert.match(
      outcome(() => walk(blocks, parentOfTip)),
      /is not on the chain of the last accepted block/,
    )
    const rejectedId = blocks.id(
      [...Array.from({length: blocks.count}).keys()].find((j) => blocks.values[j * 92 + 91] === Status.Rejected)!,
    )
    assert.equal(
      outcome(() => walk(blocks, rejectedId)),
      outcome(() => walkPlain(blocks, rejectedId)),
    )
  })

  it('the tables grow past their first size, and byPayload orders the blocks by payload', async () => {
    const state = await ChainState.open(await copy())
    try {
      const small = await scanBlockSpace(state.db, 16)
      const large = await scanBlockSpace(state.db, 10_000)
      assert.equal(small.count, BLOCKS + 1 + REJECTED)
      assert.equal(small.accepted, BLOCKS + 1)
      assert.deepEqual(small.values.subarray(0, small.count * 92), large.values.subarray(0, large.count * 92))
      assert.deepEqual(small.ids.subarray(0, small.count * 32), large.ids.subarray(0, large.count * 32))
      // The test payloads differ in their first 8 bytes, so the order is the full key order here.
      const order = byPayload(small)
      assert.deepEqual(
        [...order].sort((a, b) => a - b),
        [...Array.from({length: small.count}).keys()],
      )
      for (let k = 1; k < order.length; k++) {
        const a = toHex(small.data(order[k - 1]!))
        const b = toHex(small.data(order[k]!))
        assert.ok(a < b || (a === b && order[k - 1]! < order[k]!), `payload order at ${k}`)
      }
    } finally {
      await state.close()
    }
  })
})
