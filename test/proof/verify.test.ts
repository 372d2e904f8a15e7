import assert from 'node:assert/strict'
import {readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {verifyText} from '../../src/output/proof.js'
import {MerkleTree, PathFolder} from '../../src/proof/merkle.js'
import {parseReceipt, receiptFromJson, serializeReceipt, type Receipt} from '../../src/proof/receipt.js'
import {stamp} from '../../src/proof/stamp.js'
import {upgradeReceipt} from '../../src/proof/upgrade.js'
import {assertVerified, checkReceipt, loadReceipt, receiptBlock, verifyReceipt} from '../../src/proof/verify.js'
import {makeBlock, Status} from '../../src/vm/block.js'
import {EMPTY_ID, fromHex, idToString, toHex} from '../../src/vm/encoding.js'
import {TsvmError} from '../../src/vm/errors.js'
import {sha256} from '../../src/vm/hash.js'
import {tempDir} from '../helpers/cli.js'
import {Engine} from '../../src/node/engine.js'
import {startServer} from '../../src/node/server.js'
import type {Chain} from '../../src/chain/chain.js'
import {RemoteChain} from '../../src/chain/remote.js'
import {openTestChain, openTestVm} from '../helpers/real-vm.js'

/** The chains' clock: blocks are stamped 2023-11-14T22:13:30Z. */
const STAMP_TIME_MS = 1_700_000_010_000
let dir: string
let cleanup: () => Promise<void>
const chains: Chain[] = []
before(async () => {
  ;({dir, cleanup} = await tempDir('tsvm-verify-'))
})
after(async () => {
  for (const c of chains) await c.close()
  await cleanup()
})

/** A real embedded chain on a fresh dir with the fixed clock, closed after the tests. */
async function newChain(): Promise<Awaited<ReturnType<typeof openTestChain>>> {
  const chain = await openTestChain({now: () => STAMP_TIME_MS})
  chains.push(chain)
  return chain
}

async function files(sub: string, n: number): Promise<string> {
  const d = join(dir, sub)
  await import('node:fs/promises').then((fs) => fs.mkdir(d, {recursive: true}))
  for (let i = 0; i < n; i++) await writeFile(join(d, `f${i}.txt`), `content ${sub} ${i}\n`)
  return d
}

const reparse = (r: Receipt, mutate: (j: any) => void): Receipt => {
  const j = JSON.parse(serializeReceipt(r))
  mutate(j)
  return receiptFromJson(j)
}

const flip = (hex: string) => (hex[0] === '0' ? '1' : '0') + hex.slice(1)

describe('verify', () => {
  it('verifies a single stamped file; its payload is the file hash itself', async () => {
    const d = await files('one', 1)
    const chain = await newChain()
    const res = await stamp(chain, [join(d, 'f0.txt')], {cwd: dir})
    assert.equal(res.status, 'complete')
    const r = await loadReceipt(join(d, 'f0.txt.tsvm'))
    assert.equal(r.merkle, null)
    assert.deepEqual(r.payload, sha256(await readFile(join(d, 'f0.txt'))))
    assert.equal(r.item.name, 'one/f0.txt')
    assert.deepEqual(r.chain.genesisID, (await chain.getBlockAtHeight(0n)).block.id)
    const v = await verifyReceipt(r, {file: join(d, 'f0.txt')})
    assert.equal(v.status, 'consistent', 'without an anchor a receipt is only consistent')
    assert.equal(v.trust, 'unanchored')
    assert.equal(v.code, 'UNANCHORED')
    assert.equal(v.existedBy, null)
    assert.equal(v.blockTime, '2023-11-14T22:13:30.000Z')
    assert.equal(v.height, '1')
    const on = await verifyReceipt(r, {file: join(d, 'f0.txt'), chain})
    assert.equal(on.status, 'verified')
    assert.equal(on.trust, 'anchored-chain')
    assert.equal(on.existedBy, '2023-11-14T22:13:30.000Z')
  })

  it('a tampered file is invalid', async () => {
    const d = await files('tamper', 3)
    await stamp(await newChain(), [d], {cwd: dir})
    await writeFile(join(d, 'f1.txt'), 'changed\n')
    const v = await verifyReceipt(await loadReceipt(join(d, 'f1.txt.tsvm')), {file: join(d, 'f1.txt')})
    assert.equal(v.status, 'invalid')
    assert.equal(v.code, 'PROOF_INVALID')
    assert.equal(v.check, 'item')
    assert.throws(
      () => assertVerified(v),
      (e: unknown) => e instanceof TsvmError && e.code === 'PROOF_INVALID',
    )
    assert.equal(
      (await verifyReceipt(await loadReceipt(join(d, 'f2.txt.tsvm')), {file: join(d, 'f2.txt')})).status,
      'consistent',
    )
  })

  it('each committed field of a receipt, changed, makes it invalid for a specific reason', async () => {
    const d = await files('fields', 5)
    await stamp(await newChain(), [d], {cwd: dir})
    const r = await loadReceipt(join(d, 'f1.txt.tsvm'))
    const file = join(d, 'f1.txt')
    assert.equal((await verifyReceipt(r, {file})).status, 'consistent')
    assert.deepEqual(
      r.merkle!.path.map((s) => s.side),
      ['L', 'R', 'R'],
    )
    const other = makeBlock({parentId: EMPTY_ID, height: 9n, timestamp: 5n, data: new Uint8Array(32)})
    const cases: Array<[string, string, (j: any) => void]> = [
      [
        'item.hash (against the file)',
        'item',
        (j) => {
          j.item.hash = flip(j.item.hash)
        },
      ],
      [
        'merkle.leaves',
        'merkle.shape',
        (j) => {
          j.merkle.leaves = 2
        },
      ],
      [
        'merkle.index',
        'merkle.shape',
        (j) => {
          j.merkle.index = 0
        },
      ],
      [
        'merkle.path[0].side',
        'merkle.shape',
        (j) => {
          j.merkle.path[0].side = 'R'
        },
      ],
      [
        'merkle.path[2].hash',
        'merkle.path',
        (j) => {
          j.merkle.path[2].hash = flip(j.merkle.path[2].hash)
        },
      ],
      [
        'merkle.path reordered',
        'merkle.path',
        (j) => {
          ;[j.merkle.path[1], j.merkle.path[2]] = [j.merkle.path[2], j.merkle.path[1]]
        },
      ],
      [
        'merkle.path reordered across sides',
        'merkle.shape',
        (j) => {
          ;[j.merkle.path[0], j.merkle.path[1]] = [j.merkle.path[1], j.merkle.path[0]]
        },
      ],
      ['merkle.path shortened', 'merkle.shape', (j) => j.merkle.path.pop()],
      [
        'payload',
        'merkle.path',
        (j) => {
          j.payload = flip(j.payload)
        },
      ],
      [
        'block.id',
        'block.id',
        (j) => {
          j.block.id = idToString(sha256(Uint8Array.of(1)))
        },
      ],
      [
        'block.bytes (data)',
        'block.id',
        (j) => {
          j.block.bytes = j.block.bytes.slice(0, 100) + flip(j.block.bytes.slice(100))
        },
      ],
      [
        'block.bytes (version)',
        'block.bytes',
        (j) => {
          j.block.bytes = '0001' + j.block.bytes.slice(4)
        },
      ],
      [
        'block (another, self-consistent)',
        'block.data',
        (j) => {
          j.block.bytes = toHex(other.bytes)
          j.block.id = idToString(other.id)
        },
      ],
      [
        'block.height',
        'block.height',
        (j) => {
          j.block.height = '2'
        },
      ],
      [
        'block.timestamp',
        'block.timestamp',
        (j) => {
          j.block.timestamp = '1700000011'
        },
      ],
      [
        'block.time',
        'block.time',
        (j) => {
          j.block.time = '2023-11-14T22:13:31.000Z'
        },
      ],
    ]
    for (const [name, check, mutate] of cases) {
      const v = await verifyReceipt(reparse(r, mutate), {file})
      assert.equal(v.status, 'invalid', name)
      assert.equal(v.code, 'PROOF_INVALID', name)
      assert.equal(v.check, check, name)
    }

    // without the file, a changed item hash no longer folds to the payload
    assert.equal(
      checkReceipt(
        reparse(r, (j) => {
          j.item.hash = flip(j.item.hash)
        }),
      ).check,
      'merkle.path',
    )
    // metadata is not committed: changing it leaves the proof intact
    for (const mutate of [
      (j: any) => {
        j.item.name = 'x'
      },
      (j: any) => {
        j.createdAt = '2000-01-01T00:00:00.000Z'
      },
      (j: any) => {
        j.chain.location = 'elsewhere'
      },
    ]) {
      assert.equal((await verifyReceipt(reparse(r, mutate), {file})).status, 'consistent')
    }
  })

  it('with a PathFolder (batch verify), refuses exactly what it refuses without one, with the same result', async () => {
    const d = await files('folder', 9)
    await stamp(await newChain(), [d], {cwd: dir})
    const receipts = await Promise.all(Array.from({length: 9}, (_, i) => loadReceipt(join(d, `f${i}.txt.tsvm`))))
    const folder = new PathFolder()
    const same = (r: Receipt, item = r.item.hash) => {
      const plain = checkReceipt(r, item)
      assert.deepEqual(checkReceipt(r, item, folder), plain)
      return plain
    }

    for (const r of receipts) assert.equal(same(r).status, 'consistent')
    const other = makeBlock({parentId: EMPTY_ID, height: 9n, timestamp: 5n, data: receipts[0]!.payload})
    for (const [i, r] of receipts.entries()) {
      const bad: Receipt[] = r.merkle!.path.map((_, k) =>
        reparse(r, (j) => {
          j.merkle.path[k].hash = flip(j.merkle.path[k].hash)
        }),
      )
      bad.push(
        reparse(r, (j) => {
          j.merkle = receipts[(i + 1) % 9]!.merkle && JSON.parse(serializeReceipt(receipts[(i + 1) % 9]!)).merkle
        }),
        reparse(r, (j) => {
          j.payload = flip(j.payload)
        }),
        reparse(r, (j) => {
          j.block.bytes = toHex(other.bytes)
        }),
        reparse(r, (j) => {
          j.block.id = idToString(other.id)
        }),
        reparse(r, (j) => {
          j.block.timestamp = '6'
        }),
      )
      for (const b of bad) {
        const result = same(b)
        assert.equal(result.status, 'invalid')
        assert.equal(result.code, 'PROOF_INVALID')
      }

      assert.equal(same(r, sha256(r.item.hash)).check, 'item')
      // the good receipts still pass after the bad ones were folded
      for (const good of receipts) assert.equal(same(good).status, 'consistent')
    }
  })

  it('a single-item receipt whose payload is not the item hash is invalid', async () => {
    const d = await files('single', 1)
    await stamp(await newChain(), [join(d, 'f0.txt')], {cwd: dir})
    const r = await loadReceipt(join(d, 'f0.txt.tsvm'))
    const v = checkReceipt(
      reparse(r, (j) => {
        j.payload = toHex(sha256(Uint8Array.of(9)))
      }),
    )
    assert.equal(v.check, 'payload')
  })

  it('a block whose bytes do not hash to its ID is invalid', () => {
    const item = sha256(Uint8Array.of(1))
    const b = makeBlock({parentId: EMPTY_ID, height: 1n, timestamp: 10n, data: item})
    const r: Receipt = {
      item: {hash: item},
      merkle: null,
      payload: item,
      block: {
        id: sha256(Uint8Array.of(2)),
        bytes: b.bytes,
        height: 1n,
        timestamp: 10n,
        time: '1970-01-01T00:00:10.000Z',
      },
      chain: {kind: 'embedded', location: '/x'},
      status: 'complete',
      createdAt: '2026-01-01T00:00:00.000Z',
    }
    assert.equal(checkReceipt(r, item).check, 'block.id')
    assert.equal(checkReceipt({...r, block: {...r.block!, id: b.id}}, item).status, 'consistent')
  })

  it('pending receipts (no wait) verify as pending, then upgrade once accepted', async () => {
    const d = await files('pending', 4)
    const chain = await newChain()
    const res = await stamp(chain, [d], {cwd: dir, wait: false})
    assert.equal(res.status, 'pending')
    const path = join(d, 'f2.txt.tsvm')
    const pending = await loadReceipt(path)
    assert.equal(pending.status, 'pending')
    const v = await verifyReceipt(pending, {file: join(d, 'f2.txt')})
    assert.equal(v.status, 'pending')
    assert.equal(v.code, 'PENDING')
    assert.equal((await upgradeReceipt(path, chain)).status, 'pending')
    assert.equal((await loadReceipt(path)).status, 'pending')

    await chain.accept((await chain.build()).block.id)
    const online = await verifyReceipt(pending, {file: join(d, 'f2.txt'), chain})
    assert.equal(online.status, 'pending')
    assert.ok(online.reason?.includes('upgrade'))
    const up = await upgradeReceipt(path, chain)
    assert.equal(up.status, 'upgraded')
    const done = await loadReceipt(path)
    assert.equal(done.status, 'complete')
    assert.deepEqual(done.merkle, pending.merkle)
    assert.equal((await verifyReceipt(done, {file: join(d, 'f2.txt'), chain})).status, 'verified')
    assert.equal((await upgradeReceipt(path, chain)).status, 'complete')
  })

  it('online: unknown block, processing block, rejected block, remote chain', async () => {
    const d = await files('online', 2)
    const chain = await newChain()
    await stamp(chain, [d], {cwd: dir})
    const r = await loadReceipt(join(d, 'f0.txt.tsvm'))
    const file = join(d, 'f0.txt')
    // Another chain with the same genesis and clock: it builds the very same block when given the payload.
    const other = await newChain()
    const elsewhere = await verifyReceipt(r, {file, chain: other})
    assert.equal(elsewhere.status, 'not-found')
    assert.equal(elsewhere.code, 'BLOCK_NOT_FOUND')
    assert.equal((await verifyReceipt(r, {file})).status, 'consistent', 'offline it is only consistent')

    await other.propose([r.payload], {accept: false})
    const built = await other.build()
    assert.deepEqual(built.block.id, r.block!.id, 'the same block, processing on the other chain')
    assert.equal((await verifyReceipt(r, {file, chain: other})).code, 'PENDING')
    await other.reject(built.block.id)
    assert.equal((await other.getBlock(built.block.id)).status, Status.Rejected)
    const rejected = await verifyReceipt(r, {file, chain: other})
    assert.equal(rejected.code, 'PROOF_INVALID')
    assert.equal(rejected.check, 'chain')

    // A real node (the real VM behind the server) reached over JSON-RPC.
    const vm = await openTestVm({now: () => STAMP_TIME_MS})
    const engine = new Engine(vm.engine)
    const server = await startServer({chain: engine, chainId: 'c', vmId: 'v', dialect: 'v1.3', port: 0})
    const remote = new RemoteChain(server.endpoints.chainAlias, {pollMs: 20})
    try {
      await stamp(remote, [join(d, 'f1.txt')], {cwd: dir, outDir: join(dir, 'remote-receipts'), timeoutMs: 10_000})
      const rr = await loadReceipt(join(dir, 'remote-receipts', 'online', 'f1.txt.tsvm'))
      assert.equal(rr.chain.kind, 'remote')
      assert.equal((await verifyReceipt(rr, {file: join(d, 'f1.txt'), chain: remote})).status, 'verified')
    } finally {
      await remote.close()
      await server.close()
      await engine.close()
      await vm.close()
    }
  })

  it('verifies a bare hash against its receipt', async () => {
    const h = sha256(Uint8Array.of(42))
    const {Readable} = await import('node:stream')
    const outDir = join(dir, 'hashes')
    await stamp(await newChain(), ['-'], {cwd: dir, outDir, stdin: Readable.from([toHex(h) + '\n'])})
    const r = parseReceipt(await readFile(join(outDir, toHex(h) + '.tsvm'), 'utf8'))
    assert.equal((await verifyReceipt(r, {hash: h})).status, 'consistent')
    assert.equal((await verifyReceipt(r, {hash: fromHex('00'.repeat(32))})).check, 'item')
  })
})

describe('receipts of version 1', () => {
  it('still verify, with the limit that their Merkle position is not covered', async () => {
    // A version 1 receipt as tsvm 0.1.0 wrote it: version 1 leaves, accepted on a real chain.
    const items = [sha256(Uint8Array.of(1)), sha256(Uint8Array.of(2))]
    const tree = new MerkleTree(items, 1)
    const chain = await newChain()
    const [accepted] = (await chain.propose([tree.root])).accepted
    const v1: Receipt = {
      version: 1,
      item: {hash: items[1]!},
      merkle: {leaves: 2, index: 1, path: tree.path(1)},
      payload: tree.root,
      block: receiptBlock(accepted!.block),
      chain: {kind: 'embedded', location: chain.location},
      status: 'complete',
      createdAt: '2026-01-01T00:00:00.000Z',
    }
    const r = parseReceipt(serializeReceipt(v1))
    const v = await verifyReceipt(r, {hash: items[1]!, chain})
    assert.equal(v.status, 'verified')
    assert.equal(v.version, 1)
    assert.match(v.limits?.[0] ?? '', /version 1 receipt: the Merkle position \(leaf 1 of 2\) is not covered/)
    assert.match(verifyText(v), /\nlimit: version 1 receipt/)
    // the limit itself: leaf 1 of 2 relabelled as leaf 2 of 3 still verifies in version 1 ...
    const relabelled = reparse(r, (j) => Object.assign(j.merkle, {index: 2, leaves: 3}))
    assert.equal((await verifyReceipt(relabelled, {hash: items[1]!, chain})).status, 'verified')
    // ... and not in version 2, whose leaf binds the position
    assert.equal(checkReceipt(reparse(r, (j) => Object.assign(j, {version: 2}))).check, 'merkle.path')
    // version 1 cannot carry headers
    await writeFile(join(dir, 'v1.tsvm'), serializeReceipt(r))
    await assert.rejects(
      upgradeReceipt(join(dir, 'v1.tsvm'), chain, {checkpoint: 'last'}),
      (e: unknown) => e instanceof TsvmError && e.code === 'RECEIPT_INVALID',
    )
  })
})

describe('upgradeReceipts', () => {
  it('asks each named chain once, closes it, and leaves complete receipts alone', async () => {
    const d = await files('many-upgrades', 3)
    const chain = await newChain()
    await stamp(chain, [join(d, 'f0.txt'), join(d, 'f1.txt')], {cwd: dir, wait: false})
    await stamp(chain, [join(d, 'f2.txt')], {cwd: dir}) // accepts the queued payload too
    let opened = 0
    let closed = 0
    // The real chain, with close counted (it is closed for real after the tests).
    const counted: Chain = Object.create(chain, {
      close: {
        async value() {
          closed++
        },
      },
    })
    const {upgradeReceipts, chainOptionsFor} = await import('../../src/proof/upgrade.js')
    const res = await upgradeReceipts(
      ['f0.txt', 'f1.txt', 'f2.txt'].map((f) => join(d, f + '.tsvm')),
      async () => {
        opened++
        return counted
      },
    )
    assert.deepEqual(
      res.map((r) => r.status),
      ['upgraded', 'upgraded', 'complete'],
    )
    assert.equal(opened, 1)
    assert.equal(closed, 1)
    assert.throws(
      () => chainOptionsFor({kind: 'embedded', location: join(dir, 'gone')}),
      (e: unknown) => e instanceof TsvmError && e.code === 'NOT_INITIALIZED',
    )
    // an endpoint taken from a receipt is never contacted on the receipt's word
    assert.throws(
      () => chainOptionsFor({kind: 'remote', location: 'http://127.0.0.1:1/ext/bc/x'}, 'r.tsvm'),
      (e: unknown) =>
        e instanceof TsvmError && e.code === 'USAGE' && e.message.includes('--endpoint http://127.0.0.1:1/ext/bc/x'),
    )
    assert.deepEqual(chainOptionsFor({kind: 'embedded', location: dir}), {dataDir: dir})
  })
})
