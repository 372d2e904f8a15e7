// Human formatting of result objects. The only module that imports chalk; chalk itself turns
// colour off when stdout is not a TTY or NO_COLOR is set, and on with FORCE_COLOR.
import chalk, {chalkStderr} from 'chalk'

import type {TsvmError} from './vm/errors.js'

/** A `label  value` table with aligned labels. */
export function table(rows: Array<[string, string | undefined]>): string {
  const shown = rows.filter((r): r is [string, string] => r[1] !== undefined)
  const width = Math.max(0, ...shown.map(([k]) => k.length))
  return shown.map(([k, v]) => `${chalk.dim(k.padEnd(width))}  ${v}`).join('\n')
}

/** Highlights an identifier (IDs, hashes) in human output. */
export function id(text: string): string {
  return chalk.cyan(text)
}

/** A success line. */
export function ok(text: string): string {
  return chalk.green(text)
}

/** A warning line (for stderr). */
export function warn(text: string): string {
  return chalk.yellow(text)
}

/** A failure line. */
export function bad(text: string): string {
  return chalk.red(text)
}

/** The human form of an error, for stderr. */
export function formatError(err: TsvmError): string {
  return `${chalkStderr.red('Error:')} ${err.message} ${chalkStderr.dim(`[${err.code}]`)}`
}
