import {Args, Flags} from '@oclif/core'
import {existsSync} from 'node:fs'

import {BaseCommand} from '../base-command.js'
import {openChain} from '../chain/open.js'
import {chainFlags, chainOptions} from '../flags.js'
import {verifyText} from '../proof/format.js'
import {existingChain} from '../proof/upgrade.js'
import {assertVerified, loadReceipt, verifyReceipt, verifyTarget, type VerifyResult} from '../proof/verify.js'

export default class Verify extends BaseCommand {
  static override summary = 'Prove that a file (or hash) existed by the time of a block, from its receipt'
  static override description = `Recomputes the file's SHA-256, folds the receipt's Merkle path up to the payload, and checks that
the payload is the data of the receipt's block and that the block ID is the SHA-256 of its 82 bytes.
This needs no node and no data dir. With --data-dir or --endpoint (or TSVM_DATA_DIR naming an
existing dir, or TSVM_ENDPOINT), the block must also be accepted on that chain.
Exit codes: 0 verified, 3 pending or block not found, 4 invalid (file or receipt changed), 5 node unreachable.`

  static override examples = [
    {
      command: '<%= config.bin %> <%= command.id %> report.pdf',
      description: 'Offline, against report.pdf.tsvm:\n  verified report.pdf existed no later than 2026-11-25T16:15:22.000Z (block 7WpmhAxekZwVX7wHnCQfc8Bd6mxAXfyjMvFqFXr8PipAnSXV8, height 1)',
    },
    {
      command: '<%= config.bin %> <%= command.id %> contracts/2026/nda.pdf --data-dir ./chain',
      description:
        'Also on the chain:\n  verified contracts/2026/nda.pdf existed no later than 2026-11-25T16:15:23.000Z (block Jhx64gwMbe51KotRHsK2x6aU7ce2EAzd2m53u8D3L9XwhBvvB, height 2; accepted on ./chain)',
    },
    {command: '<%= config.bin %> <%= command.id %> 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 --receipt report.pdf.tsvm', description: 'A bare hash and its receipt.'},
  ]

  static override args = {
    item: Args.string({description: 'the stamped file, or its 32-byte hash (hex or CB58)', required: true}),
  }

  static override flags = {
    ...chainFlags,
    receipt: Flags.string({char: 'r', description: 'the receipt (default: <file>.tsvm, or <hex>.tsvm for a hash)'}),
  }

  async run(): Promise<VerifyResult> {
    const {args, flags} = await this.parse(Verify)
    const target = await verifyTarget(args.item, flags.receipt)
    const receipt = await loadReceipt(target.receipt)
    const online = this.onlineChain(flags)
    const result = online
      ? await openChain({...online, autoInit: false}).then(async (chain) => verifyReceipt(receipt, {...target, chain}).finally(() => chain.close()))
      : await verifyReceipt(receipt, target)
    // not verified: the error (its message is the reason) goes to stderr with its exit code
    assertVerified(result)
    this.log(verifyText(result))
    return result
  }

  /** Online only when a chain is named explicitly; a TSVM_DATA_DIR that does not exist means offline. */
  private onlineChain(flags: {'data-dir'?: string; endpoint?: string}) {
    if (flags['data-dir'] !== undefined || flags.endpoint !== undefined) return existingChain(chainOptions(flags, this.config))
    if (!process.env.TSVM_DATA_DIR && !process.env.TSVM_ENDPOINT) return undefined
    const options = chainOptions(flags, this.config)
    if (options.dataDir !== undefined && !existsSync(options.dataDir)) {
      this.note(`TSVM_DATA_DIR ${options.dataDir} does not exist: verified offline only`)
      return undefined
    }
    return options
  }
}
