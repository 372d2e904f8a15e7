// A node-side harness: plays AvalancheGo v1.14.2 towards the plugin, with its own gRPC server and
// client code (it shares only the message codecs with the plugin). It
//   - writes the /bin/sh launcher the plugin dir holds and spawns it as the node does: no
//     arguments, an environment holding only AVALANCHE_VM_RUNTIME_ENGINE_ADDR, a scratch cwd,
//     stdout/stderr as pipes, and 5 s for the Runtime/Initialize handshake;
//   - serves vm.runtime.Runtime (exact protocol equality, the node's mismatch text) and an
//     in-memory rpcdb.Database with the node's semantics (in-band errors, an empty value read
//     back absent, WriteBatch = all puts then all deletes, paged iterators, closed after Close);
//   - checks what the node checks on replies (32-byte IDs, present and valid Timestamps);
//   - drives a chain: Initialize, consensus calls, HandleSimple, Shutdown + SIGTERM.
// Several plugins can run at once, each with its own database (a multi-validator test).
// The tests play the node with grpc-js, an implementation independent of the plugin's transport;
// the benchmark can play it with a lean client on the plugin's own HTTP/2 framing instead
// (`lean`, ./h2node.ts), whose per-call cost is closer to the real node's grpc-go.
import {type ChildProcess, spawn} from 'node:child_process'
import {chmod, mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import * as grpc from '@grpc/grpc-js'

import {
  DatabaseService,
  DbError,
  HttpService,
  type Method,
  ReaderErrorCode,
  ReaderService,
  RuntimeService,
  VmError,
  VmService,
  WriterService,
} from '../../src/plugin/messages.js'
import {ROOT} from '../helpers/cli.js'
import {H2NodeClient, serveH2} from './h2node.js'

/** The plugin's entry bundle. */
export const PLUGIN_ENTRY = join(ROOT, 'dist', 'bundle', 'plugin.js')

/** The node's handshake limit. */
export const HANDSHAKE_MS = 5000

/**
 * A grpc-go proxy binary (test/interop/grpc-go-proxy.go) to put on every connection between the
 * harness and the plugin (the node's calls to it, its Runtime and rpcdb calls back), so the
 * plugin meets the node's own gRPC family: `npm run test:interop` sets it. Unset, the harness
 * talks to the plugin directly.
 */
const GRPC_GO_PROXY = process.env.TSVM_TEST_GRPC_GO_PROXY

/** A proxy to `target`, or `target` itself when no proxy binary is set. */
async function via(target: string, stops: Array<() => void>): Promise<string> {
  if (!GRPC_GO_PROXY) return target
  const child = spawn(GRPC_GO_PROXY, [target], {stdio: ['ignore', 'pipe', 'inherit']})
  stops.push(() => child.kill('SIGKILL'))
  let out = ''
  for await (const chunk of child.stdout!) {
    out += String(chunk)
    const m = /listening (\S+)\n/.exec(out)
    if (m) return m[1]!
  }

  throw new Error(`the grpc-go proxy to ${target} exited before listening`)
}

const toBuffer = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength)
const hex = (u: Uint8Array): string => Buffer.from(u).toString('hex')

type AnyMethod = Method<any, any, any, any>
type Impl = (request: any, call: grpc.ServerUnaryCall<any, any>) => Promise<unknown> | unknown

/** Serves methods on a fresh 127.0.0.1 port (the node's servers: no message size limits). */
export async function serve(
  methods: Record<string, [AnyMethod, Impl]>,
): Promise<{address: string; server: grpc.Server}> {
  const server = new grpc.Server({'grpc.max_receive_message_length': -1, 'grpc.max_send_message_length': -1})
  const definition: Record<string, grpc.MethodDefinition<unknown, unknown>> = {}
  const impl: grpc.UntypedServiceImplementation = {}
  for (const [name, [m, fn]] of Object.entries(methods)) {
    definition[name] = {
      path: m.path,
      requestStream: false,
      responseStream: false,
      requestSerialize: (v: unknown) => toBuffer(m.request.encode(v)),
      requestDeserialize: (b: Buffer) => m.request.decode(b),
      responseSerialize: (v: unknown) => toBuffer(m.response.encode(v)),
      responseDeserialize: (b: Buffer) => m.response.decode(b),
    }
    impl[name] = (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      Promise.resolve()
        .then(() => fn(call.request, call))
        .then(
          (r) => cb(null, r),
          (error: unknown) =>
            cb({
              code: (error as {grpcCode?: number}).grpcCode ?? grpc.status.UNKNOWN,
              details: (error as Error).message,
            }),
        )
    }
  }

  server.addService(definition, impl)
  const port = await new Promise<number>((res, rej) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p)))
  })
  return {address: `127.0.0.1:${port}`, server}
}

