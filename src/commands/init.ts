import {Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {initChain} from '../chain/open.js'
import {chainOptions, localChainFlags} from '../flags.js'
import {parsePlainHex, readInputFile} from '../input.js'
import {id, table} from '../output.js'
import {initJson, type InitJson} from '../output/json.js'

export default class Init extends BaseCommand {
  static override summary = 'Create the embedded chain in a data dir from genesis bytes'
  static override description = `The genesis is at most 32 bytes, right-padded with zeros into the data of block 0 (parent 11111111111111111111111111111111LpoYY, height 0, time 0), exactly as the Go VM does, so the genesis block ID matches a node started with the same genesis file. Without a genesis flag the genesis is empty (all-zero data), the same default every chain command uses on an empty data dir.

Running init again with the same genesis does nothing; a different genesis on an existing chain fails with GENESIS_MISMATCH and leaves the chain untouched.`
  static override examples = [
    {
      command: '<%= config.bin %> <%= command.id %> --genesis e2e --data-dir /tmp/chain',
      description:
        'The genesis of the timestampvm e2e test:\n  created    true\n  genesisID  SdVstz8FpkYxsneD2XQDk2CK7d1EBe4YVqkhftgbvUiyFfeHJ\n  data       6532650000000000000000000000000000000000000000000000000000000000\n  dataDir    /tmp/chain',
    },
    {
      command: '<%= config.bin %> <%= command.id %> --file genesis.bin',
      description: 'Genesis bytes from a file (as avalanchego takes them).',
    },
  ]
  static override flags = {
    ...localChainFlags,
    genesis: Flags.string({
      char: 'g',
      description: 'the genesis: UTF-8 text (at most 32 bytes), or hex with --hex',
      exclusive: ['file', 'genesis-hex'],
    }),
    hex: Flags.boolean({
      char: 'x',
      description: 'the --genesis value is hex (with or without 0x)',
      dependsOn: ['genesis'],
    }),
    // was --genesis-file (an alias until the next minor version), as genesis --file
    file: Flags.string({
      char: 'f',
      aliases: ['genesis-file'],
      description: 'read the genesis bytes from this file',
      exclusive: ['genesis', 'genesis-hex'],
    }),
    // was --genesis-hex HEX: now --genesis HEX --hex, as genesis --hex; hidden until the next minor version
    'genesis-hex': Flags.string({hidden: true, exclusive: ['genesis', 'file']}),
  }

  async run(): Promise<InitJson> {
    const {flags} = await this.parse(Init)
    const hex = flags['genesis-hex'] ?? (flags.hex ? flags.genesis : undefined)
    const bytes =
      hex === undefined
        ? flags.genesis === undefined
          ? flags.file === undefined
            ? new Uint8Array(0)
            : await readInputFile(flags.file)
          : new TextEncoder().encode(flags.genesis)
        : parsePlainHex(hex)
    const {genesis, created, location} = await initChain(chainOptions(flags, this.config), bytes)
    const result = initJson(created, location, bytes, genesis)
    this.log(
      table([
        ['created', String(created)],
        ['genesisID', id(result.block.id)],
        ['data', result.block.dataHex],
        ['dataDir', location],
      ]),
    )
    return result
  }
}
