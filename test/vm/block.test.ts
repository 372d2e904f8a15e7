import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import fc from 'fast-check'

import {
  BLOCK_SIZE,
  decodeWrapper,
  encodeWrapper,
  makeBlock,
  parseBlock,
  serializeBlock,
  Status,
  verifyBlock,
} from '../../src/vm/block.js'
import {Writer} from '../../src/vm/codec.js'
import {EMPTY_ID, fromHex, idToString, toHex} from '../../src/vm/encoding.js'
import {sha256} from '../../src/vm/hash.js'
import {errorCode} from '../helpers/errors.js'

const data = (s: string) => {
  const d = new Uint8Array(32)
  d.set(new TextEncoder().encode(s))
  return d
}

describe('block codec (spec §1.3)', () => {
  it('lays out a genesis block byte for byte', () => {
    const g = makeBlock({parentId: EMPTY_ID, height: 0n, timestamp: 0n, data: data('e2e')})
    assert.equal(g.bytes.length, BLOCK_SIZE)
    // eslint-disable-next-line no-useless-concat -- one literal per field of the block layout
    const expected = '0000' + '00'.repeat(32) + '0000000000000000' + '0000000000000000' + '653265' + '00'.repeat(29)
    assert.equal(toHex(g.bytes), expected)
    assert.deepEqual(g.id, sha256(fromHex(expected)))
  })

  it('encodes height as uint64 and timestamp as int64 big-endian', () => {
    const b = makeBlock({parentId: EMPTY_ID, height: 0x0102030405060708n, timestamp: -1n, data: new Uint8Array(32)})
    assert.equal(toHex(b.bytes.subarray(34, 42)), '0102030405060708')
    assert.equal(toHex(b.bytes.subarray(42, 50)), 'ffffffffffffffff')
    assert.equal(parseBlock(b.bytes).timestamp, -1n)
  })

  it('round-trips random blocks', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({minLength: 32, maxLength: 32}),
        fc.bigUintN(64),
        fc.bigIntN(64),
        fc.uint8Array({minLength: 32, maxLength: 32}),
        (parentId, height, timestamp, d) => {
          const b = makeBlock({parentId, height, timestamp, data: d})
          const p = parseBlock(b.bytes)
          assert.deepEqual(p, b)
          assert.equal(idToString(p.id), idToString(sha256(b.bytes)))
        },
      ),
      {seed: 1, numRuns: 300},
    )
  })

  it('rejects 81, 83 bytes and version 1 (spec §4.6 extra cases)', () => {
    const b = makeBlock({parentId: EMPTY_ID, height: 1n, timestamp: 5n, data: new Uint8Array(32)})
    assert.equal(
      errorCode(() => parseBlock(b.bytes.subarray(0, 81))),
      'BLOCK_BAD_LENGTH',
    )
    const longer = new Uint8Array(83)
    longer.set(b.bytes)
    assert.equal(
      errorCode(() => parseBlock(longer)),
      'BLOCK_BAD_LENGTH',
    )
    const v1 = b.bytes.slice()
    v1[1] = 1
    assert.equal(
      errorCode(() => parseBlock(v1)),
      'BLOCK_BAD_VERSION',
    )
    assert.equal(
      errorCode(() => parseBlock(new Uint8Array(1))),
      'BLOCK_BAD_LENGTH',
    )
    assert.equal(
      errorCode(() => parseBlock(new Uint8Array(256 * 1024 + 1))),
      'BLOCK_TOO_LARGE',
    )
  })
})

