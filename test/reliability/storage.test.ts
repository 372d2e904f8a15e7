// The guarantees the state layer takes from LevelDB, tested against classic-level itself:
// a batch is all-or-nothing even when the writer is SIGKILLed mid-stream, an acknowledged
// write survives the kill, a read after a write sees it, iterators walk big-endian keys in
// numeric order, and a second process cannot open a database that is in use.
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {fileURLToPath} from 'node:url'

import {ClassicLevel} from 'classic-level'
import fc from 'fast-check'

import {ChainState} from '../../src/vm/state.js'
import {TimestampVM} from '../../src/vm/vm.js'
import {tempDir} from '../helpers/cli.js'
import {batchKey, KEYS_PER_BATCH} from './children/level-writer.js'
import {between, rng} from './random.js'

const WRITER = join(fileURLToPath(import.meta.url), '..', 'children', 'level-writer.js')

type Db = ClassicLevel<Uint8Array, Uint8Array>
const openDb = async (dir: string): Promise<Db> => {
  const db = new ClassicLevel<Uint8Array, Uint8Array>(dir, {keyEncoding: 'view', valueEncoding: 'view'})
  await db.open()
  return db
}

const u64 = (n: bigint) => {
  const b = new Uint8Array(8)
  new DataView(b.buffer).setBigUint64(0, n)
  return b
}

const readU64 = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0)

/** Starts the writer, waits for `acks` acknowledgements plus a random few ms, then SIGKILLs it. */
function writeThenKill(dir: string, from: number, acks: number, extraMs: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WRITER, dir, String(from)], {stdio: ['ignore', 'pipe', 'pipe']})
    const acked: number[] = []
    let buf = ''
    let stderr = ''
    let armed = false
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString()
    })
    child.stdout.on('data', (b: Buffer) => {
      buf += b.toString()
      let nl
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl)
        buf = buf.slice(nl + 1)
        if (line.startsWith('ack ')) acked.push(Number(line.slice(4)))
      }

      if (!armed && acked.length >= acks) {
        armed = true
        setTimeout(() => child.kill('SIGKILL'), extraMs)
      }
    })
    child.on('error', reject)
    child.on('close', (_code, signal) => {
      if (signal === 'SIGKILL') {
        resolve(acked)
      } else {
        reject(new Error(`writer exited without being killed: ${stderr}`))
      }
    })
  })
}

