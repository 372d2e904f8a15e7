// The plugin's gRPC server: vm.VM (all 31 methods) and http.HTTP on one 127.0.0.1 port.
//
// Replies follow AvalancheGo v1.14.2's client (vms/rpcchainvm/vm_client.go): "not found" travels
// in-band (`err`, status OK) because the node turns it back into database.ErrNotFound; every block
// time is a present Timestamp (the genesis's is the empty message `2a 00`); IDs are 32 bytes.
// Methods a TimestampVM has no use for still answer, with the reply the Go server gives: a
// non-OK status (UNIMPLEMENTED included) on App*, Connected or Disconnected halts the chain.
//
// Start-up: the node allows 5 s from spawn to the handshake, and several nodes on one host spawn
// their plugins together. So this module loads only the gRPC transport (./h2grpc.js) and the codecs; the VM, LevelDB's
// JavaScript and the JSON-RPC service (./chain.js and what it imports) load on Initialize, which
// has no deadline.
import type {Block} from '../vm/block.js'
import {TsvmError} from '../vm/errors.js'
import type {PluginChain, PluginChainOptions} from './chain.js'
import {GrpcServer, Status, StatusError, UnaryClient} from './h2grpc.js'
import {
  HttpService,
  ReaderErrorCode,
  ReaderService,
  SummaryMode,
  VmError,
  VmMessage,
  VmService,
  WriterService,
} from './messages.js'
import {PLUGIN_VERSION} from './protocol.js'

/** One HTTP header and its values, as http.Element carries it. */
interface Element {
  key: string
  values: string[]
}

/** Options of the plugin server. */
export interface PluginServerOptions extends PluginChainOptions {
  /** Told when Shutdown has run (the process may exit on the next SIGTERM). */
  onShutdown?: () => void
}

/** A running plugin server. */
export interface PluginServer {
  /** `127.0.0.1:<port>`: what the plugin announces in Runtime/Initialize. */
  address: string
  /** The chain once Initialize has run. */
  chain(): PluginChain | undefined
  /** True once Shutdown has run. */
  isShutdown(): boolean
  /** Stops the server at once (connections dropped). */
  stop(): void
}

/** The VM side, loaded on first use (see the top of this file). */
let vmSide: Promise<typeof import('./chain.js')> | undefined
const loadVm = (): Promise<typeof import('./chain.js')> => {
  vmSide ??= import('./chain.js')
  return vmSide
}

/** A block's time as the node wants it: always present, nanos 0. */
const wireTime = (b: Block) => ({seconds: b.timestamp, nanos: 0})

const lastAcceptedReply = (b: Block) => ({
  lastAcceptedId: b.id,
  lastAcceptedParentId: b.parentId,
  height: b.height,
  bytes: b.bytes,
  timestamp: wireTime(b),
})

const parseReply = (b: Block) => ({id: b.id, parentId: b.parentId, height: b.height, timestamp: wireTime(b)})

const utf8 = new TextEncoder()

/** Go's http.CanonicalHeaderKey for the keys we look up and set. */
function canonical(key: string): string {
  return key.toLowerCase().replaceAll(/(^|-)([a-z])/g, (_, dash: string, c: string) => dash + c.toUpperCase())
}

function headerValue(headers: Element[], key: string): string | undefined {
  const want = key.toLowerCase()
  let found: string | undefined
  for (const h of headers) if (h.key.toLowerCase() === want && h.values.length > 0) found ??= h.values[0]
  return found
}

/** Starts from the node's headers and adds or replaces ours (the node sets exactly what we return). */
function mergeHeaders(base: Element[], ours: Array<[string, string]>): Element[] {
  const out = new Map<string, Element>()
  for (const h of base) out.set(h.key, {key: h.key, values: [...h.values]})
  for (const [key, value] of ours) {
    const k = canonical(key)
    for (const existing of out.keys()) if (existing.toLowerCase() === k.toLowerCase()) out.delete(existing)
    out.set(k, {key: k, values: [value]})
  }

  return [...out.values()]
}

