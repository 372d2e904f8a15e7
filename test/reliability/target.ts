// The server the HTTP and crash reliability tests attack: the real `tsvm serve` in a child process.
import {spawn} from 'node:child_process'
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {BIN, ROOT} from '../helpers/cli.js'

export interface Target {
  port: number
  /** The address the server bound (connect here). */
  address: string
  /** Its connection cap. */
  maxConnections: number
  pid: number
  close(): Promise<void>
}

/** Starts a server child process on a fresh data dir (extra `serve` flags in `args`); `pid` is the process whose memory is sampled. */
export async function startTarget(args: string[] = []): Promise<Target> {
  const dir = await mkdtemp(join(tmpdir(), 'tsvm-target-'))
  const server = await startServeChild(dir, args)
  return {
    port: server.port,
    address: server.address,
    maxConnections: server.maxConnections,
    pid: server.child.pid!,
    async close() {
      server.child.kill('SIGTERM')
      await server.exited
      await rm(dir, {recursive: true, force: true})
    },
  }
}

/** A serving child process on a data dir. */
export interface ServeChild {
  port: number
  address: string
  maxConnections: number
  child: import('node:child_process').ChildProcess
  exited: Promise<void>
}

/** Starts the real `tsvm serve` on `dir` (a free port on 127.0.0.1, plus `args`, with `extraEnv`) and waits for its --json start line. */
export function startServeChild(
  dir: string,
  args: string[] = [],
  extraEnv: Record<string, string> = {},
): Promise<ServeChild> {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('TSVM_')) env[k] = v
  Object.assign(env, extraEnv)
  const child = spawn(process.execPath, [BIN, 'serve', '--data-dir', dir, '--port', '0', '--json', ...args], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const exited = new Promise<void>((resolve) => {
    child.once('close', () => resolve())
  })
  return new Promise((resolve, reject) => {
    let out = ''
    let err = ''
    child.stderr!.on('data', (b: Buffer) => {
      err += b.toString()
    })
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString()
      const nl = out.indexOf('\n')
      if (nl === -1) return
      const info = JSON.parse(out.slice(0, nl)) as {port: number; address: string; maxConnections: number}
      resolve({port: info.port, address: info.address, maxConnections: info.maxConnections, child, exited})
    })
    child.once('close', (code) => reject(new Error(`server exited ${code} before starting: ${err}`)))
  })
}
