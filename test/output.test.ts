import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import chalk from 'chalk'
import fc from 'fast-check'

import {blockRow} from '../src/chain/view.js'
import {blockLines, blockRunLines, colorLevel, columns, storedBlockLines} from '../src/output.js'
import {type Block, makeBlock, Status} from '../src/vm/block.js'
import {idToString} from '../src/vm/encoding.js'
import {buildRun} from '../src/vm/run.js'

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

describe('storedBlockLines', () => {
  it('prints what blockLines prints for the same blocks, coloured or not, one status or mixed', () => {
    // IDs with leading zero bytes have shorter CB58, so the ID column is padded.
    const bytes32 = fc.tuple(fc.nat(3), fc.uint8Array({minLength: 32, maxLength: 32})).map(([zeros, b]) => {
      b.fill(0, 0, zeros)
      return b
    })
    const stored = fc.record({
      block: fc
        .record({id: bytes32, data: bytes32, height: fc.bigUint({max: 2n ** 64n - 1n})})
        .map((b) => b as unknown as Block),
      status: fc.constantFrom(Status.Accepted, Status.Accepted, Status.Rejected, Status.Processing),
    })
    const {level} = chalk
    try {
      fc.assert(
        fc.property(
          fc.array(stored, {maxLength: 30}),
          fc.boolean(),
          fc.constantFrom(0 as const, 1 as const),
          (blocks, same, colour) => {
            chalk.level = colour
            if (same) for (const b of blocks) b.status = Status.Accepted
            assert.equal(
              storedBlockLines(blocks),
              blocks.length === 0 ? '' : blockLines(blocks.map((b) => blockRow(b.block, b.status))),
            )
          },
        ),
        {seed: 12, numRuns: 500},
      )
    } finally {
      chalk.level = level
    }
  })
})

const text = (bytes: Uint8Array) => Buffer.from(bytes).toString('latin1')

describe('blockRunLines', () => {
  it('prints what storedBlockLines prints for the run as accepted blocks, coloured or not', () => {
    const {level} = chalk
    try {
      fc.assert(
        fc.property(
          // heights that cross a digit boundary inside the run, and some past 2^53
          fc.oneof(fc.bigUint({max: 120n}), fc.constant(9990n), fc.bigUint({max: 2n ** 64n - 50n})),
          fc.array(fc.uint8Array({minLength: 32, maxLength: 32}), {maxLength: 25}),
          fc.constantFrom(0 as const, 1 as const),
          (height, payloads, colour) => {
            chalk.level = colour
            // the IDs are hashes: their CB58 is 49 or 50 characters, so most runs pad the ID column
            const parent = makeBlock({parentId: new Uint8Array(32), height, timestamp: 1n, data: new Uint8Array(32)})
            const run = buildRun({
              parent,
              timestamp: 1n,
              count: payloads.length,
              data: (i) => payloads[i]!,
              verify() {},
            })
            const stored = run.blocks().map((block) => ({block, status: Status.Accepted}))
            assert.equal(text(blockRunLines(run)), storedBlockLines(stored) + (stored.length > 0 ? '\n' : ''))
          },
        ),
        {seed: 13, numRuns: 400},
      )
    } finally {
      chalk.level = level
    }
  })

  it('pads the ID column to the widest CB58 of the group', () => {
    // enough blocks that some IDs have 49 CB58 characters and some 50
    const parent = makeBlock({parentId: new Uint8Array(32), height: 0n, timestamp: 1n, data: new Uint8Array(32)})
    const payloads = Array.from({length: 400}, (_, i) => new Uint8Array(32).fill(i % 256, 0, 1 + (i >> 8)))
    const run = buildRun({parent, timestamp: 1n, count: payloads.length, data: (i) => payloads[i]!, verify() {}})
    const lengths = new Set(run.blocks().map((b) => idToString(b.id).length))
    assert.ok(lengths.size > 1, 'IDs of different CB58 lengths')
    const stored = run.blocks().map((block) => ({block, status: Status.Accepted}))
    assert.equal(text(blockRunLines(run)), storedBlockLines(stored) + (stored.length > 0 ? '\n' : ''))
    assert.equal(
      new Set(
        storedBlockLines(stored)
          .split('\n')
          .map((l) => l.length),
      ).size,
      1,
      'rows of one length',
    )
  })
})

describe('colorLevel', () => {
  it('keeps the terminal level unless NO_COLOR (non-empty, without FORCE_COLOR) or the flag says otherwise', () => {
    assert.equal(colorLevel(2, {}), 2)
    assert.equal(colorLevel(0, {}), 0)
    assert.equal(colorLevel(2, {NO_COLOR: '1'}), 0)
    assert.equal(colorLevel(3, {NO_COLOR: 'false'}), 0)
    assert.equal(colorLevel(2, {NO_COLOR: ''}), 2)
    // FORCE_COLOR is already in chalk's level (0 for FORCE_COLOR=0), and wins over NO_COLOR.
    assert.equal(colorLevel(1, {NO_COLOR: '1', FORCE_COLOR: '1'}), 1)
    assert.equal(colorLevel(0, {NO_COLOR: '1', FORCE_COLOR: '0'}), 0)
    // --no-color / --color win over everything.
    assert.equal(colorLevel(3, {FORCE_COLOR: '3'}, false), 0)
    assert.equal(colorLevel(0, {NO_COLOR: '1'}, true), 1)
    assert.equal(colorLevel(2, {NO_COLOR: '1'}, true), 2)
  })
})
