// `tsvm help [COMMAND]`: oclif core's own help renderer (the same one --help and -h use), loaded only
// when asked for, so no other command pays for it at start-up.
import {Args, Command, loadHelpClass} from '@oclif/core'

export default class Help extends Command {
  static override summary = 'Display help for tsvm or one of its commands'
  static override strict = false
  static override args = {
    command: Args.string({description: 'the command to show help for', required: false}),
  }
  static override examples = ['<%= config.bin %> help', '<%= config.bin %> help stamp']

  async run(): Promise<void> {
    const {argv} = await this.parse(Help)
    const HelpClass = await loadHelpClass(this.config)
    await new HelpClass(this.config, this.config.pjson.oclif.helpOptions).showHelp(argv as string[])
  }
}
