// Every tsvm command extends BaseCommand: --json on all of them, and one catch() that turns any
// error into a clear message (or a JSON object under --json) and its documented exit code.
import {Command, Errors, Flags, Interfaces} from '@oclif/core'
import {writeSync} from 'node:fs'

import {adoptionSettings} from './chain/adopt-hooks.js'
import {errorJson, exitCodeFor, toTsvmError} from './errors.js'
import {adoptionText, formatError, setColor} from './output.js'
import {progressText} from './progress-line.js'
import {usageMessage} from './usage.js'
import {TsvmError} from './vm/errors.js'

const ignore = () => {}

/** The parsed flags of a command class, for typed access in subclasses. */
export type CommandFlags<T extends typeof Command> = Interfaces.InferredFlags<
  (typeof BaseCommand)['baseFlags'] & T['flags']
>

/** The base of every tsvm command. */
export abstract class BaseCommand extends Command {
  static override enableJsonFlag = true
  static override baseFlags = {
    color: Flags.boolean({
      allowNo: true,
      description:
        'colour the output even when piped, or never (--no-color) [default: on a terminal unless NO_COLOR is set; env: NO_COLOR, FORCE_COLOR]',
      helpGroup: 'GLOBAL',
    }),
  }

  /** Applies --color/--no-color before anything is printed, parse errors included (read from argv as oclif reads --json). */
  override async init(): Promise<void> {
    await super.init()
    setColor(colorFlag(this.argv))
    adoptionSettings.onAdopted = (report, dataDir) => this.note(adoptionText(report, dataDir))
    adoptionSettings.adopt = adoptHooks(process.env)
    // oclif swallows EPIPE on stdout; remember it, so a long listing stops when its reader has gone
    // (`tsvm blocks -n 100000 | head -1`), as `git log | head` does.
    process.stdout.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') this.outputClosed = true
    })
  }

  /** True once the reader of stdout has gone (EPIPE): nothing printed from now on is seen. */
  protected outputClosed = false

  /**
   * --json output: the text oclif prints when no JSON theme is set (tsvm sets none), without its
   * token-by-token colorizer, which takes ~0.3 s over the 2 MB result of a 10,000-file stamp.
   */
  override logJson(json: unknown): void {
    console.log(JSON.stringify(json, null, 2))
  }

  /**
   * this.log for output already laid out as bytes (ending in a newline), written as they are:
   * no string to build and encode again. As console.log does, a failed write (EPIPE, the reader
   * has gone) is not thrown: it sets outputClosed.
   */
  protected logBytes(bytes: Uint8Array): void {
    if (this.jsonEnabled() || bytes.length === 0) return
    if (process.stdout.listenerCount('error') === 0) process.stdout.once('error', ignore)
    process.stdout.write(bytes, (error) => {
      if (error) this.outputClosed = true
    })
  }

  /** Results go to stdout; this is for progress and warnings, which go to stderr and stay quiet under --json. */
  protected note(message: string): void {
    if (!this.jsonEnabled()) process.stderr.write(message + '\n')
  }

  /**
   * A progress reporter for long runs: rewrites one stderr line with the count, the rate and the
   * time left (at most ten times a second), or undefined (silent) under --json or when stderr is
   * not a terminal. Call the returned `end` when done.
   */
  protected progress(
    label: string,
    unit: 'items' | 'bytes' = 'items',
  ): {update: (done: number, total: number) => void; end: () => void} | undefined {
    if (this.jsonEnabled() || !process.stderr.isTTY) return undefined
    const start = Date.now()
    let last: {done: number; total: number} | undefined
    let shownAt = 0
    const show = () =>
      process.stderr.write(`\r${progressText(label, last!.done, last!.total, Date.now() - start, unit)}\u001B[K`)
    return {
      update(done, total) {
        last = {done, total}
        if (Date.now() - shownAt < 100 && done < total) return
        shownAt = Date.now()
        show()
      },
      end() {
        if (last === undefined) return
        show()
        process.stderr.write('\n')
        last = undefined
      },
    }
  }

  /**
   * Ctrl-C as a request to stop cleanly: the returned signal aborts on the first SIGINT (a second
   * one ends the process at once, as usual). Call `done` when the work is over.
   */
  protected interruptible(): {signal: AbortSignal; done: () => void} {
    const controller = new AbortController()
    const onInt = (): void => {
      this.trace('SIGINT: stopping after the work in flight')
      controller.abort()
    }

    process.once('SIGINT', onInt)
    return {signal: controller.signal, done: () => process.off('SIGINT', onInt)}
  }

  /**
   * Ctrl-C for work that is safe to stop anywhere (it keeps its own record to finish from): say
   * what to do next (and, under --json, print the state as the final JSON object), then exit 130
   * at once. Returns the function that removes the handler.
   */
  protected exitOnInterrupt(report: () => string | {message: string; json: unknown}): () => void {
    const onInt = (): void => {
      const r = report()
      if (typeof r !== 'string' && this.jsonEnabled()) writeSync(1, JSON.stringify(r.json, null, 2) + '\n')
      writeSync(2, (typeof r === 'string' ? r : r.message) + '\n')
      process.exit(130)
    }

    process.once('SIGINT', onInt)
    return () => process.off('SIGINT', onInt)
  }

  /** A diagnostic line on stderr when TSVM_DEBUG is set (tests synchronise on these). */
  protected trace(message: string): void {
    if (process.env.TSVM_DEBUG) process.stderr.write(`${this.id ?? 'tsvm'}: ${message}\n`)
  }

  override async catch(err: Error & {exitCode?: number}): Promise<never> {
    // oclif's own exit (this.exit) passes through untouched.
    if (err instanceof Errors.ExitError) throw err
    let error = toTsvmError(err)
    if (error.code === 'USAGE' && !(err instanceof TsvmError)) {
      // an oclif parse error: one clean line, with the nearest flag for a typo
      const ctor = this.constructor as typeof BaseCommand
      const flags: Record<string, string> = {json: 'json'}
      for (const [name, flag] of Object.entries({...ctor.baseFlags, ...ctor.flags})) {
        if (flag.hidden) continue
        flags[name] = name
        for (const alias of flag.aliases ?? []) flags[alias] = name
      }

      error = new TsvmError('USAGE', usageMessage(err, `${this.config.bin} ${this.id ?? ''}`.trim(), flags), {
        cause: err,
      })
    }

    const code = exitCodeFor(error)
    if (this.jsonEnabled()) {
      this.logJson(errorJson(error))
    } else {
      process.stderr.write(formatError(error) + '\n')
    }

    if (process.env.TSVM_DEBUG && error.cause)
      process.stderr.write(String((error.cause as Error).stack ?? error.cause) + '\n')
    // oclif ends an error with process.exit, which drops what a slow pipe reader has not taken
    // yet: the last lines of a long `propose -` table would be cut mid-line.
    await Promise.all([drained(process.stdout), drained(process.stderr)])
    this.exit(code)
  }
}

