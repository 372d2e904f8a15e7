import assert from 'node:assert/strict'
import {type Server, createServer} from 'node:http'
import type {AddressInfo} from 'node:net'
import {after, before, describe, it} from 'node:test'

import {RpcClient, TimestampVmClient} from '../../src/rpc/client.js'
import {Engine} from '../../src/node/engine.js'
import {type RunningServer, startServer} from '../../src/node/server.js'
import {hexEncode} from '../../src/vm/encoding.js'
import {type TestVm, openTestVm} from '../helpers/real-vm.js'

const code = (c: string) => (e: {code?: string}) => e.code === c

async function listen(handler: Parameters<typeof createServer>[1]): Promise<{server: Server; port: number}> {
  const server = createServer(handler)
  await new Promise<void>((r) => {
    server.listen(0, '127.0.0.1', r)
  })
  return {server, port: (server.address() as AddressInfo).port}
}

async function stop(server: Server): Promise<void> {
  server.closeAllConnections()
  await new Promise<void>((r) => {
    server.close(() => r())
  })
}

describe('RpcClient', () => {
  let s: RunningServer
  let engine: Engine
  let t: TestVm

  before(async () => {
    t = await openTestVm()
    engine = new Engine(t.engine)
    s = await startServer({chain: engine, chainId: 'x', vmId: 'y', dialect: 'v1.3', port: 0})
  })
  after(async () => {
    await s.close()
    await engine.close()
    await t.close()
  })

  it('returns the result of a call', async () => {
    const c = new RpcClient(s.endpoints.chainAlias)
    const r = await c.call<{height: string}>('timestampvm.getBlock', {})
    assert.equal(r.height, '0')
    await c.close()
  })

  it('reports a JSON-RPC error as RPC_ERROR with the server message', async () => {
    const c = new RpcClient(s.endpoints.chainAlias)
    await assert.rejects(
      c.call('timestampvm.nope', {}),
      (e: {code?: string; details?: {rpcMessage?: string}}) =>
        e.code === 'RPC_ERROR' && e.details?.rpcMessage === 'rpc: can\'t find method "timestampvm.Nope"',
    )
    await c.close()
  })

  it('reports a non-chain URL as RPC_HTTP_ERROR with the status', async () => {
    const c = new RpcClient(`${s.url}/ext/bc/nope`)
    await assert.rejects(
      c.call('timestampvm.getBlock', {}),
      (e: {code?: string; details?: {status?: number}; message: string}) =>
        e.code === 'RPC_HTTP_ERROR' && e.details?.status === 404 && e.message.includes('/ext/bc/<chainID>'),
    )
    await c.close()
  })

  it('reports 405 and 415 answers as RPC_HTTP_ERROR', async () => {
    for (const status of [405, 415]) {
      const {server, port} = await listen((_req, res) => {
        res.writeHead(status, {'Content-Type': 'text/plain'})
        res.end('rpc: no')
      })
      const c = new RpcClient(`http://127.0.0.1:${port}/ext/bc/x`)
      await assert.rejects(
        c.call('timestampvm.getBlock', {}),
        (e: {code?: string; details?: {status?: number}}) =>
          e.code === 'RPC_HTTP_ERROR' && e.details?.status === status,
      )
      await c.close()
      await stop(server)
    }
  })

  it('reports a reply that is not JSON-RPC as RPC_BAD_RESPONSE', async () => {
    // JSON, but no JSON-RPC envelope (what a GET-only health endpoint sends)
    const plain = await listen((_req, res) => res.end('{"checks":{},"healthy":true}\n'))
    const c = new RpcClient(`http://127.0.0.1:${plain.port}/ext/health`)
    await assert.rejects(c.call('timestampvm.getBlock', {}), code('RPC_BAD_RESPONSE'))
    await c.close()
    await stop(plain.server)
    const {server, port} = await listen((_req, res) => res.end('<html>'))
    const h = new RpcClient(`http://127.0.0.1:${port}/`)
    await assert.rejects(h.call('timestampvm.getBlock', {}), code('RPC_BAD_RESPONSE'))
    await h.close()
    await stop(server)
  })

  it('reports a closed port as RPC_UNREACHABLE naming the URL', async () => {
    const {server, port} = await listen(() => {})
    await stop(server)
    const c = new RpcClient(`http://127.0.0.1:${port}/ext/bc/x`)
    await assert.rejects(
      c.call('timestampvm.getBlock', {}),
      (e: {code?: string; message: string}) => e.code === 'RPC_UNREACHABLE' && e.message.includes(`127.0.0.1:${port}`),
    )
    await c.close()
  })

  it('reports a server that never answers as RPC_TIMEOUT', async () => {
    const {server, port} = await listen(() => {
      // never answers
    })
    const c = new RpcClient(`http://127.0.0.1:${port}/ext/bc/x`, {timeoutMs: 300})
    await assert.rejects(c.call('timestampvm.getBlock', {}), code('RPC_TIMEOUT'))
    await c.close()
    await stop(server)
  })

  it('refuses a URL that is not http(s) with USAGE', () => {
    assert.throws(() => new RpcClient('ftp://x/'), code('USAGE'))
    assert.throws(() => new RpcClient('not a url'), code('USAGE'))
  })
})

describe('TimestampVmClient on the wrong endpoint', () => {
  it('explains a static endpoint given as a chain with RPC_ERROR', async () => {
    const t = await openTestVm()
    const engine = new Engine(t.engine)
    const s = await startServer({chain: engine, chainId: 'x', vmId: 'y', dialect: 'v1.3', port: 0})
    const c = new TimestampVmClient(new RpcClient(s.endpoints.staticAlias))
    try {
      await assert.rejects(
        c.getBlock(),
        (e: {code?: string; message: string}) => e.code === 'RPC_ERROR' && e.message.includes('/ext/bc/<chainID>'),
      )
    } finally {
      await c.close()
      await s.close()
      await engine.close()
      await t.close()
    }
  })
})

describe('TimestampVmClient dialect detection', () => {
  for (const dialect of ['v1.2', 'v1.3'] as const) {
    it(`detects ${dialect} from a getBlock reply`, async () => {
      const t = await openTestVm()
      const engine = new Engine(t.engine)
      const s = await startServer({chain: engine, chainId: 'x', vmId: 'y', dialect, port: 0})
      const c = new TimestampVmClient(new RpcClient(s.endpoints.chainAlias))
      try {
        assert.equal(await c.dialect(), dialect)
        if (dialect === 'v1.3') assert.equal(await c.proposeBlock(hexEncode(new Uint8Array(32))), true)
      } finally {
        await c.close()
        await s.close()
        await engine.close()
        await t.close()
      }
    })
  }
})
