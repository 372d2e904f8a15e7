// The rpcchainvm messages and method paths (AvalancheGo v1.14.2, protocol 45), one table per
// message, mirroring ./proto/**/*.proto field for field (test/plugin/messages.test.ts checks the
// two against each other and against protoc when it is installed). Only the method paths and the
// field numbers and types go over the wire; names are ours.
import {type Codec, Empty, field, message} from './pb.js'

export {Empty} from './pb.js'

// ---------------------------------------------------------------- google.protobuf

/** google.protobuf.Timestamp; block times are {seconds: Unix time, nanos: 0}. */
export const Timestamp = message({seconds: field(1, 'int64'), nanos: field(2, 'int32')})
/** google.protobuf.Duration (appears only in NetworkUpgrades). */
export const Duration = message({seconds: field(1, 'int64'), nanos: field(2, 'int32')})

// ---------------------------------------------------------------- vm.runtime

/** vm.runtime.InitializeRequest: the plugin's half of the handshake. */
export const RuntimeInitializeRequest = message({protocolVersion: field(1, 'uint32'), addr: field(2, 'string')})

// ---------------------------------------------------------------- vm

/** vm.State. */
export const State = {UNSPECIFIED: 0, STATE_SYNCING: 1, BOOTSTRAPPING: 2, NORMAL_OP: 3} as const
/** vm.Error: the in-band errors (status OK). */
export const VmError = {UNSPECIFIED: 0, CLOSED: 1, NOT_FOUND: 2, STATE_SYNC_NOT_IMPLEMENTED: 3} as const
/** vm.Message. */
export const VmMessage = {UNSPECIFIED: 0, BUILD_BLOCK: 1, STATE_SYNC_FINISHED: 2} as const
/** vm.StateSummaryAcceptResponse.Mode. */
export const SummaryMode = {UNSPECIFIED: 0, SKIPPED: 1, STATIC: 2, DYNAMIC: 3} as const

const ts = (no: number) => field(no, Timestamp)

export const NetworkUpgrades = message({
  apricotPhase1Time: ts(1),
  apricotPhase2Time: ts(2),
  apricotPhase3Time: ts(3),
  apricotPhase4Time: ts(4),
  apricotPhase4MinPChainHeight: field(5, 'uint64'),
  apricotPhase5Time: ts(6),
  apricotPhasePre6Time: ts(7),
  apricotPhase6Time: ts(8),
  apricotPhasePost6Time: ts(9),
  banffTime: ts(10),
  cortinaTime: ts(11),
  cortinaXChainStopVertexId: field(12, 'bytes'),
  durangoTime: ts(13),
  etnaTime: ts(14),
  fortunaTime: ts(15),
  graniteTime: ts(16),
  graniteEpochDuration: field(17, Duration),
  heliconTime: ts(18),
})

export const InitializeRequest = message({
  networkId: field(1, 'uint32'),
  subnetId: field(2, 'bytes'),
  chainId: field(3, 'bytes'),
  nodeId: field(4, 'bytes'),
  publicKey: field(5, 'bytes'),
  xChainId: field(6, 'bytes'),
  cChainId: field(7, 'bytes'),
  avaxAssetId: field(8, 'bytes'),
  chainDataDir: field(9, 'string'),
  genesisBytes: field(10, 'bytes'),
  upgradeBytes: field(11, 'bytes'),
  configBytes: field(12, 'bytes'),
  dbServerAddr: field(13, 'string'),
  serverAddr: field(14, 'string'),
  networkUpgrades: field(15, NetworkUpgrades),
})

