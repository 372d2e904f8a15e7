import {Args} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {withChain} from '../chain/open.js'
import {chainOptions, localChainFlags} from '../flags.js'
import {blockTable} from '../output.js'
import {type BlockJson, blockJson} from '../output/json.js'
import {idFromString} from '../vm/encoding.js'

export default class Reject extends BaseCommand {
  static override summary = 'Reject a processing block'
  static override description = `Only a processing block (built by tsvm build, or proposed with --no-wait and built) can be rejected: BLOCK_NOT_PROCESSING otherwise. The block and its processing descendants are stored with status Rejected (2), as the Go VM persists rejected blocks; their payloads are not queued again.`
  static override examples = [
    {
      command: '<%= config.bin %> <%= command.id %> XzUpcc4UGVPUnh2LMKUdStRdzUR6St9Xx7aShNnBzQ85RiAbt',
      description:
        'Reject a built block:\n  id         XzUpcc4UGVPUnh2LMKUdStRdzUR6St9Xx7aShNnBzQ85RiAbt\n  status     Rejected\n  parentID   uRZjcoa8D6CaCNJHdwLWiLYxK72nVy35bLe3rcXAWg4Wcvfpv\n  height     2\n  ...',
    },
  ]
  static override args = {
    id: Args.string({description: 'the block ID (CB58)', required: true}),
  }
  static override flags = {...localChainFlags}

  async run(): Promise<BlockJson> {
    const {args, flags} = await this.parse(Reject)
    const id = idFromString(args.id, 'block ID')
    const done = await withChain({...chainOptions(flags, this.config), create: false}, (chain) => chain.reject(id))
    const view = blockJson(done.block, done.status)
    this.log(blockTable(view))
    return view
  }
}
