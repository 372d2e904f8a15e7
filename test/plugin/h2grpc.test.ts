// The plugin's gRPC transport (src/plugin/h2grpc.ts) against an independent implementation, and
// its framing and status edge cases on the wire:
//   - its client against grpc-js servers (the harness's, as the node's Runtime and rpcdb are Go's);
//   - its server under grpc-js clients (as the node's clients are grpc-go);
//   - hand-made HTTP/2 requests to a spawned plugin: compressed messages, foreign encodings, no
//     message or two, a message cut short or split over many DATA frames, wrong method or
//     content-type, unknown services and methods, bad grpc-timeout; the shape of a reply;
//   - the benchmark's lean node side (h2node.ts) on a short chain.
import assert from 'node:assert/strict'
import * as http2 from 'node:http2'
import {after, before, describe, it} from 'node:test'

import * as grpc from '@grpc/grpc-js'

import {
  GrpcServer,
  Status,
  StatusError,
  UnaryClient,
  decodeGrpcMessage,
  encodeGrpcMessage,
  parseGrpcTimeout,
} from '../../src/plugin/h2grpc.js'
import {DatabaseService, State, VmService} from '../../src/plugin/messages.js'
import {makeBlock} from '../../src/vm/block.js'
import {prefix, raw, type RawReply} from './raw-h2.js'
import {type CallError, MemoryDb, NodeClient, type PluginProcess, serve, spawnPlugin, startChain} from './harness.js'

const BIG = 5 * 1024 * 1024 + 3
const bigBytes = (n: number, seed: number) => Uint8Array.from({length: n}, (_, i) => (i * 31 + seed) & 0xff)
const TRICKY = 'bad key: 100% "ü\u0001" 日本\nnext line'

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => {
    setTimeout(resolve, ms)
  })
}

/** Polls until `done()` (no timing assertion: the test's own timeout bounds it). */
async function until(done: () => boolean): Promise<void> {
  while (!done()) await sleep(5)
}

async function rejection(p: Promise<unknown>): Promise<{code: number; details: string}> {
  try {
    await p
  } catch (error) {
    return error as {code: number; details: string}
  }

  assert.fail('expected a non-OK status')
}

describe('grpc-message and grpc-timeout encodings', () => {
  it('percent-encodes bytes outside 0x20-0x7e and %, and decodes back (malformed escapes kept)', () => {
    assert.equal(encodeGrpcMessage('plain text'), 'plain text')
    assert.equal(encodeGrpcMessage('100%\n'), '100%25%0A')
    assert.equal(encodeGrpcMessage('ü'), '%C3%BC')
    assert.equal(decodeGrpcMessage(encodeGrpcMessage(TRICKY)), TRICKY)
    assert.equal(decodeGrpcMessage('50%zz%4'), '50%zz%4')
  })

  it('reads every grpc-timeout unit and refuses malformed values', () => {
    assert.equal(parseGrpcTimeout('2H'), 7_200_000)
    assert.equal(parseGrpcTimeout('3M'), 180_000)
    assert.equal(parseGrpcTimeout('4S'), 4000)
    assert.equal(parseGrpcTimeout('5m'), 5)
    assert.equal(parseGrpcTimeout('6000u'), 6)
    assert.equal(parseGrpcTimeout('7000000n'), 7)
    for (const bad of ['', '1', 'm', '123456789m', '1.5S', '-1S', '10x']) assert.equal(parseGrpcTimeout(bad), undefined)
  })
})