const lastAcceptedFields = {
  lastAcceptedId: field(1, 'bytes'),
  lastAcceptedParentId: field(2, 'bytes'),
  height: field(3, 'uint64'),
  bytes: field(4, 'bytes'),
  timestamp: ts(5),
}
export const InitializeResponse = message(lastAcceptedFields)
export const SetStateRequest = message({state: field(1, 'enum')})
export const SetStateResponse = message(lastAcceptedFields)
export const Handler = message({prefix: field(1, 'string'), serverAddr: field(2, 'string')})
export const CreateHandlersResponse = message({handlers: field(1, Handler, 'repeated')})
export const NewHTTPHandlerResponse = message({serverAddr: field(1, 'string')})
export const WaitForEventResponse = message({message: field(1, 'enum')})
export const BuildBlockRequest = message({pChainHeight: field(1, 'uint64', 'optional')})
export const BuildBlockResponse = message({
  id: field(1, 'bytes'),
  parentId: field(2, 'bytes'),
  bytes: field(3, 'bytes'),
  height: field(4, 'uint64'),
  timestamp: ts(5),
  verifyWithContext: field(6, 'bool'),
})
export const ParseBlockRequest = message({bytes: field(1, 'bytes')})
export const ParseBlockResponse = message({
  id: field(1, 'bytes'),
  parentId: field(2, 'bytes'),
  height: field(4, 'uint64'),
  timestamp: ts(5),
  verifyWithContext: field(6, 'bool'),
})
export const GetBlockRequest = message({id: field(1, 'bytes')})
export const GetBlockResponse = message({
  parentId: field(1, 'bytes'),
  bytes: field(2, 'bytes'),
  height: field(4, 'uint64'),
  timestamp: ts(5),
  err: field(6, 'enum'),
  verifyWithContext: field(7, 'bool'),
})
export const SetPreferenceRequest = message({id: field(1, 'bytes')})
export const BlockVerifyRequest = message({bytes: field(1, 'bytes'), pChainHeight: field(2, 'uint64', 'optional')})
export const BlockVerifyResponse = message({timestamp: ts(1)})
export const BlockAcceptRequest = message({id: field(1, 'bytes')})
export const BlockRejectRequest = message({id: field(1, 'bytes')})
export const HealthResponse = message({details: field(1, 'bytes')})
export const VersionResponse = message({version: field(1, 'string')})
export const AppRequestMsg = message({
  nodeId: field(1, 'bytes'),
  requestId: field(2, 'uint32'),
  deadline: ts(3),
  request: field(4, 'bytes'),
})
export const AppRequestFailedMsg = message({
  nodeId: field(1, 'bytes'),
  requestId: field(2, 'uint32'),
  errorCode: field(3, 'sint32'),
  errorMessage: field(4, 'string'),
})
export const AppResponseMsg = message({
  nodeId: field(1, 'bytes'),
  requestId: field(2, 'uint32'),
  response: field(3, 'bytes'),
})
export const AppGossipMsg = message({nodeId: field(1, 'bytes'), msg: field(2, 'bytes')})
export const ConnectedRequest = message({
  nodeId: field(1, 'bytes'),
  name: field(2, 'string'),
  major: field(3, 'uint32'),
  minor: field(4, 'uint32'),
  patch: field(5, 'uint32'),
})
export const DisconnectedRequest = message({nodeId: field(1, 'bytes')})
export const GetAncestorsRequest = message({
  blkId: field(1, 'bytes'),
  maxBlocksNum: field(2, 'int32'),
  maxBlocksSize: field(3, 'int32'),
  maxBlocksRetrivalTime: field(4, 'int64'),
})
export const GetAncestorsResponse = message({blksBytes: field(1, 'bytes', 'repeated')})
export const BatchedParseBlockRequest = message({request: field(1, 'bytes', 'repeated')})
export const BatchedParseBlockResponse = message({response: field(1, ParseBlockResponse, 'repeated')})
export const GetBlockIDAtHeightRequest = message({height: field(1, 'uint64')})
export const GetBlockIDAtHeightResponse = message({blkId: field(1, 'bytes'), err: field(2, 'enum')})
/** io.prometheus.client.MetricFamily, top level (proto2: every scalar has presence). */
export const MetricFamily = message({
  name: field(1, 'string', 'optional'),
  help: field(2, 'string', 'optional'),
  type: field(3, 'enum', 'optional'),
  unit: field(5, 'string', 'optional'),
})
export const GatherResponse = message({metricFamilies: field(1, MetricFamily, 'repeated')})
export const StateSyncEnabledResponse = message({enabled: field(1, 'bool'), err: field(2, 'enum')})
const summaryFields = {
  id: field(1, 'bytes'),
  height: field(2, 'uint64'),
  bytes: field(3, 'bytes'),
  err: field(4, 'enum'),
}
export const GetOngoingSyncStateSummaryResponse = message(summaryFields)
export const GetLastStateSummaryResponse = message(summaryFields)
export const ParseStateSummaryRequest = message({bytes: field(1, 'bytes')})
export const ParseStateSummaryResponse = message({
  id: field(1, 'bytes'),
  height: field(2, 'uint64'),
  err: field(3, 'enum'),
})
export const GetStateSummaryRequest = message({height: field(1, 'uint64')})
export const GetStateSummaryResponse = message({id: field(1, 'bytes'), bytes: field(2, 'bytes'), err: field(3, 'enum')})
export const StateSummaryAcceptRequest = message({bytes: field(1, 'bytes')})
export const StateSummaryAcceptResponse = message({mode: field(1, 'enum'), err: field(2, 'enum')})

