import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {openChain, withChain} from '../chain/open.js'
import {chainFlags, chainOptions, timestampFlag, waitTimeoutFlag} from '../flags.js'
import {resumeText, skippedNotes, stampText} from '../output/proof.js'
import {stampInterrupted, startNotes} from '../proof/interrupt.js'
import {pendingDir} from '../proof/pending.js'
import {stampProgress} from '../proof/progress.js'
import {resumeStamps} from '../proof/resume.js'
import {stamp} from '../proof/stamp.js'
import {resumeJson, type ResumedJson, stampJson, type StampJson} from '../output/json.js'

export default class Stamp extends BaseCommand {
  static override summary =
    'Prove files existed: put their hash (or a Merkle root of many) in one block and write receipts'
  static override description = `Hashes each file (directories recursively; - reads hashes from stdin, one per line), proposes one
32-byte payload (the hash itself for one item, the Merkle root for several), waits until it is
accepted, and writes a receipt per item: <file>.tsvm next to the file, or under --out mirroring
relative paths. A receipt is verified later with \`tsvm verify\` against this chain or a checkpoint. Symlinks, special files and
names that are not valid UTF-8 inside directories are skipped and reported; existing receipts are
never overwritten without --force.

Nothing is proposed unless every receipt can be written (RECEIPT_UNWRITABLE otherwise: pass
--out). Receipts are written atomically and durably (temp file, sync, rename). Until they all
are, a record of the run is kept in $XDG_DATA_HOME/tsvm/pending-receipts (~/.local/share/tsvm/...):
if writing fails after the block is accepted (RECEIPTS_INCOMPLETE) or the run is killed or
interrupted, \`tsvm stamp --resume\` writes the missing receipts from it, with the same block: never
a second block for the same run. Ctrl-C stops at once (exit 130) and says how far the run got
(with --json, an object listing the receipts written and those not).`
  static override examples = [
    {
      command: '<%= config.bin %> <%= command.id %> report.pdf',
      description:
        'One file: its SHA-256 is the payload; the receipt is report.pdf.tsvm:\n  items      1\n  payload    9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\n  status     complete\n' +
        '  block      7WpmhAxekZwVX7wHnCQfc8Bd6mxAXfyjMvFqFXr8PipAnSXV8\n  height     1\n  existedBy  2026-11-25T16:15:22.000Z\n  receipt    /tmp/ex/report.pdf.tsvm',
    },
    {
      command: "<%= config.bin %> <%= command.id %> contracts --glob '*.pdf'",
      description:
        'Every PDF under contracts/ in one block (a Merkle root):\n  items      2\n  payload    fcea15d7116709c1b53d989b0cc563727b47839051c9f29a3dcaefdf656d9dca\n  status     complete\n' +
        '  block      Jhx64gwMbe51KotRHsK2x6aU7ce2EAzd2m53u8D3L9XwhBvvB\n  height     2\n  existedBy  2026-11-25T16:15:23.000Z\n  receipt    2 receipts, e.g. /tmp/ex/contracts/2026/lease.pdf.tsvm',
    },
    {
      command: '<%= config.bin %> <%= command.id %> big.iso --no-wait',
      description: 'Queue only; the receipt is pending until `tsvm upgrade` completes it.',
    },
    {
      command: 'sha256sum *.log | cut -c1-64 | <%= config.bin %> <%= command.id %> - --out proofs',
      description: 'Hashes from stdin; receipts are proofs/<hex>.tsvm.',
    },
    {
      command: '<%= config.bin %> <%= command.id %> --resume',
      description: 'Finish the receipts of runs that were interrupted or could not write them; no new block.',
    },
  ]
  static override strict = false
  static override args = {
    paths: Args.string({description: 'files or directories to stamp, or - for hashes on stdin', ignoreStdin: true}),
  }
  static override flags = {
    ...chainFlags,
    glob: Flags.string({
      multiple: true,
      multipleNonGreedy: true,
      description: 'only files in directories matching this glob (*, ?, **); repeatable',
    }),
    // was --out-dir (an alias until the next minor version): -o/--out as genesis --out
    out: Flags.string({
      char: 'o',
      aliases: ['out-dir'],
      helpValue: '<dir>',
      description: 'write receipts under this directory instead of next to each file',
    }),
    wait: Flags.boolean({
      default: true,
      allowNo: true,
      description: 'wait until the payload is accepted; --no-wait writes pending receipts',
    }),
    timeout: waitTimeoutFlag,
    force: Flags.boolean({description: 'replace existing receipts'}),
    resume: Flags.boolean({
      description:
        'finish the receipts of interrupted stamp runs, on the chain each was stamped on, with the block it got',
      exclusive: ['glob', 'out'],
    }),
    timestamp: timestampFlag({description: 'block time in unix seconds (embedded chain; still verified)'}),
  }

  async run(): Promise<StampJson | {runs: ResumedJson[]}> {
    const {argv, flags} = await this.parse(Stamp)
    const pending = pendingDir(process.env, this.config.home)
    const progress = stampProgress((label, unit) => this.progress(label, unit))
    const common = {...progress.options, force: flags.force, timeoutMs: flags.timeout * 1000, pendingDir: pending}
    if (flags.resume) {
      const open = (where: {dataDir?: string; endpoint?: string}) => openChain({...where, autoInit: false})
      const resumed = await resumeStamps(pending, open, {...common, paths: argv as string[]})
      progress.end()
      this.log(resumeText(resumed))
      return resumeJson(resumed)
    }

    for (const note of startNotes(argv, pending)) this.note(note)
    let finished = false
    // Kept to the end: receipts are written synchronously, so a Ctrl-C there is seen once they are done.
    this.exitOnInterrupt(() => stampInterrupted(pending, finished))
    this.trace('started')
    const {glob, out: outDir, wait, timestamp} = flags
    const result = await withChain(chainOptions(flags, this.config), (chain) =>
      stamp(chain, argv as string[], {...common, globs: glob ?? [], outDir, wait, timestamp, stdin: process.stdin}),
    )
    finished = true
    progress.end()
    for (const note of skippedNotes(result.skipped)) this.note(note)
    this.log(stampText(result))
    return stampJson(result)
  }
}
