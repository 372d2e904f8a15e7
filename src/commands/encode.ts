import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {inputBytes} from '../input.js'
import {id, table} from '../output.js'
import {encodedJson, type EncodedJson} from '../output/json.js'
import {BYTE_ENCODINGS, encodeWith, fitLength} from '../vm/formatting.js'

export default class Encode extends BaseCommand {
  static override summary = 'Encode bytes as AvalancheGo does: checksummed hex, hex without checksum, or CB58'
  static override description = `Does what the static API's timestampvm.encode does, offline. The data is the UTF-8 bytes of the argument, hex with --hex, or stdin with - (raw bytes; hex text with --hex). hex and hexc append a 4-byte checksum (the v1.3 default), hexnc does not, cb58 is the v1.2 default. --length N copies the bytes into N zero bytes (truncating or right-padding), as the static API's length argument does.`
  static override examples = [
    {command: '<%= config.bin %> <%= command.id %> e2e', description: 'Checksummed hex (output: 0x6532655e975cba):'},
    {
      command: '<%= config.bin %> <%= command.id %> e2e --length 32 --encoding cb58',
      description: 'A padded 32-byte payload in CB58 (output: mZwPn8gtfDvwAdy9koqvcnvi86JZr5sVHYovx8dJvU6GvZ889):',
    },
    {
      command: '<%= config.bin %> <%= command.id %> --hex 00 --encoding cb58',
      description: 'Hex input (output: 1c7hwa):',
    },
    {
      command: 'printf test | <%= config.bin %> <%= command.id %> - --encoding hexnc',
      description: 'From stdin (output: 0x74657374):',
    },
  ]
  static override args = {
    data: Args.string({description: 'the data: text, hex with --hex, or - for stdin', required: true}),
  }
  static override flags = {
    encoding: Flags.option({
      options: BYTE_ENCODINGS,
      default: 'hex' as const,
      description: 'output encoding',
    })(),
    hex: Flags.boolean({char: 'x', description: 'the data is hex (with or without 0x), not text'}),
    length: Flags.integer({
      char: 'l',
      min: -2_147_483_648,
      max: 1_048_576,
      description: 'copy the bytes into this many zero bytes (truncate or right-pad); 0 or less keeps them as they are',
    }),
  }

  async run(): Promise<EncodedJson> {
    const {args, flags} = await this.parse(Encode)
    const raw = fitLength(await inputBytes(args.data, {hex: flags.hex}), flags.length ?? 0)
    const result = encodedJson(encodeWith(flags.encoding, raw), flags.encoding, raw)
    this.log(id(result.encoded))
    if (process.stdout.isTTY)
      this.log(
        table([
          ['length', String(result.length)],
          ['hex', result.hex],
        ]),
      )
    return result
  }
}
