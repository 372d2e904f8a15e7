// The AvalancheGo plugin process: tsvm's TimestampVM as an rpcchainvm plugin over gRPC.
//
// Entry point: dist/bundle/plugin.js (its own bundle, outside oclif's start-up path). The node
// runs the file in its plugin dir, a /bin/sh launcher:
//
//     #!/bin/sh
//     exec '/abs/path/to/node' '/abs/path/to/dist/bundle/plugin.js' --protocol 45
//
// Protocol: `--protocol N` (42-46, default 45 = AvalancheGo v1.14.2; see protocol.ts for the
// releases of each). The node requires its own number exactly, so the launcher bakes it in.
// Nothing else is read: the node passes no arguments and an environment holding only
// AVALANCHE_VM_RUNTIME_ENGINE_ADDR (no PATH or HOME; cwd is the node's).
//
// Life: serve vm.VM + http.HTTP on 127.0.0.1:0, call vm.runtime.Runtime/Initialize with the
// protocol and that address (the node allows 5 s from spawn), then answer the node. SIGINT is
// always ignored (a Ctrl-C to the node's process group); SIGTERM ends the process once Shutdown
// has run or the node is gone (the parent changed), and is ignored before that, as Go plugins do.
// A plugin whose parent changed exits by itself within 2 s.
// Logs go to stderr, which the node copies into its log; stdout and stderr are never closed
// (EOF on either makes the node stop the plugin).
import {setPollAfterWrite} from './h2.js'
import {UnaryClient} from './h2grpc.js'
import {RuntimeService} from './messages.js'
import {DEFAULT_PROTOCOL, PROTOCOL_RELEASES, isSupportedProtocol} from './protocol.js'
import {type PluginServer, startPluginServer} from './server.js'

/** How long the event loop keeps polling after a write (h2.ts): about the node's turn between two calls. */
const POLL_AFTER_WRITE_MS = 0.1

const log = (line: string): void => {
  process.stderr.write(`tsvm plugin[${process.pid}]: ${line}\n`)
}

function fail(message: string, code = 2): never {
  log(message)
  process.exit(code)
}

/** The protocol from `--protocol N` / `--protocol=N`, or the default. */
function protocolFromArgs(args: string[]): number {
  let value: string | undefined
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!
    if (a === '--protocol') value = args[++i]
    else if (a.startsWith('--protocol=')) value = a.slice('--protocol='.length)
    else fail(`unexpected argument ${JSON.stringify(a)}: the plugin takes only --protocol N (42-46)`)
  }

  if (value === undefined) return DEFAULT_PROTOCOL
  const n = /^\d+$/.test(value) ? Number(value) : Number.NaN
  if (!isSupportedProtocol(n)) {
    const known = Object.entries(PROTOCOL_RELEASES).map(([p, r]) => `${p} (${r.join(', ')})`)
    fail(`--protocol ${value} is not supported: use one of ${known.join(', ')}`)
  }

  return n
}

async function main(): Promise<void> {
  const protocol = protocolFromArgs(process.argv.slice(2))
  const engine = process.env.AVALANCHE_VM_RUNTIME_ENGINE_ADDR
  if (!engine) {
    fail(
      'AVALANCHE_VM_RUNTIME_ENGINE_ADDR is not set: this program is an AvalancheGo VM plugin, started by the node (install it with tsvm plugin install)',
    )
  }

  const parent = process.ppid
  let shutdown = false
  // eslint-disable-next-line prefer-const -- the signal handlers above read it before it is assigned
  let server: PluginServer | undefined
  process.on('SIGINT', () => {})
  process.on('SIGTERM', () => {
    if (shutdown || process.ppid !== parent) {
      server?.stop()
      process.exit(0)
    }

    log('SIGTERM before Shutdown: ignored (the node sends Shutdown first)')
  })
  // Without Pdeathsig (not Linux, or a parent that died by SIGKILL before setting it up), nobody
  // tells a plugin its node is gone: check now and then, and leave instead of lingering.
  setInterval(() => {
    if (process.ppid === parent) return
    log('the node is gone (the parent process changed): exiting')
    server?.stop()
    process.exit(0)
  }, 2000).unref()

  setPollAfterWrite(POLL_AFTER_WRITE_MS)
  server = await startPluginServer({
    log,
    onShutdown() {
      shutdown = true
    },
  })
  const runtime = new UnaryClient(engine)
  try {
    await runtime.call(
      RuntimeService.Initialize,
      {protocolVersion: protocol, addr: server.address},
      {deadline: Date.now() + 10_000},
    )
  } catch (error) {
    server.stop()
    fail(`the handshake with the node at ${engine} failed (protocol ${protocol}): ${(error as Error).message}`, 1)
  } finally {
    // The node closes its Runtime server after the handshake: that is not the node going away.
    runtime.close()
  }
}

// eslint-disable-next-line unicorn/prefer-top-level-await -- the entry only starts main: module evaluation is not held for the plugin's life
main().catch((error: unknown) => fail(`failed: ${(error as Error).stack ?? String(error)}`, 1))
