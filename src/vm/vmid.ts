// VM IDs from names (spec §6.1): the UTF-8 name, right-padded with zeros to 32 bytes, used as
// the ID itself (avalanche-network-runner, avalanche-cli, subnet-cli); or, with `hash`,
// sha256(name) for names of any length (subnet-cli --hash).
import {ID_LENGTH, idToString} from './encoding.js'
import {TsvmError} from './errors.js'
import {sha256} from './hash.js'

/** The 32-byte VM ID of a name: zero-extended UTF-8, or sha256 of it with `hash`. */
export function vmIdFromName(name: string, options: {hash?: boolean} = {}): Uint8Array {
  const bytes = new TextEncoder().encode(name)
  if (options.hash) return sha256(bytes)
  if (bytes.length > ID_LENGTH) {
    throw new TsvmError(
      'VM_NAME_TOO_LONG',
      `VM name must be <= 32 bytes, found ${bytes.length}: shorten it, or use --hash to take the sha256 of the name`,
    )
  }

  const id = new Uint8Array(ID_LENGTH)
  id.set(bytes)
  return id
}

/** The CB58 VM ID of a name. */
export function vmIdStringFromName(name: string, options: {hash?: boolean} = {}): string {
  return idToString(vmIdFromName(name, options))
}

/**
 * The name a zero-extended VM ID was made from, or undefined when the ID is not a padded
 * UTF-8 name (a hashed ID, or bytes after the first zero).
 */
export function vmNameFromId(id: Uint8Array): string | undefined {
  let end = id.length
  while (end > 0 && id[end - 1] === 0) end--
  for (let i = 0; i < end; i++) if (id[i] === 0) return undefined
  try {
    return new TextDecoder('utf8', {fatal: true}).decode(id.subarray(0, end))
  } catch {
    return undefined
  }
}
