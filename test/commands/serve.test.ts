// End to end: the real `tsvm serve` in a child process, the real binary as its client.
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {RpcClient} from '../../src/rpc/client.js'
import {localChainId} from '../../src/node/serve.js'
import {EmbeddedChain} from '../../src/chain/embedded.js'
import {hexEncode, toHex} from '../../src/vm/encoding.js'
import {sha256} from '../../src/vm/hash.js'
import {BIN, ROOT, tempDir, tsvm, tsvmJson} from '../helpers/cli.js'
import {raw} from '../helpers/http.js'
import {startServe} from '../helpers/serve.js'

const TEST_HASH = '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08' // sha256("test")

let root: string
let cleanup: () => Promise<void>
let n = 0
before(async () => {
  ;({dir: root, cleanup} = await tempDir('tsvm-serve-cli-'))
})
after(() => cleanup())
const newDir = (): string => join(root, `chain-${n++}`)

for (const api of ['v1.3', 'v1.2'] as const) {
  describe(`tsvm serve --api ${api} with the CLI as client`, () => {
    it('serves the data dir; propose --wait, get-block, last-accepted and blocks work through --endpoint', async () => {
      const dir = newDir()
      const node = await startServe(['--data-dir', dir, '--api', api])
      try {
        const {info} = node
        assert.equal(info.api, api)
        assert.equal(info.vmID, 'tGas3T58KzdjcJ2iKSyiYsWiqYctRXaPTqBCA11BqEkNg8kPc')
        assert.equal(info.endpoints.chain, `http://127.0.0.1:${info.port}/ext/bc/${info.chainID}`)
        const e = ['--endpoint', info.endpoints.chain]

        const proposed = await tsvmJson(['propose', TEST_HASH, '--wait', ...e])
        assert.equal(proposed.code, 0, proposed.stderr)
        assert.equal(proposed.json.queued, 1)
        const block = proposed.json.blocks[0]
        assert.equal(block.height, '1')
        assert.equal(block.dataHex, TEST_HASH)
        assert.equal(block.status, 'Accepted')

        const got = await tsvmJson(['get-block', block.id, ...e])
        assert.equal(got.code, 0, got.stderr)
        assert.equal(got.json.bytes, block.bytes)
        assert.equal(got.json.status, 'Accepted')

        // The alias and TSVM_ENDPOINT reach the same chain.
        const last = await tsvmJson(['last-accepted'], {env: {TSVM_ENDPOINT: info.endpoints.chainAlias}})
        assert.equal(last.code, 0, last.stderr)
        assert.equal(last.json.id, block.id)

        const second = await tsvmJson(['propose', sha256Hex('second'), ...e, '--api', api])
        assert.equal(second.json.blocks[0].height, '2')
        const list = await tsvmJson(['blocks', ...e])
        assert.deepEqual(
          list.json.blocks.map((b: {height: string}) => b.height),
          ['2', '1', '0'],
        )

        const missing = await tsvm(['get-block', '11111111111111111111111111111111LpoYY', ...e])
        assert.equal(missing.code, 3)
        const remoteOnly = await tsvmJson(['mempool', ...e])
        assert.equal(remoteOnly.code, 2)
        assert.equal(remoteOnly.json.error.code, 'REMOTE_UNSUPPORTED')
      } finally {
        assert.equal(await node.stop('SIGTERM'), 0)
      }

      // The data dir is closed and holds what was served.
      const chain = await EmbeddedChain.open(dir)
      try {
        assert.equal((await chain.lastAccepted()).block.height, 2n)
        assert.equal(localChainId((await chain.getBlockAtHeight(0n)).block.id), node.info.chainID)
      } finally {
        await chain.close()
      }
    })
  })
}

describe('tsvm serve lifecycle', () => {
  it('keeps the same chain ID across restarts and refuses a busy data dir', async () => {
    const dir = newDir()
    const first = await startServe(['--data-dir', dir])
    const busy = await tsvmJson(['serve', '--port', '0', '--data-dir', dir])
    assert.equal(busy.code, 6)
    assert.equal(busy.json.error.code, 'DB_LOCKED')
    assert.equal(await first.stop('SIGINT'), 0)
    const again = await startServe(['--data-dir', dir])
    assert.equal(again.info.chainID, first.info.chainID)
    assert.equal(await again.stop(), 0)
  })

  it('loses no accepted proposal on SIGTERM under load', async () => {
    const dir = newDir()
    const node = await startServe(['--data-dir', dir])
    const client = new RpcClient(node.info.endpoints.chainAlias, {timeoutMs: 20_000})
    const payloads = Array.from({length: 300}, (_, i) => sha256(Uint8Array.of(i >> 8, i & 255)))
    const answers = payloads.map((p) =>
      client.call<{Success: boolean}>('timestampvm.proposeBlock', {data: hexEncode(p)}).then(
        (r) => r.Success,
        () => false,
      ),
    )
    // Stop once the first proposal is answered, with the rest still in flight or queued.
    assert.equal(await answers[0], true)
    const exit = await node.stop('SIGTERM')
    const results = await Promise.all(answers)
    await client.close()
    assert.equal(exit, 0, node.stderr())
    const chain = await EmbeddedChain.open(dir)
    try {
      const stored = new Set<string>()
      for await (const b of chain.blocks({limit: 1000})) stored.add(toHex(b.block.data))
      for (const p of await chain.mempool()) stored.add(toHex(p))
      for (const [i, ok] of results.entries()) {
        if (ok)
          assert.ok(
            stored.has(toHex(payloads[i]!)),
            `payload ${i} got Success:true but is neither in a block nor queued`,
          )
      }
    } finally {
      await chain.close()
    }
  })
})

