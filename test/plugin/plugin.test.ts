// The plugin process driven by the node-side harness: the sequences AvalancheGo v1.14.2 runs
// (registration, chain creation, normal operation, bootstrapping, restart), every fixed reply,
// WaitForEvent cancellation, concurrent API calls, messages over 4 MiB, signals and shutdown.
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import * as grpc from '@grpc/grpc-js'

import {
  HttpService,
  RuntimeService,
  State,
  SummaryMode,
  VmError,
  VmMessage,
  VmService,
} from '../../src/plugin/messages.js'
import {type Block, makeBlock} from '../../src/vm/block.js'
import {EMPTY_ID, idToString} from '../../src/vm/encoding.js'
import {encodeWith} from '../../src/vm/formatting.js'
import {genesisBlock} from '../../src/vm/genesis.js'
import {heightKey} from '../../src/vm/state.js'
import {
  type CallError,
  MemoryDb,
  type NodeBlock,
  NodeChain,
  NodeClient,
  type PluginProcess,
  serveResponseWriter,
  serve,
  spawnPlugin,
  startChain,
  writeLauncher,
} from './harness.js'

const hex = (u: Uint8Array) => Buffer.from(u).toString('hex')
const utf8 = new TextEncoder()

function payload(i: number): Uint8Array {
  const d = new Uint8Array(32)
  new DataView(d.buffer).setUint32(28, i)
  return d
}

const nowSeconds = () => BigInt(Math.floor(Date.now() / 1000))

/** A child of `parent` built off-line (as a peer would), stamped no earlier than its parent. */
function child(parent: NodeBlock | Block, i: number): Block {
  const ts = nowSeconds() > parent.timestamp ? nowSeconds() : parent.timestamp
  return makeBlock({parentId: parent.id, height: parent.height + 1n, timestamp: ts, data: payload(i)})
}

async function rejectsWithStatus(p: Promise<unknown>, code?: grpc.status): Promise<CallError> {
  try {
    await p
  } catch (error) {
    const e = error as CallError
    assert.equal(typeof e.code, 'number', `not a gRPC error: ${String(error)}`)
    assert.notEqual(e.code, grpc.status.OK)
    if (code !== undefined) assert.equal(e.code, code, e.details)
    return e
  }

  assert.fail('expected a non-OK status')
}

async function propose(chain: NodeChain, data: Uint8Array): Promise<boolean> {
  const r = await chain.rpc('timestampvm.proposeBlock', {data: encodeWith('hex', data)})
  assert.equal(r.code, 200, r.body)
  const body = JSON.parse(r.body) as {result?: {Success: boolean}; error?: unknown}
  assert.ok(body.result, r.body)
  return body.result.Success
}

async function health(chain: NodeChain): Promise<Record<string, unknown>> {
  return JSON.parse(new TextDecoder().decode((await chain.vm.call(VmService.Health, {})).details)) as Record<
    string,
    unknown
  >
}

// ------------------------------------------------------------------------------------------

