// Usage errors in words a user acts on: "did you mean …?" for mistyped commands and flags (the
// nearest candidate by edit distance, as git, gh and cast suggest), and oclif's parse errors without
// their internal layout. Separators and case do not count in suggestions (get_block → get-block).

/** Levenshtein distance between two short strings. */
function distance(a: string, b: string): number {
  let prev = Array.from({length: b.length + 1}, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    const row = [i]
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    }

    prev = row
  }

  return prev[b.length]!
}

const bare = (s: string): string => s.toLowerCase().replaceAll(/[-_:\s]/g, '')

/** The candidate closest to `typed`, or undefined when none is close enough to be a plausible typo. */
export function nearest(typed: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined
  let bestScore = Infinity
  for (const c of candidates) {
    const score = bare(c) === bare(typed) ? 0 : distance(typed.toLowerCase(), c.toLowerCase())
    if (score < bestScore) {
      best = c
      bestScore = score
    }
  }

  // a prefix typed in full (vm for vm-id) or a few slips, relative to the word's length
  const limit = Math.max(1, Math.min(3, Math.floor(typed.length / 3)))
  if (best !== undefined && (bestScore <= limit || best.startsWith(typed))) return best
  return undefined
}

const ANSI = /\u001B\[[0-9;]*m/g

/**
 * One line for an oclif parse error: no "See more help with --help" tail, no tab-indented second
 * line, and for an unknown flag the nearest flag of the command. `flags` are the command's flag
 * names, without dashes, or a map from every name a flag answers to (aliases too) to its name;
 * `command` is how to ask for its help (`tsvm stamp`).
 */
export function usageMessage(
  err: {message?: string; flags?: unknown; args?: unknown},
  command: string,
  flags: readonly string[] | Readonly<Record<string, string>>,
): string {
  // a flag's old names (hidden aliases) are close to what a user types too: suggest the new name
  const names: Readonly<Record<string, string>> = Array.isArray(flags)
    ? Object.fromEntries(flags.map((f) => [f, f]))
    : (flags as Readonly<Record<string, string>>)
  const unknown = Array.isArray(err.flags) ? (err.flags as string[]) : undefined
  const missing =
    Array.isArray(err.args) && (err.message ?? '').startsWith('Missing')
      ? (err.args as {name?: string; description?: string}[])
      : undefined
  let text: string
  if (missing) {
    text = missing
      .map((a) => `missing argument ${(a.name ?? '').toUpperCase()}${a.description ? `, ${a.description}` : ''}`)
      .join('; ')
    const note = /\n\nNote: (.*?) allows? multiple values/.exec(err.message ?? '')
    if (note) text += `: arguments go before ${note[1]}, which takes several values, or after --`
  } else if (unknown) {
    text = unknown
      .map((typed) => {
        const name = typed.replace(/^-+/, '').split('=')[0] ?? ''
        const guess = typed.startsWith('--') ? nearest(name, Object.keys(names)) : undefined
        return `unknown flag ${typed}${guess ? ` (did you mean --${names[guess]}?)` : ''}`
      })
      .join('; ')
  } else {
    text = (err.message ?? '')
      .replaceAll(ANSI, '')
      .replace(/\n*See (more help with --help|--help for usage\.)\s*$/, '')
      .replace(/^Parsing (--\S+)\s*\n\s*Expected/, '$1: expected')
      .replace(/^The following errors? occurred:\s*\n\s*/, '')
      .replace(/^Nonexistent flags?: /, 'unknown flag ')
      .replace(/^Unexpected arguments?: /, 'unexpected argument ')
      .split('\n')
      .map((line) => line.trim().replaceAll(/\s{2,}/g, ' '))
      .filter(Boolean)
      .join('; ')
  }

  return `${text}: see ${command} --help`
}

/**
 * The command a user meant to run, from the words oclif could not match: the longest run of
 * words that is a topic (`plugin`) plus the next word, or the first word; flags and arguments
 * after it are not part of it. `ids` are oclif's command ids (`plugin:install`).
 */
export function typedCommand(words: readonly string[], ids: readonly string[]): string {
  const plain = words.filter((w) => !w.startsWith('-'))
  let depth = 0
  while (depth < plain.length - 1 && ids.some((id) => id.startsWith(plain.slice(0, depth + 1).join(':') + ':'))) depth++
  return plain.slice(0, depth + 1).join(':')
}

/** A command ID as typed: with spaces, not oclif's `:`. */
function shown(id: string): string {
  return id.replaceAll(':', ' ')
}

/**
 * "stmp" is not a tsvm command: did you mean stamp? … with the words as typed (spaces, never
 * oclif's `:`), and the nearest command when one is close.
 */
export function unknownCommandMessage(words: readonly string[], ids: readonly string[], bin: string): string {
  const typed = typedCommand(words, ids)
  const guess = nearest(typed, ids)
  const hint = guess ? `did you mean ${shown(guess)}? ` : ''
  return `${JSON.stringify(shown(typed))} is not a ${bin} command: ${hint}run ${bin} help for the list`
}
