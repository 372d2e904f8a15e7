// tsvm's help renderer: oclif's own, with three changes, so that help reads well at any width.
// - Prose is one paragraph per blank-line block, which oclif wraps to the terminal: a line break
//   inside a paragraph in the source (hard-wrapped text) is joined, so it does not render ragged.
//   An indented line (a list item) becomes a paragraph of its own.
// - An example whose description is "What it does:\n  <output lines>" shows the command before
//   its output, as a terminal would (output lines wider than the terminal are cut with …).
// - <tsvm data dir> is the real data dir of this user (oclif's dataDir: XDG on every platform);
//   the generated reference in docs/ keeps the placeholder.
// - The summary line on top is wrapped too (oclif prints it as one line).
// Loaded by oclif only for --help, -h and tsvm help (package.json oclif.helpClass).
import {type Command, CommandHelp, Help} from '@oclif/core'

/**
 * Joins the hard-wrapped lines of each paragraph. An indented line is a list item: it becomes a
 * paragraph of its own (oclif's wrap drops leading spaces, which would glue the items together).
 */
export function unwrapProse(text: string): string {
  const paragraphs: string[] = []
  for (const block of text.split(/\n{2,}/)) {
    let current: string[] = []
    for (const line of block.split('\n')) {
      if (/^\s/.test(line)) {
        if (current.length > 0) paragraphs.push(current.join(' '))
        paragraphs.push(line.trim())
        current = []
      } else current.push(line)
    }

    if (current.length > 0) paragraphs.push(current.join(' '))
  }

  return paragraphs.join('\n\n')
}

/** Splits an example description into what it does (first line) and the output it shows (the indented lines after it). */
export function splitExample(description: string): {summary: string; output: string[]} {
  const [summary = '', ...rest] = description.split('\n')
  return {summary, output: rest}
}

/**
 * True when `oclif readme` renders the reference in docs/ (the only caller that sets
 * respectNoCacheDefault): a page for every user keeps <tsvm data dir> and whole output lines.
 */
const forDocs = (opts: {respectNoCacheDefault?: boolean}): boolean => opts.respectNoCacheDefault === true

class TsvmCommandHelp extends CommandHelp {
  protected override examples(examples: Command.Example[] | string | undefined): string | undefined {
    if (examples === undefined || typeof examples === 'string') return super.examples(examples)
    return examples
      .map((example) => {
        if (typeof example === 'string' || !example.description.includes('\n')) return super.examples([example])
        const {summary, output} = splitExample(example.description)
        const shown = super.examples([{...example, description: summary}]) ?? ''
        // under the command's `$`, as a terminal shows it; a line wider than the terminal is cut
        // (an ID or hash row) rather than wrapped into the next one
        const width = forDocs(this.opts) ? Infinity : this.opts.maxWidth - 4
        const cut = (line: string): string => (line.length > width ? line.slice(0, width - 1) + '…' : line)
        return [shown, ...output.map((line) => this.indent(cut(line.replace(/^ {2}/, '')), 2))].join('\n')
      })
      .join('\n\n')
  }
}

/** Help prose unwrapped for oclif to wrap, with `<tsvm data dir>` resolved (kept as is for the docs). */
function resolveText(text: string | undefined, dataDir: string | undefined): string | undefined {
  if (text === undefined) return undefined
  return dataDir === undefined ? unwrapProse(text) : unwrapProse(text).replaceAll('<tsvm data dir>', dataDir)
}

/** The help class oclif loads (see the file comment). */
export default class TsvmHelp extends Help {
  protected override CommandHelpClass = TsvmCommandHelp

  override formatCommand(command: Command.Loadable): string {
    const dataDir = forDocs(this.opts) ? undefined : this.config.dataDir
    const resolve = (text: string | undefined): string | undefined => resolveText(text, dataDir)
    const flags = Object.fromEntries(
      Object.entries(command.flags).map(([name, flag]) => [name, {...flag, description: resolve(flag.description)}]),
    ) as Command.Loadable['flags']
    return super.formatCommand({...command, description: resolve(command.description), flags})
  }

  protected override summary(command: Command.Loadable): string | undefined {
    const summary = super.summary(command)
    return summary === undefined ? undefined : this.wrap(summary)
  }

  override formatRoot(): string {
    return this.wrapFirstLine(super.formatRoot())
  }

  override formatTopic(topic: Parameters<Help['formatTopic']>[0]): string {
    return this.wrapFirstLine(super.formatTopic(topic))
  }

  /** oclif prints the summary (or the CLI's description) on top unwrapped: wrap it like the rest. */
  private wrapFirstLine(text: string): string {
    const [first = '', ...rest] = text.split('\n')
    return [this.wrap(first), ...rest].join('\n')
  }
}
