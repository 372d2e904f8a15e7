import {Args} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {parsePlainHex, readStdin} from '../input.js'
import {blockTable} from '../output.js'
import {type BlockJson, blockJson} from '../output/json.js'
import {parseBlock} from '../vm/block.js'

export default class ParseBlock extends BaseCommand {
  static override summary = 'Decode raw block bytes: parent, height, time, payload and ID'
  static override description = `Parses the 82 bytes of a TimestampVM block exactly as the Go VM's ParseBlock does (codec version 00 00, no trailing bytes) and shows its fields; the ID is the sha256 of the bytes. The argument is hex (with or without 0x); - reads stdin, either the raw bytes or hex text.`
  static override examples = [
    {
      command:
        '<%= config.bin %> <%= command.id %> 00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000006532650000000000000000000000000000000000000000000000000000000000',
      description:
        'The e2e genesis block:\n  id        SdVstz8FpkYxsneD2XQDk2CK7d1EBe4YVqkhftgbvUiyFfeHJ\n  parentID  11111111111111111111111111111111LpoYY\n' +
        '  height    0\n  timestamp 0 (1970-01-01T00:00:00.000Z)\n  ...',
    },
    {command: '<%= config.bin %> <%= command.id %> - < block.bin', description: 'Raw bytes from stdin.'},
  ]
  static override args = {
    bytes: Args.string({description: 'block bytes in hex, or - for stdin (raw or hex)', required: true}),
  }

  async run(): Promise<BlockJson> {
    const {args} = await this.parse(ParseBlock)
    const bytes = args.bytes === '-' ? stdinBlockBytes(await readStdin()) : parsePlainHex(args.bytes)
    const view = blockJson(parseBlock(bytes))
    this.log(blockTable(view))
    return view
  }
}

/** Raw bytes, unless stdin is hex text. A raw block starts with 00 00, which is never hex text. */
function stdinBlockBytes(raw: Uint8Array): Uint8Array {
  const text = Buffer.from(raw).toString('latin1').trim()
  return text.length > 0 && /^(0[xX])?[0-9a-fA-F\s]+$/.test(text) ? parsePlainHex(text) : raw
}
