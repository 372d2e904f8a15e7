// Shell completion scripts for bash and zsh, generated from the commands oclif knows (the
// manifest: no command is loaded). They complete command names (and `plugin <subcommand>`), each
// command's flags, the values of flags that take a fixed set (--api v1.2|v1.3, --encoding ...),
// and file names elsewhere. The script is static text: completing costs the shell no tsvm start.
//
// oclif's plugin-autocomplete is not used: its bash script completes commands and flags but no
// flag values, its releases for Node 20 are the 3.2 line (later ones need Node 22 and oclif core
// 5), and it writes its scripts to a cache dir that needs a refresh step after every upgrade.

/** What completion needs of a command: oclif's Command.Loadable has these fields. */
export interface CompletionCommand {
  id: string
  summary?: string
  description?: string
  hidden?: boolean
  flags: Record<
    string,
    {
      name: string
      char?: string
      type: string
      options?: readonly string[]
      hidden?: boolean
      allowNo?: boolean
      multiple?: boolean
      helpValue?: string
      description?: string
      summary?: string
    }
  >
}

interface FlagSpec {
  long: string
  char?: string
  takesValue: boolean
  options?: readonly string[]
  negatable: boolean
  multiple: boolean
  directory: boolean
  description: string
}

/** One line of text without characters the shells treat specially, cut at 70; `clause` keeps only the part before a ; or [. */
function short(text: string | undefined, clause = false): string {
  let line = (text ?? '').split('\n')[0]!
  if (clause) line = line.split(/[;[]/)[0]!
  let clean = line
    .replaceAll(': ', ' - ')
    .replaceAll(/[[\]:'\\`$"]/g, '')
    .replaceAll(/\s+/g, ' ')
    .trim()
  if (clean.split('(').length > clean.split(')').length) clean += ')'
  return clean.length > 70 ? clean.slice(0, 69) + '…' : clean
}

function flagSpecs(command: CompletionCommand): FlagSpec[] {
  return Object.values(command.flags)
    .filter((f) => !f.hidden)
    .map((f) => ({
      long: f.name,
      ...(f.char === undefined ? {} : {char: f.char}),
      takesValue: f.type !== 'boolean',
      ...(f.options === undefined ? {} : {options: f.options}),
      negatable: f.type === 'boolean' && f.allowNo === true,
      multiple: f.multiple === true,
      directory: f.name.endsWith('dir') || (f.helpValue ?? '').includes('dir'),
      description: short(f.summary ?? f.description, true),
    }))
    .sort((a, b) => a.long.localeCompare(b.long))
}

function visible(commands: readonly CompletionCommand[]): CompletionCommand[] {
  return commands.filter((c) => !c.hidden).sort((a, b) => a.id.localeCompare(b.id))
}

/** Topics (`plugin`) and their subcommands (`install`, `probe`). */
function topics(commands: readonly CompletionCommand[]): Map<string, string[]> {
  const map = new Map<string, string[]>()
  for (const c of commands) {
    const [topic, sub] = c.id.split(':')
    if (sub !== undefined) map.set(topic!, [...(map.get(topic!) ?? []), sub])
  }

  return map
}

const quoteWords = (words: readonly string[]): string => words.join(' ')

/** The bash script: `source <(tsvm completion bash)`. */
export function bashScript(bin: string, all: readonly CompletionCommand[]): string {
  const commands = visible(all)
  const topicMap = topics(commands)
  const top = [...new Set(commands.map((c) => c.id.split(':')[0]!))]
  const fn = `_${bin.replaceAll(/\W/g, '_')}_completion`
  const cases = (pick: (c: CompletionCommand, flags: FlagSpec[]) => string[]): string =>
    commands
      .map((c) => [c.id, pick(c, flagSpecs(c))] as const)
      .filter(([, lines]) => lines.length > 0)
      .map(([id, lines]) => `    ${id}) ${lines.join(' ')} ;;`)
      .join('\n')
  return `# ${bin} completion for bash: commands, flags, and flag values.
# Load it in ~/.bashrc with:  source <(${bin} completion bash)
${fn}() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}"
  local cmd="\${COMP_WORDS[1]}" first=2
  case "$cmd" in
${[...topicMap.keys()].map((t) => `    ${t}) cmd="${t}:\${COMP_WORDS[2]}"; first=3 ;;`).join('\n')}
  esac
  if ((COMP_CWORD == 1)); then
    COMPREPLY=($(compgen -W "${quoteWords(top)} --help --version" -- "$cur"))
    return
  fi
  case "\${COMP_WORDS[1]}" in
${[...topicMap.entries()].map(([t, subs]) => `    ${t}) if ((COMP_CWORD == 2)); then COMPREPLY=($(compgen -W "${quoteWords(subs)}" -- "$cur")); return; fi ;;`).join('\n')}
    help) COMPREPLY=($(compgen -W "${quoteWords(top)}" -- "$cur")); return ;;
  esac
  local flags="" values="" valued=""
  case "$cmd" in
${cases((_, flags) => [`flags="${quoteWords([...flagWords(flags), '--help'])}"`])}
  esac
  case "$cmd" in
${cases((_, flags) => {
  const valued = flags.filter((f) => f.takesValue).flatMap((f) => [...(f.char ? [`-${f.char}`] : []), `--${f.long}`])
  return valued.length === 0 ? [] : [`valued=" ${quoteWords(valued)} "`]
})}
  esac
  local flag="$prev" typed="$cur" prefix=""
  if [[ "$cur" == --*=* ]]; then flag="\${cur%%=*}"; typed="\${cur#*=}"; prefix="$flag="; fi
  case "$cmd $flag" in
${commands
  .flatMap((c) =>
    flagSpecs(c)
      .filter((f) => f.options)
      .flatMap((f) =>
        [...(f.char ? [`-${f.char}`] : []), `--${f.long}`].map(
          (name) => `    "${c.id} ${name}") values="${quoteWords(f.options!)}" ;;`,
        ),
      ),
  )
  .join('\n')}
  esac
  if [[ -n "$values" ]]; then
    COMPREPLY=($(compgen -P "$prefix" -W "$values" -- "$typed"))
  elif [[ -z "$prefix" && "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$flags" -- "$cur"))
  elif [[ -n "$prefix" || "$valued" == *" $prev "* ]] || ((COMP_CWORD >= first)); then
    compopt -o filenames 2>/dev/null
    COMPREPLY=($(compgen -f -P "$prefix" -- "$typed"))
  fi
}
complete -F ${fn} ${bin}
`
}