// ---------------------------------------------------------------- rpcdb

/** rpcdb.Error (not vm.Error). */
export const DbError = {UNSPECIFIED: 0, CLOSED: 1, NOT_FOUND: 2} as const

export const DbHasRequest = message({key: field(1, 'bytes')})
export const DbHasResponse = message({has: field(1, 'bool'), err: field(2, 'enum')})
export const DbGetRequest = message({key: field(1, 'bytes')})
export const DbGetResponse = message({value: field(1, 'bytes'), err: field(2, 'enum')})
export const DbPutRequest = message({key: field(1, 'bytes'), value: field(2, 'bytes')})
export const DbPutResponse = message({err: field(1, 'enum')})
export const DbDeleteRequest = message({key: field(1, 'bytes')})
export const DbDeleteResponse = message({err: field(1, 'enum')})
export const DbCompactRequest = message({start: field(1, 'bytes'), limit: field(2, 'bytes')})
export const DbCompactResponse = message({err: field(1, 'enum')})
export const DbCloseRequest = message({})
export const DbCloseResponse = message({err: field(1, 'enum')})
export const DbHealthCheckResponse = message({details: field(1, 'bytes')})
export const DbWriteBatchRequest = message({
  puts: field(1, DbPutRequest, 'repeated'),
  deletes: field(2, DbDeleteRequest, 'repeated'),
})
export const DbWriteBatchResponse = message({err: field(1, 'enum')})
export const DbNewIteratorRequest = message({start: field(1, 'bytes'), prefix: field(2, 'bytes')})
export const DbNewIteratorResponse = message({id: field(1, 'uint64')})
export const DbIteratorIdRequest = message({id: field(1, 'uint64')})
export const DbIteratorNextResponse = message({data: field(1, DbPutRequest, 'repeated')})
export const DbIteratorErrorResponse = message({err: field(1, 'enum')})
export const DbIteratorReleaseResponse = message({err: field(1, 'enum')})

// ---------------------------------------------------------------- http, http.responsewriter, io.reader

