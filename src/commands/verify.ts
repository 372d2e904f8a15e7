import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {openChain} from '../chain/open.js'
import {chainFlags, chainOptions} from '../flags.js'
import {verificationJson, type VerificationJson} from '../output/json.js'
import {verifyText} from '../proof/format.js'
import {existingChain} from '../proof/upgrade.js'
import {loadReceipt, verifyError, verifyReceipt, verifyTarget} from '../proof/verify.js'
import {idFromString} from '../vm/encoding.js'
import {TsvmError} from '../vm/errors.js'

export default class Verify extends BaseCommand {
  static override summary =
    'Prove that a file (or hash) existed by the time of a block, from its receipt and a chain you trust'
  static override description = `Recomputes the file's SHA-256, folds the receipt's Merkle path up to the payload, and checks that the payload is the data of the receipt's block and that the block ID is the SHA-256 of its 82 bytes. That shows only that the receipt agrees with itself: anybody can compute a block for any time. So the block must also be anchored:

  --data-dir, --endpoint (or TSVM_DATA_DIR, TSVM_ENDPOINT): it is the accepted block at its height on that chain (trust: anchored-chain);
  --trust ID (repeatable): the block, or one of the headers \`tsvm upgrade --checkpoint\` added above it, has that ID (trust: anchored-checkpoint).

Without either, verify says "consistent with itself; NOT checked against any chain" and exits 3 (UNANCHORED). A chain named that does not exist is an error (NOT_INITIALIZED), never a silent fall back to offline. The receipt's item.name, chain location and createdAt are not covered by the proof; the file is named as you gave it.
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
      command:
        '<%= config.bin %> <%= command.id %> 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 --receipt report.pdf.tsvm --data-dir ./chain',
      description: 'A bare hash and its receipt, on a local chain.',
    },
  ]
  static override args = {
    item: Args.string({description: 'the stamped file, or its 32-byte hash (hex or CB58)', required: true}),
  }
  static override flags = {
    ...chainFlags,
    receipt: Flags.string({char: 'r', description: 'the receipt (default: <file>.tsvm, or <hex>.tsvm for a hash)'}),
    trust: Flags.custom<Uint8Array>({
      description: 'a block ID you trust as accepted (a published checkpoint); repeatable',
      multiple: true,
      exclusive: ['data-dir', 'endpoint'],
      parse: async (input) => idFromString(input, '--trust'),
    })(),
  }

  async run(): Promise<VerificationJson> {
    const {args, flags} = await this.parse(Verify)
    const target = await verifyTarget(args.item, flags.receipt)
    const receipt = await loadReceipt(target.receipt, 'stamp the item first, or pass --receipt')
    const named = this.namedChain(flags)
    const result = named
      ? await openChain({...named, autoInit: false}).then(async (chain) =>
          verifyReceipt(receipt, {...target, chain}).finally(() => chain.close()),
        )
      : await verifyReceipt(receipt, {...target, trust: flags.trust ?? []})
    const error = verifyError(result)
    const json = verificationJson(result, receipt, target.receipt, error)
    // not verified: the error (its message is the reason) goes to stderr with its exit code
    if (error) throw new TsvmError(error.code, error.message, {details: {result: json}})
    this.log(verifyText(result))
    return json
  }

  /**
   * The chain the user named: a flag, else (without --trust) TSVM_DATA_DIR or TSVM_ENDPOINT. A
   * named data dir that does not exist is NOT_INITIALIZED, never a fall-back to offline.
   */
  private namedChain(flags: {'data-dir'?: string; endpoint?: string; trust?: Uint8Array[]}) {
    const explicit = flags['data-dir'] !== undefined || flags.endpoint !== undefined
    if (!explicit && (flags.trust !== undefined || (!process.env.TSVM_DATA_DIR && !process.env.TSVM_ENDPOINT)))
      return undefined
    return existingChain(
      chainOptions(flags, this.config),
      explicit ? 'the data dir' : 'the data dir TSVM_DATA_DIR names',
    )
  }
}
