// AvalancheGo's VM aliases file (spec §6.2): a JSON object from CB58 VM ID to alias list,
//
//   {"tGas3T58KzdjcJ2iKSyiYsWiqYctRXaPTqBCA11BqEkNg8kPc": ["timestampvm", "tsvm"]}
//
// read by the node at start-up from <data dir>/configs/vms/aliases.json. The node refuses to
// start on a malformed file or an alias mapped twice, so we refuse to write either.
import {randomBytes} from 'node:crypto'
import {mkdir, readFile, rename, rm, writeFile} from 'node:fs/promises'
import {homedir} from 'node:os'
import {dirname, join} from 'node:path'

import {cb58Decode, ID_LENGTH, idToString} from '../vm/encoding.js'
import {TsvmError} from '../vm/errors.js'

/** The parsed file: VM ID string → aliases, in file order. */
export type AliasMap = Record<string, string[]>

/** The file the node reads by default: $AVALANCHEGO_DATA_DIR (or ~/.avalanchego)/configs/vms/aliases.json. */
export function defaultAliasesFile(env: NodeJS.ProcessEnv = process.env): string {
  const dataDir = env.AVALANCHEGO_DATA_DIR || join(homedir(), '.avalanchego')
  return join(dataDir, 'configs', 'vms', 'aliases.json')
}

function isId(text: string): boolean {
  try {
    return cb58Decode(text).length === ID_LENGTH
  } catch {
    return false
  }
}

/** Parses and checks the file's text; ALIASES_INVALID when it is not what the node accepts. */
export function parseAliases(text: string, file = 'aliases file'): AliasMap {
  const invalid = (why: string): never => {
    throw new TsvmError(
      'ALIASES_INVALID',
      `${file} is not a valid VM aliases file (${why}): fix or move it, it was left untouched`,
      {
        details: {file},
      },
    )
  }

  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    return invalid(`not JSON: ${(error as Error).message}`)
  }

  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return invalid('expected an object {"<CB58 VM ID>": ["alias", ...]}')
  }

  for (const [key, aliases] of Object.entries(value)) {
    if (!isId(key)) invalid(`key ${JSON.stringify(key)} is not a CB58 VM ID`)
    if (!Array.isArray(aliases) || !aliases.every((a) => typeof a === 'string')) {
      invalid(`the value of ${key} is not an array of strings`)
    }
  }

  return value as AliasMap
}

/**
 * Adds aliases to a VM ID, keeping every other entry and not repeating an alias. An alias that
 * another VM ID already has, or that is itself a VM ID, is ALIAS_CONFLICT (the node would fail).
 */
export function addAliases(
  map: AliasMap,
  vmId: Uint8Array,
  aliases: string[],
): {map: AliasMap; vmID: string; aliases: string[]; added: string[]} {
  const vmID = idToString(vmId)
  const current = [...(map[vmID] ?? [])]
  const added: string[] = []
  for (const alias of aliases) {
    if (alias === '') throw new TsvmError('INVALID_ARGUMENT', 'an alias cannot be empty')
    if (isId(alias)) {
      throw new TsvmError(
        'ALIAS_CONFLICT',
        `alias ${JSON.stringify(alias)} is itself a VM ID: the node aliases every VM to its own ID, pick a name`,
      )
    }

    const owner = Object.keys(map).find((key) => key !== vmID && map[key]!.includes(alias))
    if (owner !== undefined) {
      throw new TsvmError(
        'ALIAS_CONFLICT',
        `alias ${JSON.stringify(alias)} already belongs to VM ${owner}: AvalancheGo refuses an alias mapped twice; remove it there first or pick another`,
        {details: {alias, vmID: owner}},
      )
    }

    if (!current.includes(alias)) {
      current.push(alias)
      added.push(alias)
    }
  }

  return {map: {...map, [vmID]: current}, vmID, aliases: current, added}
}

/** Reads the file (a missing file is an empty map); ALIASES_INVALID when malformed. */
export async function readAliasesFile(file: string): Promise<AliasMap> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    if ((error as {code?: string}).code === 'ENOENT') return {}
    throw new TsvmError('IO_ERROR', `cannot read ${file}: ${(error as Error).message}`, {cause: error, details: {file}})
  }

  return parseAliases(text, file)
}

/** Writes the file atomically: a temporary file in the same directory, then rename. Creates parent dirs. */
export async function writeAliasesFile(file: string, map: AliasMap): Promise<void> {
  const dir = dirname(file)
  await mkdir(dir, {recursive: true})
  const tmp = join(dir, `.aliases.json.${process.pid}.${randomBytes(4).toString('hex')}.tmp`)
  try {
    await writeFile(tmp, JSON.stringify(map, null, 2) + '\n', {flush: true})
    await rename(tmp, file)
  } catch (error) {
    await rm(tmp, {force: true})
    throw new TsvmError('IO_ERROR', `cannot write ${file}: ${(error as Error).message}`, {
      cause: error,
      details: {file},
    })
  }
}

/** Adds aliases for a VM ID to an aliases file, creating it if needed; the file is untouched on any error. */
export async function aliasVm(
  file: string,
  vmId: Uint8Array,
  aliases: string[],
): Promise<{file: string; vmID: string; aliases: string[]; added: string[]}> {
  const result = addAliases(await readAliasesFile(file), vmId, aliases)
  if (result.added.length > 0) await writeAliasesFile(file, result.map)
  return {file, vmID: result.vmID, aliases: result.aliases, added: result.added}
}
