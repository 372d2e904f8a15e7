import {Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {EmbeddedChain} from '../chain/embedded.js'
import {serveDataDir, stopSignal} from '../node/serve.js'
import {dataDirFlag, embeddedDataDir} from '../flags.js'
import {serveLines, warn} from '../output.js'

export default class Serve extends BaseCommand {
  static override summary = 'Serve the chain over JSON-RPC, wire-compatible with timestampvm on AvalancheGo'
  static override description = `Answers like a node running timestampvm: the chain API (getBlock, proposeBlock) at /ext/bc/<chainID> and /ext/bc/timestampvm, the static API (encode, decode) at /ext/vm/<vmID>, /ext/vm/timestampvm and /ext/vm/timestamp, /ext/health (GET, or JSON-RPC health.health) and /ext/info (isBootstrapped, getBlockchainID, getNodeID, getNodeVersion, getNetworkID, getVMs). Proposals are written to the mempool durably before Success:true is sent; blocks are built and accepted at once, or every --block-time seconds.

The timestampvm tutorial's curl examples send CB58 data: serve them with --api v1.2 (the default v1.3 takes hex).

The chain ID stands in for the P-chain one a network would give: CB58(sha256(genesis ID + "tsvm-local-chain")), the same for a data dir on every start. As on a node, a request whose Host is a name other than --allowed-hosts (default localhost) gets 403, which keeps web pages out through DNS rebinding; IP literals are always answered. Browsers on --allowed-origins (default "*", as on a node: any page the user opens may call the server) get CORS headers. Any address but loopback is warned about. At most --max-connections connections are served at once (default 1000, or half the open-file limit when lower); one more is answered 503 and closed. A request head must arrive within --headers-timeout seconds and the whole request within --request-timeout, or it gets 408 and the connection is closed. SIGINT or SIGTERM stop taking connections, answer the requests in flight and close the data dir. With --json, one line describing the endpoints is printed on start.`
  static override examples = [
    {
      command: '<%= config.bin %> <%= command.id %>',
      description:
        'Serve the default chain on 127.0.0.1:9650:\n  chain        http://127.0.0.1:9650/ext/bc/28FkDCAUtMY8YhkHH672E1t6bqY7sRrBmR5vT3U9GTw1S1M9Cg\n  chain alias  http://127.0.0.1:9650/ext/bc/timestampvm\n  static       http://127.0.0.1:9650/ext/vm/tGas3T58KzdjcJ2iKSyiYsWiqYctRXaPTqBCA11BqEkNg8kPc\n  ...',
    },
    {
      command: '<%= config.bin %> <%= command.id %> --port 0 --json',
      description:
        'A free port; the start line says which:\n  {"chainID":"28FkDCAUtMY8YhkHH672E1t6bqY7sRrBmR5vT3U9GTw1S1M9Cg","vmID":"tGas3T58KzdjcJ2iKSyiYsWiqYctRXaPTqBCA11BqEkNg8kPc","endpoints":{…},"host":"127.0.0.1","address":"127.0.0.1","port":40123,"api":"v1.3","blockTime":0,"maxConnections":1000,"warnings":[]}',
    },
    {
      command: '<%= config.bin %> <%= command.id %> --api v1.2 --block-time 2',
      description: 'Answer like timestampvm v1.2 (CB58 data, no height) and build every 2 seconds.',
    },
    {
      command:
        'curl -s -H content-type:application/json -d \'{"jsonrpc":"2.0","method":"timestampvm.getBlock","params":{},"id":1}\' http://127.0.0.1:9650/ext/bc/timestampvm',
      description:
        'Ask it like a node:\n  {"jsonrpc":"2.0","result":{"timestamp":"0","data":"0x00…","height":"0","id":"…","parentID":"11111111111111111111111111111111LpoYY"},"id":1}',
    },
  ]
  static override flags = {
    'data-dir': dataDirFlag,
    host: Flags.string({
      default: '127.0.0.1',
      description: 'address to listen on (anything but loopback exposes an API without authentication)',
    }),
    port: Flags.integer({default: 9650, min: 0, max: 65_535, description: 'port to listen on (0 picks a free one)'}),
    api: Flags.option({
      options: ['v1.3', 'v1.2'] as const,
      default: 'v1.3',
      description:
        "API dialect: v1.3 (hex data, height, mempool cap) or v1.2 (CB58 data, as the tutorial's curl examples send)",
    })(),
    'block-time': Flags.integer({
      default: 0,
      min: 0,
      description: 'seconds between block builds (0: build as soon as proposals are written)',
    }),
    'max-connections': Flags.integer({
      min: 1,
      description:
        'connections served at once; one more gets 503 [default: 1000, or half the open-file limit when lower]',
    }),
    'headers-timeout': Flags.integer({
      default: 10,
      min: 1,
      description: 'seconds a client has to send a request head (then 408 and closed)',
    }),
    'request-timeout': Flags.integer({
      default: 30,
      min: 1,
      description: 'seconds a client has to send a whole request, at least --headers-timeout',
    }),
    'allowed-hosts': Flags.string({
      multiple: true,
      delimiter: ',',
      default: ['localhost'],
      description:
        'Host names answered besides IP literals, as a node\'s --http-allowed-hosts ("*": any); others get 403',
    }),
    'allowed-origins': Flags.string({
      multiple: true,
      delimiter: ',',
      default: ['*'],
      description:
        'origins given CORS headers, as a node\'s --http-allowed-origins ("*": any web page may call this server)',
    }),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(Serve)
    // Serving always needs a data dir: a TSVM_ENDPOINT in the environment does not apply here.
    const dataDir = embeddedDataDir(flags['data-dir'], this.config)
    const stop = stopSignal() // listened for before anything is printed
    const serving = await serveDataDir(dataDir!, (dir, options) => EmbeddedChain.open(dir, options), {
      host: flags.host,
      port: flags.port,
      dialect: flags.api,
      blockTime: flags['block-time'],
      maxConnections: flags['max-connections'],
      headersTimeoutMs: flags['headers-timeout'] * 1000,
      requestTimeoutMs: flags['request-timeout'] * 1000,
      allowedHosts: flags['allowed-hosts'],
      allowedOrigins: flags['allowed-origins'],
      version: this.config.version,
      onError: (error) => this.note(warn(`block build failed, payloads stay queued: ${(error as Error).message}`)),
      onRefusing: (reason) => this.note(warn(`refusing proposals: ${reason.message}`)),
      onTaking: () => this.note('taking proposals again'),
    })
    if (this.jsonEnabled()) process.stdout.write(JSON.stringify(serving.info) + '\n')
    else this.log(serveLines(serving.info, serving.dataDir))
    for (const warning of serving.info.warnings) this.note(warn(warning))
    this.note('Press Ctrl-C to stop.')
    const signal = await stop
    this.note(`${signal}: finishing requests in flight and closing ${serving.dataDir}`)
    await serving.close()
  }
}
