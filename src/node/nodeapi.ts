// The node APIs Avalanche clients call before any chain call, in AvalancheGo v1.14.2's shapes:
//
//   /ext/health   health.health|readiness|liveness   {"checks":{name: Result},"healthy":bool}
//                 GET /ext/health[/health|/readiness|/liveness]: the same object, 200 or 503
//   /ext/info     info.isBootstrapped, getBlockchainID, getNodeID, getNodeVersion,
//                 getNetworkID, getNetworkName, getVMs
//
// A health Result is Go's health.Result: {"message": details, "error": text, "timestamp":
// RFC 3339, "duration": ns}, message and error omitted when empty; map keys sorted as Go's
// encoding/json writes them. tsvm's own facts (tip, connections) are the message of the
// "timestampvm" check.
import {goJsonString} from '../rpc/json.js'
import {cb58Encode} from '../vm/encoding.js'
import {concatBytes, sha256} from '../vm/hash.js'
import type {ArgValues, NodeMethod, NodeService} from '../rpc/service.js'

/** AvalancheGo's network ID of a local network. */
export const LOCAL_NETWORK_ID = 12_345
/** The rpcchainvm protocol of AvalancheGo v1.14.2 and the node's database version, as getNodeVersion reports them. */
export const RPC_PROTOCOL_VERSION = 45
export const DATABASE_VERSION = 'v1.4.5'

const NODE_ID_TAG = new TextEncoder().encode('tsvm-local-node')

/** A stable stand-in node ID for a local server: "NodeID-" + CB58 of sha256(seed ‖ "tsvm-local-node")[0:20]. */
export function localNodeId(seed: Uint8Array): string {
  return `NodeID-${cb58Encode(sha256(concatBytes(seed, NODE_ID_TAG)).slice(0, 20))}`
}

/** One health check's outcome: details, or the error text that makes it fail. */
export interface CheckResult {
  message?: unknown
  error?: string
  timestamp: Date
  /** Nanoseconds the check took. */
  duration: number
}

/** Which checks each health endpoint reports. */
export type HealthKind = 'health' | 'readiness' | 'liveness'

/** Runs the checks of one kind: name → result. */
export type HealthReporter = (kind: HealthKind) => Promise<Record<string, CheckResult>>

/** Go's time.Time JSON: RFC 3339 with nanoseconds when not zero. */
function goTime(d: Date): string {
  return d.toISOString().replace(/\.000Z$/, 'Z')
}

function resultJson(r: CheckResult): string {
  const parts: string[] = []
  if (r.message !== undefined) parts.push(`"message":${JSON.stringify(r.message)}`)
  if (r.error !== undefined) parts.push(`"error":${goJsonString(r.error)}`)
  parts.push(`"timestamp":"${goTime(r.timestamp)}"`, `"duration":${r.duration}`)
  return `{${parts.join(',')}}`
}

/** The APIReply JSON text (no newline) and whether every check passed. */
export async function healthReply(
  reporter: HealthReporter,
  kind: HealthKind,
): Promise<{json: string; healthy: boolean}> {
  const checks = await reporter(kind)
  const names = Object.keys(checks).sort()
  const healthy = names.every((n) => checks[n]!.error === undefined)
  const body = names.map((n) => `${goJsonString(n)}:${resultJson(checks[n]!)}`).join(',')
  return {json: `{"checks":{${body}},"healthy":${healthy}}`, healthy}
}

/** The "health" JSON-RPC service: Health, Readiness and Liveness, each taking {"tags": [...]} (ignored: tsvm's checks have no tags). */
export function healthService(reporter: HealthReporter): NodeService {
  const method = (kind: HealthKind): NodeMethod => ({
    fields: {},
    run: async () => (await healthReply(reporter, kind)).json,
  })
  return {
    name: 'health',
    methods: new Map([
      ['Health', method('health')],
      ['Readiness', method('readiness')],
      ['Liveness', method('liveness')],
    ]),
  }
}

/** What the info service reports about this node and its one chain. */
export interface NodeFacts {
  /** "NodeID-..." */
  nodeId: string
  /** The chain ID (CB58) and its aliases. */
  chainId: string
  chainAliases: readonly string[]
  /** VM ID (CB58) → its aliases, in the order reported. */
  vms: Readonly<Record<string, readonly string[]>>
  /** tsvm's version, e.g. 0.1.0. */
  version: string
}

/** The fxs every AvalancheGo node lists in getVMs: their IDs are their names, zero-padded. */
const FXS: Record<string, string> = {
  qd2U4HDWUvMrVUeTcCHp6xH3Qpnn1XbU5MDdnBoiifFqvgXwT: 'nftfx',
  rXJsCSEYXg2TehWxCEEGj6JU2PWKTkd6cBdNLjoe2SpsKD9cy: 'propertyfx',
  spdxUxVJQbX85MGxMHbKw1sHxMnSqJ3QBzDyDYEP3h6TLuxqQ: 'secp256k1fx',
}

/** Go's json of a map[K]V: keys sorted. */
function sortedObject<V>(map: Readonly<Record<string, V>>): string {
  return `{${Object.keys(map)
    .sort()
    .map((k) => `${goJsonString(k)}:${JSON.stringify(map[k])}`)
    .join(',')}}`
}

/** The "info" JSON-RPC service with the calls tools make first; other info methods are "can't find method" as on any unknown name. */
export function infoService(facts: NodeFacts): NodeService {
  const lookup = (alias: string): string | undefined =>
    alias === facts.chainId || facts.chainAliases.includes(alias) ? facts.chainId : undefined
  const m = (fields: NodeMethod['fields'], run: (args: ArgValues) => string): NodeMethod => ({
    fields,
    run: async (args) => run(args),
  })
  return {
    name: 'info',
    methods: new Map<string, NodeMethod>([
      [
        'IsBootstrapped',
        m({chain: 'string'}, (args) => {
          const chain = (args.chain as string | undefined) ?? ''
          if (chain === '') throw new Error("argument 'chain' not given")
          if (lookup(chain) === undefined) throw new Error(`there is no chain with alias/ID '${chain}'`)
          return '{"isBootstrapped":true}'
        }),
      ],
      [
        'GetBlockchainID',
        m({alias: 'string'}, (args) => {
          const alias = (args.alias as string | undefined) ?? ''
          const id = lookup(alias)
          if (id === undefined) throw new Error(`there is no ID with alias ${alias}`)
          return `{"blockchainID":"${id}"}`
        }),
      ],
      // No BLS key: nodePOP is null, as a node's *signer.ProofOfPossession would be without one.
      ['GetNodeID', m({}, () => `{"nodeID":"${facts.nodeId}","nodePOP":null}`)],
      [
        'GetNodeVersion',
        m(
          {},
          () =>
            `{"version":${goJsonString(`tsvm/${facts.version}`)},"databaseVersion":"${DATABASE_VERSION}","rpcProtocolVersion":"${RPC_PROTOCOL_VERSION}","gitCommit":"","vmVersions":{"timestampvm":${goJsonString(`v${facts.version}`)}}}`,
        ),
      ],
      ['GetNetworkID', m({}, () => `{"networkID":"${LOCAL_NETWORK_ID}"}`)],
      ['GetNetworkName', m({}, () => '{"networkName":"local"}')],
      ['GetVMs', m({}, () => `{"vms":${sortedObject(facts.vms)},"fxs":${sortedObject(FXS)}}`)],
    ]),
  }
}
