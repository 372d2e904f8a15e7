import {Args} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {receiptText} from '../proof/format.js'
import {receiptToJson} from '../proof/receipt.js'
import {checkReceipt, loadReceipt, type VerifyResult} from '../proof/verify.js'

export default class Info extends BaseCommand {
  static override summary = 'Show what a receipt claims, and whether it is consistent'
  static override description = `Reads a .tsvm receipt and shows its item, Merkle position, payload, block and chain. The "check" row
is the offline verification of the receipt against itself (the item file is not read: use verify for
that). With --json, the receipt itself is printed with the check added.`

  static override examples = [
    {
      command: '<%= config.bin %> <%= command.id %> contracts/2026/nda.pdf.tsvm',
      description:
        'A receipt from a stamp of two files:\n  status     complete\n  item       e0a44de9c17799fd9699522d688a287e665495538b5db57b146689215e8099a8\n  name       contracts/2026/nda.pdf\n' +
        '  merkle     leaf 1 of 2, path of 1\n  payload    fcea15d7116709c1b53d989b0cc563727b47839051c9f29a3dcaefdf656d9dca\n' +
        '  block      Jhx64gwMbe51KotRHsK2x6aU7ce2EAzd2m53u8D3L9XwhBvvB\n  height     2\n  time       2026-11-25T16:15:23.000Z (1795623323)\n' +
        '  chain      embedded /tmp/ex/chain\n  createdAt  2026-11-25T16:15:23.059Z\n  check      consistent (offline)',
    },
    {command: '<%= config.bin %> <%= command.id %> report.pdf.tsvm --json', description: 'The receipt as JSON, with the offline check.'},
  ]

  static override args = {
    receipt: Args.string({description: 'a .tsvm receipt file', required: true}),
  }

  async run(): Promise<Record<string, unknown> & {check: VerifyResult}> {
    const {args} = await this.parse(Info)
    const receipt = await loadReceipt(args.receipt)
    const check = checkReceipt(receipt)
    this.log(receiptText(receipt, check))
    return {...receiptToJson(receipt), check}
  }
}