describe('registration (spawn, handshake, Version, Shutdown, SIGTERM; no Initialize)', () => {
  it('announces protocol 45 on 127.0.0.1, answers Version and Shutdown without Initialize, ignores SIGINT, exits on SIGTERM after Shutdown', async () => {
    const plugin = await spawnPlugin()
    assert.equal(plugin.handshake!.protocolVersion, 45)
    assert.match(plugin.handshake!.addr, /^127\.0\.0\.1:\d+$/)
    plugin.child.kill('SIGINT')
    // SIGTERM before Shutdown is ignored, as Go plugins do.
    plugin.child.kill('SIGTERM')
    const v = await plugin.vm!.call(VmService.Version, {})
    assert.match(v.version, /^tsvm\//)
    const end = await plugin.stop()
    assert.deepEqual(end, {code: 0, signal: null, killed: false})
    assert.equal(plugin.stdout, '')
    assert.match(plugin.stderr, /SIGTERM before Shutdown: ignored/)
  })

  it('announces the protocol the launcher names (44 for AvalancheGo v1.14.0-1)', async () => {
    const plugin = await spawnPlugin({protocol: 44, nodeProtocol: 44})
    assert.equal(plugin.handshake!.protocolVersion, 44)
    await plugin.stop()
  })

  it('a node of another protocol refuses the handshake, and the plugin says why on stderr', async () => {
    const error = (await spawnPlugin({protocol: 44, nodeProtocol: 45}).then(
      () => assert.fail('handshake succeeded'),
      (error_: unknown) => error_,
    )) as {message: string; handshake?: {protocolVersion: number}}
    assert.match(error.message, /handshake failed/)
    assert.equal(error.handshake?.protocolVersion, 44)
  })

  it('a plugin whose node is gone without a signal exits by itself', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tsvm-orphan-'))
    try {
      const launcher = await writeLauncher(dir)
      let arrived: (() => void) | undefined
      const handshake = new Promise<void>((r) => {
        arrived = r
      })
      const runtime = await serve({
        Initialize: [
          RuntimeService.Initialize,
          () => {
            arrived!()
            return {}
          },
        ],
      })
      // The "node" (sh) starts the plugin, waits for its handshake, then exits: no Shutdown, no
      // SIGTERM, no Pdeathsig. (It must outlive the plugin's start, or the plugin sees no change.)
      const sh = spawn('/bin/sh', ['-c', `'${launcher}' & echo $!; read line`], {
        cwd: dir,
        env: {AVALANCHE_VM_RUNTIME_ENGINE_ADDR: runtime.address},
        stdio: ['pipe', 'pipe', 'ignore'],
      })
      let out = ''
      sh.stdout.on('data', (b: Buffer) => {
        out += b.toString()
      })
      await handshake
      sh.stdin.end('go\n')
      await new Promise((r) => {
        sh.on('exit', r)
      })
      const pid = Number(out.trim())
      assert.ok(pid > 0, out)
      const alive = () => {
        try {
          process.kill(pid, 0)
          return true
        } catch {
          return false
        }
      }

      for (let i = 0; alive(); i++) {
        if (i >= 300) {
          process.kill(pid, 'SIGKILL')
          assert.fail('the orphaned plugin did not exit')
        }

        await new Promise((r) => {
          setTimeout(r, 100)
        })
      }

      runtime.server.forceShutdown()
    } finally {
      await rm(dir, {recursive: true, force: true})
    }
  })

  it('refuses a protocol outside 42-46 before any handshake, with a clear reason', async () => {
    const error = (await spawnPlugin({protocol: 41}).then(
      () => assert.fail('handshake succeeded'),
      (error_: unknown) => error_,
    )) as {message: string; stderr: string}
    assert.match(error.message, /handshake failed: vm process not found \(exited\)/)
    assert.match(error.stderr, /--protocol 41 is not supported: use one of 42 \(v1\.13\.3\)/)
  })
})

// ------------------------------------------------------------------------------------------

