// `tsvm help [COMMAND]`: oclif core's own help renderer (the same one --help and -h use), loaded only
// when asked for, so no other command pays for it at start-up. An unknown command or topic is the
// same USAGE error (with the nearest name, and JSON under --json) as running it would give.
import {Args, Command, loadHelpClass} from '@oclif/core'

import {errorJson, exitCodeFor} from '../errors.js'
import {formatError} from '../output.js'
import {typedCommand, unknownCommandMessage} from '../usage.js'
import {TsvmError} from '../vm/errors.js'

export default class Help extends Command {
  static override summary = 'Display help for tsvm or one of its commands'
  static override strict = false
  static override args = {
    command: Args.string({description: 'the command to show help for', required: false, ignoreStdin: true}),
  }
  static override examples = [
    '<%= config.bin %> help',
    '<%= config.bin %> help stamp',
    '<%= config.bin %> help plugin install',
  ]

  async run(): Promise<void> {
    const json = this.argv.includes('--json')
    const words = this.argv.filter((a) => a !== '--json')
    const ids = this.config.commands.filter((c) => !c.hidden).map((c) => c.id)
    const typed = typedCommand(words, ids)
    if (typed !== '' && !this.config.findCommand(typed) && !this.config.findTopic(typed)) {
      const error = new TsvmError('USAGE', unknownCommandMessage(words, ids, this.config.bin))
      if (json) process.stdout.write(JSON.stringify(errorJson(error), null, 2) + '\n')
      else process.stderr.write(formatError(error) + '\n')
      this.exit(exitCodeFor(error))
    }

    const HelpClass = await loadHelpClass(this.config)
    await new HelpClass(this.config, this.config.pjson.oclif.helpOptions).showHelp(words)
  }
}
