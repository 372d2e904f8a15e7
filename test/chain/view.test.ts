import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {blockJson, unixToIso} from '../../src/chain/view.js'
import {makeBlock, Status} from '../../src/vm/block.js'
import {EMPTY_ID, fromHex} from '../../src/vm/encoding.js'

describe('blockJson', () => {
  const block = makeBlock({
    parentId: EMPTY_ID,
    height: 1n,
    timestamp: 1_700_000_000n,
    data: fromHex('9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08'),
  })

  it('uses the API field names and forms', () => {
    const v = blockJson(block)
    assert.deepEqual(Object.keys(v), [
      'id',
      'parentID',
      'height',
      'timestamp',
      'time',
      'data',
      'dataHex',
      'dataCB58',
      'status',
      'bytes',
    ])
    assert.equal(v.status, null, 'always present: null when not known')
    assert.equal(v.parentID, '11111111111111111111111111111111LpoYY')
    assert.equal(v.height, '1')
    assert.equal(v.timestamp, '1700000000')
    assert.equal(v.time, '2023-11-14T22:13:20.000Z')
    assert.equal(v.data, '0x9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08e82209f4')
    assert.equal(v.dataHex, '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08')
    assert.equal(v.bytes.length, 164)
  })

  it('puts the status before the bytes', () => {
    const v = blockJson(block, Status.Accepted)
    assert.equal(v.status, 'Accepted')
    assert.deepEqual(Object.keys(v).slice(-2), ['status', 'bytes'])
  })
})

describe('unixToIso', () => {
  it('formats the Date range and gives null outside it', () => {
    assert.equal(unixToIso(0n), '1970-01-01T00:00:00.000Z')
    assert.equal(unixToIso(-1n), '1969-12-31T23:59:59.000Z')
    assert.equal(unixToIso(8_640_000_000_000n), '+275760-09-13T00:00:00.000Z')
    assert.equal(unixToIso(8_640_000_000_001n), null)
    assert.equal(unixToIso(2n ** 63n - 1n), null)
    assert.equal(unixToIso(-(2n ** 63n)), null)
  })
})