describe('block wrapper (spec §1.4)', () => {
  it('is 92 bytes: version, length 82, block, status', () => {
    const b = makeBlock({parentId: EMPTY_ID, height: 0n, timestamp: 0n, data: new Uint8Array(32)})
    const w = encodeWrapper(b.bytes, Status.Accepted)
    assert.equal(w.length, 92)
    assert.equal(toHex(w.subarray(0, 6)), '000000000052')
    assert.equal(toHex(w.subarray(88)), '00000003')
    const d = decodeWrapper(w)
    assert.equal(d.status, Status.Accepted)
    assert.deepEqual(d.block, b)
  })
  it('rejects trailing bytes and unknown statuses', () => {
    const b = makeBlock({parentId: EMPTY_ID, height: 0n, timestamp: 0n, data: new Uint8Array(32)})
    const w = encodeWrapper(b.bytes, Status.Rejected)
    assert.equal(
      errorCode(() => decodeWrapper(Uint8Array.from([...w, 0]))),
      'WRAPPER_INVALID',
    )
    const bad = w.slice()
    bad[91] = 9
    assert.equal(
      errorCode(() => decodeWrapper(bad)),
      'WRAPPER_INVALID',
    )
    assert.equal(
      errorCode(() => decodeWrapper(w.subarray(0, 50))),
      'WRAPPER_INVALID',
    )
  })
})

describe('serialization written in place', () => {
  it('matches the codec Writer for any uint64 height and int64 timestamp', () => {
    const id = fc.uint8Array({minLength: 32, maxLength: 32})
    const height = fc.oneof(
      fc.bigUint({max: 2n ** 64n - 1n}),
      fc.constantFrom(0n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 64n - 1n),
    )
    const time = fc.oneof(
      fc.bigInt({min: -(2n ** 63n), max: 2n ** 63n - 1n}),
      fc.constantFrom(-1n, 0n, 2n ** 53n, -(2n ** 63n)),
    )
    fc.assert(
      fc.property(id, id, height, time, (parentId, payload, h, t) => {
        const fields = {parentId, data: payload, height: h, timestamp: t}
        const viaWriter = new Writer(BLOCK_SIZE).u16(0).fixed(parentId, 32).u64(h).i64(t).fixed(payload, 32).done()
        assert.deepEqual(serializeBlock(fields), viaWriter)
      }),
      {seed: 82, numRuns: 2000},
    )
  })
  it('wraps block bytes as the codec Writer does', () => {
    const bytes = Uint8Array.from({length: BLOCK_SIZE}, (_, i) => i)
    for (const status of [Status.Processing, Status.Rejected, Status.Accepted]) {
      assert.deepEqual(encodeWrapper(bytes, status), new Writer(92).u16(0).slice(bytes).u32(status).done())
    }
  })
  it('a parent ID or payload of the wrong length is BAD_LENGTH', () => {
    const ok = new Uint8Array(32)
    assert.equal(
      errorCode(() => serializeBlock({parentId: ok.subarray(1), data: ok, height: 1n, timestamp: 0n})),
      'BAD_LENGTH',
    )
    assert.equal(
      errorCode(() => serializeBlock({parentId: ok, data: new Uint8Array(33), height: 1n, timestamp: 0n})),
      'BAD_LENGTH',
    )
  })
})

describe('verification rules (spec §4.2)', () => {
  const parent = makeBlock({parentId: EMPTY_ID, height: 4n, timestamp: 1000n, data: new Uint8Array(32)})
  const child = (height: bigint, timestamp: bigint) =>
    makeBlock({parentId: parent.id, height, timestamp, data: new Uint8Array(32)})
  const now = 2000n
  it('passes a child with an equal timestamp', () => verifyBlock(child(5n, 1000n), parent, now))
  it('fails an unknown parent', () =>
    assert.equal(
      errorCode(() => verifyBlock(child(5n, 1000n), undefined, now)),
      'BLOCK_PARENT_UNKNOWN',
    ))
  it('fails a height skip', () =>
    assert.equal(
      errorCode(() => verifyBlock(child(6n, 1000n), parent, now)),
      'BLOCK_BAD_HEIGHT',
    ))
  it('fails an earlier timestamp', () =>
    assert.equal(
      errorCode(() => verifyBlock(child(5n, 999n), parent, now)),
      'BLOCK_TIMESTAMP_EARLY',
    ))
  it('now+3599 passes, now+3600 fails', () => {
    verifyBlock(child(5n, now + 3599n), parent, now)
    assert.equal(
      errorCode(() => verifyBlock(child(5n, now + 3600n), parent, now)),
      'BLOCK_TIMESTAMP_FUTURE',
    )
  })
})