/** A gRPC error as the harness's client sees it. */
export interface CallError extends Error {
  code: grpc.status
  details: string
}

/** What the harness calls the plugin with: grpc-js (NodeClient) or the lean H2NodeClient. */
export interface VmClient {
  start<Req, Res, ReqIn>(m: Method<Req, Res, ReqIn, never>, request: ReqIn): {result: Promise<Res>; cancel(): void}
  call<Req, Res, ReqIn>(m: Method<Req, Res, ReqIn, never>, request: ReqIn): Promise<Res>
  close(): void
}

/** The node's client of one plugin address: unlimited messages, WaitForReady, no deadline. */
export class NodeClient implements VmClient {
  private readonly client: grpc.Client

  constructor(
    readonly address: string,
    options: grpc.ChannelOptions = {},
  ) {
    this.client = new grpc.Client(address, grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': -1,
      'grpc.max_send_message_length': -1,
      'grpc.keepalive_time_ms': 30_000,
      'grpc.keepalive_timeout_ms': 10_000,
      'grpc.keepalive_permit_without_calls': 1,
      ...options,
    })
  }

  /** A call that can be cancelled (RST_STREAM), as the node cancels WaitForEvent. */
  start<Req, Res, ReqIn>(m: Method<Req, Res, ReqIn, any>, request: ReqIn): {result: Promise<Res>; cancel(): void} {
    let call: grpc.ClientUnaryCall | undefined
    const result = new Promise<Res>((resolve, reject) => {
      call = this.client.makeUnaryRequest<ReqIn, Res>(
        m.path,
        (v) => toBuffer(m.request.encode(v)),
        (b) => m.response.decode(b),
        request,
        new grpc.Metadata({waitForReady: true}),
        {},
        (error, response) => (error ? reject(error) : resolve(response!)),
      )
    })
    return {result, cancel: () => call!.cancel()}
  }

  call<Req, Res, ReqIn>(m: Method<Req, Res, ReqIn, any>, request: ReqIn): Promise<Res> {
    return this.start(m, request).result
  }

  close(): void {
    this.client.close()
  }
}

// ------------------------------------------------------------------------------------------
// rpcdb with the node's semantics

/** One WriteBatch as the database received it. */
export interface BatchRecord {
  puts: string[]
  deletes: string[]
}

/** An in-memory key-value store with the semantics of AvalancheGo's rpcdb server. */
export class MemoryDb {
  readonly data = new Map<string, Uint8Array>()
  readonly batches: BatchRecord[] = []
  closed = false
  /** When set, every call answers a non-OK status (a broken disk under the node). */
  failing = false
  private iterators = new Map<bigint, {entries: Array<[Uint8Array, Uint8Array]>; at: number}>()
  private nextIterator = 1n

  /** A copy holding the same content (a restart on the same disk). */
  clone(): MemoryDb {
    const db = new MemoryDb()
    for (const [k, v] of this.data) db.data.set(k, v)
    return db
  }

  get(key: Uint8Array): Uint8Array | undefined {
    return this.data.get(hex(key))
  }

  writeBatch(puts: Array<{key: Uint8Array; value: Uint8Array}>, deletes: Array<{key: Uint8Array}>): void {
    // The node's batch: all puts in order, then all deletes.
    for (const p of puts) this.data.set(hex(p.key), p.value.slice())
    for (const d of deletes) this.data.delete(hex(d.key))
    this.batches.push({puts: puts.map((p) => hex(p.key)), deletes: deletes.map((d) => hex(d.key))})
  }

