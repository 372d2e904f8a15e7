import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {withChain} from '../chain/open.js'
import {chainFlags, chainOptions} from '../flags.js'
import {blockLines, blockTable} from '../output.js'
import {type BlockJson, blockJson, blockListJson, type BlockListJson} from '../output/json.js'
import {idFromString, parsePayload} from '../vm/encoding.js'
import {TsvmError} from '../vm/errors.js'

export default class GetBlock extends BaseCommand {
  static override summary = 'Show a block: by ID, by height, or the blocks holding a payload'
  static override description = `Without an ID, shows the last accepted block (as getBlock does with no id). Shows the ID, parent, height, timestamp (unix and ISO), data as plain hex, checksummed hex and CB58, status, and the 82 block bytes. --height looks up the accepted block at a height; --data lists every known block (accepted, rejected or processing) whose payload is the given one.`
  static override examples = [
    {
      command: '<%= config.bin %> <%= command.id %> --height 0',
      description:
        'The genesis block of the default chain (empty genesis):\n  id         8Q5UN3Q7BfeyBouX6LNKJY5DSWdZMmWXkPE7han6CeNVcmgvD\n  status     Accepted\n  parentID   11111111111111111111111111111111LpoYY\n  height     0\n  timestamp  0 (1970-01-01T00:00:00.000Z)\n  ...',
    },
    {
      command:
        '<%= config.bin %> <%= command.id %> --data 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
      description: 'Where is this payload?',
    },
  ]
  static override args = {
    id: Args.string({description: 'the block ID (CB58); default: the last accepted block', ignoreStdin: true}),
  }
  static override flags = {
    ...chainFlags,
    height: Flags.integer({min: 0, description: 'the accepted block at this height', exclusive: ['data']}),
    data: Flags.string({
      description: 'list the blocks whose payload is this (hex, checksummed hex or CB58)',
      exclusive: ['height'],
    }),
  }

  async run(): Promise<BlockJson | BlockListJson> {
    const {args, flags} = await this.parse(GetBlock)
    if (args.id !== undefined && (flags.height !== undefined || flags.data !== undefined)) {
      throw new TsvmError('USAGE', 'pass a block ID, --height or --data, not several')
    }

    const id = args.id === undefined ? undefined : idFromString(args.id, 'block ID')
    const data = flags.data === undefined ? undefined : parsePayload(flags.data).data
    const found = await withChain(
      {...chainOptions(flags, this.config), create: false, progress: (label) => this.progress(label)},
      async (chain) => {
        if (data !== undefined) return chain.findByData(data)
        if (id !== undefined) return chain.getBlock(id)
        if (flags.height !== undefined) return chain.getBlockAtHeight(BigInt(flags.height))
        return chain.lastAccepted()
      },
    )
    if (Array.isArray(found)) {
      const list = blockListJson(found)
      if (list.blocks.length === 0) {
        // exit 3 as an unknown block ID does, so `get-block --data H` answers "is H on the chain?"
        throw new TsvmError(
          'BLOCK_NOT_FOUND',
          'no block (accepted, rejected or processing) holds this payload: it was never proposed here',
          {
            details: {data: flags.data},
          },
        )
      }

      this.log(blockLines(list.blocks))
      return list
    }

    const view = blockJson(found.block, found.status)
    this.log(blockTable(view))
    return view
  }
}
