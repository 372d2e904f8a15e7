import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {EMPTY_ID, idToString, toHex} from '../../src/vm/encoding.js'
import {TsvmError} from '../../src/vm/errors.js'
import {genesisBlock, genesisData, MAX_GENESIS_LENGTH} from '../../src/vm/genesis.js'
import {sha256} from '../../src/vm/hash.js'

const utf8 = (s: string) => new TextEncoder().encode(s)

describe('genesis block (spec §4.1)', () => {
  it('the e2e genesis "e2e": data 653265 + 29 zeros, parent empty, height and time 0', () => {
    const g = genesisBlock(utf8('e2e'))
    assert.equal(toHex(g.data), '653265' + '00'.repeat(29))
    assert.deepEqual(g.parentId, EMPTY_ID)
    assert.equal(g.height, 0n)
    assert.equal(g.timestamp, 0n)
    assert.equal(toHex(g.bytes), '00'.repeat(50) + '653265' + '00'.repeat(29))
    assert.deepEqual(g.id, sha256(g.bytes))
    assert.equal(idToString(g.id), 'SdVstz8FpkYxsneD2XQDk2CK7d1EBe4YVqkhftgbvUiyFfeHJ')
  })

  it('an empty genesis, and the Go tests’ {0,0,0,0,0}, give all-zero data', () => {
    const empty = genesisBlock(new Uint8Array(0))
    assert.equal(toHex(empty.data), '00'.repeat(32))
    assert.equal(idToString(empty.id), '8Q5UN3Q7BfeyBouX6LNKJY5DSWdZMmWXkPE7han6CeNVcmgvD')
    assert.deepEqual(genesisBlock(new Uint8Array(5)).id, empty.id)
  })

  it('trailing zeros do not change the genesis block', () => {
    const a = genesisBlock(utf8('e2e'))
    assert.deepEqual(genesisBlock(utf8('e2e\0')).id, a.id)
    assert.deepEqual(genesisBlock(genesisData(utf8('e2e'))).id, a.id)
  })

  it('accepts 32 bytes and refuses 33 with GENESIS_TOO_LONG', () => {
    assert.equal(MAX_GENESIS_LENGTH, 32)
    const full = new Uint8Array(32).fill(7)
    assert.deepEqual(genesisBlock(full).data, full)
    assert.throws(
      () => genesisBlock(new Uint8Array(33)),
      (e: unknown) => e instanceof TsvmError && e.code === 'GENESIS_TOO_LONG' && e.details?.max === 32,
    )
  })
})