const idText = async (id: Uint8Array) => (id.length === 32 ? (await loadVm()).idToString(id) : '?')

/** Starts the plugin's gRPC server on 127.0.0.1:0. */
export async function startPluginServer(options: PluginServerOptions = {}): Promise<PluginServer> {
  const log = options.log ?? (() => {})
  const server = new GrpcServer()
  let address = ''
  let chain: PluginChain | undefined
  let initializeCalled = false
  let shutdown = false

  const requireChain = (): PluginChain => {
    if (chain) return chain
    throw new StatusError(Status.FAILED_PRECONDITION, 'the VM is not initialized: Initialize must come first')
  }

  const service = async (request: {method: string; contentType: string | undefined; body: Uint8Array}) => {
    if (!chain) {
      return {
        status: 503,
        headers: [['Content-Type', 'text/plain; charset=utf-8']] as Array<[string, string]>,
        body: utf8.encode('the VM is not initialized'),
      }
    }

    return (await loadVm()).answerRpcHttp(request, {kind: 'chain', chain}, 'v1.3')
  }

  server.addService(
    VmService,
    {
      async Initialize(req) {
        if (initializeCalled) throw new TsvmError('INVALID_ARGUMENT', 'the VM is already initialized')
        initializeCalled = true
        try {
          const {PluginChain} = await loadVm()
          const name = `the node's database for chain ${await idText(req.chainId)}`
          chain = await PluginChain.open(req.dbServerAddr, req.genesisBytes, name, options)
        } catch (error) {
          initializeCalled = false
          throw error
        }

        const last = chain.lastAccepted()
        log(`initialized: last accepted ${await idText(last.id)} at height ${last.height}`)
        return lastAcceptedReply(last)
      },
      SetState: (req) => lastAcceptedReply(requireChain().setState(req.state)),
      async Shutdown() {
        if (!shutdown) {
          shutdown = true
          await chain?.close()
          options.onShutdown?.()
        }

        return {}
      },
      CreateHandlers: () => ({handlers: [{prefix: '', serverAddr: address}]}),
      NewHTTPHandler: () => ({}),
      async WaitForEvent(_req, call) {
        const c = requireChain()
        if (await c.waitForBuild(call.signal)) return {message: VmMessage.BUILD_BLOCK}
        throw new StatusError(Status.CANCELLED, 'WaitForEvent was cancelled')
      },
      Connected: () => ({}),
      Disconnected: () => ({}),
      async BuildBlock() {
        const b = await requireChain().buildBlock()
        return {id: b.id, parentId: b.parentId, bytes: b.bytes, height: b.height, timestamp: wireTime(b)}
      },
      ParseBlock: async (req) => parseReply((await loadVm()).parseBlock(req.bytes)),
      async GetBlock(req) {
        const b = await requireChain().getBlock(req.id)
        if (!b) return {err: VmError.NOT_FOUND}
        return {parentId: b.parentId, bytes: b.bytes, height: b.height, timestamp: wireTime(b)}
      },
      async SetPreference(req) {
        await requireChain().setPreference(req.id)
        return {}
      },
      // Like Go's server, the database's health is part of it: a failed store makes the chain
      // unhealthy (non-OK) rather than reporting a tip it can no longer extend.
      async Health() {
        const c = chain
        const details = c
          ? {
              database: await c.databaseHealth(),
              lastAcceptedID: await idText(c.lastAccepted().id),
              lastAcceptedHeight: String(c.lastAccepted().height),
              state: c.consensusState,
              waitingForEvent: c.waiting,
            }
          : {initialized: false}
        return {details: utf8.encode(JSON.stringify(details))}
      },
      Version: () => ({version: PLUGIN_VERSION}),
      AppRequest: () => ({}),
      AppRequestFailed: () => ({}),
      AppResponse: () => ({}),
      AppGossip: () => ({}),
      Gather: () => ({}),
      async GetAncestors(req) {
        const blks = await requireChain().ancestors(
          req.blkId,
          req.maxBlocksNum,
          req.maxBlocksSize,
          req.maxBlocksRetrivalTime,
        )
        return {blksBytes: blks}
      },
      async BatchedParseBlock(req) {
        const {parseBlock} = await loadVm()
        return {response: req.request.map((bytes) => parseReply(parseBlock(bytes)))}
      },
      async GetBlockIDAtHeight(req) {
        const id = await requireChain().idAtHeight(req.height)
        return id ? {blkId: id} : {err: VmError.NOT_FOUND}
      },
      StateSyncEnabled: () => ({}),
      GetOngoingSyncStateSummary: () => ({err: VmError.STATE_SYNC_NOT_IMPLEMENTED}),
      GetLastStateSummary: () => ({err: VmError.STATE_SYNC_NOT_IMPLEMENTED}),
      ParseStateSummary: () => ({err: VmError.STATE_SYNC_NOT_IMPLEMENTED}),
      GetStateSummary: () => ({err: VmError.STATE_SYNC_NOT_IMPLEMENTED}),
      async BlockVerify(req) {
        return {timestamp: wireTime(await requireChain().verify(req.bytes))}
      },
      async BlockAccept(req) {
        await requireChain().accept(req.id)
        return {}
      },
      async BlockReject(req) {
        await requireChain().reject(req.id)
        return {}
      },
      StateSummaryAccept: () => ({mode: SummaryMode.SKIPPED, err: VmError.STATE_SYNC_NOT_IMPLEMENTED}),
    },
    (method, error) => {
      if (!(error instanceof StatusError && error.code === Status.CANCELLED))
        log(`${method} failed: ${(error as Error).message}`)
    },
  )

  server.addService(
    HttpService,
    {
      // HTTP/1.1 without Upgrade: the whole request inline. The node clears its response headers
      // and sets exactly ours, so start from its response_headers and add ours (Go spelling).
      async HandleSimple(req) {
        const reply = await service({
          method: req.method,
          contentType: headerValue(req.requestHeaders, 'Content-Type'),
          body: req.body,
        })
        return {code: reply.status, headers: mergeHeaders(req.responseHeaders, reply.headers), body: reply.body}
      },
      // HTTP/2 and upgrades: the body comes from the node's Reader and the reply goes to its
      // Writer, both at response_writer.server_addr, every call carrying the full header set.
      async Handle(req, call) {
        const rw = req.responseWriter
        if (!rw || !req.request) throw new TsvmError('INVALID_ARGUMENT', 'Handle needs response_writer and request')
        const node = new UnaryClient(rw.serverAddr)
        try {
          const parts: Uint8Array[] = []
          for (;;) {
            const r = await node.call(ReaderService.Read, {length: 64 * 1024}, {signal: call.signal})
            if (r.read.length > 0) parts.push(r.read)
            if (r.error) {
              if (r.error.errorCode === ReaderErrorCode.EOF) break
              throw new TsvmError('IO_ERROR', `reading the request body failed: ${r.error.message}`)
            }
          }

          const body = Buffer.concat(parts)
          const reply = await service({
            method: req.request.method,
            contentType: headerValue(req.request.header, 'Content-Type'),
            body,
          })
          const headers = mergeHeaders(rw.header, reply.headers)
          await node.call(WriterService.WriteHeader, {headers, statusCode: reply.status}, {signal: call.signal})
          if (reply.body.length > 0)
            await node.call(WriterService.Write, {headers, payload: reply.body}, {signal: call.signal})
          return {header: headers}
        } finally {
          node.close()
        }
      },
    },
    (method, error) => log(`${method} failed: ${(error as Error).message}`),
  )

  address = await server.listen()
  return {
    address,
    chain: () => chain,
    isShutdown: () => shutdown,
    stop: () => server.destroy(),
  }
}
