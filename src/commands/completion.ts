import {Args} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {bashScript, type CompletionCommand, zshScript} from '../completion.js'

export default class Completion extends BaseCommand {
  static override summary = 'Print the shell completion script for bash or zsh'
  static override description = `The script completes command names, each command's flags, the values of flags that take a fixed set (--api, --encoding), and file names. It is generated from the installed commands, so load it again after an upgrade; sourcing it from your shell's start-up file does that by itself. See docs/completion.md.`
  static override examples = [
    {
      command: 'source <(<%= config.bin %> <%= command.id %> bash)',
      description: 'bash, now and in every new shell: add this line to ~/.bashrc',
    },
    {
      command: 'source <(<%= config.bin %> <%= command.id %> zsh)',
      description: 'zsh: add this line to ~/.zshrc, after compinit',
    },
    // eslint-disable-next-line no-template-curly-in-string -- zsh's ${fpath[1]}, printed for the user to run
    {command: '<%= config.bin %> <%= command.id %> zsh > "${fpath[1]}/_tsvm"', description: 'zsh, as a file on $fpath'},
  ]
  static override args = {
    shell: Args.string({options: ['bash', 'zsh'], required: true, description: 'the shell to complete in'}),
  }

  async run(): Promise<{shell: string; script: string}> {
    const {args} = await this.parse(Completion)
    const commands = this.config.commands as unknown as CompletionCommand[]
    const topics = Object.fromEntries(this.config.topics.map((t) => [t.name, t.description]))
    const script =
      args.shell === 'bash' ? bashScript(this.config.bin, commands) : zshScript(this.config.bin, commands, topics)
    if (!this.jsonEnabled()) process.stdout.write(script)
    return {shell: args.shell, script}
  }
}