describe('storage guarantees (classic-level)', () => {
  let dir: string
  let cleanup: () => Promise<void>
  before(async () => {
    ;({dir, cleanup} = await tempDir('tsvm-storage-'))
  })
  after(() => cleanup())

  it('keeps every acknowledged batch and never half a batch across SIGKILLs', async () => {
    const next = rng(7)
    const path = join(dir, 'killed')
    let from = 0
    for (let round = 0; round < 4; round++) {
      const acked = await writeThenKill(path, from, between(next, 1, 40), between(next, 0, 25))
      const db = await openDb(path)
      try {
        const head = Number(readU64((await db.get(new TextEncoder().encode('head'))) as Uint8Array))
        assert.ok(
          head >= Math.max(...acked),
          `head ${head} is behind the last acknowledged batch ${Math.max(...acked)}`,
        )
        const counts = new Map<number, number>()
        for await (const key of db.keys({gte: batchKey(0, 0), lt: batchKey(2 ** 40, 0)})) {
          const n = Number(readU64(key))
          counts.set(n, (counts.get(n) ?? 0) + 1)
        }

        for (let n = 0; n <= head; n++)
          assert.equal(counts.get(n), KEYS_PER_BATCH, `batch ${n} has ${counts.get(n) ?? 0} of ${KEYS_PER_BATCH} keys`)
        for (const n of counts.keys()) assert.ok(n <= head, `batch ${n} is partly there beyond head ${head}`)
        from = head + 1
      } finally {
        await db.close()
      }
    }
  })

  it('refuses a second process while one holds the database (LEVEL_LOCKED)', async () => {
    const path = join(dir, 'locked')
    const child = spawn(process.execPath, [WRITER, path, '0'], {stdio: ['ignore', 'pipe', 'ignore']})
    await new Promise<void>((resolve) => {
      child.stdout.once('data', () => resolve())
    })
    try {
      const db = new ClassicLevel(path)
      const error = (await db.open().then(
        () => {},
        (error_: unknown) => error_,
      )) as {code?: string; cause?: {code?: string}} | undefined
      assert.ok(error, 'a second open of a locked database succeeded')
      assert.equal(error.cause?.code ?? error.code, 'LEVEL_LOCKED')
    } finally {
      child.kill('SIGKILL')
      await new Promise((r) => {
        child.once('close', r)
      })
    }
  })

  it('reads its own writes, and iterators see the state at their creation', async () => {
    const db = await openDb(join(dir, 'ryw'))
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.uint8Array({minLength: 1, maxLength: 40}),
          fc.uint8Array({maxLength: 100}),
          async (k, v) => {
            await db.batch([{type: 'put', key: k, value: v}], {sync: true})
            assert.deepEqual(Uint8Array.from((await db.get(k))!), v)
            const it = db.iterator({gte: k, lte: k})
            await db.del(k)
            assert.equal(await db.get(k), undefined)
            const seen = await it.all()
            assert.equal(seen.length, 1, 'an iterator created before a delete must still see the key')
            assert.deepEqual(Uint8Array.from(seen[0]![1]), v)
          },
        ),
        {seed: 11, numRuns: 150},
      )
    } finally {
      await db.close()
    }
  })

  it('iterates big-endian uint64 keys in numeric order, forwards, backwards and by range', async () => {
    const db = await openDb(join(dir, 'order'))
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.uniqueArray(fc.bigUintN(64), {minLength: 1, maxLength: 60}),
          fc.bigUintN(64),
          async (heights, pivot) => {
            await db.clear()
            const prefixed = (n: bigint) => Uint8Array.from([0x68, ...u64(n)])
            await db.batch(heights.map((h) => ({type: 'put' as const, key: prefixed(h), value: u64(h)})))
            // a key under another prefix must stay outside the range
            await db.put(Uint8Array.of(0x69), new Uint8Array(0))
            const sorted = [...heights].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
            const range = {gte: Uint8Array.of(0x68), lt: Uint8Array.of(0x69)}
            assert.deepEqual(
              (await db.values(range).all()).map((b) => readU64(b)),
              sorted,
            )
            assert.deepEqual(
              (await db.values({...range, reverse: true}).all()).map((b) => readU64(b)),
              [...sorted].reverse(),
            )
            const fromPivot = (await db.values({gte: prefixed(pivot), lt: Uint8Array.of(0x69)}).all()).map((b) =>
              readU64(b),
            )
            assert.deepEqual(
              fromPivot,
              sorted.filter((h) => h >= pivot),
            )
            const last = await db.values({...range, reverse: true, limit: 1}).all()
            assert.equal(readU64(last[0]!), sorted.at(-1))
          },
        ),
        {seed: 13, numRuns: 60},
      )
    } finally {
      await db.close()
    }
  })

  it('writes every state transition a caller is told about with sync: true', async () => {
    // LevelDB keeps a non-sync write in the OS page cache: it survives a SIGKILL but not a power
    // cut. Every write the VM acknowledges must therefore ask for fsync.
    // Every write goes through prepare (write is prepare + write), so that is where to look.
    const writes: Array<{ops: number; sync: boolean}> = []
    const original = ChainState.prototype.prepare
    ChainState.prototype.prepare = function (batch) {
      const prepared = original.call(this, batch)
      return {
        ...prepared,
        write(options = {}) {
          writes.push({ops: batch.size, sync: options.sync === true})
          return prepared.write(options)
        },
      }
    }

    let vm: TimestampVM | undefined
    try {
      vm = await TimestampVM.open(join(dir, 'sync'))
      await vm.initialize(new Uint8Array(0))
      await vm.proposeMany([new Uint8Array(32).fill(1), new Uint8Array(32).fill(2), new Uint8Array(32).fill(3)])
      await vm.buildAndAccept({max: 1})
      const built = await vm.buildBlock()
      await vm.accept(built.id)
      const other = await vm.buildBlock()
      await vm.reject(other.id)
      await vm.acceptPayloads([new Uint8Array(32).fill(4)])
      await vm.acceptPayloadGroups(
        [5, 6, 7].map((b) => new Uint8Array(32).fill(b)),
        {groupSize: 1, onGroup() {}},
      )
    } finally {
      await vm?.close()
      ChainState.prototype.prepare = original
    }

    assert.ok(writes.length >= 10, `only ${writes.length} writes seen`)
    assert.deepEqual(
      writes.filter((w) => !w.sync),
      [],
      'a state transition was written without sync',
    )
  })
})
