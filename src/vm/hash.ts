// The one SHA-256 used for IDs and checksums: node:crypto's one-shot hash, synchronous and about
// twice as fast as a JS implementation on the short inputs hashed here (82-byte blocks, 32-byte
// IDs), which a group commit or an API server hashes several times per block.
import {hash} from 'node:crypto'

/** SHA-256 of `data`, 32 bytes. */
export function sha256(data: Uint8Array): Uint8Array {
  // The digest as a 'binary' (latin1) string (one char per byte) copied into a small array: a Buffer
  // digest is an off-heap allocation per hash, which costs more than the hash itself. A plain
  // Uint8Array, so results compare equal to other Uint8Arrays (deepStrictEqual checks the prototype).
  const digest = hash('sha256', data, 'binary')
  const out = new Uint8Array(32)
  for (let i = 0; i < 32; i++) out[i] = digest.charCodeAt(i)
  return out
}

/** True when two byte arrays hold the same bytes. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  // The same array is equal at once (a Merkle node's child is often the very parent kept below it).
  if (a === b) return true
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** Concatenation of byte arrays. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let n = 0
  for (const p of parts) n += p.length
  const out = new Uint8Array(n)
  let o = 0
  for (const p of parts) {
    out.set(p, o)
    o += p.length
  }

  return out
}

/** Writes SHA-256 of `data` into `out` at `at` (32 bytes), allocating no array. */
export function sha256Into(data: Uint8Array, out: Uint8Array, at: number): void {
  const digest = hash('sha256', data, 'binary')
  for (let i = 0; i < 32; i++) out[at + i] = digest.charCodeAt(i)
}
