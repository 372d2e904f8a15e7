// The exit-code contract. Scripts rely on these numbers; change them only with a major version.
import {type ErrorCode, fileError, TsvmError} from './vm/errors.js'

/** Exit codes, documented in the README. */
export const EXIT = {
  OK: 0,
  UNEXPECTED: 1,
  USAGE: 2,
  NOT_FOUND: 3,
  INVALID: 4,
  RPC: 5,
  DATA_DIR: 6,
} as const

/** Exit code per error code. A missing row is a compile error. */
export const EXIT_CODES: Record<ErrorCode, number> = {
  CB58_EMPTY: EXIT.INVALID,
  CB58_BAD_CHAR: EXIT.INVALID,
  CB58_TOO_SHORT: EXIT.INVALID,
  CB58_BAD_CHECKSUM: EXIT.INVALID,
  HEX_MISSING_PREFIX: EXIT.INVALID,
  HEX_INVALID: EXIT.INVALID,
  HEX_TOO_SHORT: EXIT.INVALID,
  HEX_BAD_CHECKSUM: EXIT.INVALID,
  BAD_LENGTH: EXIT.INVALID,
  BAD_ENCODING: EXIT.INVALID,
  PAYLOAD_INVALID: EXIT.INVALID,
  INVALID_ARGUMENT: EXIT.INVALID,
  VM_NAME_TOO_LONG: EXIT.INVALID,
  // a valid VM ID with no name behind it (--hash IDs, arbitrary IDs): not found, like an unknown block
  VM_NAME_UNKNOWN: EXIT.NOT_FOUND,
  GENESIS_TOO_LONG: EXIT.INVALID,
  BLOCK_TOO_LARGE: EXIT.INVALID,
  BLOCK_BAD_LENGTH: EXIT.INVALID,
  BLOCK_BAD_VERSION: EXIT.INVALID,
  WRAPPER_INVALID: EXIT.INVALID,
  ALIASES_INVALID: EXIT.INVALID,
  ALIAS_CONFLICT: EXIT.INVALID,
  RECEIPT_INVALID: EXIT.INVALID,
  RECEIPT_EXISTS: EXIT.USAGE,
  // the destination given (or defaulted to) cannot be used; nothing was spent: like a bad argument
  RECEIPT_UNWRITABLE: EXIT.INVALID,
  PROTOCOL_UNSUPPORTED: EXIT.INVALID,
  PLUGIN_FILE_EXISTS: EXIT.USAGE,
  BLOCK_PARENT_UNKNOWN: EXIT.INVALID,
  BLOCK_BAD_HEIGHT: EXIT.INVALID,
  BLOCK_TIMESTAMP_EARLY: EXIT.INVALID,
  BLOCK_TIMESTAMP_FUTURE: EXIT.INVALID,
  CHAIN_AHEAD_OF_CLOCK: EXIT.INVALID,
  BLOCK_NOT_PROCESSING: EXIT.INVALID,
  ACCEPT_OUT_OF_ORDER: EXIT.INVALID,
  GENESIS_MISMATCH: EXIT.INVALID,
  CHAIN_CHECK_FAILED: EXIT.INVALID,
  PROOF_INVALID: EXIT.INVALID,
  CHAIN_MISMATCH: EXIT.INVALID,
  MEMPOOL_FULL: EXIT.RPC, // a temporary node condition: try again once blocks are built
  BLOCK_NOT_FOUND: EXIT.NOT_FOUND,
  NOT_INITIALIZED: EXIT.NOT_FOUND,
  MEMPOOL_EMPTY: EXIT.NOT_FOUND,
  PENDING: EXIT.NOT_FOUND,
  UNANCHORED: EXIT.NOT_FOUND,
  WAIT_TIMEOUT: EXIT.NOT_FOUND,
  // accepted, receipts still to write (stamp --resume): pending, like WAIT_TIMEOUT
  RECEIPTS_INCOMPLETE: EXIT.NOT_FOUND,
  FILE_NOT_FOUND: EXIT.NOT_FOUND,
  RPC_UNREACHABLE: EXIT.RPC,
  RPC_TIMEOUT: EXIT.RPC,
  RPC_HTTP_ERROR: EXIT.RPC,
  RPC_ERROR: EXIT.RPC,
  RPC_BAD_RESPONSE: EXIT.RPC,
  REMOTE_UNSUPPORTED: EXIT.USAGE,
  PLUGIN_PROBE_FAILED: EXIT.RPC,
  SERVE_FAILED: EXIT.UNEXPECTED,
  // the port or host given to serve cannot be bound: pass another
  PORT_UNAVAILABLE: EXIT.USAGE,
  DB_LOCKED: EXIT.DATA_DIR,
  DB_OPEN_FAILED: EXIT.DATA_DIR,
  DB_CORRUPT: EXIT.DATA_DIR,
  DB_WRITE_FAILED: EXIT.DATA_DIR,
  DATA_DIR_PERMISSION: EXIT.DATA_DIR,
  DISK_FULL: EXIT.DATA_DIR,
  REPAIR_INCOMPLETE: EXIT.DATA_DIR,
  // a state the Go VM wrote that cannot be adopted (damaged); nothing was written
  ADOPT_FAILED: EXIT.DATA_DIR,
  USAGE: EXIT.USAGE,
  IO_ERROR: EXIT.UNEXPECTED,
  // a path given (or found under one) that this user may not read or write: fix it and run again
  PERMISSION_DENIED: EXIT.INVALID,
  INTERNAL: EXIT.UNEXPECTED,
}