  newIterator(start: Uint8Array, prefix: Uint8Array): bigint {
    const s = hex(start)
    const p = hex(prefix)
    const entries = [...this.data.keys()]
      .filter((k) => k.startsWith(p) && k >= s)
      .sort()
      .map((k) => [Buffer.from(k, 'hex'), this.data.get(k)!] as [Uint8Array, Uint8Array])
    const id = this.nextIterator++
    this.iterators.set(id, {entries, at: 0})
    return id
  }

  /** The next page (~128 KiB of keys and values), empty at the end; undefined for an unknown id. */
  next(id: bigint): Array<[Uint8Array, Uint8Array]> | undefined {
    const it = this.iterators.get(id)
    if (!it) return undefined
    const out: Array<[Uint8Array, Uint8Array]> = []
    let size = 0
    while (it.at < it.entries.length && size < 128 * 1024) {
      const e = it.entries[it.at++]!
      out.push(e)
      size += e[0].length + e[1].length
    }

    return out
  }

  hasIterator(id: bigint): boolean {
    return this.iterators.has(id)
  }

  release(id: bigint): void {
    this.iterators.delete(id)
  }

  /** Iterators opened and not released. */
  get openIterators(): number {
    return this.iterators.size
  }
}

function grpcError(code: grpc.status, message: string): Error {
  return Object.assign(new Error(message), {grpcCode: code})
}

/** Serves a MemoryDb as rpcdb.Database on 127.0.0.1 (with grpc-js, or the lean ./h2node.ts if `lean`). */
export async function serveMemoryDb(db: MemoryDb, lean = false): Promise<{address: string; stop(): void}> {
  const closedErr = {err: DbError.CLOSED}
  const s = DatabaseService
  const methods: Record<string, [AnyMethod, Impl]> = {
    Has: [s.Has, (r) => (db.closed ? closedErr : {has: db.get(r.key) !== undefined})],
    Get: [
      s.Get,
      (r) => {
        if (db.closed) return closedErr
        const v = db.get(r.key)
        return v === undefined ? {err: DbError.NOT_FOUND} : {value: v}
      },
    ],
    Put: [
      s.Put,
      (r) => {
        if (db.closed) return closedErr
        db.writeBatch([r], [])
        return {}
      },
    ],
    Delete: [
      s.Delete,
      (r) => {
        if (db.closed) return closedErr
        db.writeBatch([], [r])
        return {}
      },
    ],
    Compact: [s.Compact, () => (db.closed ? closedErr : {})],
    Close: [
      s.Close,
      () => {
        if (db.closed) return closedErr
        db.closed = true
        return {}
      },
    ],
    HealthCheck: [s.HealthCheck, () => ({details: new TextEncoder().encode('{}')})],
    WriteBatch: [
      s.WriteBatch,
      (r) => {
        if (db.closed) return closedErr
        db.writeBatch(r.puts, r.deletes)
        return {}
      },
    ],
    NewIteratorWithStartAndPrefix: [s.NewIteratorWithStartAndPrefix, (r) => ({id: db.newIterator(r.start, r.prefix)})],
    IteratorNext: [
      s.IteratorNext,
      (r) => {
        const page = db.next(r.id)
        if (page === undefined) throw grpcError(grpc.status.UNKNOWN, 'unknown iterator')
        return {data: page.map(([key, value]) => ({key, value}))}
      },
    ],
    IteratorError: [
      s.IteratorError,
      (r) => {
        if (!db.hasIterator(r.id)) throw grpcError(grpc.status.UNKNOWN, 'unknown iterator')
        return {}
      },
    ],
    IteratorRelease: [
      s.IteratorRelease,
      (r) => {
        db.release(r.id)
        return {}
      },
    ],
  }
  for (const entry of Object.values(methods)) {
    const impl = entry[1]
    entry[1] = (r, call) => {
      if (db.failing) throw grpcError(grpc.status.INTERNAL, 'input/output error')
      return impl(r, call)
    }
  }

  if (lean) return serveH2(methods)
  const {address, server} = await serve(methods)
  return {address, stop: () => server.forceShutdown()}
}

