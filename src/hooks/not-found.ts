// An unknown command: tsvm's own error (exit 2, code USAGE, JSON under --json) with the nearest
// command name, instead of oclif's "command stmp:README.md not found", which glues the arguments
// onto the name with its internal `:` separator.
import {type Hook} from '@oclif/core'

import {errorJson, exitCodeFor} from '../errors.js'
import {formatError} from '../output.js'
import {nearest} from '../usage.js'
import {TsvmError} from '../vm/errors.js'

const hook: Hook.CommandNotFound = async function (opts) {
  // oclif joins every word before the first flag into the id; the command is the first one.
  const typed = opts.id.split(':')[0] ?? opts.id
  const ids = opts.config.commands.filter((c) => !c.hidden).map((c) => c.id)
  const guess = nearest(typed, ids)
  const hint = guess ? `did you mean ${guess}? ` : ''
  const error = new TsvmError(
    'USAGE',
    `${JSON.stringify(typed)} is not a tsvm command: ${hint}run ${opts.config.bin} help for the list`,
  )
  const json = (opts.argv ?? []).includes('--json') || opts.id.split(':').includes('--json')
  if (json) process.stdout.write(JSON.stringify(errorJson(error), null, 2) + '\n')
  else process.stderr.write(formatError(error) + '\n')
  this.exit(exitCodeFor(error))
}

export default hook
