import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'
import {writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {Readable} from 'node:stream'
import {after, before, describe, it} from 'node:test'

import {hashFile, hashStream} from '../../src/proof/hash.js'
import {toHex} from '../../src/vm/encoding.js'
import {TsvmError} from '../../src/vm/errors.js'
import {tempDir} from '../helpers/cli.js'

const SHA256_TEST = '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08'

describe('hashFile / hashStream', () => {
  let dir: string
  let cleanup: () => Promise<void>
  before(async () => {
    ;({dir, cleanup} = await tempDir())
  })
  after(() => cleanup())

  it('sha256("test") (spec §2.4)', async () => {
    await writeFile(join(dir, 'test.txt'), 'test')
    assert.equal(toHex(await hashFile(join(dir, 'test.txt'))), SHA256_TEST)
    assert.equal(toHex(await hashStream(Readable.from([Buffer.from('te'), Buffer.from('st')]))), SHA256_TEST)
  })

  it('an empty file, and a file larger than one read chunk', async () => {
    await writeFile(join(dir, 'empty'), '')
    assert.equal(
      toHex(await hashFile(join(dir, 'empty'))),
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    )
    const big = Buffer.alloc(3 * 1024 * 1024 + 17, 0xab)
    await writeFile(join(dir, 'big'), big)
    assert.equal(toHex(await hashFile(join(dir, 'big'))), createHash('sha256').update(big).digest('hex'))
  })

  it('a missing file is FILE_NOT_FOUND naming it; a directory is INVALID_ARGUMENT', async () => {
    const missing = join(dir, 'nope.bin')
    await assert.rejects(
      hashFile(missing),
      (e: unknown) => e instanceof TsvmError && e.code === 'FILE_NOT_FOUND' && e.details?.path === missing,
    )
    await assert.rejects(hashFile(dir), (e: unknown) => e instanceof TsvmError && e.code === 'INVALID_ARGUMENT')
  })
})
