import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {openChain} from '../chain/open.js'
import {chainFlags, chainOptions} from '../flags.js'
import {upgradeJson, type UpgradedJson} from '../output/json.js'
import {upgradeText} from '../output/proof.js'
import {chainOptionsFor, type Checkpoint, existingChain, upgradeReceipts} from '../proof/upgrade.js'
import {idFromString} from '../vm/encoding.js'
import {TsvmError} from '../vm/errors.js'

export default class Upgrade extends BaseCommand {
  static override summary = 'Complete pending receipts, and add headers up to a checkpoint for offline verification'
  static override description = `A receipt written with \`stamp --no-wait\` (or after a timeout) is pending: it has no block yet. This asks the chain for the accepted block holding the receipt's payload and, when there is one, rewrites the receipt atomically as complete.

With --checkpoint ID (or last), it also adds to each receipt the headers of the accepted blocks from its block up to that checkpoint. Anyone who trusts the checkpoint's ID (published once, anywhere) can then verify every such receipt offline with \`tsvm verify --trust ID\`.

The chain is --data-dir/--endpoint (or TSVM_DATA_DIR/TSVM_ENDPOINT), else the data dir a receipt names. An endpoint named only by a receipt is never contacted: pass it with --endpoint to confirm it. A chain whose genesis or chain ID differs from the receipt's is refused (CHAIN_MISMATCH). Exits 3 when any receipt is still pending.`
  static override examples = [
    {
      command: '<%= config.bin %> <%= command.id %> big.iso.tsvm',
      description:
        'Before the payload is accepted (exit 3), and after:\n  pending   big.iso.tsvm: payload not accepted yet\n  upgraded  big.iso.tsvm: block 2UkM3VHUsznVNBC4rBNneYDbuoSi8xaU8PReUL7DnWV8ycixxW, height 3, 2026-11-25T16:15:25.000Z',
    },
    {
      command:
        '<%= config.bin %> <%= command.id %> receipts/*.tsvm --endpoint http://127.0.0.1:9650/ext/bc/timestampvm --checkpoint last',
      description:
        'Add headers up to the last accepted block, then publish its ID:\n  upgraded  receipts/report.pdf.tsvm: block a8i27xc3Q2jB413oGULVtR5dQdu3yJqB9b9i1qTuuSTwN2k89, height 1, 2026-11-26T13:11:14.000Z; 2 headers up to checkpoint zA4uq3RhHxEff9AkXteTeT3CXheFGMDMzRrLa7jXbmqZukgtE (height 3): verify with --trust zA4uq3RhHxEff9AkXteTeT3CXheFGMDMzRrLa7jXbmqZukgtE',
    },
  ]
  static override strict = false
  static override args = {
    receipts: Args.string({description: '.tsvm receipts', required: true}),
  }
  static override flags = {
    ...chainFlags,
    checkpoint: Flags.custom<Checkpoint>({
      description:
        'add headers from each receipt\'s block up to this accepted block ID, or "last" for the last accepted block',
      parse: async (input) => (input === 'last' ? 'last' : idFromString(input, '--checkpoint')),
    })(),
  }

  async run(): Promise<{receipts: UpgradedJson[]}> {
    const {argv, flags} = await this.parse(Upgrade)
    // the chain given (flag or environment), else the data dir each receipt names; never create a chain
    const given = flags['data-dir'] ?? flags.endpoint ?? (process.env.TSVM_DATA_DIR || process.env.TSVM_ENDPOINT)
    let shared: ReturnType<typeof openChain> | undefined
    const receipts = await upgradeReceipts(
      argv as string[],
      (r, path) => {
        if (given === undefined) return openChain({...chainOptionsFor(r.chain, path), autoInit: false})
        shared ??= openChain({...existingChain(chainOptions(flags, this.config)), autoInit: false})
        return shared
      },
      {checkpoint: flags.checkpoint},
    )
    this.log(upgradeText(receipts))
    const pending = receipts.filter((r) => r.status === 'pending').length
    if (pending > 0)
      throw new TsvmError(
        'PENDING',
        `${pending} receipt(s) still pending: their payload is not in an accepted block yet; try again later`,
        {details: upgradeJson(receipts)},
      )
    return upgradeJson(receipts)
  }
}
