// Wire tests: a real server on 127.0.0.1:0, raw HTTP requests, exact response bodies (spec §3).
import assert from 'node:assert/strict'
import {type Socket, connect} from 'node:net'
import {after, before, describe, it} from 'node:test'

import {Engine} from '../../src/node/engine.js'
import {type RunningServer, type ServerOptions, isLoopbackAddress, startServer} from '../../src/node/server.js'
import {cb58Encode, hexEncode, hexNCEncode, idToString} from '../../src/vm/encoding.js'
import {sha256} from '../../src/vm/hash.js'
import {vmIdStringFromName} from '../../src/vm/vmid.js'
import {raw, rpc} from '../helpers/http.js'
import type {Block} from '../../src/vm/block.js'
import {type TestVm, openTestVm} from '../helpers/real-vm.js'

const BAD_ARGS =
  "couldn't unmarshal an argument. Ensure arguments are valid and properly formatted. See documentation for example calls"
const E2E = new TextEncoder().encode('e2e')
const CHAIN_ID = idToString(sha256(new TextEncoder().encode('server-test-chain')))
const VM_ID = vmIdStringFromName('timestampvm')
const TEST_PAYLOAD_HEX = '0x9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08e82209f4' // spec §2.4

function err(code: number, message: string, id: string, data = 'null'): string {
  return `{"jsonrpc":"2.0","error":{"code":${code},"message":${JSON.stringify(message)},"data":${data}},"id":${id}}\n`
}

/** A server over the real VM (genesis data "e2e"); `tip()` is its last accepted block. */
interface Served {
  s: RunningServer
  vm: {tip(): Block}
  engine: Engine
  /** Stops the server and engine, closes the VM and removes its data dir. */
  stop(): Promise<void>
}

async function serve(
  dialect: 'v1.2' | 'v1.3',
  bodyLimit?: number,
  limits: Partial<ServerOptions> = {},
): Promise<Served> {
  const t: TestVm = await openTestVm({genesis: E2E})
  const engine = new Engine(t.engine)
  const s = await startServer({chain: engine, chainId: CHAIN_ID, vmId: VM_ID, dialect, port: 0, bodyLimit, ...limits})
  const stop = async (): Promise<void> => {
    await s.close()
    await engine.close()
    await t.close()
  }

  return {s, vm: {tip: () => t.vm.lastAccepted()}, engine, stop}
}

// Outside a string Go's scanner reports the byte itself: 0xff is U+00FF, 0x80 is U+0080.
const parseError = (what: string): string =>
  err(
    -32_700,
    `invalid character ${what} looking for beginning of value`,
    'null',
    '{"jsonrpc":"","method":"","params":null,"id":null}',
  )

