// `tsvm plugin install`: writes the one file AvalancheGo needs in its plugin dir, a /bin/sh
// launcher named by the VM ID (rpcchainvm notes §2.6, §10):
//
//     #!/bin/sh
//     exec '/abs/path/of/node' '/abs/path/of/dist/bundle/plugin.js' --protocol 45
//
// The node starts it with no arguments and an environment holding only the runtime address (no
// PATH, HOME or NODE_*), in its own cwd, so every path is absolute and resolved now; avalanche-cli
// copies the file elsewhere, so nothing is relative to the file either. `exec` keeps the pid, so
// the node's SIGTERM and Pdeathsig reach node itself. The node reads every file name in the dir as
// a VM ID or alias and stops at the first it cannot resolve, so nothing else is written there:
// the launcher goes in through a dot-named temporary file (a name the node skips) and a rename.
import {randomBytes} from 'node:crypto'
import {constants} from 'node:fs'
import {access, chmod, mkdir, open, readFile, readdir, rename, rm, stat} from 'node:fs/promises'
import {basename, dirname, join, resolve} from 'node:path'

import {idFromString, idToString} from '../vm/encoding.js'
import {TsvmError} from '../vm/errors.js'
import {vmIdFromName, vmNameFromId} from '../vm/vmid.js'
import {
  DEFAULT_PROTOCOL,
  OLDEST_RELEASE,
  PROTOCOL_RELEASES,
  isSupportedProtocol,
  protocolOfRelease,
} from './protocol.js'

/** The VM name of the Go timestampvm builds: its VM ID is what their plugin file is called. */
export const DEFAULT_VM_NAME = 'timestamp'

/** What to install. */
export interface InstallOptions {
  /** The node's plugin dir (created when missing); the launcher is `<pluginDir>/<vmID>`. */
  pluginDir?: string
  /** Instead of pluginDir: the exact path to write the launcher at (a build script's output path). */
  output?: string
  /** The VM name (default `timestamp`); exclusive with vmId. */
  name?: string
  /** A CB58 VM ID instead of a name. */
  vmId?: string
  /** The node's release (e.g. v1.14.2), mapped to its protocol; exclusive with protocol. */
  avalanchego?: string
  /** The protocol number (42-46); default 45. */
  protocol?: number
  /** Replace a different file of the same name. */
  force?: boolean
  /** The node binary the launcher runs (default process.execPath). */
  nodePath?: string
  /** The plugin entry script (dist/bundle/plugin.js of this package). */
  entry: string
}

/** What was installed. */
export interface InstallResult {
  vmID: string
  /** The name the VM ID was made from, when it was made from one. */
  name: string | null
  protocol: number
  /** The AvalancheGo releases that speak this protocol. */
  releases: string[]
  launcher: string
  /** False when an identical launcher was already there. */
  written: boolean
  /** The aliases.json entry: `{"<vmID>": ["<name>"]}`, or null without a name. */
  aliases: Record<string, string[]> | null
  node: string
  entry: string
  /** Files already in the plugin dir whose names the node may not resolve (it stops at those); none with an output path. */
  strayFiles: string[]
}

/** The list of supported protocols and releases, for messages. */
export function supportedProtocols(): string {
  return Object.entries(PROTOCOL_RELEASES)
    .map(([p, r]) => `${p} (${r.join(', ')})`)
    .join(', ')
}

/** The protocol to announce, from --avalanchego or --protocol (default 45); refuses what the plugin cannot speak. */
export function chooseProtocol(options: {avalanchego?: string; protocol?: number}): number {
  if (options.avalanchego !== undefined) {
    const p = protocolOfRelease(options.avalanchego)
    if (typeof p === 'number') return p
    const what = JSON.stringify(options.avalanchego)
    const message =
      p === 'invalid'
        ? `--avalanchego ${what} is not a version: pass one like v1.14.2 (avalanchego --version prints it)`
        : p === 'older'
          ? `AvalancheGo ${what} speaks rpcchainvm protocol 41 or older, which tsvm does not support: upgrade the node to ${OLDEST_RELEASE} or later (supported: ${supportedProtocols()})`
          : `tsvm does not know which rpcchainvm protocol AvalancheGo ${what} speaks: avalanchego --version prints it as rpcchainvm=N; pass --protocol N if N is one of ${supportedProtocols()}`
    throw new TsvmError('PROTOCOL_UNSUPPORTED', message, {details: {avalanchego: options.avalanchego}})
  }

  const protocol = options.protocol ?? DEFAULT_PROTOCOL
  if (!isSupportedProtocol(protocol)) {
    throw new TsvmError(
      'PROTOCOL_UNSUPPORTED',
      `rpcchainvm protocol ${protocol} is not supported: use one of ${supportedProtocols()}`,
      {
        details: {protocol},
      },
    )
  }

  return protocol
}

