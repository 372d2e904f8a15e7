import {BaseCommand} from '../base-command.js'
import {withChain} from '../chain/open.js'
import {chainFlags, chainOptions} from '../flags.js'
import {columns} from '../output.js'
import {hexEncode, toHex} from '../vm/encoding.js'

export default class Mempool extends BaseCommand {
  static override summary = 'List the queued payloads, oldest first'
  static override description = `Payloads proposed with --no-accept wait here, in the order tsvm build takes them. Each row is the position, the payload hex and its checksummed hex (the form getBlock prints). The mempool is kept on disk with the chain. Like the Go VM (v1.3), it refuses new payloads once it holds more than 4096.`

  static override examples = [
    {
      command: '<%= config.bin %> <%= command.id %>',
      description: 'One queued payload:\n  0  3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d  0x3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d90b08db9',
    },
  ]

  static override flags = {...chainFlags}

  async run(): Promise<{count: number; payloads: Array<{index: number; dataHex: string; data: string}>}> {
    const {flags} = await this.parse(Mempool)
    const queued = await withChain(chainOptions(flags, this.config), (chain) => chain.mempool())
    const payloads = queued.map((d, index) => ({index, dataHex: toHex(d), data: hexEncode(d)}))
    if (payloads.length === 0) this.note('(the mempool is empty)')
    else this.log(columns(payloads.map((p) => [String(p.index), p.dataHex, p.data])))
    return {count: payloads.length, payloads}
  }
}
