import {BaseCommand} from '../base-command.js'
import {withChain} from '../chain/open.js'
import {chainOptions, localChainFlags} from '../flags.js'
import {ok, problemLines} from '../output.js'
import {checkJson, type CheckJson} from '../output/json.js'
import {TsvmError} from '../vm/errors.js'

export default class Check extends BaseCommand {
  static override summary = 'Verify the whole stored chain, like git fsck'
  static override description = `Reads every stored block and index and checks: each block is stored under the sha256 of its bytes; accepted heights run from 0 without gaps, each block's parent is the block below and timestamps never decrease; the genesis matches the recorded genesis bytes; the last accepted block is the top; the payload index lists exactly the known blocks; processing blocks have known parents; the last accepted block is less than an hour ahead of this machine's clock (else no block can be built on it). Exits 4 (CHAIN_CHECK_FAILED) and lists the problems when anything disagrees.`
  static override examples = [
    {
      command: '<%= config.bin %> <%= command.id %>',
      description: 'A healthy chain:\n  ok: 3 blocks, last accepted height 1',
    },
  ]
  static override flags = {...localChainFlags}

  async run(): Promise<CheckJson> {
    const {flags} = await this.parse(Check)
    const progress = this.progress('checking')
    const report = await withChain({...chainOptions(flags, this.config), create: false}, (chain) =>
      chain.check({onProgress: progress?.update}),
    )
    progress?.end()
    if (!report.ok) {
      if (!this.jsonEnabled()) this.log(problemLines(report.problems))
      const clockOnly = report.problems.every((p) => p.kind === 'tip-in-future')
      throw new TsvmError(
        'CHAIN_CHECK_FAILED',
        clockOnly
          ? 'the stored chain is intact, but no block can be built on it until the clock reaches its last block: set the clock right, or wait'
          : `the chain has ${report.problems.length} problem${report.problems.length === 1 ? '' : 's'}: restore the data dir from a backup or rebuild the chain`,
        {details: {...checkJson(report)}},
      )
    }

    this.log(ok(`ok: ${report.blocks} blocks, last accepted height ${report.lastAcceptedHeight}`))
    return checkJson(report)
  }
}
