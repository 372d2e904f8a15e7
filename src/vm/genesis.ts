// The genesis block a TimestampVM chain starts from (spec §4.1): the genesis bytes, at most 32,
// right-padded with zeros to 32 bytes, in a block with parent ids.Empty, height 0 and time 0.
//
//   "e2e" → data 653265 00…00 (29 zeros); "" → 32 zero bytes; 33 bytes → error
//
// Go pads with copy/BytesToData, so "e2e", "e2e\0" and "e2e" + 29 zeros give the same block.
import {type Block, makeBlock} from './block.js'
import {EMPTY_ID, ID_LENGTH} from './encoding.js'
import {TsvmError} from './errors.js'

/** The most genesis bytes the VM accepts (`genesis data should be bytes (max length 32)`). */
export const MAX_GENESIS_LENGTH = ID_LENGTH

/** The genesis block's 32-byte payload: the genesis bytes right-padded with zeros; GENESIS_TOO_LONG above 32. */
export function genesisData(genesisBytes: Uint8Array): Uint8Array {
  if (genesisBytes.length > MAX_GENESIS_LENGTH) {
    throw new TsvmError(
      'GENESIS_TOO_LONG',
      `genesis data should be bytes (max length ${MAX_GENESIS_LENGTH}): got ${genesisBytes.length} bytes; shorten it, or put a hash of the longer content in it`,
      {details: {length: genesisBytes.length, max: MAX_GENESIS_LENGTH}},
    )
  }

  const data = new Uint8Array(ID_LENGTH)
  data.set(genesisBytes)
  return data
}

/** The genesis block of a chain initialized with these genesis bytes. */
export function genesisBlock(genesisBytes: Uint8Array): Block {
  return makeBlock({parentId: EMPTY_ID, height: 0n, timestamp: 0n, data: genesisData(genesisBytes)})
}
