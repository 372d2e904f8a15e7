// Streaming SHA-256 of a file: node:crypto over a read stream, so a file of any size is hashed
// in constant memory. The digest of the file's bytes is what a stamp commits to.
import {createHash} from 'node:crypto'
import {createReadStream} from 'node:fs'

/** SHA-256 of a file's contents, read as a stream (32 bytes). */
export async function hashFile(path: string): Promise<Uint8Array> {
  const h = createHash('sha256')
  for await (const chunk of createReadStream(path, {highWaterMark: 1 << 16})) h.update(chunk as Buffer)
  return new Uint8Array(h.digest())
}
