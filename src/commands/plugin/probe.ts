import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {ok, table} from '../../output.js'
import {NODE_LIMIT_MS, type ProbeResult, probePlugin} from '../../plugin/probe.js'

export default class PluginProbe extends BaseCommand {
  static override summary = 'Check a plugin file as AvalancheGo registers it: handshake, Version, Shutdown, SIGTERM'
  static override description = `Starts the file as the node does (no arguments, an environment holding only AVALANCHE_VM_RUNTIME_ENGINE_ADDR, an empty cwd), waits for its Runtime/Initialize handshake, checks the protocol it announces, calls vm.VM Version and Shutdown, sends SIGTERM and checks that it exits. Prints the protocol, the version and the handshake time; any fault exits non-zero (PLUGIN_PROBE_FAILED, exit 5) with the reason and the plugin's stderr.`
  static override examples = [
    {
      command:
        '<%= config.bin %> <%= command.id %> ~/.avalanchego/plugins/tGas3T58KzdjLHhBDMnH2TvrddhqTji5iZAMZ3RXs2NLpSnhH',
      description:
        'Probe the installed plugin:\n  protocol   45 (AvalancheGo v1.14.2)\n  version    tsvm/0.1.0\n  handshake  212.4 ms\n  ok',
    },
    {
      command: '<%= config.bin %> <%= command.id %> ./plugins/<vmID> --protocol 44',
      description: 'Check it against a v1.14.0-1 node (protocol 44).',
    },
  ]
  static override args = {
    launcher: Args.string({description: 'the plugin file (<plugin-dir>/<vmID>)', required: true}),
  }
  static override flags = {
    protocol: Flags.integer({description: "the node's rpcchainvm protocol the plugin must announce (default 45)"}),
    'handshake-timeout': Flags.integer({
      min: 1,
      default: NODE_LIMIT_MS,
      description: 'ms from start to the handshake before giving up (the node allows 5000)',
    }),
  }

  async run(): Promise<ProbeResult> {
    const {args, flags} = await this.parse(PluginProbe)
    const result = await probePlugin(args.launcher, {protocol: flags.protocol, handshakeMs: flags['handshake-timeout']})
    this.log(
      table([
        ['protocol', `${result.protocol} (AvalancheGo ${result.releases.join(', ')})`],
        ['version', result.version],
        ['handshake', `${result.handshakeMs} ms`],
      ]),
    )
    this.log(ok('ok'))
    return result
  }
}
