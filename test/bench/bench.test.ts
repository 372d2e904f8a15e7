// The benchmark as a smoke test: every figure function runs with tiny sizes against the real
// binary and returns well-formed rows. Timings are never asserted, only the shape.
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {createServer} from 'node:http'
import type {AddressInfo} from 'node:net'
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {setImmediate as setImmediatePromise} from 'node:timers/promises'

import {ClassicLevel} from 'classic-level'

import {BENCH_DIST, TINY, type Figure} from '../../bench/lib.js'
import {decodeWrites, describeWrites, encodeWrites, replay, type Write} from '../../bench/record.js'
import {CDF_POINTS} from '../../bench/load.js'
import {RawPool} from '../../bench/raw-http.js'
import {renderReport} from '../../bench/report.js'
import {GROUPS, formatTable, runBench} from '../../bench/run.js'

function assertFigure(f: Figure): void {
  assert.match(f.id, /^[a-z][a-zA-Z0-9.-]*$/)
  assert.ok(f.name.length > 0)
  assert.ok(Number.isFinite(f.value) && f.value > 0, `${f.id}: value ${f.value}`)
  assert.ok(f.unit.length > 0)
  if (f.baseline) {
    assert.ok(Number.isFinite(f.baseline.value) && f.baseline.value > 0, `${f.id}: baseline ${f.baseline.value}`)
    assert.ok(Number.isFinite(f.ratio) && f.ratio! > 0, `${f.id}: ratio ${f.ratio}`)
  }

  if (f.goal !== undefined) assert.equal(typeof f.met, 'boolean', `${f.id}: met`)
  assert.equal(typeof f.detail, 'object')
}

