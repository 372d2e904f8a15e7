// Fuzz properties for the receipt parser: random and mutated receipt files fail only with
// RECEIPT_INVALID, every single-field corruption of a valid receipt is refused, and valid
// receipts round-trip through serializeReceipt/parseReceipt unchanged.
import assert from 'node:assert/strict'

import fc from 'fast-check'

import {MAX_PATH_LENGTH, parseReceipt, type Receipt, serializeReceipt} from '../../src/proof/receipt.js'
import {type FuzzTarget, outcome} from './fuzz-targets.js'

const bytes = (n: number) => fc.uint8Array({minLength: n, maxLength: n})
const iso = fc.date({min: new Date(0), max: new Date('9999-12-31T23:59:59.999Z')}).map((d) => d.toISOString())
const name = fc.string({minLength: 1, maxLength: 40})

/** Receipts that satisfy every rule of format version 1 or 2 (headers: version 2, complete only). */
export const validReceipt: fc.Arbitrary<Receipt> = fc
  .record({
    version: fc.constantFrom<1 | 2>(1, 2),
    headers: fc.array(bytes(82), {minLength: 1, maxLength: 3}),
    item: fc.record({hash: bytes(32), name}, {requiredKeys: ['hash']}),
    merkle: fc.option(
      fc.integer({min: 2, max: 1_000_000}).chain((leaves) =>
        fc.record({
          leaves: fc.constant(leaves),
          index: fc.integer({min: 0, max: leaves - 1}),
          path: fc.array(fc.record({side: fc.constantFrom<'L' | 'R'>('L', 'R'), hash: bytes(32)}), {
            minLength: 1,
            maxLength: MAX_PATH_LENGTH,
          }),
        }),
      ),
      {nil: null},
    ),
    payload: bytes(32),
    block: fc.option(
      fc.record({
        id: bytes(32),
        bytes: bytes(82),
        height: fc.bigUintN(64),
        timestamp: fc.bigIntN(64),
        time: fc.string({minLength: 1, maxLength: 64}),
      }),
      {nil: null},
    ),
    chain: fc.record(
      {
        kind: fc.constantFrom<'embedded' | 'remote'>('embedded', 'remote'),
        location: name,
        genesisID: bytes(32),
        chainID: bytes(32),
      },
      {requiredKeys: ['kind', 'location']},
    ),
    createdAt: iso,
  })
  .chain((r) => fc.boolean().map((withHeaders) => ({r, withHeaders})))
  .map(({r, withHeaders}) => {
    const {headers, ...rest} = r
    const status = r.block === null ? ('pending' as const) : ('complete' as const)
    return withHeaders && r.version === 2 && r.block !== null ? {...rest, headers, status} : {...rest, status}
  })

type Json = Record<string, unknown>

/** Edits that make any valid receipt invalid, each at one field. */
const breakers: Array<[string, (o: Json) => void]> = [
  ['drop format', (o) => delete o.format],
  [
    'version 3',
    (o) => {
      o.version = 3
    },
  ],
  [
    'headers on a pending or version 1 receipt, or empty',
    (o) => {
      o.headers = o.version === 1 || o.block === null ? ['00'.repeat(82)] : []
    },
  ],
  [
    'version "1"',
    (o) => {
      o.version = '1'
    },
  ],
  [
    'unknown top-level field',
    (o) => {
      o.extra = 1
    },
  ],
  ['__proto__ key', (o) => Object.defineProperty(o, '__proto__', {value: {polluted: true}, enumerable: true})],
  [
    'item.hash upper-case',
    (o) => {
      ;(o.item as Json).hash = ((o.item as Json).hash as string).toUpperCase().replace(/^[0-9]*/, 'A')
    },
  ],
  [
    'item.hash 0x-prefixed',
    (o) => {
      ;(o.item as Json).hash = '0x' + ((o.item as Json).hash as string)
    },
  ],
  [
    'item.hash one digit short',
    (o) => {
      ;(o.item as Json).hash = ((o.item as Json).hash as string).slice(1)
    },
  ],
  [
    'item.name empty',
    (o) => {
      ;(o.item as Json).name = ''
    },
  ],
  [
    'payload a number',
    (o) => {
      o.payload = 1
    },
  ],
  [
    'status unknown',
    (o) => {
      o.status = 'done'
    },
  ],
  [
    'status flipped',
    (o) => {
      o.status = o.status === 'pending' ? 'complete' : 'pending'
    },
  ],
  [
    'chain.kind unknown',
    (o) => {
      ;(o.chain as Json).kind = 'node'
    },
  ],
  ['chain.location missing', (o) => delete (o.chain as Json).location],
  [
    'chain.genesisID bad checksum',
    (o) => {
      ;(o.chain as Json).genesisID = '11111111111111111111111111111111LpoYZ'
    },
  ],
  [
    'createdAt not ISO',
    (o) => {
      o.createdAt = 'yesterday'
    },
  ],
  [
    'merkle an array',
    (o) => {
      o.merkle = []
    },
  ],
  [
    'merkle.leaves 1',
    (o) => {
      o.merkle = {leaves: 1, index: 0, path: [{side: 'L', hash: '00'.repeat(32)}]}
    },
  ],
  [
    'merkle.index out of range',
    (o) => {
      o.merkle = {leaves: 2, index: 2, path: [{side: 'L', hash: '00'.repeat(32)}]}
    },
  ],
  [
    'merkle.path too long',
    (o) => {
      o.merkle = {
        leaves: 2,
        index: 0,
        path: Array.from({length: MAX_PATH_LENGTH + 1}).fill({side: 'L', hash: '00'.repeat(32)}),
      }
    },
  ],
  [
    'merkle.path side "X"',
    (o) => {
      o.merkle = {leaves: 2, index: 0, path: [{side: 'X', hash: '00'.repeat(32)}]}
    },
  ],
  [
    'block.height 2^64',
    (o) => {
      o.status = 'complete'
      o.block = {
        id: '11111111111111111111111111111111LpoYY',
        bytes: '00'.repeat(82),
        height: '18446744073709551616',
        timestamp: '0',
        time: 't',
      }
    },
  ],
  [
    'block.timestamp -2^63-1',
    (o) => {
      o.status = 'complete'
      o.block = {
        id: '11111111111111111111111111111111LpoYY',
        bytes: '00'.repeat(82),
        height: '1',
        timestamp: '-9223372036854775809',
        time: 't',
      }
    },
  ],
  [
    'block.height with a leading zero',
    (o) => {
      o.status = 'complete'
      o.block = {
        id: '11111111111111111111111111111111LpoYY',
        bytes: '00'.repeat(82),
        height: '01',
        timestamp: '0',
        time: 't',
      }
    },
  ],
]