// ------------------------------------------------------------------------------------------
// The callback server of one Handle call (http.responsewriter.Writer + io.reader.Reader)

/** What the plugin wrote through the node's Writer. */
export interface Written {
  status?: number
  headers?: Array<{key: string; values: string[]}>
  body: Buffer[]
  reads: number
}

/** Serves a request body through Reader (in `chunk`-byte reads, EOF with the last data) and records Writer calls. */
export async function serveResponseWriter(
  body: Uint8Array,
  chunk = 1 << 20,
): Promise<{address: string; written: Written; stop(): void}> {
  const written: Written = {body: [], reads: 0}
  let at = 0
  const {address, server} = await serve({
    Read: [
      ReaderService.Read,
      (r: {length: number}) => {
        written.reads++
        if (r.length <= 0) throw grpcError(grpc.status.INVALID_ARGUMENT, 'negative length')
        const n = Math.min(r.length, chunk, body.length - at)
        const read = body.subarray(at, at + n)
        at += n
        // The last data and EOF may come in one reply: the reader must consume `read` first.
        return at >= body.length ? {read, error: {errorCode: ReaderErrorCode.EOF, message: 'EOF'}} : {read}
      },
    ],
    WriteHeader: [
      WriterService.WriteHeader,
      (r: {headers: Array<{key: string; values: string[]}>; statusCode: number}) => {
        written.status = r.statusCode
        written.headers = r.headers
        return {}
      },
    ],
    Write: [
      WriterService.Write,
      (r: {headers: Array<{key: string; values: string[]}>; payload: Uint8Array}) => {
        written.headers = r.headers
        written.body.push(Buffer.from(r.payload))
        return {written: r.payload.length}
      },
    ],
    Flush: [WriterService.Flush, () => ({})],
    Hijack: [WriterService.Hijack, () => ({})],
  })
  return {address, written, stop: () => server.forceShutdown()}
}

// ------------------------------------------------------------------------------------------
// The runtime handshake and the plugin process

/** What the Runtime server received. */
export interface Handshake {
  protocolVersion: number
  addr: string
  /** ms from spawn to the Initialize call arriving. */
  ms: number
}

/** Options of spawnPlugin. */
export interface SpawnOptions {
  /** The protocol baked into the launcher (undefined: no flag, the plugin's default). */
  protocol?: number
  /** The node's own protocol (default 45): a different announced number fails the handshake. */
  nodeProtocol?: number
  /** Extra launcher arguments (to test refusals). */
  extraArgs?: string[]
  /** Play the node with the lean ./h2node.ts instead of grpc-js: the benchmark's choice. */
  lean?: boolean
}

/** A spawned plugin process as the node holds it. */
export class PluginProcess {
  readonly out: Buffer[] = []
  readonly err: Buffer[] = []
  readonly exited: Promise<{code: number | null; signal: NodeJS.Signals | null}>
  handshake: Handshake | undefined
  vm: VmClient | undefined
  /** Played with the lean ./h2node.ts rather than grpc-js (SpawnOptions.lean); so is its rpcdb. */
  lean = false
  /** Stops the grpc-go proxies of this plugin's connections (TSVM_TEST_GRPC_GO_PROXY). */
  readonly proxies: Array<() => void> = []

