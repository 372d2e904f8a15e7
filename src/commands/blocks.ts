import {Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {withChain} from '../chain/open.js'
import {chainFlags, chainOptions} from '../flags.js'
import {blockLines} from '../output.js'
import {type BlockJson, blockJson, type BlockListJson} from '../output/json.js'

export default class Blocks extends BaseCommand {
  static override summary = 'List accepted blocks, newest first'
  static override description = `One line per block: height, ID and payload hex. Blocks are read from the height index as they are printed, so a long chain starts printing at once; --json prints {"blocks": [...]} (see docs/json.md).`
  static override examples = [
    {
      command: '<%= config.bin %> <%= command.id %> --limit 2',
      description:
        'The two newest blocks:\n  1  uRZjcoa8D6CaCNJHdwLWiLYxK72nVy35bLe3rcXAWg4Wcvfpv  Accepted  9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\n  0  8Q5UN3Q7BfeyBouX6LNKJY5DSWdZMmWXkPE7han6CeNVcmgvD  Accepted  0000000000000000000000000000000000000000000000000000000000000000',
    },
    {
      command: '<%= config.bin %> <%= command.id %> --from-height 100 --limit 10 --json',
      description: 'Blocks 100 down to 91, as JSON.',
    },
  ]
  static override flags = {
    ...chainFlags,
    limit: Flags.integer({char: 'n', min: 1, default: 20, description: 'at most this many blocks'}),
    'from-height': Flags.integer({min: 0, description: 'start at this height (default: the last accepted)'}),
  }

  async run(): Promise<BlockListJson> {
    const {flags} = await this.parse(Blocks)
    const from = flags['from-height'] === undefined ? undefined : BigInt(flags['from-height'])
    const json = this.jsonEnabled()
    const views: BlockJson[] = []
    await withChain(
      {...chainOptions(flags, this.config), create: false, progress: (label) => this.progress(label)},
      async (chain) => {
        for await (const b of chain.blocks({fromHeight: from, limit: flags.limit})) {
          if (this.outputClosed) {
            this.trace(`stdout closed, stopped before height ${b.block.height}`)
            break
          }

          const view = blockJson(b.block, b.status)
          if (json) views.push(view)
          else this.log(blockLines([view]))
        }
      },
    )
    return {blocks: views}
  }
}
