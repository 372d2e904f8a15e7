import {BaseCommand} from '../base-command.js'
import {withChain} from '../chain/open.js'
import {chainFlags, chainOptions} from '../flags.js'
import {blockTable} from '../output.js'
import {type BlockJson, blockJson} from '../output/json.js'

export default class LastAccepted extends BaseCommand {
  static override summary = 'Show the last accepted block (the tip of the chain)'
  static override description =
    'The same block getBlock returns without an ID; see tsvm get-block for lookups by ID, height or payload.'
  static override examples = [
    {
      command: '<%= config.bin %> <%= command.id %> --json',
      description:
        'As JSON:\n  {"id": "uRZjcoa8D6CaCNJHdwLWiLYxK72nVy35bLe3rcXAWg4Wcvfpv", "parentID": "8Q5UN3Q7BfeyBouX6LNKJY5DSWdZMmWXkPE7han6CeNVcmgvD", "height": "1", "timestamp": "1700000000", "time": "2023-11-14T22:13:20.000Z", "data": "0x9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08e82209f4", ..., "status": "Accepted", ...}',
    },
  ]
  static override flags = {...chainFlags}

  async run(): Promise<BlockJson> {
    const {flags} = await this.parse(LastAccepted)
    const last = await withChain(
      {...chainOptions(flags, this.config), create: false, progress: (label) => this.progress(label)},
      (chain) => chain.lastAccepted(),
    )
    const view = blockJson(last.block, last.status)
    this.log(blockTable(view))
    return view
  }
}
