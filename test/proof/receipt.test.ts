import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {MerkleTree} from '../../src/proof/merkle.js'
import {
  duplicateKey,
  keyCount,
  localDataDir,
  MAX_RECEIPT_BYTES,
  parseReceipt,
  printable,
  receiptSerializer,
  receiptToJson,
  recordedLocation,
  serializeReceipt,
  type Receipt,
} from '../../src/proof/receipt.js'
import {receiptBlock} from '../../src/proof/verify.js'
import {makeBlock} from '../../src/vm/block.js'
import {EMPTY_ID} from '../../src/vm/encoding.js'
import {TsvmError} from '../../src/vm/errors.js'
import {sha256} from '../../src/vm/hash.js'

const items = [1, 2, 3].map((i) => sha256(Uint8Array.of(i)))
const tree = new MerkleTree(items)
const block = makeBlock({parentId: EMPTY_ID, height: 7n, timestamp: 1_700_000_000n, data: tree.root})
const receipt: Receipt = {
  version: 2,
  item: {hash: items[1]!, name: 'docs/b.txt'},
  merkle: {leaves: 3, index: 1, path: tree.path(1)},
  payload: tree.root,
  block: receiptBlock(block),
  chain: {kind: 'embedded', location: '/data', genesisID: block.parentId},
  status: 'complete',
  createdAt: '2026-01-02T03:04:05.000Z',
}
const json = () => receiptToJson(receipt) as any

function field(text: string): string {
  try {
    parseReceipt(text)
  } catch (error) {
    assert.ok(error instanceof TsvmError)
    assert.equal(error.code, 'RECEIPT_INVALID')
    return String(error.details?.field)
  }

  assert.fail('expected RECEIPT_INVALID')
}

