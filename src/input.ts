// How commands take bytes from the command line: text as UTF-8, hex, a file, or stdin ("-").
import {readFile} from 'node:fs/promises'

import {hashFile, hashStream} from './proof/hash.js'
import {fromHex, parsePayload} from './vm/encoding.js'
import {fileError, TsvmError} from './vm/errors.js'

/** All of stdin as bytes. */
export async function readStdin(): Promise<Uint8Array> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return new Uint8Array(Buffer.concat(chunks))
}

/** Plain hex, with or without "0x", spaces and newlines ignored; HEX_INVALID otherwise. */
export function parsePlainHex(text: string): Uint8Array {
  const t = text.replaceAll(/\s+/g, '')
  return fromHex(t.startsWith('0x') || t.startsWith('0X') ? t.slice(2) : t)
}

/** A file's bytes; FILE_NOT_FOUND names the file. */
export async function readInputFile(path: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path))
  } catch (error) {
    const {code} = error as {code?: string}
    if (code === 'ENOENT')
      throw new TsvmError('FILE_NOT_FOUND', `no such file: ${path}`, {cause: error, details: {path}})
    if (code === 'EISDIR')
      throw new TsvmError('INVALID_ARGUMENT', `${path} is a directory, not a file`, {cause: error, details: {path}})
    throw fileError(error, path)
  }
}

/**
 * The bytes a command argument stands for: "-" reads stdin (raw bytes, or hex text with `hex`),
 * `file` reads a file, otherwise the argument is UTF-8 text or, with `hex`, hex digits.
 */
export async function inputBytes(
  arg: string | undefined,
  options: {hex?: boolean; file?: string} = {},
): Promise<Uint8Array> {
  if (options.file !== undefined) {
    if (arg !== undefined) throw new TsvmError('USAGE', 'pass the data either as an argument or with --file, not both')
    return readInputFile(options.file)
  }

  if (arg === undefined) throw new TsvmError('USAGE', 'missing data: pass it as an argument, - for stdin, or --file')
  if (arg === '-') {
    const raw = await readStdin()
    return options.hex ? parsePlainHex(Buffer.from(raw).toString('utf8')) : raw
  }

  return options.hex ? parsePlainHex(arg) : new TextEncoder().encode(arg)
}

/** Value of each byte as a hex digit, or -1. */
const HEX_DIGIT = new Int8Array(256).fill(-1)
for (let i = 0; i < 16; i++) {
  HEX_DIGIT['0123456789abcdef'.charCodeAt(i)] = i
  HEX_DIGIT['0123456789ABCDEF'.charCodeAt(i)] = i
}

/**
 * Payloads one per line (blank lines skipped), each in a form parsePayload takes. A bad line
 * fails the whole input with its line number, before anything is used.
 */
export function parsePayloadLines(input: Uint8Array | string): Uint8Array[] {
  const bytes =
    typeof input === 'string'
      ? Buffer.from(input, 'utf8')
      : Buffer.from(input.buffer, input.byteOffset, input.byteLength)
  let lineCount = 1
  for (let at = bytes.indexOf(10); at !== -1; at = bytes.indexOf(10, at + 1)) lineCount++
  const out: Uint8Array[] = []
  // All payloads share one buffer: 100,000 separate 32-byte arrays would cost ~230 bytes each.
  const all = new Uint8Array(32 * lineCount)
  const payload = (at: number) => new Uint8Array(all.buffer, at, 32) // twice as fast as subarray
  let start = 0
  for (let line = 1; line <= lineCount; line++) {
    const nl = bytes.indexOf(10, start)
    let end = nl === -1 ? bytes.length : nl
    const next = end + 1
    if (end > start && bytes[end - 1] === 13) end-- // lines end in \n or \r\n
    const at = 32 * out.length
    // Plain 64-digit hex (what sha256sum prints) is decoded from the bytes straight into the
    // shared buffer, with no string per line; anything else is decoded and trimmed as text.
    if (end - start === 64 && decodeHex64(bytes, start, all, at)) {
      out.push(payload(at))
    } else {
      const text = bytes.toString('utf8', start, end).trim()
      if (text !== '') {
        try {
          all.set(parsePayload(text).data, at)
          out.push(payload(at))
        } catch (error) {
          if (!(error instanceof TsvmError)) throw error
          throw new TsvmError(error.code, `line ${line}: ${error.message}`, {cause: error, details: {line}})
        }
      }
    }

    start = next
  }

  return out
}

/** Decodes 64 hex digits at `from` into 32 bytes at `at`; false (leaving junk in `out`) if one is not a hex digit. */
function decodeHex64(text: Uint8Array, from: number, out: Uint8Array, at: number): boolean {
  for (let i = 0; i < 32; i++) {
    const hi = HEX_DIGIT[text[from + 2 * i]!]!
    const lo = HEX_DIGIT[text[from + 2 * i + 1]!]!
    if ((hi | lo) < 0) return false
    out[at + i] = (hi << 4) | lo
  }

  return true
}

/**
 * propose's payloads: the argument (one payload, or - for one per line on stdin), or the SHA-256
 * of each --file (- hashes stdin, as tsvm hash - does).
 */
export async function proposalPayloads(arg: string | undefined, files: string[] | undefined): Promise<Uint8Array[]> {
  if (files !== undefined && arg !== undefined)
    throw new TsvmError('USAGE', 'pass payloads either as an argument or with --file, not both')
  if (files !== undefined) {
    if (files.filter((f) => f === '-').length > 1) throw new TsvmError('USAGE', 'stdin (-) can be hashed only once')
    return Promise.all(files.map((f) => (f === '-' ? hashStream(process.stdin) : hashFile(f))))
  }

  if (arg === undefined)
    throw new TsvmError('USAGE', 'missing payload: pass one as an argument, - for stdin, or --file FILE')
  if (arg === '-') return parsePayloadLines(await readStdin())
  return [parsePayload(arg).data]
}
