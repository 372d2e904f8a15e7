import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {blockJson} from '../../src/chain/view.js'
import {makeBlock} from '../../src/vm/block.js'
import {fromHex, toHex} from '../../src/vm/encoding.js'
import {genesisBlock} from '../../src/vm/genesis.js'
import {tsvm, tsvmJson} from '../helpers/cli.js'

describe('tsvm parse-block', () => {
  const parent = genesisBlock(new TextEncoder().encode('e2e'))
  const block = makeBlock({
    parentId: parent.id,
    height: 1n,
    timestamp: 1_700_000_000n,
    data: fromHex('9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08'),
  })

  it('round-trips a block made by makeBlock: hex argument, 0x, raw and hex stdin', async () => {
    const hex = toHex(block.bytes)
    const [arg, prefixed, raw, text, human] = await Promise.all([
      tsvmJson(['parse-block', hex]),
      tsvmJson(['parse-block', '0x' + hex]),
      tsvmJson(['parse-block', '-'], {input: block.bytes}),
      tsvmJson(['parse-block', '-'], {input: hex + '\n'}),
      tsvm(['parse-block', hex]),
    ])
    const expected = blockJson(block)
    for (const r of [arg, prefixed, raw, text]) assert.deepEqual([r.code, r.json], [0, expected])
    assert.equal(expected.time, '2023-11-14T22:13:20.000Z')
    assert.equal(expected.parentID, 'SdVstz8FpkYxsneD2XQDk2CK7d1EBe4YVqkhftgbvUiyFfeHJ')
    assert.equal(human.code, 0)
    assert.match(human.stdout, new RegExp(`^id +${expected.id}\n`))
    assert.match(human.stdout, /\ntimestamp +1700000000 \(2023-11-14T22:13:20\.000Z\)\n/)
  })

  it('timestamps outside the Date range do not crash', async () => {
    const far = makeBlock({parentId: parent.id, height: 2n, timestamp: 2n ** 63n - 1n, data: new Uint8Array(32)})
    const [json, human] = await Promise.all([
      tsvmJson(['parse-block', toHex(far.bytes)]),
      tsvm(['parse-block', toHex(far.bytes)]),
    ])
    assert.deepEqual([json.code, json.json.timestamp, json.json.time], [0, '9223372036854775807', null])
    assert.equal(human.code, 0)
  })

  it('81 and 83 bytes, version 1 and bad hex fail with their codes (exit 4)', async () => {
    const v1 = block.bytes.slice()
    v1[1] = 1
    const cases: Array<[string, string]> = [
      [toHex(block.bytes.subarray(0, 81)), 'BLOCK_BAD_LENGTH'],
      [toHex(block.bytes) + '00', 'BLOCK_BAD_LENGTH'],
      [toHex(v1), 'BLOCK_BAD_VERSION'],
      ['0xzz', 'HEX_INVALID'],
    ]
    const [runs, human] = await Promise.all([
      Promise.all(cases.map(([arg]) => tsvmJson(['parse-block', arg]))),
      tsvm(['parse-block', toHex(v1)]),
    ])
    assert.deepEqual(
      runs.map((r) => [r.code, r.json.error.code]),
      cases.map(([, c]) => [4, c]),
    )
    assert.equal(human.code, 4)
    assert.match(human.stderr, /\[BLOCK_BAD_VERSION\]/)
  })
})
