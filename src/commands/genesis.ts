import {Args, Flags} from '@oclif/core'
import {writeFile} from 'node:fs/promises'

import {BaseCommand} from '../base-command.js'
import {inputBytes} from '../input.js'
import {id, table} from '../output.js'
import {genesisJson, type GenesisJson} from '../output/json.js'
import {genesisBlock} from '../vm/genesis.js'

export default class Genesis extends BaseCommand {
  static override summary = 'Write genesis bytes and print the ID of the genesis block they give'
  static override description = `The genesis of a TimestampVM chain is at most 32 bytes, right-padded with zeros into the payload of block 0 (parent 11111111111111111111111111111111LpoYY, time 0). This writes those bytes (text, --hex, or --file) to --out, or to stdout when it is not a terminal, and prints the genesis block ID every node of such a chain will report (on stderr when stdout carries the bytes).`
  static override examples = [
    {
      command: '<%= config.bin %> <%= command.id %> e2e --out genesis.bin',
      description:
        'The genesis of the timestampvm e2e test:\n  genesisID  SdVstz8FpkYxsneD2XQDk2CK7d1EBe4YVqkhftgbvUiyFfeHJ\n' +
        '  data       6532650000000000000000000000000000000000000000000000000000000000\n  out        genesis.bin',
    },
    {
      command: '<%= config.bin %> <%= command.id %> --hex 0000000000 > genesis.bin',
      description: 'Bytes to stdout, the ID to stderr.',
    },
  ]
  static override args = {
    data: Args.string({description: 'the genesis: text, hex with --hex, or - for stdin', ignoreStdin: true}),
  }
  static override flags = {
    hex: Flags.boolean({char: 'x', description: 'the data is hex (with or without 0x)', exclusive: ['file']}),
    file: Flags.string({char: 'f', description: 'read the genesis bytes from this file'}),
    out: Flags.string({char: 'o', description: 'write the genesis bytes to this file'}),
  }

  async run(): Promise<GenesisJson> {
    const {args, flags} = await this.parse(Genesis)
    const bytes = await inputBytes(args.data, {hex: flags.hex, file: flags.file})
    const block = genesisBlock(bytes)
    const toStdout = flags.out === undefined && !this.jsonEnabled() && !process.stdout.isTTY
    if (flags.out !== undefined) await writeFile(flags.out, bytes)
    const result = genesisJson(bytes, block, flags.out ?? (toStdout ? '-' : null))
    const summary = table([
      ['genesisID', id(result.block.id)],
      ['data', result.block.dataHex],
      ['out', result.out ?? undefined],
    ])
    if (toStdout) {
      process.stdout.write(bytes)
      process.stderr.write(summary + '\n')
    } else {
      this.log(summary)
      if (result.out === null && !this.jsonEnabled())
        this.note('(genesis bytes not written: pass --out FILE or redirect stdout)')
    }

    return result
  }
}
