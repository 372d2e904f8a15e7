// SHA-256 of files and streams, as they are proposed: the 32-byte digest of the exact bytes.
// Streams through node:crypto, so a file of any size is hashed in constant memory.
import {createHash} from 'node:crypto'
import {createReadStream} from 'node:fs'
import {stat} from 'node:fs/promises'

import {fileError, TsvmError} from '../vm/errors.js'

/** SHA-256 of everything a stream yields (a Readable, process.stdin, or any async iterable of bytes). */
export async function hashStream(
  stream: AsyncIterable<Uint8Array | string>,
  onBytes?: (n: number) => void,
): Promise<Uint8Array> {
  const hash = createHash('sha256')
  for await (const chunk of stream) {
    hash.update(chunk)
    onBytes?.(chunk.length)
  }

  return new Uint8Array(hash.digest())
}

/**
 * SHA-256 of a file's bytes; FILE_NOT_FOUND when it does not exist, INVALID_ARGUMENT for a
 * directory. `onBytes` hears of each chunk read (progress on large files).
 */
export async function hashFile(path: string, onBytes?: (n: number) => void): Promise<Uint8Array> {
  let info
  try {
    info = await stat(path)
  } catch (error) {
    if ((error as {code?: string}).code === 'ENOENT') {
      throw new TsvmError('FILE_NOT_FOUND', `no such file: ${path}: check the path (use - to hash stdin)`, {
        cause: error,
        details: {path},
      })
    }

    throw fileError(error, path)
  }

  if (info.isDirectory()) {
    throw new TsvmError(
      'INVALID_ARGUMENT',
      `${path} is a directory: pass files (e.g. ${path}/*), or archive the directory and hash the archive`,
      {
        details: {path},
      },
    )
  }

  try {
    return await hashStream(createReadStream(path), onBytes)
  } catch (error) {
    throw fileError(error, path)
  }
}
