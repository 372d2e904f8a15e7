// An unknown command: tsvm's own error (exit 2, code USAGE, JSON under --json) with the nearest
// command name, instead of oclif's "command stmp:README.md not found", which glues the arguments
// onto the name with its internal `:` separator.
import {type Hook} from '@oclif/core'

import {errorJson, exitCodeFor} from '../errors.js'
import {formatError} from '../output.js'
import {unknownCommandMessage} from '../usage.js'
import {TsvmError} from '../vm/errors.js'

const hook: Hook.CommandNotFound = async function (opts) {
  // oclif joins every word before the first flag into the id, with `:`
  const words = [...opts.id.split(':'), ...(opts.argv ?? [])]
  const ids = opts.config.commands.filter((c) => !c.hidden).map((c) => c.id)
  const error = new TsvmError('USAGE', unknownCommandMessage(words, ids, opts.config.bin))
  if (words.includes('--json')) process.stdout.write(JSON.stringify(errorJson(error), null, 2) + '\n')
  else process.stderr.write(formatError(error) + '\n')
  this.exit(exitCodeFor(error))
}

export default hook
