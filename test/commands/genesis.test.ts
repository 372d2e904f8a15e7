import assert from 'node:assert/strict'
import {readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {tempDir, tsvm, tsvmJson} from '../helpers/cli.js'

const E2E_ID = 'SdVstz8FpkYxsneD2XQDk2CK7d1EBe4YVqkhftgbvUiyFfeHJ'
const EMPTY_ID = '8Q5UN3Q7BfeyBouX6LNKJY5DSWdZMmWXkPE7han6CeNVcmgvD'

describe('tsvm genesis', () => {
  let dir: string
  let cleanup: () => Promise<void>
  before(async () => {
    ;({dir, cleanup} = await tempDir())
  })
  after(() => cleanup())

  it('the e2e genesis: --out file, raw stdout, --json', async () => {
    const out = join(dir, 'genesis.bin')
    const [file, piped, json] = await Promise.all([
      tsvm(['genesis', 'e2e', '--out', out]),
      tsvm(['genesis', 'e2e']),
      tsvmJson(['genesis', '--hex', '0x653265']),
    ])
    assert.equal(file.code, 0)
    assert.match(file.stdout, new RegExp(`genesisID +${E2E_ID}\n`))
    assert.equal(await readFile(out, 'utf8'), 'e2e')
    assert.deepEqual([piped.code, piped.stdout], [0, 'e2e'])
    assert.match(piped.stderr, new RegExp(E2E_ID))
    assert.deepEqual(
      [json.json.block.id, json.json.block.dataHex, json.json.genesis, json.json.out],
      [E2E_ID, '653265' + '00'.repeat(29), '653265', null],
    )
  })

  it('an empty genesis, --file input, and --file errors', async () => {
    const src = join(dir, 'zeros.bin')
    await writeFile(src, new Uint8Array(5))
    const [empty, fromFile, both, missing] = await Promise.all([
      tsvmJson(['genesis', '']),
      tsvmJson(['genesis', '--file', src]),
      tsvmJson(['genesis', 'x', '--file', src]),
      tsvmJson(['genesis', '--file', join(dir, 'missing.bin')]),
    ])
    assert.deepEqual([both.code, both.json.error.code], [2, 'USAGE'])
    assert.deepEqual([missing.code, missing.json.error.code], [3, 'FILE_NOT_FOUND'])
    assert.deepEqual(
      [empty.json.block.id, empty.json.block.dataHex, empty.json.genesis, empty.json.out],
      [EMPTY_ID, '00'.repeat(32), '', null],
    )
    assert.deepEqual([fromFile.json.block.id, fromFile.json.genesis], [EMPTY_ID, '0000000000'])
  })

  it('more than 32 bytes is GENESIS_TOO_LONG (exit 4), and nothing is written', async () => {
    const out = join(dir, 'long.bin')
    const [json, human] = await Promise.all([
      tsvmJson(['genesis', 'x'.repeat(33), '--out', out]),
      tsvm(['genesis', '--hex', '00'.repeat(33)]),
    ])
    assert.deepEqual([json.code, json.json.error.code, json.json.error.max], [4, 'GENESIS_TOO_LONG', 32])
    assert.deepEqual([human.code, human.stdout], [4, ''])
    assert.match(human.stderr, /max length 32.*\[GENESIS_TOO_LONG\]/)
    await assert.rejects(readFile(out), {code: 'ENOENT'})
  })
})
