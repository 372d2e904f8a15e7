import {BaseCommand} from '../base-command.js'
import {withChain} from '../chain/open.js'
import {type BlockJson, blockJson} from '../chain/view.js'
import {chainFlags, chainOptions} from '../flags.js'
import {blockTable} from '../output.js'

export default class LastAccepted extends BaseCommand {
  static override summary = 'Show the last accepted block (the tip of the chain)'
  static override description = 'The same block getBlock returns without an ID; see tsvm get-block for lookups by ID, height or payload.'

  static override examples = [
    {
      command: '<%= config.bin %> <%= command.id %> --json',
      description: 'As JSON:\n  {"id": "...", "parentID": "...", "height": "1", "timestamp": "1700000000", "time": "2023-11-14T22:13:20.000Z", "data": "0x...", ..., "status": "Accepted", "bytes": "..."}',
    },
  ]

  static override flags = {...chainFlags}

  async run(): Promise<BlockJson> {
    const {flags} = await this.parse(LastAccepted)
    const last = await withChain(chainOptions(flags, this.config), (chain) => chain.lastAccepted())
    const view = blockJson(last.block, last.status)
    this.log(blockTable(view))
    return view
  }
}
