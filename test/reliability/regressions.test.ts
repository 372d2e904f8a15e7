// One test per defect the reliability suite found, each pinned to the smallest input that showed it.
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {GoJsonError, MAX_DEPTH, readFirstValue} from '../../src/api/json.js'
import {serveRpc} from '../../src/api/service.js'

describe('regressions found by the reliability suite', () => {
  it('deeply nested JSON is a -32700 parse error with Go\'s text, not a stack overflow (HTTP 500)', async () => {
    // Was: RangeError "Maximum call stack size exceeded" from about 3500 levels, answered 500.
    assert.doesNotThrow(() => readFirstValue('['.repeat(MAX_DEPTH) + ']'.repeat(MAX_DEPTH)))
    for (const open of ['[', '{"a":']) {
      const text = open.repeat(500_000)
      assert.throws(() => readFirstValue(text), (e: unknown) => e instanceof GoJsonError && e.message === `invalid character '${open[0]}' exceeded max depth`)
    }
    const reply = await serveRpc('['.repeat(100_000), {kind: 'static'}, 'v1.3')
    const body = JSON.parse(reply.body!) as {error: {code: number; message: string}}
    assert.equal(body.error.code, -32700)
    assert.equal(body.error.message, "invalid character '[' exceeded max depth")
  })
})
