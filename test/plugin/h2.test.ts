// The plugin's HTTP/2 connections (src/plugin/h2.ts) against nghttp2 (node:http2) and raw bytes:
// the parts of RFC 9113 a gRPC peer may lean on that the gRPC-level tests do not force: a peer's
// small flow-control windows and frame size, header blocks split over CONTINUATION frames both
// ways, PING, a connection that does not start with the preface, and a graceful close (GOAWAY)
// that lets calls in flight finish.
import assert from 'node:assert/strict'
import * as http2 from 'node:http2'
import {connect} from 'node:net'
import {after, before, describe, it} from 'node:test'

import {pollingAfterWrite, setPollAfterWrite} from '../../src/plugin/h2.js'
import {GrpcServer, type Handlers, Status, StatusError, UnaryClient} from '../../src/plugin/h2grpc.js'
import {DatabaseService} from '../../src/plugin/messages.js'
import {prefix, raw} from './raw-h2.js'

/** Polls until `done()` (no timing assertion: the test's own timeout bounds it). */
async function until(done: () => boolean): Promise<void> {
  while (!done())
    await new Promise((resolve) => {
      setImmediate(resolve)
    })
}

const bytes = (n: number, seed: number) => Uint8Array.from({length: n}, (_, i) => (i * 7 + seed) & 0xff)
const LONG_TEXT = 'x'.repeat(40_000)

/** One message, prefixed, as one request: the whole reply (headers, data, trailers). */
/** rpcdb handlers that answer every call with an empty reply, with `overrides` on top. */
const database = (overrides: Partial<Handlers<typeof DatabaseService>> = {}): Handlers<typeof DatabaseService> => ({
  Has: () => ({has: true}),
  Get: () => ({}),
  Put: () => ({}),
  Delete: () => ({}),
  Compact: () => ({}),
  Close: () => ({}),
  HealthCheck: () => ({}),
  WriteBatch: () => ({}),
  NewIteratorWithStartAndPrefix: () => ({id: 1n}),
  IteratorNext: () => ({}),
  IteratorError: () => ({}),
  IteratorRelease: () => ({}),
  ...overrides,
})

const rawCall = (session: http2.ClientHttp2Session, path: string, message: Uint8Array, extra = {}) =>
  raw(session, path, [Buffer.concat([prefix(0, message.length), message])], extra)