  constructor(
    readonly child: ChildProcess,
    readonly dir: string,
  ) {
    child.stdout!.on('data', (b: Buffer) => this.out.push(b))
    child.stderr!.on('data', (b: Buffer) => this.err.push(b))
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => resolve({code, signal}))
    })
  }

  get stderr(): string {
    return Buffer.concat(this.err).toString()
  }

  get stdout(): string {
    return Buffer.concat(this.out).toString()
  }

  /** The node's stop: Shutdown, SIGTERM, then SIGKILL after 5 s. Returns how the process ended. */
  async stop(): Promise<{code: number | null; signal: NodeJS.Signals | null; killed: boolean}> {
    try {
      await this.vm?.call(VmService.Shutdown, {})
    } catch {
      // logged by the node; it goes on stopping
    }

    this.vm?.close()
    this.child.kill('SIGTERM')
    let killed = false
    const timer = setTimeout(() => {
      killed = true
      this.child.kill('SIGKILL')
    }, 5000)
    const end = await this.exited
    clearTimeout(timer)
    for (const stop of this.proxies) stop()
    await rm(this.dir, {recursive: true, force: true})
    return {...end, killed}
  }

  /** SIGKILL, as after a crash (no Shutdown). */
  async kill(): Promise<void> {
    this.vm?.close()
    this.child.kill('SIGKILL')
    await this.exited
    for (const stop of this.proxies) stop()
    await rm(this.dir, {recursive: true, force: true})
  }
}

const q = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`

/** Writes the launcher the plugin dir holds: /bin/sh, absolute paths, exec. */
export async function writeLauncher(dir: string, protocol?: number, extraArgs: string[] = []): Promise<string> {
  const args = [...(protocol === undefined ? [] : ['--protocol', String(protocol)]), ...extraArgs]
    .map((s) => q(s))
    .join(' ')
  const path = join(dir, 'launcher')
  await writeFile(path, `#!/bin/sh\nexec ${q(process.execPath)} ${q(PLUGIN_ENTRY)} ${args}\n`)
  await chmod(path, 0o755)
  return path
}

/**
 * Spawns the plugin as the node does and waits for its handshake (5 s, else it is killed and
 * this rejects with the node's "handshake failed" text). The node's mismatch error is returned
 * to a plugin announcing another protocol than `nodeProtocol`; this then rejects likewise.
 */
export async function spawnPlugin(options: SpawnOptions = {}): Promise<PluginProcess> {
  const nodeProtocol = options.nodeProtocol ?? 45
  const dir = await mkdtemp(join(tmpdir(), 'tsvm-node-'))
  const launcher = await writeLauncher(dir, options.protocol, options.extraArgs)
  let arrived: ((h: Handshake) => void) | undefined
  const got = new Promise<Handshake>((resolve) => {
    arrived = resolve
  })
  let started = 0n
  const runtime = await serve({
    Initialize: [
      RuntimeService.Initialize,
      (r: {protocolVersion: number; addr: string}) => {
        arrived!({
          protocolVersion: r.protocolVersion,
          addr: r.addr,
          ms: Number(process.hrtime.bigint() - started) / 1e6,
        })
        if (r.protocolVersion !== nodeProtocol) {
          throw grpcError(
            grpc.status.UNKNOWN,
            `RPCChainVM protocol version mismatch between AvalancheGo and Virtual Machine plugin. AvalancheGo version avalanchego/1.14.2 implements RPCChainVM protocol version ${nodeProtocol}. The VM located at ${launcher} implements RPCChainVM protocol version ${r.protocolVersion}.`,
          )
        }

        return {}
      },
    ],
  })
  const proxies: Array<() => void> = []
  const runtimeAddress = await via(runtime.address, proxies)
  started = process.hrtime.bigint()
  const child = spawn(launcher, [], {
    cwd: dir,
    env: {AVALANCHE_VM_RUNTIME_ENGINE_ADDR: runtimeAddress},
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const plugin = new PluginProcess(child, dir)
  plugin.proxies.push(...proxies)
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), HANDSHAKE_MS)
  })
  const result = await Promise.race([got, timeout, plugin.exited.then(() => 'exited' as const)])
  clearTimeout(timer)
  // The node shuts its Runtime server down right after the handshake (gracefully: the reply goes out).
  runtime.server.tryShutdown(() => {})
  if (result === 'timeout' || result === 'exited') {
    child.kill('SIGKILL')
    await plugin.exited
    for (const stop of proxies) stop()
    const {stderr} = plugin
    await rm(dir, {recursive: true, force: true})
    throw Object.assign(new Error(`handshake failed: vm process not found (${result}); stderr: ${stderr}`), {stderr})
  }

  plugin.handshake = result
  if (result.protocolVersion !== nodeProtocol) {
    // The node kills the plugin on a mismatch.
    await new Promise((r) => {
      setTimeout(r, 100)
    })
    child.kill('SIGKILL')
    await plugin.exited
    for (const stop of proxies) stop()
    const {stderr} = plugin
    await rm(dir, {recursive: true, force: true})
    throw Object.assign(new Error(`handshake failed: protocol ${result.protocolVersion}, node ${nodeProtocol}`), {
      stderr,
      handshake: result,
    })
  }

  plugin.lean = options.lean ?? false
  const vmAddress = await via(result.addr, plugin.proxies)
  plugin.vm = plugin.lean ? new H2NodeClient(vmAddress) : new NodeClient(vmAddress)
  return plugin
}