/** The words a flag can be typed as: its short name, its long name, and --no-<long>. */
function flagWords(flags: FlagSpec[]): string[] {
  return flags.flatMap((f) => [
    ...(f.char ? [`-${f.char}`] : []),
    `--${f.long}`,
    ...(f.negatable ? [`--no-${f.long}`] : []),
  ])
}

/** A zsh `name:description` word. */
function described(id: string, text: string | undefined): string {
  return `'${id}:${short(text)}'`
}

/** One zsh _arguments spec per flag name (short and long). */
function zshFlag(f: FlagSpec): string[] {
  const value = f.takesValue
    ? f.options
      ? `:${f.long}:(${quoteWords(f.options)})`
      : f.long === 'endpoint'
        ? `:${f.long}:_urls`
        : f.directory
          ? `:${f.long}:_files -/`
          : `:${f.long}:_files`
    : ''
  const repeat = f.multiple ? '*' : ''
  const names = [...(f.char ? [`-${f.char}`] : []), `--${f.long}`]
  const exclusive = names.length > 1 && !f.multiple ? `(${names.join(' ')})` : ''
  return [
    ...names.map(
      (n) => `'${exclusive}${repeat}${n}${f.takesValue && n.startsWith('--') ? '=' : ''}[${f.description}]${value}'`,
    ),
    ...(f.negatable ? [`'--no-${f.long}[turn off --${f.long}]'`] : []),
  ]
}

/** The zsh script: `source <(tsvm completion zsh)`, or saved as _tsvm on $fpath. */
export function zshScript(
  bin: string,
  all: readonly CompletionCommand[],
  topicDescriptions: Readonly<Record<string, string | undefined>> = {},
): string {
  const commands = visible(all)
  const topicMap = topics(commands)
  const fn = `_${bin.replaceAll(/\W/g, '_')}`
  const top = [
    ...new Map(
      commands.map((c) => {
        const [head, sub] = c.id.split(':')
        return [
          head!,
          sub === undefined
            ? described(head!, c.summary ?? c.description)
            : described(head!, topicDescriptions[head!] ?? `${head} commands`),
        ]
      }),
    ).values(),
  ]
  return `#compdef ${bin}
# ${bin} completion for zsh: commands, flags, and flag values.
# Load it in ~/.zshrc (after compinit) with:  source <(${bin} completion zsh)
${fn}() {
  local -a commands
  local cmd
  commands=(
${top.map((t) => `    ${t}`).join('\n')}
  )
  if ((CURRENT == 2)); then
    _describe -t commands '${bin} command' commands
    return
  fi
  cmd=\${words[2]}
  case $cmd in
${[...topicMap.entries()]
  .map(
    ([t, subs]) => `    ${t})
      if ((CURRENT == 3)); then
        local -a subcommands=(${subs.map((s) => described(s, commands.find((c) => c.id === `${t}:${s}`)?.summary)).join(' ')})
        _describe -t commands '${t} command' subcommands
        return
      fi
      cmd="${t}:\${words[3]}"; shift words; ((CURRENT--)) ;;`,
  )
  .join('\n')}
    help) _describe -t commands '${bin} command' commands; return ;;
  esac
  shift words; ((CURRENT--))
  case $cmd in
${commands
  .map(
    (c) =>
      `    ${c.id})\n      _arguments -s -S \\\n${[...flagSpecs(c).flatMap((f) => zshFlag(f)), "'--help[show help]'", "'*:file:_files'"].map((s) => `        ${s}`).join(' \\\n')} ;;`,
  )
  .join('\n')}
  esac
}
if [[ "\${zsh_eval_context[-1]}" == loadautofunc ]]; then
  ${fn} "$@"
else
  compdef ${fn} ${bin}
fi
`
}
