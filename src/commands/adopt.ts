import {BaseCommand} from '../base-command.js'
import {adoptDataDir} from '../chain/adopt.js'
import {dataDirFlag, embeddedDataDir} from '../flags.js'
import {adoptionText, ok, problemLines} from '../output.js'
import {adoptJson, type AdoptJson} from '../output/json.js'
import {TsvmError} from '../vm/errors.js'

export default class Adopt extends BaseCommand {
  static override summary = 'Adopt a chain the Go TimestampVM wrote, then check it'
  static override description = `For a data dir the Go timestampvm (v1.3.x) wrote: it holds the blocks, the last accepted ID and the initialized flag, but none of tsvm's indexes. Every stored block is read and verified first (its bytes hash to its key; the walk from the last accepted block by parent IDs reaches the genesis block, heights rising by one and timestamps never falling); then the height and payload indexes, the genesis bytes (the genesis block's padded data) and the preference are written in batches, and the chain is checked as tsvm check does. An adoption that was interrupted is finished.

Any command that opens the data dir adopts it the same way; this command lets you do it, and see the result, before starting a node. A damaged state is refused with ADOPT_FAILED (exit 6), naming the height and ID where the walk stopped, and nothing is written. A data dir that already holds tsvm's indexes is only checked.`
  static override examples = [
    {
      command: '<%= config.bin %> <%= command.id %> --data-dir /srv/timestampvm/db',
      description:
        'A chain the Go VM wrote:\n  adopted the chain the Go VM left in /srv/timestampvm/db: 1201 accepted blocks and 3 rejected, last accepted height 1200, indexed in 0.05 s\n  ok: 1204 blocks, last accepted height 1200',
    },
  ]
  static override flags = {'data-dir': dataDirFlag}

  async run(): Promise<AdoptJson> {
    const {flags} = await this.parse(Adopt)
    const {dataDir, adopted, check} = await adoptDataDir(embeddedDataDir(flags['data-dir'], this.config))
    this.log(adopted ? adoptionText(adopted, dataDir) : `nothing to adopt: ${dataDir} already holds tsvm's indexes`)
    if (!check.ok) {
      if (!this.jsonEnabled()) this.log(problemLines(check.problems))
      throw new TsvmError(
        'CHAIN_CHECK_FAILED',
        `the chain has ${check.problems.length} problem${check.problems.length === 1 ? '' : 's'} after adoption: restore the data dir from a backup or resync the chain`,
        {details: {...adoptJson(dataDir, adopted, check)}},
      )
    }

    this.log(ok(`ok: ${check.blocks} blocks, last accepted height ${check.lastAcceptedHeight}`))
    return adoptJson(dataDir, adopted, check)
  }
}
