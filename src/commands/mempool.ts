import {BaseCommand} from '../base-command.js'
import {withChain} from '../chain/open.js'
import {chainOptions, localChainFlags} from '../flags.js'
import {blockLines, columns} from '../output.js'
import {mempoolJson, type MempoolJson} from '../output/json.js'

export default class Mempool extends BaseCommand {
  static override summary = 'List the queued payloads, oldest first, and the processing blocks'
  static override description = `Payloads proposed with --no-wait wait here, in the order tsvm build takes them. Each row is the position, the payload hex and its checksummed hex (the form getBlock prints). Blocks already built from queued payloads but not yet accepted or rejected are listed after them. The mempool is kept on disk with the chain. Like the Go VM (v1.3), it refuses new payloads once it holds more than 4096.`
  static override examples = [
    {
      command: '<%= config.bin %> <%= command.id %>',
      description:
        'One queued payload:\n  0  3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d  0x3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d90b08db9',
    },
  ]
  static override flags = {...localChainFlags}

  async run(): Promise<MempoolJson> {
    const {flags} = await this.parse(Mempool)
    const [queued, building] = await withChain({...chainOptions(flags, this.config), create: false}, async (chain) =>
      Promise.all([chain.mempool(), chain.processing?.() ?? []]),
    )
    const result = mempoolJson(queued, building)
    if (result.payloads.length === 0) this.note('(the mempool is empty)')
    else this.log(columns(result.payloads.map((p) => [String(p.index), p.dataHex, p.data])))
    if (result.blocks.length > 0)
      this.log(`processing blocks (tsvm accept / tsvm reject):\n${blockLines(result.blocks)}`)
    return result
  }
}