/** http.Element and http.responsewriter.Header: a header and its values. */
export const Element = message({key: field(1, 'string'), values: field(2, 'string', 'repeated')})
export const Userinfo = message({
  username: field(1, 'string'),
  password: field(2, 'string'),
  passwordSet: field(3, 'bool'),
})
export const Url = message({
  scheme: field(1, 'string'),
  opaque: field(2, 'string'),
  user: field(3, Userinfo),
  host: field(4, 'string'),
  path: field(5, 'string'),
  rawPath: field(6, 'string'),
  forceQuery: field(7, 'bool'),
  rawQuery: field(8, 'string'),
  fragment: field(9, 'string'),
})
export const Certificates = message({cert: field(1, 'bytes', 'repeated')})
export const ConnectionState = message({
  version: field(1, 'uint32'),
  handshakeComplete: field(2, 'bool'),
  didResume: field(3, 'bool'),
  cipherSuite: field(4, 'uint32'),
  negotiatedProtocol: field(5, 'string'),
  serverName: field(6, 'string'),
  peerCertificates: field(7, Certificates),
  verifiedChains: field(8, Certificates, 'repeated'),
  signedCertificateTimestamps: field(9, 'bytes', 'repeated'),
  ocspResponse: field(10, 'bytes'),
})
export const Request = message({
  method: field(1, 'string'),
  url: field(2, Url),
  proto: field(3, 'string'),
  protoMajor: field(4, 'int32'),
  protoMinor: field(5, 'int32'),
  header: field(6, Element, 'repeated'),
  contentLength: field(8, 'int64'),
  transferEncoding: field(9, 'string', 'repeated'),
  host: field(10, 'string'),
  form: field(11, Element, 'repeated'),
  postForm: field(12, Element, 'repeated'),
  trailerKeys: field(13, 'string', 'repeated'),
  remoteAddr: field(14, 'string'),
  requestUri: field(15, 'string'),
  tls: field(16, ConnectionState),
})
export const ResponseWriter = message({header: field(1, Element, 'repeated'), serverAddr: field(2, 'string')})
export const HTTPRequest = message({responseWriter: field(1, ResponseWriter), request: field(2, Request)})
export const HTTPResponse = message({header: field(1, Element, 'repeated')})
export const HandleSimpleHTTPRequest = message({
  method: field(1, 'string'),
  url: field(2, 'string'),
  requestHeaders: field(3, Element, 'repeated'),
  body: field(4, 'bytes'),
  responseHeaders: field(5, Element, 'repeated'),
})
export const HandleSimpleHTTPResponse = message({
  code: field(1, 'int32'),
  headers: field(2, Element, 'repeated'),
  body: field(3, 'bytes'),
})
export const WriteRequest = message({headers: field(1, Element, 'repeated'), payload: field(2, 'bytes')})
export const WriteResponse = message({written: field(1, 'int32')})
export const WriteHeaderRequest = message({headers: field(1, Element, 'repeated'), statusCode: field(2, 'int32')})
export const HijackResponse = message({
  localNetwork: field(1, 'string'),
  localString: field(2, 'string'),
  remoteNetwork: field(3, 'string'),
  remoteString: field(4, 'string'),
  serverAddr: field(5, 'string'),
})
/** io.reader.ErrorCode. */
export const ReaderErrorCode = {UNSPECIFIED: 0, EOF: 1} as const
export const ReaderError = message({errorCode: field(1, 'enum'), message: field(2, 'string')})
export const ReadRequest = message({length: field(1, 'int32')})
export const ReadResponse = message({read: field(1, 'bytes'), error: field(2, ReaderError)})

// ---------------------------------------------------------------- services

/** One method: its path and the codecs of its request and response. */
export interface Method<Req, Res, ReqIn = Partial<Req>, ResIn = Partial<Res>> {
  readonly path: string
  readonly request: Codec<Req, ReqIn>
  readonly response: Codec<Res, ResIn>
}

type Methods = Record<string, Method<unknown, unknown, unknown, unknown>>

function service<const M extends Record<string, readonly [Codec<unknown, unknown>, Codec<unknown, unknown>]>>(
  name: string,
  methods: M,
): {
  [K in keyof M]: Method<
    ReturnType<M[K][0]['decode']>,
    ReturnType<M[K][1]['decode']>,
    Parameters<M[K][0]['encode']>[0],
    Parameters<M[K][1]['encode']>[0]
  >
} {
  const out: Methods = {}
  for (const [method, [request, response]] of Object.entries(methods))
    out[method] = {path: `/${name}/${method}`, request, response}
  return out as never
}

/** vm.runtime.Runtime, served by the node. */
export const RuntimeService = service('vm.runtime.Runtime', {Initialize: [RuntimeInitializeRequest, Empty]})