/** Resolves once everything written to `stream` has left the process (or the reader is gone). */
export function drained(stream: NodeJS.WriteStream): Promise<void> {
  if (stream.writableLength === 0 || stream.destroyed) return Promise.resolve()
  return new Promise((resolve) => {
    const done = (): void => {
      stream.off('drain', done).off('error', done).off('close', done)
      resolve()
    }

    stream.on('drain', done).on('error', done).on('close', done)
  })
}

/** The last of --color / --no-color before a `--`, or undefined when neither is given. */
export function colorFlag(argv: readonly string[]): boolean | undefined {
  const end = argv.indexOf('--')
  let flag: boolean | undefined
  for (const arg of end === -1 ? argv : argv.slice(0, end)) {
    if (arg === '--color') flag = true
    else if (arg === '--no-color') flag = false
  }

  return flag
}

/**
 * Test hooks of the adoption of a Go state, read here so that src/vm never reads the environment:
 * TSVM_ADOPT_BATCH sets the blocks per batch; TSVM_ADOPT_HALT_AFTER=N kills the process (SIGKILL,
 * as a crash would) right after batch N has been written.
 */
function adoptHooks(env: NodeJS.ProcessEnv): {batchSize?: number; onBatch?: (n: number) => void} {
  const batch = Number(env.TSVM_ADOPT_BATCH)
  const halt = Number(env.TSVM_ADOPT_HALT_AFTER)
  return {
    ...(Number.isSafeInteger(batch) && batch > 0 ? {batchSize: batch} : {}),
    ...(Number.isSafeInteger(halt) && halt > 0
      ? {onBatch: (n: number) => n === halt && process.kill(process.pid, 'SIGKILL')}
      : {}),
  }
}
