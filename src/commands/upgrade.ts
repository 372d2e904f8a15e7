import {Args} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {openChain} from '../chain/open.js'
import {chainFlags, chainOptions} from '../flags.js'
import {upgradeText} from '../proof/format.js'
import {chainOptionsFor, existingChain, upgradeReceipts, type UpgradeResult} from '../proof/upgrade.js'
import {TsvmError} from '../vm/errors.js'

export default class Upgrade extends BaseCommand {
  static override summary = 'Complete pending receipts once their payload is accepted'
  static override description = `A receipt written with \`stamp --no-wait\` (or after a timeout) is pending: it has no block yet. This
asks the chain the receipt names (or the one given with --data-dir/--endpoint) for the accepted block
holding the receipt's payload and, when there is one, rewrites the receipt atomically as complete.
Complete receipts are left as they are. Exits 3 when any receipt is still pending.`

  static override examples = [
    {
      command: '<%= config.bin %> <%= command.id %> big.iso.tsvm',
      description: 'Before the payload is accepted (exit 3), and after:\n  pending   big.iso.tsvm: payload not accepted yet\n  upgraded  big.iso.tsvm: block 2UkM3VHUsznVNBC4rBNneYDbuoSi8xaU8PReUL7DnWV8ycixxW, height 3, 2026-11-25T16:15:25.000Z',
    },
    {command: '<%= config.bin %> <%= command.id %> receipts/*.tsvm --data-dir ./chain', description: 'Ask a given chain instead of the one each receipt names.'},
  ]

  static override strict = false

  static override args = {
    receipts: Args.string({description: 'pending .tsvm receipts', required: true}),
  }

  static override flags = {...chainFlags}

  async run(): Promise<{receipts: UpgradeResult[]}> {
    const {argv, flags} = await this.parse(Upgrade)
    // the chain given (flag or environment), else the one each receipt names; never create a chain
    const given = flags['data-dir'] ?? flags.endpoint ?? (process.env.TSVM_DATA_DIR || process.env.TSVM_ENDPOINT)
    let shared: ReturnType<typeof openChain> | undefined
    const receipts = await upgradeReceipts(argv as string[], (r) =>
      given === undefined
        ? openChain({...chainOptionsFor(r.chain), autoInit: false})
        : (shared ??= openChain({...existingChain(chainOptions(flags, this.config)), autoInit: false})),
    )
    this.log(upgradeText(receipts))
    const pending = receipts.filter((r) => r.status === 'pending').length
    if (pending > 0) throw new TsvmError('PENDING', `${pending} receipt(s) still pending: their payload is not in an accepted block yet; try again later`, {details: {receipts}})
    return {receipts}
  }
}
