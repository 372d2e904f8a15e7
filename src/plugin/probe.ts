// `tsvm plugin probe`: does to a plugin file what AvalancheGo does when it registers a VM (at node
// start and on admin.loadVMs) and what avalanche-cli does to learn its protocol (rpcchainvm notes
// §1, §2.1-2.5): serve vm.runtime.Runtime on 127.0.0.1, start the file with no arguments, an
// environment holding only AVALANCHE_VM_RUNTIME_ENGINE_ADDR and an empty scratch cwd, wait for
// Runtime/Initialize (5 s, the node's limit), close the Runtime server (as the node does right
// after the handshake), call vm.VM/Version and vm.VM/Shutdown, send SIGTERM and wait for the exit.
// Any step that goes wrong is a PLUGIN_PROBE_FAILED with a `reason` and the plugin's stderr tail.
import {type ChildProcess, spawn} from 'node:child_process'
import {constants} from 'node:fs'
import {access, mkdtemp, rm, stat} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'

import {TsvmError} from '../vm/errors.js'
import {GrpcServer, Status, StatusError, UnaryClient} from './h2grpc.js'
import {RuntimeService, VmService} from './messages.js'
import {DEFAULT_PROTOCOL, PROTOCOL_RELEASES} from './protocol.js'

/** The node's limit from spawn to Runtime/Initialize, and from SIGTERM to SIGKILL. */
export const NODE_LIMIT_MS = 5000

/** Why a probe failed (the `reason` detail of PLUGIN_PROBE_FAILED). */
export type ProbeFault =
  | 'not-executable'
  | 'spawn-failed'
  | 'exited-before-handshake'
  | 'no-handshake'
  | 'protocol-mismatch'
  | 'crashed'
  | 'bad-version'
  | 'shutdown-failed'
  | 'no-exit'
  | 'bad-exit'

/** Options of a probe. */
export interface ProbeOptions {
  /** The protocol the node speaks (default 45): the plugin must announce exactly this. */
  protocol?: number
  /** ms from spawn to Runtime/Initialize (default 5000, the node's). */
  handshakeMs?: number
  /** ms for Version and Shutdown to answer, and for the exit after SIGTERM (default 5000). */
  callMs?: number
}

/** What a successful probe saw. */
export interface ProbeResult {
  launcher: string
  /** The protocol the plugin announced (equal to the expected one). */
  protocol: number
  /** The AvalancheGo releases that speak it. */
  releases: string[]
  /** vm.VM/Version's string (what info.getVMs shows). */
  version: string
  /** ms from spawn to Runtime/Initialize arriving. */
  handshakeMs: number
  /** The address the plugin announced for vm.VM. */
  address: string
  /** How the process ended after Shutdown + SIGTERM. */
  exit: {code: number | null; signal: string | null}
}

const STDERR_KEEP = 4096

/** A process under probe: its exit and the tail of its stderr. */
class Probed {
  readonly exited: Promise<{code: number | null; signal: NodeJS.Signals | null}>
  spawnError: Error | undefined
  private err = Buffer.alloc(0)
  ended = false

  constructor(readonly child: ChildProcess) {
    child.stderr!.on('data', (b: Buffer) => {
      this.err = Buffer.concat([this.err, b])
      if (this.err.length > 4 * STDERR_KEEP) this.err = this.err.subarray(-STDERR_KEEP)
    })
    // stdout is drained (the node copies it into its log); never left to fill the pipe.
    child.stdout!.resume()
    this.exited = new Promise((res) => {
      child.once('error', (error) => {
        this.spawnError = error
        this.ended = true
        res({code: null, signal: null})
      })
      child.once('exit', (code, signal) => {
        this.ended = true
        res({code, signal})
      })
    })
  }

  get stderrTail(): string {
    return this.err.subarray(-STDERR_KEEP).toString('utf8').trim()
  }

  async kill(): Promise<void> {
    if (!this.ended) this.child.kill('SIGKILL')
    await this.exited
  }
}

const describeExit = (e: {code: number | null; signal: string | null}) =>
  e.signal ? `was killed by ${e.signal}` : `exited with code ${e.code}`

function fault(
  reason: ProbeFault,
  launcher: string,
  message: string,
  probed?: Probed,
  extra: Record<string, unknown> = {},
): TsvmError {
  const stderr = probed?.stderrTail ?? ''
  const text = stderr ? `${message}\nits stderr ends with:\n${stderr}` : message
  return new TsvmError('PLUGIN_PROBE_FAILED', text, {
    details: {reason, launcher, ...extra, ...(stderr ? {stderr} : {})},
  })
}

/** Resolves with a value, or with `onTimeout()` after `ms`. */
function within<T, U>(p: Promise<T>, ms: number, onTimeout: () => U): Promise<T | U> {
  let timer: NodeJS.Timeout | undefined
  const t = new Promise<U>((res) => {
    timer = setTimeout(() => res(onTimeout()), ms)
  })
  return Promise.race([p, t]).finally(() => clearTimeout(timer))
}

