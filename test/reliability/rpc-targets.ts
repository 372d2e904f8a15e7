// Fuzz properties for the JSON-RPC layer: random and near-valid request bodies go through
// serveRpc (transport-free) and through the real HTTP server on 127.0.0.1. The handler must
// never throw, and must answer every request with a JSON-RPC 2.0 reply (or nothing for a
// notification, as gorilla does); over HTTP every answer is 200 or the HTTP error the request
// earned (404/405/413/415), never a 500. Valid proposals round-trip into the mempool; invalid
// ones never reach it. Behind both is the real TimestampVM on a fresh data dir.
import assert from 'node:assert/strict'

import fc from 'fast-check'

import {Engine} from '../../src/node/engine.js'
import {type RunningServer, startServer} from '../../src/node/server.js'
import {serveRpc} from '../../src/rpc/service.js'
import {cb58Encode, hexEncode, idToString, toHex} from '../../src/vm/encoding.js'
import {raw} from '../helpers/http.js'
import {openTestVm} from '../helpers/real-vm.js'
import type {FuzzTarget} from './fuzz-targets.js'

const METHODS = ['proposeBlock', 'getBlock', 'encode', 'decode', 'ProposeBlock', 'getblock', 'x.y', '', 'timestampvm']
const bytes32 = fc.uint8Array({minLength: 32, maxLength: 32})

/** A JSON value that may be nested deeper than any request needs. */
const deep = fc
  .tuple(fc.oneof(fc.integer({min: 1, max: 3000}), fc.integer({min: 3000, max: 30_000})), fc.constantFrom('[', '{"a":'))
  .map(([n, open]) => {
    const close = open === '[' ? ']' : '}'
    return open.repeat(n) + '1' + close.repeat(n)
  })

/** Request ids: the forms JSON allows and a few it does not. */
const anyId = fc.oneof(
  fc.integer().map(String),
  fc.constantFrom(
    '18446744073709551615',
    '1e400',
    '-0',
    '1.0',
    '0.000001e-999',
    '"x"',
    'null',
    'true',
    '[]',
    '{}',
    '9'.repeat(5000),
  ),
  fc.string({maxLength: 20}).map((s) => JSON.stringify(s)),
)

/** Params for the four methods, valid, near-valid and nonsense. */
const anyParams = fc.oneof(
  bytes32.map((b) => ({data: hexEncode(b)})),
  bytes32.map((b) => ({data: cb58Encode(b)})),
  bytes32.map((b) => ({data: toHex(b)})),
  bytes32.map((b) => ({id: idToString(b)})),
  fc.record(
    {data: fc.string({maxLength: 80}), encoding: fc.constantFrom('hex', 'cb58', 'json', 'HEX', 'x')},
    {requiredKeys: []},
  ),
  fc.record(
    {bytes: fc.string({maxLength: 80}), length: fc.oneof(fc.integer(), fc.constant(2 ** 40))},
    {requiredKeys: []},
  ),
  fc.jsonValue({maxDepth: 3}),
)

/** A request body: shaped like JSON-RPC, or arbitrary JSON, or not JSON at all. */
export const anyBody = fc.oneof(
  fc
    .record(
      {
        jsonrpc: fc.oneof(fc.constant('"2.0"'), fc.constantFrom('"1.0"', '2.0', 'null', '""')),
        method: fc
          .oneof(
            fc.constantFrom(...METHODS).map((m) => (m.includes('.') || m === '' ? m : `timestampvm.${m}`)),
            fc.string({maxLength: 30}),
          )
          .map((m) => JSON.stringify(m)),
        params: fc.oneof(
          anyParams.map((p) => JSON.stringify(p)),
          anyParams.map((p) => JSON.stringify([p])),
          deep,
        ),
        id: anyId,
      },
      {requiredKeys: []},
    )
    .map(
      (r) =>
        '{' +
        Object.entries(r)
          .map(([k, v]) => `${JSON.stringify(k)}:${v}`)
          .join(',') +
        '}',
    ),
  fc.json({maxDepth: 4}),
  fc.string({maxLength: 200}),
  fc.fullUnicodeString({maxLength: 100}),
  deep,
  fc.uint8Array({maxLength: 200}).map((b) => Buffer.from(b).toString('latin1')),
)

/** Checks that `body` is one JSON-RPC 2.0 reply: result xor error{code,message,data}, and an id. */
export function assertRpcShape(body: string): void {
  assert.ok(body.endsWith('\n'), 'a reply ends with a newline, as Go encoders write it')
  const reply = JSON.parse(body) as Record<string, unknown>
  assert.equal(reply.jsonrpc, '2.0')
  assert.ok('id' in reply, 'a reply carries an id')
  assert.notEqual('result' in reply, 'error' in reply, 'a reply has a result or an error, not both')
  if ('error' in reply) {
    const error = reply.error as Record<string, unknown>
    assert.ok([-32_700, -32_600, -32_000].includes(error.code as number), `unexpected error code ${String(error.code)}`)
    assert.equal(typeof error.message, 'string')
    assert.ok('data' in error)
  }
}

