import {BaseCommand} from '../base-command.js'
import {withChain} from '../chain/open.js'
import {chainOptions, localChainFlags} from '../flags.js'
import {type BlockJson, blockJson} from '../chain/view.js'
import {blockLines, columns} from '../output.js'
import {hexEncode, toHex} from '../vm/encoding.js'

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

  async run(): Promise<{
    count: number
    payloads: Array<{index: number; dataHex: string; data: string}>
    processing: BlockJson[]
  }> {
    const {flags} = await this.parse(Mempool)
    const [queued, building] = await withChain({...chainOptions(flags, this.config), create: false}, async (chain) =>
      Promise.all([chain.mempool(), chain.processing?.() ?? []]),
    )
    const payloads = queued.map((d, index) => ({index, dataHex: toHex(d), data: hexEncode(d)}))
    const processing = building
      .map((b) => blockJson(b.block, b.status))
      .sort((a, b) => Number(BigInt(a.height) - BigInt(b.height)))
    if (payloads.length === 0) this.note('(the mempool is empty)')
    else this.log(columns(payloads.map((p) => [String(p.index), p.dataHex, p.data])))
    if (processing.length > 0) this.log(`processing blocks (tsvm accept / tsvm reject):\n${blockLines(processing)}`)
    return {count: payloads.length, payloads, processing}
  }
}
