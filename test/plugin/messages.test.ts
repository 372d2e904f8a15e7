// The plugin's protobuf codecs: the encoding vectors of the rpcchainvm notes (§11), the field
// tables against the .proto files, and, when protoc is installed, every vector against protoc.
import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {readFileSync, readdirSync} from 'node:fs'
import {join} from 'node:path'
import {describe, it} from 'node:test'

import * as M from '../../src/plugin/messages.js'
import {type Codec, field, message} from '../../src/plugin/pb.js'
import {PLUGIN_VERSION} from '../../src/plugin/protocol.js'
import {ROOT} from '../helpers/cli.js'

const hex = (u: Uint8Array) => Buffer.from(u).toString('hex')
const unhex = (s: string) => new Uint8Array(Buffer.from(s.replaceAll(/\s+/g, ''), 'hex'))
const ID = new Uint8Array(32).fill(0xaa)
const PARENT = new Uint8Array(32).fill(0xbb)
const Z32 = new Uint8Array(32)
const BLOCK = new Uint8Array(82).fill(0xcc)
const T = 1_700_000_000n
const TS = {seconds: T, nanos: 0}
const h = (u: Uint8Array) => hex(u)

/** [name, codec, value, expected hex] from §11. */
const VECTORS: Array<[string, Codec<any, any>, Record<string, unknown>, string]> = [
  [
    'vm.InitializeResponse',
    M.InitializeResponse,
    {lastAcceptedId: ID, lastAcceptedParentId: Z32, height: 0n, bytes: BLOCK, timestamp: {seconds: 0n, nanos: 0}},
    `0a20${h(ID)} 1220${h(Z32)} 2252${h(BLOCK)} 2a00`,
  ],
  [
    'vm.BuildBlockResponse',
    M.BuildBlockResponse,
    {id: ID, parentId: PARENT, bytes: BLOCK, height: 1n, timestamp: TS},
    `0a20${h(ID)} 1220${h(PARENT)} 1a52${h(BLOCK)} 2001 2a06 0880e2cfaa06`,
  ],
  [
    'vm.ParseBlockResponse',
    M.ParseBlockResponse,
    {id: ID, parentId: PARENT, height: 1n, timestamp: TS},
    `0a20${h(ID)} 1220${h(PARENT)} 2001 2a06 0880e2cfaa06`,
  ],
  [
    'vm.GetBlockResponse',
    M.GetBlockResponse,
    {parentId: PARENT, bytes: BLOCK, height: 1n, timestamp: TS},
    `0a20${h(PARENT)} 1252${h(BLOCK)} 2001 2a06 0880e2cfaa06`,
  ],
  ['vm.GetBlockResponse (not found)', M.GetBlockResponse, {err: 2}, '3002'],
  ['vm.BlockVerifyResponse (genesis)', M.BlockVerifyResponse, {timestamp: {seconds: 0n, nanos: 0}}, '0a00'],
  ['vm.BlockVerifyResponse', M.BlockVerifyResponse, {timestamp: TS}, '0a06 0880e2cfaa06'],
  ['vm.BuildBlockRequest (p_chain_height 0)', M.BuildBlockRequest, {pChainHeight: 0n}, '0800'],
  ['vm.BuildBlockRequest (absent)', M.BuildBlockRequest, {}, ''],
  ['vm.GetBlockIDAtHeightResponse', M.GetBlockIDAtHeightResponse, {blkId: ID}, `0a20${h(ID)}`],
  ['vm.GetBlockIDAtHeightResponse (not found)', M.GetBlockIDAtHeightResponse, {err: 2}, '1002'],
  ['vm.WaitForEventResponse', M.WaitForEventResponse, {message: 1}, '0801'],
  ['vm.StateSyncEnabledResponse (err 0)', M.StateSyncEnabledResponse, {}, ''],
  ['vm.StateSyncEnabledResponse (err 3)', M.StateSyncEnabledResponse, {err: 3}, '1003'],
  [
    'vm.CreateHandlersResponse',
    M.CreateHandlersResponse,
    {handlers: [{prefix: '', serverAddr: '127.0.0.1:40000'}]},
    '0a11 120f 3132372e302e302e313a3430303030',
  ],
  [
    'vm.runtime.InitializeRequest',
    M.RuntimeInitializeRequest,
    {protocolVersion: 45, addr: '127.0.0.1:40000'},
    '082d 120f 3132372e302e302e313a3430303030',
  ],
  ['vm.AppRequestFailedMsg (-1)', M.AppRequestFailedMsg, {requestId: 7, errorCode: -1}, '1007 1801'],
  ['vm.AppRequestFailedMsg (+1)', M.AppRequestFailedMsg, {requestId: 7, errorCode: 1}, '1007 1802'],
  ['vm.GetAncestorsRequest (max_blocks_num -1)', M.GetAncestorsRequest, {maxBlocksNum: -1}, '10 ffffffffffffffffff01'],
  ['rpcdb.GetResponse (not found)', M.DbGetResponse, {err: 2}, '1002'],
  ['rpcdb.GetResponse (empty value)', M.DbGetResponse, {value: new Uint8Array(0)}, ''],
  [
    'rpcdb.WriteBatchRequest',
    M.DbWriteBatchRequest,
    {puts: [{key: unhex('01'), value: unhex('02')}], deletes: [{key: unhex('03')}]},
    '0a06 0a0101 120102 1203 0a0103',
  ],
  [
    'http.HandleSimpleHTTPResponse',
    M.HandleSimpleHTTPResponse,
    {code: 200, headers: [{key: 'Content-Type', values: ['application/json']}], body: new TextEncoder().encode('{}')},
    '08c801 1220 0a0c 436f6e74656e742d54797065 1210 6170706c69636174696f6e2f6a736f6e 1a02 7b7d',
  ],
]