/** A word for /bin/sh in single quotes (a quote inside becomes '\''). */
export function shellQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`
}

/** The launcher's text. */
export function launcherScript(options: {node: string; entry: string; protocol: number; vmID: string}): string {
  const releases = PROTOCOL_RELEASES[options.protocol]?.join(', ') ?? '?'
  return [
    '#!/bin/sh',
    `# tsvm TimestampVM plugin for AvalancheGo: VM ${options.vmID}, rpcchainvm protocol ${options.protocol} (AvalancheGo ${releases}).`,
    '# Written by tsvm plugin install; the paths are absolute because the node starts this with an empty environment.',
    `exec ${shellQuote(options.node)} ${shellQuote(options.entry)} --protocol ${options.protocol}`,
    '',
  ].join('\n')
}

/** The VM ID and the name it stands for. */
function chooseVmId(options: {name?: string; vmId?: string}): {vmID: string; name: string | null} {
  if (options.vmId !== undefined) {
    const bytes = idFromString(options.vmId, 'VM ID')
    return {vmID: idToString(bytes), name: vmNameFromId(bytes) ?? null}
  }

  const name = options.name ?? DEFAULT_VM_NAME
  return {vmID: idToString(vmIdFromName(name)), name}
}

/** Names the node would try to resolve as aliases or VM IDs (Go: the name without its extension; empty names are skipped). */
async function otherFiles(dir: string, except: string): Promise<string[]> {
  const out: string[] = []
  for (const entry of await readdir(dir, {withFileTypes: true})) {
    if (entry.isDirectory() || entry.name === except) continue
    const dot = entry.name.lastIndexOf('.')
    const base = dot === -1 ? entry.name : entry.name.slice(0, dot)
    if (base === '') continue
    let isId = false
    try {
      idFromString(base, 'VM ID')
      isId = true
    } catch {
      // an alias, if the node's aliases name it; else the node stops
    }

    if (!isId) out.push(entry.name)
  }

  return out.sort()
}

/** Writes the launcher into the plugin dir (see the top of this file). */
export async function installPlugin(options: InstallOptions): Promise<InstallResult> {
  const protocol = chooseProtocol(options)
  const {vmID, name} = chooseVmId(options)
  const node = resolve(options.nodePath ?? process.execPath)
  const entry = resolve(options.entry)
  try {
    await access(entry, constants.R_OK)
  } catch (error) {
    throw new TsvmError('FILE_NOT_FOUND', `the plugin entry ${entry} is missing: build tsvm first (npm run build)`, {
      cause: error,
    })
  }

  if ((options.pluginDir === undefined) === (options.output === undefined)) {
    throw new TsvmError('USAGE', 'pass either a plugin dir (the launcher is named by the VM ID) or an output path')
  }

  const launcher = options.output === undefined ? join(resolve(options.pluginDir!), vmID) : resolve(options.output)
  const dir = dirname(launcher)
  await mkdir(dir, {recursive: true})
  const text = launcherScript({node, entry, protocol, vmID})

  let written = true
  const existing = await stat(launcher).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return
    throw error
  })
  if (existing?.isDirectory()) {
    throw new TsvmError('PLUGIN_FILE_EXISTS', `${launcher} is a directory: remove it, then install again`, {
      details: {path: launcher},
    })
  }

  if (existing) {
    const same = (await readFile(launcher, 'utf8').catch(() => {})) === text
    if (same) written = false
    else if (!options.force) {
      throw new TsvmError(
        'PLUGIN_FILE_EXISTS',
        `${launcher} already exists and differs from the launcher tsvm would write (another build of this VM?): pass --force to replace it`,
        {details: {path: launcher}},
      )
    }
  }

  if (written) {
    // A dot name without another dot: the node skips it (empty name), should it ever be left behind.
    const temp = join(dir, `.tsvm-install-${randomBytes(6).toString('hex')}`)
    try {
      const file = await open(temp, 'wx', 0o755)
      try {
        await file.writeFile(text)
        await file.sync()
      } finally {
        await file.close()
      }

      await chmod(temp, 0o755)
      await rename(temp, launcher)
    } catch (error) {
      await rm(temp, {force: true})
      throw error
    }
  } else if ((existing!.mode & 0o777) !== 0o755) {
    await chmod(launcher, 0o755)
  }

  return {
    vmID,
    name,
    protocol,
    releases: [...(PROTOCOL_RELEASES[protocol] ?? [])],
    launcher,
    written,
    aliases: name === null ? null : {[vmID]: [name]},
    node,
    entry,
    strayFiles: options.output === undefined ? await otherFiles(dir, basename(launcher)) : [],
  }
}