/** The JSON shape of an error under --json: `{"error": {"code", "message", ...details}}`. */
export interface ErrorJson {
  error: {code: string; message: string; exitCode: number; [key: string]: unknown}
}

/** What to do about a damaged database, shared by every DB_CORRUPT message. */
export const REPAIR_HINT =
  'repair it with tsvm repair (it backs the data dir up first) or restore it from a backup; tsvm check lists what can still be read'

/** Normalises anything thrown into a TsvmError (oclif parse errors become USAGE, fs errors IO/NOT_FOUND). */
export function toTsvmError(err: unknown): TsvmError {
  if (err instanceof TsvmError) return err
  const e = err as {code?: unknown; message?: string; path?: string; oclif?: {exit?: number}; parse?: unknown}
  const message = e?.message ?? String(err)
  if (e?.parse !== undefined || (e?.oclif?.exit === 2 && typeof e.code !== 'string')) {
    return new TsvmError('USAGE', message.includes('--help') ? message : `${message}\nSee --help for usage.`, {
      cause: err,
    })
  }

  // LevelDB read errors come from inside the state layer when a table file was damaged after the
  // database opened (tables are read lazily): they are a data dir problem, not a crash.
  if (e?.code === 'LEVEL_CORRUPTION' || e?.code === 'LEVEL_IO_ERROR') {
    if (/No space|Read-only|Permission denied/i.test(message)) {
      return new TsvmError(
        'DB_OPEN_FAILED',
        `the data dir cannot be written (${message}): free space or fix its permissions`,
        {cause: err},
      )
    }

    return new TsvmError('DB_CORRUPT', `the database in the data dir is damaged (${message}): ${REPAIR_HINT}`, {
      cause: err,
    })
  }

  if (typeof e?.code === 'string' && typeof e.path === 'string' && /^E[A-Z]+$/.test(e.code)) {
    const {syscall} = err as {syscall?: string}
    const action =
      syscall === 'open'
        ? 'open'
        : syscall === undefined || /stat|read|scandir|opendir|realpath|access/.test(syscall)
          ? 'read'
          : 'write'
    return fileError(err, e.path, action)
  }

  if (e?.code === 'ENOENT') {
    return new TsvmError('FILE_NOT_FOUND', `no such file or directory: ${e.path ?? message}`, {cause: err})
  }

  if (typeof e?.code === 'string' && /^E[A-Z]+$/.test(e.code)) {
    return new TsvmError('IO_ERROR', message, {cause: err, details: {errno: e.code}})
  }

  return new TsvmError('INTERNAL', `unexpected error: ${message}`, {cause: err})
}

/** The exit code for anything thrown. */
export function exitCodeFor(err: TsvmError): number {
  return EXIT_CODES[err.code] ?? EXIT.UNEXPECTED
}

/** The --json form of an error. */
export function errorJson(err: TsvmError): ErrorJson {
  return {error: {code: err.code, message: err.message, exitCode: exitCodeFor(err), ...err.details}}
}