describe('HTTP/2 connections under nghttp2 (node:http2)', () => {
  const server = new GrpcServer()
  let address: string
  let release: (() => void) | undefined
  let held: Promise<void> | undefined

  before(async () => {
    server.addService(
      DatabaseService,
      database({
        Get: (r) => ({value: bytes(r.key[0]! * 1024, 1)}),
        Put(r) {
          if (r.value.length > 0) throw new StatusError(Status.INVALID_ARGUMENT, LONG_TEXT)
          return {}
        },
        HealthCheck() {
          held = new Promise((resolve) => {
            release = resolve
          })
          return held.then(() => ({details: new TextEncoder().encode('{"held":true}')}))
        },
      }),
    )
    address = await server.listen()
  })
  after(() => server.destroy())

  it("keeps to a peer's small window and frame size, sending the rest as the peer opens its window", async () => {
    // 1 KiB stream windows: a 200 KiB reply takes hundreds of WINDOW_UPDATEs.
    const session = http2.connect(`http://${address}`, {settings: {initialWindowSize: 1024}})
    try {
      const r = await rawCall(
        session,
        DatabaseService.Get.path,
        DatabaseService.Get.request.encode({key: Uint8Array.of(200)}),
      )
      assert.equal(r.trailers?.['grpc-status'], '0')
      const {value} = DatabaseService.Get.response.decode(r.data.subarray(5))
      assert.equal(Buffer.compare(value, bytes(200 * 1024, 1)), 0)
    } finally {
      session.close()
    }
  })

  it('sends a header block larger than a frame as HEADERS + CONTINUATION, and reads one', async () => {
    const session = http2.connect(`http://${address}`, {settings: {maxHeaderListSize: 1 << 20}})
    try {
      // A 40 KB grpc-message does not fit one 16 KiB frame.
      const failed = await rawCall(
        session,
        DatabaseService.Put.path,
        DatabaseService.Put.request.encode({key: Uint8Array.of(1), value: Uint8Array.of(1)}),
      )
      assert.equal(failed.headers['grpc-status'], String(Status.INVALID_ARGUMENT))
      assert.equal(failed.headers['grpc-message'], LONG_TEXT)
      // nghttp2 splits a 30 KB request header the same way.
      const big = await rawCall(session, DatabaseService.Has.path, new Uint8Array(0), {'x-big': 'y'.repeat(30_000)})
      assert.equal(big.trailers?.['grpc-status'], '0')
    } finally {
      session.close()
    }
  })

  // Without the size update nghttp2 drops the reply and the call never ends: the timeout turns
  // that hang into a failure.
  it(
    'a peer that shrinks its header table to 0 hears of it at the start of the next header block',
    {timeout: 30_000},
    async () => {
      const session = http2.connect(`http://${address}`, {settings: {headerTableSize: 0}})
      try {
        for (let i = 0; i < 3; i++) {
          const r = await rawCall(session, DatabaseService.Has.path, new Uint8Array(0))
          assert.equal(r.headers[':status'], 200)
          assert.equal(r.trailers?.['grpc-status'], '0')
        }
      } finally {
        session.close()
      }
    },
  )

  it('answers PING', async () => {
    const session = http2.connect(`http://${address}`)
    try {
      // node:http2 cancels a ping sent before its session is up.
      await new Promise((resolve) => {
        session.once('connect', resolve)
      })
      const payload = Buffer.from('8 bytes!')
      const echoed = await new Promise<Buffer>((resolve, reject) => {
        session.ping(payload, (error, _ms, back) => (error ? reject(error) : resolve(back)))
      })
      assert.deepEqual(echoed, payload)
    } finally {
      session.close()
    }
  })

  it('refuses a connection that does not open with the HTTP/2 preface: GOAWAY PROTOCOL_ERROR, then close', async () => {
    const [host, port] = address.split(':')
    const socket = connect({host, port: Number(port)})
    socket.end('POST /rpcdb.Database/Has HTTP/1.1\r\nHost: x\r\n\r\n')
    const chunks: Buffer[] = []
    socket.on('data', (c: Buffer) => chunks.push(c))
    await new Promise((resolve) => {
      socket.on('close', resolve)
    })
    const all = Buffer.concat(chunks)
    // The server's SETTINGS and WINDOW_UPDATE come first; find the GOAWAY among the frames.
    const frames: Array<{type: number; payload: Buffer}> = []
    for (let at = 0; at + 9 <= all.length;) {
      const length = all.readUIntBE(at, 3)
      frames.push({type: all[at + 3]!, payload: all.subarray(at + 9, at + 9 + length)})
      at += 9 + length
    }

    const goaway = frames.find((f) => f.type === 7)
    assert.ok(goaway, `no GOAWAY among frame types ${frames.map((f) => f.type).join(',')}`)
    assert.equal(goaway.payload.readUInt32BE(4), 1) // PROTOCOL_ERROR
    assert.match(goaway.payload.subarray(8).toString(), /connection preface/)
  })

  it('a graceful close lets a call in flight finish, and later calls fail UNAVAILABLE', async () => {
    const client = new UnaryClient(address)
    try {
      const pending = client.call(DatabaseService.HealthCheck, {})
      await until(() => release !== undefined)
      server.close()
      release!()
      const reply = await pending
      assert.equal(new TextDecoder().decode(reply.details), '{"held":true}')
      const later = await client.call(DatabaseService.Has, {key: Uint8Array.of(1)}).then(
        () => assert.fail('a call after the close went through'),
        (error: StatusError) => error,
      )
      assert.equal(later.code, Status.UNAVAILABLE)
    } finally {
      client.close()
    }
  })
})

describe('polling after a write (the plugin keeps its CPU awake between serial calls)', () => {
  const server = new GrpcServer()
  let client: UnaryClient

  before(async () => {
    server.addService(DatabaseService, database())
    client = new UnaryClient(await server.listen())
  })
  after(() => {
    setPollAfterWrite(0)
    client.close()
    server.close()
  })

  it('is off unless asked for', async () => {
    setPollAfterWrite(0)
    await client.call(DatabaseService.Has, {key: new Uint8Array([1])})
    assert.equal(pollingAfterWrite(), false)
  })

  it('polls after a write, stops when turned off, and ends by itself when its window runs out', async () => {
    // A window of a minute: still open when the call returns, however slow the machine.
    setPollAfterWrite(60_000)
    await client.call(DatabaseService.Has, {key: new Uint8Array([2])})
    assert.equal(pollingAfterWrite(), true)
    setPollAfterWrite(0)
    await until(() => !pollingAfterWrite())
    // A window of a millisecond: the loop goes back to sleeping (else this test times out).
    setPollAfterWrite(1)
    await client.call(DatabaseService.Has, {key: new Uint8Array([3])})
    await until(() => !pollingAfterWrite())
    assert.equal(pollingAfterWrite(), false)
  })
})