describe('the plugin transport as a client of grpc-js servers (the node is grpc-go)', () => {
  let server: grpc.Server
  let address: string
  let cancelled = 0
  let deadlineSeen: grpc.Deadline | undefined
  const stored = new Map<string, Uint8Array>()

  before(async () => {
    const started = await serve({
      Put: [
        DatabaseService.Put,
        (r: {key: Uint8Array; value: Uint8Array}) => {
          stored.set(Buffer.from(r.key).toString('hex'), r.value)
          return {}
        },
      ],
      Get: [
        DatabaseService.Get,
        (r: {key: Uint8Array}) => {
          const v = stored.get(Buffer.from(r.key).toString('hex'))
          if (v === undefined) throw Object.assign(new Error(TRICKY), {grpcCode: grpc.status.FAILED_PRECONDITION})
          return {value: v}
        },
      ],
      // Never answers: ends when the caller cancels or its deadline passes.
      HealthCheck: [
        DatabaseService.HealthCheck,
        (_r: unknown, call: grpc.ServerUnaryCall<unknown, unknown>) => {
          deadlineSeen = call.getDeadline()
          return new Promise(() => {
            call.on('cancelled', () => cancelled++)
          })
        },
      ],
    })
    server = started.server
    address = started.address
  })
  after(() => server.forceShutdown())

  it('calls, and receives a non-OK status with its code and exact text', async () => {
    const client = new UnaryClient(address)
    try {
      assert.deepEqual(await client.call(DatabaseService.Put, {key: Uint8Array.of(1), value: Uint8Array.of(2)}), {
        err: 0,
      })
      assert.deepEqual((await client.call(DatabaseService.Get, {key: Uint8Array.of(1)})).value, Uint8Array.of(2))
      const e = await rejection(client.call(DatabaseService.Get, {key: Uint8Array.of(9)}))
      assert.ok(e instanceof StatusError)
      assert.equal(e.code, Status.FAILED_PRECONDITION)
      assert.equal(e.details, TRICKY)
    } finally {
      client.close()
    }
  })

  it('sends and receives messages over 4 MiB', async () => {
    const client = new UnaryClient(address)
    try {
      const value = bigBytes(BIG, 1)
      await client.call(DatabaseService.Put, {key: Uint8Array.of(7), value})
      assert.deepEqual(stored.get('07'), value)
      const back = await client.call(DatabaseService.Get, {key: Uint8Array.of(7)})
      assert.equal(Buffer.compare(back.value, value), 0)
    } finally {
      client.close()
    }
  })

  it('cancels a call with RST_STREAM (the server sees it cancelled), and sends its deadline as grpc-timeout', async () => {
    const client = new UnaryClient(address)
    try {
      const abort = new AbortController()
      const pending = client.call(DatabaseService.HealthCheck, {}, {signal: abort.signal})
      await until(() => deadlineSeen !== undefined)
      assert.equal(deadlineSeen, Infinity)
      abort.abort()
      assert.equal((await rejection(pending)).code, Status.CANCELLED)
      await until(() => cancelled > 0)
      deadlineSeen = undefined
      const deadline = Date.now() + 200
      const e = await rejection(client.call(DatabaseService.HealthCheck, {}, {deadline}))
      assert.equal(e.code, Status.DEADLINE_EXCEEDED)
      assert.notEqual(deadlineSeen, undefined)
      assert.ok(Number(deadlineSeen) <= deadline + 50, `server deadline ${Number(deadlineSeen)} vs ${deadline}`)
    } finally {
      client.close()
    }
  })

  it('fails with UNAVAILABLE when nothing listens, and after close', async () => {
    const probe = new GrpcServer()
    const free = await probe.listen()
    probe.destroy()
    const client = new UnaryClient(free)
    assert.equal((await rejection(client.call(DatabaseService.Get, {key: Uint8Array.of(1)}))).code, Status.UNAVAILABLE)
    client.close()
    assert.equal((await rejection(client.call(DatabaseService.Get, {key: Uint8Array.of(1)}))).code, Status.UNAVAILABLE)
  })
})

