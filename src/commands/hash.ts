import {Args} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {exitCodeFor, toTsvmError} from '../errors.js'
import {columns, formatError} from '../output.js'
import {hashJson, type HashJson} from '../output/json.js'
import {hashFile, hashStream} from '../proof/hash.js'
import type {TsvmError} from '../vm/errors.js'

export default class Hash extends BaseCommand {
  static override summary = 'SHA-256 of files, in every form a payload may be proposed in'
  static override description = `The 32-byte payload a file is stamped with is its SHA-256. This prints it as plain hex, CB58 (what v1.2 proposeBlock takes) and checksummed hex (what v1.3 proposeBlock takes), one row per file: hex, CB58, checksummed hex, file. Files are streamed, so any size works; - hashes stdin.`
  static override examples = [
    {
      command: 'printf test | <%= config.bin %> <%= command.id %> -',
      description:
        'sha256("test"):\n  9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08  2DFtpKRbW2nfrzgAgE25onW3vwCQwM7S1iHk34LW9cwH2qBuVV  0x9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08e82209f4  -',
    },
    {command: '<%= config.bin %> <%= command.id %> report.pdf data.csv --json', description: 'Several files, as JSON.'},
  ]
  static override strict = false
  static override args = {
    file: Args.string({description: 'files to hash, or - for stdin', required: true}),
  }

  async run(): Promise<HashJson> {
    const {argv} = await this.parse(Hash)
    const files: Array<{path: string; digest: Uint8Array}> = []
    const errors: TsvmError[] = []
    // As sha256sum does: a file that cannot be read is reported and the others are still hashed;
    // the exit code is that of the worst failure.
    for (const file of argv as string[]) {
      try {
        const digest = file === '-' ? await hashStream(process.stdin) : await hashFile(file)
        files.push({path: file, digest})
      } catch (error) {
        if (argv.length === 1) throw error // one file: the usual {"error": ...}
        const e = toTsvmError(error)
        errors.push(e)
        if (!this.jsonEnabled()) process.stderr.write(formatError(e) + '\n')
      }
    }

    const result = hashJson(files, errors)
    if (files.length > 0) this.log(columns(result.files.map((r) => [r.dataHex, r.dataCB58, r.data, r.path])))
    if (errors.length > 0) process.exitCode = Math.max(...errors.map((e) => exitCodeFor(e)))
    return result
  }
}
