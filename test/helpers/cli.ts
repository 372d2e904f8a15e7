// Runs the real tsvm binary in a child process, as a user would.
import {spawn, spawnSync} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

/** The repository root (tests run from dist/test/..., two or three levels down). */
export const ROOT = resolve(fileURLToPath(import.meta.url), '../../../..')

/** The CLI entry point. */
export const BIN = join(ROOT, 'bin', 'run.js')

export interface RunResult {
  code: number
  stdout: string
  stderr: string
}

export interface RunOptions {
  input?: string | Uint8Array
  env?: Record<string, string | undefined>
  cwd?: string
  timeoutMs?: number
  /** Sends one SIGINT (a Ctrl-C) when stderr first matches this: the child says when, no timing. */
  interruptOn?: RegExp
}

let cacheDir: string | undefined

/**
 * The block cache dir every child gets unless a test sets TSVM_CACHE_DIR itself: one temporary
 * dir per test process, removed at exit, so no test writes to the real home's cache.
 */
function testCacheDir(): string {
  if (cacheDir === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'tsvm-cache-'))
    cacheDir = dir
    process.on('exit', () => rmSync(dir, {recursive: true, force: true}))
  }

  return cacheDir
}

/** Runs `tsvm ...args` and collects its output. Colour is off and no inherited TSVM_* variable leaks in. */
export function tsvm(args: string[], options: RunOptions = {}): Promise<RunResult> {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('TSVM_')) env[k] = v
  env.NO_COLOR = '1'
  env.TSVM_CACHE_DIR = testCacheDir()
  delete env.FORCE_COLOR
  for (const [k, v] of Object.entries(options.env ?? {})) {
    if (v === undefined) delete env[k]
    else env[k] = v
  }

  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: options.cwd ?? ROOT,
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (b: Buffer) => out.push(b))
    let interrupted = false
    child.stderr.on('data', (b: Buffer) => {
      err.push(b)
      if (options.interruptOn && !interrupted && options.interruptOn.test(Buffer.concat(err).toString('utf8'))) {
        interrupted = true
        child.kill('SIGINT')
      }
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolvePromise({
        code: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
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

let nobody: boolean | undefined

/** True when tests can run tsvm as the unprivileged user `nobody`: the runner is root and runuser works. */
export function canRunAsNobody(): boolean {
  nobody ??=
    process.getuid?.() === 0 && spawnSync('runuser', ['-u', 'nobody', '--', process.execPath, '-e', '0']).status === 0
  return nobody
}

/**
 * Runs `tsvm ...args` as a user file permissions apply to (root ignores them): as `nobody` when
 * the runner is root, with only PATH, NO_COLOR and `options.env` in its environment; as the runner
 * itself otherwise. Undefined when the runner is root but cannot become `nobody`.
 */
export function tsvmUnprivileged(args: string[], options: RunOptions & {cwd: string}): Promise<RunResult> | undefined {
  if (process.getuid?.() !== 0) return tsvm(args, options)
  if (!canRunAsNobody()) return undefined
  const env = {PATH: process.env.PATH ?? '/usr/bin:/bin', NO_COLOR: '1', ...options.env}
  const assignments = Object.entries(env).flatMap(([k, v]) => (v === undefined ? [] : [`${k}=${v}`]))
  return new Promise((resolvePromise, reject) => {
    const child = spawn(
      'runuser',
      ['-u', 'nobody', '--', 'env', '-i', ...assignments, process.execPath, BIN, ...args],
      {cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe']},
    )
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (b: Buffer) => {
      stdout += b.toString()
    })
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString()
    })
    child.on('error', reject)
    child.on('close', (code) => resolvePromise({code: code ?? 1, stdout, stderr}))
  })
}

/** Runs tsvm with --json and parses stdout. */
export async function tsvmJson<T = any>(
  args: string[],
  options: RunOptions = {},
): Promise<{code: number; json: T; stderr: string}> {
  const r = await tsvm([...args, '--json'], options)
  let json: T
  try {
    json = JSON.parse(r.stdout) as T
  } catch {
    throw new Error(`stdout of tsvm ${args.join(' ')} is not JSON (exit ${r.code}):\n${r.stdout}\nstderr:\n${r.stderr}`)
  }

  return {code: r.code, json, stderr: r.stderr}
}

/** A fresh temporary directory; remove it with the returned cleanup. */
export async function tempDir(prefix = 'tsvm-test-'): Promise<{dir: string; cleanup: () => Promise<void>}> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  return {dir, cleanup: () => rm(dir, {recursive: true, force: true})}
}