// ------------------------------------------------------------------------------------------
// The node's checks on replies

/** What the node's grpcutils.TimestampAsTime rejects. */
export function checkTimestamp(ts: {seconds: bigint; nanos: number} | undefined, what: string): bigint {
  if (ts === undefined) throw new Error(`${what}: invalid nil Timestamp`)
  if (ts.seconds < -62_135_596_800n || ts.seconds > 253_402_300_799n || ts.nanos < 0 || ts.nanos > 999_999_999) {
    throw new Error(`${what}: invalid Timestamp ${ts.seconds}.${ts.nanos}`)
  }

  return ts.seconds
}

/** What ids.ToID rejects. */
export function checkId(id: Uint8Array, what: string): Uint8Array {
  if (id.length !== 32) throw new Error(`${what}: invalid hash length: expected 32 bytes but got ${id.length}`)
  return id
}

/** A block as the node knows it from the plugin's replies. */
export interface NodeBlock {
  id: Uint8Array
  parentId: Uint8Array
  height: bigint
  timestamp: bigint
  bytes: Uint8Array
}

/** One chain in one plugin process, driven as the node's VMClient drives it. */
export class NodeChain {
  constructor(
    readonly plugin: PluginProcess,
    readonly db: MemoryDb,
    readonly dbServer: {address: string; stop(): void},
  ) {}

  get vm(): VmClient {
    return this.plugin.vm!
  }

  /** Starts a chain: rpcdb, then Initialize with the genesis; checks the reply. */
  static async create(
    plugin: PluginProcess,
    db: MemoryDb,
    genesis: Uint8Array,
    chainId = new Uint8Array(32).fill(7),
  ): Promise<{chain: NodeChain; last: NodeBlock}> {
    const dbServer = await serveMemoryDb(db, plugin.lean)
    const chain = new NodeChain(plugin, db, dbServer)
    const r = await plugin.vm!.call(VmService.Initialize, {
      networkId: 12_345,
      chainId,
      genesisBytes: genesis,
      dbServerAddr: await via(dbServer.address, plugin.proxies),
      serverAddr: '127.0.0.1:1',
      chainDataDir: plugin.dir,
      networkUpgrades: {},
    })
    const last = {
      id: checkId(r.lastAcceptedId, 'Initialize'),
      parentId: checkId(r.lastAcceptedParentId, 'Initialize'),
      height: r.height,
      timestamp: checkTimestamp(r.timestamp, 'Initialize'),
      bytes: r.bytes,
    }
    return {chain, last}
  }

  async setState(state: number): Promise<NodeBlock> {
    const r = await this.vm.call(VmService.SetState, {state})
    return {
      id: checkId(r.lastAcceptedId, 'SetState'),
      parentId: checkId(r.lastAcceptedParentId, 'SetState'),
      height: r.height,
      timestamp: checkTimestamp(r.timestamp, 'SetState'),
      bytes: r.bytes,
    }
  }

  async buildBlock(pChainHeight?: bigint): Promise<NodeBlock> {
    const r = await this.vm.call(VmService.BuildBlock, pChainHeight === undefined ? {} : {pChainHeight})
    return {
      id: checkId(r.id, 'BuildBlock'),
      parentId: checkId(r.parentId, 'BuildBlock'),
      height: r.height,
      timestamp: checkTimestamp(r.timestamp, 'BuildBlock'),
      bytes: r.bytes,
    }
  }