describe('receipt format', () => {
  it('round-trips through its text form', () => {
    const text = serializeReceipt(receipt)
    assert.deepEqual(parseReceipt(text), receipt)
    assert.equal(serializeReceipt(parseReceipt(text)), text)
    const j = JSON.parse(text)
    assert.deepEqual(Object.keys(j), [
      'format',
      'version',
      'item',
      'merkle',
      'payload',
      'block',
      'chain',
      'status',
      'createdAt',
    ])
    assert.equal(j.block.height, '7')
    assert.equal(j.block.time, '2023-11-14T22:13:20.000Z')
    assert.equal(j.block.bytes.length, 164)
  })

  it('receiptSerializer writes the same text as serializeReceipt, for complete and pending receipts', () => {
    const pending = {
      ...receipt,
      block: null,
      status: 'pending' as const,
      chain: {kind: 'remote' as const, location: 'http://127.0.0.1:9650/ext/bc/x'},
    }
    for (const r of [receipt, pending]) {
      const {item, merkle, ...shared} = r
      const serialize = receiptSerializer(shared)
      assert.equal(serialize(item, merkle), serializeReceipt(r))
      const other = {hash: items[1]!}
      assert.equal(serialize(other, null), serializeReceipt({...r, item: other, merkle: null}))
      for (const n of [2, 3, 5, 8, 13]) {
        const hashes = Array.from({length: n}, (_, i) => sha256(Uint8Array.of(n, i)))
        const t = new MerkleTree(hashes)
        for (let i = 0; i < n; i++) {
          const it = {hash: hashes[i]!, name: `d/"q"\n\u00E9-${i}`}
          const m = {leaves: n, index: i, path: t.path(i)}
          const text = serializeReceipt({...r, item: it, merkle: m})
          assert.equal(serialize(it, m), text)
          // hex paths, also from a tree rebuilt from its levels (as another thread gets it)
          assert.equal(serialize(it, {leaves: n, index: i, path: t.pathHex(i)}), text)
          assert.equal(serialize(it, {leaves: n, index: i, path: MerkleTree.fromLevels(t.toLevels()).pathHex(i)}), text)
        }
      }
    }
  })

  it('reads a pending single-item receipt', () => {
    const r = parseReceipt(
      serializeReceipt({
        ...receipt,
        item: {hash: items[0]!},
        merkle: null,
        payload: items[0]!,
        block: null,
        status: 'pending',
      }),
    )
    assert.equal(r.block, null)
    assert.equal(r.merkle, null)
    assert.equal(r.item.name, undefined)
  })

  it('refuses an unknown version and a foreign format; reads version 1', () => {
    assert.equal(field(JSON.stringify({...json(), version: 3})), 'version')
    assert.equal(field(JSON.stringify({...json(), version: '2'})), 'version')
    assert.equal(field(JSON.stringify({...json(), format: 'other'})), 'format')
    assert.equal(field('[1, 2]'), '(file)')
    const v1 = parseReceipt(JSON.stringify({...json(), version: 1}))
    assert.equal(v1.version, 1)
    assert.equal(JSON.parse(serializeReceipt(v1)).version, 1, 'a version 1 receipt is written back as version 1')
  })

  it('headers: version 2 only, complete receipts only, 82-byte blocks in hex', () => {
    const child = makeBlock({parentId: block.id, height: 8n, timestamp: 1_700_000_001n, data: items[0]!})
    const withHeaders = {...receipt, headers: [child.bytes]}
    const text = serializeReceipt(withHeaders)
    assert.deepEqual(Object.keys(JSON.parse(text)), [
      'format',
      'version',
      'item',
      'merkle',
      'payload',
      'block',
      'headers',
      'chain',
      'status',
      'createdAt',
    ])
    assert.deepEqual(parseReceipt(text), withHeaders)
    const j = JSON.parse(text)
    assert.equal(field(JSON.stringify({...j, version: 1})), 'headers')
    assert.equal(field(JSON.stringify({...j, headers: []})), 'headers')
    assert.equal(field(JSON.stringify({...j, headers: [j.headers[0].slice(2)]})), 'headers[0]')
    assert.equal(field(JSON.stringify({...j, block: null, status: 'pending'})), 'headers')
  })

  it('refuses duplicate keys, wherever they are and however they are spelled', () => {
    const text = serializeReceipt(receipt)
    const cases: Array<[string, string]> = [
      ['status', text.replace('"status":', '"status": "pending",\n  "status":')],
      ['item.hash', text.replace('"hash":', `"hash": "${'0'.repeat(64)}", "hash":`)],
      ['item.hash', text.replace('"hash":', `"h\\u0061sh": "${'0'.repeat(64)}", "hash":`)],
      ['merkle.path[1].side', text.replace(/("path": \[\s*\{[^}]*\},\s*\{)/, '$1"side": "R", ')],
      ['chain.location', text.replace('"location":', '"location": "x", "location":')],
    ]
    for (const [name, dup] of cases) {
      assert.notEqual(dup, text, name)
      assert.equal(duplicateKey(dup), name, name)
      assert.equal(field(dup), name, name)
    }

    // the same key in different objects, and keys inside string values, are fine
    assert.equal(
      duplicateKey(String.raw`{"a": {"a": 1}, "b": [{"a": 1}, {"a": 2}], "c": "\"a\": 1, \"a\""}`),
      undefined,
    )
  })

  it('finds duplicates by counting keys: spacing, escapes and quotes inside values do not fool the count', () => {
    const text = serializeReceipt(receipt)
    // 9 top-level keys, item 2, merkle 3, 2 per path step, block 5, chain 3
    assert.equal(keyCount(text), 9 + 2 + 3 + 2 * receipt.merkle!.path.length + 5 + 3)
    assert.equal(keyCount(JSON.stringify(JSON.parse(text))), keyCount(text))
    assert.equal(keyCount(String.raw`{"a" :  {"b"	:1}, "c": "\"d\": 1, \\", "e" : ["f", "g:"], "h\"": "\\\\"}`), 5)
    const cases: Array<[string, string]> = [
      ['status', text.replace('"status":', '"status" : "pending",\n  "status"\n :')],
      ['merkle.path[0].side', text.replace('"side":', '"side" :"L", "side" :')],
      ['item.name', text.replace('"name":', String.raw`"name": "a\": \"name\": \"", "n\u0061me":`)],
      ['chain.__proto__', text.replace('"kind":', '"__proto__": {}, "__proto__": {}, "kind":')],
    ]
    for (const [name, dup] of cases) {
      assert.notEqual(dup, text, name)
      assert.equal(field(dup), name, name)
    }

    // a key spelled with an escape that is not a duplicate is an unknown field, not a duplicate
    assert.equal(field(text.replace('"name":', String.raw`"n\u0061mes": "x", "name":`)), 'item.names')
  })

  it('field names and values from the file are shown printable', () => {
    assert.equal(printable('a\u001B[2Jb\u009B\u202Ec\u200Bd\n'), String.raw`a\x1b[2Jb\x9b\u{202e}c\u{200b}d\x0a`)
    assert.equal(printable('plain/é/日本.txt'), 'plain/é/日本.txt')
    const j = json()
    j['\u001B[31mevil'] = 1
    assert.equal(field(JSON.stringify(j)), String.raw`\x1b[31mevil`)
  })

  it('records a data dir under home with ~, and an endpoint without credentials', () => {
    assert.equal(
      recordedLocation('embedded', '/home/ann/.local/share/tsvm/chain', '/home/ann'),
      '~/.local/share/tsvm/chain',
    )
    assert.equal(recordedLocation('embedded', '/srv/chain', '/home/ann'), '/srv/chain')
    assert.equal(recordedLocation('embedded', '/home/annex/chain', '/home/ann'), '/home/annex/chain')
    assert.equal(localDataDir('~/.local/share/tsvm/chain', '/home/ann'), '/home/ann/.local/share/tsvm/chain')
    assert.equal(localDataDir('/srv/chain', '/home/ann'), '/srv/chain')
    assert.equal(
      recordedLocation('remote', 'http://user:secret@node:9650/ext/bc/x?token=1'),
      'http://node:9650/ext/bc/x',
    )
  })

  it('names the field that is missing, unknown or malformed', () => {
    const cases: Array<[string, (j: any) => void]> = [
      ['payload', (j) => delete j.payload],
      [
        'extra',
        (j) => {
          j.extra = 1
        },
      ],
      [
        'item.hash',
        (j) => {
          j.item.hash = j.item.hash.slice(2)
        },
      ],
      [
        'item.hash',
        (j) => {
          j.item.hash = j.item.hash.toUpperCase()
        },
      ],
      [
        'item.hash',
        (j) => {
          j.item.hash = '0x' + j.item.hash.slice(2)
        },
      ],
      [
        'item.name',
        (j) => {
          j.item.name = ''
        },
      ],
      [
        'merkle.leaves',
        (j) => {
          j.merkle.leaves = 1
        },
      ],
      [
        'merkle.leaves',
        (j) => {
          j.merkle.leaves = '3'
        },
      ],
      [
        'merkle.index',
        (j) => {
          j.merkle.index = 3
        },
      ],
      [
        'merkle.index',
        (j) => {
          j.merkle.index = -1
        },
      ],
      [
        'merkle.path',
        (j) => {
          j.merkle.path = []
        },
      ],
      [
        'merkle.path[0].side',
        (j) => {
          j.merkle.path[0].side = 'l'
        },
      ],
      [
        'merkle.path[1].hash',
        (j) => {
          j.merkle.path[1].hash = 'zz' + j.merkle.path[1].hash.slice(2)
        },
      ],
      [
        'payload',
        (j) => {
          j.payload += '00'
        },
      ],
      [
        'block',
        (j) => {
          j.block = null
        },
      ],
      [
        'block',
        (j) => {
          j.status = 'pending'
        },
      ],
      [
        'status',
        (j) => {
          j.status = 'done'
        },
      ],
      [
        'block.id',
        (j) => {
          j.block.id = j.block.id.slice(0, -1) + (j.block.id.endsWith('1') ? '2' : '1')
        },
      ],
      [
        'block.bytes',
        (j) => {
          j.block.bytes = j.block.bytes.slice(2)
        },
      ],
      [
        'block.height',
        (j) => {
          j.block.height = 7
        },
      ],
      [
        'block.height',
        (j) => {
          j.block.height = '07'
        },
      ],
      [
        'block.height',
        (j) => {
          j.block.height = '18446744073709551616'
        },
      ],
      [
        'block.timestamp',
        (j) => {
          j.block.timestamp = '1.5'
        },
      ],
      [
        'chain.kind',
        (j) => {
          j.chain.kind = 'local'
        },
      ],
      [
        'chain.genesisID',
        (j) => {
          j.chain.genesisID = 'abc'
        },
      ],
      [
        'createdAt',
        (j) => {
          j.createdAt = 'yesterday'
        },
      ],
      ['(file)', () => {}],
    ]
    for (const [name, mutate] of cases) {
      const j = json()
      mutate(j)
      const text = name === '(file)' ? '{"format": ' : JSON.stringify(j)
      assert.equal(field(text), name, name)
    }
  })

  it('never lets __proto__ or constructor keys through', () => {
    const text = serializeReceipt(receipt).replace('"item": {', '"item": {"__proto__": {"polluted": true}, ')
    assert.equal(field(text), 'item.__proto__')
    assert.equal(
      field(serializeReceipt(receipt).replace('{', '{"constructor": {"prototype": {"x": 1}},')),
      'constructor',
    )
    assert.equal(({} as any).polluted, undefined)
    const parsed = parseReceipt(serializeReceipt(receipt)) as any
    assert.equal(Object.getPrototypeOf(parsed.item), Object.prototype)
  })

  it('refuses oversized input before parsing it', () => {
    assert.equal(field(' '.repeat(MAX_RECEIPT_BYTES) + serializeReceipt(receipt)), '(file)')
  })
})
