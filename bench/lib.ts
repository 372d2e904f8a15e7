// Shared pieces of the benchmark: where things are, child processes with wall time and peak RSS,
// medians, and the Figure record every group returns.
import {spawn} from 'node:child_process'
import {existsSync, readFileSync} from 'node:fs'
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

/** The repository root (this file runs from dist/bench/). */
export const ROOT = resolve(fileURLToPath(import.meta.url), '../../..')
/** The CLI entry point. */
export const BIN = join(ROOT, 'bin', 'run.js')
/** Compiled bench scripts that run as their own processes. */
export const BENCH_DIST = join(ROOT, 'dist', 'bench')

/** One row of the results table. */
export interface Figure {
  /** Stable key, e.g. `startup.vm-id`. */
  id: string
  /** What is measured, for the table. */
  name: string
  /** The measured figure (median of the repeats) and its unit. */
  value: number
  unit: string
  /** The same-run baseline, when the figure has one. */
  baseline?: {name: string; value: number; unit: string}
  /** value relative to the baseline, oriented so that higher is better for throughput and lower for times. */
  ratio?: number
  /** The goal as text (e.g. `>= 0.6x`) and whether it is met; absent for reported-only figures. */
  goal?: string
  met?: boolean
  /** Every repeat, and anything else worth keeping (p99, errors, RSS). */
  detail: Record<string, unknown>
}

/** Sizes for a run: full, --quick, or the tiny ones of the smoke test. */
export interface Sizes {
  repeats: number
  startupRuns: number
  acceptBlocks: number
  proposePayloads: number
  stampFiles: number
  serveRequests: number
  serveSeconds: number
  serveConcurrency: number
  /** Blocks of the Go-written chain that the adopt group adopts. */
  adoptBlocks: number
}

export const FULL: Sizes = {
  repeats: 5,
  startupRuns: 15,
  acceptBlocks: 2000,
  proposePayloads: 100_000,
  stampFiles: 10_000,
  serveRequests: 50_000,
  serveSeconds: 10,
  serveConcurrency: 32,
  adoptBlocks: 100_000,
}

export const QUICK: Sizes = {
  repeats: 3,
  startupRuns: 5,
  acceptBlocks: 300,
  proposePayloads: 10_000,
  stampFiles: 1000,
  serveRequests: 5000,
  serveSeconds: 3,
  serveConcurrency: 16,
  adoptBlocks: 10_000,
}

export const TINY: Sizes = {
  repeats: 1,
  startupRuns: 1,
  acceptBlocks: 5,
  proposePayloads: 20,
  stampFiles: 5,
  serveRequests: 50,
  serveSeconds: 2,
  serveConcurrency: 2,
  adoptBlocks: 50,
}

/** The median of a non-empty list. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

/** A quantile (0..1) of a non-empty list, nearest rank. */
export function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!
}

/** Milliseconds since an arbitrary origin, sub-millisecond. */
export function now(): number {
  return Number(process.hrtime.bigint()) / 1e6
}

/** A fresh temporary directory and its removal. */
export async function tempDir(prefix: string): Promise<{dir: string; cleanup: () => Promise<void>}> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  return {dir, cleanup: () => rm(dir, {recursive: true, force: true})}
}

/** The environment of a measured child: no TSVM_* leaks in, no colour. */
export function childEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('TSVM_')) env[k] = v
  env.NO_COLOR = '1'
  delete env.FORCE_COLOR
  return {...env, ...extra}
}

export interface Run {
  code: number
  ms: number
  stdout: string
  stderr: string
  /** Peak resident set size in KiB, when asked for. */
  peakRssKb?: number
}

const TIME = '/usr/bin/time'

/**
 * Runs a command to completion and times it from spawn to exit. With `rss`, the peak RSS comes
 * from `/usr/bin/time -f %M` when present, else from VmHWM in /proc/<pid>/status sampled every 20 ms.
 */
