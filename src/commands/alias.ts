import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {aliasVm, defaultAliasesFile} from '../node/aliases.js'
import {id, table} from '../output.js'
import {idFromString} from '../vm/encoding.js'
import {vmIdFromName} from '../vm/vmid.js'

export default class Alias extends BaseCommand {
  static override summary = "Add VM aliases to AvalancheGo's aliases.json"
  static override description = `Creates or updates the node's VM aliases file, {"<CB58 VM ID>": ["alias", ...]}, so the node serves the VM's static API at /ext/vm/<alias> and accepts a plugin file named after the alias. The first argument is a CB58 VM ID, or a VM name turned into its VM ID (as vm-id does; --hash for sha256). Every other entry is kept, aliases are not repeated, and the file is replaced atomically. A malformed file, or an alias another VM already has, is refused and the file left untouched. Default file: $AVALANCHEGO_DATA_DIR/configs/vms/aliases.json, else ~/.avalanchego/configs/vms/aliases.json.`
  static override examples = [
    {
      command: '<%= config.bin %> <%= command.id %> timestampvm tsvm --file ./aliases.json',
      description:
        'Alias the timestampvm VM ID; the file then holds {"tGas3T58KzdjcJ2iKSyiYsWiqYctRXaPTqBCA11BqEkNg8kPc": ["tsvm"]}:\n' +
        '  file     ./aliases.json\n  vmID     tGas3T58KzdjcJ2iKSyiYsWiqYctRXaPTqBCA11BqEkNg8kPc\n  aliases  tsvm\n  added    tsvm',
    },
    {
      command: '<%= config.bin %> <%= command.id %> tGas3T58KzdjcJ2iKSyiYsWiqYctRXaPTqBCA11BqEkNg8kPc timestamp',
      description: 'By VM ID, in the default file.',
    },
  ]
  static override strict = false
  static override args = {
    vm: Args.string({description: 'a CB58 VM ID, or a VM name', required: true}),
    alias: Args.string({description: 'one or more aliases', required: true}),
  }
  static override flags = {
    file: Flags.string({char: 'f', description: 'the aliases file (default: the node data dir one)'}),
    hash: Flags.boolean({description: 'the first argument is a name whose VM ID is its sha256'}),
  }

  async run(): Promise<{file: string; vmID: string; aliases: string[]; added: string[]}> {
    const {args, argv, flags} = await this.parse(Alias)
    const vmId =
      !flags.hash && isVmId(args.vm) ? idFromString(args.vm, 'VM ID') : vmIdFromName(args.vm, {hash: flags.hash})
    const result = await aliasVm(flags.file ?? defaultAliasesFile(), vmId, (argv as string[]).slice(1))
    this.log(
      table([
        ['file', result.file],
        ['vmID', id(result.vmID)],
        ['aliases', result.aliases.join(', ')],
        ['added', result.added.length > 0 ? result.added.join(', ') : '(none: already there)'],
      ]),
    )
    return result
  }
}

function isVmId(text: string): boolean {
  try {
    idFromString(text)
    return true
  } catch {
    return false
  }
}
