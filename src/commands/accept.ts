import {Args} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {withChain} from '../chain/open.js'
import {chainOptions, localChainFlags} from '../flags.js'
import {blockTable} from '../output.js'
import {type BlockJson, blockJson} from '../output/json.js'
import {idFromString} from '../vm/encoding.js'

export default class Accept extends BaseCommand {
  static override summary = 'Accept a processing block'
  static override description = `Only a processing block (built by tsvm build, or proposed with --no-wait and built) can be accepted: BLOCK_NOT_PROCESSING otherwise. Its parent must be the last accepted block (accept ancestors first: ACCEPT_OUT_OF_ORDER otherwise). Processing blocks that conflict with it (its siblings and their descendants) are rejected in the same write, which is synced to disk before this command reports.`
  static override examples = [
    {
      command: '<%= config.bin %> <%= command.id %> XzUpcc4UGVPUnh2LMKUdStRdzUR6St9Xx7aShNnBzQ85RiAbt',
      description:
        'Accept a built block:\n  id         XzUpcc4UGVPUnh2LMKUdStRdzUR6St9Xx7aShNnBzQ85RiAbt\n  status     Accepted\n  parentID   uRZjcoa8D6CaCNJHdwLWiLYxK72nVy35bLe3rcXAWg4Wcvfpv\n  height     2\n  ...',
    },
  ]
  static override args = {
    id: Args.string({description: 'the block ID (CB58)', required: true}),
  }
  static override flags = {...localChainFlags}

  async run(): Promise<BlockJson> {
    const {args, flags} = await this.parse(Accept)
    const id = idFromString(args.id, 'block ID')
    const done = await withChain({...chainOptions(flags, this.config), create: false}, (chain) => chain.accept(id))
    const view = blockJson(done.block, done.status)
    this.log(blockTable(view))
    return view
  }
}
