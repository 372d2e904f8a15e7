import assert from 'node:assert/strict'
import {writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {tempDir, tsvm, tsvmJson} from '../helpers/cli.js'

// spec §2.4: sha256("test") and its checksummed hex
const TEST = {
  data: '0x9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08e82209f4',
  dataHex: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
  dataCB58: '2DFtpKRbW2nfrzgAgE25onW3vwCQwM7S1iHk34LW9cwH2qBuVV',
}
const EMPTY = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'

describe('tsvm hash', () => {
  let dir: string
  let cleanup: () => Promise<void>
  before(async () => {
    ;({dir, cleanup} = await tempDir())
  })
  after(() => cleanup())

  it('hashes files and stdin: one row each, --json', async () => {
    const test = join(dir, 'test.txt')
    const empty = join(dir, 'empty')
    await writeFile(test, 'test')
    await writeFile(empty, '')
    const [human, json, stdin] = await Promise.all([
      tsvm(['hash', test, empty]),
      tsvmJson(['hash', test, empty]),
      tsvmJson(['hash', '-'], {input: 'test'}),
    ])
    assert.equal(human.code, 0)
    assert.deepEqual(
      human.stdout
        .trimEnd()
        .split('\n')
        .map((l) => l.split(/\s+/)),
      [
        [TEST.dataHex, TEST.dataCB58, TEST.data, test],
        [EMPTY, json.json.files[1].dataCB58, json.json.files[1].data, empty],
      ],
    )
    assert.deepEqual(json.json.files[0], {path: test, ...TEST})
    assert.equal(json.json.files[1].dataHex, EMPTY)
    assert.deepEqual(stdin.json, {files: [{path: '-', ...TEST}], errors: []})
  })

  it('a missing file is FILE_NOT_FOUND (exit 3) naming it; a directory is refused (exit 4)', async () => {
    const missing = join(dir, 'missing.bin')
    const [json, human, directory] = await Promise.all([
      tsvmJson(['hash', missing]),
      tsvm(['hash', join(dir, 'test.txt'), missing]),
      tsvmJson(['hash', dir]),
    ])
    assert.deepEqual([json.code, json.json.error.code, json.json.error.path], [3, 'FILE_NOT_FOUND', missing])
    assert.equal(human.code, 3)
    assert.ok(human.stderr.includes(missing))
    assert.deepEqual([directory.code, directory.json.error.code], [4, 'INVALID_ARGUMENT'])
  })

  it('a missing file among others: the rest are hashed, then exit 3, as sha256sum does', async () => {
    const a = join(dir, 'a.txt')
    const b = join(dir, 'b.txt')
    await Promise.all([writeFile(a, 'test'), writeFile(b, '')])
    const missing = join(dir, 'nope.bin')
    const [human, json] = await Promise.all([tsvm(['hash', a, missing, b]), tsvmJson(['hash', a, missing, b])])
    assert.equal(human.code, 3)
    assert.deepEqual(
      human.stdout
        .trim()
        .split('\n')
        .map((l) => [l.split(/ +/)[0], l.split(/ +/).at(-1)]),
      [
        [TEST.dataHex, a],
        [EMPTY, b],
      ],
    )
    assert.match(human.stderr, new RegExp(`no such file.*${missing}.*\\[FILE_NOT_FOUND\\]`))
    assert.equal(json.code, 3)
    assert.deepEqual(
      json.json.files.map((f: {path: string}) => f.path),
      [a, b],
    )
    assert.deepEqual(
      json.json.errors.map((e: {code: string; path: string}) => [e.code, e.path]),
      [['FILE_NOT_FOUND', missing]],
    )
  })
})
