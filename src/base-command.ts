// Every tsvm command extends BaseCommand: --json on all of them, and one catch() that turns any
// error into a clear message (or a JSON object under --json) and its documented exit code.
import {Command, Errors, Interfaces, ux} from '@oclif/core'

import {errorJson, exitCodeFor, toTsvmError} from './errors.js'
import {formatError} from './output.js'

/** The parsed flags of a command class, for typed access in subclasses. */
export type CommandFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof BaseCommand)['baseFlags'] & T['flags']>

/** The base of every tsvm command. */
export abstract class BaseCommand extends Command {
  static override enableJsonFlag = true

  /** Results go to stdout; this is for progress and warnings, which go to stderr and stay quiet under --json. */
  protected note(message: string): void {
    if (!this.jsonEnabled()) process.stderr.write(message + '\n')
  }

  /**
   * A progress reporter for long runs: rewrites one stderr line, or undefined (silent) under
   * --json or when stderr is not a terminal. Call the returned `end` when done.
   */
  protected progress(label: string): {update: (done: number, total: number) => void; end: () => void} | undefined {
    if (this.jsonEnabled() || !process.stderr.isTTY) return undefined
    let shown = false
    return {
      update: (done, total) => {
        shown = true
        process.stderr.write(`\r${label} ${done}/${total}`)
      },
      end: () => {
        if (shown) process.stderr.write('\n')
      },
    }
  }

  /**
   * The --json output: what oclif prints, without its colouring pass unless a theme colours JSON.
   * That pass tokenizes the whole text with regular expressions, which took seconds and a
   * gigabyte for the 100,000 blocks of one `propose -` (70 MB of JSON), to add no colour at all.
   */
  override logJson(json: unknown): void {
    if (this.config.theme?.json) {
      super.logJson(json)
      return
    }
    ux.stdout(JSON.stringify(json, undefined, 2))
  }

  override async catch(err: Error & {exitCode?: number}): Promise<never> {
    // oclif's own exit (this.exit) passes through untouched.
    if (err instanceof Errors.ExitError) throw err
    const error = toTsvmError(err)
    const code = exitCodeFor(error)
    if (this.jsonEnabled()) {
      this.logJson(errorJson(error))
    } else {
      process.stderr.write(formatError(error) + '\n')
    }
    if (process.env.TSVM_DEBUG && error.cause) process.stderr.write(String((error.cause as Error).stack ?? error.cause) + '\n')
    this.exit(code)
  }
}