describe('tsvm serve as a node: node APIs, CORS, static API names', () => {
  it('answers info, health, a CORS preflight and the static API under every name, with a stable Node-Id', async () => {
    const dir = newDir()
    const node = await startServe(['--data-dir', dir, '--allowed-origins', 'https://app.example'])
    const {port, chainID, nodeID} = node.info
    const post = (path: string, body: string, headers: Record<string, string> = {}) =>
      raw(port, {path, body, headers: {'Content-Type': 'application/json', ...headers}})
    try {
      assert.match(nodeID, /^NodeID-/)
      const id = await post(
        '/ext/info',
        '{"jsonrpc":"2.0","method":"info.getBlockchainID","params":{"alias":"timestampvm"},"id":1}',
      )
      assert.equal(id.body, `{"jsonrpc":"2.0","result":{"blockchainID":"${chainID}"},"id":1}\n`)
      assert.equal(id.headers['node-id'], nodeID)
      const boot = await post(
        '/ext/info',
        `{"jsonrpc":"2.0","method":"info.isBootstrapped","params":{"chain":"${chainID}"},"id":1}`,
      )
      assert.equal(boot.body, '{"jsonrpc":"2.0","result":{"isBootstrapped":true},"id":1}\n')
      const version = JSON.parse(
        (await post('/ext/info', '{"jsonrpc":"2.0","method":"info.getNodeVersion","id":1}')).body,
      )
      assert.match(version.result.version, /^tsvm\/\d+\.\d+\.\d+/)
      const health = await raw(port, {method: 'GET', path: '/ext/health'})
      assert.equal(health.status, 200)
      assert.match(JSON.parse(health.body).checks.timestampvm.message.lastAcceptedID, /^[1-9A-HJ-NP-Za-km-z]+$/)
      const rpcHealth = await post('/ext/health', '{"jsonrpc":"2.0","method":"health.health","id":1}')
      assert.equal(JSON.parse(rpcHealth.body).result.healthy, true)
      const pre = await raw(port, {
        method: 'OPTIONS',
        path: '/ext/bc/timestampvm',
        headers: {
          Origin: 'https://app.example',
          'Access-Control-Request-Method': 'POST',
          'Access-Control-Request-Headers': 'Content-Type',
        },
      })
      assert.equal(pre.status, 200)
      assert.equal(pre.headers['access-control-allow-origin'], 'https://app.example')
      const foreign = await post('/ext/bc/timestampvm', '{"jsonrpc":"2.0","method":"timestampvm.getBlock","id":1}', {
        Origin: 'https://evil.example',
      })
      assert.equal(foreign.headers['access-control-allow-origin'], undefined)
      const timestampId = (await tsvm(['vm-id', 'timestamp'])).stdout.trim()
      for (const path of [
        `/ext/vm/${timestampId}`,
        '/ext/vm/timestamp',
        '/ext/vm/timestampvm',
        `/ext/vm/${node.info.vmID}`,
      ]) {
        const r = await post(
          path,
          '{"jsonrpc":"2.0","method":"timestampvm.encode","params":{"data":"ab","length":2},"id":1}',
        )
        assert.match(
          r.body,
          /^\{"jsonrpc":"2\.0","result":\{"bytes":"0x6162[0-9a-f]{8}","encoding":"hex"\},"id":1\}\n$/,
          path,
        )
      }
    } finally {
      assert.equal(await node.stop(), 0)
    }

    const again = await startServe(['--data-dir', dir])
    try {
      assert.equal(again.info.nodeID, nodeID)
    } finally {
      assert.equal(await again.stop(), 0)
    }
  })
})

