import assert from 'node:assert/strict'
import {existsSync} from 'node:fs'
import {rm} from 'node:fs/promises'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {makeBlock, Status} from '../../src/vm/block.js'
import {EMPTY_ID, toHex} from '../../src/vm/encoding.js'
import {sha256} from '../../src/vm/hash.js'
import {
  blockKey,
  ChainState,
  dataKey,
  heightKey,
  INITIALIZED_KEY,
  LAST_ACCEPTED_KEY,
  mempoolKey,
  prefixEnd,
  PROBE_KEY,
  StateBatch,
} from '../../src/vm/state.js'
import {watchBatchWrites} from '../helpers/batch-writes.js'
import {tempDir} from '../helpers/cli.js'
import {rejectionCode} from '../helpers/errors.js'

const text = (s: string) => new TextEncoder().encode(s)

let dir: string
let cleanup: () => Promise<void>
before(async () => {
  ;({dir, cleanup} = await tempDir('tsvm-state-'))
})
after(() => cleanup())

describe('key layout (spec §5)', () => {
  it("uses Go's keys: sha256(prefix) ‖ key", () => {
    const id = sha256(text('x'))
    assert.equal(toHex(blockKey(id)), toHex(sha256(text('block'))) + toHex(id))
    assert.equal(toHex(LAST_ACCEPTED_KEY), '496aca80e4d8f29fb8e8cd816c3afb48d3f103970b3a2ee1600c08ca67326dee00')
    assert.equal(toHex(INITIALIZED_KEY), 'e234ee35f82c5dd3f2f20ef0835225e326805e56b5fe83ee5e56c0f899f4901d00')
  })

  it('orders heights and mempool sequences numerically (big-endian)', () => {
    assert.ok(Buffer.compare(heightKey(255n), heightKey(256n)) < 0)
    assert.ok(Buffer.compare(mempoolKey(9n), mempoolKey(10n)) < 0)
  })

  it('prefixEnd bounds a prefix, carrying over 0xff', () => {
    assert.deepEqual(prefixEnd(Uint8Array.from([1, 2, 3])), Uint8Array.from([1, 2, 4]))
    assert.deepEqual(prefixEnd(Uint8Array.from([1, 0xff, 0xff])), Uint8Array.from([2]))
    assert.throws(() => prefixEnd(Uint8Array.from([0xff])))
  })
})

describe('ChainState', () => {
  it('writes batches atomically and finds every block that holds a payload by prefix scan', async () => {
    const state = await ChainState.open(dir)
    try {
      const data = sha256(text('payload'))
      const other = data.slice()
      other[31]! ^= 1 // shares 31 bytes with `data`: must not show up in its scan
      const blocks = [1n, 2n, 3n].map((t) => makeBlock({parentId: EMPTY_ID, height: 1n, timestamp: t, data}))
      const stranger = makeBlock({parentId: EMPTY_ID, height: 1n, timestamp: 9n, data: other})
      const batch = new StateBatch()
      batch.storeBlock(blocks[0]!, Status.Accepted).storeBlock(blocks[1]!, Status.Rejected).putProcessing(blocks[2]!)
      batch.putProcessing(stranger)
      await state.write(batch, {sync: true})
      const ids = (await state.idsByData(data)).map((b) => toHex(b)).sort()
      assert.deepEqual(ids, blocks.map((b) => toHex(b.id)).sort())
      assert.equal((await state.getStored(blocks[1]!.id))?.status, Status.Rejected)
      assert.equal(await state.getStored(blocks[2]!.id), undefined, 'processing blocks are not under the Go block key')
      assert.equal((await state.loadProcessing()).length, 2)
      assert.equal(toHex((await state.db.get(dataKey(data, blocks[0]!.id)))!), '')
    } finally {
      await state.close()
    }
  })
})

const put = (i: number) => new StateBatch().putMempool(BigInt(i), sha256(text(`p${i}`)))

describe('write order', () => {
  it('hands a write to LevelDB inside write() when none is outstanding, and queues one behind an outstanding write', async () => {
    const state = await ChainState.open(join(dir, 'order'))
    try {
      const {started, landed} = watchBatchWrites(state.db)
      const first = state.prepare(put(1)).write({sync: true})
      assert.deepEqual(started, [1], 'in LevelDB before write() returns')
      const second = state.prepare(put(2)).write({sync: true})
      assert.deepEqual(started, [1], 'waits for the write before it')
      await Promise.all([first, second])
      assert.deepEqual(landed, [1, 2])
      const third = state.prepare(put(3)).write({sync: true})
      assert.deepEqual(started, [1, 2, 3], 'none outstanding once the ones before have been awaited')
      await third
      assert.deepEqual(
        (await state.loadMempool()).map((e) => e.seq),
        [1n, 2n, 3n],
      )
    } finally {
      await state.close()
    }
  })
})

describe('a failed write poisons the handle', () => {
  it('refuses every later write, even once the database works again, until reopen() reads a test write back', async () => {
    const state = await ChainState.open(join(dir, 'poison'))
    try {
      await state.write(put(0), {sync: true})
      // A real failed write: the batch is handed to LevelDB, then the database closes under it.
      const doomed = state.prepare(put(1))
      await state.db.close()
      assert.equal(await rejectionCode(doomed.write({sync: true})), 'DB_WRITE_FAILED')
      assert.equal(state.failure?.code, 'DB_WRITE_FAILED')
      // LevelDB takes writes again (as after a full disk is freed), but this handle must not.
      await state.db.open()
      assert.equal(await rejectionCode(state.write(put(2), {sync: true})), 'DB_WRITE_FAILED')
      assert.equal(await rejectionCode(async () => state.directBatch()), 'DB_WRITE_FAILED')
      // Reads go on meanwhile.
      assert.equal((await state.loadMempool()).length, 1)
      await state.reopen()
      assert.equal(state.failure, undefined)
      await state.write(put(3), {sync: true})
      assert.equal(await state.db.get(PROBE_KEY), undefined, 'the test write is deleted again')
    } finally {
      await state.close()
    }

    const again = await ChainState.open(join(dir, 'poison'))
    try {
      assert.deepEqual(
        (await again.loadMempool()).map((e) => e.seq),
        [0n, 3n],
      )
    } finally {
      await again.close()
    }
  })

  it('keeps refusing when the reopen fails, and reads say why', async () => {
    const state = await ChainState.open(join(dir, 'gone'))
    try {
      await state.write(new StateBatch().setPreferred(sha256(text('x'))), {sync: true})
      const doomed = state.prepare(new StateBatch().setPreferred(sha256(text('y'))))
      await state.db.close()
      await assert.rejects(doomed.write({sync: true}))
      // The data dir goes away: the reopen must not create an empty database in its place.
      await rm(join(dir, 'gone'), {recursive: true, force: true})
      assert.equal(await rejectionCode(state.reopen()), 'DB_WRITE_FAILED')
      assert.equal(await rejectionCode(state.preferredId()), 'DB_WRITE_FAILED')
      assert.equal(existsSync(join(dir, 'gone', 'CURRENT')), false)
    } finally {
      await state.close()
    }
  })
})
