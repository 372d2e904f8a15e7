import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'
import {mkdirSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import type {Worker} from 'node:worker_threads'

import {toTsvmError} from '../../src/errors.js'
import type {ItemCheck} from '../../src/proof/check-work.js'
import {MerkleTree} from '../../src/proof/merkle.js'
import {parseReceipt} from '../../src/proof/receipt.js'
import {
  type Board,
  CHUNK,
  claimedCount,
  doneCount,
  drain,
  errorFromShape,
  errorShape,
  Helpers,
  isDone,
  newBoard,
  PARALLEL_MIN_ITEMS,
} from '../../src/proof/threads.js'
import {
  hashSmallFile,
  readBuffer,
  receiptCommitter,
  receiptWriter,
  SMALL_FILE,
  type WriteJob,
} from '../../src/proof/work.js'
import {TsvmError} from '../../src/vm/errors.js'
import {tempDir} from '../helpers/cli.js'

const sleep = new Int32Array(new SharedArrayBuffer(4))
/** Keeps the main thread busy, so the helper (which takes ~50 ms to start) gets chunks too. */
const slowly = (ms: number) => Atomics.wait(sleep, 0, 0, ms)
/**
 * Called by this thread for each item it takes: at its first item it waits (up to 30 s) until another
 * thread has claimed a chunk too, so a helper surely takes part however slowly it starts on a busy
 * machine; after that it is slow about each item, so the helper takes more.
 */
function shareWithHelper(board: Board, i: number): void {
  if (i === 0) {
    const until = Date.now() + 30_000
    while (claimedCount(board) <= CHUNK && Date.now() < until) slowly(2)
  }

  slowly(1)
}

const sha = (b: Uint8Array) => new Uint8Array(createHash('sha256').update(b).digest())

const N = PARALLEL_MIN_ITEMS + 100

function writeJob(out: string, n: number): WriteJob {
  const hashes = Array.from({length: n}, (_, i) => sha(Uint8Array.of(i & 255, i >> 8)))
  const tree = new MerkleTree(hashes)
  const all = new Uint8Array(n * 32)
  for (const [i, h] of hashes.entries()) all.set(h, i * 32)
  return {
    shared: {
      payload: tree.root,
      block: null,
      chain: {kind: 'embedded', location: out},
      status: 'pending',
      createdAt: '2026-01-01T00:00:00.000Z',
    },
    levels: tree.toLevels(),
    hashes: all,
    names: hashes.map((_, i) => `d${i % 7}/r${i}`),
    targets: hashes.map((_, i) => join(out, `d${i % 7}`, `r${i}.tsvm`)),
    replace: false,
  }
}

describe('stamp helper threads', () => {
  let dir: string
  let cleanup: () => Promise<void>
  let paths: string[]
  before(async () => {
    ;({dir, cleanup} = await tempDir('tsvm-threads-'))
    mkdirSync(join(dir, 'files'))
    paths = Array.from({length: N}, (_, i) => join(dir, 'files', `f${i}`))
    for (const [i, p] of paths.entries()) writeFileSync(p, `file ${i}\n`)
    // one file too large to read at once: left to the main thread by every thread
    writeFileSync(paths[7]!, Buffer.alloc(SMALL_FILE + 10, 1))
  })
  after(() => cleanup())

  it('a helper starts for a big run on a machine with several cores, none for a small one', async () => {
    const small = Helpers.forItems(PARALLEL_MIN_ITEMS - 1)
    const big = Helpers.forItems(PARALLEL_MIN_ITEMS)
    try {
      assert.equal(small.count, 0)
      assert.equal(big.count, Math.min((await import('node:os')).availableParallelism(), 4) - 1)
    } finally {
      await Promise.all([small.close(), big.close()])
    }
  })

  it('hash job: the helper hashes what it takes, in shared memory; large files stay not done', async () => {
    const helpers = Helpers.forItems(N)
    assert.ok(helpers.count >= 1, 'this test needs a machine with 2 cores or more')
    try {
      const board = newBoard(N)
      const digests = new Uint8Array(new SharedArrayBuffer(N * 32))
      const mine = new Set<number>()
      const message = {kind: 'hash' as const, paths, digests: digests.buffer as SharedArrayBuffer}
      // This thread takes chunks but does nothing with them (returns false) and is slow about it.
      await helpers.run(message, board, (i) => {
        shareWithHelper(board, i)
        mine.add(i)
        return false
      })
      const byHelper = Array.from({length: N}, (_, i) => i).filter((i) => isDone(board, i))
      assert.ok(byHelper.length > 0, 'the helper did no item')
      assert.equal(isDone(board, 7), false, 'the large file is left to the main thread')
      for (const i of byHelper)
        assert.deepEqual(digests.slice(i * 32, (i + 1) * 32), sha(readFileSync(paths[i]!)), `item ${i}`)
      for (let i = 0; i < N; i++)
        if (i !== 7) assert.equal(mine.has(i), !isDone(board, i), `item ${i} was taken by exactly one thread`)
    } finally {
      await helpers.close()
    }
  })

  it('check job: each item a helper checked comes back once, chunk by chunk, with its digest in shared memory', async () => {
    const helpers = Helpers.forItems(N)
    assert.ok(helpers.count >= 1, 'this test needs a machine with 2 cores or more')
    const receipt = join(dir, 'one.tsvm')
    const hex = 'ab'.repeat(32)
    writeFileSync(
      receipt,
      JSON.stringify({
        format: 'tsvm-receipt',
        version: 2,
        item: {hash: hex},
        merkle: null,
        payload: hex,
        block: null,
        chain: {kind: 'embedded', location: '/chain'},
        status: 'pending',
        createdAt: '2026-01-01T00:00:00.000Z',
      }),
    )
    // this thread slow about each item (the helper's last chunk ends first), or quick once the helper has begun (it ends last)
    for (const slow of [true, false]) await checkJob(helpers, receipt, slow)
    await helpers.close()
  })

  async function checkJob(helpers: Helpers, receipt: string, slow: boolean): Promise<void> {
    try {
      const board = newBoard(N)
      const digests = new Uint8Array(new SharedArrayBuffer(N * 32))
      const job = {
        kind: 'check' as const,
        paths,
        receipts: paths.map(() => receipt),
        digests: digests.buffer as SharedArrayBuffer,
      }
      const out = (await helpers.run(job, board, (i) => {
        if (slow || i === 0) shareWithHelper(board, i)
        return false
      })) as ItemCheck[]
      const byHelper = Array.from({length: N}, (_, i) => i).filter((i) => isDone(board, i))
      assert.ok(byHelper.length > 0, 'the helper did no item')
      assert.deepEqual(
        out.map((c) => c.i).sort((a, b) => a - b),
        byHelper,
      )
      for (const c of out) {
        assert.equal(c.offline.status, 'invalid')
        assert.equal(c.offline.check, 'item')
        assert.deepEqual(digests.slice(c.i * 32, (c.i + 1) * 32), sha(readFileSync(paths[c.i]!)), `item ${c.i}`)
      }
    } catch (error) {
      await helpers.close()
      throw error
    }
  }

  it('hashSmallFile: the digest of a small file, undefined for a large one', () => {
    const buf = readBuffer()
    assert.deepEqual(hashSmallFile(paths[3]!, buf), sha(readFileSync(paths[3]!)))
    assert.equal(hashSmallFile(paths[7]!, buf), undefined)
    assert.throws(() => hashSmallFile(join(dir, 'missing'), buf), {code: 'ENOENT'})
  })

  it('write and commit jobs: receipts written and moved to their names by either thread are the same text', async () => {
    const job = writeJob(join(dir, 'w1'), N)
    const helpers = Helpers.forItems(N)
    try {
      for (const kind of ['write', 'commit'] as const) {
        const board = newBoard(N)
        const fn = kind === 'write' ? receiptWriter(job) : receiptCommitter(job)
        const here = new Set<number>()
        await helpers.run({kind, job}, board, (i) => {
          shareWithHelper(board, i)
          fn(i)
          here.add(i)
          return true
        })
        assert.ok(here.size < N, `the helper did no ${kind} item`)
        for (let i = 0; i < N; i++) assert.ok(isDone(board, i))
      }

      for (let i = 0; i < N; i++) {
        const r = parseReceipt(readFileSync(job.targets[i]!, 'utf8'))
        assert.equal(r.merkle!.index, i)
        assert.equal(r.item.name, job.names[i])
      }

      for (let d = 0; d < 7; d++)
        assert.deepEqual(
          readdirSync(join(dir, 'w1', `d${d}`)).filter((n) => n.includes('.tmp-')),
          [],
          'no temp file left',
        )
    } finally {
      await helpers.close()
    }
  })

  it("a helper's error stops every thread and is thrown on the main thread with its code", async () => {
    const job = writeJob(join(dir, 'w2'), N)
    const helpers = Helpers.forItems(N)
    assert.ok(helpers.count >= 1, 'this test needs a machine with 2 cores or more')
    try {
      const write = receiptWriter(job)
      await helpers.run({kind: 'write', job}, newBoard(N), (i) => {
        write(i)
        return true
      })
      // A receipt that is not ours appears at one item of every chunk, so whichever chunk the
      // helper takes, it meets one when moving its receipts into place.
      const clashes = Array.from({length: N}, (_, i) => i).filter((i) => i % CHUNK === 3)
      for (const i of clashes) writeFileSync(job.targets[i]!, 'not mine')
      const board = newBoard(N)
      const commit = receiptCommitter(job)
      // This thread skips the clashes, so only the helper can meet one.
      await assert.rejects(
        helpers.run({kind: 'commit', job}, board, (i) => {
          shareWithHelper(board, i)
          if (i % CHUNK !== 3) commit(i)
          return true
        }),
        (e: unknown) => e instanceof TsvmError && e.code === 'RECEIPT_EXISTS',
      )
      for (const i of clashes) assert.equal(readFileSync(job.targets[i]!, 'utf8'), 'not mine', `item ${i}`)
      assert.ok(doneCount(board) < N, 'work stopped at the error')
    } finally {
      await helpers.close()
    }
  })

  it('a helper that dies mid-job is dropped; its unfinished items stay not done', async () => {
    const helpers = Helpers.forItems(N)
    try {
      const board = newBoard(N)
      const digests = new Uint8Array(new SharedArrayBuffer(N * 32))
      const message = {kind: 'hash' as const, paths, digests: digests.buffer as SharedArrayBuffer}
      const worker = (helpers as unknown as {workers: Worker[]}).workers[0]!
      const exited = new Promise((resolve) => {
        worker.once('exit', resolve)
      })
      let calls = 0
      // Some way into the job, this thread stops the helper; the run still ends.
      await helpers.run(message, board, () => {
        if (++calls === 40) void worker.terminate()
        slowly(1)
        return false
      })
      await exited
      assert.equal(helpers.count, 0, 'the dead helper was dropped')
      const done = Array.from({length: N}, (_, i) => i).filter((i) => isDone(board, i))
      assert.ok(done.length + calls <= N)
      for (const i of done) assert.deepEqual(digests.slice(i * 32, (i + 1) * 32), sha(readFileSync(paths[i]!)))
    } finally {
      await helpers.close()
    }
  })

  it('drain sets the stop flag when its function throws', () => {
    const board = newBoard(CHUNK * 3)
    assert.throws(() =>
      drain(board, (i) => {
        if (i === CHUNK + 1) throw new Error('boom')
        return true
      }),
    )
    let more = 0
    drain(board, () => {
      more++
      return true
    })
    assert.equal(more, 0, 'no chunk is taken after a stop')
  })

  it('errors cross threads with their code', () => {
    const t = errorFromShape(errorShape(new TsvmError('RECEIPT_EXISTS', 'receipt x appeared', {details: {path: 'x'}})))
    assert.ok(t instanceof TsvmError)
    assert.equal(t.code, 'RECEIPT_EXISTS')
    assert.deepEqual(t.details, {path: 'x'})
    const fsError = Object.assign(new Error('ENOSPC: no space left on device, write'), {
      code: 'ENOSPC',
      syscall: 'write',
    })
    const mapped = toTsvmError(errorFromShape(errorShape(fsError)))
    assert.equal(mapped.code, 'IO_ERROR')
    assert.equal(mapped.details?.errno, 'ENOSPC')
  })
})