export function run(
  cmd: string,
  args: string[],
  options: {
    input?: string | Uint8Array
    env?: Record<string, string>
    cwd?: string
    rss?: boolean
    timeoutMs?: number
  } = {},
): Promise<Run> {
  const useTime = options.rss === true && existsSync(TIME)
  const rssFile = useTime ? join(tmpdir(), `tsvm-bench-rss-${process.pid}-${Math.random().toString(36).slice(2)}`) : ''
  const [c, a] = useTime ? [TIME, ['-f', '%M', '-o', rssFile, cmd, ...args]] : [cmd, args]
  return new Promise((resolvePromise, reject) => {
    const start = now()
    const child = spawn(c, a, {
      cwd: options.cwd ?? ROOT,
      env: options.env ?? childEnv(),
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    const out: Buffer[] = []
    const err: Buffer[] = []
    let hwm = 0
    const sampler =
      options.rss === true && !useTime
        ? setInterval(() => {
            hwm = Math.max(hwm, readHwmKb(child.pid) ?? 0)
          }, 20)
        : undefined
    child.stdout.on('data', (b: Buffer) => out.push(b))
    child.stderr.on('data', (b: Buffer) => err.push(b))
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 600_000)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      const ms = now() - start
      clearTimeout(timer)
      if (sampler) clearInterval(sampler)
      let peakRssKb: number | undefined = options.rss ? hwm : undefined
      if (useTime) {
        try {
          peakRssKb = Number.parseInt(readFileSync(rssFile, 'utf8').trim().split('\n').pop() ?? '', 10)
        } catch {
          peakRssKb = undefined
        }

        void rm(rssFile, {force: true})
      }

      resolvePromise({
        code: code ?? (signal ? 128 : 1),
        ms,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        peakRssKb,
      })
    })
    child.stdin.on('error', () => {})
    if (options.input === undefined) {
      child.stdin.end()
    } else {
      child.stdin.end(options.input)
    }
  })
}

/** Runs the CLI (`node bin/run.js ...`). */
export function tsvm(args: string[], options: Parameters<typeof run>[2] = {}): Promise<Run> {
  return run(process.execPath, [BIN, ...args], options)
}

/** Runs the CLI and fails loudly on a non-zero exit: a benchmark of a failing command means nothing. */
export async function tsvmOk(args: string[], options: Parameters<typeof run>[2] = {}): Promise<Run> {
  const r = await tsvm(args, options)
  if (r.code !== 0) throw new Error(`tsvm ${args.join(' ')} exited ${r.code}:\n${r.stderr || r.stdout}`)
  return r
}

/** Peak RSS (VmHWM) of a live process in KiB, or undefined when it is gone. */
export function readHwmKb(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined
  try {
    const m = /VmHWM:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) : undefined
  } catch {
    return undefined
  }
}

/** Builds a figure whose value is a throughput (higher is better): ratio = value / baseline. */
export function throughputFigure(f: Omit<Figure, 'ratio' | 'met'> & {minRatio?: number; minValue?: number}): Figure {
  const {minRatio, minValue, ...rest} = f
  const ratio = f.baseline ? f.value / f.baseline.value : undefined
  let met: boolean | undefined
  if (minRatio !== undefined || minValue !== undefined) {
    met =
      (minRatio === undefined || (ratio !== undefined && ratio >= minRatio)) &&
      (minValue === undefined || f.value >= minValue)
  }

  return {...rest, ratio, met}
}

/** Builds a figure whose value is a time (lower is better): ratio = value / baseline. */
export function timeFigure(f: Omit<Figure, 'ratio' | 'met'> & {maxRatio?: number}): Figure {
  const {maxRatio, ...rest} = f
  const ratio = f.baseline ? f.value / f.baseline.value : undefined
  const met = maxRatio === undefined || ratio === undefined ? undefined : ratio <= maxRatio
  return {...rest, ratio, met}
}

/** A progress line on stderr, so stdout stays the table. */
export function progress(message: string): void {
  process.stderr.write(`bench: ${message}\n`)
}

/** `node -e 0`: the start-up baseline. */
export const nodeBare = () => run(process.execPath, ['-e', '0'])

/**
 * Runs `a` and `b` alternately `n` times each, so both see the same machine load, after one
 * untimed run each; the wall times of each. `onRun` is told before each timed pair.
 */
export async function alternate(
  n: number,
  a: () => Promise<{ms: number; code: number}>,
  b: () => Promise<{ms: number; code: number}>,
  onRun?: (i: number) => void,
) {
  const as: number[] = []
  const bs: number[] = []
  // One untimed run each warms the page cache.
  await a()
  await b()
  for (let i = 0; i < n; i++) {
    onRun?.(i)
    const ra = await a()
    const rb = await b()
    if (ra.code !== 0 || rb.code !== 0) throw new Error(`start-up run failed (exit ${ra.code}/${rb.code})`)
    as.push(ra.ms)
    bs.push(rb.ms)
  }

  return {as, bs}
}