describe('encoding vectors', () => {
  for (const [name, codec, value, expected] of VECTORS) {
    it(`${name} encodes as the notes say and decodes back`, () => {
      const bytes = codec.encode(value)
      assert.equal(hex(bytes), expected.replaceAll(/\s+/g, ''))
      const back = codec.decode(bytes) as Record<string, unknown>
      for (const [k, v] of Object.entries(value)) {
        if (v instanceof Uint8Array) assert.equal(hex(back[k] as Uint8Array), hex(v), k)
        else assert.deepEqual(back[k], v, k)
      }
    })
  }

  it('an absent Timestamp decodes as undefined, a present empty one as zero', () => {
    assert.equal(M.InitializeResponse.decode(unhex(`0a20${h(ID)}`)).timestamp, undefined)
    assert.deepEqual(M.InitializeResponse.decode(unhex('2a00')).timestamp, {seconds: 0n, nanos: 0})
  })

  it('a negative int32 takes 10 bytes and an int64 keeps its sign', () => {
    assert.equal(hex(M.GetAncestorsRequest.encode({maxBlocksSize: -2})), '18feffffffffffffffff01')
    const r = M.GetAncestorsRequest.decode(M.GetAncestorsRequest.encode({maxBlocksNum: -5, maxBlocksRetrivalTime: -7n}))
    assert.equal(r.maxBlocksNum, -5)
    assert.equal(r.maxBlocksRetrivalTime, -7n)
  })

  it('sint32 is zigzag at the extremes', () => {
    for (const n of [0, 1, -1, 2_147_483_647, -2_147_483_648]) {
      assert.equal(M.AppRequestFailedMsg.decode(M.AppRequestFailedMsg.encode({errorCode: n})).errorCode, n)
    }

    assert.equal(hex(M.AppRequestFailedMsg.encode({errorCode: -2_147_483_648})), '18ffffffff0f')
  })

  it('uint64 survives above 2^53', () => {
    const big = 0xff_ff_ff_ff_ff_ff_ff_fen
    assert.equal(M.GetBlockIDAtHeightRequest.decode(M.GetBlockIDAtHeightRequest.encode({height: big})).height, big)
  })

  it('skips unknown fields of every wire type, keeps unknown enum numbers, and the last value wins', () => {
    // field 9 varint, field 10 fixed64, field 11 bytes, field 12 fixed32, then err = 2 twice (last wins: 7)
    const bytes = unhex('4801 5101020304050607 08 5a03616263 65 01020304 3002 3007')
    const r = M.GetBlockResponse.decode(bytes)
    assert.equal(r.err, 7)
    assert.equal(r.parentId.length, 0)
  })

  it('refuses truncated input with a coded error', () => {
    assert.throws(() => M.GetBlockResponse.decode(unhex('0a20aa')), {code: 'INVALID_ARGUMENT'})
    assert.throws(() => M.GetBlockResponse.decode(unhex('30')), {code: 'INVALID_ARGUMENT'})
  })

  it('at protocol 42-43 NetworkUpgrades has no fields 17-18: decoding does not need them', () => {
    const r = M.InitializeRequest.decode(
      M.InitializeRequest.encode({genesisBytes: unhex('01'), networkUpgrades: {banffTime: TS}}),
    )
    assert.deepEqual(r.networkUpgrades?.banffTime, TS)
    assert.equal(r.networkUpgrades?.heliconTime, undefined)
  })

  it('the optional label writes a default value, the implicit one does not', () => {
    const c = message({a: field(1, 'uint32'), b: field(2, 'uint32', 'optional')})
    assert.equal(hex(c.encode({a: 0, b: 0})), '1000')
    assert.equal(c.decode(new Uint8Array(0)).b, undefined)
  })
})