  async parseBlock(bytes: Uint8Array): Promise<NodeBlock> {
    const r = await this.vm.call(VmService.ParseBlock, {bytes})
    return {
      id: checkId(r.id, 'ParseBlock'),
      parentId: checkId(r.parentId, 'ParseBlock'),
      height: r.height,
      timestamp: checkTimestamp(r.timestamp, 'ParseBlock'),
      bytes,
    }
  }

  /** GetBlock; undefined on the in-band not-found (status OK). */
  async getBlock(id: Uint8Array): Promise<NodeBlock | undefined> {
    const r = await this.vm.call(VmService.GetBlock, {id})
    if (r.err === VmError.NOT_FOUND) return undefined
    if (r.err !== 0) throw new Error(`GetBlock: unexpected err ${r.err}`)
    return {
      id,
      parentId: checkId(r.parentId, 'GetBlock'),
      height: r.height,
      timestamp: checkTimestamp(r.timestamp, 'GetBlock'),
      bytes: r.bytes,
    }
  }

  async verify(bytes: Uint8Array): Promise<bigint> {
    return checkTimestamp((await this.vm.call(VmService.BlockVerify, {bytes})).timestamp, 'BlockVerify')
  }

  async accept(id: Uint8Array): Promise<void> {
    await this.vm.call(VmService.BlockAccept, {id})
  }

  async reject(id: Uint8Array): Promise<void> {
    await this.vm.call(VmService.BlockReject, {id})
  }

  async setPreference(id: Uint8Array): Promise<void> {
    await this.vm.call(VmService.SetPreference, {id})
  }

  /** GetBlockIDAtHeight; undefined on not-found. */
  async idAtHeight(height: bigint): Promise<Uint8Array | undefined> {
    const r = await this.vm.call(VmService.GetBlockIDAtHeight, {height})
    if (r.err === VmError.NOT_FOUND) return undefined
    return checkId(r.blkId, 'GetBlockIDAtHeight')
  }

  /** One JSON-RPC call through HandleSimple at /ext/bc/<chain>, with the node's response headers. */
  async rpc(
    method: string,
    params: unknown,
    options: {id?: number} = {},
  ): Promise<{code: number; headers: Map<string, string[]>; body: string}> {
    const body = new TextEncoder().encode(JSON.stringify({jsonrpc: '2.0', method, params, id: options.id ?? 1}))
    return this.http('POST', body)
  }

  /** A raw HandleSimple request. */
  async http(
    method: string,
    body: Uint8Array,
    contentType = 'application/json',
  ): Promise<{code: number; headers: Map<string, string[]>; body: string}> {
    const r = await this.vm.call(HttpService.HandleSimple, {
      method,
      url: '/ext/bc/chain',
      requestHeaders: [{key: 'Content-Type', values: [contentType]}],
      body,
      responseHeaders: [
        {key: 'Node-Id', values: ['NodeID-test']},
        {key: 'Vary', values: ['Origin']},
      ],
    })
    return {
      code: r.code,
      headers: new Map(r.headers.map((h) => [h.key, h.values])),
      body: new TextDecoder().decode(r.body),
    }
  }

  /** SIGKILL (a crash: no Shutdown), and the database server stops; the MemoryDb keeps what was written. */
  async kill(): Promise<void> {
    await this.plugin.kill()
    this.dbServer.stop()
  }

  /** Shutdown + SIGTERM, and the database server stops. */
  async stop(): Promise<{code: number | null; signal: NodeJS.Signals | null; killed: boolean}> {
    const end = await this.plugin.stop()
    this.dbServer.stop()
    return end
  }
}

/** Spawns a plugin and creates a chain on `db` with `genesis`. */
export async function startChain(options: {db?: MemoryDb; genesis?: Uint8Array; spawn?: SpawnOptions} = {}) {
  const plugin = await spawnPlugin(options.spawn)
  try {
    return {
      plugin,
      ...(await NodeChain.create(plugin, options.db ?? new MemoryDb(), options.genesis ?? new Uint8Array(0))),
    }
  } catch (error) {
    await plugin.kill()
    throw error
  }
}
