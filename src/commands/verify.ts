import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {verifyText} from '../proof/format.js'
import {assertVerified, loadReceipt, verifyReceipt, verifyTarget, type VerifyResult} from '../proof/verify.js'

export default class Verify extends BaseCommand {
  static override summary = 'Prove that a file (or hash) existed by the time of a block, from its receipt'
  static override description = `Recomputes the file's SHA-256, folds the receipt's Merkle path up to the payload, and checks that
the payload is the data of the receipt's block and that the block ID is the SHA-256 of its 82 bytes.
This needs no node and no data dir. Exit codes: 0 verified, 3 pending or block not found,
4 invalid (the file or the receipt was changed), 5 node unreachable.`

  static override examples = [
    {
      command: '<%= config.bin %> <%= command.id %> report.pdf',
      description: 'Offline, against report.pdf.tsvm:\n  verified report.pdf existed no later than 2026-11-25T16:20:00.000Z (block 2bGvvdDxs8H5u8GsdMy5vcz8ccbF8qo3B2xWdKcfBTSKKPwTJm, height 1)',
    },
    {command: '<%= config.bin %> <%= command.id %> 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 --receipt proofs/test.tsvm', description: 'A bare hash and its receipt.'},
  ]

  static override args = {
    item: Args.string({description: 'the stamped file, or its 32-byte hash (hex or CB58)', required: true}),
  }

  static override flags = {
    receipt: Flags.string({char: 'r', description: 'the receipt (default: <file>.tsvm, or <hex>.tsvm for a hash)'}),
  }

  async run(): Promise<VerifyResult> {
    const {args, flags} = await this.parse(Verify)
    const target = await verifyTarget(args.item, flags.receipt)
    const receipt = await loadReceipt(target.receipt)
    const result = await verifyReceipt(receipt, target)
    // not verified: the error (its message is the reason) goes to stderr with its exit code
    assertVerified(result)
    this.log(verifyText(result))
    return result
  }
}