// ------------------------------------------------------------------------------------------
// The tables against the .proto files

const PROTO_DIR = join(ROOT, 'src', 'plugin', 'proto')

/** message name → field name → "label type number", from a .proto file (our small subset). */
function parseProto(text: string): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>()
  const clean = text.replaceAll(/\/\/.*$/gm, '')
  for (const m of clean.matchAll(/message\s+(\w+)\s*\{([^{}]*(?:\{[^{}]*\}[^{}]*)*)\}/g)) {
    const fields = new Map<string, string>()
    const body = m[2]!.replaceAll(/enum\s+\w+\s*\{[^}]*\}/g, '')
    for (const f of body.matchAll(/(optional|repeated)?\s*([\w.]+)\s+(\w+)\s*=\s*(\d+)\s*;/g)) {
      fields.set(f[3]!, `${f[1] ?? ''} ${f[2]} ${f[4]}`.trim())
    }

    out.set(m[1]!, fields)
  }

  return out
}

function protoFiles(dir: string): string[] {
  return readdirSync(dir, {recursive: true, encoding: 'utf8'}).filter((f) => f.endsWith('.proto'))
}

const camel = (snake: string) => snake.replaceAll(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase())

/** A codec's field as the .proto spells it ("label type number"), given the proto's type name. */
function tableEntry(spec: {no: number; kind: unknown; label?: string}, protoType: string): string {
  const kind = typeof spec.kind === 'string' ? (spec.kind === 'enum' ? protoType : spec.kind) : protoType
  return `${spec.label ?? ''} ${kind} ${spec.no}`.trim()
}

describe('field tables match the .proto files', () => {
  const protos = new Map<string, Map<string, string>>()
  for (const file of protoFiles(PROTO_DIR)) {
    const pkg = /package\s+([\w.]+);/.exec(readFileSync(join(PROTO_DIR, file), 'utf8'))![1]!
    for (const [name, fields] of parseProto(readFileSync(join(PROTO_DIR, file), 'utf8')))
      protos.set(`${pkg}.${name}`, fields)
  }

  const services: Array<[string, Record<string, M.Method<any, any, any, any>>]> = [
    ['vm.proto', M.VmService],
    ['rpcdb.proto', M.DatabaseService],
    ['http.proto', M.HttpService],
    ['responsewriter.proto', M.WriterService],
    ['reader.proto', M.ReaderService],
    ['runtime.proto', M.RuntimeService],
  ]

  for (const [file, service] of services) {
    it(`every method of ${file} is in the table with its path, and the tables' fields are the .proto's`, () => {
      const path = protoFiles(PROTO_DIR).find((f) => f.endsWith(file))!
      const text = readFileSync(join(PROTO_DIR, path), 'utf8').replaceAll(/\/\/.*$/gm, '')
      const pkg = /package\s+([\w.]+);/.exec(text)![1]!
      const svc = /service\s+(\w+)/.exec(text)![1]!
      const rpcs = [...text.matchAll(/rpc\s+(\w+)\(([\w.]+)\)\s+returns\s+\(([\w.]+)\)/g)]
      assert.deepEqual(Object.keys(service).sort(), rpcs.map((r) => r[1]!).sort())
      for (const [, name, req, res] of rpcs) {
        const method = service[name!]!
        assert.equal(method.path, `/${pkg}.${svc}/${name}`)
        for (const [type, codec] of [
          [req!, method.request],
          [res!, method.response],
        ] as const) {
          const full = type.includes('.') ? type : `${pkg}.${type}`
          checkCodec(full, codec, protos, new Set())
        }
      }
    })
  }

  it('vm.VM has 31 methods', () => {
    assert.equal(Object.keys(M.VmService).length, 31)
  })

  it('the Version string matches package.json', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {version: string}
    assert.equal(PLUGIN_VERSION, `tsvm/${pkg.version}`)
  })
})