describe('bench', () => {
  let dir: string
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsvm-bench-test-'))
  })
  after(async () => {
    await rm(dir, {recursive: true, force: true})
  })

  it('records writes and replays them into a fresh database', async () => {
    const writes: Write[] = [
      {
        sync: true,
        ops: [
          {type: 'put', key: new Uint8Array([1, 2]), value: new Uint8Array([3])},
          {type: 'del', key: new Uint8Array([9])},
        ],
      },
      {sync: false, ops: [{type: 'put', key: new Uint8Array([4]), value: new Uint8Array(0)}]},
    ]
    const back = decodeWrites(encodeWrites(writes))
    assert.deepEqual(
      back.map((w) => ({
        sync: w.sync,
        ops: w.ops.map((o) => ({...o, key: [...o.key], ...(o.type === 'put' ? {value: [...o.value]} : {})})),
      })),
      writes.map((w) => ({
        sync: w.sync,
        ops: w.ops.map((o) => ({...o, key: [...o.key], ...(o.type === 'put' ? {value: [...o.value]} : {})})),
      })),
    )
    assert.deepEqual(describeWrites(back), {writes: 2, synced: 1, ops: 3, bytes: 5})
    const ms = await replay(join(dir, 'replay'), back)
    assert.ok(ms >= 0)
  })

  it('runs every figure group at tiny sizes and formats the table', async () => {
    const {figures, failures} = await runBench(TINY)
    assert.deepEqual(failures, {})
    assert.deepEqual(
      figures.map((f) => f.id),
      [
        'startup.vm-id',
        'startup.get-block',
        'chain.durable-accept',
        'chain.propose',
        'chain.propose.rss',
        'stamp',
        'verify',
        'serve.proposeBlock',
        'serve.proposeBlock.p99',
        'serve.getBlock',
        'serve.rss',
        'plugin.handshake',
        'plugin.accept',
        'plugin.getBlock',
        'chain.adopt',
        'chain.adopt-nextv',
        'chain.adopt-floor',
      ],
    )
    for (const f of figures) assertFigure(f)
    // The recorder saw the CLI's writes (its bundled classic-level included), and the load
    // generator saw no failed request (a wrong body or status would count).
    assert.ok(
      (figures.find((f) => f.id === 'chain.propose')!.detail.writes as {ops: number}).ops >= TINY.proposePayloads,
    )
    for (const id of ['serve.proposeBlock', 'serve.proposeBlock.p99', 'serve.getBlock', 'plugin.getBlock'])
      assert.equal(figures.find((f) => f.id === id)!.detail.errors, 0, id)
    const floorRuns = figures.find((f) => f.id === 'serve.proposeBlock.p99')!.detail.baselineRuns as Array<{
      requests: number
      errors: number
    }>
    assert.ok(
      floorRuns.length > 0 && floorRuns.every((r) => r.requests > 0 && r.errors === 0),
      'the durable floor answered every request',
    )
    const closedFloor = figures.find((f) => f.id === 'serve.proposeBlock')!.detail.durableFloor as {
      rps: number
      errors: number
      runs: Array<{requests: number}>
    }
    assert.ok(
      closedFloor.rps > 0 && closedFloor.runs.every((r) => r.requests > 0),
      'the durable floor took the closed load',
    )
    assert.equal(closedFloor.errors, 0)
    const pooled = figures.find((f) => f.id === 'serve.proposeBlock.p99')!.detail.v8PoolSize1 as {
      errors: number
      runs: Array<{requests: number}>
    }
    assert.ok(pooled.runs.length > 0 && pooled.runs.every((r) => r.requests > 0), 'the V8-pool-1 server was loaded')
    assert.equal(pooled.errors, 0)
    const table = formatTable(figures, {stamp: 'tsvm stamp exited 1'}).split('\n')
    assert.equal(table.length, 2 + figures.length + 1)
    assert.match(table[0]!, /^\| figure \| value \| baseline/)
    assert.match(table.at(-1)!, /^\| stamp \| failed \|/)
    // The page: the four latency distributions and a pair of bars per figure with a baseline,
    // self-contained (nothing it would fetch, no script).
    const page = renderReport({
      figures,
      failures,
      started: 'now',
      quick: true,
      machine: {cpus: 2},
      table: table.join('\n'),
    })
    for (const name of ['tsvm serve', 'durable floor', 'bare node:http'])
      assert.match(page, new RegExp(`>${name}</text>`))
    assert.match(page, />durable floor: [\d,.]+ req\/s<\/text>/, "the floor's bar beside proposeBlock's closed load")
    assert.equal(page.match(/<polyline /g)?.length, 4)
    assert.equal(
      page.match(/<h3>/g)?.length,
      figures.filter((f) => f.baseline !== undefined && f.ratio !== undefined).length,
    )
    assert.doesNotMatch(page, /<script|<link|<img|\ssrc=|\shref=|url\(|@import/i)
    assert.equal(
      (figures.find((f) => f.id === 'serve.proposeBlock.p99')!.detail.runs as Array<{cdf: number[]}>)[0]!.cdf.length,
      CDF_POINTS.length,
    )
  })

  it('the durable floor writes each request to LevelDB, synced, before answering it', async () => {
    const db = join(dir, 'floor')
    const child = spawn(process.execPath, [join(BENCH_DIST, 'http-baseline.js'), '{"ok":true}', db], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    try {
      const port = await new Promise<number>((resolve, reject) => {
        let out = ''
        child.stdout.on('data', (b: Buffer) => {
          out += b.toString()
          const m = /"port":(\d+)/.exec(out)
          if (m) resolve(Number(m[1]))
        })
        child.on('close', (code) => reject(new Error(`baseline exited ${code}`)))
      })
      // 20 at once: some share a group commit, and every answer comes after its write.
      const answers = await Promise.all(
        Array.from({length: 20}, (_, i) =>
          fetch(`http://127.0.0.1:${port}/`, {method: 'POST', body: `request ${i}`}).then((r) => r.text()),
        ),
      )
      assert.deepEqual(answers, Array.from({length: 20}).fill('{"ok":true}\n'))
    } finally {
      child.kill('SIGTERM')
      await new Promise((resolve) => {
        child.once('close', resolve)
      })
    }

    const level = new ClassicLevel(db, {keyEncoding: 'view', valueEncoding: 'view'})
    try {
      // a block, its height and its payload index per request; the last accepted and preferred IDs
      assert.equal((await level.keys().all()).length, 20 * 3 + 2)
    } finally {
      await level.close()
    }
  })

  it("the open load's raw client replaces a connection the server closed while idle", async () => {
    // A server that ends idle keep-alive connections after 10 ms, as node:http does after 5 s.
    const server = createServer((_req, res) => res.end('{"ok":true}'))
    server.keepAliveTimeout = 10
    await new Promise<void>((resolve) => {
      server.listen(0, '127.0.0.1', resolve)
    })
    const pool = new RawPool((server.address() as AddressInfo).port, '/', 1)
    try {
      assert.deepEqual(await pool.post('{}'), {status: 200, body: '{"ok":true}'})
      // Until the client has seen the server close its only connection.
      while (pool.closedIdleCount === 0) await setImmediatePromise()
      assert.deepEqual(await pool.post('{}'), {status: 200, body: '{"ok":true}'})
      assert.equal(pool.closedIdleCount, 0)
    } finally {
      pool.close()
      server.closeAllConnections()
      await new Promise((resolve) => {
        server.close(resolve)
      })
    }
  })

  it('names every figure group', () => {
    assert.deepEqual(Object.keys(GROUPS), [
      'startup-vm-id',
      'startup-get-block',
      'accept',
      'propose',
      'stamp',
      'verify',
      'serve',
      'plugin',
      'adopt',
    ])
  })
})
