// The HTTP around the chain API, as an AvalancheGo v1.14.2 node answers it: CORS, the Host rule,
// path cleaning, half-open sockets, gzip, Node-Id, and the health and info APIs' exact shapes.
// A real server on 127.0.0.1:0 over the real VM, driven by node:http and raw sockets.
import assert from 'node:assert/strict'
import {connect} from 'node:net'
import {after, before, describe, it} from 'node:test'
import {gunzipSync} from 'node:zlib'
import {request} from 'node:http'

import {Engine} from '../../src/node/engine.js'
import {localNodeId} from '../../src/node/nodeapi.js'
import {type RunningServer, type ServerOptions, startServer} from '../../src/node/server.js'
import {hexEncode, idToString} from '../../src/vm/encoding.js'
import {sha256} from '../../src/vm/hash.js'
import {vmIdStringFromName} from '../../src/vm/vmid.js'
import {raw, rpc} from '../helpers/http.js'
import {openTestVm} from '../helpers/real-vm.js'

const CHAIN_ID = idToString(sha256(new TextEncoder().encode('http-test-chain')))
const VM_ID = vmIdStringFromName('timestampvm')
const TIMESTAMP_ID = vmIdStringFromName('timestamp')
const NODE_ID = localNodeId(new TextEncoder().encode('http-test-node'))
const GET_BLOCK = '{"jsonrpc":"2.0","method":"timestampvm.getBlock","id":1}'
const CHAIN = '/ext/bc/timestampvm'
const JSON_HEADERS = {'Content-Type': 'application/json'}

async function serve(extra: Partial<ServerOptions> = {}): Promise<{s: RunningServer; stop(): Promise<void>}> {
  const t = await openTestVm({genesis: new TextEncoder().encode('http')})
  const engine = new Engine(t.engine)
  const s = await startServer({
    chain: engine,
    chainId: CHAIN_ID,
    vmId: VM_ID,
    vmIds: [TIMESTAMP_ID],
    nodeId: NODE_ID,
    version: '9.8.7',
    dialect: 'v1.3',
    port: 0,
    ...extra,
  })
  return {
    s,
    async stop() {
      await s.close()
      await engine.close()
      await t.close()
    },
  }
}

/** Writes raw bytes on one connection, optionally half-closes, and returns everything read until the server closes. */
function rawSocket(port: number, bytes: string, halfClose: boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({host: '127.0.0.1', port, allowHalfOpen: true}, () => {
      s.write(bytes)
      if (halfClose) s.end()
    })
    const got: Buffer[] = []
    s.on('data', (b: Buffer) => {
      got.push(b)
      // Not half-closed: the reply is complete once its body (Content-Length) is in.
      const text = Buffer.concat(got).toString('latin1')
      const end = text.indexOf('\r\n\r\n')
      const length = /content-length: (\d+)/i.exec(text)
      if (!halfClose && end !== -1 && length && text.length >= end + 4 + Number(length[1])) s.destroy()
    })
    s.on('close', () => resolve(Buffer.concat(got).toString('latin1')))
    s.on('error', reject)
    s.setTimeout(10_000, () => s.destroy(new Error('raw socket timed out')))
  })
}

/** A response body as bytes (for gzip). */
function rawBytes(
  port: number,
  path: string,
  body: string,
  headers: Record<string, string>,
): Promise<{headers: Record<string, unknown>; body: Buffer}> {
  return new Promise((resolve, reject) => {
    const r = request({host: '127.0.0.1', port, method: 'POST', path, headers, agent: false}, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({headers: res.headers, body: Buffer.concat(chunks)}))
    })
    r.on('error', reject)
    r.end(body)
  })
}

