// The VM's state on the node's database: RpcLevel (abstract-level over rpcdb) against the
// harness's rpcdb with the node's semantics, and a TimestampVM on it writing Go's keys.
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'

import {RpcDbClient, RpcLevel} from '../../src/plugin/rpcdb.js'
import {Status, makeBlock} from '../../src/vm/block.js'
import {genesisBlock} from '../../src/vm/genesis.js'
import {GENESIS_KEY, INITIALIZED_KEY, LAST_ACCEPTED_KEY, blockKey, heightKey} from '../../src/vm/state.js'
import {TimestampVM} from '../../src/vm/vm.js'
import {MemoryDb, serveMemoryDb} from './harness.js'

const hex = (u: Uint8Array) => Buffer.from(u).toString('hex')
const b = (...xs: number[]) => new Uint8Array(xs)

let db: MemoryDb
let server: {address: string; stop(): void}
let level: RpcLevel

before(async () => {
  db = new MemoryDb()
  server = await serveMemoryDb(db)
  level = new RpcLevel(new RpcDbClient(server.address))
  await level.open()
})
after(async () => {
  await level.close()
  server.stop()
})

describe('RpcLevel', () => {
  it('reads an empty value as present and empty, a missing key as undefined', async () => {
    await level.put(b(1), new Uint8Array(0))
    assert.deepEqual(await level.get(b(1)), new Uint8Array(0))
    assert.equal(await level.get(b(2)), undefined)
  })

  it('sends one WriteBatch per batch with the last operation per key', async () => {
    const before = db.batches.length
    await level.batch([
      {type: 'put', key: b(5), value: b(1)},
      {type: 'del', key: b(5)},
      {type: 'put', key: b(5), value: b(2)},
      {type: 'put', key: b(6), value: b(3)},
      {type: 'del', key: b(6)},
    ])
    assert.equal(db.batches.length, before + 1)
    const sent = db.batches.at(-1)!
    assert.deepEqual(sent, {puts: ['05'], deletes: ['06']})
    // Without de-duplication the node would apply the puts, then delete 05.
    assert.deepEqual(await level.get(b(5)), b(2))
    assert.equal(await level.get(b(6)), undefined)
  })

  it('a chained batch is one WriteBatch too', async () => {
    const before = db.batches.length
    await level.batch().put(b(7), b(7)).del(b(7)).put(b(7), b(8)).write()
    assert.equal(db.batches.length, before + 1)
    assert.deepEqual(await level.get(b(7)), b(8))
  })

  it('iterates ranges across pages, forward and reverse, and releases its iterators', async () => {
    const keys: Array<{type: 'put'; key: Uint8Array; value: Uint8Array}> = []
    // 3000 entries of ~100 bytes: three pages of 128 KiB.
    for (let i = 0; i < 3000; i++)
      keys.push({type: 'put', key: b(0x40, i >> 8, i & 0xff), value: new Uint8Array(97).fill(i & 0xff)})
    await level.batch(keys)
    await level.put(b(0x41), b(1)) // outside the range, past its end
    const all = await level.keys({gte: b(0x40), lt: b(0x41)}).all()
    assert.equal(all.length, 3000)
    assert.deepEqual(all[2999], b(0x40, 2999 >> 8, 2999 & 0xff))
    const some = await level.iterator({gt: b(0x40, 0, 10), lte: b(0x40, 0, 20)}).all()
    assert.deepEqual(
      some.map(([k]) => k[2]),
      [11, 12, 13, 14, 15, 16, 17, 18, 19, 20],
    )
    const rev = await level.keys({gte: b(0x40), lt: b(0x41), reverse: true, limit: 3}).all()
    assert.deepEqual(
      rev.map((k) => hex(k)),
      ['400bb7', '400bb6', '400bb5'],
    )
    let n = 0
    // eslint-disable-next-line @typescript-eslint/no-unused-vars -- counts the keys
    for await (const _ of level.keys({gte: b(0x40), lt: b(0x41), limit: 5})) n++
    assert.equal(n, 5)
    assert.equal(db.openIterators, 0)
  })
})

describe('TimestampVM on rpcdb', () => {
  it("writes Go's keys and values (initialized flag: an empty value), one WriteBatch per transition, and reopens", async () => {
    const mem = new MemoryDb()
    const srv = await serveMemoryDb(mem)
    const clock = {ms: 1_700_000_000_000}
    const vm = await TimestampVM.openOn(new RpcLevel(new RpcDbClient(srv.address)), 'test db', {now: () => clock.ms})
    try {
      assert.equal(vm.isInitialized(), false)
      const {genesis} = await vm.initialize(b(0, 0, 0, 0, 0))
      assert.deepEqual(genesis.id, genesisBlock(b(0, 0, 0, 0, 0)).id)
      assert.equal(hex(mem.get(INITIALIZED_KEY)!), '')
      assert.equal(hex(mem.get(LAST_ACCEPTED_KEY)!), hex(genesis.id))
      assert.equal(mem.get(blockKey(genesis.id))!.length, 92)
      assert.equal(hex(mem.get(GENESIS_KEY)!), '0000000000')
      const block = makeBlock({
        parentId: genesis.id,
        height: 1n,
        timestamp: 1_700_000_000n,
        data: new Uint8Array(32).fill(1),
      })
      await vm.verify(block)
      const before = mem.batches.length
      await vm.accept(block.id)
      assert.equal(mem.batches.length, before + 1, 'one WriteBatch per accept')
      const batch = mem.batches.at(-1)!
      assert.equal(
        new Set([...batch.puts, ...batch.deletes]).size,
        batch.puts.length + batch.deletes.length,
        'no key twice',
      )
      assert.ok(batch.puts.includes(hex(heightKey(1n))))
      assert.ok(batch.puts.includes(hex(LAST_ACCEPTED_KEY)))
    } finally {
      await vm.close()
    }

    const again = await TimestampVM.openOn(new RpcLevel(new RpcDbClient(srv.address)), 'test db', {now: () => clock.ms})
    try {
      assert.equal(again.isInitialized(), true)
      assert.equal(again.lastAccepted().height, 1n)
      assert.equal((await again.getBlockAtHeight(1n))?.status, Status.Accepted)
      const report = await again.check()
      assert.deepEqual(report.problems, [])
    } finally {
      await again.close()
      srv.stop()
    }
  })

  it('fails every call after the node answers with a non-OK status', async () => {
    const mem = new MemoryDb()
    const srv = await serveMemoryDb(mem)
    const client = new RpcDbClient(srv.address)
    await client.writeBatch([[b(1), b(1)]], [])
    await assert.rejects(client.next(99n), {code: 'IO_ERROR'})
    await assert.rejects(client.get(b(1)), {code: 'IO_ERROR'})
    client.close()
    srv.stop()
  })
})
