// The progress callback of a stamp run as the CLI shows it, and a test hook that halts a run at a
// known point of its write phase.
import {writeSync} from 'node:fs'

import type {StampOptions} from './stamp.js'

/** One progress bar for both write phases (temp files, then renames), and the test hook below. */
export function writeProgress(
  write?: (done: number, total: number) => void,
  hash?: (done: number, total: number) => void,
  bytes?: (done: number, total: number) => void,
): StampOptions['onProgress'] {
  // Test hook (no effect unless set): TSVM_TEST_HALT_STAMP=<write|commit>:<n> stops the process
  // for good once n items of that phase are done, after saying so on stderr, so a test can kill a
  // stamp in its write phase at a known point instead of racing it.
  const [haltPhase, haltAt] = (process.env.TSVM_TEST_HALT_STAMP ?? '').split(':')
  const done = {write: 0, commit: 0}
  return (phase, n, total) => {
    if (process.env.TSVM_DEBUG) process.stderr.write(`stamp: ${phase} ${n}/${total}\n`)
    if (phase === 'hash') return hash?.(n, total)
    if (phase === 'bytes') return bytes?.(n, total)
    done[phase] = n
    write?.(Math.floor((done.write + done.commit) / 2), total)
    if (phase === haltPhase && n >= Number(haltAt)) {
      writeSync(2, `halted in the ${phase} phase after ${n}/${total}\n`)
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0)
    }
  }
}

/**
 * Test hook (no effect unless set): TSVM_TEST_PAUSE_STAMP=proposed makes a stamp run wait, with
 * its event loop free, once its payload is proposed and before any receipt is written, after
 * saying so on stderr: a test sends SIGINT at that known point instead of racing the run.
 */
export function pauseAfterPropose(env: Record<string, string | undefined>): (() => Promise<void>) | undefined {
  if (env.TSVM_TEST_PAUSE_STAMP !== 'proposed') return undefined
  return () => {
    writeSync(2, 'paused after the proposal\n')
    setInterval(() => {}, 1 << 30) // keeps the process alive while it waits for the signal
    return new Promise<void>(() => {})
  }
}

/** A progress reporter as the CLI makes one (undefined when silent). */
type Reporter = {update: (done: number, total: number) => void; end: () => void} | undefined

/**
 * The progress of a stamp run from the CLI's reporters (`make`): files hashed, bytes of large
 * files hashed, receipts written. Returns the options to pass (with the test hook) and the end.
 */
export function stampProgress(make: (label: string, unit?: 'items' | 'bytes') => Reporter): {
  options: Pick<StampOptions, 'onProgress' | 'afterPropose'>
  end: () => void
} {
  const writing = make('writing receipts')
  const bytes = make('hashing large files', 'bytes')
  const onProgress = writeProgress(writing?.update, make('hashing files')?.update, (d, t) => {
    bytes?.update(d, t)
    if (d >= t) bytes?.end()
  })
  return {
    options: {onProgress, afterPropose: pauseAfterPropose(process.env)},
    end() {
      writing?.end()
    },
  }
}