describe('the plugin transport as a server for grpc-js clients (the node is grpc-go)', () => {
  const server = new GrpcServer()
  let address: string
  let aborted = 0
  let client: NodeClient

  before(async () => {
    server.addService(DatabaseService, {
      Has: () => ({has: true}),
      Get: (r) => (r.key.length === 0 ? {value: bigBytes(BIG, 2)} : {value: r.key}),
      Put(r) {
        if (r.value.length !== BIG) throw new Error(TRICKY)
        return {}
      },
      Delete() {
        throw new StatusError(Status.NOT_FOUND, 'no such key')
      },
      Compact: () => ({}),
      Close: () => ({}),
      HealthCheck: (_r, call) =>
        new Promise((_resolve, reject) => {
          call.signal.addEventListener('abort', () => {
            aborted++
            reject(new StatusError(Status.CANCELLED, 'cancelled'))
          })
        }),
      WriteBatch: () => ({}),
      NewIteratorWithStartAndPrefix: () => ({id: 1n}),
      IteratorNext: () => ({}),
      IteratorError: () => ({}),
      IteratorRelease: () => ({}),
    })
    address = await server.listen()
    client = new NodeClient(address)
  })
  after(() => {
    client.close()
    server.destroy()
  })

  it('answers, and its errors reach grpc-js with their code and exact text (UNKNOWN for a plain error)', async () => {
    assert.deepEqual((await client.call(DatabaseService.Get, {key: Uint8Array.of(5, 6)})).value, Uint8Array.of(5, 6))
    const plain = (await rejection(client.call(DatabaseService.Put, {key: Uint8Array.of(1)}))) as CallError
    assert.equal(plain.code, grpc.status.UNKNOWN)
    assert.equal(plain.details, TRICKY)
    const coded = (await rejection(client.call(DatabaseService.Delete, {key: Uint8Array.of(1)}))) as CallError
    assert.equal(coded.code, grpc.status.NOT_FOUND)
    assert.equal(coded.details, 'no such key')
  })

  it('receives and sends messages over 4 MiB', async () => {
    assert.deepEqual(await client.call(DatabaseService.Put, {key: Uint8Array.of(1), value: bigBytes(BIG, 3)}), {err: 0})
    const r = await client.call(DatabaseService.Get, {key: new Uint8Array(0)})
    assert.equal(Buffer.compare(r.value, bigBytes(BIG, 2)), 0)
  })

  it('a cancelled call aborts its handler', async () => {
    const call = client.start(DatabaseService.HealthCheck, {})
    await sleep(50)
    call.cancel()
    assert.equal((await rejection(call.result)).code, grpc.status.CANCELLED)
    await until(() => aborted > 0)
  })

  it("grpc-js's deadline (grpc-timeout) aborts the handler and ends the call DEADLINE_EXCEEDED", async () => {
    const before = aborted
    const short = new grpc.Client(address, grpc.credentials.createInsecure())
    try {
      const e = await new Promise<grpc.ServiceError>((resolve) => {
        short.makeUnaryRequest(
          DatabaseService.HealthCheck.path,
          () => Buffer.alloc(0),
          (b: Buffer) => b,
          {},
          new grpc.Metadata(),
          {deadline: Date.now() + 100},
          (error) => resolve(error!),
        )
      })
      assert.equal(e.code, grpc.status.DEADLINE_EXCEEDED)
      await until(() => aborted > before)
    } finally {
      short.close()
    }
  })

  it('an unknown method or service is UNIMPLEMENTED for grpc-js', async () => {
    const e = (await rejection(client.call({...DatabaseService.Get, path: '/rpcdb.Database/Nope'}, {}))) as CallError
    assert.equal(e.code, grpc.status.UNIMPLEMENTED)
    assert.equal(e.details, 'unknown method Nope for service rpcdb.Database')
  })
})

// ------------------------------------------------------------------------------------------
// Hand-made HTTP/2 against the plugin process

const VERSION = VmService.Version.path

/** The grpc-status of a reply, trailers-only or not. */
const status = (r: RawReply) => Number((r.headersOnly ? r.headers : r.trailers)?.['grpc-status'])

