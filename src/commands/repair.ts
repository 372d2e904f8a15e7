import {Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {dataDirFlag, embeddedDataDir} from '../flags.js'
import {ok, problemLines, table} from '../output.js'
import {repairJson, type RepairJson} from '../output/json.js'
import {repairDataDir} from '../chain/repair.js'
import {TsvmError} from '../vm/errors.js'

export default class Repair extends BaseCommand {
  static override summary = "Repair a damaged embedded chain with LevelDB's RepairDB, after backing it up"
  static override description = `For a data dir that fails with DB_CORRUPT: a missing or damaged CURRENT or MANIFEST, or unreadable table files. The data dir is never changed in place: it is locked against every other tsvm process, copied, LevelDB rebuilds the copy's MANIFEST from the table and log files that are still readable (unreadable tables go into lost/), and the copy is checked as tsvm check does. Only then does the copy take the data dir's place, and the data dir as it was becomes the backup (<data dir>.backup-<UTC time>, or --backup). Needs room for one copy, next to the data dir.

Exits 0 when the repaired chain passes the check. When it does not (blocks were in files that could not be read), it exits 4 (CHAIN_CHECK_FAILED) and lists the problems; restore the backup or rebuild the chain then. Refuses, changing nothing, a data dir that holds no database or that another process has open (stop tsvm serve first). While it runs, other commands on the data dir are refused; if it is killed, they are refused (REPAIR_INCOMPLETE) until tsvm repair is run again, which finishes or redoes it.`
  static override examples = [
    {
      command: '<%= config.bin %> <%= command.id %> --data-dir /tmp/chain',
      description:
        'A chain whose CURRENT file was lost:\n  dataDir  /tmp/chain\n  backup   /tmp/chain.backup-20261125T203000Z\n  ok: 1201 blocks, last accepted height 1200',
    },
    {
      command: '<%= config.bin %> <%= command.id %> --backup /mnt/safe/chain-copy',
      description: 'Keep the copy somewhere else.',
    },
  ]
  static override flags = {
    'data-dir': dataDirFlag,
    backup: Flags.string({
      description: 'where the data dir as it was goes [default: <data dir>.backup-<UTC time>]',
      exclusive: ['no-backup'],
    }),
    'no-backup': Flags.boolean({
      description: 'keep no backup: the data dir as it was is deleted once the repaired copy is in place',
      exclusive: ['backup'],
    }),
  }

  async run(): Promise<RepairJson> {
    const {flags} = await this.parse(Repair)
    // Always the embedded chain, as serve: a node's database is repaired on the node.
    const where = embeddedDataDir(flags['data-dir'], this.config)
    const {dataDir, backup, check} = await repairDataDir(where, {backup: flags['no-backup'] ? false : flags.backup})
    this.log(
      table([
        ['dataDir', dataDir],
        ['backup', backup ?? '(none)'],
      ]),
    )
    if (!check.ok) {
      if (!this.jsonEnabled()) this.log(problemLines(check.problems))
      throw new TsvmError(
        'CHAIN_CHECK_FAILED',
        `the repaired chain has ${check.problems.length} problem${check.problems.length === 1 ? '' : 's'}: ` +
          (backup ? `restore ${backup} or rebuild the chain` : 'rebuild the chain'),
        {details: {...repairJson(dataDir, backup, check)}},
      )
    }

    this.log(ok(`ok: ${check.blocks} blocks, last accepted height ${check.lastAcceptedHeight}`))
    return repairJson(dataDir, backup, check)
  }
}
