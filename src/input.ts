// How commands take bytes from the command line: text as UTF-8, hex, a file, or stdin ("-").
import {readFile} from 'node:fs/promises'

import {fromHex, parsePayload} from './vm/encoding.js'
import {TsvmError} from './vm/errors.js'

/** All of stdin as bytes. */
export async function readStdin(): Promise<Uint8Array> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return new Uint8Array(Buffer.concat(chunks))
}

/** Plain hex, with or without "0x", spaces and newlines ignored; HEX_INVALID otherwise. */
export function parsePlainHex(text: string): Uint8Array {
  const t = text.replace(/\s+/g, '')
  return fromHex(t.startsWith('0x') || t.startsWith('0X') ? t.slice(2) : t)
}

/** A file's bytes; FILE_NOT_FOUND names the file. */
export async function readInputFile(path: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path))
  } catch (error) {
    const code = (error as {code?: string}).code
    if (code === 'ENOENT') throw new TsvmError('FILE_NOT_FOUND', `no such file: ${path}`, {cause: error, details: {path}})
    if (code === 'EISDIR') throw new TsvmError('INVALID_ARGUMENT', `${path} is a directory, not a file`, {cause: error, details: {path}})
    throw new TsvmError('IO_ERROR', `cannot read ${path}: ${(error as Error).message}`, {cause: error, details: {path}})
  }
}

/**
 * The bytes a command argument stands for: "-" reads stdin (raw bytes, or hex text with `hex`),
 * `file` reads a file, otherwise the argument is UTF-8 text or, with `hex`, hex digits.
 */
export async function inputBytes(arg: string | undefined, options: {hex?: boolean; file?: string} = {}): Promise<Uint8Array> {
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

const HEX64 = /^[0-9a-fA-F]{64}$/

/**
 * Payloads one per line (blank lines skipped), each in a form parsePayload takes. A bad line
 * fails the whole input with its line number, before anything is used.
 */
export function parsePayloadLines(text: string): Uint8Array[] {
  const out: Uint8Array[] = []
  const lines = text.split(/\r?\n/)
  // All payloads share one buffer: 100,000 separate 32-byte arrays would cost ~230 bytes each.
  const all = new Uint8Array(32 * lines.length)
  const view = Buffer.from(all.buffer, all.byteOffset, all.byteLength)
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim()
    if (line === '') continue
    const at = 32 * out.length
    // Plain 64-digit hex (what sha256sum prints) is decoded straight into the shared buffer.
    if (line.length === 64 && HEX64.test(line)) {
      view.write(line, at, 32, 'hex')
      out.push(all.subarray(at, at + 32))
      continue
    }
    try {
      all.set(parsePayload(line).data, at)
      out.push(all.subarray(at, at + 32))
    } catch (error) {
      if (!(error instanceof TsvmError)) throw error
      throw new TsvmError(error.code, `line ${i + 1}: ${error.message}`, {cause: error, details: {line: i + 1}})
    }
  }
  return out
}