describe('framing and status on the wire, against the plugin process', () => {
  let plugin: PluginProcess
  let session: http2.ClientHttp2Session

  before(async () => {
    plugin = await spawnPlugin()
    session = http2.connect(`http://${plugin.handshake!.addr}`)
  })
  after(async () => {
    session.close()
    await plugin.stop()
  })

  it('a reply is HEADERS (200, application/grpc), one framed message, then trailers with grpc-status 0', async () => {
    const r = await raw(session, VERSION, [prefix(0, 0)])
    assert.equal(r.headers[':status'], 200)
    assert.equal(r.headers['content-type'], 'application/grpc')
    assert.equal(r.headersOnly, false)
    assert.equal(r.trailers?.['grpc-status'], '0')
    assert.equal(r.data[0], 0)
    assert.equal(r.data.readUInt32BE(1), r.data.length - 5)
    assert.match(VmService.Version.response.decode(r.data.subarray(5)).version, /^tsvm\//)
  })

  it('a message split over several DATA frames (even inside its prefix) is put back together', async () => {
    const body = Buffer.from(VmService.ParseBlock.request.encode({bytes: makeBlockBytes()}))
    const whole = Buffer.concat([prefix(0, body.length), body])
    const r = await raw(session, VmService.ParseBlock.path, [
      whole.subarray(0, 2),
      whole.subarray(2, 9),
      whole.subarray(9),
    ])
    assert.equal(status(r), Status.OK)
    assert.equal(VmService.ParseBlock.response.decode(r.data.subarray(5)).height, 5n)
  })

  it('errors are trailers-only: one HEADERS frame with :status 200 and grpc-status', async () => {
    const r = await raw(session, VmService.ParseBlock.path, [prefix(0, 3), Buffer.from([0x0a, 0x01, 0x00])])
    assert.equal(r.headersOnly, true)
    assert.equal(r.headers[':status'], 200)
    assert.equal(r.headers['content-type'], 'application/grpc')
    assert.equal(Number(r.headers['grpc-status']), Status.UNKNOWN)
    assert.equal(r.data.length, 0)
    assert.ok(String(r.headers['grpc-message']).length > 0)
  })

  it('refuses a compressed message, and a grpc-encoding other than identity, with a clear status', async () => {
    const compressed = await raw(session, VERSION, [prefix(1, 0)])
    assert.equal(status(compressed), Status.INTERNAL)
    assert.match(decodeGrpcMessage(String(compressed.headers['grpc-message'])), /compressed.*send it uncompressed/)
    const gzip = await raw(session, VERSION, [prefix(1, 0)], {'grpc-encoding': 'gzip'})
    assert.equal(status(gzip), Status.UNIMPLEMENTED)
    assert.equal(gzip.headers['grpc-accept-encoding'], 'identity')
    const identity = await raw(session, VERSION, [prefix(0, 0)], {'grpc-encoding': 'identity'})
    assert.equal(status(identity), Status.OK)
  })

  it('refuses no message, two messages, a message cut short, and an unknown flag', async () => {
    for (const [body, text] of [
      [[], /no request message/],
      [[prefix(0, 0), prefix(0, 0)], /more than one request message/],
      [[prefix(0, 10), Buffer.alloc(4)], /cut short: 4 of 10 bytes/],
      [[Buffer.from([0, 0])], /prefix cut short/],
      [[prefix(2, 0)], /payload format 2/],
    ] as Array<[Buffer[], RegExp]>) {
      const r = await raw(session, VERSION, body)
      assert.equal(status(r), Status.INTERNAL)
      assert.match(decodeGrpcMessage(String(r.headers['grpc-message'])), text)
    }
  })

  it('names an unknown method or service (UNIMPLEMENTED), and refuses a bad grpc-timeout', async () => {
    const method = await raw(session, '/vm.VM/Nope', [prefix(0, 0)])
    assert.equal(status(method), Status.UNIMPLEMENTED)
    assert.equal(method.headers['grpc-message'], 'unknown method Nope for service vm.VM')
    const service = await raw(session, '/vm.Nope/Version', [prefix(0, 0)])
    assert.equal(service.headers['grpc-message'], 'unknown service vm.Nope')
    const timeout = await raw(session, VERSION, [prefix(0, 0)], {'grpc-timeout': '1.5S'})
    assert.equal(status(timeout), Status.INTERNAL)
    const fine = await raw(session, VERSION, [prefix(0, 0)], {'grpc-timeout': '10S'})
    assert.equal(status(fine), Status.OK)
  })

  it('answers a request that is not gRPC with an HTTP error (405 not POST, 415 wrong content-type)', async () => {
    const get = await raw(session, VERSION, [], {':method': 'GET'})
    assert.equal(get.headers[':status'], 405)
    const json = await raw(session, VERSION, [Buffer.from('{}')], {'content-type': 'application/json'})
    assert.equal(json.headers[':status'], 415)
    const proto = await raw(session, VERSION, [prefix(0, 0)], {'content-type': 'application/grpc+proto'})
    assert.equal(status(proto), Status.OK)
  })
})

function makeBlockBytes(): Uint8Array {
  return makeBlock({parentId: new Uint8Array(32).fill(1), height: 5n, timestamp: 9n, data: new Uint8Array(32)}).bytes
}

describe("the benchmark's node side (the lean client, test/plugin/h2node.ts)", () => {
  it('drives a chain: parse, verify, accept by WriteBatch, GetBlock not-found, a cancelled WaitForEvent', async () => {
    const db = new MemoryDb()
    const {chain, last} = await startChain({db, spawn: {lean: true}})
    try {
      assert.equal(chain.plugin.lean, true)
      await chain.setState(State.BOOTSTRAPPING)
      let parent = last
      for (let i = 1; i <= 5; i++) {
        const b = makeBlock({parentId: parent.id, height: BigInt(i), timestamp: BigInt(i), data: new Uint8Array(32)})
        const batches = db.batches.length
        assert.equal((await chain.parseBlock(b.bytes)).height, BigInt(i))
        assert.equal(await chain.verify(b.bytes), BigInt(i))
        await chain.accept(b.id)
        assert.equal(db.batches.length, batches + 1)
        parent = {...b, timestamp: b.timestamp}
      }

      assert.equal((await chain.setState(State.NORMAL_OP)).height, 5n)
      assert.equal(await chain.getBlock(new Uint8Array(32).fill(3)), undefined)
      const wait = chain.vm.start(VmService.WaitForEvent, {})
      await sleep(50)
      wait.cancel()
      await assert.rejects(wait.result)
    } finally {
      await chain.stop()
    }
  })
})
