import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import chalk from 'chalk'
import fc from 'fast-check'

import {blockLines, columns} from '../src/output.js'

// What blockLines printed before it had its own layout loop: one columns() row per block.
const reference = (views: Array<{id: string; height: string; dataHex: string; status?: string}>) =>
  columns(views.map((v) => [v.height, chalk.cyan(v.id), ...(v.status ? [v.status] : []), v.dataHex]))

describe('blockLines', () => {
  it('lays rows out as columns() does, with, without and with mixed statuses', () => {
    const row = fc.record(
      {
        id: fc.string({maxLength: 52}),
        height: fc.bigUint({max: 2n ** 64n - 1n}).map(String),
        dataHex: fc.hexaString({maxLength: 64}),
        status: fc.constantFrom('Accepted', 'Processing', 'Rejected', ''),
      },
      {requiredKeys: ['id', 'height', 'dataHex']},
    )
    fc.assert(
      fc.property(fc.array(row, {maxLength: 20}), (views) => {
        assert.equal(blockLines(views), reference(views))
      }),
      {seed: 11, numRuns: 2000},
    )
  })
})
