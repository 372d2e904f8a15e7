// One test per defect the reliability suite found, each pinned to the smallest input that showed it.
import assert from 'node:assert/strict'
import {readdir, unlink, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {describe, it} from 'node:test'

import {GoJsonError, readFirstValue} from '../../src/rpc/json.js'
import {serveRpc} from '../../src/rpc/service.js'
import {exitCodeFor, toTsvmError} from '../../src/errors.js'
import {isTsvmError} from '../../src/vm/errors.js'
import {ChainState} from '../../src/vm/state.js'
import {tempDir} from '../helpers/cli.js'

describe('regressions found by the reliability suite', () => {
  it("deeply nested JSON is a -32700 parse error with Go's text, not a stack overflow (HTTP 500)", async () => {
    // Was: RangeError "Maximum call stack size exceeded" from about 3500 levels, answered 500.
    // Go's scanner allows 10000 levels and refuses the 10001st.
    assert.doesNotThrow(() => readFirstValue('['.repeat(10_000) + ']'.repeat(10_000)))
    assert.throws(() => readFirstValue('['.repeat(10_001) + ']'.repeat(10_001)), GoJsonError)
    for (const open of ['[', '{"a":']) {
      const text = open.repeat(500_000)
      assert.throws(
        () => readFirstValue(text),
        (e: unknown) => e instanceof GoJsonError && e.message === `invalid character '${open[0]}' exceeded max depth`,
      )
    }

    const reply = await serveRpc('['.repeat(100_000), {kind: 'static'}, 'v1.3')
    const body = JSON.parse(reply.body!) as {error: {code: number; message: string}}
    assert.equal(body.error.code, -32_700)
    assert.equal(body.error.message, "invalid character '[' exceeded max depth")
  })
})

describe('regressions: damaged or foreign data dirs', () => {
  it('a dir with LevelDB files but no CURRENT is refused, not recreated over the old files', async () => {
    // Was: LevelDB took it for a new database, wrote a fresh MANIFEST and deleted the old tables.
    const {dir, cleanup} = await tempDir('tsvm-orphan-')
    try {
      await writeFile(join(dir, '000005.ldb'), 'table')
      await writeFile(join(dir, 'MANIFEST-000004'), 'manifest')
      await assert.rejects(
        ChainState.open(dir),
        (e: unknown) => isTsvmError(e, 'DB_CORRUPT') && /repair/.test(e.message),
      )
      assert.deepEqual((await readdir(dir)).sort(), ['000005.ldb', 'MANIFEST-000004'])
    } finally {
      await cleanup()
    }
  })

  it('a non-empty dir without a database is refused; an empty one (or one with only LevelDB logs) opens', async () => {
    const {dir, cleanup} = await tempDir('tsvm-foreign-')
    try {
      await writeFile(join(dir, 'notes.txt'), 'mine')
      await assert.rejects(ChainState.open(dir), (e: unknown) => isTsvmError(e, 'DB_OPEN_FAILED'))
      await unlink(join(dir, 'notes.txt'))
      await writeFile(join(dir, 'LOG'), '')
      const state = await ChainState.open(dir)
      await state.close()
    } finally {
      await cleanup()
    }
  })

  it('LevelDB read errors are DB_CORRUPT (exit 6) with a repair hint, not an unexpected error (exit 1)', () => {
    // Was: a table damaged after open surfaced as INTERNAL "unexpected error".
    const corrupt = toTsvmError(
      Object.assign(new Error('Corruption: corrupted internal key in DBIter'), {code: 'LEVEL_CORRUPTION'}),
    )
    assert.equal(corrupt.code, 'DB_CORRUPT')
    assert.equal(exitCodeFor(corrupt), 6)
    assert.match(corrupt.message, /repair/)
    const truncated = toTsvmError(
      Object.assign(new Error('IO error: /d/000005.ldb: Invalid argument'), {code: 'LEVEL_IO_ERROR'}),
    )
    assert.equal(truncated.code, 'DB_CORRUPT')
    const full = toTsvmError(
      Object.assign(new Error('IO error: /d/000009.log: No space left on device'), {code: 'LEVEL_IO_ERROR'}),
    )
    assert.equal(full.code, 'DB_OPEN_FAILED')
  })
})