describe('serve HTTP like a node: CORS', () => {
  let s: RunningServer
  let stop: () => Promise<void>
  before(async () => {
    ;({s, stop} = await serve())
  })
  after(() => stop())

  it('answers a browser preflight with 200 and the CORS headers (default origins "*", credentials)', async () => {
    const r = await raw(s.port, {
      method: 'OPTIONS',
      path: CHAIN,
      headers: {
        Origin: 'http://page.example',
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'content-type',
      },
    })
    assert.equal(r.status, 200)
    assert.equal(r.body, '')
    assert.equal(r.headers['access-control-allow-origin'], '*')
    assert.equal(r.headers['access-control-allow-methods'], 'POST')
    assert.equal(r.headers['access-control-allow-headers'], 'Content-Type')
    assert.equal(r.headers['access-control-allow-credentials'], 'true')
    assert.match(String(r.headers.vary), /Origin, Access-Control-Request-Method, Access-Control-Request-Headers/)
  })

  it('gives no CORS grant to a method or header the node does not allow, still 200', async () => {
    for (const headers of [
      {Origin: 'http://page.example', 'Access-Control-Request-Method': 'PUT'} as Record<string, string>,
      {
        Origin: 'http://page.example',
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'x-secret',
      },
    ]) {
      const r = await raw(s.port, {method: 'OPTIONS', path: CHAIN, headers})
      assert.equal(r.status, 200)
      assert.equal(r.headers['access-control-allow-origin'], undefined)
    }
  })

  it('adds the CORS headers to a request with Origin, and Vary: Origin to every reply', async () => {
    const withOrigin = await rpc(s.port, CHAIN, GET_BLOCK, {Origin: 'http://page.example'})
    assert.equal(withOrigin.status, 200)
    assert.equal(withOrigin.headers['access-control-allow-origin'], '*')
    assert.equal(withOrigin.headers['access-control-allow-credentials'], 'true')
    assert.equal(withOrigin.headers.vary, 'Accept-Encoding, Origin')
    const without = await rpc(s.port, CHAIN, GET_BLOCK)
    assert.equal(without.headers['access-control-allow-origin'], undefined)
    assert.equal(without.headers.vary, 'Accept-Encoding, Origin')
    // An OPTIONS without Access-Control-Request-Method is no preflight: gorilla's 405.
    const plain = await raw(s.port, {method: 'OPTIONS', path: CHAIN, headers: {Origin: 'http://page.example'}})
    assert.equal(plain.status, 405)
  })

  it('grants only the listed origins with --allowed-origins', async () => {
    const listed = await serve({allowedOrigins: ['https://app.example', 'https://*.tools.example']})
    try {
      for (const origin of ['https://app.example', 'https://a.tools.example']) {
        const r = await rpc(listed.s.port, CHAIN, GET_BLOCK, {Origin: origin})
        assert.equal(r.headers['access-control-allow-origin'], origin)
      }

      const other = await rpc(listed.s.port, CHAIN, GET_BLOCK, {Origin: 'https://evil.example'})
      assert.equal(other.status, 200)
      assert.equal(other.headers['access-control-allow-origin'], undefined)
      const pre = await raw(listed.s.port, {
        method: 'OPTIONS',
        path: CHAIN,
        headers: {Origin: 'https://evil.example', 'Access-Control-Request-Method': 'POST'},
      })
      assert.equal(pre.headers['access-control-allow-origin'], undefined)
    } finally {
      await listed.stop()
    }
  })
})