describe('server v1.3 wire rules', () => {
  let s: RunningServer
  let vm: Served['vm']
  let stop: () => Promise<void>
  let port: number
  const chain = `/ext/bc/${CHAIN_ID}`
  const call = (body: string, path = chain): ReturnType<typeof rpc> => rpc(port, path, body)
  let genesisJson: string

  before(async () => {
    ;({s, vm, stop} = await serve('v1.3'))
    port = s.port
    const g = vm.tip()
    genesisJson = `{"timestamp":"0","data":"${hexEncode(g.data)}","height":"0","id":"${idToString(g.id)}","parentID":"11111111111111111111111111111111LpoYY"}`
  })
  after(() => stop())

  it('answers GET with 405 text/plain and the exact gorilla text', async () => {
    const r = await raw(port, {method: 'GET', path: chain})
    assert.equal(r.status, 405)
    assert.equal(r.headers['content-type'], 'text/plain; charset=utf-8')
    assert.equal(r.body, 'rpc: POST method required, received GET')
  })

  it('answers a wrong or missing Content-Type with 415 and the part before ";"', async () => {
    const cases: Array<[Record<string, string>, string]> = [
      [{}, 'rpc: unrecognized Content-Type: '],
      [{'Content-Type': 'text/plain'}, 'rpc: unrecognized Content-Type: text/plain'],
      [{'Content-Type': 'application/json ;x'}, 'rpc: unrecognized Content-Type: application/json '],
      [{'Content-Type': 'Text/JSON; charset=utf-8'}, 'rpc: unrecognized Content-Type: Text/JSON'],
    ]
    for (const [headers, body] of cases) {
      const r = await raw(port, {path: chain, headers, body: '{}'})
      assert.equal(r.status, 415)
      assert.equal(r.body, body)
    }
  })

  it('takes application/json in any case and with parameters', async () => {
    for (const ct of ['APPLICATION/JSON', 'application/json; charset=utf-8', 'application/json;']) {
      const r = await raw(port, {
        path: chain,
        headers: {'Content-Type': ct},
        body: '{"jsonrpc":"2.0","method":"timestampvm.getBlock","id":1}',
      })
      assert.equal(r.status, 200)
      assert.equal(r.body, `{"jsonrpc":"2.0","result":${genesisJson},"id":1}\n`)
    }
  })

  it('reports an empty body as -32700 EOF with the empty request as data, even without id', async () => {
    const r = await call('')
    assert.equal(r.status, 200)
    assert.equal(r.headers['content-type'], 'application/json; charset=utf-8')
    assert.equal(r.headers['x-content-type-options'], undefined)
    assert.equal(r.body, err(-32_700, 'EOF', 'null', '{"jsonrpc":"","method":"","params":null,"id":null}'))
  })

  it('rejects a batch (top-level array) with -32700', async () => {
    const r = await call('[{"jsonrpc":"2.0","method":"timestampvm.getBlock","id":1}]')
    assert.equal(
      r.body,
      err(
        -32_700,
        'json: cannot unmarshal array into Go value of type json2.serverRequest',
        'null',
        '{"jsonrpc":"","method":"","params":null,"id":null}',
      ),
    )
  })

  it('keeps the partly decoded request in -32700 data on a type error', async () => {
    const r = await call('{"jsonrpc":2,"method":"timestampvm.getBlock","params":{ "a" : [1, 2] },"id":9}')
    assert.equal(
      r.body,
      err(
        -32_700,
        'json: cannot unmarshal number into Go struct field serverRequest.jsonrpc of type string',
        '9',
        '{"jsonrpc":"","method":"timestampvm.getBlock","params":{"a":[1,2]},"id":9}',
      ),
    )
  })

  it('reports a syntax error with Go text', async () => {
    const r = await call('{"jsonrpc":"2.0",}')
    assert.equal(
      r.body,
      err(
        -32_700,
        "invalid character '}' looking for beginning of object key string",
        'null',
        '{"jsonrpc":"","method":"","params":null,"id":null}',
      ),
    )
  })

  it('answers jsonrpc other than "2.0" with -32600, and nothing at all without id', async () => {
    const r = await call('{"jsonrpc":"1.0","method":"timestampvm.getBlock","id":7}')
    assert.equal(
      r.body,
      err(
        -32_600,
        'jsonrpc must be 2.0',
        '7',
        '{"jsonrpc":"1.0","method":"timestampvm.getBlock","params":null,"id":7}',
      ),
    )
    const quiet = await call('{"jsonrpc":"1.0","method":"timestampvm.getBlock"}')
    assert.equal(quiet.status, 200)
    assert.equal(quiet.body, '')
  })

  it('names unknown services and methods with the capitalised name, as -32000', async () => {
    assert.equal(
      (await call('{"jsonrpc":"2.0","method":"foo.bar","id":1}')).body,
      err(-32_000, 'rpc: can\'t find service "foo.Bar"', '1'),
    )
    assert.equal(
      (await call('{"jsonrpc":"2.0","method":"timestampvm.getblock","id":1}')).body,
      err(-32_000, 'rpc: can\'t find method "timestampvm.Getblock"', '1'),
    )
    assert.equal(
      (await call('{"jsonrpc":"2.0","method":"timestampvm","id":1}')).body,
      err(-32_000, 'rpc: service/method request ill-formed: "timestampvm"', '1'),
    )
    assert.equal(
      (await call('{"jsonrpc":"2.0","method":"timestampvm.encode","id":1}')).body,
      err(-32_000, 'rpc: can\'t find method "timestampvm.Encode"', '1'),
    )
  })

  it('reads invalid UTF-8 one byte at a time, as Go does', async () => {
    const body = Buffer.concat([
      Buffer.from('{"jsonrpc":"2.0","method":"'),
      Buffer.from([0xe2, 0x82]),
      Buffer.from('A.x","id":1}'),
    ])
    const r = await raw(port, {path: chain, headers: {'Content-Type': 'application/json'}, body})
    assert.equal(r.body, err(-32_000, 'rpc: can\'t find service "\uFFFD\uFFFDA.X"', '1'))
  })

  it('keeps invalid UTF-8 in a raw id and params as Go does, and reports it outside strings as one byte', async () => {
    const post = (...parts: Array<string | number[]>): Promise<string> =>
      raw(port, {
        path: chain,
        headers: {'Content-Type': 'application/json'},
        body: Buffer.concat(parts.map((p) => Buffer.from(p))),
      }).then((r) => r.bytes.toString('latin1'))
    const bytes = (...parts: Array<string | number[]>): string =>
      Buffer.concat(parts.map((p) => Buffer.from(p))).toString('latin1')
    // json.RawMessage keeps the bytes and the encoder compacts them as they are: 0xff comes back raw.
    assert.equal(
      await post('{"jsonrpc":"2.0","method":"timestampvm.getBlock","params":{},"id":"', [0xff], '"}'),
      bytes(`{"jsonrpc":"2.0","result":${genesisJson},"id":"`, [0xff], '"}\n'),
    )
    // Compacting still escapes < and U+2028; a valid 4-byte character (U+10080) stays whole.
    assert.equal(
      await post(
        '{"jsonrpc":"2.0","method":"timestampvm.nope","id":"<',
        [0xff, 0xe2, 0x80, 0xa8, 0xf0, 0x90, 0x82, 0x80, 0xc3],
        '"}',
      ),
      bytes(
        `{"jsonrpc":"2.0","error":{"code":-32000,"message":"rpc: can't find method \\"timestampvm.Nope\\"","data":null},"id":"\\u003c`,
        [0xff],
        String.raw`\u2028`,
        [0xf0, 0x90, 0x82, 0x80, 0xc3],
        '"}\n',
      ),
    )
    // The request echoed in an invalid-request error keeps raw params bytes too; the unquoted method gets U+FFFD.
    assert.equal(
      await post('{"jsonrpc":"1.0","method":"a', [0xff], '","params":["', [0xfe], '"],"id":"', [0x80], '"}'),
      bytes(
        '{"jsonrpc":"2.0","error":{"code":-32600,"message":"jsonrpc must be 2.0","data":{"jsonrpc":"1.0","method":"a\uFFFD","params":["',
        [0xfe],
        '"],"id":"',
        [0x80],
        '"}},"id":"',
        [0x80],
        '"}\n',
      ),
    )
    assert.equal(
      Buffer.from(
        await post('{"jsonrpc":"2.0","method":"timestampvm.getBlock","params":{},"id":', [0xff], '}'),
        'latin1',
      ).toString(),
      parseError("'\u00FF'"),
    )
    assert.equal(Buffer.from(await post([0x80]), 'latin1').toString(), parseError(String.raw`'\u0080'`))
    assert.equal(Buffer.from(await post('{"id":', [0xc3, 0xa9], '}'), 'latin1').toString(), parseError("'\u00C3'"))
  })

  it('rejects an upper-case method name', async () => {
    const r = await call('{"jsonrpc":"2.0","method":"timestampvm.GetBlock","id":1}')
    assert.equal(r.body, err(-32_000, 'method must start with a non-uppercase letter', '1'))
    assert.equal(r.headers['x-content-type-options'], undefined)
  })

  it('takes params as object, one-element array, [], null or absent', async () => {
    const want = `{"jsonrpc":"2.0","result":${genesisJson},"id":1}\n`
    for (const params of ['{}', '[{}]', '[]', 'null', '[null]', '{"id":null}', '[{"id":null},5]', '{"unknown":1}']) {
      const r = await call(`{"jsonrpc":"2.0","method":"timestampvm.getBlock","params":${params},"id":1}`)
      assert.equal(r.body, want, `params ${params}`)
      assert.equal(r.headers['x-content-type-options'], 'nosniff')
    }

    assert.equal((await call('{"jsonrpc":"2.0","method":"timestampvm.getBlock","id":1}')).body, want)
  })

  it('turns every bad argument into the generic -32000 message', async () => {
    for (const params of [
      '5',
      '"x"',
      '[5]',
      '{"id":"nope"}',
      '{"id":""}',
      '{"id":5}',
      '{"id":"11111111111111111111111111111111LpoYZ"}',
    ]) {
      const r = await call(`{"jsonrpc":"2.0","method":"timestampvm.getBlock","params":${params},"id":1}`)
      assert.equal(r.body, err(-32_000, BAD_ARGS, '1'), `params ${params}`)
    }
  })

  it('echoes ids byte for byte: 2^64-1, 1.0, strings with HTML escaped', async () => {
    for (const [sent, echoed] of [
      ['18446744073709551615', '18446744073709551615'],
      ['1.0', '1.0'],
      ['-0', '-0'],
      ['1e400', '1e400'],
      ['"a<b>&c"', String.raw`"a\u003cb\u003e\u0026c"`],
      ['{ "x" : [ 1 ] }', '{"x":[1]}'],
    ]) {
      const r = await call(`{"jsonrpc":"2.0","method":"timestampvm.getBlock","id":${sent}}`)
      assert.ok(r.body.endsWith(`,"id":${echoed}}\n`), `id ${sent}: ${r.body}`)
    }
  })

  it('matches envelope and argument keys case-insensitively and ignores trailing bytes', async () => {
    const r = await call(
      `{"JSONRPC":"2.0","Method":"timestampvm.getBlock","PARAMS":{"ID":"${idToString(vm.tip().id)}"},"Id":3} trailing garbage`,
    )
    assert.equal(r.body, `{"jsonrpc":"2.0","result":${genesisJson},"id":3}\n`)
  })

  it('runs a notification (id null) but writes no body', async () => {
    const before = vm.tip().height
    const data = hexEncode(sha256(new TextEncoder().encode('notification')))
    const r = await call(`{"jsonrpc":"2.0","method":"timestampvm.proposeBlock","params":{"data":"${data}"},"id":null}`)
    assert.equal(r.status, 200)
    assert.equal(r.body, '')
    assert.equal(r.headers['x-content-type-options'], 'nosniff')
    assert.equal(r.headers['content-type'], undefined)
    assert.equal(vm.tip().height, before + 1n)
  })

  it('proposes a block and serves it as the new tip and by id', async () => {
    const r = await call(
      `{"jsonrpc":"2.0","method":"timestampvm.proposeBlock","params":{"data":"${TEST_PAYLOAD_HEX}"},"id":1}`,
    )
    assert.equal(r.body, '{"jsonrpc":"2.0","result":{"Success":true},"id":1}\n')
    const tip = vm.tip()
    const want = `{"timestamp":"${tip.timestamp}","data":"${TEST_PAYLOAD_HEX}","height":"${tip.height}","id":"${idToString(tip.id)}","parentID":"${idToString(tip.parentId)}"}`
    assert.equal(
      (await call('{"jsonrpc":"2.0","method":"timestampvm.getBlock","params":{"id":null},"id":2}')).body,
      `{"jsonrpc":"2.0","result":${want},"id":2}\n`,
    )
    assert.equal(
      (await call(`{"jsonrpc":"2.0","method":"timestampvm.getBlock","params":{"id":"${idToString(tip.id)}"},"id":3}`))
        .body,
      `{"jsonrpc":"2.0","result":${want},"id":3}\n`,
    )
  })

  it('reports an unknown block with the Go message', async () => {
    const unknown = idToString(sha256(new TextEncoder().encode('no such block')))
    const r = await call(`{"jsonrpc":"2.0","method":"timestampvm.getBlock","params":{"id":"${unknown}"},"id":1}`)
    assert.equal(r.body, err(-32_000, "couldn't get block from database. Does it exist?", '1'))
    assert.equal(r.headers['x-content-type-options'], 'nosniff')
  })

  it('refuses proposal data of the wrong length, checksum, prefix or encoding', async () => {
    const short = hexEncode(new Uint8Array(31))
    const badSum = TEST_PAYLOAD_HEX.slice(0, -1) + '5'
    for (const data of [short, badSum, TEST_PAYLOAD_HEX.slice(2), '', hexNCEncode(new Uint8Array(32))]) {
      const r = await call(`{"jsonrpc":"2.0","method":"timestampvm.proposeBlock","params":{"data":"${data}"},"id":1}`)
      assert.equal(r.body, err(-32_000, 'data must be hex representation of 32 bytes', '1'), data)
    }

    // The tutorial's CB58 data: Go's text, then what to do (the one deliberate difference).
    const tutorial = await call(
      `{"jsonrpc":"2.0","method":"timestampvm.proposeBlock","params":{"data":"${cb58Encode(new Uint8Array(32))}"},"id":1}`,
    )
    assert.match(
      JSON.parse(tutorial.body).error.message,
      /^data must be hex representation of 32 bytes \(this data is CB58.*--api v1\.2/,
    )
  })

  it('serves the static API at /ext/vm/<vmID> and the alias', async () => {
    for (const path of [`/ext/vm/${VM_ID}`, '/ext/vm/timestampvm']) {
      const r = await call(
        '{"jsonrpc":"2.0","method":"timestampvm.encode","params":{"data":"e2e","length":32},"id":1}',
        path,
      )
      assert.equal(
        r.body,
        `{"jsonrpc":"2.0","result":{"bytes":"${hexEncode(padded(E2E, 32))}","encoding":"hex"},"id":1}\n`,
      )
    }

    const onStatic = await call('{"jsonrpc":"2.0","method":"timestampvm.getBlock","id":1}', '/ext/vm/timestampvm')
    assert.equal(onStatic.body, err(-32_000, 'rpc: can\'t find method "timestampvm.GetBlock"', '1'))
  })

  const enc = (params: string): Promise<string> =>
    call(`{"jsonrpc":"2.0","method":"timestampvm.encode","params":${params},"id":1}`, '/ext/vm/timestampvm').then(
      (r) => r.body,
    )

  it('encode pads, truncates, refuses empty data and the json encoding', async () => {
    assert.equal(
      await enc('{"data":"abcdef","length":2,"encoding":"HexNC"}'),
      '{"jsonrpc":"2.0","result":{"bytes":"0x6162","encoding":"hexnc"},"id":1}\n',
    )
    assert.equal(
      await enc('{"data":"ab","length":4,"encoding":"hexnc"}'),
      '{"jsonrpc":"2.0","result":{"bytes":"0x61620000","encoding":"hexnc"},"id":1}\n',
    )
    assert.equal(
      await enc('{"data":"ab","length":-5,"encoding":"hexnc"}'),
      '{"jsonrpc":"2.0","result":{"bytes":"0x6162","encoding":"hexnc"},"id":1}\n',
    )
    assert.equal(await enc('{"data":""}'), err(-32_000, 'argument Data cannot be empty', '1'))
    assert.equal(
      await enc('{"data":"x","encoding":"json"}'),
      err(-32_000, "couldn't encode data as string: unsupported encoding in method", '1'),
    )
    for (const bad of [
      '{"data":"x","length":1.0}',
      '{"data":"x","length":"1"}',
      '{"data":"x","length":2147483648}',
      '{"data":"x","encoding":"cb58"}',
      String.raw`{"data":"x","encoding":"h\u0065x"}`,
    ]) {
      assert.equal(await enc(bad), err(-32_000, BAD_ARGS, '1'), bad)
    }
  })

  const dec = (params: string): Promise<string> =>
    call(`{"jsonrpc":"2.0","method":"timestampvm.decode","params":${params},"id":1}`, '/ext/vm/timestampvm').then(
      (r) => r.body,
    )

  it('decode escapes HTML, control bytes and invalid UTF-8 as Go does', async () => {
    const bytes = Uint8Array.from([0x3c, 0x61, 0x3e, 0x26, 0x00, 0x08, 0x0c, 0x0a, 0xff, 0xe2, 0x80, 0xa8, 0x7f])
    assert.equal(
      await dec(`{"bytes":"${hexEncode(bytes)}"}`),
      '{"jsonrpc":"2.0","result":{"data":"\\u003ca\\u003e\\u0026\\u0000\\u0008\\u000c\\n\\ufffd\\u2028\u007F","encoding":"hex"},"id":1}\n',
    )
    assert.equal(await dec('{"bytes":""}'), '{"jsonrpc":"2.0","result":{"data":"","encoding":"hex"},"id":1}\n')
    assert.equal(
      await dec('{"bytes":"","encoding":"json"}'),
      '{"jsonrpc":"2.0","result":{"data":"","encoding":"json"},"id":1}\n',
    )
    const failures: Array<[string, string]> = [
      ['{"bytes":"0xg"}', "encoding/hex: invalid byte: U+0067 'g'"],
      ['{"bytes":"0x0017afa0Zd"}', "encoding/hex: invalid byte: U+005A 'Z'"],
      ['{"bytes":"0x012"}', 'encoding/hex: odd length hex string'],
      ['{"bytes":"0x01g"}', "encoding/hex: invalid byte: U+0067 'g'"],
      [String.raw`{"bytes":"0x00\u0000"}`, 'encoding/hex: invalid byte: U+0000'],
      ['{"bytes":"0xafafafafaf"}', 'invalid input checksum'],
      ['{"bytes":"0xaf"}', 'input string is smaller than the checksum size'],
      ['{"bytes":"0X00"}', 'missing 0x prefix to hex encoding'],
      ['{"bytes":"x","encoding":"json"}', 'unsupported encoding in method'],
    ]
    for (const [params, inner] of failures) {
      assert.equal(await dec(params), err(-32_000, `couldn't Decode data as string: ${inner}`, '1'), params)
    }
  })

  it('answers other paths with 404 and /ext/health with a health report', async () => {
    const r = await raw(port, {
      method: 'POST',
      path: '/ext/bc/other',
      headers: {'Content-Type': 'application/json'},
      body: '{}',
    })
    assert.equal(r.status, 404)
    assert.equal(r.body, '404 page not found\n')
    assert.equal((await raw(port, {path: `${chain}/`})).status, 404)
    const h = await raw(port, {method: 'GET', path: '/ext/health'})
    assert.equal(h.status, 200)
    assert.equal(JSON.parse(h.body).healthy, true)
  })

  it("applies the node's Host rule: IP literals and no Host pass, names must be listed (DNS rebinding)", async () => {
    const body = '{"jsonrpc":"2.0","method":"timestampvm.getBlock","id":1}'
    for (const host of [
      'evil.example:9650',
      'localhost.evil.example',
      '127.0.0.1.evil.example',
      'x.localhost',
      'localhost.',
    ]) {
      const bad = await rpc(port, chain, body, {Host: host})
      assert.equal(bad.status, 403, host)
      assert.equal(bad.body, 'invalid host specified\n')
      assert.equal(bad.headers['x-content-type-options'], 'nosniff')
    }

    for (const host of [
      'localhost',
      `localhost:${port}`,
      'LOCALHOST',
      `127.0.0.1:${port}`,
      '[::1]:9650',
      '[::1]',
      '10.0.0.1',
      '127.0.0.2:80',
      '[::ffff:10.0.0.1]:1',
    ]) {
      assert.equal((await rpc(port, chain, body, {Host: host})).status, 200, host)
    }
  })

  it('decides loopback from the address, not its spelling', () => {
    for (const ok of ['127.0.0.1', '127.255.0.9', '::1', '::ffff:127.0.0.1', '0:0:0:0:0:0:0:1'])
      assert.equal(isLoopbackAddress(ok), true, ok)
    for (const bad of ['0.0.0.0', '::', '10.0.0.1', '::ffff:10.0.0.1', '128.0.0.1', 'localhost', '127.1', '::2'])
      assert.equal(isLoopbackAddress(bad), false, bad)
  })
})

function padded(b: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(n)
  out.set(b)
  return out
}

describe('server v1.2 dialect', () => {
  let s: RunningServer
  let vm: Served['vm']
  let stop: () => Promise<void>

  before(async () => {
    ;({s, vm, stop} = await serve('v1.2'))
  })
  after(() => stop())

  it('serves getBlock without height and with CB58 data', async () => {
    const r = await rpc(
      s.port,
      '/ext/bc/timestampvm',
      '{"jsonrpc":"2.0","method":"timestampvm.getBlock","params":{},"id":1}',
    )
    const g = vm.tip()
    assert.equal(
      r.body,
      `{"jsonrpc":"2.0","result":{"timestamp":"0","data":"${cb58Encode(g.data)}","id":"${idToString(g.id)}","parentID":"11111111111111111111111111111111LpoYY"},"id":1}\n`,
    )
  })

  it('takes CB58 proposals and refuses hex with the v1.2 message', async () => {
    const data = cb58Encode(Uint8Array.from({length: 32}, (_, i) => i + 1))
    const ok = await rpc(
      s.port,
      '/ext/bc/timestampvm',
      `{"jsonrpc":"2.0","method":"timestampvm.proposeBlock","params":{"data":"${data}"},"id":1}`,
    )
    assert.equal(ok.body, '{"jsonrpc":"2.0","result":{"Success":true},"id":1}\n')
    assert.equal(vm.tip().height, 1n)
    const bad = await rpc(
      s.port,
      '/ext/bc/timestampvm',
      `{"jsonrpc":"2.0","method":"timestampvm.proposeBlock","params":{"data":"${TEST_PAYLOAD_HEX}"},"id":1}`,
    )
    assert.equal(bad.body, err(-32_000, 'data must be base 58 repr. of 32 bytes', '1'))
  })

  it('encodes CB58 by default and reports mr-tron errors on decode', async () => {
    const path = `/ext/vm/${VM_ID}`
    const enc = await rpc(
      s.port,
      path,
      '{"jsonrpc":"2.0","method":"timestampvm.encode","params":{"data":"e2e","length":32},"id":1}',
    )
    assert.equal(
      enc.body,
      `{"jsonrpc":"2.0","result":{"bytes":"${cb58Encode(padded(E2E, 32))}","encoding":"cb58"},"id":1}\n`,
    )
    const cases: Array<[string, string]> = [
      ['0OIl', "Invalid base58 digit ('0')"],
      ['abcé', 'High-bit set on invalid digit'],
      ['45PJLM', 'invalid input checksum'],
      ['1', 'input string is smaller than the checksum size'],
    ]
    for (const [bytes, inner] of cases) {
      const r = await rpc(
        s.port,
        path,
        `{"jsonrpc":"2.0","method":"timestampvm.decode","params":{"bytes":"${bytes}"},"id":1}`,
      )
      assert.equal(r.body, err(-32_000, `couldn't Decode data as string: ${inner}`, '1'), bytes)
    }

    const hexnc = await rpc(
      s.port,
      path,
      '{"jsonrpc":"2.0","method":"timestampvm.decode","params":{"bytes":"0x00","encoding":"hexnc"},"id":1}',
    )
    assert.equal(hexnc.body, err(-32_000, BAD_ARGS, '1'))
  })
})

describe('server limits', () => {
  it('answers an oversized body with 413 and closes the connection', async () => {
    const {s, stop} = await serve('v1.3', 1024)
    try {
      const big = `{"jsonrpc":"2.0","method":"timestampvm.getBlock","id":1,"pad":"${'x'.repeat(4096)}"}`
      const r = await rpc(s.port, '/ext/bc/timestampvm', big)
      assert.equal(r.status, 413)
      assert.equal(r.headers.connection, 'close')
      const ok = await rpc(s.port, '/ext/bc/timestampvm', '{"jsonrpc":"2.0","method":"timestampvm.getBlock","id":1}')
      assert.equal(ok.status, 200)
    } finally {
      await stop()
    }
  })

  it('refuses a port that is already in use with PORT_UNAVAILABLE', async () => {
    const {s, engine, stop} = await serve('v1.3')
    try {
      await assert.rejects(
        startServer({chain: engine, chainId: CHAIN_ID, vmId: VM_ID, dialect: 'v1.3', port: s.port}),
        (e: {code?: string}) => e.code === 'PORT_UNAVAILABLE',
      )
    } finally {
      await stop()
    }
  })
})

/** A raw connection to 127.0.0.1:port that records what it receives and when it closes. */
async function rawSocket(port: number): Promise<{socket: Socket; received(): string; closed: Promise<void>}> {
  const socket = connect({host: '127.0.0.1', port})
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve)
    socket.once('error', reject)
  })
  let got = ''
  socket.on('data', (b: Buffer) => {
    got += b.toString('latin1')
  })
  socket.on('error', () => {})
  const closed = new Promise<void>((resolve) => {
    socket.once('close', () => resolve())
  })
  return {socket, received: () => got, closed}
}

