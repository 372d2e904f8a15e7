import assert from 'node:assert/strict'
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
  StateBatch,
} from '../../src/vm/state.js'
import {tempDir} from '../helpers/cli.js'

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
      const ids = (await state.idsByData(data)).map(toHex).sort()
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
