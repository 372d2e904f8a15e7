import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import type {BlockRun, StoredBlock} from '../chain/chain.js'
import {withChain} from '../chain/open.js'
import {blockRow} from '../chain/view.js'
import {chainFlags, chainOptions, timestampFlag, waitTimeoutFlag} from '../flags.js'
import {proposalPayloads} from '../input.js'
import {blockRunLines, interruptSummary, ok, storedBlockLines, warn} from '../output.js'
import {proposeJson, type ProposeJson} from '../output/json.js'

export default class Propose extends BaseCommand {
  static override summary = 'Propose 32-byte payloads: queue them, then build and accept a block for each'
  static override description = `A payload is 64 hex digits (with or without 0x), checksummed hex (0x + 72 digits, what the v1.3 API prints) or CB58; --file proposes the SHA-256 of a file; - reads many payloads from stdin, one per line (blank lines skipped; a bad line fails the whole input with its line number before anything is queued).

By default the payloads are queued and then built and accepted at once, one block per payload in mempool order, each verified as the Go VM verifies it; thousands of payloads are written in a few synced batches. With --no-wait they are only queued (see tsvm build and tsvm accept).`
  static override examples = [
    {
      command:
        '<%= config.bin %> <%= command.id %> 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 --timestamp 1700000000',
      description:
        'Propose sha256("test") on a new default chain; it is accepted in block 1:\n  1  uRZjcoa8D6CaCNJHdwLWiLYxK72nVy35bLe3rcXAWg4Wcvfpv  Accepted  9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
    },
    {command: '<%= config.bin %> <%= command.id %> --file report.pdf', description: 'Stamp a file (its SHA-256).'},
    {
      command: 'sha256sum *.pdf | cut -c1-64 | <%= config.bin %> <%= command.id %> -',
      description: 'Many payloads from stdin.',
    },
    {
      command:
        '<%= config.bin %> <%= command.id %> 0x3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d --no-wait',
      description: 'Only queue it:\n  queued 1 payload',
    },
  ]
  static override args = {
    payload: Args.string({
      description: 'the payload (hex, checksummed hex or CB58), or - for one per line on stdin',
      ignoreStdin: true,
    }),
  }
  static override flags = {
    ...chainFlags,
    file: Flags.string({char: 'f', description: 'propose the SHA-256 of this file (repeatable)', multiple: true}),
    // was --accept/--no-accept (an alias until the next minor version), as stamp --wait
    wait: Flags.boolean({
      default: true,
      allowNo: true,
      aliases: ['accept'],
      description:
        'build and accept blocks at once; on a node (--endpoint), wait until each payload is in an accepted block (--no-wait only queues)',
    }),
    timeout: waitTimeoutFlag,
    timestamp: timestampFlag({description: 'block time in unix seconds for the blocks built (still verified)'}),
  }

  async run(): Promise<ProposeJson> {
    const {args, flags} = await this.parse(Propose)
    const payloads = await proposalPayloads(args.payload, flags.file)
    const json = this.jsonEnabled()
    // The table is printed group by group as blocks are accepted (there may be 100,000 of them);
    // --json needs them all at the end, as full views. On a terminal the table is the progress.
    const progress = process.stdout.isTTY && !json ? undefined : this.progress('accepted')
    let shown = 0
    const show = (blocks: StoredBlock[] | BlockRun) => {
      if (blocks.length === 0) return
      if (Array.isArray(blocks)) this.log(storedBlockLines(blocks))
      else this.logBytes(blockRunLines(blocks))
      shown += blocks.length
    }

    const interrupt = this.interruptible()
    const result = await withChain(chainOptions(flags, this.config), (chain) =>
      chain.propose(payloads, {
        signal: interrupt.signal,
        accept: flags.wait,
        timestamp: flags.timestamp,
        timeoutMs: flags.timeout * 1000,
        onProgress: (done, total) => {
          progress?.update(done, total)
          this.trace(`accepted ${done}/${total}`)
        },
        onAccepted: json ? undefined : show,
        onAcceptedRun: json ? undefined : show,
      }),
    ).finally(interrupt.done)
    progress?.end()
    if (interrupt.signal.aborted && result.queued < payloads.length) return this.interrupted(result, payloads)
    for (const r of result.rejected ?? [])
      this.note(warn(`rejected processing block ${blockRow(r.block).id}: it conflicts with the accepted blocks`))
    if (json) return proposeJson(result.queued, result.accepted)
    show(result.accepted) // a backend that does not stream returns them here
    if (shown === 0) this.log(ok(`queued ${result.queued} payload${result.queued === 1 ? '' : 's'}`))
    return proposeJson(result.queued, [])
  }

  /**
   * After Ctrl-C: what was accepted (already printed, or in the JSON) and what was not; exit 130
   * once stdout has drained (process.exit could cut a large JSON result short on a pipe).
   */
  private interrupted(result: {queued: number; accepted: StoredBlock[]}, payloads: Uint8Array[]) {
    process.exitCode = 130
    if (!this.jsonEnabled()) {
      if (result.accepted.length > 0) this.log(storedBlockLines(result.accepted))
      process.stderr.write(warn(interruptSummary(result.queued, payloads.length)) + '\n')
    }

    return proposeJson(result.queued, result.accepted, payloads.slice(result.queued), true)
  }
}