const open = async () => {
  const t = await openTestVm()
  return {vm: t.vm, engine: new Engine(t.engine), close: () => t.close()}
}

/** The handler and server targets; `serve` lazily starts one in-process server shared by them. */
export function rpcTargets(): {targets: FuzzTarget[]; close(): Promise<void>} {
  // Opened once, on the first call (the target list itself is built synchronously).
  let opened: ReturnType<typeof open> | undefined

  const ready = (): ReturnType<typeof open> => {
    opened ??= open()
    return opened
  }

  let server: Promise<RunningServer> | undefined
  const serve = (): Promise<RunningServer> => {
    server ??= ready().then(({engine}) =>
      startServer({
        chain: engine,
        chainId: '2oYMBNV4eNHyqk2fjjV5nVQLDbtmNJzq5s3qs3Lo6ftnC6FByM',
        vmId: 'tGas3T58KzdjcJ2iKSyiYsWiqYctRXaPTqBCA11BqEkNg8kPc',
        dialect: 'v1.3',
        bodyLimit: 64 * 1024,
      }),
    )
    return server
  }

  const rpcChain = async () => ({kind: 'chain' as const, chain: (await ready()).engine})

  const targets: FuzzTarget[] = [
    {
      name: 'serveRpc answers every body with a JSON-RPC reply (or nothing for a notification) and never throws',
      cost: 4,
      property: () =>
        fc.asyncProperty(
          anyBody,
          fc.constantFrom<'v1.2' | 'v1.3'>('v1.2', 'v1.3'),
          fc.boolean(),
          async (body, dialect, isStatic) => {
            const reply = await serveRpc(body, isStatic ? {kind: 'static'} : await rpcChain(), dialect)
            if (reply.body !== undefined) assertRpcShape(reply.body)
          },
        ),
    },
    {
      name: 'proposeBlock queues exactly the valid 32-byte payloads, each once',
      cost: 4,
      property: () =>
        fc.asyncProperty(
          fc.oneof(
            bytes32.map((b) => hexEncode(b)),
            bytes32.map((b) => toHex(b)),
            bytes32.map((b) => cb58Encode(b)),
            fc.string({maxLength: 80}),
          ),
          async (data) => {
            const {vm} = await ready()
            const seen = (): number => vm.mempool().length + Number(vm.lastAccepted().height)
            const before = seen()
            const body = JSON.stringify({jsonrpc: '2.0', method: 'timestampvm.proposeBlock', params: {data}, id: 1})
            const reply = await serveRpc(body, await rpcChain(), 'v1.3')
            assertRpcShape(reply.body!)
            const parsed = JSON.parse(reply.body!) as {result?: {Success: boolean}}
            const valid = /^0x[0-9a-f]{72}$/.test(data) && hexEncode(Buffer.from(data.slice(2, 66), 'hex')) === data
            assert.equal(parsed.result?.Success === true, valid, `Success for ${data}: ${reply.body}`)
            assert.equal(seen(), before + (valid ? 1 : 0))
            if (valid) assert.equal(toHex(vm.lastAccepted().data), data.slice(2, 66))
          },
        ),
    },
    {
      name: 'the HTTP server answers any body, method and content type without a 500 and stays up',
      cost: 20,
      property: () =>
        fc.asyncProperty(
          anyBody,
          fc.constantFrom('POST', 'POST', 'POST', 'GET', 'PUT', 'OPTIONS', 'DELETE'),
          fc.constantFrom(
            'application/json',
            'application/json; charset=utf-8',
            'APPLICATION/JSON',
            'text/plain',
            '',
            'application/jsonx',
          ),
          fc.constantFrom('/ext/bc/timestampvm', '/ext/vm/timestampvm', '/ext/health', '/', '/ext/bc/x'),
          async (body, method, type, path) => {
            const {port} = await serve()
            const headers: Record<string, string> = type === '' ? {} : {'Content-Type': type}
            // A declared length: without it Node's client sends a GET/DELETE/OPTIONS body unframed.
            headers['Content-Length'] = String(Buffer.byteLength(body))
            const res = await raw(port, {method, path, headers, body})
            assert.notEqual(res.status, 500, `500 for ${method} ${path} ${type}: ${res.body}`)
            assert.ok([200, 404, 405, 413, 415].includes(res.status), `status ${res.status}`)
            if (res.status === 200 && path.startsWith('/ext/bc') === false && path.startsWith('/ext/vm') === false)
              return
            if (res.status === 200 && res.body !== '') assertRpcShape(res.body)
          },
        ),
    },
  ]
  return {
    targets,
    async close() {
      if (server !== undefined) await (await server).close()
      if (opened !== undefined) {
        const {engine, close} = await opened
        await engine.close()
        await close()
      }
    },
  }
}