/** Plays the node's registration of `launcher` (see the top of this file). */
export async function probePlugin(launcherPath: string, options: ProbeOptions = {}): Promise<ProbeResult> {
  const launcher = resolve(launcherPath)
  const expected = options.protocol ?? DEFAULT_PROTOCOL
  const handshakeMs = options.handshakeMs ?? NODE_LIMIT_MS
  const callMs = options.callMs ?? NODE_LIMIT_MS
  const info = await stat(launcher).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT')
      throw new TsvmError('FILE_NOT_FOUND', `no such plugin file: ${launcher}`, {cause: error})
    throw error
  })
  if (!info.isFile())
    throw fault(
      'not-executable',
      launcher,
      `${launcher} is not a file: pass the plugin file itself (<plugin-dir>/<vmID>)`,
    )
  try {
    await access(launcher, constants.X_OK)
  } catch {
    throw fault(
      'not-executable',
      launcher,
      `${launcher} is not executable: the node runs plugin files directly; chmod 755 it`,
    )
  }

  // The node's Runtime server: records the announced protocol and answers a mismatch as it does.
  let announced: ((a: {protocol: number; addr: string; ms: number}) => void) | undefined
  const handshake = new Promise<{protocol: number; addr: string; ms: number}>((res) => {
    announced = res
  })
  let started = 0n
  const runtime = new GrpcServer()
  runtime.addService(RuntimeService, {
    Initialize(request) {
      announced!({
        protocol: request.protocolVersion,
        addr: request.addr,
        ms: Number(process.hrtime.bigint() - started) / 1e6,
      })
      if (request.protocolVersion !== expected) {
        throw new StatusError(
          Status.UNKNOWN,
          `RPCChainVM protocol version mismatch between AvalancheGo and Virtual Machine plugin: the node implements protocol ${expected}, the VM located at ${launcher} implements protocol ${request.protocolVersion}`,
        )
      }

      return {}
    },
  })
  const runtimeAddress = await runtime.listen()
  const cwd = await mkdtemp(join(tmpdir(), 'tsvm-probe-'))
  let probed: Probed | undefined
  let vm: UnaryClient | undefined
  try {
    started = process.hrtime.bigint()
    probed = new Probed(
      spawn(launcher, [], {
        cwd,
        env: {AVALANCHE_VM_RUNTIME_ENGINE_ADDR: runtimeAddress},
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: false,
      }),
    )
    const first = await within(
      Promise.race([handshake, probed.exited.then((e) => ({exited: e}))]),
      handshakeMs,
      () => 'timeout' as const,
    )
    // The node closes its Runtime server right after the handshake: the plugin must live on.
    runtime.close()
    if (first === 'timeout') {
      throw fault(
        'no-handshake',
        launcher,
        `${launcher} did not call Runtime/Initialize within ${handshakeMs} ms of its start: the node gives up after 5 s ("handshake failed: vm process not found")`,
        probed,
      )
    }

    if ('exited' in first) {
      if (probed.spawnError) {
        throw fault(
          'spawn-failed',
          launcher,
          `${launcher} could not be started (${probed.spawnError.message}): a plugin file must be an executable with a valid #! line`,
          probed,
        )
      }

      throw fault(
        'exited-before-handshake',
        launcher,
        `${launcher} ${describeExit(first.exited)} before calling Runtime/Initialize: with only AVALANCHE_VM_RUNTIME_ENGINE_ADDR set (no PATH or HOME), does it find its interpreter and files?`,
        probed,
        {exit: first.exited},
      )
    }

    if (first.protocol !== expected) {
      const theirs = PROTOCOL_RELEASES[first.protocol]
      throw fault(
        'protocol-mismatch',
        launcher,
        `${launcher} announced rpcchainvm protocol ${first.protocol}${theirs ? ` (AvalancheGo ${theirs.join(', ')})` : ''}, not ${expected}${PROTOCOL_RELEASES[expected] ? ` (AvalancheGo ${PROTOCOL_RELEASES[expected].join(', ')})` : ''}: the node refuses it; reinstall with tsvm plugin install --protocol ${expected} (or --avalanchego <your node's version>)`,
        probed,
        {announced: first.protocol, expected},
      )
    }

    vm = new UnaryClient(first.addr)
    const call = async <R>(what: 'Version' | 'Shutdown', run: () => Promise<R>, reason: ProbeFault): Promise<R> => {
      try {
        return await run()
      } catch (error) {
        const crashed = probed!.ended
        const exit = crashed ? await probed!.exited : undefined
        throw fault(
          crashed ? 'crashed' : reason,
          launcher,
          crashed
            ? `${launcher} ${describeExit(exit!)} during vm.VM/${what}`
            : `vm.VM/${what} failed at ${first.addr}: ${(error as Error).message}`,
          probed,
          exit ? {exit} : {},
        )
      }
    }

    const version = await call(
      'Version',
      () => vm!.call(VmService.Version, {}, {deadline: Date.now() + callMs}),
      'bad-version',
    )
    if (typeof version.version !== 'string')
      throw fault('bad-version', launcher, `vm.VM/Version gave no version string`, probed)
    await call('Shutdown', () => vm!.call(VmService.Shutdown, {}, {deadline: Date.now() + callMs}), 'shutdown-failed')
    vm.close()
    vm = undefined

    probed.child.kill('SIGTERM')
    const exit = await within(probed.exited, callMs, () => 'timeout' as const)
    if (exit === 'timeout') {
      throw fault(
        'no-exit',
        launcher,
        `${launcher} was still running ${callMs} ms after Shutdown and SIGTERM: the node kills it then ("subprocess was killed"), which delays node start-up and shutdown`,
        probed,
      )
    }

    if (exit.code !== 0) {
      throw fault(
        'bad-exit',
        launcher,
        `${launcher} ${describeExit(exit)} after Shutdown and SIGTERM (expected exit code 0)`,
        probed,
        {exit},
      )
    }

    return {
      launcher,
      protocol: first.protocol,
      releases: [...(PROTOCOL_RELEASES[first.protocol] ?? [])],
      version: version.version,
      handshakeMs: Math.round(first.ms * 10) / 10,
      address: first.addr,
      exit: {code: exit.code, signal: exit.signal},
    }
  } finally {
    vm?.close()
    runtime.destroy()
    await probed?.kill()
    await rm(cwd, {recursive: true, force: true})
  }
}