describe('serve HTTP like a node: Host, paths, sockets, encoding', () => {
  let s: RunningServer
  let stop: () => Promise<void>
  before(async () => {
    ;({s, stop} = await serve())
  })
  after(() => stop())

  it("answers an empty Host and refuses an unlisted name with the node's 403", async () => {
    const noHost = await rawSocket(
      s.port,
      `POST ${CHAIN} HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: ${GET_BLOCK.length}\r\n\r\n${GET_BLOCK}`,
      false,
    )
    assert.match(noHost, /^HTTP\/1\.1 200 /)
    const empty = await rawSocket(
      s.port,
      `POST ${CHAIN} HTTP/1.1\r\nHost:\r\nContent-Type: application/json\r\nContent-Length: ${GET_BLOCK.length}\r\nConnection: close\r\n\r\n${GET_BLOCK}`,
      false,
    )
    assert.match(empty, /^HTTP\/1\.1 200 /)
    const named = await rpc(s.port, CHAIN, GET_BLOCK, {Host: 'node.example'})
    assert.equal(named.status, 403)
    assert.equal(named.body, 'invalid host specified\n')
    assert.equal(named.headers['x-content-type-options'], 'nosniff')
    assert.equal(named.headers['content-type'], 'text/plain; charset=utf-8')
  })

  it('answers listed names with --allowed-hosts, and any with "*"', async () => {
    for (const [hosts, host, status] of [
      [['node.example'], 'NODE.example:9650', 200],
      [['node.example'], 'localhost', 403],
      [['*'], 'anything.example', 200],
    ] as const) {
      const t = await serve({allowedHosts: hosts})
      try {
        assert.equal((await rpc(t.s.port, CHAIN, GET_BLOCK, {Host: host})).status, status, `${hosts} ${host}`)
      } finally {
        await t.stop()
      }
    }
  })

  it('redirects unclean paths to the cleaned one with 301, keeping the query', async () => {
    for (const [path, location] of [
      ['//ext//bc/timestampvm', '/ext/bc/timestampvm'],
      ['/ext/./bc/timestampvm?x=1', '/ext/bc/timestampvm?x=1'],
      ['/ext/x/../bc/timestampvm', '/ext/bc/timestampvm'],
      ['/ext/health/./', '/ext/health/'],
    ]) {
      const r = await rpc(s.port, path, GET_BLOCK)
      assert.equal(r.status, 301, path)
      assert.equal(r.headers.location, location, path)
    }
  })

  it('routes on the percent-decoded path and absolute-form targets; 404 with nosniff; bad escapes 400', async () => {
    const decoded = await rpc(s.port, '/ext/bc/%74imestampvm', GET_BLOCK)
    assert.equal(decoded.status, 200)
    assert.match(decoded.body, /"result":\{/)
    const absolute = await rawSocket(
      s.port,
      `POST http://localhost:9650${CHAIN} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${GET_BLOCK.length}\r\nConnection: close\r\n\r\n${GET_BLOCK}`,
      false,
    )
    assert.match(absolute, /^HTTP\/1\.1 200 [\s\S]*"result":\{/)
    // As in Go, the target's authority is the request's host: a name there meets the Host rule.
    const elsewhere = await rawSocket(
      s.port,
      `POST http://evil.example${CHAIN} HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
      false,
    )
    assert.match(elsewhere, /^HTTP\/1\.1 403 [\s\S]*invalid host specified\n$/)
    const missing = await rpc(s.port, '/ext/bc/nothing', GET_BLOCK)
    assert.equal(missing.status, 404)
    assert.equal(missing.body, '404 page not found\n')
    assert.equal(missing.headers['x-content-type-options'], 'nosniff')
    assert.equal((await rpc(s.port, '/ext/bc/%zz', GET_BLOCK)).status, 400)
  })

  it('answers a client that half-closes its socket after sending', async () => {
    // A proposal, whose reply waits for a synced write: the client's FIN arrives well before it.
    const propose = `{"jsonrpc":"2.0","method":"timestampvm.proposeBlock","params":{"data":"${hexEncode(new Uint8Array(32).fill(0xab))}"},"id":1}`
    const reply = await rawSocket(
      s.port,
      `POST ${CHAIN} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${propose.length}\r\n\r\n${propose}`,
      true,
    )
    assert.match(reply, /^HTTP\/1\.1 200 [\s\S]*\{"jsonrpc":"2\.0","result":\{"Success":true\},"id":1\}\n$/)
  })

  it('sends a stable Node-Id and Vary: Accept-Encoding; gzips replies of 1,400 bytes or more when accepted', async () => {
    const a = await rpc(s.port, CHAIN, GET_BLOCK)
    const b = await raw(s.port, {method: 'GET', path: '/nowhere'})
    assert.equal(a.headers['node-id'], NODE_ID)
    assert.equal(b.headers['node-id'], NODE_ID)
    assert.match(NODE_ID, /^NodeID-[1-9A-HJ-NP-Za-km-z]+$/)
    const big = '{"jsonrpc":"2.0","method":"timestampvm.encode","params":{"data":"x","length":1000},"id":1}'
    const zipped = await rawBytes(s.port, '/ext/vm/timestampvm', big, {
      ...JSON_HEADERS,
      'Accept-Encoding': 'gzip, deflate',
    })
    assert.equal(zipped.headers['content-encoding'], 'gzip')
    const text = gunzipSync(zipped.body).toString('utf8')
    assert.match(text, /^\{"jsonrpc":"2\.0","result":\{"bytes":"0x78/)
    const plain = await rawBytes(s.port, '/ext/vm/timestampvm', big, {...JSON_HEADERS, 'Accept-Encoding': 'gzip;q=0'})
    assert.equal(plain.headers['content-encoding'], undefined)
    assert.equal(plain.body.toString('utf8'), text)
    const small = await rawBytes(s.port, CHAIN, GET_BLOCK, {...JSON_HEADERS, 'Accept-Encoding': 'gzip'})
    assert.equal(small.headers['content-encoding'], undefined)
  })

  it('serves the static API under the VM IDs of "timestampvm" and "timestamp" and both aliases', async () => {
    const encode = '{"jsonrpc":"2.0","method":"timestampvm.encode","params":{"data":"ab","length":2},"id":1}'
    for (const path of [`/ext/vm/${VM_ID}`, `/ext/vm/${TIMESTAMP_ID}`, '/ext/vm/timestampvm', '/ext/vm/timestamp']) {
      const r = await rpc(s.port, path, encode)
      assert.match(
        r.body,
        /^\{"jsonrpc":"2\.0","result":\{"bytes":"0x6162[0-9a-f]{8}","encoding":"hex"\},"id":1\}\n$/,
        path,
      )
    }
  })
})

describe('serve answers the node APIs: health', () => {
  let s: RunningServer
  let stop: () => Promise<void>
  before(async () => {
    ;({s, stop} = await serve({health: async () => ({lastAcceptedHeight: '0'})}))
  })
  after(() => stop())

  const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/

  function assertResult(r: Record<string, unknown>): void {
    assert.match(String(r.timestamp), RFC3339)
    assert.equal(typeof r.duration, 'number')
    for (const key of Object.keys(r)) assert.ok(['message', 'error', 'timestamp', 'duration'].includes(key), key)
  }

  it('answers GET /ext/health and its three sub-paths with 200 and {checks, healthy}', async () => {
    for (const [path, names] of [
      ['/ext/health', ['bootstrapped', 'timestampvm']],
      ['/ext/health/health', ['bootstrapped', 'timestampvm']],
      ['/ext/health/readiness', ['bootstrapped']],
      ['/ext/health/liveness', ['timestampvm']],
    ] as const) {
      const r = await raw(s.port, {method: 'GET', path})
      assert.equal(r.status, 200, path)
      assert.equal(r.headers['content-type'], 'application/json')
      assert.ok(r.body.endsWith('}\n'))
      const body = JSON.parse(r.body) as {checks: Record<string, Record<string, unknown>>; healthy: boolean}
      assert.deepEqual(Object.keys(body), ['checks', 'healthy'])
      assert.deepEqual(Object.keys(body.checks), names, path)
      assert.equal(body.healthy, true)
      for (const c of Object.values(body.checks)) assertResult(c)
    }

    const full = JSON.parse((await raw(s.port, {method: 'GET', path: '/ext/health'})).body)
    assert.deepEqual(full.checks.bootstrapped.message, [])
    assert.equal(full.checks.timestampvm.message.lastAcceptedHeight, '0')
    assert.equal(typeof full.checks.timestampvm.message.connections, 'number')
  })

  it('answers the JSON-RPC health.health, readiness and liveness calls in a JSON-RPC envelope', async () => {
    for (const method of ['health', 'readiness', 'liveness']) {
      const r = await rpc(
        s.port,
        '/ext/health',
        `{"jsonrpc":"2.0","method":"health.${method}","params":{"tags":["11111111111111111111111111111111LpoYY"]},"id":7}`,
      )
      assert.equal(r.status, 200)
      assert.match(r.body, /^\{"jsonrpc":"2\.0","result":\{"checks":\{.*\},"healthy":true\},"id":7\}\n$/)
    }

    const unknown = await rpc(s.port, '/ext/health', '{"jsonrpc":"2.0","method":"health.getLiveness","id":1}')
    assert.equal(
      unknown.body,
      '{"jsonrpc":"2.0","error":{"code":-32000,"message":"rpc: can\'t find method \\"health.GetLiveness\\"","data":null},"id":1}\n',
    )
    const put = await raw(s.port, {method: 'PUT', path: '/ext/health'})
    assert.equal(put.status, 405)
  })

  it("answers 503 with the failing check's error as a string when unhealthy", async () => {
    const sick = await serve({
      async health() {
        throw new Error('writes failed')
      },
    })
    try {
      const r = await raw(sick.s.port, {method: 'GET', path: '/ext/health'})
      assert.equal(r.status, 503)
      const body = JSON.parse(r.body)
      assert.equal(body.healthy, false)
      assert.equal(body.checks.timestampvm.error, 'writes failed')
      assert.equal((await raw(sick.s.port, {method: 'GET', path: '/ext/health/readiness'})).status, 200)
      assert.equal((await raw(sick.s.port, {method: 'GET', path: '/ext/health/liveness'})).status, 503)
      const viaRpc = await rpc(sick.s.port, '/ext/health', '{"jsonrpc":"2.0","method":"health.health","id":1}')
      assert.equal(viaRpc.status, 200)
      assert.equal(JSON.parse(viaRpc.body).result.healthy, false)
    } finally {
      await sick.stop()
    }
  })
})

const fail = (message: string): string =>
  `{"jsonrpc":"2.0","error":{"code":-32000,"message":${JSON.stringify(message)},"data":null},"id":1}\n`

const ok = (result: string): string => `{"jsonrpc":"2.0","result":${result},"id":1}\n`

describe('serve answers the node APIs: info', () => {
  let s: RunningServer
  let stop: () => Promise<void>
  before(async () => {
    ;({s, stop} = await serve())
  })
  after(() => stop())

  const info = async (method: string, params = '{}'): Promise<string> =>
    (await rpc(s.port, '/ext/info', `{"jsonrpc":"2.0","method":"info.${method}","params":${params},"id":1}`)).body

  it("answers isBootstrapped for the chain ID and its alias, and the node's errors otherwise", async () => {
    assert.equal(await info('isBootstrapped', `{"chain":"${CHAIN_ID}"}`), ok('{"isBootstrapped":true}'))
    assert.equal(await info('isBootstrapped', '{"chain":"timestampvm"}'), ok('{"isBootstrapped":true}'))
    assert.equal(await info('isBootstrapped', '{"chain":"X"}'), fail("there is no chain with alias/ID 'X'"))
    assert.equal(await info('isBootstrapped'), fail("argument 'chain' not given"))
  })

  it('answers getBlockchainID for the alias and the ID', async () => {
    assert.equal(await info('getBlockchainID', '{"alias":"timestampvm"}'), ok(`{"blockchainID":"${CHAIN_ID}"}`))
    assert.equal(await info('getBlockchainID', `{"alias":"${CHAIN_ID}"}`), ok(`{"blockchainID":"${CHAIN_ID}"}`))
    assert.equal(await info('getBlockchainID', '{"alias":"P"}'), fail('there is no ID with alias P'))
  })

  it("answers getNodeID, getNodeVersion, getNetworkID and getVMs in the node's shapes", async () => {
    assert.equal(await info('getNodeID'), ok(`{"nodeID":"${NODE_ID}","nodePOP":null}`))
    assert.equal(
      await info('getNodeVersion'),
      ok(
        '{"version":"tsvm/9.8.7","databaseVersion":"v1.4.5","rpcProtocolVersion":"45","gitCommit":"","vmVersions":{"timestampvm":"v9.8.7"}}',
      ),
    )
    assert.equal(await info('getNetworkID'), ok('{"networkID":"12345"}'))
    const vms = JSON.parse(await info('getVMs')).result
    assert.deepEqual(vms.vms, {[VM_ID]: ['timestampvm', 'timestamp'], [TIMESTAMP_ID]: []})
    assert.deepEqual(vms.fxs, {
      qd2U4HDWUvMrVUeTcCHp6xH3Qpnn1XbU5MDdnBoiifFqvgXwT: 'nftfx',
      rXJsCSEYXg2TehWxCEEGj6JU2PWKTkd6cBdNLjoe2SpsKD9cy: 'propertyfx',
      spdxUxVJQbX85MGxMHbKw1sHxMnSqJ3QBzDyDYEP3h6TLuxqQ: 'secp256k1fx',
    })
  })

  it('answers methods it does not have as gorilla does', async () => {
    assert.equal(await info('peers'), fail('rpc: can\'t find method "info.Peers"'))
    assert.equal(await info('GetNodeID'), fail('method must start with a non-uppercase letter'))
    const other = await rpc(s.port, '/ext/info', '{"jsonrpc":"2.0","method":"platform.getHeight","id":1}')
    assert.equal(other.body, fail('rpc: can\'t find service "platform.GetHeight"'))
  })
})
