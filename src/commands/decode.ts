import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {readStdin} from '../input.js'
import {table, textCell} from '../output.js'
import {decodedJson, type DecodedJson} from '../output/json.js'
import {BYTE_ENCODINGS, decodeDetect, paddedText, printableText} from '../vm/formatting.js'

export default class Decode extends BaseCommand {
  static override summary = 'Decode checksummed hex or CB58 back to bytes, verifying the checksum'
  static override description = `Without --encoding, a value starting with 0x is checksummed hex and anything else is CB58, the two forms AvalancheGo prints. The checksum is always verified (hexnc has none). Prints the bytes as hex, and as text when they are printable UTF-8. - reads the value from stdin.`
  static override examples = [
    {
      command: '<%= config.bin %> <%= command.id %> 0x6532655e975cba',
      description: 'Checksummed hex:\n  hex       653265\n  text      e2e\n  length    3\n  encoding  hex',
    },
    {
      command: '<%= config.bin %> <%= command.id %> 1c7hwa',
      description: 'CB58 (hex 00, not printable, so no text line).',
    },
    {command: '<%= config.bin %> <%= command.id %> 0x74657374 --encoding hexnc', description: 'Hex without checksum.'},
  ]
  static override args = {
    value: Args.string({description: 'the encoded value, or - to read it from stdin', required: true}),
  }
  static override flags = {
    encoding: Flags.option({
      options: BYTE_ENCODINGS,
      description: 'the encoding (default: detect from the 0x prefix)',
    })(),
  }

  async run(): Promise<DecodedJson> {
    const {args, flags} = await this.parse(Decode)
    const text =
      args.value === '-'
        ? Buffer.from(await readStdin())
            .toString('utf8')
            .trim()
        : args.value
    const {encoding, bytes} = decodeDetect(text, flags.encoding)
    const padded = paddedText(bytes)
    const result = decodedJson(encoding, bytes, printableText(bytes) ?? padded?.text ?? null, padded?.zeros)
    this.log(
      table([
        ['hex', result.hex],
        [
          'text',
          result.text === null
            ? undefined
            : textCell(result.text) + (padded ? ` (then ${padded.zeros} zero bytes)` : ''),
        ],
        ['length', String(result.length)],
        ['encoding', encoding],
      ]),
    )
    return result
  }
}