describe('a chain through its life: creation, normal operation, fixed replies, API', () => {
  const genesisBytes = utf8.encode('e2e')
  let plugin: PluginProcess
  let chain: NodeChain
  let genesis: NodeBlock
  let b1: NodeBlock

  before(async () => {
    const started = await startChain({genesis: genesisBytes})
    plugin = started.plugin
    chain = started.chain
    genesis = started.last
  })
  after(async () => {
    if (plugin.child.exitCode === null) await chain.stop()
  })

  it('Initialize creates the genesis from genesis_bytes: height 0, time 0 (present), parent 32 zero bytes', () => {
    const expected = genesisBlock(genesisBytes)
    assert.equal(hex(genesis.id), hex(expected.id))
    assert.equal(hex(genesis.parentId), hex(EMPTY_ID))
    assert.equal(genesis.height, 0n)
    assert.equal(genesis.timestamp, 0n)
    assert.equal(hex(genesis.bytes), hex(expected.bytes))
  })

  it('answers the fixed replies: handlers, HTTP handler, state sync, App*, Connected, Gather, Health', async () => {
    const handlers = await chain.vm.call(VmService.CreateHandlers, {})
    assert.deepEqual(handlers.handlers, [{prefix: '', serverAddr: plugin.handshake!.addr}])
    assert.deepEqual(await chain.vm.call(VmService.NewHTTPHandler, {}), {serverAddr: ''})
    assert.deepEqual(await chain.vm.call(VmService.StateSyncEnabled, {}), {enabled: false, err: 0})
    const notImpl = VmError.STATE_SYNC_NOT_IMPLEMENTED
    assert.equal((await chain.vm.call(VmService.GetOngoingSyncStateSummary, {})).err, notImpl)
    assert.equal((await chain.vm.call(VmService.GetLastStateSummary, {})).err, notImpl)
    assert.equal((await chain.vm.call(VmService.ParseStateSummary, {bytes: new Uint8Array(5)})).err, notImpl)
    assert.equal((await chain.vm.call(VmService.GetStateSummary, {height: 3n})).err, notImpl)
    assert.deepEqual(await chain.vm.call(VmService.StateSummaryAccept, {bytes: new Uint8Array(1)}), {
      mode: SummaryMode.SKIPPED,
      err: notImpl,
    })
    const node = new Uint8Array(20).fill(1)
    assert.deepEqual(
      await chain.vm.call(VmService.Connected, {nodeId: node, name: 'avalanchego', major: 1, minor: 14, patch: 2}),
      {},
    )
    assert.deepEqual(await chain.vm.call(VmService.Disconnected, {nodeId: node}), {})
    assert.deepEqual(
      await chain.vm.call(VmService.AppRequest, {
        nodeId: node,
        requestId: 1,
        deadline: {seconds: 1n, nanos: 0},
        request: new Uint8Array(3),
      }),
      {},
    )
    assert.deepEqual(
      await chain.vm.call(VmService.AppRequestFailed, {nodeId: node, requestId: 1, errorCode: -1, errorMessage: 'x'}),
      {},
    )
    assert.deepEqual(
      await chain.vm.call(VmService.AppResponse, {nodeId: node, requestId: 1, response: new Uint8Array(3)}),
      {},
    )
    assert.deepEqual(await chain.vm.call(VmService.AppGossip, {nodeId: node, msg: new Uint8Array(3)}), {})
    assert.deepEqual(await chain.vm.call(VmService.Gather, {}), {metricFamilies: []})
    const h = await health(chain)
    assert.equal(h.lastAcceptedHeight, '0')
  })

  it('SetState bootstrapping and normal operation reply with the last accepted block; another state fails', async () => {
    const s = await chain.setState(State.BOOTSTRAPPING)
    assert.equal(hex(s.id), hex(genesis.id))
    assert.equal(s.timestamp, 0n)
    await rejectsWithStatus(chain.vm.call(VmService.SetState, {state: 99}))
    await chain.setPreference(genesis.id)
    await chain.setState(State.NORMAL_OP)
  })

  it('GetBlock answers not-found in-band (status OK), the genesis parent included; the height index too', async () => {
    assert.equal(await chain.getBlock(new Uint8Array(32).fill(9)), undefined)
    assert.equal(await chain.getBlock(EMPTY_ID), undefined)
    const raw = await chain.vm.call(VmService.GetBlock, {id: EMPTY_ID})
    assert.equal(raw.err, VmError.NOT_FOUND)
    assert.equal(hex((await chain.idAtHeight(0n))!), hex(genesis.id))
    assert.equal(await chain.idAtHeight(1n), undefined)
  })

  it('BuildBlock with nothing to build fails; WaitForEvent waits, and a cancelled one is released', async () => {
    await rejectsWithStatus(chain.buildBlock())
    const pending = chain.vm.start(VmService.WaitForEvent, {})
    // The call is held open; Health shows it waiting once it has reached the plugin.
    for (let i = 0; (await health(chain)).waitingForEvent !== 1; i++) {
      assert.ok(i < 200, 'WaitForEvent never reached the plugin')
      await new Promise((r) => {
        setTimeout(r, 10)
      })
    }

    pending.cancel()
    await rejectsWithStatus(pending.result, grpc.status.CANCELLED)
    for (let i = 0; (await health(chain)).waitingForEvent !== 0; i++) {
      assert.ok(i < 200, 'the cancelled WaitForEvent was not released')
      await new Promise((r) => {
        setTimeout(r, 10)
      })
    }
  })

  it('normal operation: proposeBlock over HandleSimple → WaitForEvent BUILD_BLOCK → BuildBlock → verify → preference → accept', async () => {
    const wait = chain.vm.start(VmService.WaitForEvent, {})
    assert.equal(await propose(chain, payload(1)), true)
    assert.deepEqual(await wait.result, {message: VmMessage.BUILD_BLOCK})
    b1 = await chain.buildBlock()
    assert.equal(hex(b1.parentId), hex(genesis.id))
    assert.equal(b1.height, 1n)
    assert.equal(b1.bytes.length, 82)
    assert.equal(await chain.verify(b1.bytes), b1.timestamp)
    await chain.setPreference(b1.id)
    // Verified, undecided blocks are findable by ID, through the node and the API.
    assert.equal((await chain.getBlock(b1.id))?.height, 1n)
    const viaApi = JSON.parse((await chain.rpc('timestampvm.getBlock', {id: idToString(b1.id)})).body) as {
      result: {height: string}
    }
    assert.equal(viaApi.result.height, '1')
    await chain.accept(b1.id)
    assert.equal(hex((await chain.idAtHeight(1n))!), hex(b1.id))
    const latest = await chain.rpc('timestampvm.getBlock', {})
    assert.equal(latest.code, 200)
    const body = JSON.parse(latest.body) as {result: {id: string; height: string; timestamp: string; data: string}}
    assert.deepEqual(body.result, {
      timestamp: String(b1.timestamp),
      data: encodeWith('hex', payload(1)),
      height: '1',
      id: idToString(b1.id),
      parentID: idToString(genesis.id),
    })
    // The node's own headers are echoed, ours are set in Go's spelling.
    assert.deepEqual(latest.headers.get('Node-Id'), ['NodeID-test'])
    assert.deepEqual(latest.headers.get('Vary'), ['Origin'])
    assert.deepEqual(latest.headers.get('Content-Type'), ['application/json; charset=utf-8'])
    assert.deepEqual(latest.headers.get('X-Content-Type-Options'), ['nosniff'])
    // Accepting an accepted block again, or re-verifying it, is harmless (Go's happy path re-verifies).
    await chain.accept(b1.id)
    await chain.verify(b1.bytes)
  })

  it('competing blocks: one accepted, the other and its child rejected (again is a no-op), rejected blocks stay findable', async () => {
    const a = child(b1, 10)
    const b = child(b1, 11)
    const c = child(b, 12)
    for (const blk of [a, b, c]) {
      const parsed = await chain.parseBlock(blk.bytes)
      assert.equal(hex(parsed.id), hex(blk.id))
      await chain.verify(blk.bytes)
    }

    await chain.setPreference(b.id)
    await chain.setPreference(a.id)
    await chain.accept(a.id)
    await chain.reject(b.id)
    await chain.reject(c.id)
    await chain.reject(b.id)
    assert.equal(hex((await chain.idAtHeight(2n))!), hex(a.id))
    assert.equal((await chain.getBlock(b.id))?.height, 2n)
    assert.equal((await chain.getBlock(c.id))?.height, 3n)
    // Rejecting an accepted block is a consensus fault: non-OK.
    await rejectsWithStatus(chain.reject(a.id))
    // SetPreference never fails, even on a block the VM cannot build on.
    await chain.setPreference(new Uint8Array(32).fill(0x55))
    await chain.setPreference(a.id)
  })

  it('ParseBlock is stateless and refuses bad bytes; BatchedParseBlock keeps order and fails whole on one bad element', async () => {
    const orphan = makeBlock({parentId: new Uint8Array(32).fill(3), height: 77n, timestamp: 5n, data: payload(3)})
    const parsed = await chain.parseBlock(orphan.bytes)
    assert.equal(parsed.height, 77n)
    await rejectsWithStatus(chain.vm.call(VmService.ParseBlock, {bytes: new Uint8Array(81)}))
    const bad83 = new Uint8Array(83)
    await rejectsWithStatus(chain.vm.call(VmService.ParseBlock, {bytes: bad83}))
    const r = await chain.vm.call(VmService.BatchedParseBlock, {request: [b1.bytes, orphan.bytes, genesis.bytes]})
    assert.deepEqual(
      r.response.map((p) => p.height),
      [1n, 77n, 0n],
    )
    assert.deepEqual(r.response[2]!.timestamp, {seconds: 0n, nanos: 0})
    await rejectsWithStatus(chain.vm.call(VmService.BatchedParseBlock, {request: [b1.bytes, new Uint8Array(10)]}))
    // Verify of an orphan fails (parent unknown), as Go's.
    await rejectsWithStatus(chain.verify(orphan.bytes))
  })

  it('GetAncestors: the block, then parents until count, size, time or the genesis; unknown → empty', async () => {
    const tip = (await chain.idAtHeight(2n))!
    const all = await chain.vm.call(VmService.GetAncestors, {
      blkId: tip,
      maxBlocksNum: 10,
      maxBlocksSize: 1 << 20,
      maxBlocksRetrivalTime: 10_000_000_000n,
    })
    assert.equal(all.blksBytes.length, 3)
    assert.equal(hex(all.blksBytes[2]!), hex(genesis.bytes))
    const two = await chain.vm.call(VmService.GetAncestors, {
      blkId: tip,
      maxBlocksNum: 2,
      maxBlocksSize: 1 << 20,
      maxBlocksRetrivalTime: 10_000_000_000n,
    })
    assert.equal(two.blksBytes.length, 2)
    const sized = await chain.vm.call(VmService.GetAncestors, {
      blkId: tip,
      maxBlocksNum: 10,
      maxBlocksSize: 2 * 86 - 1,
      maxBlocksRetrivalTime: 10_000_000_000n,
    })
    assert.equal(sized.blksBytes.length, 1)
    const noTime = await chain.vm.call(VmService.GetAncestors, {
      blkId: tip,
      maxBlocksNum: 10,
      maxBlocksSize: 1 << 20,
      maxBlocksRetrivalTime: -1n,
    })
    assert.equal(noTime.blksBytes.length, 1)
    const unknown = await chain.vm.call(VmService.GetAncestors, {
      blkId: new Uint8Array(32).fill(8),
      maxBlocksNum: 10,
      maxBlocksSize: 1 << 20,
      maxBlocksRetrivalTime: 10_000_000_000n,
    })
    assert.deepEqual(unknown.blksBytes, [])
  })

  it("HTTP answers like gorilla: 405 and 415 with the node's headers echoed, notifications without a body", async () => {
    const get = await chain.http('GET', new Uint8Array(0))
    assert.equal(get.code, 405)
    assert.equal(get.body, 'rpc: POST method required, received GET')
    assert.deepEqual(get.headers.get('Node-Id'), ['NodeID-test'])
    const text = await chain.http('POST', utf8.encode('{}'), 'text/plain')
    assert.equal(text.code, 415)
    assert.equal(text.body, 'rpc: unrecognized Content-Type: text/plain')
    const note = await chain.http(
      'POST',
      utf8.encode('{"jsonrpc":"2.0","method":"timestampvm.getBlock","params":{},"id":null}'),
    )
    assert.equal(note.code, 200)
    assert.equal(note.body, '')
    const upper = JSON.parse((await chain.rpc('timestampvm.GetBlock', {})).body) as {
      error: {code: number; message: string}
    }
    assert.equal(upper.error.message, 'method must start with a non-uppercase letter')
  })

  it('messages over 4 MiB both ways: a 5 MiB HandleSimple body and a 5 MiB BatchedParseBlock', async () => {
    const pad = 'x'.repeat(5 * 1024 * 1024)
    const big = await chain.http(
      'POST',
      utf8.encode(`{"jsonrpc":"2.0","method":"timestampvm.getBlock","params":{"pad":"${pad}"},"id":7}`),
    )
    assert.equal(big.code, 200)
    assert.match(big.body, /"height":"2"/)
    const many = Array.from({length: 64 * 1024}, () => b1.bytes)
    const r = await chain.vm.call(VmService.BatchedParseBlock, {request: many})
    assert.equal(r.response.length, many.length)
  })

  it('Handle (HTTP/2): reads the body from the node, writes the full header set and the reply', async () => {
    const body = utf8.encode(
      `{"jsonrpc":"2.0","method":"timestampvm.getBlock","params":{"id":"${idToString(b1.id)}"},"id":3}`,
    )
    const rw = await serveResponseWriter(body, 16)
    try {
      const r = await chain.vm.call(HttpService.Handle, {
        responseWriter: {header: [{key: 'Node-Id', values: ['NodeID-test']}], serverAddr: rw.address},
        request: {
          method: 'POST',
          header: [{key: 'Content-Type', values: ['application/json']}],
          requestUri: '/ext/bc/x',
          contentLength: -1n,
        },
      })
      assert.ok(rw.written.reads > 1)
      assert.equal(rw.written.status, 200)
      const keys = new Map(rw.written.headers!.map((h) => [h.key, h.values]))
      assert.deepEqual(keys.get('Node-Id'), ['NodeID-test'])
      assert.deepEqual(keys.get('Content-Type'), ['application/json; charset=utf-8'])
      assert.match(Buffer.concat(rw.written.body).toString(), /"height":"1"/)
      assert.deepEqual(new Map(r.header.map((h) => [h.key, h.values])).get('Node-Id'), ['NodeID-test'])
    } finally {
      rw.stop()
    }
  })

  it('50 concurrent API requests during consensus calls all answer, each seeing a whole chain', async () => {
    const tipBefore = (await chain.setState(State.NORMAL_OP)).height
    const requests: Array<Promise<string>> = []
    for (let i = 0; i < 50; i++) {
      requests.push(
        i % 2 === 0
          ? propose(chain, payload(1000 + i)).then((ok) => (ok ? 'proposed' : 'full'))
          : chain.rpc('timestampvm.getBlock', {}).then((r) => {
              assert.equal(r.code, 200)
              const res = (JSON.parse(r.body) as {result: {height: string; id: string}}).result
              return `height ${res.height}`
            }),
      )
    }

    // Consensus meanwhile: build, verify, prefer and accept whatever is there, until all 25 are in.
    let built = 0
    const consensus = (async () => {
      while (built < 25) {
        const wait = chain.vm.start(VmService.WaitForEvent, {})
        await wait.result
        const blk = await chain.buildBlock()
        await chain.verify(blk.bytes)
        await chain.setPreference(blk.id)
        await chain.accept(blk.id)
        built++
      }
    })()
    const answers = await Promise.all(requests)
    await consensus
    assert.equal(answers.filter((a) => a === 'proposed').length, 25)
    for (const a of answers.filter((x) => x.startsWith('height'))) {
      const h = BigInt(a.slice(7))
      assert.ok(h >= tipBefore && h <= tipBefore + 25n, a)
    }

    const tip = await chain.setState(State.NORMAL_OP)
    assert.equal(tip.height, tipBefore + 25n)
    // Every height is indexed and every block's parent is the one below.
    for (let hgt = tip.height; hgt > tipBefore; hgt--) {
      const id = (await chain.idAtHeight(hgt))!
      const blk = (await chain.getBlock(id))!
      assert.equal(hex(blk.parentId), hex((await chain.idAtHeight(hgt - 1n))!))
    }
  })

  it('an idle connection pinged every second (the node pings every 30 s) stays usable', async () => {
    const pinger = new NodeClient(plugin.handshake!.addr, {
      'grpc.keepalive_time_ms': 1000,
      'grpc.keepalive_timeout_ms': 1000,
    })
    try {
      await pinger.call(VmService.Version, {})
      await new Promise((r) => {
        setTimeout(r, 3500)
      })
      assert.match((await pinger.call(VmService.Version, {})).version, /^tsvm\//)
    } finally {
      pinger.close()
    }
  })

  it('Shutdown, then SIGTERM: exits at once with code 0 and never wrote to stdout', async () => {
    const end = await chain.stop()
    assert.deepEqual(end, {code: 0, signal: null, killed: false})
    assert.equal(plugin.stdout, '')
  })

  it('a restart on the same rpcdb content returns the same last accepted block, whatever genesis bytes come', async () => {
    const db = chain.db.clone()
    const again = await startChain({db, genesis: utf8.encode('something else')})
    try {
      assert.equal(again.last.height, 27n)
      const id = (await again.chain.idAtHeight(27n))!
      assert.equal(hex(again.last.id), hex(id))
      assert.equal(hex((await again.chain.idAtHeight(0n))!), hex(genesis.id))
      assert.equal((await again.chain.getBlock(b1.id))?.height, 1n)
    } finally {
      await again.chain.stop()
    }
  })
})

// ------------------------------------------------------------------------------------------

describe('bootstrapping a pre-built chain', () => {
  it('BatchedParseBlock, then ParseBlock / BlockVerify / BlockAccept in height order; GetBlockIDAtHeight answers peers', async () => {
    const genesisBytes = utf8.encode('boot')
    const blocks: Block[] = []
    let parent: Block = genesisBlock(genesisBytes)
    for (let i = 1; i <= 40; i++) {
      parent = makeBlock({
        parentId: parent.id,
        height: BigInt(i),
        timestamp: 1_700_000_000n + BigInt(i),
        data: payload(i),
      })
      blocks.push(parent)
    }

    const {plugin, chain, last} = await startChain({genesis: genesisBytes})
    try {
      assert.equal(last.height, 0n)
      await chain.setState(State.BOOTSTRAPPING)
      const parsed = await chain.vm.call(VmService.BatchedParseBlock, {request: blocks.map((b) => b.bytes).reverse()})
      assert.deepEqual(
        parsed.response.map((p) => hex(p.id)),
        blocks.map((b) => hex(b.id)).reverse(),
      )
      for (const b of blocks) {
        await chain.parseBlock(b.bytes)
        assert.equal(await chain.verify(b.bytes), b.timestamp)
        await chain.accept(b.id)
      }

      for (const b of blocks) assert.equal(hex((await chain.idAtHeight(b.height))!), hex(b.id))
      const tip = await chain.setState(State.NORMAL_OP)
      assert.equal(hex(tip.id), hex(blocks.at(-1)!.id))
      const anc = await chain.vm.call(VmService.GetAncestors, {
        blkId: tip.id,
        maxBlocksNum: 100,
        maxBlocksSize: 2 << 20,
        maxBlocksRetrivalTime: 10_000_000_000n,
      })
      assert.equal(anc.blksBytes.length, 41)
    } finally {
      await chain.stop()
    }

    assert.equal(plugin.stdout, '')
  })
})

// ------------------------------------------------------------------------------------------
// The Go VM's vm_test.go (timestampvm v1.3.3), as ported for the embedded VM, through the plugin.

describe("Go's vm_test.go through the plugin", () => {
  const GO_GENESIS = new Uint8Array([0, 0, 0, 0, 0])
  let chain: NodeChain
  let genesis: NodeBlock

  before(async () => {
    const started = await startChain({genesis: GO_GENESIS})
    chain = started.chain
    genesis = started.last
  })
  after(async () => {
    await chain.stop()
  })

  it('TestGenesis: initialized, last accepted is not empty, the genesis parent is empty and its data is {0,0,0,0,0} padded', async () => {
    assert.notEqual(hex(genesis.id), hex(EMPTY_ID))
    const g = (await chain.getBlock(genesis.id))!
    assert.equal(hex(g.parentId), hex(EMPTY_ID))
    assert.equal(hex(g.bytes.subarray(2 + 32 + 8 + 8, 2 + 32 + 8 + 8 + 32)), '00'.repeat(32))
    assert.equal(hex(g.bytes), hex(genesisBlock(GO_GENESIS).bytes))
  })

  it('TestHappyPath: two proposals become two accepted blocks, each signalled, each re-verifiable', async () => {
    await chain.setPreference(genesis.id)
    let parent = genesis
    for (const i of [1, 2]) {
      const wait = chain.vm.start(VmService.WaitForEvent, {})
      const data = new Uint8Array(32)
      data[4] = i
      assert.equal(await propose(chain, data), true)
      assert.equal((await wait.result).message, VmMessage.BUILD_BLOCK)
      const blk = await chain.buildBlock()
      await chain.verify(blk.bytes)
      await chain.accept(blk.id)
      await chain.setPreference(blk.id)
      const last = await chain.setState(State.NORMAL_OP)
      assert.equal(hex(last.id), hex(blk.id))
      assert.equal(hex(blk.parentId), hex(parent.id))
      assert.equal(hex(blk.bytes.subarray(50, 82)), hex(data))
      await chain.verify(blk.bytes)
      parent = blk
    }

    assert.equal((await chain.getBlock(parent.id))?.height, 2n)
  })

  it('TestService: getBlock without an ID serves the last accepted block', async () => {
    const r = await chain.rpc('timestampvm.getBlock', {})
    assert.ok((JSON.parse(r.body) as {result?: unknown}).result, r.body)
  })

  it('TestSetState: bootstrapping and normal operation succeed, an unknown state fails', async () => {
    await chain.setState(State.BOOTSTRAPPING)
    await chain.setState(State.NORMAL_OP)
    const e = await rejectsWithStatus(chain.vm.call(VmService.SetState, {state: 99}))
    assert.match(e.details, /unknown state/)
  })
})

describe('a failing database', () => {
  it('makes Health non-OK and consensus writes fail, and the VM stays failed after the disk recovers', async () => {
    const db = new MemoryDb()
    const {chain, last} = await startChain({db})
    try {
      const blk = child(last, 1)
      await chain.verify(blk.bytes)
      assert.equal(
        JSON.parse(new TextDecoder().decode((await chain.vm.call(VmService.Health, {})).details)).database !==
          undefined,
        true,
      )
      db.failing = true
      await rejectsWithStatus(chain.vm.call(VmService.Health, {}))
      db.failing = false
      // Fail-stop, as Go's corruptabledb: no acknowledgement on a store that failed once.
      await rejectsWithStatus(chain.accept(blk.id))
      await rejectsWithStatus(chain.vm.call(VmService.Health, {}))
      assert.equal(db.get(heightKey(1n)), undefined, 'nothing of the failed accept landed')
    } finally {
      await chain.stop()
    }
  })
})

describe('Initialize', () => {
  it('a second Initialize fails and the chain goes on', async () => {
    const {plugin, chain} = await startChain({db: new MemoryDb()})
    try {
      await rejectsWithStatus(chain.vm.call(VmService.Initialize, {dbServerAddr: chain.dbServer.address}))
      assert.equal((await chain.setState(State.BOOTSTRAPPING)).height, 0n)
    } finally {
      await chain.stop()
    }

    assert.equal(plugin.stdout, '')
  })
})
