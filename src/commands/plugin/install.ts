import {join} from 'node:path'

import {Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {id, table, warn} from '../../output.js'
import {pluginInstallJson, type PluginInstallJson} from '../../output/json.js'
import {DEFAULT_VM_NAME, installPlugin} from '../../plugin/install.js'

export default class PluginInstall extends BaseCommand {
  static override summary = 'Install tsvm as an AvalancheGo VM plugin: one launcher file in the node’s plugin dir'
  static override description = `Writes <plugin-dir>/<vmID>, a /bin/sh launcher (mode 755) that runs this node binary on tsvm's plugin entry with absolute paths, so it works with the empty environment AvalancheGo starts plugins in, and when avalanche-cli copies it elsewhere. Nothing else is written to the dir: the node stops at any file name it cannot resolve as a VM ID or alias.

The default VM ID is the one of the name "${DEFAULT_VM_NAME}", the ID the Go timestampvm builds use, so tsvm replaces them as is. The node requires the plugin's rpcchainvm protocol to equal its own: pass the node's release (--avalanchego) or the protocol (--protocol, default 45 = AvalancheGo v1.14.2).`
  static override examples = [
    {
      command: '<%= config.bin %> <%= command.id %> --plugin-dir ~/.avalanchego/plugins',
      description:
        'Install for AvalancheGo v1.14.2:\n  vmID      tGas3T58KzdjLHhBDMnH2TvrddhqTji5iZAMZ3RXs2NLpSnhH\n  protocol  45 (AvalancheGo v1.14.2)\n  launcher  /home/me/.avalanchego/plugins/tGas3T58KzdjLHhBDMnH2TvrddhqTji5iZAMZ3RXs2NLpSnhH\n  aliases   {"tGas3T58KzdjLHhBDMnH2TvrddhqTji5iZAMZ3RXs2NLpSnhH":["timestamp"]}',
    },
    {
      command: '<%= config.bin %> <%= command.id %> --plugin-dir ./plugins --avalanchego v1.14.1',
      description: 'For a v1.14.1 node (protocol 44).',
    },
    {
      command: '<%= config.bin %> <%= command.id %> --plugin-dir ./plugins --name mychain --json',
      description: 'Under the VM ID of another name, as JSON.',
    },
  ]
  static override flags = {
    'plugin-dir': Flags.string({
      description: "the node's plugin dir (its --plugin-dir; default there ~/.avalanchego/plugins)",
      exactlyOne: ['plugin-dir', 'out'],
    }),
    // was --output (an alias until the next minor version): -o/--out as genesis --out
    out: Flags.string({
      char: 'o',
      aliases: ['output'],
      description: 'write the launcher at exactly this path instead (what a build script is asked for)',
      exactlyOne: ['plugin-dir', 'out'],
    }),
    name: Flags.string({
      description: `the VM name whose VM ID names the file (default ${DEFAULT_VM_NAME})`,
      exclusive: ['vm-id'],
    }),
    'vm-id': Flags.string({description: 'the CB58 VM ID to name the file by, instead of a name'}),
    avalanchego: Flags.string({
      description: "the node's AvalancheGo release (e.g. v1.14.2): picks its protocol",
      exclusive: ['protocol'],
    }),
    protocol: Flags.integer({description: 'the rpcchainvm protocol to announce (42-46; default 45)'}),
    force: Flags.boolean({description: 'replace a different file of the same name'}),
  }

  async run(): Promise<PluginInstallJson> {
    const {flags} = await this.parse(PluginInstall)
    const result = await installPlugin({
      pluginDir: flags['plugin-dir'],
      output: flags.out,
      name: flags.name,
      vmId: flags['vm-id'],
      avalanchego: flags.avalanchego,
      protocol: flags.protocol,
      force: flags.force,
      entry: join(this.config.root, 'dist', 'bundle', 'plugin.js'),
    })
    this.log(
      table([
        ['vmID', id(result.vmID)],
        ['protocol', `${result.protocol} (AvalancheGo ${result.releases.join(', ')})`],
        ['launcher', `${result.launcher}${result.written ? '' : ' (unchanged)'}`],
        ['aliases', result.aliases ? JSON.stringify(result.aliases) : undefined],
      ]),
    )
    if (result.strayFiles.length > 0) {
      this.note(
        warn(
          `the node resolves every file in ${flags['plugin-dir']} as a VM ID or alias and stops at one it cannot: check ${result.strayFiles.join(', ')}`,
        ),
      )
    }

    return pluginInstallJson(result)
  }
}