/** Text that is sometimes JSON, sometimes a receipt with noise, sometimes neither. */
const anyReceiptText = fc.oneof(
  fc.string({maxLength: 200}),
  fc.json({maxDepth: 4}),
  validReceipt
    .map((r) => serializeReceipt(r))
    .chain((t) =>
      fc
        .tuple(fc.nat(t.length), fc.nat(40), fc.string({maxLength: 8}))
        .map(([at, cut, ins]) => t.slice(0, at) + ins + t.slice(at + cut)),
    ),
  fc.constantFrom(
    '['.repeat(100_000),
    '{"format":"tsvm-receipt"' + ' '.repeat(70_000) + '}',
    'null',
    '1e999',
    String.raw`"\ud800"`,
  ),
)

/** The receipt parser targets. */
export const RECEIPT_TARGETS: FuzzTarget[] = [
  {
    name: 'parseReceipt fails only with RECEIPT_INVALID on random and damaged files',
    cost: 4,
    property: () =>
      fc.property(anyReceiptText, (t) => {
        const got = outcome(() => parseReceipt(t))
        if (got.ok) {
          assert.equal(serializeReceipt(got.value), serializeReceipt(parseReceipt(serializeReceipt(got.value))))
        } else {
          assert.equal(got.error.code, 'RECEIPT_INVALID')
        }
      }),
  },
  {
    name: 'parseReceipt refuses every single-field corruption of a valid receipt',
    cost: 4,
    property: () =>
      fc.property(validReceipt, fc.constantFrom(...breakers), (r, [what, edit]) => {
        const o = JSON.parse(serializeReceipt(r)) as Json
        edit(o)
        const got = outcome(() => parseReceipt(JSON.stringify(o)))
        assert.equal(got.ok, false, `accepted a receipt with ${what}`)
        if (!got.ok) assert.equal(got.error.code, 'RECEIPT_INVALID')
      }),
  },
  {
    name: 'parseReceipt refuses a valid receipt with any key written twice',
    cost: 4,
    property: () =>
      fc.property(validReceipt, fc.nat(), (r, pick) => {
        const text = serializeReceipt(r)
        const keys = [...text.matchAll(/^( *)"(\w+)": /gm)]
        const [line, indent, key] = keys[pick % keys.length]!
        // the same key again, just before the first one, with a value of the same form
        const doubled = text.replace(line, `${indent}"${key}": null,\n${line}`)
        const got = outcome(() => parseReceipt(doubled))
        assert.equal(got.ok, false, `accepted "${key}" twice`)
        if (!got.ok) assert.equal(got.error.code, 'RECEIPT_INVALID')
      }),
  },
  {
    name: 'valid receipts round-trip through serializeReceipt and parseReceipt',
    cost: 4,
    property: () =>
      fc.property(validReceipt, (r) => {
        const text = serializeReceipt(r)
        const back = parseReceipt(text)
        assert.deepEqual(back, r)
        assert.equal(serializeReceipt(back), text)
      }),
  },
]
