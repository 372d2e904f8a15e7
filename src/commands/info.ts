import {Args} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {receiptInfoJson, type ReceiptInfoJson} from '../output/json.js'
import {receiptText} from '../output/proof.js'
import {checkReceipt, loadReceipt, verifyError} from '../proof/verify.js'

export default class Info extends BaseCommand {
  static override summary = 'Show what a receipt claims, and whether it agrees with itself'
  static override description = `Reads a .tsvm receipt and shows its item, Merkle position, payload, block, headers and chain; the fields the proof does not cover (name, chain, createdAt) are marked as the receipt's word. The "check" row says only whether the receipt agrees with itself: info neither reads the item nor asks any chain, so it never says verified (use tsvm verify with --endpoint, --data-dir or --trust for that). With --json: the receipt path, the receipt as stored (contents) and the check (status "consistent", trust "unanchored"), as docs/json.md describes.`
  static override examples = [
    {
      command: '<%= config.bin %> <%= command.id %> contracts/2026/nda.pdf.tsvm',
      description:
        'A receipt from a stamp of two files:\n  version    2\n  status     complete\n  item       e0a44de9c17799fd9699522d688a287e665495538b5db57b146689215e8099a8\n' +
        "  name       contracts/2026/nda.pdf  (the receipt's word: not covered by the proof)\n  merkle     leaf 1 of 2, path of 1\n" +
        '  payload    e54d9f734473dcc2fa9eaaa19ab7c2f241f31d464bb3f5df4a2624574cdbbab6\n  block      2tweWctna4NB6outkn2wC6LFKdA6ry9QhA9CFXvxA1U5zYzb15\n  height     2\n' +
        "  time       2026-11-26T13:11:15.000Z (1795698675), as the block bytes say\n  chain      embedded ~/.local/share/tsvm/chain  (the receipt's word: not covered by the proof)\n" +
        "  genesisID  8Q5UN3Q7BfeyBouX6LNKJY5DSWdZMmWXkPE7han6CeNVcmgvD  (the receipt's word: verify compares it with the chain you name)\n" +
        "  createdAt  2026-11-26T13:11:15.166Z  (the receipt's word: not covered by the proof)\n" +
        '  check      consistent with itself; the item was not read and NOTHING was checked against a chain: use tsvm verify with --endpoint, --data-dir or --trust',
    },
    {
      command: '<%= config.bin %> <%= command.id %> report.pdf.tsvm --json',
      description: 'The receipt as JSON, with the offline check.',
    },
  ]
  static override args = {
    receipt: Args.string({description: 'a .tsvm receipt file', required: true}),
  }

  async run(): Promise<ReceiptInfoJson> {
    const {args} = await this.parse(Info)
    const receipt = await loadReceipt(args.receipt, 'pass the .tsvm file written by tsvm stamp')
    const check = checkReceipt(receipt)
    this.log(receiptText(receipt, check))
    return receiptInfoJson(args.receipt, receipt, check, verifyError(check))
  }
}