/** Resolves when `p` does; rejects after `ms` (a generous bound, not a measurement). */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)
  })
  return Promise.race([p, late]).finally(() => clearTimeout(timer))
}

/** Sends a keep-alive request on `socket` and waits for its complete reply. */
async function keepAliveRequest(
  c: Awaited<ReturnType<typeof rawSocket>>,
  path: string,
  method = 'POST',
  body = '',
): Promise<string> {
  const before = c.received().length
  c.socket.write(
    `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
  )
  for (;;) {
    const text = c.received().slice(before)
    const end = text.indexOf('\r\n\r\n')
    const length = /content-length: (\d+)/i.exec(text)
    if (end !== -1 && length && text.length >= end + 4 + Number(length[1])) return text
    await new Promise((r) => {
      c.socket.once('data', r)
    })
  }
}

/** Node-Id and Vary as an ordinary reply of the server on `port` carries them, as header lines. */
async function alwaysHeaders(port: number): Promise<RegExp> {
  const r = await raw(port, {method: 'GET', path: '/ext/health'})
  assert.match(String(r.headers['node-id']), /^NodeID-/)
  assert.equal(r.headers.vary, 'Accept-Encoding, Origin')
  return new RegExp(`\r\nNode-Id: ${r.headers['node-id']}\r\nVary: Accept-Encoding, Origin\r\n`)
}

describe('server connection cap and timeouts', () => {
  it('closes slow clients when the configured header and request timeouts pass', async () => {
    // 300 ms and 600 ms configured; node:http's own checking timer alone would act only after 30 s.
    const {s, stop} = await serve('v1.3', undefined, {headersTimeoutMs: 300, requestTimeoutMs: 600})
    try {
      const always = await alwaysHeaders(s.port)
      const silent = await rawSocket(s.port)
      const partialHead = await rawSocket(s.port)
      partialHead.socket.write('POST /ext/bc/timestampvm HTTP/1.1\r\nHost: 127.0.0.1\r\n')
      const partialBody = await rawSocket(s.port)
      partialBody.socket.write(
        'POST /ext/bc/timestampvm HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"jsonrpc"',
      )
      for (const [what, c] of [
        ['silent', silent],
        ['partial head', partialHead],
        ['partial body', partialBody],
      ] as const) {
        await within(c.closed, 15_000, `${what} connection closed by the server`)
        assert.match(c.received(), /^HTTP\/1\.1 408 Request Timeout\r\n/, what)
        assert.match(c.received(), always, what)
      }

      assert.equal(
        (await rpc(s.port, '/ext/bc/timestampvm', '{"jsonrpc":"2.0","method":"timestampvm.getBlock","id":1}')).status,
        200,
      )
    } finally {
      await stop()
    }
  })

  it("keeps node:http's status for a request it cannot read, with Node-Id and Vary", async () => {
    const {s, stop} = await serve('v1.3')
    try {
      const always = await alwaysHeaders(s.port)
      const garbage = await rawSocket(s.port)
      garbage.socket.write('NOT HTTP AT ALL\r\n\r\n')
      const huge = await rawSocket(s.port)
      huge.socket.write(`GET /ext/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`)
      for (const [c, status] of [
        [garbage, '400 Bad Request'],
        [huge, '431 Request Header Fields Too Large'],
      ] as const) {
        await within(c.closed, 15_000, `${status} connection closed`)
        assert.ok(c.received().startsWith(`HTTP/1.1 ${status}\r\n`), c.received())
        assert.match(c.received(), always)
        assert.match(c.received(), /\r\nConnection: close\r\n\r\n$/)
      }
    } finally {
      await stop()
    }
  })

  it('closes within a bound while a request body never completes', async () => {
    const {s, stop} = await serve('v1.3', undefined, {headersTimeoutMs: 60_000, requestTimeoutMs: 60_000})
    let closing: Promise<void> | undefined
    try {
      const started = new Promise((resolve) => {
        s.server.once('request', resolve)
      })
      const stalled = await rawSocket(s.port)
      stalled.socket.write(
        'POST /ext/bc/timestampvm HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"jsonrpc"',
      )
      await started
      // close() stops node:http's timeout checks; its own bound must still end the wait.
      closing = stop()
      await within(closing, 30_000, 'close() with a stalled request body')
      await within(stalled.closed, 15_000, 'stalled connection closed')
    } finally {
      // A close() that never ends fails the test above; it is not awaited a second time.
      if (closing === undefined) await stop()
    }
  })

  it('refuses the request timeout shorter than the header timeout', async () => {
    const t = await openTestVm()
    try {
      await assert.rejects(
        startServer({
          chain: new Engine(t.engine),
          chainId: CHAIN_ID,
          vmId: VM_ID,
          dialect: 'v1.3',
          port: 0,
          headersTimeoutMs: 2000,
          requestTimeoutMs: 1000,
        }),
        (e: {code?: string}) => e.code === 'USAGE',
      )
    } finally {
      await t.close()
    }
  })

  it('answers a connection over the cap with 503 at once, reports it in health, and serves again below it', async () => {
    const {s, stop} = await serve('v1.3', undefined, {
      maxConnections: 3,
      keepAliveTimeoutMs: 60_000,
      headersTimeoutMs: 60_000,
      requestTimeoutMs: 60_000,
    })
    const held: Array<Awaited<ReturnType<typeof rawSocket>>> = []
    try {
      const always = await alwaysHeaders(s.port)
      // Three kept-alive connections, each answered once: the server has taken all three.
      for (let i = 0; i < 3; i++) {
        const c = await rawSocket(s.port)
        assert.match(
          await keepAliveRequest(
            c,
            '/ext/bc/timestampvm',
            'POST',
            '{"jsonrpc":"2.0","method":"timestampvm.getBlock","id":1}',
          ),
          /^HTTP\/1\.1 200 /,
        )
        held.push(c)
      }

      assert.deepEqual(s.connections(), {open: 3, refused: 0, max: 3})
      // The fourth gets 503 and a close, without having sent anything.
      const over = await rawSocket(s.port)
      await within(over.closed, 15_000, 'connection over the cap closed')
      assert.match(over.received(), /^HTTP\/1\.1 503 Service Unavailable\r\n/)
      assert.match(over.received(), /\r\nConnection: close\r\n/)
      assert.match(over.received(), always)
      assert.equal(over.received().match(/\r\nNode-Id: /g)?.length, 1)
      assert.match(over.received(), /server busy: 3 connections open/)
      // A request sent at once on a refused connection still reads the 503 (no reset).
      const eager = await raw(s.port, {path: '/ext/health', method: 'GET'})
      assert.equal(eager.status, 503)
      assert.match(eager.body, /server busy/)
      // Health on a held connection: unhealthy at the cap, with the counts.
      const health = await keepAliveRequest(held[0]!, '/ext/health', 'GET')
      assert.match(health, /^HTTP\/1\.1 503 /)
      const report = JSON.parse(health.slice(health.indexOf('\r\n\r\n') + 4))
      assert.equal(report.healthy, false)
      assert.equal(report.checks.timestampvm.message.connections, 3)
      assert.equal(report.checks.timestampvm.message.maxConnections, 3)
      assert.equal(report.checks.timestampvm.message.refusedConnections, 2)
      // One held connection goes: a new one is served.
      held.pop()!.socket.destroy()
      while (s.connections().open >= 3)
        await new Promise((r) => {
          setTimeout(r, 10)
        })
      const ok = await rpc(s.port, '/ext/bc/timestampvm', '{"jsonrpc":"2.0","method":"timestampvm.getBlock","id":1}')
      assert.equal(ok.status, 200)
    } finally {
      for (const c of held) c.socket.destroy()
      await stop()
    }
  })
})
