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
