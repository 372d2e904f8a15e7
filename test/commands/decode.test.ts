import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {tsvm, tsvmJson} from '../helpers/cli.js'

const ONE_TO_32 = Array.from({length: 32}, (_, i) => (i + 1).toString(16).padStart(2, '0')).join('')

// spec §2.4: [hex of the bytes, CB58, checksummed hex]
const VECTORS: Array<[string, string, string]> = [
  ['', '45PJLL', '0x7852b855'],
  ['00', '1c7hwa', '0x0017afa01d'],
  ['00010203040506070809ff', '1NVSVezva3bAtJesnUj', '0x00010203040506070809ff4482539c'],
  [ONE_TO_32, 'SkB92YpWm4Q2ijQHH34cqbKkCZWszsiQgHVjtNeFF2HdvDQU', `0x${ONE_TO_32}b7a612c9`],
]

describe('tsvm decode', () => {
  it('decodes the spec §2.4 vectors, detecting the encoding (CB58 and hex in turn)', async () => {
    const runs = await Promise.all(VECTORS.map(([, cb58, hex], i) => tsvmJson(['decode', i % 2 === 0 ? cb58 : hex])))
    assert.deepEqual(
      runs.map((r) => [r.code, r.json.encoding, r.json.hex, r.json.length]),
      VECTORS.map(([bytes], i) => [0, i % 2 === 0 ? 'cb58' : 'hex', bytes, bytes.length / 2]),
    )
  })

  it('shows text when printable, reads stdin, honours --encoding', async () => {
    const [human, json, stdin, hexnc, binary, lines] = await Promise.all([
      tsvm(['decode', '0x6532655e975cba']),
      tsvmJson(['decode', '0x6532655e975cba']),
      tsvmJson(['decode', '-'], {input: '  1c7hwa\n'}),
      tsvmJson(['decode', '0x74657374', '--encoding', 'hexnc']),
      tsvm(['decode', '1c7hwa']),
      tsvm(['decode', '0x610a62', '--encoding', 'hexnc']),
    ])
    assert.equal(human.code, 0)
    assert.deepEqual(
      human.stdout.split('\n').map((l) => l.split(/\s+/)),
      [['hex', '653265'], ['text', 'e2e'], ['length', '3'], ['encoding', 'hex'], ['']],
    )
    assert.deepEqual(json.json, {encoding: 'hex', hex: '653265', length: 3, text: 'e2e', zeroPadding: 0})
    assert.deepEqual(stdin.json, {encoding: 'cb58', hex: '00', length: 1, text: null, zeroPadding: 0})
    assert.deepEqual(hexnc.json, {encoding: 'hexnc', hex: '74657374', length: 4, text: 'test', zeroPadding: 0})
    assert.doesNotMatch(binary.stdout, /text/)
    assert.match(lines.stdout, /^text +"a\\nb"$/m)
  })

  it('each bad input class has its code and exit 4', async () => {
    const cases: Array<[string[], string]> = [
      [['1c7hw0'], 'CB58_BAD_CHAR'],
      [['1'], 'CB58_TOO_SHORT'],
      [['0x0017afa01e'], 'HEX_BAD_CHECKSUM'],
      [['017afa01d'], 'HEX_MISSING_PREFIX'],
    ]
    const [runs, human] = await Promise.all([
      Promise.all(cases.map(([args]) => tsvmJson(['decode', ...args]))),
      tsvm(['decode', '1c7hwb']),
    ])
    assert.deepEqual(
      runs.map((r) => [r.code, r.json.error.code]),
      cases.map(([, c]) => [4, c]),
    )
    assert.equal(human.code, 4)
    assert.equal(human.stdout, '')
    assert.match(human.stderr, /\[CB58_BAD_CHECKSUM\]/)
  })

  it('reads the plain hex tsvm prints (dataHex, hash), with or without -e hexnc', async () => {
    const hash = '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08'
    const [auto, nc] = await Promise.all([
      tsvmJson(['decode', hash]),
      tsvmJson(['decode', hash, '--encoding', 'hexnc']),
    ])
    for (const r of [auto, nc]) {
      assert.equal(r.code, 0, r.stderr)
      assert.deepEqual([r.json.hex, r.json.length, r.json.encoding], [hash, 32, 'hexnc'])
    }
  })

  it('a zero-padded name (a VM ID) shows its text and how many zero bytes follow', async () => {
    const vmID = 'tGas3T58KzdjcJ2iKSyiYsWiqYctRXaPTqBCA11BqEkNg8kPc' // timestampvm
    const [json, human] = await Promise.all([tsvmJson(['decode', vmID]), tsvm(['decode', vmID])])
    assert.deepEqual([json.json.text, json.json.zeroPadding, json.json.length], ['timestampvm', 21, 32])
    assert.match(human.stdout, /^text +timestampvm \(then 21 zero bytes\)$/m)
  })
})
