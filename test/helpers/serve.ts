// Starts the real `tsvm serve` in a child process and reads its --json start line.
import {type ChildProcess, spawn} from 'node:child_process'

import {BIN, ROOT} from './cli.js'

export interface ServeInfo {
  chainID: string
  vmID: string
  nodeID: string
  endpoints: {chain: string; chainAlias: string; static: string; staticAlias: string; health: string; info: string}
  host: string
  address: string
  port: number
  api: string
  blockTime: number
  maxConnections: number
  warnings: string[]
}

export interface ServeProcess {
  info: ServeInfo
  child: ChildProcess
  stderr(): string
  /** Sends `signal` and resolves with the exit code (SIGKILL after timeoutMs). */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>
}

/** Runs `tsvm serve --port 0 --json ...args`; rejects if no start line comes within timeoutMs. */
export function startServe(
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 30_000,
): Promise<ServeProcess> {
  const childEnv: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('TSVM_')) childEnv[k] = v
  Object.assign(childEnv, {NO_COLOR: '1'}, env)
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--json', ...args], {
    cwd: ROOT,
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  let err = ''
  child.stderr!.on('data', (b: Buffer) => {
    err += b.toString('utf8')
  })
  const exited = new Promise<number | null>((resolve) => {
    child.on('exit', (code) => resolve(code))
  })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`tsvm serve printed no start line within ${timeoutMs} ms; stderr:\n${err}`))
    }, timeoutMs)
    child.on('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`tsvm serve exited with ${code} before starting; stdout:\n${out}\nstderr:\n${err}`))
    })
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString('utf8')
      const nl = out.indexOf('\n')
      if (nl === -1) return
      clearTimeout(timer)
      let info: ServeInfo
      try {
        info = JSON.parse(out.slice(0, nl)) as ServeInfo
      } catch {
        child.kill('SIGKILL')
        reject(new Error(`tsvm serve start line is not JSON: ${out}`))
        return
      }

      resolve({
        info,
        child,
        stderr: () => err,
        stop(signal: NodeJS.Signals = 'SIGTERM', killAfterMs = 15_000): Promise<number | null> {
          if (child.exitCode !== null) return Promise.resolve(child.exitCode)
          const t = setTimeout(() => child.kill('SIGKILL'), killAfterMs)
          child.kill(signal)
          return exited.finally(() => clearTimeout(t))
        },
      })
    })
  })
}
