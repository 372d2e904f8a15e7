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
      command: '<%= config.bin %> <%= command.id %> report.pdf.tsvm',
      description:
        'A complete single-file receipt:\n  status     complete\n  item       9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\n  name       report.pdf\n' +
        '  merkle     none (the item hash is the payload)\n  payload    9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\n' +
        '  block      2bGvvdDxs8H5u8GsdMy5vcz8ccbF8qo3B2xWdKcfBTSKKPwTJm\n  height     1\n  time       2026-11-25T16:20:00.000Z (1795623600)\n' +
        '  chain      embedded /home/me/.local/share/tsvm\n  createdAt  2026-11-25T16:20:00.312Z\n  check      consistent (offline)',
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
