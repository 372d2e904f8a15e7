import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {tsvm, tsvmJson} from '../helpers/cli.js'

const ONE_TO_32 = Array.from({length: 32}, (_, i) => (i + 1).toString(16).padStart(2, '0')).join('')

describe('tsvm encode', () => {
  it('encodes the spec §2.4 vectors (hex input)', async () => {
    const runs = await Promise.all([
      tsvm(['encode', '--hex', '00', '--encoding', 'cb58']),
      tsvm(['encode', '--hex', '0x00010203040506070809ff']),
      tsvm(['encode', '--hex', '00010203040506070809ff', '--encoding', 'cb58']),
      tsvm(['encode', '--hex', ONE_TO_32, '--encoding', 'cb58']),
      tsvm(['encode', '--hex', ONE_TO_32, '--encoding', 'hexc']),
      tsvm(['encode', '', '--encoding', 'cb58']),
    ])
    assert.deepEqual(
      runs.map((r) => [r.code, r.stdout]),
      [
        [0, '1c7hwa\n'],
        [0, '0x00010203040506070809ff4482539c\n'],
        [0, '1NVSVezva3bAtJesnUj\n'],
        [0, 'SkB92YpWm4Q2ijQHH34cqbKkCZWszsiQgHVjtNeFF2HdvDQU\n'],
        [0, `0x${ONE_TO_32}b7a612c9\n`],
        [0, '45PJLL\n'],
      ],
    )
  })

  it('text and stdin, with --json fields', async () => {
    const [text, stdin, stdinHex, hexnc] = await Promise.all([
      tsvmJson(['encode', 'e2e']),
      tsvmJson(['encode', '-'], {input: Uint8Array.of(0)}),
      tsvm(['encode', '-', '--hex', '--encoding', 'cb58'], {input: '0x00\n'}),
      tsvm(['encode', 'test', '--encoding', 'hexnc']),
    ])
    assert.deepEqual(text.json, {encoded: '0x6532655e975cba', encoding: 'hex', hex: '653265', length: 3})
    assert.deepEqual(stdin.json, {encoded: '0x0017afa01d', encoding: 'hex', hex: '00', length: 1})
    assert.equal(stdinHex.stdout, '1c7hwa\n')
    assert.equal(hexnc.stdout, '0x74657374\n')
  })

  it('--length pads and truncates like the static API', async () => {
    const [pad, cut, keep] = await Promise.all([
      tsvmJson(['encode', '--hex', '01020304', '--length', '32', '--encoding', 'cb58']),
      tsvmJson(['encode', 'abcdef', '--length', '2', '--encoding', 'hexnc']),
      tsvmJson(['encode', 'abc', '--length', '0', '--encoding', 'hexnc']),
    ])
    assert.deepEqual(pad.json, {
      encoded: 'SkB92DD9M2yeCadw22VbnxfV6b7W5YEnnLRs6fKivk6wh2Zy',
      encoding: 'cb58',
      length: 32,
      hex: '01020304' + '00'.repeat(28),
    })
    assert.equal(cut.json.encoded, '0x6162')
    assert.equal(keep.json.encoded, '0x616263')
  })

  it('bad hex is HEX_INVALID (exit 4); an unknown encoding is a usage error', async () => {
    const [odd, digit, enc] = await Promise.all([
      tsvmJson(['encode', '--hex', '123']),
      tsvm(['encode', '--hex', 'zz']),
      tsvm(['encode', 'x', '--encoding', 'json']),
    ])
    assert.deepEqual([odd.code, odd.json.error.code], [4, 'HEX_INVALID'])
    assert.equal(digit.code, 4)
    assert.match(digit.stderr, /\[HEX_INVALID\]/)
    assert.equal(enc.code, 2)
  })
})