/** Checks a codec against the proto message `full`, recursing into message fields. */
function checkCodec(
  full: string,
  codec: Codec<any, any>,
  protos: Map<string, Map<string, string>>,
  seen: Set<string>,
): void {
  if (seen.has(full)) return
  seen.add(full)
  if (full === 'google.protobuf.Empty') {
    assert.equal(Object.keys(codec.fields).length, 0)
    return
  }

  if (full === 'google.protobuf.Timestamp' || full === 'google.protobuf.Duration') {
    assert.deepEqual(
      Object.values(codec.fields).map((f) => `${f.kind} ${f.no}`),
      ['int64 1', 'int32 2'],
    )
    return
  }

  const proto = protos.get(full)
  assert.ok(proto, `no message ${full} in the .proto files`)
  const pkg = full.slice(0, full.lastIndexOf('.'))
  const names = Object.keys(codec.fields)
  assert.deepEqual(names.sort(), [...proto.keys()].map((s) => camel(s)).sort(), `fields of ${full}`)
  for (const [snake, entry] of proto) {
    const spec = codec.fields[camel(snake)]!
    const protoType = entry.split(' ').at(-2)!
    assert.equal(tableEntry(spec, protoType), entry, `${full}.${snake}`)
    if (spec.kind === 'enum')
      assert.ok(
        !protos.has(protoType.includes('.') ? protoType : `${pkg}.${protoType}`),
        `${full}.${snake} is a message, not an enum`,
      )
    if (typeof spec.kind !== 'string') {
      const sub = protoType.includes('.') ? protoType : `${pkg}.${protoType}`
      checkCodec(sub, spec.kind as Codec<any, any>, protos, seen)
    }
  }
}

// ------------------------------------------------------------------------------------------
// protoc, when installed

function hasProtoc(): boolean {
  try {
    execFileSync('protoc', ['--version'], {stdio: 'ignore'})
    return true
  } catch {
    return false
  }
}

const firstVector = (name: string) => VECTORS.find((v) => v[0] === name || v[0].startsWith(`${name} (`))!

describe(
  'against protoc --encode',
  {skip: hasProtoc() ? false : 'protoc is not installed (apt-get install protobuf-compiler)'},
  () => {
    const text: Record<string, string> = {
      'vm.InitializeResponse': `last_accepted_id: "${String.raw`\xaa`.repeat(32)}" last_accepted_parent_id: "${String.raw`\000`.repeat(32)}" bytes: "${String.raw`\xcc`.repeat(82)}" timestamp {}`,
      'vm.BuildBlockResponse': `id: "${String.raw`\xaa`.repeat(32)}" parent_id: "${String.raw`\xbb`.repeat(32)}" bytes: "${String.raw`\xcc`.repeat(82)}" height: 1 timestamp { seconds: 1700000000 }`,
      'vm.GetBlockResponse': `parent_id: "${String.raw`\xbb`.repeat(32)}" bytes: "${String.raw`\xcc`.repeat(82)}" height: 1 timestamp { seconds: 1700000000 }`,
      'vm.BuildBlockRequest': 'p_chain_height: 0',
      'vm.AppRequestFailedMsg': 'request_id: 7 error_code: -1',
      'vm.GetAncestorsRequest': 'max_blocks_num: -1',
      'rpcdb.WriteBatchRequest': String.raw`puts { key: "\001" value: "\002" } deletes { key: "\003" }`,
      'http.HandleSimpleHTTPResponse':
        'code: 200 headers { key: "Content-Type" values: "application/json" } body: "{}"',
      'vm.runtime.InitializeRequest': 'protocol_version: 45 addr: "127.0.0.1:40000"',
    }
    const files: Record<string, string> = {
      vm: 'vm/vm.proto',
      rpcdb: 'rpcdb/rpcdb.proto',
      http: 'http/http.proto',
      'vm.runtime': 'vm/runtime/runtime.proto',
    }
    for (const [type, input] of Object.entries(text)) {
      it(`${type} is byte-identical to protoc's`, () => {
        const pkg = type.slice(0, type.lastIndexOf('.'))
        const out = execFileSync('protoc', ['-I', PROTO_DIR, '-I', '/usr/include', `--encode=${type}`, files[pkg]!], {
          cwd: PROTO_DIR,
          input,
        })
        const [, codec, value] = firstVector(type)
        assert.equal(hex(codec.encode(value)), hex(out))
      })
    }
  },
)
