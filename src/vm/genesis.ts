// The genesis block, as Go's initGenesis builds it (spec §4.1): the genesis bytes (at most 32)
// right-padded with zeros become the data, parent = ids.Empty, height 0, timestamp 0. So "e2e",
// "e2e\0" and "e2e" + 29 zero bytes give the same block, and an empty genesis gives all-zero data.
import {makeBlock, type Block} from './block.js'
import {EMPTY_ID, ID_LENGTH} from './encoding.js'
import {TsvmError} from './errors.js'

/** Most genesis bytes Go accepts. */
export const MAX_GENESIS_LENGTH = ID_LENGTH

/** The genesis block for the given genesis bytes; GENESIS_TOO_LONG over 32 bytes. */
export function genesisBlock(genesisBytes: Uint8Array): Block {
  if (genesisBytes.length > MAX_GENESIS_LENGTH) {
    throw new TsvmError(
      'GENESIS_TOO_LONG',
      `genesis data should be bytes (max length ${MAX_GENESIS_LENGTH}): got ${genesisBytes.length} bytes; pass at most 32 bytes (they are right-padded with zeros)`,
    )
  }
  const data = new Uint8Array(ID_LENGTH)
  data.set(genesisBytes)
  return makeBlock({parentId: EMPTY_ID, height: 0n, timestamp: 0n, data})
}