describe('tsvm serve --host', () => {
  const getBlock = '{"jsonrpc":"2.0","method":"timestampvm.getBlock","id":1}'
  // Every spelling binds a loopback address, so the Host check must be on for each.
  for (const host of [
    '127.0.0.1',
    '127.1',
    'LOCALHOST',
    'localhost',
    '127.000.000.001',
    '::1',
    '::ffff:127.0.0.1',
    '0:0:0:0:0:0:0:1',
  ]) {
    it(`refuses a foreign Host header when bound to ${host}`, async () => {
      const node = await startServe(['--data-dir', newDir(), '--host', host])
      try {
        const {address, port} = node.info
        assert.match(address, /^(127\.0\.0\.1|::1|::ffff:127\.0\.0\.1)$/)
        assert.deepEqual(node.info.warnings, [])
        const path = '/ext/bc/timestampvm'
        const headers = {'Content-Type': 'application/json'}
        const foreign = await raw(port, {
          host: address,
          path,
          body: getBlock,
          headers: {...headers, Host: `evil.example:${port}`},
        })
        assert.equal(foreign.status, 403, foreign.body)
        const rebound = await raw(port, {
          host: address,
          path,
          body: getBlock,
          headers: {...headers, Host: `localhost.evil.example:${port}`},
        })
        assert.equal(rebound.status, 403, rebound.body)
        // The address's own URL is answered: the client sends Host as the URL spells it.
        const own = await fetch(node.info.endpoints.chainAlias, {method: 'POST', headers, body: getBlock})
        assert.equal(own.status, 200)
        assert.match(await own.text(), /"result":\{/)
      } finally {
        assert.equal(await node.stop(), 0)
      }
    })
  }

  it('warns on stdout under --json, and on stderr otherwise, when the address is not loopback', async () => {
    // Bound to every interface; the test sends nothing to any address but 127.0.0.1.
    const dir = newDir()
    const node = await startServe(['--data-dir', dir, '--host', '0.0.0.0'])
    try {
      assert.equal(node.info.address, '0.0.0.0')
      assert.equal(node.info.warnings.length, 1)
      assert.match(node.info.warnings[0]!, /0\.0\.0\.0 \(not loopback\)/)
      // The node's rule on any address: a name must be listed (--allowed-hosts), IP literals pass.
      const r = await raw(node.info.port, {
        path: '/ext/bc/timestampvm',
        body: getBlock,
        headers: {'Content-Type': 'application/json', Host: 'node.example'},
      })
      assert.equal(r.status, 403)
      assert.equal(r.body, 'invalid host specified\n')
    } finally {
      assert.equal(await node.stop(), 0)
    }

    const listed = await startServe([
      '--data-dir',
      dir,
      '--host',
      '0.0.0.0',
      '--allowed-hosts',
      'node.example,other.example',
    ])
    try {
      const r = await raw(listed.info.port, {
        path: '/ext/bc/timestampvm',
        body: getBlock,
        headers: {'Content-Type': 'application/json', Host: 'node.example:9650'},
      })
      assert.equal(r.status, 200)
    } finally {
      assert.equal(await listed.stop(), 0)
    }

    const human = spawn(process.execPath, [BIN, 'serve', '--data-dir', dir, '--host', '0.0.0.0', '--port', '0'], {
      cwd: ROOT,
      env: {...process.env, NO_COLOR: '1'},
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let err = ''
    const started = new Promise<void>((resolve, reject) => {
      human.stderr.on('data', (b: Buffer) => {
        err += b.toString('utf8')
        if (err.includes('Ctrl-C')) resolve()
      })
      human.on('exit', (code) => reject(new Error(`serve exited ${code}: ${err}`)))
    })
    human.stdout.resume()
    try {
      await started
      assert.match(err, /listening on 0\.0\.0\.0 \(not loopback\): anyone who can reach port \d+ can read the chain/)
    } finally {
      const exited = new Promise((resolve) => {
        human.once('exit', resolve)
      })
      human.kill('SIGTERM')
      await exited
    }
  })

  it('refuses a header timeout longer than the request timeout as a usage error', async () => {
    const r = await tsvmJson([
      'serve',
      '--port',
      '0',
      '--data-dir',
      newDir(),
      '--headers-timeout',
      '20',
      '--request-timeout',
      '10',
    ])
    assert.equal(r.code, 2, r.stderr)
    assert.equal(r.json.error.code, 'USAGE')
  })
})

function sha256Hex(s: string): string {
  return toHex(sha256(new TextEncoder().encode(s)))
}

describe('tsvm serve on a port that is taken', () => {
  it('is a usage error (exit 2, PORT_UNAVAILABLE) that names the port, not exit 1', async () => {
    const {createServer} = await import('node:net')
    const holder = createServer()
    await new Promise<void>((resolve) => {
      holder.listen(0, '127.0.0.1', resolve)
    })
    const {port} = holder.address() as {port: number}
    try {
      const r = await tsvmJson(['serve', '--port', String(port), '--data-dir', newDir()])
      assert.deepEqual([r.code, r.json.error.code, r.json.error.exitCode], [2, 'PORT_UNAVAILABLE', 2])
      assert.match(r.json.error.message, new RegExp(`port ${port} .*already in use`))
    } finally {
      await new Promise((resolve) => {
        holder.close(resolve)
      })
    }
  })
})
