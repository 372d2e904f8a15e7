import {BaseCommand} from '../base-command.js'
import {withChain} from '../chain/open.js'
import {chainOptions, localChainFlags, timestampFlag} from '../flags.js'
import {blockTable} from '../output.js'
import {type BlockJson, blockJson} from '../output/json.js'

export default class Build extends BaseCommand {
  static override summary = 'Build one block from the oldest queued payload and leave it processing'
  static override description = `The block goes on top of the preferred block (the last accepted one, unless a processing block is preferred), at height + 1, timestamped now unless --timestamp is given, and is verified as the Go VM verifies it. If verification fails the payload stays queued. Accept the block with tsvm accept, or reject it with tsvm reject.`
  static override examples = [
    {
      command: '<%= config.bin %> <%= command.id %> --timestamp 1700000060',
      description:
        'Build a block from the queued payload:\n  id         XzUpcc4UGVPUnh2LMKUdStRdzUR6St9Xx7aShNnBzQ85RiAbt\n  status     Processing\n  parentID   uRZjcoa8D6CaCNJHdwLWiLYxK72nVy35bLe3rcXAWg4Wcvfpv\n  height     2\n  timestamp  1700000060 (2023-11-14T22:14:20.000Z)\n  ...',
    },
  ]
  static override flags = {
    ...localChainFlags,
    timestamp: timestampFlag({description: 'block time in unix seconds (still verified)'}),
  }

  async run(): Promise<BlockJson> {
    const {flags} = await this.parse(Build)
    const built = await withChain({...chainOptions(flags, this.config), create: false}, (chain) =>
      chain.build({timestamp: flags.timestamp}),
    )
    const view = blockJson(built.block, built.status)
    this.log(blockTable(view))
    return view
  }
}
