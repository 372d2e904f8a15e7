import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {id, table} from '../output.js'
import {idFromString, idToString, toHex} from '../vm/encoding.js'
import {TsvmError} from '../vm/errors.js'
import {vmIdFromName, vmNameFromId} from '../vm/vmid.js'

export default class VmId extends BaseCommand {
  static override summary = 'Compute the VM ID of a VM name, or the name behind a VM ID'
  static override description = `A VM ID is the UTF-8 name right-padded with zeros to 32 bytes, shown as CB58 (the convention of
avalanche-cli and avalanche-network-runner). Names over 32 bytes need --hash, which uses sha256(name).
With --reverse, the argument is a VM ID and the name it was made from is printed.`
  static override examples = [
    {command: '<%= config.bin %> <%= command.id %> timestampvm', description: 'The VM ID of timestampvm:'},
    {command: '<%= config.bin %> <%= command.id %> timestampvm --hash', description: 'The sha256 variant:'},
    {
      command: '<%= config.bin %> <%= command.id %> --reverse tGas3T58KzdjcJ2iKSyiYsWiqYctRXaPTqBCA11BqEkNg8kPc',
      description: 'Back from an ID to its name:',
    },
  ]
  static override args = {
    value: Args.string({description: 'a VM name (or, with --reverse, a CB58 VM ID)', required: true}),
  }
  static override flags = {
    hash: Flags.boolean({
      description: 'use sha256(name) instead of the zero-padded name (any length)',
      exclusive: ['reverse'],
    }),
    reverse: Flags.boolean({description: 'the argument is a VM ID: print the name it was made from'}),
  }

  async run(): Promise<{name: string; vmID: string; hex: string; hashed: boolean}> {
    const {args, flags} = await this.parse(VmId)
    const bytes = flags.reverse ? idFromString(args.value, 'VM ID') : vmIdFromName(args.value, {hash: flags.hash})
    const name = flags.reverse ? vmNameFromId(bytes) : args.value
    if (name === undefined) {
      throw new TsvmError(
        'VM_NAME_UNKNOWN',
        `${args.value} was not made from a name: its bytes are not UTF-8 text right-padded with zeros (a --hash VM ID cannot be reversed)`,
        {details: {vmID: idToString(bytes), hex: toHex(bytes)}},
      )
    }

    const result = {name, vmID: idToString(bytes), hex: toHex(bytes), hashed: Boolean(flags.hash)}
    if (flags.reverse) {
      this.log(name)
    } else {
      this.log(id(result.vmID))
    }

    if (process.stdout.isTTY && !flags.reverse) this.log(table([['hex', result.hex]]))
    return result
  }
}
