import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {openChain} from '../chain/open.js'
import {chainFlags, chainOptions, trustFlag} from '../flags.js'
import {EXIT_CODES} from '../errors.js'
import {isBatch, namedChain, verifyBatch, verifyOne} from '../proof/batch.js'
import {batchLines, batchSummaryText, verifyText} from '../output/proof.js'
import {verifyError} from '../proof/verify.js'
import {verificationJson, type VerificationJson, verifyBatchJson, type VerifyBatchJson} from '../output/json.js'
import {TsvmError} from '../vm/errors.js'

export default class Verify extends BaseCommand {
  static override summary =
    'Prove that a file (or hash) existed by the time of a block, from its receipt and a chain you trust'
  static override description = `Recomputes the file's SHA-256, folds the receipt's Merkle path up to the payload, and checks that the payload is the data of the receipt's block and that the block ID is the SHA-256 of its 82 bytes. That shows only that the receipt agrees with itself: anybody can compute a block for any time. So the block must also be anchored:

  --data-dir, --endpoint (or TSVM_DATA_DIR, TSVM_ENDPOINT): it is the accepted block at its height on that chain (trust: anchored-chain);
  --trust ID (repeatable): the block, or one of the headers \`tsvm upgrade --checkpoint\` added above it, has that ID (trust: anchored-checkpoint).

Without either, verify says "consistent with itself; NOT checked against any chain" and exits 3 (UNANCHORED). A chain named that does not exist is an error (NOT_INITIALIZED), never a silent fall back to offline. The receipt's item.name, chain location and createdAt are not covered by the proof; the file is named as you gave it.

Several items, a directory (walked as stamp walks it, with --glob) or - (a list of files and hashes on stdin, one per line) are verified in one run against the chain opened once: one line per item (with --json, {"results": [...], "summary": {...}}), and the exit code is the highest of the items' (4 when any item is invalid). Receipts are looked for beside each file, or under --out at the path stamp --out gave them (run verify from the directory stamp ran in, with the same paths). A file of a directory without a receipt, and a receipt whose file is gone, are each reported as missing (exit 3).
Exit codes: 0 verified, 3 not anchored, pending or block not found, 4 invalid (file or receipt changed) or another chain, 5 node unreachable.`
  static override examples = [
    {
      command:
        '<%= config.bin %> <%= command.id %> contracts/2026/nda.pdf --endpoint http://127.0.0.1:9650/ext/bc/28FkDCAUtMY8YhkHH672E1t6bqY7sRrBmR5vT3U9GTw1S1M9Cg',
      description:
        'On the chain it was stamped on (here a tsvm serve):\n  verified contracts/2026/nda.pdf existed no later than 2026-11-26T13:11:15.000Z (block 2tweWctna4NB6outkn2wC6LFKdA6ry9QhA9CFXvxA1U5zYzb15, height 2; accepted on http://127.0.0.1:9650/ext/bc/28FkDCAUtMY8YhkHH672E1t6bqY7sRrBmR5vT3U9GTw1S1M9Cg)',
    },
    {
      command:
        '<%= config.bin %> <%= command.id %> report.pdf --trust zA4uq3RhHxEff9AkXteTeT3CXheFGMDMzRrLa7jXbmqZukgtE',
      description:
        'Offline, against a published checkpoint the receipt links to (added by tsvm upgrade --checkpoint):\n  verified report.pdf existed no later than 2026-11-26T13:11:14.000Z (block a8i27xc3Q2jB413oGULVtR5dQdu3yJqB9b9i1qTuuSTwN2k89, height 1; linked to trusted block zA4uq3RhHxEff9AkXteTeT3CXheFGMDMzRrLa7jXbmqZukgtE at height 3)',
    },
    {
      command: '<%= config.bin %> <%= command.id %> report.pdf',
      description:
        'No anchor (exit 3):\n  Error: report.pdf: consistent with itself; NOT checked against any chain: pass --endpoint, --data-dir or --trust [UNANCHORED]',
    },
    {
      command: '<%= config.bin %> <%= command.id %> build --out proofs --data-dir ./chain',
      description:
        'Every file stamped with tsvm stamp build --out proofs, in one run (exit 3 here: one file has no receipt):\n  verified  build/app.js  2026-11-26T13:11:15.000Z  (block 2tweWctna4NB6outkn2wC6LFKdA6ry9QhA9CFXvxA1U5zYzb15, height 2)\n  MISSING  build/new.js: build/new.js has no receipt (proofs/build/new.js.tsvm): it was added or renamed after stamping; stamp it, or pass the --out it was stamped with [FILE_NOT_FOUND]\n  2 items: 1 verified (accepted on ./chain), 1 missing (no receipt, or no file)',
    },
    {
      command:
        '<%= config.bin %> <%= command.id %> 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 --receipt report.pdf.tsvm --data-dir ./chain',
      description: 'A bare hash and its receipt, on a local chain.',
    },
  ]
  static override strict = false
  static override args = {
    item: Args.string({
      description: 'stamped files, directories or 32-byte hashes (hex or CB58), or - for a list of them on stdin',
    }),
  }
  static override flags = {
    ...chainFlags,
    receipt: Flags.string({
      char: 'r',
      description: 'the receipt of a single item (default: <file>.tsvm, or <hex>.tsvm for a hash)',
      exclusive: ['out'],
    }),
    out: Flags.string({
      char: 'o',
      aliases: ['out-dir'],
      helpValue: '<dir>',
      description: 'the directory stamp --out wrote the receipts under',
    }),
    glob: Flags.string({
      multiple: true,
      multipleNonGreedy: true,
      description: 'only files in directories matching this glob (*, ?, **), as stamp --glob; repeatable',
    }),
    trust: trustFlag(),
  }

  async run(): Promise<VerificationJson | VerifyBatchJson | undefined> {
    const {argv, flags} = await this.parse(Verify)
    const items = argv as string[]
    if (items.length === 0)
      throw new TsvmError('USAGE', 'nothing to verify: pass files, directories, hashes, or - for a list on stdin')
    const named = namedChain(flags, process.env, () => chainOptions(flags, this.config))
    const open = named && (() => openChain({...named, autoInit: false}))
    const outDir = flags.out
    if (!isBatch(items, flags.glob)) {
      const one = await verifyOne(items[0]!, {receipt: flags.receipt, outDir, open, trust: flags.trust})
      const error = verifyError(one.result)
      const json = verificationJson(one.result, one.receipt, one.receiptPath, error)
      // not verified: the error (its message is the reason) goes to stderr with its exit code
      if (error) throw new TsvmError(error.code, error.message, {details: {result: json}})
      this.log(verifyText(one.result))
      return json
    }

    if (flags.receipt !== undefined)
      throw new TsvmError('USAGE', '--receipt names the receipt of one item: for several, use --out or none')
    const [hashing, checking] = [this.progress('hashing'), this.progress('verifying')]
    const result = await verifyBatch(items, {
      outDir,
      globs: flags.glob,
      stdin: process.stdin,
      open,
      trust: flags.trust,
      exitFor: (code) => EXIT_CODES[code],
      onProgress: (phase, done, total) => (phase === 'hash' ? hashing : checking)?.update(done, total),
    })
    checking?.end()
    this.log(batchLines(result.results))
    this.note(batchSummaryText(result.summary, named?.endpoint ?? named?.dataDir))
    process.exitCode = result.summary.exitCode
    // what --json prints; without it, ten thousand entries' views would be built for nothing
    return this.jsonEnabled() ? verifyBatchJson(result) : undefined
  }
}
