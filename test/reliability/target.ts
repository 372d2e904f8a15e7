// The server the HTTP reliability tests attack.
import {spawn} from 'node:child_process'
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

const SERVE_CHILD = join(fileURLToPath(import.meta.url), '..', 'children', 'serve-child.js')

export interface Target {
  port: number
  pid: number
  close(): Promise<void>
}

/** Starts a server child process on a fresh data dir; `pid` is the process whose memory is sampled. */
export async function startTarget(): Promise<Target> {
  const dir = await mkdtemp(join(tmpdir(), 'tsvm-target-'))
  const server = await startServeChild(dir)
  return {
    port: server.port,
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
  child: import('node:child_process').ChildProcess
  exited: Promise<void>
}

/** Starts the chain server child on `dir` and waits for its start line. */
export function startServeChild(dir: string): Promise<ServeChild> {
  const child = spawn(process.execPath, [SERVE_CHILD, dir], {stdio: ['ignore', 'pipe', 'pipe']})
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()))
  return new Promise((resolve, reject) => {
    let out = ''
    let err = ''
    child.stderr!.on('data', (b: Buffer) => (err += b.toString()))
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString()
      const nl = out.indexOf('\n')
      if (nl >= 0) resolve({port: (JSON.parse(out.slice(0, nl)) as {port: number}).port, child, exited})
    })
    child.once('close', (code) => reject(new Error(`server exited ${code} before starting: ${err}`)))
  })
}
