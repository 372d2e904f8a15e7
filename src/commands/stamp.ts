import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {openChain, withChain} from '../chain/open.js'
import {chainFlags, chainOptions} from '../flags.js'
import {resumeJson, type ResumedJson, stampJson, type StampJson} from '../output/json.js'
import {resumeText, stampText} from '../proof/format.js'
import {listRecords, pendingDir} from '../proof/pending.js'
import {writeProgress} from '../proof/progress.js'
import {resumeStamps} from '../proof/resume.js'
import {stamp} from '../proof/stamp.js'
import {TsvmError} from '../vm/errors.js'

export default class Stamp extends BaseCommand {
  static override summary =
    'Prove files existed: put their hash (or a Merkle root of many) in one block and write receipts'
  static override description = `Hashes each file (directories recursively; - reads hashes from stdin, one per line), proposes one
32-byte payload (the hash itself for one item, the Merkle root for several), waits until it is
accepted, and writes a receipt per item: <file>.tsvm next to the file, or under --out-dir mirroring
relative paths. A receipt is verified later with \`tsvm verify\` against this chain or a checkpoint. Symlinks, special files and
names that are not valid UTF-8 inside directories are skipped and reported; existing receipts are
never overwritten without --force.

Nothing is proposed unless every receipt can be written (RECEIPT_UNWRITABLE otherwise: pass
--out-dir). Receipts are written atomically and durably (temp file, sync, rename). Until they all
are, a record of the run is kept in $XDG_DATA_HOME/tsvm/pending-receipts (~/.local/share/tsvm/...):
if writing fails after the block is accepted (RECEIPTS_INCOMPLETE) or the run is killed,
\`tsvm stamp --resume\` writes the missing receipts from it, with the same block.`
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
      command: 'sha256sum *.log | cut -c1-64 | <%= config.bin %> <%= command.id %> - --out-dir proofs',
      description: 'Hashes from stdin; receipts are proofs/<hex>.tsvm.',
    },
    {
      command: '<%= config.bin %> <%= command.id %> --resume',
      description: 'Finish the receipts of runs that were interrupted or could not write them; no new block.',
    },
  ]
  static override strict = false
  static override args = {
    paths: Args.string({description: 'files or directories to stamp, or - for hashes on stdin'}),
  }
  static override flags = {
    ...chainFlags,
    glob: Flags.string({
      char: 'g',
      multiple: true,
      multipleNonGreedy: true,
      description: 'only files in directories matching this glob (*, ?, **); repeatable',
    }),
    'out-dir': Flags.string({
      char: 'o',
      description: 'write receipts under this directory instead of next to each file',
    }),
    wait: Flags.boolean({
      default: true,
      allowNo: true,
      description: 'wait until the payload is accepted; --no-wait writes pending receipts',
    }),
    timeout: Flags.integer({min: 1, default: 120, description: 'seconds to wait for acceptance'}),
    force: Flags.boolean({char: 'f', description: 'replace existing receipts'}),
    resume: Flags.boolean({
      description:
        'finish the receipts of interrupted stamp runs, on the chain each was stamped on, with the block it got',
      exclusive: ['glob', 'out-dir'],
    }),
  }

  async run(): Promise<StampJson | {runs: ResumedJson[]}> {
    const {argv, flags} = await this.parse(Stamp)
    const pending = pendingDir(process.env, this.config.home)
    const writing = this.progress('writing receipts')
    const onProgress = writeProgress(writing?.update, this.progress('hashing')?.update)
    if (flags.resume) {
      if (argv.length > 0)
        throw new TsvmError(
          'USAGE',
          '--resume finishes recorded runs and takes no paths: run `tsvm stamp --resume` alone',
        )
      const resumed = await resumeStamps(pending, (where) => openChain({...where, autoInit: false}), {
        force: flags.force,
        timeoutMs: flags.timeout * 1000,
        onProgress,
      })
      writing?.end()
      this.log(resumeText(resumed))
      return resumeJson(resumed)
    }

    if (argv.length === 0)
      throw new TsvmError(
        'USAGE',
        'nothing to stamp: pass files or directories, - for hashes on stdin, or --resume\nSee --help for usage.',
      )
    const waiting = listRecords(pending).filter((r) => !r.running).length
    if (waiting > 0)
      this.note(
        `${waiting} interrupted stamp run${waiting === 1 ? ' has' : 's have'} receipts still to write: run \`tsvm stamp --resume\``,
      )
    // Kept to the end: receipts are written synchronously, so a Ctrl-C there is seen once they are done.
    let finished = false
    this.exitOnInterrupt(() =>
      listRecords(pending).some((r) => r.pid === process.pid)
        ? 'interrupted: run `tsvm stamp --resume` to finish the receipts, with the block this run proposed (no second block)'
        : finished
          ? 'interrupted after the run finished: every receipt is written'
          : 'interrupted before anything was proposed: nothing was spent; run the same command again',
    )
    this.trace('started')
    const result = await withChain(chainOptions(flags, this.config), (chain) =>
      stamp(chain, argv as string[], {
        globs: flags.glob ?? [],
        outDir: flags['out-dir'],
        wait: flags.wait,
        timeoutMs: flags.timeout * 1000,
        force: flags.force,
        stdin: process.stdin,
        pendingDir: pending,
        onProgress,
      }),
    )
    finished = true
    writing?.end()
    // Receipts inside a stamped tree are skipped as expected; only the other skips are worth a line each.
    for (const s of result.skipped) if (s.reason !== 'receipt') this.note(`skipped ${s.path}: ${s.reason}`)
    this.log(stampText(result))
    return stampJson(result)
  }
}
