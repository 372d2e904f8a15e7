// Domain errors with stable string codes. Callers branch on `code`, never on message text.
// The CLI maps each code to an exit code in src/errors.ts; adding a code here without a row
// there is a type error, so the table cannot fall behind.

/** Every error code tsvm can report, grouped by what went wrong. */
export const ERROR_CODES = [
  // input that does not decode or has the wrong shape (exit 4)
  'CB58_EMPTY',
  'CB58_BAD_CHAR',
  'CB58_TOO_SHORT',
  'CB58_BAD_CHECKSUM',
  'HEX_MISSING_PREFIX',
  'HEX_INVALID',
  'HEX_TOO_SHORT',
  'HEX_BAD_CHECKSUM',
  'BAD_LENGTH',
  'BAD_ENCODING',
  'PAYLOAD_INVALID',
  'INVALID_ARGUMENT',
  'VM_NAME_TOO_LONG',
  'VM_NAME_UNKNOWN',
  'GENESIS_TOO_LONG',
  'BLOCK_TOO_LARGE',
  'BLOCK_BAD_LENGTH',
  'BLOCK_BAD_VERSION',
  'WRAPPER_INVALID',
  'ALIASES_INVALID',
  'ALIAS_CONFLICT',
  'RECEIPT_INVALID',
  'RECEIPT_EXISTS',
  'RECEIPT_UNWRITABLE',
  'PROTOCOL_UNSUPPORTED',
  'PLUGIN_FILE_EXISTS',
  // verification failures (exit 4)
  'BLOCK_PARENT_UNKNOWN',
  'BLOCK_BAD_HEIGHT',
  'BLOCK_TIMESTAMP_EARLY',
  'BLOCK_TIMESTAMP_FUTURE',
  'CHAIN_AHEAD_OF_CLOCK',
  'BLOCK_NOT_PROCESSING',
  'ACCEPT_OUT_OF_ORDER',
  'GENESIS_MISMATCH',
  'CHAIN_CHECK_FAILED',
  'PROOF_INVALID',
  'CHAIN_MISMATCH',
  'MEMPOOL_FULL',
  // absent or not yet there (exit 3)
  'BLOCK_NOT_FOUND',
  'NOT_INITIALIZED',
  'MEMPOOL_EMPTY',
  'PENDING',
  'UNANCHORED',
  'WAIT_TIMEOUT',
  'RECEIPTS_INCOMPLETE',
  'FILE_NOT_FOUND',
  // a node or server that did not answer as it should (exit 5)
  'RPC_UNREACHABLE',
  'RPC_TIMEOUT',
  'RPC_HTTP_ERROR',
  'RPC_ERROR',
  'RPC_BAD_RESPONSE',
  'REMOTE_UNSUPPORTED',
  'PLUGIN_PROBE_FAILED',
  'SERVE_FAILED',
  'PORT_UNAVAILABLE',
  // the data dir cannot be used (exit 6)
  'DB_LOCKED',
  'DB_OPEN_FAILED',
  'DB_CORRUPT',
  'DB_WRITE_FAILED',
  'DATA_DIR_PERMISSION',
  'DISK_FULL',
  'REPAIR_INCOMPLETE',
  'ADOPT_FAILED',
  // the command line itself is wrong (exit 2)
  'USAGE',
  // anything else (exit 1)
  'IO_ERROR',
  'PERMISSION_DENIED',
  'INTERNAL',
] as const

/** A stable error code; see ERROR_CODES. */
export type ErrorCode = (typeof ERROR_CODES)[number]

/** The one error type of tsvm: a code, a message that says what to do, optional details and cause. */
export class TsvmError extends Error {
  override name = 'TsvmError'
  readonly code: ErrorCode
  readonly details: Record<string, unknown> | undefined

  constructor(code: ErrorCode, message: string, options: {cause?: unknown; details?: Record<string, unknown>} = {}) {
    super(message, options.cause === undefined ? undefined : {cause: options.cause})
    this.code = code
    this.details = options.details
  }
}

/** True when `err` is a TsvmError, optionally with one of the given codes. */
export function isTsvmError(err: unknown, ...codes: ErrorCode[]): err is TsvmError {
  return err instanceof TsvmError && (codes.length === 0 || codes.includes(err.code))
}

/** Words for the file-system errors a user can fix, instead of Node's "EACCES: permission denied, lstat '…'". */
const FS_WHY: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'it is a directory',
  ENOTDIR: 'a part of the path is not a directory',
  ELOOP: 'too many symbolic links',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
  EMFILE: 'too many open files',
  ENAMETOOLONG: 'the name is too long',
}

/**
 * A file-system error as a TsvmError that names the path: FILE_NOT_FOUND, PERMISSION_DENIED (with
 * what to do) or IO_ERROR. `action` says what was being done ("read", "list", "write").
 */
export function fileError(error: unknown, path: string, action = 'read'): TsvmError {
  const errno = (error as {code?: unknown})?.code
  const code = typeof errno === 'string' ? errno : undefined
  if (code === 'ENOENT')
    return new TsvmError('FILE_NOT_FOUND', `no such file or directory: ${path}`, {cause: error, details: {path}})
  if (code === 'EACCES' || code === 'EPERM') {
    return new TsvmError(
      'PERMISSION_DENIED',
      `cannot ${action} ${path}: permission denied: fix its permissions (or its folder's), or run as a user who may ${action} it`,
      {
        cause: error,
        details: {path, errno: code},
      },
    )
  }

  const why = (code && FS_WHY[code]) ?? (error as Error)?.message ?? String(error)
  return new TsvmError('IO_ERROR', `cannot ${action} ${path}: ${why}`, {
    cause: error,
    details: {path, ...(code ? {errno: code} : {})},
  })
}