/** vm.VM, served by the plugin: all 31 methods. */
export const VmService = service('vm.VM', {
  Initialize: [InitializeRequest, InitializeResponse],
  SetState: [SetStateRequest, SetStateResponse],
  Shutdown: [Empty, Empty],
  CreateHandlers: [Empty, CreateHandlersResponse],
  NewHTTPHandler: [Empty, NewHTTPHandlerResponse],
  WaitForEvent: [Empty, WaitForEventResponse],
  Connected: [ConnectedRequest, Empty],
  Disconnected: [DisconnectedRequest, Empty],
  BuildBlock: [BuildBlockRequest, BuildBlockResponse],
  ParseBlock: [ParseBlockRequest, ParseBlockResponse],
  GetBlock: [GetBlockRequest, GetBlockResponse],
  SetPreference: [SetPreferenceRequest, Empty],
  Health: [Empty, HealthResponse],
  Version: [Empty, VersionResponse],
  AppRequest: [AppRequestMsg, Empty],
  AppRequestFailed: [AppRequestFailedMsg, Empty],
  AppResponse: [AppResponseMsg, Empty],
  AppGossip: [AppGossipMsg, Empty],
  Gather: [Empty, GatherResponse],
  GetAncestors: [GetAncestorsRequest, GetAncestorsResponse],
  BatchedParseBlock: [BatchedParseBlockRequest, BatchedParseBlockResponse],
  GetBlockIDAtHeight: [GetBlockIDAtHeightRequest, GetBlockIDAtHeightResponse],
  StateSyncEnabled: [Empty, StateSyncEnabledResponse],
  GetOngoingSyncStateSummary: [Empty, GetOngoingSyncStateSummaryResponse],
  GetLastStateSummary: [Empty, GetLastStateSummaryResponse],
  ParseStateSummary: [ParseStateSummaryRequest, ParseStateSummaryResponse],
  GetStateSummary: [GetStateSummaryRequest, GetStateSummaryResponse],
  BlockVerify: [BlockVerifyRequest, BlockVerifyResponse],
  BlockAccept: [BlockAcceptRequest, Empty],
  BlockReject: [BlockRejectRequest, Empty],
  StateSummaryAccept: [StateSummaryAcceptRequest, StateSummaryAcceptResponse],
})

/** rpcdb.Database, served by the node at db_server_addr. */
export const DatabaseService = service('rpcdb.Database', {
  Has: [DbHasRequest, DbHasResponse],
  Get: [DbGetRequest, DbGetResponse],
  Put: [DbPutRequest, DbPutResponse],
  Delete: [DbDeleteRequest, DbDeleteResponse],
  Compact: [DbCompactRequest, DbCompactResponse],
  Close: [DbCloseRequest, DbCloseResponse],
  HealthCheck: [Empty, DbHealthCheckResponse],
  WriteBatch: [DbWriteBatchRequest, DbWriteBatchResponse],
  NewIteratorWithStartAndPrefix: [DbNewIteratorRequest, DbNewIteratorResponse],
  IteratorNext: [DbIteratorIdRequest, DbIteratorNextResponse],
  IteratorError: [DbIteratorIdRequest, DbIteratorErrorResponse],
  IteratorRelease: [DbIteratorIdRequest, DbIteratorReleaseResponse],
})

/** http.HTTP, served by the plugin at Handler.server_addr. */
export const HttpService = service('http.HTTP', {
  Handle: [HTTPRequest, HTTPResponse],
  HandleSimple: [HandleSimpleHTTPRequest, HandleSimpleHTTPResponse],
})

/** http.responsewriter.Writer, served by the node during one Handle call. */
export const WriterService = service('http.responsewriter.Writer', {
  Write: [WriteRequest, WriteResponse],
  WriteHeader: [WriteHeaderRequest, Empty],
  Flush: [Empty, Empty],
  Hijack: [Empty, HijackResponse],
})

/** io.reader.Reader, served by the node at the Writer's address during one Handle call. */
export const ReaderService = service('io.reader.Reader', {Read: [ReadRequest, ReadResponse]})
